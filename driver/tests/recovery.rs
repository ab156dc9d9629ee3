//! Connection state recovery through the whole driver on virtual time: our
//! client against our server, the transport cut by the server side, events
//! sent to the socket and to its room while it is away, the window, and
//! the middleware skipped or run.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sio_driver::testing::{Listener, VirtualRuntime};
use sio_driver::{
    client_socket, ClientConfig, ClientSocket, ClientTransport, Config, ConnectError,
    RecoveryConfig, Socket, SocketIo,
};

#[derive(Clone)]
struct Log<T>(Arc<Mutex<Vec<T>>>);

impl<T> Default for Log<T> {
    fn default() -> Self {
        Log(Arc::new(Mutex::new(Vec::new())))
    }
}

impl<T: Clone> Log<T> {
    fn push(&self, value: T) {
        self.0.lock().unwrap().push(value);
    }
    fn take(&self) -> Vec<T> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

const WINDOW: Duration = Duration::from_secs(10);

struct Setup {
    rt: VirtualRuntime,
    io: SocketIo,
    listener: Listener,
    sockets: Log<Socket>,
    middleware_runs: Log<()>,
    client: ClientSocket,
    received: Log<u32>,
}

/// Two shards: sessions open in them in turn, so the client's first
/// session is in shard 0 and the one it comes back with in shard 1, and
/// its kept session moves across.
fn setup(skip_middlewares: bool) -> Setup {
    setup_sharded(skip_middlewares, 2)
}

fn setup_sharded(skip_middlewares: bool, shards: usize) -> Setup {
    let rt = VirtualRuntime::new();
    let mut config = Config::default();
    config.shards = shards;
    let mut recovery = RecoveryConfig::default();
    recovery.max_disconnection_duration = WINDOW;
    recovery.skip_middlewares = skip_middlewares;
    config.connection_state_recovery = Some(recovery);
    let io = SocketIo::with_runtime(rt.clone(), config);
    let middleware_runs = Log::default();
    let runs = middleware_runs.clone();
    io.use_middleware(move |_| {
        let runs = runs.clone();
        async move {
            runs.push(());
            Ok::<(), ConnectError>(())
        }
    });
    let sockets = Log::default();
    let log = sockets.clone();
    io.on_connection(move |socket| {
        let log = log.clone();
        async move {
            if !socket.recovered() {
                let _ = socket.join("room");
                let _ = socket.set_data(&serde_json::json!({"user": 7}));
            }
            log.push(socket)
        }
    });
    let listener = rt.listen("localhost", 3000, &io);
    let mut client_config = ClientConfig::default();
    client_config.engine.transports = vec![ClientTransport::WebSocket];
    client_config.engine.reconnection_delay = Duration::from_millis(100);
    client_config.engine.randomization_factor = 0.0;
    let client = client_socket(rt.clone(), "http://localhost:3000", client_config).unwrap();
    let received = Log::default();
    let log = received.clone();
    // A typed handler: the offset the server appends never reaches it.
    client.on("n", move |_, n: u32, _| {
        let log = log.clone();
        async move { log.push(n) }
    });
    client.connect();
    rt.run_until_idle();
    Setup {
        rt,
        io,
        listener,
        sockets,
        middleware_runs,
        client,
        received,
    }
}

/// Cuts the connection from the server side, sends 1..=n while away (odd
/// to the socket, even to its room), waits `away`, lets the client back.
fn cut_send_and_return(s: &Setup, n: u32, away: Duration) -> Socket {
    let socket = s.sockets.take().pop().expect("connected");
    socket.emit("n", &0u32).unwrap();
    s.rt.run_until_idle();
    assert_eq!(s.received.take(), vec![0]);
    s.listener.set_accepting(false);
    s.listener.close_connections();
    s.rt.run_until_idle();
    assert!(!s.client.connected());
    for i in 1..=n {
        if i % 2 == 1 {
            socket.emit("n", &i).unwrap();
        } else {
            s.io.to("room").emit("n", &i).unwrap();
        }
    }
    s.rt.advance(away);
    s.listener.set_accepting(true);
    s.rt.advance(Duration::from_secs(6));
    s.rt.run_until_idle();
    assert!(s.client.connected());
    socket
}

#[test]
fn recovers_with_every_missed_event_in_order_and_skips_the_middleware() {
    let s = setup(true);
    assert_eq!(s.middleware_runs.take().len(), 1);
    assert!(!s.client.recovered());
    let old = cut_send_and_return(&s, 100, Duration::ZERO);
    assert!(s.client.recovered());
    assert_eq!(s.received.take(), (1..=100).collect::<Vec<_>>());
    let new = s.sockets.take().pop().expect("reconnected");
    assert!(new.recovered());
    assert_eq!(new.id(), old.id());
    assert_eq!(s.client.id().as_deref(), Some(old.id()));
    assert_eq!(new.rooms().len(), 2);
    assert_eq!(
        new.data::<serde_json::Value>(),
        Some(serde_json::json!({"user": 7}))
    );
    assert!(s.middleware_runs.take().is_empty(), "skipped");
    // And once more on the same socket.
    s.sockets.push(new);
    let old = cut_send_and_return(&s, 4, Duration::ZERO);
    assert!(s.client.recovered());
    assert_eq!(s.received.take(), vec![1, 2, 3, 4]);
    assert_eq!(s.sockets.take().pop().unwrap().id(), old.id());
}

#[test]
fn recovers_within_one_shard_and_across_three() {
    for shards in [1, 3] {
        let s = setup_sharded(true, shards);
        let old = cut_send_and_return(&s, 20, Duration::ZERO);
        assert!(s.client.recovered(), "{shards} shards");
        assert_eq!(s.received.take(), (1..=20).collect::<Vec<_>>());
        let new = s.sockets.take().pop().expect("reconnected");
        assert!(new.recovered());
        assert_eq!(new.id(), old.id());
        assert_eq!(new.rooms().len(), 2);
    }
}

#[test]
fn middleware_runs_when_not_skipped() {
    let s = setup(false);
    s.middleware_runs.take();
    cut_send_and_return(&s, 2, Duration::ZERO);
    assert!(s.client.recovered());
    assert_eq!(s.received.take(), vec![1, 2]);
    assert_eq!(s.middleware_runs.take().len(), 1);
}

#[test]
fn a_gap_longer_than_the_window_gives_a_new_session() {
    let s = setup(true);
    let old = cut_send_and_return(&s, 3, WINDOW);
    assert!(!s.client.recovered());
    assert!(s.received.take().is_empty());
    let new = s.sockets.take().pop().expect("reconnected");
    assert!(!new.recovered());
    assert_ne!(new.id(), old.id());
    assert_eq!(s.middleware_runs.take().len(), 2);
}
