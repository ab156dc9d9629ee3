//! The user API of the server, tested over real loopback sockets with the
//! blocking [`TestClient`], written once for
//! every runtime.
//!
//! Each test is a plain function generic over a [`TestRuntime`] (a server
//! factory: a runtime on a background thread serving on `127.0.0.1:0`);
//! [`api_tests!`](crate::api_tests!) expands to one `#[test]` per function,
//! so a runtime's test file is one line:
//!
//! ```ignore
//! sio_conformance::api_tests!(sio_conformance::api_tests::TokioRuntime);
//! ```
//!
//! Handlers report to the test through std channels captured in their
//! closures; the tests assert exact wire text. Where a test must show that
//! something did *not* reach a client, it makes the server send that client
//! a marker afterwards and checks that the marker is the next packet (the
//! server keeps order per connection), instead of waiting for silence.

use std::future::Future;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use serde::Deserialize;
use sio_core::engine::Transport as EioTransport;
use sio_core::packet::RawJson;
use sio_core::wire::http::Response;
use sio_driver::{
    AckError, BoxFuture, ClusterError, Config, ConnectError, DisconnectReason, Payload,
    RemoteSocket, Socket, SocketIo,
};

use crate::testclient::{TestClient, Transport};

/// How long a test waits for something that should happen.
const WAIT: Duration = Duration::from_secs(5);
/// How long a test waits to see that something does not happen.
const QUIET: Duration = Duration::from_millis(300);

/// A server factory: starts a server on a runtime of its own.
pub trait TestRuntime: 'static {
    /// Starts a server with `config`, runs `setup` on it (inside the
    /// runtime, before the first connection is accepted) and serves it on
    /// `127.0.0.1:0` in the background until the returned server is dropped.
    fn start(config: Config, setup: Box<dyn FnOnce(&SocketIo) + Send>) -> TestServer;

    /// A runtime timer for handlers.
    fn sleep(duration: Duration) -> BoxFuture<()>;
}

/// Spawns a future on the server's runtime.
type Spawner = Arc<dyn Fn(BoxFuture<()>) + Send + Sync>;

/// A running server; dropping it stops the runtime and its thread.
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The server handle.
    pub io: SocketIo,
    spawn: Spawner,
    stop: Option<Box<dyn FnOnce() + Send>>,
}

impl TestServer {
    /// Builds the handle a [`TestRuntime`] returns: `spawn` runs a future
    /// on the runtime, `stop` shuts the runtime down and joins its thread.
    pub fn new(
        addr: SocketAddr,
        io: SocketIo,
        spawn: Spawner,
        stop: Box<dyn FnOnce() + Send>,
    ) -> TestServer {
        TestServer {
            addr,
            io,
            spawn,
            stop: Some(stop),
        }
    }

    /// Runs `future` on the server's runtime and waits for its output
    /// (panics after 10 s).
    pub fn block_on<T: Send + 'static>(
        &self,
        future: impl Future<Output = T> + Send + 'static,
    ) -> T {
        let (tx, rx) = mpsc::channel();
        (self.spawn)(Box::pin(async move {
            let _ = tx.send(future.await);
        }));
        rx.recv_timeout(Duration::from_secs(10))
            .expect("future on the server runtime did not finish")
    }

    /// Runs `future` on the server's runtime in the background.
    pub fn spawn(&self, future: impl Future<Output = ()> + Send + 'static) {
        (self.spawn)(Box::pin(future));
    }

    /// Runs `f` on the server's runtime (API calls that may spawn tasks).
    pub fn call<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        self.block_on(async move { f() })
    }

    /// A WebSocket client joined to `nsp`.
    pub fn client(&self, nsp: &str) -> TestClient {
        TestClient::connect(self.addr, nsp, None).expect("client connects")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop();
        }
    }
}

/// tokio: a multi-threaded runtime (two workers) on its own thread.
#[derive(Debug)]
pub struct TokioRuntime;

impl TestRuntime for TokioRuntime {
    fn start(config: Config, setup: Box<dyn FnOnce(&SocketIo) + Send>) -> TestServer {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let handle = runtime.handle().clone();
        let (ready_tx, ready_rx) = mpsc::channel();
        let (stop_tx, stop_rx) = async_channel::bounded::<()>(1);
        let thread = std::thread::spawn(move || {
            runtime.block_on(async move {
                let io = sio_tokio::new(config);
                setup(&io);
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind");
                let addr = listener.local_addr().expect("local addr");
                let _ = ready_tx.send((addr, io.clone()));
                let serve = sio_tokio::serve(listener, io);
                tokio::select! {
                    _ = serve => {}
                    _ = stop_rx.recv() => {}
                }
            });
            // Dropping the runtime cancels every connection task.
            drop(runtime);
        });
        let (addr, io) = ready_rx.recv_timeout(WAIT).expect("server started");
        let spawn: Spawner = Arc::new(move |future| {
            handle.spawn(future);
        });
        let stop = Box::new(move || {
            let _ = stop_tx.try_send(());
            let _ = thread.join();
        });
        TestServer::new(addr, io, spawn, stop)
    }

