//! Two sio servers (on each runtime) joined by the cluster adapter protocol over
//! an in-memory bus, with real clients on each: broadcasts, fetch_sockets,
//! remote join / leave / disconnect, server-side emits, broadcasts with
//! acks, timeouts and malformed messages.
//!
//! The bus here is a fake of the *bus* only (Redis pub/sub semantics:
//! exact channels, glob patterns, NUMSUB); what crosses it is the real
//! protocol both nodes speak. Real Redis runs in sio-redis's tests.

use std::collections::HashSet;
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use serde::Deserialize;
use sio_conformance::api_tests::{
    AsyncStdRuntime, SmolRuntime, TestRuntime, TestServer, TokioRuntime,
};
use sio_conformance::testclient::TestClient;
use sio_driver::{
    BoxFuture, Bus, BusError, BusEvent, BusSink, ClusterError, Config, Socket, SocketIo,
};

const WAIT: Duration = Duration::from_secs(5);

// ----- the in-memory bus -----

#[derive(Default)]
struct Subscriber {
    sink: Option<BusSink>,
    channels: HashSet<String>,
    patterns: Vec<String>,
}

#[derive(Default)]
struct HubState {
    subscribers: Vec<Subscriber>,
    /// Every publish, in order: (publisher, channel, payload).
    log: Vec<(usize, String, Bytes)>,
    /// NUMSUB never answers (a bus stuck reconnecting).
    numsub_hangs: bool,
}

/// Redis pub/sub for several nodes in one process.
#[derive(Clone, Default)]
struct Hub {
    state: Arc<Mutex<HubState>>,
}

impl Hub {
    /// A bus for one more node, whose requests time out after `timeout`.
    fn bus(&self, timeout: Duration) -> MemoryBus {
        let mut state = self.state.lock().unwrap();
        state.subscribers.push(Subscriber::default());
        MemoryBus {
            hub: self.clone(),
            index: state.subscribers.len() - 1,
            timeout,
        }
    }

    /// A node that subscribes to `channel` (so NUMSUB counts it) and never answers.
    fn silent_node(&self, channel: &str) {
        let mut state = self.state.lock().unwrap();
        let mut subscriber = Subscriber::default();
        subscriber.channels.insert(channel.to_owned());
        state.subscribers.push(subscriber);
    }

