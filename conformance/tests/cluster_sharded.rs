//! Two sio servers (on each runtime) on the sharded wire over an in-memory
//! sharded bus, with real clients: room channels subscribed and
//! unsubscribed as rooms come and go, a one-room broadcast on the room's
//! channel, answers on the asker's channel, and hostile messages (garbage,
//! other namespaces, unknown rooms, odd channel names) dropped.
//!
//! The bus fakes Redis sharded pub/sub only (exact channels, SHARDNUMSUB);
//! what crosses it is the real protocol. Real Redis runs in sio-redis's
//! tests and conformance/cluster (`--adapter sharded`).

use std::collections::HashSet;
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use sio_conformance::api_tests::{
    AsyncStdRuntime, SmolRuntime, TestRuntime, TestServer, TokioRuntime,
};
use sio_conformance::testclient::TestClient;
use sio_driver::{
    BoxFuture, Bus, BusError, BusEvent, BusSink, Config, Socket, SocketIo, SubscriptionMode,
};

const WAIT: Duration = Duration::from_secs(5);

#[derive(Default)]
struct Subscriber {
    sink: Option<BusSink>,
    channels: HashSet<String>,
}

#[derive(Default)]
struct HubState {
    subscribers: Vec<Subscriber>,
    /// Every publish, in order: (publisher, channel, payload).
    log: Vec<(usize, String, Bytes)>,
}

/// Sharded pub/sub for several nodes in one process.
#[derive(Clone, Default)]
struct Hub {
    state: Arc<Mutex<HubState>>,
}

impl Hub {
    fn bus(&self, mode: SubscriptionMode) -> ShardedBus {
        let mut state = self.state.lock().unwrap();
        state.subscribers.push(Subscriber::default());
        ShardedBus {
            hub: self.clone(),
            index: state.subscribers.len() - 1,
            mode,
        }
    }

    fn publish(&self, from: usize, channel: &str, payload: Bytes) {
        let sinks: Vec<BusSink> = {
            let mut state = self.state.lock().unwrap();
            state.log.push((from, channel.to_owned(), payload.clone()));
            state
                .subscribers
                .iter()
                .filter(|s| s.channels.contains(channel))
                .filter_map(|s| s.sink.clone())
                .collect()
        };
        for sink in sinks {
            sink(BusEvent::Message {
                channel: channel.to_owned(),
                payload: payload.clone(),
            });
        }
    }

    fn channels(&self, index: usize) -> HashSet<String> {
        self.state.lock().unwrap().subscribers[index]
            .channels
            .clone()
    }