    fn sleep(duration: Duration) -> BoxFuture<()> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// A [`TestRuntime`] for a runtime whose tasks run on a global executor
/// (smol, async-std): the accept loop blocks a thread of its own, and
/// stopping shuts the server down so its connection tasks end too.
macro_rules! thread_runtime {
    ($(#[$doc:meta])* $name:ident, $block_on:path, $sio:ident, $listener:path, $spawn:expr, $sleep:expr) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name;

        impl TestRuntime for $name {
            fn start(config: Config, setup: Box<dyn FnOnce(&SocketIo) + Send>) -> TestServer {
                let (ready_tx, ready_rx) = mpsc::channel();
                let (stop_tx, stop_rx) = async_channel::bounded::<()>(1);
                let thread = std::thread::spawn(move || {
                    $block_on(async move {
                        let io = $sio::new(config);
                        setup(&io);
                        let listener = <$listener>::bind("127.0.0.1:0").await.expect("bind");
                        let addr = listener.local_addr().expect("local addr");
                        let _ = ready_tx.send((addr, io.clone()));
                        let serve = async {
                            let _ = $sio::serve(listener, io.clone()).await;
                        };
                        futures_lite::future::or(serve, async {
                            let _ = stop_rx.recv().await;
                        })
                        .await;
                        io.shutdown().await;
                    })
                });
                let (addr, io) = ready_rx.recv_timeout(WAIT).expect("server started");
                let spawn: Spawner = Arc::new($spawn);
                let stop = Box::new(move || {
                    let _ = stop_tx.try_send(());
                    let _ = thread.join();
                });
                TestServer::new(addr, io, spawn, stop)
            }

            fn sleep(duration: Duration) -> BoxFuture<()> {
                Box::pin($sleep(duration))
            }
        }
    };
}

thread_runtime!(
    /// smol: its global executor; the accept loop on a thread of its own.
    SmolRuntime,
    smol::block_on,
    sio_smol,
    smol::net::TcpListener,
    |future| smol::spawn(future).detach(),
    |duration| async move {
        smol::Timer::after(duration).await;
    }
);

thread_runtime!(
    /// async-std: its global executor; the accept loop on a thread of its own.
    AsyncStdRuntime,
    async_std::task::block_on,
    sio_async_std,
    async_std::net::TcpListener,
    |future| {
        async_std::task::spawn(future);
    },
    async_std::task::sleep
);

/// Expands to one `#[test]` per API test for the runtime type `$rt`.
#[macro_export]
macro_rules! api_tests {
    ($rt:ty) => {
        $crate::api_tests!(@each $rt;
            on_connection_websocket,
            on_connection_polling,
            middleware_accepts_with_auth_query_and_extensions,
            middleware_refuses_with_message_and_data,
            middleware_refuses_without_data_in_a_namespace,
            of_static_namespace,
            unknown_namespace_is_refused,
            of_dynamic_namespace,
            on_typed_struct,
            on_typed_tuple,
            on_binary_bytes,
            on_drops_undecodable_args,
            on_payload_raw_args,
            ack_send,
            ack_send_raw_with_binary,
            emit_single_multiple_none_binary,
            emit_with_ack_decodes_client_ack,
            emit_with_ack_timeout,
            volatile_emit,
            broadcast_from_socket_excludes_sender,
            io_emit_and_room_emit,
            io_emit_with_ack_collects_every_ack,
            io_emit_with_ack_timeout,
            namespace_operators,
            join_leave_rooms,
            on_any_runs_before_handler,
            disconnect_client_namespace,
            disconnect_server_namespace,
            disconnect_transport_close,
            disconnect_ping_timeout,
            disconnect_connection_closes_all_namespaces,
            stalled_reader_is_dropped_at_the_packet_limit,
            stalled_reader_is_dropped_at_the_byte_limit,
            a_reader_that_keeps_up_is_never_dropped,
            a_closed_connection_is_gone_by_the_close_timeout,
            fetch_sockets,
            sockets_join_leave,
            disconnect_sockets,
            extensions_shared_by_middleware_and_handlers,
            handshake_fields,
            socket_count,
            shutdown_disconnects_everyone,
            shutdown_refuses_new_sessions,
            slow_handler_does_not_delay_other_client,
            slow_handler_does_not_delay_next_event,
            emits_from_a_plain_thread,
            disconnect_from_a_plain_thread,
            fallback_answers_other_paths,
            slow_request_head_gets_408,
            idle_keep_alive_connection_is_closed,
            slow_request_body_gets_408,
            oversize_post_closes_its_session,
            keep_alive_client_within_the_timeouts_is_undisturbed,
            response_to_a_client_that_does_not_read_is_dropped,
        );
    };
    (@each $rt:ty; $($(#[$attr:meta])* $name:ident),* $(,)?) => {
        $(
            #[test]
            $(#[$attr])*
            fn $name() {
                $crate::api_tests::$name::<$rt>();
            }
        )*
    };
}

// ----- helpers -----

/// The receiving end of a channel handlers report on.
pub struct Rx<T>(mpsc::Receiver<T>);

impl<T> Rx<T> {
    /// The next value (panics after `WAIT`).
    pub fn get(&self) -> T {
        self.0.recv_timeout(WAIT).expect("handler reported in time")
    }

    /// Asserts that nothing arrives for a while.
    pub fn none(&self) {
        if self.0.recv_timeout(QUIET).is_ok() {
            panic!("a handler reported when none should have");
        }
    }
}

/// A channel for handlers to report on.
pub fn channel<T>() -> (mpsc::Sender<T>, Rx<T>) {
    let (tx, rx) = mpsc::channel();
    (tx, Rx(rx))
}

fn start<R: TestRuntime>(setup: impl FnOnce(&SocketIo) + Send + 'static) -> TestServer {
    R::start(Config::default(), Box::new(setup))
}

/// A server whose `/` sockets are reported on the returned channel.
fn start_reporting<R: TestRuntime>(
    setup: impl FnOnce(&SocketIo) + Send + 'static,
) -> (TestServer, Rx<Socket>) {
    let (tx, rx) = channel();
    let server = start::<R>(move |io| {
        io.on_connection(move |socket| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(socket);
            }
        });
        setup(io);
    });
    (server, rx)
}

/// [`start_reporting`] with `config`.
fn start_reporting_with<R: TestRuntime>(config: Config) -> (TestServer, Rx<Socket>) {
    let (tx, rx) = channel();
    let server = R::start(
        config,
        Box::new(move |io| {
            io.on_connection(move |socket| {
                let tx = tx.clone();
                async move {
                    let _ = tx.send(socket);
                }
            });
        }),
    );
    (server, rx)
}

/// The `{"sid":...}` of a CONNECT reply's wire text.
fn connect_sid(text: &str, nsp_prefix: &str) -> String {
    let json = text
        .strip_prefix(&format!("40{nsp_prefix}"))
        .unwrap_or_else(|| panic!("not a CONNECT reply: {text}"));
    let value: serde_json::Value = serde_json::from_str(json).expect("CONNECT reply JSON");
    assert_eq!(
        value.as_object().map(|o| o.len()),
        Some(1),
        "reply holds only sid: {text}"
    );
    value["sid"].as_str().expect("sid").to_owned()
}

/// Makes the server emit `marker` to `socket`, then checks that it is the
/// next thing `client` receives: everything sent to it before came first.
fn expect_marker_next(server: &TestServer, socket: &Socket, client: &mut TestClient) {
    let s = socket.clone();
    server.call(move || s.emit("marker", &()).expect("marker emit"));
    let nsp = socket.ns();
    let expected = if nsp == "/" {
        "42[\"marker\"]".to_owned()
    } else {
        format!("42{nsp},[\"marker\"]")
    };
    assert_eq!(client.recv_text().expect("marker"), expected);
}

/// The ack id of a server packet like `42/x,12["ev"]`.
fn ack_id_of(received: &crate::testclient::Received) -> u64 {
    received.packet.id.expect("server asked for an ack")
}

/// Lets the server's connection tasks report their finished writes. A
/// client can read a packet a moment before the server's write loop tells
/// the core the write completed; until then the transport counts as busy
/// and a volatile emit is dropped (as in Node while `writable` is false).
/// Nothing on the wire shows that moment, so volatile tests wait briefly.
fn settle() {
    std::thread::sleep(Duration::from_millis(100));
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

// ----- connection, middleware, namespaces -----

/// `on_connection` over WebSocket: the socket's id is the CONNECT reply's sid.
pub fn on_connection_websocket<R: TestRuntime>() {
    let (server, sockets) = start_reporting::<R>(|_| {});
    let mut client = TestClient::open(server.addr, Transport::WebSocket, "").unwrap();
    let open: serde_json::Value = serde_json::from_str(client.open_json()).unwrap();
    assert_eq!(open["upgrades"], serde_json::json!([]));
    assert_eq!(open["pingInterval"], 25000);
    assert_eq!(open["pingTimeout"], 20000);
    assert_eq!(open["maxPayload"], 1_000_000);
    let reply = client.connect_nsp("/", None).unwrap();
    let sid = connect_sid(&reply.text, "");
    let socket = sockets.get();
    assert_eq!(socket.id(), sid);
    assert_eq!(socket.ns(), "/");
    assert!(socket.connected());
    assert_ne!(
        sid,
        client.eio_sid(),
        "socket id differs from the session id"
    );
}

/// `on_connection` and an event round trip over HTTP long-polling.
pub fn on_connection_polling<R: TestRuntime>() {
    let (server, sockets) = start_reporting::<R>(|io| {
        io.on_connection(|socket| async move {
            socket.on("echo", |_, text: String, ack| async move {
                let _ = ack.send(&(text, 1));
            });
            let _ = socket.emit("welcome", &"polling");
        });
    });
    let mut client = TestClient::open(server.addr, Transport::Polling, "").unwrap();
    let open: serde_json::Value = serde_json::from_str(client.open_json()).unwrap();
    assert_eq!(open["upgrades"], serde_json::json!(["websocket"]));
    let reply = client.connect_nsp("/", None).unwrap();
    let sid = connect_sid(&reply.text, "");
    assert_eq!(sockets.get().id(), sid);
    assert_eq!(client.recv_text().unwrap(), r#"42["welcome","polling"]"#);
    client.emit_with_ack("echo", r#"["hi"]"#, 7).unwrap();
    assert_eq!(client.recv_text().unwrap(), r#"437["hi",1]"#);
}

#[derive(Debug, Deserialize, PartialEq)]
struct Auth {
    user: String,
    n: u32,
}

#[derive(Debug, Clone, PartialEq)]
struct User(String);

#[derive(Debug, Clone, PartialEq)]
struct Order(Vec<&'static str>);

/// Middleware sees the auth payload, the query and the namespace; what it
/// stores in the extensions reaches the socket; steps run in order.
pub fn middleware_accepts_with_auth_query_and_extensions<R: TestRuntime>() {
    let (seen_tx, seen) = channel();
    let (server, sockets) = start_reporting::<R>(move |io| {
        io.use_middleware(move |ctx| {
            let seen_tx = seen_tx.clone();
            async move {
                let hs = ctx.handshake();
                let _ = seen_tx.send((
                    ctx.ns().to_owned(),
                    hs.auth::<Auth>(),
                    hs.auth_raw().map(|a| a.as_str().to_owned()),
                    hs.query("token"),
                    hs.query("missing"),
                ));
                let auth: Auth = hs.auth().ok_or_else(|| ConnectError::new("no auth"))?;
                ctx.extensions().insert(User(auth.user));
                ctx.extensions().insert(Order(vec!["first"]));
                Ok(())
            }
        });
        io.use_middleware(|ctx| async move {
            // The second step sees what the first stored.
            let mut order: Order = ctx
                .extensions()
                .get()
                .ok_or_else(|| ConnectError::new("order"))?;
            order.0.push("second");
            ctx.extensions().insert(order);
            Ok(())
        });
    });
    let mut client =
        TestClient::open(server.addr, Transport::WebSocket, "&token=abc%20d%26e").unwrap();
    let reply = client
        .connect_nsp("/", Some(r#"{"user":"ann","n":3}"#))
        .unwrap();
    let sid = connect_sid(&reply.text, "");
    let (nsp, auth, auth_raw, token, missing) = seen.get();
    assert_eq!(nsp, "/");
    assert_eq!(
        auth,
        Some(Auth {
            user: "ann".into(),
            n: 3
        })
    );
    assert_eq!(auth_raw.as_deref(), Some(r#"{"user":"ann","n":3}"#));
    assert_eq!(token.as_deref(), Some("abc d&e"));
    assert_eq!(missing, None);
    let socket = sockets.get();
    assert_eq!(socket.id(), sid);
    assert_eq!(socket.extensions().get::<User>(), Some(User("ann".into())));
    assert_eq!(
        socket.extensions().get::<Order>(),
        Some(Order(vec!["first", "second"]))
    );
    assert_eq!(
        socket.handshake().auth_raw().map(|a| a.as_str()),
        Some(r#"{"user":"ann","n":3}"#)
    );
}

/// A refusal reaches the client as exact CONNECT_ERROR bytes; the
/// connection handler never runs and later steps are skipped.
pub fn middleware_refuses_with_message_and_data<R: TestRuntime>() {
    let (later_tx, later) = channel();
    let (server, sockets) = start_reporting::<R>(move |io| {
        io.use_middleware(|_| async move {
            let refusal = ConnectError::new("not authorized");
            assert_eq!(refusal.message(), "not authorized");
            Err(refusal.with_data(&serde_json::json!({"code": 401, "why": "token"})))
        });
        io.use_middleware(move |_| {
            let later_tx = later_tx.clone();
            async move {
                let _ = later_tx.send(());
                Ok(())
            }
        });
    });
    let mut client = TestClient::open(server.addr, Transport::WebSocket, "").unwrap();
    let reply = client.connect_nsp("/", Some(r#"{"token":"bad"}"#)).unwrap();
    assert_eq!(
        reply.text,
        r#"44{"message":"not authorized","data":{"code":401,"why":"token"}}"#
    );
    sockets.none();
    later.none();
    assert_eq!(server.io.socket_count(), 0);
    // The connection stays usable: asking again gets the same answer.
    let again = client.connect_nsp("/", None).unwrap();
    assert_eq!(
        again.text,
        r#"44{"message":"not authorized","data":{"code":401,"why":"token"}}"#
    );
}

/// A refusal without data in a namespace: `44/admin,{"message":"..."}`.
pub fn middleware_refuses_without_data_in_a_namespace<R: TestRuntime>() {
    let server = start::<R>(|io| {
        let admin = io.of("/admin").unwrap();
        admin.use_middleware(|ctx| async move {
            if ctx.ns() == "/admin" {
                Err(ConnectError::new("admins only \"here\""))
            } else {
                Ok(())
            }
        });
    });
    let mut client = TestClient::open(server.addr, Transport::WebSocket, "").unwrap();
    let reply = client.connect_nsp("/admin", None).unwrap();
    assert_eq!(reply.text, r#"44/admin,{"message":"admins only \"here\""}"#);
    // `/` has no middleware: it still accepts.
    let reply = client.connect_nsp("/", None).unwrap();
    connect_sid(&reply.text, "");
}

/// `of(name)`: a static namespace with its own handlers and wire prefix.
pub fn of_static_namespace<R: TestRuntime>() {
    let (tx, rx) = channel();
    let server = start::<R>(move |io| {
        let admin = io.of("/admin").unwrap();
        assert_eq!(admin.name(), "/admin");
        admin.on_connection(move |socket| {
            let tx = tx.clone();
            async move {
                let _ = tx.send((socket.id().to_owned(), socket.ns().to_owned()));
                socket.on("ping", |socket, n: u32, ack| async move {
                    let _ = socket.emit("pong", &n);
                    let _ = ack.send(&"ack");
                });
            }
        });
        assert!(io.of("no-slash").is_err(), "names start with /");
    });
    let mut client = TestClient::open(server.addr, Transport::WebSocket, "").unwrap();
    let reply = client.connect_nsp("/admin", None).unwrap();
    let sid = connect_sid(&reply.text, "/admin,");
    assert_eq!(rx.get(), (sid, "/admin".to_owned()));
    client.emit_in("/admin", "ping", "[5]", Some(3)).unwrap();
    assert_eq!(client.recv_text().unwrap(), r#"42/admin,["pong",5]"#);
    assert_eq!(client.recv_text().unwrap(), r#"43/admin,3["ack"]"#);
}

/// An unknown namespace gets exactly `44/<nsp>,{"message":"Invalid namespace"}`.
pub fn unknown_namespace_is_refused<R: TestRuntime>() {
    let server = start::<R>(|_| {});
    let mut client = TestClient::open(server.addr, Transport::WebSocket, "").unwrap();
    let reply = client.connect_nsp("/nope", None).unwrap();
    assert_eq!(reply.text, r#"44/nope,{"message":"Invalid namespace"}"#);
    // `/` exists without any handler.
    let reply = client.connect_nsp("/", None).unwrap();
    connect_sid(&reply.text, "");
}

/// `of_dynamic`: the predicate admits `/dyn-1` (which gets the parent's
/// middleware and handlers), refuses `/other`; the parent reaches every child.
pub fn of_dynamic_namespace<R: TestRuntime>() {
    let (tx, rx) = channel();
    let (mw_tx, mw) = channel();
    let (parent_tx, parent) = channel();
    let server = start::<R>(move |io| {
        let dynamic = io.of_dynamic(|name| name.starts_with("/dyn-"));
        dynamic.use_middleware(move |ctx| {
            let mw_tx = mw_tx.clone();
            async move {
                let _ = mw_tx.send(ctx.ns().to_owned());
                Ok(())
            }
        });
        dynamic.on_connection(move |socket| {
            let tx = tx.clone();
            async move {
                let _ = tx.send((socket.id().to_owned(), socket.ns().to_owned()));
            }
        });
        let _ = parent_tx.send(dynamic);
    });
    let dynamic = parent.get();
    let mut client = TestClient::open(server.addr, Transport::WebSocket, "").unwrap();
    let reply = client.connect_nsp("/other", None).unwrap();
    assert_eq!(reply.text, r#"44/other,{"message":"Invalid namespace"}"#);
    let reply = client.connect_nsp("/dyn-1", None).unwrap();
    let sid = connect_sid(&reply.text, "/dyn-1,");
    assert_eq!(mw.get(), "/dyn-1");
    assert_eq!(rx.get(), (sid, "/dyn-1".to_owned()));
    let reply = client.connect_nsp("/dyn-2", None).unwrap();
    connect_sid(&reply.text, "/dyn-2,");
    assert_eq!(mw.get(), "/dyn-2");
    rx.get();
    server.call(move || dynamic.emit("hello", &"all").unwrap());
    let texts = sorted(vec![
        client.recv_text().unwrap(),
        client.recv_text().unwrap(),
    ]);
    assert_eq!(
        texts,
        vec![
            r#"42/dyn-1,["hello","all"]"#.to_owned(),
            r#"42/dyn-2,["hello","all"]"#.to_owned()
        ]
    );
    // The created child is a namespace of its own now.
    let child = server.call({
        let io = server.io.clone();
        move || io.of("/dyn-1").unwrap()
    });
    server.call(move || child.emit("only", &1).unwrap());
    assert_eq!(client.recv_text().unwrap(), r#"42/dyn-1,["only",1]"#);
}

// ----- receiving events -----

#[derive(Debug, Deserialize, PartialEq)]
struct Message {
    a: u32,
    b: String,
    c: Option<Vec<bool>>,
}

/// `on` with a struct argument.
pub fn on_typed_struct<R: TestRuntime>() {
    let (tx, rx) = channel();
    let (server, _sockets) = start_reporting::<R>(move |io| {
        io.on_connection(move |socket| {
            let tx = tx.clone();
            async move {
                socket.on("msg", move |_, msg: Message, ack| {
                    let tx = tx.clone();
                    async move {
                        let _ = tx.send((msg, ack.is_requested()));
                    }
                });
            }
        });
    });
    let mut client = server.client("/");
    client
        .emit("msg", r#"[{"b":"x","a":1,"extra":null}]"#)
        .unwrap();
    assert_eq!(
        rx.get(),
        (
            Message {
                a: 1,
                b: "x".into(),
                c: None
            },
            false
        )
    );
    client
        .emit("msg", r#"[{"a":2,"b":"y","c":[true,false]},"ignored"]"#)
        .unwrap();
    assert_eq!(
        rx.get(),
        (
            Message {
                a: 2,
                b: "y".into(),
                c: Some(vec![true, false])
            },
            false
        )
    );
}

type Several = (u32, String, Vec<i64>, serde_json::Value, Option<bool>);

/// `on` with a tuple of several arguments; a missing trailing one is `None`.
pub fn on_typed_tuple<R: TestRuntime>() {
    let (tx, rx) = channel::<Several>();
    let server = start::<R>(move |io| {
        io.on_connection(move |socket| {
            let tx = tx.clone();
            async move {
                socket.on("multi", move |_, args: Several, _| {
                    let tx = tx.clone();
                    async move {
                        let _ = tx.send(args);
                    }
                });
            }
        });
    });
    let mut client = server.client("/");
    client
        .emit("multi", r#"[1,"two",[3,-4],{"five":5},true]"#)
        .unwrap();
    assert_eq!(
        rx.get(),
        (
            1,
            "two".into(),
            vec![3, -4],
            serde_json::json!({"five": 5}),
            Some(true)
        )
    );
    client.emit("multi", r#"[1,"two",[],null]"#).unwrap();
    assert_eq!(
        rx.get(),
        (1, "two".into(), vec![], serde_json::Value::Null, None)
    );
}

/// `on` with `Bytes` arguments from a binary event.
pub fn on_binary_bytes<R: TestRuntime>() {
    let (tx, rx) = channel::<(String, Bytes, Bytes)>();
    let server = start::<R>(move |io| {
        io.on_connection(move |socket| {
            let tx = tx.clone();
            async move {
                socket.on("file", move |_, args: (String, Bytes, Bytes), ack| {
                    let tx = tx.clone();
                    async move {
                        let _ = tx.send(args);
                        let _ = ack.send(&(Bytes::from_static(b"\x00\xffback"),));
                    }
                });
            }
        });
    });
    let mut client = server.client("/");
    client
        .send_text(
            r#"452-9["file","name.bin",{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]"#,
            &[b"zero", b"\x01\x02\x03"],
        )
        .unwrap();
    assert_eq!(
        rx.get(),
        (
            "name.bin".to_owned(),
            Bytes::from_static(b"\x01\x02\x03"),
            Bytes::from_static(b"zero")
        )
    );
    let ack = client.recv().unwrap();
    assert_eq!(ack.text, r#"461-9[{"_placeholder":true,"num":0}]"#);
    assert_eq!(ack.attachments(), &[Bytes::from_static(b"\x00\xffback")]);
}

/// Arguments that do not decode as the handler's type are dropped; the
/// socket keeps working.
pub fn on_drops_undecodable_args<R: TestRuntime>() {
    let (tx, rx) = channel::<u32>();
    let server = start::<R>(move |io| {
        io.on_connection(move |socket| {
            let tx = tx.clone();
            async move {
                socket.on("num", move |_, n: u32, _| {
                    let tx = tx.clone();
                    async move {
                        let _ = tx.send(n);
                    }
                });
            }
        });
    });
    let mut client = server.client("/");
    client
        .emit_with_ack("num", r#"["not a number"]"#, 1)
        .unwrap();
    rx.none();
    client.emit("num", "[42]").unwrap();
    assert_eq!(rx.get(), 42);
}

/// `on_payload`: the arguments exactly as sent (`Payload::args`, `raw`,
/// `event`, `attachments`, `decode`).
pub fn on_payload_raw_args<R: TestRuntime>() {
    type Seen = (Option<String>, String, String, Vec<Bytes>, (u32, String));
    let (tx, rx) = channel::<Seen>();
    let server = start::<R>(move |io| {
        io.on_connection(move |socket| {
            let tx = tx.clone();
            async move {
                socket.on_payload("raw", move |_, payload: Payload, _| {
                    let tx = tx.clone();
                    async move {
                        let _ = tx.send((
                            payload.event(),
                            payload.args().as_str().to_owned(),
                            payload.raw().as_str().to_owned(),
                            payload.attachments().to_vec(),
                            payload.decode().unwrap_or_default(),
                        ));
                    }
                });
            }
        });
    });
    let mut client = server.client("/");
    client
        .emit("raw", r#"[7,"x",{"z":1,"a":[2.50,"\u00e9"]},null]"#)
        .unwrap();
    assert_eq!(
        rx.get(),
        (
            Some("raw".into()),
            r#"[7,"x",{"z":1,"a":[2.50,"\u00e9"]},null]"#.into(),
            r#"["raw",7,"x",{"z":1,"a":[2.50,"\u00e9"]},null]"#.into(),
            vec![],
            (7, "x".into())
        )
    );
    client.emit("raw", "[]").unwrap();
    let (event, args, raw, attachments, _) = rx.get();
    assert_eq!(
        (event.as_deref(), args.as_str(), raw.as_str()),
        (Some("raw"), "[]", r#"["raw"]"#)
    );
    assert!(attachments.is_empty());
    client
        .send_text(r#"451-["raw",1,{"_placeholder":true,"num":0}]"#, &[b"bin"])
        .unwrap();
    let (_, args, _, attachments, _) = rx.get();
    assert_eq!(args, r#"[1,{"_placeholder":true,"num":0}]"#);
    assert_eq!(attachments, vec![Bytes::from_static(b"bin")]);
}

// ----- acks -----

/// `AckSender::send`: several arguments, none, and nothing without a request.
pub fn ack_send<R: TestRuntime>() {
    let server = start::<R>(|io| {
        io.on_connection(|socket| async move {
            socket.on("ask", |socket, q: String, ack| async move {
                let requested = ack.is_requested();
                ack.send(&("yes", 2, &q)).unwrap();
                // Tell the client whether it asked (after the ack, so order shows it).
                let _ = socket.emit("requested", &requested);
            });
            socket.on("empty", |_, (): (), ack| async move {
                ack.send(&()).unwrap();
            });
        });
    });
    let mut client = server.client("/");
    client.emit_with_ack("ask", r#"["q"]"#, 12).unwrap();
    assert_eq!(client.recv_text().unwrap(), r#"4312["yes",2,"q"]"#);
    assert_eq!(client.recv_text().unwrap(), r#"42["requested",true]"#);
    client.emit("ask", r#"["q"]"#).unwrap();
    assert_eq!(client.recv_text().unwrap(), r#"42["requested",false]"#);
    client.emit_with_ack("empty", "[1,2]", 0).unwrap();
    assert_eq!(client.recv_text().unwrap(), "430[]");
}

/// `AckSender::send_raw`: echoes the arguments unchanged, binary included.
pub fn ack_send_raw_with_binary<R: TestRuntime>() {
    let server = start::<R>(|io| {
        io.on_connection(|socket| async move {
            socket.on_payload("echo", |_, payload, ack| async move {
                ack.send_raw(payload.args(), payload.attachments().to_vec())
                    .unwrap();
            });
        });
    });
    let mut client = server.client("/");
    client
        .emit_with_ack("echo", r#"[{"b":1,"a":0},"x",1.0e2]"#, 5)
        .unwrap();
    assert_eq!(
        client.recv_text().unwrap(),
        r#"435[{"b":1,"a":0},"x",1.0e2]"#
    );
    client
        .emit_binary(
            "echo",
            r#"[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
            &[b"one", b""],
            Some(6),
        )
        .unwrap();
    let ack = client.recv().unwrap();
    assert_eq!(
        ack.text,
        r#"462-6[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#
    );
    assert_eq!(
        ack.attachments(),
        &[Bytes::from_static(b"one"), Bytes::new()]
    );
}

// ----- emitting -----

#[derive(Debug, serde::Serialize)]
struct Point {
    x: i32,
    y: i32,
}

/// `emit`: one argument, several, none, a struct, and binary; `emit_raw`.
pub fn emit_single_multiple_none_binary<R: TestRuntime>() {
    let server = start::<R>(|io| {
        io.on_connection(|socket| async move {
            socket.emit("one", &1).unwrap();
            socket
                .emit("many", &(1, "two", [3, 4], Point { x: 5, y: -6 }))
                .unwrap();
            socket.emit("none", &()).unwrap();
            socket.emit("list", &vec!["a", "b"]).unwrap();
            let raw = RawJson::parse(r#"["raw",{"z":1,"a":[]},0.10]"#.into()).unwrap();
            socket.emit_raw(raw, vec![]).unwrap();
            socket
                .emit(
                    "bin",
                    &(
                        "f",
                        Bytes::from_static(b"\x01\x02"),
                        Bytes::from_static(b"3"),
                    ),
                )
                .unwrap();
        });
    });
    let mut client = server.client("/");
    assert_eq!(client.recv_text().unwrap(), r#"42["one",1]"#);
    assert_eq!(
        client.recv_text().unwrap(),
        r#"42["many",1,"two",[3,4],{"x":5,"y":-6}]"#
    );
    assert_eq!(client.recv_text().unwrap(), r#"42["none"]"#);
    assert_eq!(client.recv_text().unwrap(), r#"42["list",["a","b"]]"#);
    assert_eq!(
        client.recv_text().unwrap(),
        r#"42["raw",{"z":1,"a":[]},0.10]"#
    );
    let bin = client.recv().unwrap();
    assert_eq!(
        bin.text,
        r#"452-["bin","f",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#
    );
    assert_eq!(
        bin.attachments(),
        &[Bytes::from_static(b"\x01\x02"), Bytes::from_static(b"3")]
    );
}

/// `emit_with_ack`: the client's ack is decoded as the requested type;
/// ids count up from 0 per socket.
pub fn emit_with_ack_decodes_client_ack<R: TestRuntime>() {
    let (tx, rx) = channel();
    let server = start::<R>(move |io| {
        io.on_connection(move |socket| {
            let tx = tx.clone();
            async move {
                let first = socket.emit_with_ack::<_, (String, u32)>("q", &"hi");
                let second = socket.emit_with_ack::<_, Bytes>("q2", &());
                let _ = tx.send(format!("{:?}", first.await));
                let _ = tx.send(format!("{:?}", second.await));
            }
        });
    });
    let mut client = server.client("/");
    assert_eq!(client.recv_text().unwrap(), r#"420["q","hi"]"#);
    assert_eq!(client.recv_text().unwrap(), r#"421["q2"]"#);
    client.ack(0, r#"["ok",7,"extra"]"#).unwrap();
    assert_eq!(rx.get(), r#"Ok(("ok", 7))"#);
    client
        .send_text(r#"461-1[{"_placeholder":true,"num":0}]"#, &[b"\x09"])
        .unwrap();
    assert_eq!(rx.get(), "Ok(b\"\\t\")");
}

/// `timeout(d).emit_with_ack`: no ack in time is `AckError::Timeout`; a
/// late ack is ignored and the socket keeps working.
pub fn emit_with_ack_timeout<R: TestRuntime>() {
    let (tx, rx) = channel();
    let server = start::<R>(move |io| {
        io.on_connection(move |socket| {
            let tx = tx.clone();
            async move {
                let result = socket
                    .timeout(Duration::from_millis(200))
                    .emit_with_ack::<_, u32>("q", &1)
                    .await;
                let _ = tx.send(matches!(result, Err(AckError::Timeout)));
                let _ = socket.emit("after", &());
            }
        });
    });
    let mut client = server.client("/");
    assert_eq!(client.recv_text().unwrap(), r#"420["q",1]"#);
    assert!(rx.get(), "the emit timed out");
    assert_eq!(client.recv_text().unwrap(), r#"42["after"]"#);
    client.ack(0, "[5]").unwrap();
    client.emit("still", "[]").unwrap();
    client.expect_silence(QUIET).unwrap();
}

/// `volatile()`: an emit while the transport is idle arrives; one made
/// while earlier packets are still being written may be dropped (as in
/// Node, where a busy transport is not writable), never reordered.
pub fn volatile_emit<R: TestRuntime>() {
    let (server, sockets) = start_reporting::<R>(|io| {
        io.on_connection(|socket| async move {
            socket.on("go", |socket, (): (), _| async move {
                socket.volatile().emit("v", &(1, "a")).unwrap();
            });
            socket.on("go-timeout", |socket, (): (), _| async move {
                socket
                    .volatile()
                    .timeout(Duration::from_secs(1))
                    .emit("w", &())
                    .unwrap();
            });
            socket.on("burst", |socket, (): (), _| async move {
                socket.emit("a", &()).unwrap();
                socket.volatile().emit("b", &()).unwrap();
                socket.emit("c", &()).unwrap();
            });
        });
    });
    let mut client = server.client("/");
    let socket = sockets.get();
    settle();
    client.emit("go", "[]").unwrap();
    assert_eq!(client.recv_text().unwrap(), r#"42["v",1,"a"]"#);
    settle();
    client.emit("go-timeout", "[]").unwrap();
    assert_eq!(client.recv_text().unwrap(), r#"42["w"]"#);
    settle();
    let io = server.io.clone();
    server.call(move || io.volatile().emit("all", &2).unwrap());
    assert_eq!(client.recv_text().unwrap(), r#"42["all",2]"#);
    client.emit("burst", "[]").unwrap();
    assert_eq!(client.recv_text().unwrap(), r#"42["a"]"#);
    let next = client.recv_text().unwrap();
    if next == r#"42["b"]"# {
        assert_eq!(client.recv_text().unwrap(), r#"42["c"]"#);
    } else {
        assert_eq!(next, r#"42["c"]"#);
    }
    expect_marker_next(&server, &socket, &mut client);
}

/// From a socket: `to(room)`, `within(room)`, `except(room)`,
/// `broadcast()`; the sender never gets its own broadcast.
pub fn broadcast_from_socket_excludes_sender<R: TestRuntime>() {
    let (server, sockets) = start_reporting::<R>(|io| {
        io.on_connection(|socket| async move {
            socket.on("join", |socket, room: String, ack| async move {
                socket.join(&room).unwrap();
                let _ = ack.send(&());
            });
            socket.on("to", |socket, room: String, _| async move {
                socket.to(&room).emit("to", &room).unwrap();
            });
            socket.on("within", |socket, room: String, _| async move {
                socket.within(&room).emit("within", &room).unwrap();
            });
            socket.on("except", |socket, room: String, _| async move {
                socket.except(&room).emit("except", &room).unwrap();
            });
            socket.on("all", |socket, (): (), _| async move {
                socket.broadcast().emit("all", &()).unwrap();
            });
            socket.on("two", |socket, (a, b): (String, String), _| async move {
                socket.to(&a).to(&b).emit("two", &()).unwrap();
            });
            socket.on("ask", |socket, room: String, ack| async move {
                let replies = socket
                    .to(&room)
                    .timeout(Duration::from_secs(2))
                    .emit_with_ack::<_, String>("q", &())
                    .await;
                let _ = ack.send(&replies.unwrap_or_default());
            });
        });
    });
    let mut a = server.client("/");
    let sa = sockets.get();
    let mut b = server.client("/");
    let sb = sockets.get();
    let mut c = server.client("/");
    let sc = sockets.get();
    for (client, room) in [(&mut a, "r"), (&mut b, "r"), (&mut c, "s")] {
        client
            .emit_with_ack("join", &format!("[\"{room}\"]"), 1)
            .unwrap();
        assert_eq!(client.recv_text().unwrap(), "431[]");
    }
    a.emit("to", r#"["r"]"#).unwrap();
    assert_eq!(b.recv_text().unwrap(), r#"42["to","r"]"#);
    a.emit("within", r#"["r"]"#).unwrap();
    assert_eq!(b.recv_text().unwrap(), r#"42["within","r"]"#);
    a.emit("except", r#"["r"]"#).unwrap();
    assert_eq!(c.recv_text().unwrap(), r#"42["except","r"]"#);
    a.emit("all", "[]").unwrap();
    assert_eq!(b.recv_text().unwrap(), r#"42["all"]"#);
    assert_eq!(c.recv_text().unwrap(), r#"42["all"]"#);
    // Rooms add up; a socket in both gets it once.
    c.emit("two", r#"["r","s"]"#).unwrap();
    assert_eq!(a.recv_text().unwrap(), r#"42["two"]"#);
    assert_eq!(b.recv_text().unwrap(), r#"42["two"]"#);
    // An ack-collecting broadcast from a socket: only B (in `r`, not the sender) is asked.
    a.emit_with_ack("ask", r#"["r"]"#, 9).unwrap();
    let q = b.recv().unwrap();
    assert_eq!(q.text, format!(r#"42{}["q"]"#, ack_id_of(&q)));
    b.ack(ack_id_of(&q), r#"["from b"]"#).unwrap();
    assert_eq!(a.recv_text().unwrap(), r#"439[["from b"]]"#);
    expect_marker_next(&server, &sa, &mut a);
    expect_marker_next(&server, &sb, &mut b);
    expect_marker_next(&server, &sc, &mut c);
}

/// `io.emit`, `io.to(room).emit`, `io.within`, `io.except`, `io.local`.
pub fn io_emit_and_room_emit<R: TestRuntime>() {
    let (server, sockets) = start_reporting::<R>(|_| {});
    let mut a = server.client("/");
    let sa = sockets.get();
    let mut b = server.client("/");
    let sb = sockets.get();
    {
        let sa = sa.clone();
        server.call(move || sa.join("room").unwrap());
    }
    let io = server.io.clone();
    let b_id = sb.id().to_owned();
    server.call(move || {
        io.emit("everyone", &"hi").unwrap();
        io.to("room").emit("room", &1).unwrap();
        io.within("room").emit("in", &2).unwrap();
        io.except("room").emit("except", &3).unwrap();
        io.local().emit("local", &4).unwrap();
        io.to(&b_id).emit("direct", &5).unwrap();
    });
    assert_eq!(a.recv_text().unwrap(), r#"42["everyone","hi"]"#);
    assert_eq!(a.recv_text().unwrap(), r#"42["room",1]"#);
    assert_eq!(a.recv_text().unwrap(), r#"42["in",2]"#);
    assert_eq!(a.recv_text().unwrap(), r#"42["local",4]"#);
    expect_marker_next(&server, &sa, &mut a);
    assert_eq!(b.recv_text().unwrap(), r#"42["everyone","hi"]"#);
    assert_eq!(b.recv_text().unwrap(), r#"42["except",3]"#);
    assert_eq!(b.recv_text().unwrap(), r#"42["local",4]"#);
    assert_eq!(b.recv_text().unwrap(), r#"42["direct",5]"#);
    expect_marker_next(&server, &sb, &mut b);
}

/// `io.emit_with_ack` collects one ack per socket.
pub fn io_emit_with_ack_collects_every_ack<R: TestRuntime>() {
    let (server, _sockets) = start_reporting::<R>(|_| {});
    let mut a = server.client("/");
    let mut b = server.client("/");
    let io = server.io.clone();
    let (tx, rx) = channel();
    server.spawn(async move {
        let all = io
            .timeout(Duration::from_secs(5))
            .emit_with_ack::<_, String>("q", &"?");
        let none = io.to("empty").emit_with_ack::<_, String>("nobody", &());
        let _ = tx.send((format!("{:?}", none.await), all.await.map(sorted)));
    });
    let qa = a.recv().unwrap();
    let qb = b.recv().unwrap();
    assert_eq!(qa.text, format!(r#"42{}["q","?"]"#, ack_id_of(&qa)));
    assert_eq!(qb.text, format!(r#"42{}["q","?"]"#, ack_id_of(&qb)));
    a.ack(ack_id_of(&qa), r#"["from a"]"#).unwrap();
    b.ack(ack_id_of(&qb), r#"["from b"]"#).unwrap();
    let (none, all) = rx.get();
    assert_eq!(none, "Ok([])");
    assert_eq!(
        all.map_err(|e| e.to_string()),
        Ok(vec!["from a".to_owned(), "from b".to_owned()])
    );
}

/// `io.timeout(d).emit_with_ack`: one silent socket makes it `Timeout`.
pub fn io_emit_with_ack_timeout<R: TestRuntime>() {
    let (server, _sockets) = start_reporting::<R>(|_| {});
    let mut a = server.client("/");
    let mut b = server.client("/");
    let io = server.io.clone();
    let waiting = server.call(move || {
        io.timeout(Duration::from_millis(300))
            .emit_with_ack::<_, u32>("q", &())
    });
    let qa = a.recv().unwrap();
    let _qb = b.recv().unwrap();
    a.ack(ack_id_of(&qa), "[1]").unwrap();
    let result = server.block_on(waiting);
    assert!(
        matches!(result, Err(AckError::Timeout)),
        "expected Timeout, got {result:?}"
    );
}

/// The operators of a namespace other than `/`.
pub fn namespace_operators<R: TestRuntime>() {
    let (tx, sockets) = channel();
    let (ns_tx, ns_rx) = channel();
    let server = start::<R>(move |io| {
        let admin = io.of("/admin").unwrap();
        admin.on_connection(move |socket| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(socket);
            }
        });
        let _ = ns_tx.send(admin);
    });
    let admin = ns_rx.get();
    let mut a = server.client("/admin");
    let sa = sockets.get();
    let mut b = server.client("/admin");
    let sb = sockets.get();
    let mut main = server.client("/");
    {
        let sb = sb.clone();
        server.call(move || sb.join("r").unwrap());
    }
    let ops = admin.clone();
    server.call(move || {
        ops.emit("all", &()).unwrap();
        ops.to("r").emit("r", &()).unwrap();
        ops.within("r").emit("in", &()).unwrap();
        ops.except("r").emit("not-r", &()).unwrap();
        ops.local().emit("l", &()).unwrap();
    });
    for text in ["all", "not-r", "l"] {
        assert_eq!(a.recv_text().unwrap(), format!(r#"42/admin,["{text}"]"#));
    }
    expect_marker_next(&server, &sa, &mut a);
    for text in ["all", "r", "in", "l"] {
        assert_eq!(b.recv_text().unwrap(), format!(r#"42/admin,["{text}"]"#));
    }
    expect_marker_next(&server, &sb, &mut b);
    // Both transports are idle now: a volatile emit reaches both.
    settle();
    let ops = admin.clone();
    server.call(move || ops.volatile().emit("v", &()).unwrap());
    assert_eq!(a.recv_text().unwrap(), r#"42/admin,["v"]"#);
    assert_eq!(b.recv_text().unwrap(), r#"42/admin,["v"]"#);
    main.expect_silence(QUIET).unwrap();
    let acks = admin.clone();
    let waiting = server.call(move || acks.to("r").emit_with_ack::<_, u8>("q", &()));
    let q = b.recv().unwrap();
    assert_eq!(q.text, format!(r#"42/admin,{}["q"]"#, ack_id_of(&q)));
    b.ack_in("/admin", ack_id_of(&q), "[9]").unwrap();
    assert_eq!(server.block_on(waiting).unwrap(), vec![9]);
    let mut ids = sorted(
        fetch(&server, admin.fetch_sockets())
            .iter()
            .map(|s| s.id().to_owned())
            .collect(),
    );
    assert_eq!(ids, sorted(vec![sa.id().to_owned(), sb.id().to_owned()]));
    ids = fetch(&server, admin.to("r").fetch_sockets())
        .iter()
        .map(|s| s.id().to_owned())
        .collect();
    assert_eq!(ids, vec![sb.id().to_owned()]);
}

// ----- rooms, on_any -----

/// `join`, `leave`, `rooms`: a socket is in its own room from the start.
pub fn join_leave_rooms<R: TestRuntime>() {
    let (server, sockets) = start_reporting::<R>(|_| {});
    let mut client = server.client("/");
    let socket = sockets.get();
    let id = socket.id().to_owned();
    assert_eq!(socket.rooms(), vec![id.clone()]);
    let s = socket.clone();
    server.call(move || {
        s.join("a").unwrap();
        s.join("b").unwrap();
        s.join("a").unwrap();
    });
    assert_eq!(
        sorted(socket.rooms()),
        sorted(vec![id.clone(), "a".into(), "b".into()])
    );
    let s = socket.clone();
    server.call(move || {
        s.leave("a").unwrap();
        s.leave("never-joined").unwrap();
    });
    assert_eq!(sorted(socket.rooms()), sorted(vec![id.clone(), "b".into()]));
    let io = server.io.clone();
    server.call(move || {
        io.to("a").emit("a", &()).unwrap();
        io.to("b").emit("b", &()).unwrap();
    });
    assert_eq!(client.recv_text().unwrap(), r#"42["b"]"#);
    expect_marker_next(&server, &socket, &mut client);
}

/// `on_any` sees every event (with or without a handler) before the
/// event's own handler.
pub fn on_any_runs_before_handler<R: TestRuntime>() {
    let (tx, rx) = channel::<String>();
    let server = start::<R>(move |io| {
        io.on_connection(move |socket| {
            let tx = tx.clone();
            async move {
                let any_tx = tx.clone();
                socket.on_any(move |_, payload| {
                    let tx = any_tx.clone();
                    async move {
                        let _ = tx.send(format!("any {}", payload.raw()));
                    }
                });
                socket.on("known", move |_, (): (), _| {
                    let tx = tx.clone();
                    async move {
                        let _ = tx.send("known".into());
                    }
                });
            }
        });
    });
    let mut client = server.client("/");
    client.emit("known", "[1]").unwrap();
    client.emit("unknown", r#"[{"a":1}]"#).unwrap();
    assert_eq!(rx.get(), r#"any ["known",1]"#);
    assert_eq!(rx.get(), "known");
    assert_eq!(rx.get(), r#"any ["unknown",{"a":1}]"#);
    rx.none();
}

// ----- disconnection -----

/// What `on_disconnect` saw: socket id, reason, rooms, `connected()`.
type Disconnected = (String, DisconnectReason, Vec<String>, bool);

/// A server whose sockets report their disconnect reason and rooms.
fn start_with_disconnects<R: TestRuntime>(
    config: Config,
) -> (TestServer, Rx<Socket>, Rx<Disconnected>) {
    let (tx, sockets) = channel();
    let (dtx, disconnects) = channel();
    let server = R::start(
        config,
        Box::new(move |io: &SocketIo| {
            let on_connection = move |socket: Socket| {
                let tx = tx.clone();
                let dtx = dtx.clone();
                async move {
                    socket.join("kept").unwrap();
                    socket.on_disconnect(move |socket, reason| {
                        let dtx = dtx.clone();
                        async move {
                            let _ = dtx.send((
                                socket.id().to_owned(),
                                reason,
                                sorted(socket.rooms()),
                                socket.connected(),
                            ));
                        }
                    });
                    socket.on("leave-me", |socket, (): (), _| async move {
                        socket.disconnect().unwrap();
                    });
                    socket.on("close-me", |socket, (): (), _| async move {
                        socket.disconnect_connection().unwrap();
                    });
                    let _ = tx.send(socket);
                }
            };
            io.on_connection(on_connection.clone());
            io.of("/admin").unwrap().on_connection(on_connection);
        }),
    );
    (server, sockets, disconnects)
}

/// The client leaves the namespace: "client namespace disconnect"; rooms
/// are still readable in the handler; the connection stays.
pub fn disconnect_client_namespace<R: TestRuntime>() {
    let (server, sockets, disconnects) = start_with_disconnects::<R>(Config::default());
    let mut client = server.client("/");
    let socket = sockets.get();
    client.disconnect_nsp("/").unwrap();
    let (id, reason, rooms, connected) = disconnects.get();
    assert_eq!(id, socket.id());
    assert_eq!(reason, DisconnectReason::ClientNamespaceDisconnect);
    assert_eq!(reason.to_string(), "client namespace disconnect");
    assert_eq!(rooms, sorted(vec![id.clone(), "kept".into()]));
    assert!(!connected);
    assert!(!socket.connected());
    let s = socket.clone();
    assert!(
        server.call(move || s.emit("x", &())).is_err(),
        "emit after disconnect fails"
    );
    // The connection stays: the same client joins again, as a new socket.
    let new_sid = client.join("/", None).unwrap();
    assert_ne!(new_sid, id);
    assert_eq!(sockets.get().id(), new_sid);
}

/// `socket.disconnect()`: the client gets `41`, "server namespace
/// disconnect", the connection stays.
pub fn disconnect_server_namespace<R: TestRuntime>() {
    let (server, sockets, disconnects) = start_with_disconnects::<R>(Config::default());
    let mut client = server.client("/");
    let socket = sockets.get();
    client.join("/admin", None).unwrap();
    let admin_socket = sockets.get();
    client.emit_in("/admin", "leave-me", "[]", None).unwrap();
    assert_eq!(client.recv_text().unwrap(), "41/admin,");
    let (id, reason, rooms, _) = disconnects.get();
    assert_eq!(id, admin_socket.id());
    assert_eq!(reason, DisconnectReason::ServerNamespaceDisconnect);
    assert_eq!(rooms, sorted(vec![id.clone(), "kept".into()]));
    // `/` is untouched.
    expect_marker_next(&server, &socket, &mut client);
    client.emit("leave-me", "[]").unwrap();
    assert_eq!(client.recv_text().unwrap(), "41");
    let (_, reason, _, _) = disconnects.get();
    assert_eq!(reason, DisconnectReason::ServerNamespaceDisconnect);
    client.join("/", None).unwrap();
}

/// Dropping the TCP connection: "transport close" for every namespace.
pub fn disconnect_transport_close<R: TestRuntime>() {
    let (server, sockets, disconnects) = start_with_disconnects::<R>(Config::default());
    let mut client = server.client("/");
    client.join("/admin", None).unwrap();
    let ids = sorted(vec![
        sockets.get().id().to_owned(),
        sockets.get().id().to_owned(),
    ]);
    drop(client);
    let (a, ra, _, _) = disconnects.get();
    let (b, rb, _, _) = disconnects.get();
    assert_eq!(sorted(vec![a, b]), ids);
    assert_eq!(
        (ra, rb),
        (
            DisconnectReason::TransportClose,
            DisconnectReason::TransportClose
        )
    );
    assert_eq!(server.io.socket_count(), 0);
}

/// A client that stops reading is disconnected ("transport error") once
/// `max_buffered_packets` of its packets wait unwritten behind what the
/// kernel took; broadcasts go on for the others meanwhile, in order, each
/// sent once the last was read (so a reading client is never over the
/// limit), and the broadcaster never waits for the stalled one.
pub fn stalled_reader_is_dropped_at_the_packet_limit<R: TestRuntime>() {
    let mut config = Config::default();
    config.engine.max_buffered_packets = 8;
    let (server, sockets, disconnects) = start_with_disconnects::<R>(config);
    let mut reader = server.client("/");
    let _ = sockets.get();
    let stalled = server.client("/");
    let stalled_id = sockets.get().id().to_owned();
    // 64 KiB a packet: 40 MiB in all, more than loopback TCP buffers hold.
    let big = "x".repeat(64 * 1024);
    let expected = format!(r#"42["big","{big}"]"#);
    for _ in 0..640 {
        let (io, big) = (server.io.clone(), big.clone());
        server.call(move || io.to("kept").emit("big", &big).unwrap());
        assert!(reader.recv_text().unwrap() == expected, "a big packet");
    }
    let (id, reason, _, _) = disconnects.get();
    assert_eq!((id, reason), (stalled_id, DisconnectReason::TransportError));
    assert_eq!(server.io.socket_count(), 1);
    drop(stalled);
}

/// A client that stops reading under a fan-out of large messages is
/// disconnected ("transport error") once `max_buffered_bytes` of them wait
/// unwritten, long before the packet limit; the reader goes on receiving.
pub fn stalled_reader_is_dropped_at_the_byte_limit<R: TestRuntime>() {
    let mut config = Config::default();
    config.engine.max_buffered_bytes = 2 * 1024 * 1024;
    let (server, sockets, disconnects) = start_with_disconnects::<R>(config);
    let mut reader = server.client("/");
    let _ = sockets.get();
    let stalled = server.client("/");
    let stalled_id = sockets.get().id().to_owned();
    // 64 KiB a packet, 40 MiB in all: far fewer packets than the packet
    // limit (10,000), far more bytes than loopback buffers and the bound.
    let big = "x".repeat(64 * 1024);
    let expected = format!(r#"42["big","{big}"]"#);
    for _ in 0..640 {
        let (io, big) = (server.io.clone(), big.clone());
        server.call(move || io.to("kept").emit("big", &big).unwrap());
        assert!(reader.recv_text().unwrap() == expected, "a big packet");
    }
    let (id, reason, _, _) = disconnects.get();
    assert_eq!((id, reason), (stalled_id, DisconnectReason::TransportError));
    assert_eq!(server.io.socket_count(), 1);
    drop(stalled);
}

/// A client that reads as fast as it can while the server keeps far more
/// in flight than the kernel buffers (so the server's queue for it never
/// empties) is never dropped, though three times `max_buffered_packets`
/// go through: what the driver wrote counts as written even mid-burst.
pub fn a_reader_that_keeps_up_is_never_dropped<R: TestRuntime>() {
    let mut config = Config::default();
    config.engine.max_buffered_packets = 100;
    let (server, sockets, disconnects) = start_with_disconnects::<R>(config);
    let mut reader = server.client("/");
    let _ = sockets.get();
    // 256 KiB a packet, 56 in flight (14 MiB, under the 16 MiB bound); the
    // packet bound leaves room for reports that lag by a poll.
    let big = "y".repeat(256 * 1024);
    let expected = format!(r#"42["big","{big}"]"#);
    let window = 56;
    let total = 300;
    let emit = |n: usize| {
        let (io, big) = (server.io.clone(), big.clone());
        server.call(move || {
            for _ in 0..n {
                io.to("kept").emit("big", &big).unwrap();
            }
        });
    };
    emit(window);
    for _ in window..total {
        assert!(reader.recv_text().unwrap() == expected, "a big packet");
        emit(1);
    }
    for _ in 0..window {
        assert!(reader.recv_text().unwrap() == expected, "a big packet");
    }
    disconnects.none();
    assert_eq!(server.io.socket_count(), 1);
}

/// A connection the server closes gracefully (`disconnect_connection`:
/// queued data, DISCONNECT, `1`, close frame) to a peer that does not read
/// is dropped by `close_timeout`, with what was still queued for it: the
/// peer never gets to the DISCONNECT.
pub fn a_closed_connection_is_gone_by_the_close_timeout<R: TestRuntime>() {
    let mut config = Config::default();
    config.engine.close_timeout = Duration::from_millis(300);
    config.engine.max_buffered_bytes = 256 * 1024 * 1024;
    let (server, sockets, disconnects) = start_with_disconnects::<R>(config);
    let mut stalled = server.client("/");
    let socket = sockets.get();
    // 16 MiB queued: more than loopback buffers take from a peer that does
    // not read, so the close frame stays queued behind data.
    let big = "z".repeat(256 * 1024);
    let s = socket.clone();
    server.call(move || {
        for _ in 0..64 {
            s.emit("big", &big).unwrap();
        }
        s.disconnect_connection().unwrap();
    });
    let (_, reason, _, _) = disconnects.get();
    assert_eq!(reason, DisconnectReason::ServerNamespaceDisconnect);
    std::thread::sleep(Duration::from_millis(1_500));
    // Now reading: the connection ends before the DISCONNECT.
    let mut packets = 0;
    while let Ok(received) = stalled.recv_packet(WAIT) {
        assert_ne!(received.text, "41", "the close was not cut short");
        packets += 1;
    }
    assert!(packets < 64, "read {packets}: nothing was dropped");
}

/// A client that stops answering pings: "ping timeout"; one that answers
/// stays connected across several pings.
pub fn disconnect_ping_timeout<R: TestRuntime>() {
    let mut config = Config::default();
    config.engine.ping_interval = Duration::from_millis(150);
    config.engine.ping_timeout = Duration::from_millis(300);
    let (server, sockets, disconnects) = start_with_disconnects::<R>(config);
    let mut silent = server.client("/");
    let silent_id = sockets.get().id().to_owned();
    silent.set_auto_pong(false);
    let mut alive = server.client("/");
    let alive_socket = sockets.get();
    let open: serde_json::Value = serde_json::from_str(alive.open_json()).unwrap();
    assert_eq!(
        (open["pingInterval"].as_u64(), open["pingTimeout"].as_u64()),
        (Some(150), Some(300))
    );
    // The answering client is read (so its pings answered) on its own thread.
    let alive_thread = std::thread::spawn(move || alive.wait_pings(4, WAIT).map(|()| alive));
    let (id, reason, _, _) = disconnects.get();
    assert_eq!(id, silent_id);
    assert_eq!(reason, DisconnectReason::PingTimeout);
    assert_eq!(reason.to_string(), "ping timeout");
    assert!(matches!(
        silent.recv_until_closed(WAIT),
        Ok(ref texts) if texts.is_empty()
    ));
    assert!(silent.pings_seen() >= 1);
    // The answering client outlives several heartbeats.
    let mut alive = alive_thread.join().unwrap().unwrap();
    assert!(alive_socket.connected());
    expect_marker_next(&server, &alive_socket, &mut alive);
    alive.wait_pings(6, WAIT).unwrap();
    assert!(
        disconnects.0.try_recv().is_err(),
        "the answering client stayed"
    );
}

/// `disconnect_connection`: `41` for every namespace of the connection,
/// "server namespace disconnect" for each, then the connection closes.
pub fn disconnect_connection_closes_all_namespaces<R: TestRuntime>() {
    let (server, sockets, disconnects) = start_with_disconnects::<R>(Config::default());
    let mut client = server.client("/");
    client.join("/admin", None).unwrap();
    let ids = sorted(vec![
        sockets.get().id().to_owned(),
        sockets.get().id().to_owned(),
    ]);
    let mut other = server.client("/");
    let other_socket = sockets.get();
    client.emit("close-me", "[]").unwrap();
    let texts = client.recv_until_closed(WAIT).unwrap();
    assert_eq!(sorted(texts), vec!["41".to_owned(), "41/admin,".to_owned()]);
    let (a, ra, _, _) = disconnects.get();
    let (b, rb, _, _) = disconnects.get();
    assert_eq!(sorted(vec![a, b]), ids);
    assert_eq!(
        (ra, rb),
        (
            DisconnectReason::ServerNamespaceDisconnect,
            DisconnectReason::ServerNamespaceDisconnect
        )
    );
    disconnects.none();
    expect_marker_next(&server, &other_socket, &mut other);
}

// ----- server-wide operations -----

/// Runs a `fetch_sockets` future on the server's runtime; without an
/// adapter it resolves at once with this node's sockets.
fn fetch(
    server: &TestServer,
    future: impl Future<Output = Result<Vec<RemoteSocket>, ClusterError>> + Send + 'static,
) -> Vec<RemoteSocket> {
    server.block_on(future).expect("fetch_sockets")
}

/// `fetch_sockets` on io and on operators.
pub fn fetch_sockets<R: TestRuntime>() {
    let (server, sockets) = start_reporting::<R>(|_| {});
    let _a = server.client("/");
    let sa = sockets.get();
    let _b = server.client("/");
    let sb = sockets.get();
    let io = server.io.clone();
    assert!(fetch(&server, io.fetch_sockets()).len() == 2);
    let all = sorted(
        fetch(&server, io.fetch_sockets())
            .iter()
            .map(|s| s.id().to_owned())
            .collect(),
    );
    assert_eq!(all, sorted(vec![sa.id().to_owned(), sb.id().to_owned()]));
    let s = sa.clone();
    server.call(move || s.join("r").unwrap());
    let in_r: Vec<String> = fetch(&server, io.to("r").fetch_sockets())
        .iter()
        .map(|s| s.id().to_owned())
        .collect();
    assert_eq!(in_r, vec![sa.id().to_owned()]);
    let not_r: Vec<String> = fetch(&server, io.except("r").fetch_sockets())
        .iter()
        .map(|s| s.id().to_owned())
        .collect();
    assert_eq!(not_r, vec![sb.id().to_owned()]);
    // A fetched socket is a full handle.
    let fetched = fetch(&server, io.to("r").fetch_sockets()).remove(0);
    assert_eq!(fetched.ns(), "/");
    assert_eq!(
        sorted(fetched.rooms().to_vec()),
        sorted(vec![sa.id().to_owned(), "r".to_owned()])
    );
    assert!(fetched.local().expect("a socket of this node").connected());
    assert!(fetch(&server, io.to("none").fetch_sockets()).is_empty());
}

/// `sockets_join` / `sockets_leave` on io and on operators.
pub fn sockets_join_leave<R: TestRuntime>() {
    let (server, sockets) = start_reporting::<R>(|_| {});
    let mut a = server.client("/");
    let sa = sockets.get();
    let mut b = server.client("/");
    let sb = sockets.get();
    let io = server.io.clone();
    {
        let io = io.clone();
        let sa = sa.clone();
        server.call(move || {
            io.sockets_join("all");
            sa.join("r").unwrap();
            io.to("r").sockets_join("r2");
        });
    }
    assert_eq!(fetch(&server, io.to("all").fetch_sockets()).len(), 2);
    assert_eq!(
        sorted(sb.rooms()),
        sorted(vec![sb.id().to_owned(), "all".into()])
    );
    assert_eq!(
        sorted(sa.rooms()),
        sorted(vec![
            sa.id().to_owned(),
            "all".into(),
            "r".into(),
            "r2".into()
        ])
    );
    {
        let io = io.clone();
        server.call(move || {
            io.to("r2").emit("r2", &()).unwrap();
            io.except("r").sockets_leave("all");
            io.to("all").emit("all", &()).unwrap();
            io.sockets_leave("r2");
            io.to("r2").emit("r2-after", &()).unwrap();
        });
    }
    assert_eq!(a.recv_text().unwrap(), r#"42["r2"]"#);
    assert_eq!(a.recv_text().unwrap(), r#"42["all"]"#);
    expect_marker_next(&server, &sa, &mut a);
    expect_marker_next(&server, &sb, &mut b);
    assert_eq!(sorted(sb.rooms()), vec![sb.id().to_owned()]);
}

/// `disconnect_sockets(false)` keeps connections, `(true)` closes them; on
/// io and on operators.
pub fn disconnect_sockets<R: TestRuntime>() {
    let (server, sockets, disconnects) = start_with_disconnects::<R>(Config::default());
    let mut a = server.client("/");
    let sa = sockets.get();
    let mut b = server.client("/");
    let sb = sockets.get();
    let mut c = server.client("/");
    let sc = sockets.get();
    let io = server.io.clone();
    {
        let (sa, sb) = (sa.clone(), sb.clone());
        server.call(move || {
            sa.join("r").unwrap();
            sb.join("s").unwrap();
        });
    }
    // Operator, keep connections: only `r`.
    {
        let io = io.clone();
        server.call(move || io.to("r").disconnect_sockets(false));
    }
    assert_eq!(a.recv_text().unwrap(), "41");
    let (id, reason, _, _) = disconnects.get();
    assert_eq!(
        (id.as_str(), reason),
        (sa.id(), DisconnectReason::ServerNamespaceDisconnect)
    );
    let new_a = a.join("/", None).unwrap();
    let sa2 = sockets.get();
    assert_eq!(sa2.id(), new_a);
    // Operator, close: only `s`.
    {
        let io = io.clone();
        server.call(move || io.to("s").disconnect_sockets(true));
    }
    assert_eq!(b.recv_until_closed(WAIT).unwrap(), vec!["41".to_owned()]);
    let (id, reason, _, _) = disconnects.get();
    assert_eq!(
        (id.as_str(), reason),
        (sb.id(), DisconnectReason::ServerNamespaceDisconnect)
    );
    expect_marker_next(&server, &sc, &mut c);
    // io, keep connections: everyone left.
    {
        let io = io.clone();
        server.call(move || io.disconnect_sockets(false));
    }
    assert_eq!(a.recv_text().unwrap(), "41");
    assert_eq!(c.recv_text().unwrap(), "41");
    let got = sorted(vec![disconnects.get().0, disconnects.get().0]);
    assert_eq!(got, sorted(vec![sa2.id().to_owned(), sc.id().to_owned()]));
    assert_eq!(io.socket_count(), 0);
    a.join("/", None).unwrap();
    sockets.get();
    // io, close.
    server.call(move || io.disconnect_sockets(true));
    assert_eq!(a.recv_until_closed(WAIT).unwrap(), vec!["41".to_owned()]);
}

#[derive(Debug, Clone, PartialEq)]
struct Counter(u32);

/// Extensions: written by middleware, read and updated by handlers,
/// shared by every clone of the socket.
pub fn extensions_shared_by_middleware_and_handlers<R: TestRuntime>() {
    let (tx, rx) = channel();
    let server = start::<R>(move |io| {
        io.use_middleware(|ctx| async move {
            assert!(ctx.extensions().insert(Counter(1)).is_none());
            Ok(())
        });
        io.on_connection(move |socket| {
            let tx = tx.clone();
            async move {
                let previous = socket.extensions().insert(Counter(10));
                let _ = tx.send(format!("{previous:?}"));
                socket.on("bump", move |socket, (): (), ack| {
                    let tx = tx.clone();
                    async move {
                        let ext = socket.extensions();
                        let Counter(n) = ext.get::<Counter>().unwrap_or(Counter(0));
                        ext.insert(Counter(n + 1));
                        let _ = ack.send(&(n + 1));
                        if n + 1 == 12 {
                            let removed = ext.remove::<Counter>();
                            let _ = tx.send(format!("{removed:?} {}", ext.contains::<Counter>()));
                        }
                    }
                });
            }
        });
    });
    let mut client = server.client("/");
    assert_eq!(rx.get(), "Some(Counter(1))");
    client.emit_with_ack("bump", "[]", 1).unwrap();
    assert_eq!(client.recv_text().unwrap(), "431[11]");
    client.emit_with_ack("bump", "[]", 2).unwrap();
    assert_eq!(client.recv_text().unwrap(), "432[12]");
    assert_eq!(rx.get(), "Some(Counter(12)) false");
    client.emit_with_ack("bump", "[]", 3).unwrap();
    assert_eq!(client.recv_text().unwrap(), "433[1]");
}

/// `handshake()`: address, url, headers, issued time, transport.
pub fn handshake_fields<R: TestRuntime>() {
    let (server, sockets) = start_reporting::<R>(|_| {});
    let before = SystemTime::now();
    let mut client = TestClient::open(server.addr, Transport::WebSocket, "&x=1&y=a%2Fb").unwrap();
    client.join("/", None).unwrap();
    let after = SystemTime::now();
    let hs = sockets.get().handshake().clone();
    assert_eq!(hs.address(), client.local_addr());
    assert_eq!(
        hs.address().map(|a| a.ip().to_string()).as_deref(),
        Some("127.0.0.1")
    );
    assert_eq!(
        hs.url(),
        "/socket.io/?EIO=4&transport=websocket&x=1&y=a%2Fb"
    );
    assert_eq!(hs.query("y").as_deref(), Some("a/b"));
    assert_eq!(hs.query("EIO").as_deref(), Some("4"));
    let host = server.addr.to_string();
    assert_eq!(hs.header("HOST"), Some(host.as_str()));
    assert_eq!(hs.header("sec-websocket-version"), Some("13"));
    assert!(hs
        .headers()
        .iter()
        .any(|h| h.name == "upgrade" && h.value == "websocket"));
    assert!(hs
        .headers()
        .iter()
        .all(|h| h.name == h.name.to_ascii_lowercase()));
    // Millisecond slack: issued is derived from the session's age.
    let slack = Duration::from_millis(50);
    assert!(
        hs.issued() + slack >= before && hs.issued() <= after + slack,
        "issued in range"
    );
    let millis = hs.issued_millis();
    let before_ms = before
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    assert!(millis + 50 >= before_ms);
    assert_eq!(hs.transport(), EioTransport::WebSocket);
    assert!(hs.auth_raw().is_none());

    // Over polling: the handshake request's url and transport.
    let mut polling = TestClient::open(server.addr, Transport::Polling, "&p=1").unwrap();
    polling.join("/", None).unwrap();
    let hs = sockets.get().handshake().clone();
    assert_eq!(hs.url(), "/socket.io/?EIO=4&transport=polling&p=1");
    assert_eq!(hs.transport(), EioTransport::Polling);
    assert_eq!(
        hs.address().map(|a| a.ip().to_string()).as_deref(),
        Some("127.0.0.1")
    );
}

/// `socket_count`: every socket of every namespace.
pub fn socket_count<R: TestRuntime>() {
    let server = start::<R>(|io| {
        io.of("/admin").unwrap();
    });
    let io = server.io.clone();
    assert_eq!(io.socket_count(), 0);
    let mut a = server.client("/");
    a.join("/admin", None).unwrap();
    assert_eq!(io.socket_count(), 2);
    let mut b = server.client("/");
    assert_eq!(io.socket_count(), 3);
    b.disconnect_nsp("/").unwrap();
    // The DISCONNECT is handled before a later packet on the same connection.
    let rejoined = b.connect_nsp("/nope", None).unwrap();
    assert_eq!(rejoined.text, r#"44/nope,{"message":"Invalid namespace"}"#);
    assert_eq!(io.socket_count(), 2);
    drop(a);
    let deadline = std::time::Instant::now() + WAIT;
    while io.socket_count() != 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(io.socket_count(), 0);
}

/// `shutdown`: every socket disconnects with "server shutting down", every
/// connection closes, and new sessions are refused.
pub fn shutdown_disconnects_everyone<R: TestRuntime>() {
    let (server, sockets, disconnects) = start_with_disconnects::<R>(Config::default());
    let mut a = server.client("/");
    a.join("/admin", None).unwrap();
    let mut b = TestClient::open(server.addr, Transport::Polling, "").unwrap();
    b.join("/", None).unwrap();
    let ids = sorted((0..3).map(|_| sockets.get().id().to_owned()).collect());
    let io = server.io.clone();
    server.block_on(async move { io.shutdown().await });
    let mut reasons = Vec::new();
    let mut gone = Vec::new();
    for _ in 0..3 {
        let (id, reason, _, _) = disconnects.get();
        gone.push(id);
        reasons.push(reason);
    }
    assert_eq!(sorted(gone), ids);
    assert!(
        reasons
            .iter()
            .all(|r| *r == DisconnectReason::ServerShutdown),
        "{reasons:?}"
    );
    assert_eq!(reasons[0].to_string(), "server shutting down");
    // Like Node's `io.close()`: no DISCONNECT packets, the transport closes.
    assert_eq!(a.recv_until_closed(WAIT).unwrap(), Vec::<String>::new());
    assert_eq!(b.recv_until_closed(WAIT).unwrap(), Vec::<String>::new());
    assert_eq!(server.io.socket_count(), 0);
}

/// After `shutdown`, no new session opens (its doc: "stops taking new
/// sessions"; Node's `io.close()` closes the listener).
pub fn shutdown_refuses_new_sessions<R: TestRuntime>() {
    let server = start::<R>(|_| {});
    let _before = server.client("/");
    let io = server.io.clone();
    server.block_on(async move { io.shutdown().await });
    let ws = TestClient::open(server.addr, Transport::WebSocket, "");
    assert!(ws.is_err(), "a WebSocket session opened after shutdown");
    let polling = TestClient::open(server.addr, Transport::Polling, "");
    assert!(polling.is_err(), "a polling session opened after shutdown");
}

// ----- concurrency -----

/// A handler that waits (here: for a gate the test opens) delays nobody
/// else: client B's round trip completes while client A's handler waits.
pub fn slow_handler_does_not_delay_other_client<R: TestRuntime>() {
    let (gate_tx, gate_rx) = async_channel::bounded::<()>(1);
    let (started_tx, started) = channel();
    let server = start::<R>(move |io| {
        io.on_connection(move |socket| {
            let gate_rx = gate_rx.clone();
            let started_tx = started_tx.clone();
            async move {
                socket.on("slow", move |_, (): (), ack| {
                    let gate_rx = gate_rx.clone();
                    let started_tx = started_tx.clone();
                    async move {
                        let _ = started_tx.send(());
                        // Also sleeps, so a runtime timer runs inside a handler.
                        R::sleep(Duration::from_millis(50)).await;
                        let _ = gate_rx.recv().await;
                        let _ = ack.send(&"slow done");
                    }
                });
                socket.on("fast", |_, (): (), ack| async move {
                    let _ = ack.send(&"fast done");
                });
            }
        });
    });
    let mut a = server.client("/");
    let mut b = server.client("/");
    a.emit_with_ack("slow", "[]", 1).unwrap();
    started.get();
    b.emit_with_ack("fast", "[]", 2).unwrap();
    assert_eq!(b.recv_text().unwrap(), r#"432["fast done"]"#);
    // A's handler is still waiting: nothing for A yet.
    a.expect_silence(Duration::from_millis(100)).unwrap();
    gate_tx.try_send(()).unwrap();
    assert_eq!(a.recv_text().unwrap(), r#"431["slow done"]"#);
}

/// Within one socket too: a waiting handler does not hold back the next
/// event's handler (Node runs handlers as they come).
pub fn slow_handler_does_not_delay_next_event<R: TestRuntime>() {
    let (gate_tx, gate_rx) = async_channel::bounded::<()>(1);
    let server = start::<R>(move |io| {
        io.on_connection(move |socket| {
            let gate_rx = gate_rx.clone();
            async move {
                socket.on("slow", move |_, (): (), ack| {
                    let gate_rx = gate_rx.clone();
                    async move {
                        let _ = gate_rx.recv().await;
                        let _ = ack.send(&"slow");
                    }
                });
                socket.on("fast", |_, (): (), ack| async move {
                    let _ = ack.send(&"fast");
                });
            }
        });
    });
    let mut a = server.client("/");
    a.emit_with_ack("slow", "[]", 1).unwrap();
    a.emit_with_ack("fast", "[]", 2).unwrap();
    assert_eq!(a.recv_text().unwrap(), r#"432["fast"]"#);
    gate_tx.try_send(()).unwrap();
    assert_eq!(a.recv_text().unwrap(), r#"431["slow"]"#);
}

/// Emits and rooms called from a thread outside the runtime (a std thread
/// of the application).
pub fn emits_from_a_plain_thread<R: TestRuntime>() {
    let (server, sockets) = start_reporting::<R>(|_| {});
    let mut client = server.client("/");
    let socket = sockets.get();
    let io = server.io.clone();
    let s = socket.clone();
    let result = std::thread::spawn(move || {
        io.emit("from-thread", &1).unwrap();
        s.join("t").unwrap();
        io.to("t").emit("room", &2).unwrap();
        s.emit("direct", &3).unwrap();
        s.leave("t").unwrap();
        io.to("t").emit("nobody", &4).unwrap();
    })
    .join();
    assert!(result.is_ok(), "API calls from a plain thread panicked");
    assert_eq!(client.recv_text().unwrap(), r#"42["from-thread",1]"#);
    assert_eq!(client.recv_text().unwrap(), r#"42["room",2]"#);
    assert_eq!(client.recv_text().unwrap(), r#"42["direct",3]"#);
    expect_marker_next(&server, &socket, &mut client);
}

/// `socket.disconnect()` called from a thread outside the runtime.
pub fn disconnect_from_a_plain_thread<R: TestRuntime>() {
    let (server, sockets, disconnects) = start_with_disconnects::<R>(Config::default());
    let mut client = server.client("/");
    let socket = sockets.get();
    let result = std::thread::spawn(move || socket.disconnect().unwrap()).join();
    assert!(
        result.is_ok(),
        "socket.disconnect() from a plain thread panicked"
    );
    assert_eq!(client.recv_text().unwrap(), "41");
    assert_eq!(
        disconnects.get().1,
        DisconnectReason::ServerNamespaceDisconnect
    );
}

// ----- a standalone server's other paths -----

/// Sends `requests` (raw HTTP/1.1, pipelined) on one connection and returns
/// everything the server writes until it closes the connection.
fn http_exchange(addr: SocketAddr, requests: &str) -> String {
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(WAIT)).expect("read timeout");
    stream
        .write_all(requests.as_bytes())
        .expect("write requests");
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .expect("the server closes the connection");
    String::from_utf8(answer).expect("a UTF-8 answer")
}

/// `set_fallback`: other paths than the endpoint's get the fallback's
/// answer, with keep-alive as for the endpoint; without a fallback, 404.
/// The endpoint stays the server's.
pub fn fallback_answers_other_paths<R: TestRuntime>() {
    let plain = start::<R>(|_| {});
    assert_eq!(
        http_exchange(
            plain.addr,
            "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        ),
        "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Connection: close\r\nContent-Length: 9\r\n\r\nNot Found"
    );

    let (seen_tx, seen) = channel();
    let server = start::<R>(move |io| {
        io.set_fallback(move |request| {
            let _ = seen_tx.send(request.target.clone());
            match (request.path(), request.query_param("name")) {
                ("/hello", Some(name)) => Response::new(200)
                    .with_body("text/plain; charset=utf-8", format!("hello {name}")),
                _ => Response::new(404).with_body("text/plain; charset=utf-8", "no such page"),
            }
        });
    });
    // The first request keeps the connection open for the second.
    let answer = http_exchange(
        server.addr,
        "GET /hello?name=Ada%20L HTTP/1.1\r\nHost: x\r\n\r\n\
         GET /elsewhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(
        answer,
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Length: 11\r\n\r\nhello Ada L\
         HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Connection: close\r\nContent-Length: 12\r\n\r\nno such page"
    );
    assert_eq!(seen.get(), "/hello?name=Ada%20L");
    assert_eq!(seen.get(), "/elsewhere");
    // A Socket.IO session opens as before, and the fallback never sees it.
    let _client = server.client("/");
    seen.none();
}

// ----- HTTP timeouts of a standalone server -----

/// A config whose HTTP timeouts are all `ms`, short enough for a test.
fn http_timeouts(ms: u64) -> Config {
    let mut config = Config::default();
    let t = Duration::from_millis(ms);
    config.engine.headers_timeout = t;
    config.engine.body_timeout = t;
    config.engine.keep_alive_timeout = t;
    config.engine.close_timeout = t;
    config
}

/// One keep-alive connection, driven by hand.
struct RawHttp {
    stream: std::net::TcpStream,
    buf: bytes::BytesMut,
}

impl RawHttp {
    fn connect(addr: SocketAddr) -> RawHttp {
        let stream = std::net::TcpStream::connect(addr).expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        RawHttp {
            stream,
            buf: bytes::BytesMut::new(),
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Sends a keep-alive request and reads its response.
    fn request(
        &mut self,
        method: &str,
        target: &str,
        body: &str,
    ) -> crate::testclient::HttpResponse {
        let head = format!(
            "{method} {target} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        self.send(head.as_bytes());
        let response = crate::testclient::read_response(&mut self.stream, &mut self.buf, WAIT)
            .unwrap_or_else(|e| panic!("{method} {target}: no response: {e}"));
        // One response per request: nothing of the next is buffered.
        self.buf.clear();
        response
    }

    /// Everything the server writes until it closes the connection, and
    /// when it closed it (panics if it stays open for [`WAIT`]).
    fn until_closed(&mut self) -> (String, std::time::Instant) {
        self.stream.set_read_timeout(Some(WAIT)).expect("timeout");
        let mut answer = Vec::new();
        if let Err(e) = self.stream.read_to_end(&mut answer) {
            panic!(
                "the server kept the connection open ({e}); it sent {:?}",
                String::from_utf8_lossy(&answer)
            );
        }
        let at = std::time::Instant::now();
        (String::from_utf8_lossy(&answer).into_owned(), at)
    }
}

/// Asserts `elapsed` is the timeout `ms` (late by less than a second).
fn assert_took(what: &str, elapsed: Duration, ms: u64) {
    let ms = Duration::from_millis(ms);
    assert!(
        elapsed >= ms - Duration::from_millis(20) && elapsed < ms + Duration::from_secs(1),
        "{what} after {elapsed:?}, expected {ms:?}"
    );
}

/// The open packet's sid in a polling handshake body (`0{"sid":...}`).
fn polling_sid(body: &[u8]) -> String {
    let text = std::str::from_utf8(body).expect("UTF-8 payload");
    let json = text.strip_prefix('0').expect("an open packet");
    let value: serde_json::Value = serde_json::from_str(json).expect("open JSON");
    value["sid"].as_str().expect("sid").to_owned()
}

/// A request head that does not complete gets 408 and a closed connection
/// at `headers_timeout`, counted from the accept; bytes trickling in do
/// not restart it. A connection that sends nothing gets the same (not
/// the tighter keep-alive close).
pub fn slow_request_head_gets_408<R: TestRuntime>() {
    let mut config = Config::default();
    config.engine.headers_timeout = Duration::from_millis(400);
    config.engine.keep_alive_timeout = Duration::from_millis(100);
    let server = R::start(config, Box::new(|_| {}));

    let mut slow = RawHttp::connect(server.addr);
    let started = std::time::Instant::now();
    slow.send(b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\n");
    // Stops before the deadline: nothing is sent to a closed connection.
    for byte in b"X-Slow: abc" {
        std::thread::sleep(Duration::from_millis(25));
        slow.send(&[*byte]);
    }
    let (answer, closed) = slow.until_closed();
    assert!(
        answer.starts_with("HTTP/1.1 408 Request Timeout\r\n")
            && answer.contains("\r\nConnection: close\r\n"),
        "{answer}"
    );
    assert_took("the slow head's 408", closed - started, 400);

    let mut silent = RawHttp::connect(server.addr);
    let started = std::time::Instant::now();
    let (answer, closed) = silent.until_closed();
    assert!(
        answer.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
        "{answer}"
    );
    assert_took("a silent connection's 408", closed - started, 400);
}

/// An idle keep-alive connection is closed, without a word, at
/// `keep_alive_timeout` after its last response.
pub fn idle_keep_alive_connection_is_closed<R: TestRuntime>() {
    let mut config = Config::default();
    config.engine.keep_alive_timeout = Duration::from_millis(300);
    let server = R::start(config, Box::new(|_| {}));
    let mut client = RawHttp::connect(server.addr);
    assert_eq!(client.request("GET", "/elsewhere", "").status, 404);
    let answered = std::time::Instant::now();
    let (answer, closed) = client.until_closed();
    assert_eq!(answer, "");
    assert_took("the idle close", closed - answered, 300);
}

/// A body that does not arrive in whole gets 408 at `body_timeout`, counted
/// from the end of its head.
pub fn slow_request_body_gets_408<R: TestRuntime>() {
    let mut config = Config::default();
    config.engine.body_timeout = Duration::from_millis(300);
    let server = R::start(config, Box::new(|_| {}));
    let mut client = RawHttp::connect(server.addr);
    let started = std::time::Instant::now();
    client.send(b"POST /socket.io/?EIO=4&transport=polling&sid=x HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab");
    let (answer, closed) = client.until_closed();
    assert!(
        answer.starts_with("HTTP/1.1 408 Request Timeout\r\n")
            && answer.contains("\r\nConnection: close\r\n"),
        "{answer}"
    );
    assert_took("the slow body's 408", closed - started, 300);
}

/// A POST over `max_http_buffer_size` on the standalone server: its body
/// is refused unread, answered 413, and its session fails as in engine.io
/// 6.6 ("payload too large"): the socket hears "transport error" and the
/// session's next request gets 400.
pub fn oversize_post_closes_its_session<R: TestRuntime>() {
    let mut config = Config::default();
    config.engine.max_http_buffer_size = 100;
    let (server, sockets) = start_reporting_with::<R>(config);
    let mut client = RawHttp::connect(server.addr);
    let base = "/socket.io/?EIO=4&transport=polling";
    let open = client.request("GET", base, "");
    let target = format!("{base}&sid={}", polling_sid(&open.body));
    assert_eq!(&client.request("POST", &target, "40").body[..], b"ok");
    let socket = sockets.get();
    let (tx, disconnected) = channel();
    socket.on_disconnect(move |_, reason| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(reason);
        }
    });
    let big = format!("4{}", "x".repeat(200));
    let head = format!(
        "POST {target} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        big.len()
    );
    client.send(head.as_bytes());
    let (answer, _) = client.until_closed();
    assert!(answer.starts_with("HTTP/1.1 413 "), "{answer}");
    assert_eq!(disconnected.get(), DisconnectReason::TransportError);
    let mut other = RawHttp::connect(server.addr);
    assert_eq!(other.request("GET", &target, "").status, 400);
}

/// A polling client on one keep-alive connection, every HTTP timeout
/// 300 ms: a GET held by the server longer than that is answered (no
/// request deadline while the server holds it), and requests spaced
/// closer than the idle timeout keep the connection for longer than any
/// of the timeouts.
pub fn keep_alive_client_within_the_timeouts_is_undisturbed<R: TestRuntime>() {
    let mut config = http_timeouts(300);
    config.engine.ping_interval = Duration::from_millis(900);
    config.engine.ping_timeout = Duration::from_millis(3000);
    let (server, sockets) = start_reporting_with::<R>(config);
    let mut client = RawHttp::connect(server.addr);
    let base = "/socket.io/?EIO=4&transport=polling";
    let open = client.request("GET", base, "");
    let target = format!("{base}&sid={}", polling_sid(&open.body));
    assert_eq!(&client.request("POST", &target, "40").body[..], b"ok");
    assert!(client
        .request("GET", &target, "")
        .body
        .starts_with(b"40{\"sid\":"));
    let _socket = sockets.get();
    let held = std::time::Instant::now();
    assert_eq!(
        &client.request("GET", &target, "").body[..],
        b"2",
        "the ping"
    );
    assert!(
        held.elapsed() > Duration::from_millis(500),
        "the GET was held"
    );
    assert_eq!(&client.request("POST", &target, "3").body[..], b"ok");
    for _ in 0..8 {
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(client.request("GET", "/elsewhere", "").status, 404);
    }
    assert_eq!(server.io.socket_count(), 1);
}

/// A response the client does not read does not hold the connection past
/// `close_timeout`: a polling GET answered with 24 MiB of queued packets
/// to a client that reads nothing is dropped, its unsent rest with it.
pub fn response_to_a_client_that_does_not_read_is_dropped<R: TestRuntime>() {
    let mut config = http_timeouts(300);
    config.engine.max_buffered_bytes = 128 * 1024 * 1024;
    let (server, sockets) = start_reporting_with::<R>(config);
    let mut client = RawHttp::connect(server.addr);
    let base = "/socket.io/?EIO=4&transport=polling";
    let open = client.request("GET", base, "");
    let target = format!("{base}&sid={}", polling_sid(&open.body));
    assert_eq!(&client.request("POST", &target, "40").body[..], b"ok");
    assert!(client
        .request("GET", &target, "")
        .body
        .starts_with(b"40{\"sid\":"));
    let _socket = sockets.get();
    // More than loopback's socket buffers hold.
    let big = "x".repeat(1024 * 1024);
    for _ in 0..24 {
        let (io, big) = (server.io.clone(), big.clone());
        server.call(move || io.emit("big", &big).unwrap());
    }
    // A connection of its own: the first one has been idle too long.
    let mut stalled = RawHttp::connect(server.addr);
    stalled.send(format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
    std::thread::sleep(Duration::from_millis(1000));
    let (answer, _) = stalled.until_closed();
    assert!(
        answer.starts_with("HTTP/1.1 200 OK\r\n"),
        "{}",
        &answer[..answer.len().min(200)]
    );
    assert!(
        answer.len() < 24 * 1024 * 1024,
        "{} bytes: the whole response",
        answer.len()
    );
}