    fn publish(&self, from: usize, channel: &str, payload: Bytes) {
        let sinks: Vec<BusSink> = {
            let mut state = self.state.lock().unwrap();
            state.log.push((from, channel.to_owned(), payload.clone()));
            state
                .subscribers
                .iter()
                .filter(|s| {
                    s.channels.contains(channel) || s.patterns.iter().any(|p| glob(p, channel))
                })
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

    /// Tells node `index` its bus went down (or came back).
    fn event(&self, index: usize, event: BusEvent) {
        let sink = self.state.lock().unwrap().subscribers[index].sink.clone();
        if let Some(sink) = sink {
            sink(event);
        }
    }

    /// Waits until node `index` subscribed to `channel`.
    fn wait_subscribed(&self, index: usize, channel: &str) {
        let deadline = std::time::Instant::now() + WAIT;
        while !self.state.lock().unwrap().subscribers[index]
            .channels
            .contains(channel)
        {
            assert!(
                std::time::Instant::now() < deadline,
                "{channel} never subscribed"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// What node `from` published on `channel`, in order.
    fn published(&self, from: usize, channel: &str) -> Vec<Bytes> {
        let state = self.state.lock().unwrap();
        state
            .log
            .iter()
            .filter(|(f, c, _)| *f == from && c == channel)
            .map(|(_, _, p)| p.clone())
            .collect()
    }
}

/// Redis glob matching, `*` and `?` only (all the adapter uses).
fn glob(pattern: &str, text: &str) -> bool {
    fn go(p: &[u8], t: &[u8]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], t) || (!t.is_empty() && go(p, &t[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &t[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &t[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), text.as_bytes())
}

struct MemoryBus {
    hub: Hub,
    index: usize,
    timeout: Duration,
}

impl Bus for MemoryBus {
    fn start(&self, sink: BusSink) {
        self.hub.state.lock().unwrap().subscribers[self.index].sink = Some(sink);
    }

    fn subscribe(
        &self,
        channels: Vec<String>,
        patterns: Vec<String>,
    ) -> BoxFuture<Result<(), BusError>> {
        let mut state = self.hub.state.lock().unwrap();
        let me = &mut state.subscribers[self.index];
        me.channels.extend(channels);
        me.patterns.extend(patterns);
        Box::pin(async { Ok(()) })
    }

    fn publish(&self, channel: String, payload: Bytes) -> BoxFuture<Result<(), BusError>> {
        self.hub.publish(self.index, &channel, payload);
        Box::pin(async { Ok(()) })
    }

    fn subscriber_count(&self, channel: String) -> BoxFuture<Result<usize, BusError>> {
        let state = self.hub.state.lock().unwrap();
        if state.numsub_hangs {
            return Box::pin(std::future::pending());
        }
        let count = state
            .subscribers
            .iter()
            .filter(|s| s.channels.contains(&channel))
            .count();
        Box::pin(async move { Ok(count) })
    }

    fn requests_timeout(&self) -> Duration {
        self.timeout
    }
}

// ----- servers and clients -----

/// A sio server on the hub, handing its new sockets to the test.
struct Node {
    server: TestServer,
    sockets: mpsc::Receiver<Socket>,
}

impl Node {
    fn start<R: TestRuntime>(
        hub: &Hub,
        timeout: Duration,
        setup: impl FnOnce(&SocketIo) + Send + 'static,
    ) -> Node {
        let bus = hub.bus(timeout);
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
                setup(&io);
            }),
        );
        // The namespace subscribes from a task: wait for it, as a
        // deployment waits for its nodes to be up.
        let deadline = std::time::Instant::now() + WAIT;
        while hub.state.lock().unwrap().subscribers[index]
            .channels
            .is_empty()
        {
            assert!(
                std::time::Instant::now() < deadline,
                "node never subscribed"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        Node { server, sockets }
    }

    fn io(&self) -> SocketIo {
        self.server.io.clone()
    }

    /// A client on `/` and its server-side socket.
    fn client(&self, auth: Option<&str>) -> (TestClient, Socket) {
        let client = TestClient::connect(self.server.addr, "/", auth).expect("client connects");
        let socket = self.sockets.recv_timeout(WAIT).expect("socket");
        (client, socket)
    }
}

fn two_nodes<R: TestRuntime>(hub: &Hub) -> (Node, Node) {
    (
        Node::start::<R>(hub, WAIT, |_| {}),
        Node::start::<R>(hub, WAIT, |_| {}),
    )
}

fn recv(client: &mut TestClient) -> String {
    client.recv_packet(WAIT).expect("a packet").text
}

/// Sends `marker` to everyone from `io` (through the bus, in order after
/// what `io` published before) and checks it is `client`'s next packet.
fn expect_marker_next(io: &SocketIo, client: &mut TestClient, marker: &str) {
    io.emit(marker, &()).unwrap();
    assert_eq!(recv(client), format!(r#"42["{marker}"]"#));
}

fn sorted(mut items: Vec<String>) -> Vec<String> {
    items.sort();
    items
}

// ----- broadcasts -----

fn room_broadcast_reaches_every_node_once_binary_too<R: TestRuntime>() {
    let hub = Hub::default();
    let (a, b) = two_nodes::<R>(&hub);
    let (mut a1, sa1) = a.client(None);
    let (mut b1, sb1) = b.client(None);
    let (mut b2, _sb2) = b.client(None);
    sa1.join("r").unwrap();
    sb1.join("r").unwrap();

    let io = a.io();
    let bin = Bytes::from_static(&[1, 2, 3]);
    io.to("r").emit("hi", &("x", bin.clone())).unwrap();
    for client in [&mut a1, &mut b1] {
        let got = client.recv_packet(WAIT).unwrap();
        assert_eq!(got.text, r#"451-["hi","x",{"_placeholder":true,"num":0}]"#);
        assert_eq!(got.attachments(), std::slice::from_ref(&bin));
    }
    // Exactly once: the marker, published after, is the next packet.
    io.emit("m1", &()).unwrap();
    for client in [&mut a1, &mut b1, &mut b2] {
        assert_eq!(recv(client), r#"42["m1"]"#);
    }

    // And the other way, from B's namespace handle.
    b.io().of("/").unwrap().to("r").emit("back", &1).unwrap();
    assert_eq!(recv(&mut a1), r#"42["back",1]"#);
    assert_eq!(recv(&mut b1), r#"42["back",1]"#);
    expect_marker_next(&b.io(), &mut b2, "m2");
}

fn other_and_dynamic_namespaces_cross_too<R: TestRuntime>() {
    let hub = Hub::default();
    let setup = |io: &SocketIo| {
        io.of("/admin").unwrap();
        io.of_dynamic(|name| name.starts_with("/dyn-"));
    };
    let a = Node::start::<R>(&hub, WAIT, setup);
    let b = Node::start::<R>(&hub, WAIT, setup);
    hub.wait_subscribed(1, "socket.io-request#/admin#");
    let mut a_admin = TestClient::connect(a.server.addr, "/admin", None).unwrap();
    let mut b_admin = TestClient::connect(b.server.addr, "/admin", None).unwrap();
    a.io().of("/admin").unwrap().emit("x", &1).unwrap();
    assert_eq!(recv(&mut a_admin), r#"42/admin,["x",1]"#);
    assert_eq!(recv(&mut b_admin), r#"42/admin,["x",1]"#);

    // A dynamic child subscribes when it is created on each node.
    let mut a_dyn = TestClient::connect(a.server.addr, "/dyn-1", None).unwrap();
    let mut b_dyn = TestClient::connect(b.server.addr, "/dyn-1", None).unwrap();
    hub.wait_subscribed(1, "socket.io-request#/dyn-1#");
    a.io().of("/dyn-1").unwrap().emit("y", &()).unwrap();
    assert_eq!(recv(&mut a_dyn), r#"42/dyn-1,["y"]"#);
    assert_eq!(recv(&mut b_dyn), r#"42/dyn-1,["y"]"#);
}

fn except_local_and_socket_broadcast_are_honoured<R: TestRuntime>() {
    let hub = Hub::default();
    let (a, b) = two_nodes::<R>(&hub);
    let (mut a1, sa1) = a.client(None);
    let (mut b1, sb1) = b.client(None);
    let (mut b2, _sb2) = b.client(None);
    sb1.join("r").unwrap();
    let io = a.io();

    io.except("r").emit("news", &42).unwrap();
    assert_eq!(recv(&mut a1), r#"42["news",42]"#);
    assert_eq!(recv(&mut b2), r#"42["news",42]"#);
    expect_marker_next(&io, &mut b1, "m1");
    assert_eq!(recv(&mut a1), r#"42["m1"]"#);
    assert_eq!(recv(&mut b2), r#"42["m1"]"#);

    // `local()` stays on A.
    io.local().emit("here", &()).unwrap();
    assert_eq!(recv(&mut a1), r#"42["here"]"#);
    expect_marker_next(&io, &mut b1, "m2");
    assert_eq!(recv(&mut a1), r#"42["m2"]"#);
    assert_eq!(recv(&mut b2), r#"42["m2"]"#);

    // socket.broadcast(): everyone but the sender, on both nodes.
    sa1.broadcast().emit("relayed", &"from a").unwrap();
    assert_eq!(recv(&mut b1), r#"42["relayed","from a"]"#);
    assert_eq!(recv(&mut b2), r#"42["relayed","from a"]"#);
    expect_marker_next(&io, &mut a1, "m3");
}

fn published_bytes_are_the_node_adapters<R: TestRuntime>() {
    let hub = Hub::default();
    let (a, _b) = two_nodes::<R>(&hub);
    let io = a.io();
    let uid = io.adapter_uid().expect("an adapter");
    assert_eq!(uid.len(), 6);

    io.except("room1").emit("news", &42).unwrap();
    io.of("/admin").unwrap().emit("admin", &"hi").unwrap();
    // Published on the server's runtime: wait until both went out.
    let deadline = std::time::Instant::now() + WAIT;
    while hub.published(0, "socket.io#/admin#").is_empty() {
        assert!(std::time::Instant::now() < deadline, "nothing published");
        std::thread::sleep(Duration::from_millis(10));
    }
    let except = hub.published(0, "socket.io#/#");
    let admin = hub.published(0, "socket.io#/admin#");
    // The captures' uids were Node's; ours differ, in the same six bytes.
    for (name, ours) in [("except", &except[0]), ("namespace", &admin[0])] {
        let node = fixture(name);
        assert_eq!(ours.len(), node.len(), "{name}");
        assert_eq!(&ours[..2], &node[..2], "{name}");
        assert_eq!(&ours[2..8], uid.as_bytes(), "{name}");
        assert_eq!(&ours[8..], &node[8..], "{name}");
    }

    // Requests, as Node's node "I7RB_I" wrote them (uid and request id
    // aside, which are random).
    let requests = "socket.io-request#/#";
    io.to("room4").except("room5").sockets_leave("room4");
    io.server_side_emit("ping", &(1, "two", [3.25])).unwrap();
    io.server_side_emit("raw", &(Bytes::from_static(&[0, 255]),))
        .unwrap();
    drop(
        io.to("room1")
            .timeout(Duration::from_millis(2000))
            .emit_with_ack::<_, String>("question", &7),
    );
    let fetched = a.server.block_on(io.to("room1").fetch_sockets()).unwrap();
    assert!(fetched.is_empty());
    io.to("room1").disconnect_sockets(true);
    let ours = published(&hub, 0, requests, 6);
    for (name, ours) in [
        ("sockets_leave", &ours[0]),
        ("server_side_emit", &ours[1]),
        ("server_side_emit_binary", &ours[2]),
        ("broadcast_ack", &ours[3]),
        ("fetch_sockets", &ours[4]),
        ("disconnect_sockets", &ours[5]),
    ] {
        let node = fixture(name);
        let ours = with_node_ids(ours, &uid, &node);
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&node),
            "{name}"
        );
        assert_eq!(ours, node, "{name}");
    }
}

/// `ours` with our uid and request id replaced by those in `node`'s
/// message (uid `I7RB_I`; the request id follows `requestId`).
fn with_node_ids(ours: &[u8], uid: &str, node: &[u8]) -> Vec<u8> {
    let mut ours = ours.to_vec();
    let find = |haystack: &[u8], needle: &[u8]| {
        haystack
            .windows(needle.len())
            .position(|window| window == needle)
    };
    if let Some(at) = find(&ours, uid.as_bytes()) {
        ours[at..at + 6].copy_from_slice(b"I7RB_I");
    }
    if let (Some(mine), Some(theirs)) = (find(&ours, b"requestId"), find(node, b"requestId")) {
        // JSON: `requestId":"XXXXXX`; MessagePack: `requestId` 0xa6 `XXXXXX`.
        let skip = if node.first() == Some(&b'{') { 3 } else { 1 };
        let (mine, theirs) = (mine + 9 + skip, theirs + 9 + skip);
        if ours.len() >= mine + 6 && node.len() >= theirs + 6 {
            ours[mine..mine + 6].copy_from_slice(&node[theirs..theirs + 6]);
        }
    }
    ours
}

/// The first capture named `name` in the Node adapter's captures.
fn fixture(name: &str) -> Vec<u8> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../core/tests/fixtures/adapter/captures.tsv"
    );
    let text = std::fs::read_to_string(path).expect("captures");
    let line = text
        .lines()
        .find(|line| line.split('\t').next() == Some(name))
        .expect("capture");
    let hex = line.split('\t').nth(2).expect("bytes");
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

// ----- fetch_sockets and remote sockets -----

#[derive(Debug, Deserialize, PartialEq)]
struct Profile {
    name: String,
}

fn fetch_sockets_sees_remote_sockets_and_acts_on_them<R: TestRuntime>() {
    let hub = Hub::default();
    let (a, b) = two_nodes::<R>(&hub);
    let (mut a1, sa1) = a.client(None);
    let (mut b1, sb1) = b.client(Some(r#"{"token":"t"}"#));
    sa1.set_data(&serde_json::json!({"name": "a"})).unwrap();
    sb1.set_data(&serde_json::json!({"name": "b"})).unwrap();
    sb1.join("r").unwrap();
    let io = a.io();

    let fetched = a.server.block_on(io.fetch_sockets()).unwrap();
    assert_eq!(
        sorted(fetched.iter().map(|s| s.id().to_owned()).collect()),
        sorted(vec![sa1.id().to_owned(), sb1.id().to_owned()])
    );
    let local = fetched.iter().find(|s| s.is_local()).unwrap();
    assert_eq!(local.id(), sa1.id());
    assert_eq!(local.data::<Profile>().unwrap().name, "a");
    let remote = fetched.iter().find(|s| !s.is_local()).unwrap().clone();
    assert_eq!(remote.id(), sb1.id());
    assert_eq!(remote.ns(), "/");
    assert_eq!(
        sorted(remote.rooms().to_vec()),
        sorted(vec![sb1.id().to_owned(), "r".into()])
    );
    assert_eq!(remote.data::<Profile>().unwrap().name, "b");
    let handshake = remote.handshake();
    assert_eq!(handshake["auth"], serde_json::json!({"token": "t"}));
    assert_eq!(handshake["query"]["EIO"], "4");
    assert_eq!(handshake["query"]["transport"], "websocket");
    assert!(handshake["url"]
        .as_str()
        .unwrap()
        .starts_with("/socket.io/?"));
    assert_eq!(handshake["address"], "127.0.0.1");
    assert_eq!(handshake["xdomain"], false);
    assert_eq!(handshake["secure"], false);
    assert!(handshake["issued"].as_i64().unwrap() > 1_700_000_000_000);
    assert!(handshake["time"]
        .as_str()
        .unwrap()
        .ends_with("GMT+0000 (Coordinated Universal Time)"));
    assert!(handshake["headers"]["host"].is_string());
    let keys: Vec<String> = handshake.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        sorted(keys),
        sorted(
            ["headers", "time", "address", "xdomain", "secure", "issued", "url", "query", "auth"]
                .map(String::from)
                .to_vec()
        )
    );

    // Selections cross too; local() stays here.
    let in_r = a.server.block_on(io.to("r").fetch_sockets()).unwrap();
    assert_eq!(in_r.len(), 1);
    assert_eq!(in_r[0].id(), sb1.id());
    let here = a.server.block_on(io.local().fetch_sockets()).unwrap();
    assert_eq!(here.len(), 1);
    assert_eq!(here[0].id(), sa1.id());

    // Operations on the remote socket go through the adapter, in order.
    remote.emit("direct", &"hello").unwrap();
    assert_eq!(recv(&mut b1), r#"42["direct","hello"]"#);
    remote.join("x").unwrap();
    io.to("x").emit("in-x", &()).unwrap();
    assert_eq!(recv(&mut b1), r#"42["in-x"]"#);
    remote.leave("x").unwrap();
    io.to("x").emit("in-x-again", &()).unwrap();
    expect_marker_next(&io, &mut b1, "m1");
    assert_eq!(recv(&mut a1), r#"42["m1"]"#);

    // sockets_join / sockets_leave on every node.
    io.sockets_join("all");
    io.to("all").emit("everyone", &()).unwrap();
    assert_eq!(recv(&mut a1), r#"42["everyone"]"#);
    assert_eq!(recv(&mut b1), r#"42["everyone"]"#);
    io.except(sa1.id()).sockets_leave("all");
    io.to("all").emit("a-only", &()).unwrap();
    assert_eq!(recv(&mut a1), r#"42["a-only"]"#);
    expect_marker_next(&io, &mut b1, "m2");
    assert_eq!(recv(&mut a1), r#"42["m2"]"#);

    remote.disconnect(false).unwrap();
    assert_eq!(recv(&mut b1), "41");
    // disconnect_sockets reaches the other node's sockets too.
    let (mut b2, _sb2) = b.client(None);
    io.except(sa1.id()).disconnect_sockets(false);
    assert_eq!(recv(&mut b2), "41");
    assert!(sa1.connected());
}

fn without_another_node_fetch_resolves_with_local_sockets<R: TestRuntime>() {
    let hub = Hub::default();
    let a = Node::start::<R>(&hub, WAIT, |_| {});
    let (_a1, sa1) = a.client(None);
    let fetched = a.server.block_on(a.io().fetch_sockets()).unwrap();
    assert_eq!(fetched.len(), 1);
    assert_eq!(fetched[0].id(), sa1.id());
    let answers: Vec<u32> = a
        .server
        .block_on(a.io().server_side_emit_with_ack("ping", &1))
        .unwrap();
    assert!(answers.is_empty());
}

// ----- server-side emits -----

fn server_side_emit_with_and_without_ack<R: TestRuntime>() {
    let hub = Hub::default();
    let (notes, noted) = mpsc::channel();
    let notes = Mutex::new(notes);
    let (own_tx, own_rx) = mpsc::channel::<()>();
    let own_tx = Mutex::new(own_tx);
    let a = Node::start::<R>(&hub, WAIT, move |io| {
        // A node does not get its own server-side emits.
        io.on_server_side_emit("note", move |_: (String,), _ack| {
            let _ = own_tx.lock().unwrap().send(());
            async {}
        });
    });
    let b = Node::start::<R>(&hub, WAIT, move |io| {
        io.on_server_side_emit("note", move |(text, n): (String, u32), ack| {
            assert!(!ack.is_requested());
            let _ = notes.lock().unwrap().send((text, n));
            async {}
        });
        io.on_server_side_emit("ping", |(n,): (u32,), ack| async move {
            assert!(ack.is_requested());
            ack.send(&(n + 1)).unwrap();
        });
        // Server-side emits are JSON: a buffer crosses as Node's
        // JSON.stringify writes it, `{"type":"Buffer","data":[...]}`.
        io.on_server_side_emit("bin", |(data,): (serde_json::Value,), ack| async move {
            ack.send(&data).unwrap();
        });
    });
    let _ = &b;
    let io = a.io();
    io.server_side_emit("note", &("hello", 7)).unwrap();
    assert_eq!(noted.recv_timeout(WAIT).unwrap(), ("hello".to_owned(), 7));
    let answers: Vec<u32> = a
        .server
        .block_on(io.server_side_emit_with_ack("ping", &(41,)))
        .unwrap();
    assert_eq!(answers, vec![42]);
    let answers: Vec<serde_json::Value> = a
        .server
        .block_on(io.server_side_emit_with_ack("bin", &(Bytes::from_static(b"\x00\xff"),)))
        .unwrap();
    assert_eq!(
        answers,
        vec![serde_json::json!({"type": "Buffer", "data": [0, 255]})]
    );
    assert!(own_rx.try_recv().is_err());
}

// ----- broadcasts with acks -----

fn broadcast_with_ack_collects_acks_from_both_nodes<R: TestRuntime>() {
    let hub = Hub::default();
    let (a, b) = two_nodes::<R>(&hub);
    let (mut a1, _) = a.client(None);
    let (mut b1, _) = b.client(None);
    let (mut b2, _) = b.client(None);
    let io = a.io();
    let waiting = a.server.call(move || {
        io.timeout(WAIT)
            .emit_with_ack::<_, serde_json::Value>("q", &"?")
    });
    for (client, answer) in [(&mut a1, "1"), (&mut b1, "2"), (&mut b2, r#"{"b":[3]}"#)] {
        let got = client.recv_packet(WAIT).unwrap();
        let id = got.packet.id.expect("an ack id");
        assert_eq!(got.text, format!(r#"42{id}["q","?"]"#));
        client.ack(id, &format!("[{answer}]")).unwrap();
    }
    let mut answers: Vec<String> = a
        .server
        .block_on(waiting)
        .unwrap()
        .iter()
        .map(|v| v.to_string())
        .collect();
    answers.sort();
    assert_eq!(answers, [r#"1"#, r#"2"#, r#"{"b":[3]}"#]);
}

// ----- faults -----

fn requests_time_out_when_a_node_does_not_answer<R: TestRuntime>() {
    let hub = Hub::default();
    let short = Duration::from_millis(300);
    let a = Node::start::<R>(&hub, short, |_| {});
    let _b = Node::start::<R>(&hub, short, |io| {
        io.on_server_side_emit("ping", |_: (), ack| async move {
            ack.send(&"pong").unwrap();
        });
    });
    hub.silent_node("socket.io-request#/#");
    let io = a.io();
    let error = a.server.block_on(io.fetch_sockets()).unwrap_err();
    assert_eq!(
        error,
        ClusterError::Timeout("timeout reached while waiting for fetchSockets response".into())
    );
    let error = a
        .server
        .block_on(io.server_side_emit_with_ack::<_, String>("ping", &()))
        .unwrap_err();
    assert_eq!(
        error,
        ClusterError::Timeout("timeout reached: only 1 responses received out of 2".into())
    );
    // A broadcast with acks and no deadline of its own uses requests_timeout.
    let (mut a1, _) = a.client(None);
    let io2 = io.clone();
    let waiting = a.server.call(move || io2.emit_with_ack::<_, u8>("q", &()));
    let got = a1.recv_packet(WAIT).unwrap();
    a1.ack(got.packet.id.unwrap(), "[1]").unwrap();
    assert!(matches!(
        a.server.block_on(waiting),
        Err(sio_driver::AckError::Timeout)
    ));
}

fn malformed_messages_are_dropped_and_bus_state_is_reported<R: TestRuntime>() {
    let hub = Hub::default();
    let (a, b) = two_nodes::<R>(&hub);
    let (mut a1, _) = a.client(None);
    for (channel, bytes) in [
        ("socket.io#/#", &b"\xc1\xc1\xc1"[..]),
        ("socket.io#/#", &b"\x93\xa1x\x01\x02"[..]),
        ("socket.io#/#room#", &b"{\"not\":\"an array\"}"[..]),
        ("socket.io-request#/#", &b"{broken"[..]),
        (
            "socket.io-request#/#",
            &br#"{"uid":"zzz","type":5,"requestId":"r"}"#[..],
        ),
        ("socket.io-request#/#", &br#"{"uid":"zzz","type":42}"#[..]),
        ("socket.io-response#/#", &b"\xff\xff"[..]),
        (
            "socket.io-response#/#",
            &br#"{"requestId":"unknown","sockets":[]}"#[..],
        ),
    ] {
        hub.publish(99, channel, Bytes::copy_from_slice(bytes));
    }
    // Both nodes still work.
    b.io().emit("still", &()).unwrap();
    assert_eq!(recv(&mut a1), r#"42["still"]"#);

    let io = a.io();
    assert!(io.adapter_connected());
    hub.event(0, BusEvent::Down(BusError("connection reset".into())));
    // Bus events are handled in order: once this arrives, Down was seen.
    b.io().emit("after-down", &()).unwrap();
    assert_eq!(recv(&mut a1), r#"42["after-down"]"#);
    assert!(!io.adapter_connected());
    // Local delivery goes on while the bus is down.
    io.emit("local", &()).unwrap();
    assert_eq!(recv(&mut a1), r#"42["local"]"#);
    hub.event(0, BusEvent::Up);
    b.io().emit("again", &()).unwrap();
    assert_eq!(recv(&mut a1), r#"42["again"]"#);
    assert!(io.adapter_connected());
}

// ----- answering the Node adapter's requests, byte for byte -----

/// Every capture named `name`, in order.
fn fixtures(name: &str) -> Vec<(String, Bytes)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../core/tests/fixtures/adapter/captures.tsv"
    );
    let text = std::fs::read_to_string(path).expect("captures");
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split('\t');
            (fields.next() == Some(name)).then(|| {
                let channel = fields.next().expect("channel").to_owned();
                let hex = fields.next().expect("bytes");
                let bytes = (0..hex.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                    .collect::<Vec<u8>>();
                (channel, Bytes::from(bytes))
            })
        })
        .collect()
}

/// Waits until node `from` has published `count` messages on `channel`.
fn published(hub: &Hub, from: usize, channel: &str, count: usize) -> Vec<Bytes> {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let got = hub.published(from, channel);
        if got.len() >= count {
            return got;
        }
        assert!(std::time::Instant::now() < deadline, "{channel}: {got:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn node_requests_are_answered_as_node_answers_them<R: TestRuntime>() {
    let hub = Hub::default();
    let b = Node::start::<R>(&hub, WAIT, |io| {
        io.on_server_side_emit("ask", |(arg,): (serde_json::Value,), ack| async move {
            let q = arg["q"].as_u64().unwrap_or(0);
            ack.send(&serde_json::json!({ "answer": q + 1 })).unwrap();
        });
    });
    let (mut b1, sb1) = b.client(None);
    sb1.join("room1").unwrap();
    let responses = "socket.io-response#/#";

    // BROADCAST with acks (MessagePack), as a Node node sends it.
    let exchange = fixtures("broadcast_ack");
    assert_eq!(exchange.len(), 3);
    hub.publish(99, &exchange[0].0, exchange[0].1.clone());
    let got = b1.recv_packet(WAIT).unwrap();
    let id = got.packet.id.expect("an ack id");
    assert_eq!(got.text, format!(r#"42{id}["question",7]"#));
    // The client count goes out at once, the ack when the client answers.
    assert_eq!(published(&hub, 0, responses, 1)[0], exchange[1].1);
    b1.ack(id, r#"["answer 7"]"#).unwrap();
    assert_eq!(published(&hub, 0, responses, 2)[1], exchange[2].1);
    assert_eq!(exchange[1].0, responses);

    // SERVER_SIDE_EMIT with ack (JSON).
    let exchange = fixtures("server_side_emit_ack");
    hub.publish(99, &exchange[0].0, exchange[0].1.clone());
    assert_eq!(published(&hub, 0, responses, 3)[2], exchange[1].1);

    // ALL_ROOMS: this node's rooms, socket ids included.
    let exchange = fixtures("all_rooms");
    hub.publish(99, &exchange[0].0, exchange[0].1.clone());
    let answer = published(&hub, 0, responses, 4)[3].clone();
    let answer: serde_json::Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(answer["requestId"], "o-LX9_");
    let rooms: Vec<String> = serde_json::from_value(answer["rooms"].clone()).unwrap();
    assert_eq!(
        sorted(rooms),
        sorted(vec![sb1.id().to_owned(), "room1".into()])
    );

    // REMOTE_FETCH: the sockets in room1, each in Node's shape and order.
    let exchange = fixtures("fetch_sockets");
    hub.publish(99, &exchange[0].0, exchange[0].1.clone());
    let answer = published(&hub, 0, responses, 5)[4].clone();
    let answer = sio_core::adapter::from_json(std::str::from_utf8(&answer).unwrap()).unwrap();
    let node = sio_core::adapter::from_json(std::str::from_utf8(&exchange[1].1).unwrap()).unwrap();
    let keys = |value: &sio_core::adapter::Value| -> Vec<String> {
        value
            .as_map()
            .unwrap()
            .iter()
            .map(|(key, _)| key.clone())
            .collect()
    };
    assert_eq!(keys(&answer), keys(&node));
    let ours = &answer.get("sockets").unwrap().as_array().unwrap()[0];
    let theirs = &node.get("sockets").unwrap().as_array().unwrap()[0];
    // `data` is there even unset: Node's `socket.data` starts as `{}`.
    assert_eq!(keys(ours), keys(theirs));
    assert_eq!(
        keys(ours.get("handshake").unwrap()),
        keys(theirs.get("handshake").unwrap())
    );
    assert_eq!(ours.get("id").unwrap().as_str(), Some(sb1.id()));
}

fn a_bus_that_never_counts_the_nodes_does_not_hang_requests<R: TestRuntime>() {
    let hub = Hub::default();
    let short = Duration::from_millis(200);
    let a = Node::start::<R>(&hub, short, |_| {});
    let _b = Node::start::<R>(&hub, short, |_| {});
    let (mut a1, _) = a.client(None);
    hub.state.lock().unwrap().numsub_hangs = true;
    let io = a.io();
    assert!(matches!(
        a.server.block_on(io.fetch_sockets()),
        Err(ClusterError::Bus(_))
    ));
    assert!(matches!(
        a.server
            .block_on(io.server_side_emit_with_ack::<_, u8>("x", &())),
        Err(ClusterError::Bus(_))
    ));
    // Uncounted, a broadcast with acks cannot complete: it times out, as
    // in Node when serverCount() fails.
    let io2 = io.clone();
    let waiting = a.server.call(move || io2.emit_with_ack::<_, u8>("q", &()));
    let got = a1.recv_packet(WAIT).unwrap();
    a1.ack(got.packet.id.unwrap(), "[5]").unwrap();
    assert!(matches!(
        a.server.block_on(waiting),
        Err(sio_driver::AckError::Timeout)
    ));
}

/// One `#[test]` per scenario and runtime.
macro_rules! on_runtime {
    ($module:ident, $runtime:ty) => {
        mod $module {
            use super::*;

            #[test]
            fn room_broadcast_reaches_every_node_once_binary_too() {
                super::room_broadcast_reaches_every_node_once_binary_too::<$runtime>();
            }

            #[test]
            fn other_and_dynamic_namespaces_cross_too() {
                super::other_and_dynamic_namespaces_cross_too::<$runtime>();
            }

            #[test]
            fn except_local_and_socket_broadcast_are_honoured() {
                super::except_local_and_socket_broadcast_are_honoured::<$runtime>();
            }

            #[test]
            fn published_bytes_are_the_node_adapters() {
                super::published_bytes_are_the_node_adapters::<$runtime>();
            }

            #[test]
            fn fetch_sockets_sees_remote_sockets_and_acts_on_them() {
                super::fetch_sockets_sees_remote_sockets_and_acts_on_them::<$runtime>();
            }

            #[test]
            fn without_another_node_fetch_resolves_with_local_sockets() {
                super::without_another_node_fetch_resolves_with_local_sockets::<$runtime>();
            }

            #[test]
            fn server_side_emit_with_and_without_ack() {
                super::server_side_emit_with_and_without_ack::<$runtime>();
            }

            #[test]
            fn broadcast_with_ack_collects_acks_from_both_nodes() {
                super::broadcast_with_ack_collects_acks_from_both_nodes::<$runtime>();
            }

            #[test]
            fn requests_time_out_when_a_node_does_not_answer() {
                super::requests_time_out_when_a_node_does_not_answer::<$runtime>();
            }

            #[test]
            fn malformed_messages_are_dropped_and_bus_state_is_reported() {
                super::malformed_messages_are_dropped_and_bus_state_is_reported::<$runtime>();
            }

            #[test]
            fn node_requests_are_answered_as_node_answers_them() {
                super::node_requests_are_answered_as_node_answers_them::<$runtime>();
            }

            #[test]
            fn a_bus_that_never_counts_the_nodes_does_not_hang_requests() {
                super::a_bus_that_never_counts_the_nodes_does_not_hang_requests::<$runtime>();
            }
        }
    };
}

on_runtime!(tokio_runtime, TokioRuntime);
on_runtime!(smol_runtime, SmolRuntime);
on_runtime!(async_std_runtime, AsyncStdRuntime);