    /// Waits until node `index`'s channels satisfy `check`.
    fn wait_channels(&self, index: usize, what: &str, check: impl Fn(&HashSet<String>) -> bool) {
        let deadline = std::time::Instant::now() + WAIT;
        while !check(&self.channels(index)) {
            assert!(std::time::Instant::now() < deadline, "never: {what}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The channels node `from` published on, in order.
    fn published_on(&self, from: usize) -> Vec<String> {
        let state = self.state.lock().unwrap();
        state
            .log
            .iter()
            .filter(|(f, _, _)| *f == from)
            .map(|(_, c, _)| c.clone())
            .collect()
    }
}

struct ShardedBus {
    hub: Hub,
    index: usize,
    mode: SubscriptionMode,
}

impl Bus for ShardedBus {
    fn start(&self, sink: BusSink) {
        self.hub.state.lock().unwrap().subscribers[self.index].sink = Some(sink);
    }

    fn subscribe(
        &self,
        channels: Vec<String>,
        patterns: Vec<String>,
    ) -> BoxFuture<Result<(), BusError>> {
        assert!(patterns.is_empty(), "no pattern on a sharded bus");
        let mut state = self.hub.state.lock().unwrap();
        state.subscribers[self.index].channels.extend(channels);
        Box::pin(async { Ok(()) })
    }

    fn unsubscribe(&self, channels: Vec<String>) -> BoxFuture<Result<(), BusError>> {
        let mut state = self.hub.state.lock().unwrap();
        for channel in channels {
            state.subscribers[self.index].channels.remove(&channel);
        }
        Box::pin(async { Ok(()) })
    }

    fn sharded(&self) -> Option<SubscriptionMode> {
        Some(self.mode)
    }

    fn publish(&self, channel: String, payload: Bytes) -> BoxFuture<Result<(), BusError>> {
        self.hub.publish(self.index, &channel, payload);
        Box::pin(async { Ok(()) })
    }

    fn subscriber_count(&self, channel: String) -> BoxFuture<Result<usize, BusError>> {
        let state = self.hub.state.lock().unwrap();
        let count = state
            .subscribers
            .iter()
            .filter(|s| s.channels.contains(&channel))
            .count();
        Box::pin(async move { Ok(count) })
    }
}

/// A sio server on the hub, handing its new sockets to the test.
struct Node {
    server: TestServer,
    sockets: mpsc::Receiver<Socket>,
}

impl Node {
    fn start<R: TestRuntime>(hub: &Hub, mode: SubscriptionMode) -> Node {
        let bus = hub.bus(mode);
        let index = bus.index;
        let (tx, sockets) = mpsc::channel();
        let tx = Mutex::new(tx);
        let server = R::start(
            Config::default(),
            Box::new(move |io| {
                let io = io.clone().with_adapter(bus);
                io.on_connection(move |socket| {
                    let _ = tx.lock().unwrap().send(socket);
                    async {}
                });
            }),
        );
        hub.wait_channels(index, "the namespace's channels", |c| c.len() == 2);
        Node { server, sockets }
    }

    fn io(&self) -> SocketIo {
        self.server.io.clone()
    }

    fn client(&self) -> (TestClient, Socket) {
        let client = TestClient::connect(self.server.addr, "/", None).expect("client connects");
        let socket = self.sockets.recv_timeout(WAIT).expect("socket");
        (client, socket)
    }
}

fn recv(client: &mut TestClient) -> String {
    client.recv_packet(WAIT).expect("a packet").text
}

fn rooms_follow_room_channels<R: TestRuntime>() {
    let hub = Hub::default();
    let a = Node::start::<R>(&hub, SubscriptionMode::Dynamic);
    let b = Node::start::<R>(&hub, SubscriptionMode::Dynamic);
    let (mut a1, s1) = a.client();
    s1.join("blue").unwrap();
    hub.wait_channels(0, "blue's channel", |c| c.contains("socket.io#/#blue#"));
    // The socket's own room has none in "dynamic".
    assert!(!hub
        .channels(0)
        .contains(&format!("socket.io#/#{}#", s1.id())));
    // b's one-room broadcast goes on blue's channel only.
    b.io().to("blue").emit("news", &1).unwrap();
    assert_eq!(recv(&mut a1), r#"42["news",1]"#);
    assert_eq!(hub.published_on(1), vec!["socket.io#/#blue#".to_string()]);
    // To the namespace: its channel.
    b.io().emit("all", &()).unwrap();
    assert_eq!(recv(&mut a1), r#"42["all"]"#);
    assert_eq!(hub.published_on(1)[1], "socket.io#/#");
    // A request, its answer on b's own response channel.
    let io = b.io();
    let sockets = b
        .server
        .block_on(async move { io.fetch_sockets().await })
        .expect("fetch_sockets");
    assert_eq!(sockets.len(), 1);
    assert!(hub
        .published_on(0)
        .iter()
        .any(|c| c.starts_with("socket.io#/#")
            && c != "socket.io#/#"
            && hub.channels(1).contains(c)));
    s1.leave("blue").unwrap();
    hub.wait_channels(0, "blue's channel gone", |c| {
        !c.contains("socket.io#/#blue#")
    });
    // Joined and left again at once: the last change wins.
    for _ in 0..50 {
        s1.join("flicker").unwrap();
        s1.leave("flicker").unwrap();
    }
    s1.join("green").unwrap();
    hub.wait_channels(0, "green's channel", |c| c.contains("socket.io#/#green#"));
    assert!(!hub.channels(0).contains("socket.io#/#flicker#"));
    drop(a1);
    hub.wait_channels(0, "green gone with its socket", |c| c.len() == 2);
}

fn dynamic_private_subscribes_socket_rooms<R: TestRuntime>() {
    let hub = Hub::default();
    let a = Node::start::<R>(&hub, SubscriptionMode::DynamicPrivate);
    let b = Node::start::<R>(&hub, SubscriptionMode::DynamicPrivate);
    let (mut a1, s1) = a.client();
    let own = format!("socket.io#/#{}#", s1.id());
    hub.wait_channels(0, "the socket's own channel", |c| c.contains(&own));
    b.io().to(s1.id()).emit("direct", &()).unwrap();
    assert_eq!(recv(&mut a1), r#"42["direct"]"#);
    assert_eq!(hub.published_on(1), vec![own.clone()]);
}

fn hostile_messages_are_dropped<R: TestRuntime>() {
    let hub = Hub::default();
    let a = Node::start::<R>(&hub, SubscriptionMode::Dynamic);
    let b = Node::start::<R>(&hub, SubscriptionMode::Dynamic);
    let (mut a1, s1) = a.client();
    s1.join("blue").unwrap();
    hub.wait_channels(0, "blue's channel", |c| c.contains("socket.io#/#blue#"));
    let broadcast = |uid: &str, nsp: &str, room: &str| {
        format!(
            r#"{{"type":3,"data":{{"packet":{{"type":2,"data":["evil"],"nsp":"{nsp}"}},"opts":{{"rooms":["{room}"],"except":[],"flags":{{}}}}}},"uid":"{uid}","nsp":"{nsp}"}}"#
        )
    };
    let mut hostile: Vec<(String, Vec<u8>)> = vec![
        ("socket.io#/#".into(), b"\xc1\xc1".to_vec()),
        ("socket.io#/#".into(), b"{broken".to_vec()),
        ("socket.io#/#".into(), b"[1,2,3]".to_vec()),
        (
            "socket.io#/#".into(),
            br#"{"type":99,"uid":"x","nsp":"/"}"#.to_vec(),
        ),
        (
            "socket.io#/#".into(),
            br#"{"type":8,"data":{"requestId":"nope","sockets":[]},"uid":"x","nsp":"/"}"#.to_vec(),
        ),
        (
            "socket.io#/#".into(),
            br#"{"type":7,"data":{"opts":{"rooms":7}},"uid":"x","nsp":"/"}"#.to_vec(),
        ),
        // Another namespace, on ours and on its own channel.
        (
            "socket.io#/#".into(),
            broadcast("x", "/other", "blue").into_bytes(),
        ),
        (
            "socket.io#/other#".into(),
            broadcast("x", "/other", "blue").into_bytes(),
        ),
        // On an unknown room's channel, on odd channel names.
        (
            "socket.io#/#nowhere#".into(),
            broadcast("x", "/", "nowhere").into_bytes(),
        ),
        ("#".into(), broadcast("x", "/", "blue").into_bytes()),
        ("".into(), broadcast("x", "/", "blue").into_bytes()),
        (
            "socket.io#/".into(),
            broadcast("x", "/", "blue").into_bytes(),
        ),
    ];
    // From "this node" itself: ignored, as the reference ignores its own.
    let own_response = hub
        .channels(0)
        .into_iter()
        .find(|c| c != "socket.io#/#" && !c.ends_with("#blue#"))
        .expect("a's response channel");
    let own_uid = own_response
        .trim_start_matches("socket.io#/#")
        .trim_end_matches('#')
        .to_owned();
    hostile.push((
        "socket.io#/#blue#".into(),
        broadcast(&own_uid, "/", "blue").into_bytes(),
    ));
    hostile.push((own_response, b"\x00".to_vec()));
    for (channel, payload) in hostile {
        // Straight to a's sink, whatever it subscribed to.
        let sink = hub.state.lock().unwrap().subscribers[0]
            .sink
            .clone()
            .unwrap();
        sink(BusEvent::Message {
            channel,
            payload: Bytes::from(payload),
        });
    }
    // Nothing "evil" arrived; both nodes still work.
    b.io().to("blue").emit("still", &()).unwrap();
    assert_eq!(recv(&mut a1), r#"42["still"]"#);
}

macro_rules! on_runtime {
    ($module:ident, $runtime:ty) => {
        mod $module {
            use super::*;

            #[test]
            fn rooms_follow_room_channels() {
                super::rooms_follow_room_channels::<$runtime>();
            }

            #[test]
            fn dynamic_private_subscribes_socket_rooms() {
                super::dynamic_private_subscribes_socket_rooms::<$runtime>();
            }

            #[test]
            fn hostile_messages_are_dropped() {
                super::hostile_messages_are_dropped::<$runtime>();
            }
        }
    };
}

on_runtime!(tokio_runtime, TokioRuntime);
on_runtime!(smol_runtime, SmolRuntime);
on_runtime!(async_std_runtime, AsyncStdRuntime);
