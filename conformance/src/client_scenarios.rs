//! The client direction: the sio client, on every runtime, against the
//! reference Node server (npm `socket.io` 4.8.x, `node-server/server.js`).
//!
//! Per runtime, [`run`] starts one Node server on a free port and runs the
//! scenarios against it (the reconnection scenarios stop it and start it
//! again on the same port). The `conformance` runner shows them as
//! `client-*` rows; `client-scenarios` runs them alone.
use std::future::Future;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_channel::{Receiver, Sender};
use bytes::Bytes;
use serde_json::{json, Value};
use sio_driver::{
    AckError, ClientConfig, ClientDisconnectReason as DisconnectReason, ClientSocket,
    ClientTransport, ConnectErrorInfo, ManagerEvent, UrlError,
};

mod compression;
mod engine_io;
mod listeners;
mod msgpack;
mod parity;
mod reconnect;
mod recovery;
mod tls;

/// How long one scenario may run.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a wait for one expected event may take.
const WAIT: Duration = Duration::from_secs(5);

type SocketFn = fn(&str, ClientConfig) -> Result<ClientSocket, UrlError>;
type EngineFn = fn(&str, ClientConfig) -> Result<sio_driver::engine_io::EngineClient, UrlError>;
/// A scenario's result: `Err` says what went wrong.
pub type Outcome = Result<(), String>;
type ScenarioFuture<'a> = Pin<Box<dyn Future<Output = Outcome> + 'a>>;

struct Runtime {
    name: &'static str,
    socket: SocketFn,
    engine: EngineFn,
    block_on: fn(ScenarioFuture<'_>) -> Outcome,
}

fn tokio_block_on(f: ScenarioFuture<'_>) -> Outcome {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(f)
}

const CLIENT_RUNTIMES: &[Runtime] = &[
    Runtime {
        name: "tokio",
        socket: sio_tokio::client::socket,
        engine: sio_tokio::engine_io::client,
        block_on: tokio_block_on,
    },
    Runtime {
        name: "smol",
        socket: sio_smol::client::socket,
        engine: sio_smol::engine_io::client,
        block_on: |f| smol::block_on(f),
    },
    Runtime {
        name: "async-std",
        socket: sio_async_std::client::socket,
        engine: sio_async_std::engine_io::client,
        block_on: |f| async_std::task::block_on(f),
    },
];

/// The Node server, which the reconnection scenario restarts.
struct NodeServer {
    dir: PathBuf,
    port: u16,
    /// Certificate and key files: serve over https.
    tls: Option<(PathBuf, PathBuf)>,
    /// Speak npm socket.io-msgpack-parser instead of JSON.
    msgpack: bool,
    child: Option<Child>,
    /// The server script, from `dir`.
    script: &'static str,
}

impl NodeServer {
    fn start(&mut self) -> Result<(), String> {
        let mut command = Command::new("node");
        command.arg(self.script).arg(self.port.to_string());
        if let Some((cert, key)) = &self.tls {
            command.arg(cert).arg(key);
        }
        if self.msgpack {
            command.env("SIO_PARSER", "msgpack");
        }
        let mut child = command
            .current_dir(&self.dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot run node: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let ready = lines
            .next()
            .and_then(Result::ok)
            .is_some_and(|l| l.starts_with("LISTENING"));
        // Keep draining its output so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        self.child = Some(child);
        if ready {
            Ok(())
        } else {
            self.stop();
            Err("the node server did not start".into())
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for NodeServer {
    fn drop(&mut self) {
        self.stop();
    }
}

struct Ctx {
    /// The runtime's name (`scenario-server`'s first argument).
    runtime: &'static str,
    url: String,
    socket: SocketFn,
    engine: EngineFn,
    server: Arc<Mutex<NodeServer>>,
}

impl Ctx {
    fn socket(&self, path: &str, config: ClientConfig) -> Result<ClientSocket, String> {
        (self.socket)(&format!("{}{path}", self.url), config).map_err(|e| e.to_string())
    }

    /// A socket connected to `path`, with default options.
    async fn connected(&self, path: &str) -> Result<ClientSocket, String> {
        self.connected_with(path, quick_reconnect()).await
    }

    /// A socket connected to `path` with `config`.
    async fn connected_with(
        &self,
        path: &str,
        config: ClientConfig,
    ) -> Result<ClientSocket, String> {
        let socket = self.socket(path, config)?;
        let (tx, rx) = async_channel::unbounded();
        socket.on_connect(move |s| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(s.id()).await;
            }
        });
        socket.connect();
        let id = recv(&rx, "connect").await?;
        if id.is_none_or(|id| id.is_empty()) {
            return Err("connected without an id".into());
        }
        Ok(socket)
    }
}

/// Quick reconnection, and a manager of its own (as the rows were written
/// before managers were shared; `client-parity` checks the sharing).
fn quick_reconnect() -> ClientConfig {
    let mut config = ClientConfig::default();
    config.force_new = true;
    config.engine.reconnection_delay = Duration::from_millis(200);
    config.engine.reconnection_delay_max = Duration::from_millis(1000);
    config
}

async fn recv<T>(rx: &Receiver<T>, what: &str) -> Result<T, String> {
    let got = async {
        rx.recv()
            .await
            .map_err(|_| format!("{what}: channel closed"))
    };
    let timeout = async {
        smol::Timer::after(WAIT).await;
        Err(format!("no {what} within {WAIT:?}"))
    };
    futures_lite::future::or(got, timeout).await
}

fn check<T: PartialEq + std::fmt::Debug>(what: &str, got: T, want: T) -> Outcome {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: got {got:?}, want {want:?}"))
    }
}

/// Forwards every `event` (arguments decoded as `T`) to a channel.
fn collect<T>(socket: &ClientSocket, event: &str) -> Receiver<T>
where
    T: serde::de::DeserializeOwned + Send + 'static,
{
    let (tx, rx): (Sender<T>, Receiver<T>) = async_channel::unbounded();
    socket.on(event, move |_s, args: T, _ack| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(args).await;
        }
    });
    rx
}

// ----- scenarios -----

type Scenario = for<'a> fn(&'a Ctx) -> ScenarioFuture<'a>;

const SCENARIOS: &[(&str, Scenario)] = &[
    ("client-connect", |c| Box::pin(connect(c))),
    ("client-namespaces", |c| Box::pin(namespaces(c))),
    ("client-auth-accepted", |c| Box::pin(auth_accepted(c))),
    ("client-auth-refused", |c| Box::pin(auth_refused(c))),
    ("client-events-json", |c| Box::pin(events_json(c))),
    ("client-events-binary", |c| Box::pin(events_binary(c))),
    ("client-acks-to-server", |c| Box::pin(acks_to_server(c))),
    ("client-acks-from-server", |c| Box::pin(acks_from_server(c))),
    ("client-rooms", |c| Box::pin(rooms(c))),
    ("client-server-disconnect", |c| {
        Box::pin(reconnect::server_disconnect(c))
    }),
    ("client-connect-retry", |c| {
        Box::pin(reconnect::connect_retry(c))
    }),
    ("client-reconnect-buffer", |c| {
        Box::pin(reconnect::reconnect_buffer(c, ClientTransport::WebSocket))
    }),
    ("client-reconnect-polling", |c| {
        Box::pin(reconnect::reconnect_buffer(c, ClientTransport::Polling))
    }),
    ("client-polling-only", |c| Box::pin(polling_only(c))),
    ("client-websocket-only", |c| Box::pin(websocket_only(c))),
    ("client-upgrade", |c| Box::pin(upgrade(c))),
    ("client-retries", |c| Box::pin(retries(c))),
    ("client-emit-before-connect", |c| {
        Box::pin(emit_before_connect(c))
    }),
    ("client-leave-namespace", |c| Box::pin(leave_namespace(c))),
    ("client-tls", |c| Box::pin(tls::tls(c))),
    ("client-eio-polling", |c| {
        Box::pin(engine_io::echo(c, &[ClientTransport::Polling]))
    }),
    ("client-eio-websocket", |c| {
        Box::pin(engine_io::echo(c, &[ClientTransport::WebSocket]))
    }),
    ("client-eio-upgrade", |c| {
        Box::pin(engine_io::echo(
            c,
            &[ClientTransport::Polling, ClientTransport::WebSocket],
        ))
    }),
    ("client-eio-close-reasons", |c| {
        Box::pin(engine_io::close_reasons(c))
    }),
    ("client-compression", |c| {
        Box::pin(compression::compression(c))
    }),
    ("client-recovery", |c| Box::pin(recovery::recovery(c))),
    ("client-msgpack", |c| Box::pin(msgpack::msgpack(c))),
    ("client-listeners", |c| Box::pin(listeners::listeners(c))),
    ("client-parity", |c| Box::pin(parity::parity(c))),
    ("client-cookie-routing", |c| {
        Box::pin(parity::cookie_routing(c))
    }),
];

fn with_transports(transports: &[ClientTransport]) -> ClientConfig {
    let mut config = quick_reconnect();
    config.engine.transports = transports.to_vec();
    config
}

/// What the Node server saw of the connection: the transport it opened
/// with, the current one, and the one it upgraded to (`null` for none).
async fn transport_info(socket: &ClientSocket) -> Result<Value, String> {
    socket
        .timeout(WAIT)
        .emit_with_ack("transport-info", &())
        .await
        .map_err(|e| format!("transport-info: {e}"))
}

/// Events both ways (JSON, binary) and an ack, on whatever carries them.
async fn round_trips(socket: &ClientSocket) -> Outcome {
    let replies = collect::<(String, Bytes)>(socket, "echo-reply");
    let blob = Bytes::from(vec![0xa5u8; 50_000]);
    socket
        .emit("echo", &("hi", blob.clone()))
        .map_err(|e| e.to_string())?;
    check(
        "echo",
        recv(&replies, "echo-reply").await?,
        ("hi".to_owned(), blob),
    )?;
    let got: (i64, String) = socket
        .timeout(WAIT)
        .emit_with_ack("ack-me", &(5, "x"))
        .await
        .map_err(|e| e.to_string())?;
    check("ack", got, (5, "x".to_owned()))
}

async fn polling_only(ctx: &Ctx) -> Outcome {
    single_transport(ctx, ClientTransport::Polling, "polling").await
}

async fn websocket_only(ctx: &Ctx) -> Outcome {
    single_transport(ctx, ClientTransport::WebSocket, "websocket").await
}

/// Only `transport` is allowed: the client and the Node server both say it
/// carried the whole connection (`name` is the server's word for it).
async fn single_transport(ctx: &Ctx, transport: ClientTransport, name: &str) -> Outcome {
    let socket = ctx
        .connected_with("/", with_transports(&[transport]))
        .await?;
    round_trips(&socket).await?;
    check(
        "client transport",
        socket.manager().transport(),
        Some(transport),
    )?;
    let info = transport_info(&socket).await?;
    socket.disconnect();
    check(
        "server transport",
        info,
        json!({"initial": name, "current": name, "upgraded": null}),
    )
}

/// The default transports: polling first, then the upgrade.
async fn upgrade(ctx: &Ctx) -> Outcome {
    let socket = ctx.socket("/", quick_reconnect())?;
    let upgraded = collect_upgrade(&socket);
    let connected = collect_connect(&socket);
    socket.connect();
    recv(&connected, "connect").await?;
    recv(&upgraded, "upgrade").await?;
    check(
        "client transport",
        socket.manager().transport(),
        Some(ClientTransport::WebSocket),
    )?;
    round_trips(&socket).await?;
    let info = transport_info(&socket).await?;
    socket.disconnect();
    check(
        "server transport",
        info,
        json!({"initial": "polling", "current": "websocket", "upgraded": "websocket"}),
    )
}

/// `retries` and `ackTimeout`: the server ignores the first try of each
/// emit; each is sent again, acknowledged once, and the next one waits.
async fn retries(ctx: &Ctx) -> Outcome {
    let mut config = quick_reconnect();
    config.engine.retries = 3;
    config.engine.ack_timeout = Some(Duration::from_millis(300));
    let socket = ctx.connected_with("/", config).await?;
    let acks: Vec<_> = (1..=3)
        .map(|n| socket.emit_with_ack::<_, i64>("retry-me", &n))
        .collect();
    let mut got = Vec::new();
    for ack in acks {
        got.push(ack.await.map_err(|e| format!("retry-me: {e}"))?);
    }
    check("acks", got, vec![1, 2, 3])?;
    let seen: Vec<i64> = socket
        .emit_with_ack("retry-report", &())
        .await
        .map_err(|e| format!("retry-report: {e}"))?;
    socket.disconnect();
    check("server saw", seen, vec![1, 1, 2, 2, 3, 3])
}

/// Emits made before `connect()` wait for the connection, in order.
async fn emit_before_connect(ctx: &Ctx) -> Outcome {
    let socket = ctx.socket("/", quick_reconnect())?;
    let replies = collect::<i64>(&socket, "echo-reply");
    for n in 1..=3 {
        socket.emit("echo", &n).map_err(|e| e.to_string())?;
    }
    let acked = socket.emit_with_ack::<_, i64>("ack-me", &4);
    let connected = collect_connect(&socket);
    socket.connect();
    recv(&connected, "connect").await?;
    let mut got = Vec::new();
    for _ in 1..=3 {
        got.push(recv(&replies, "echo-reply").await?);
    }
    check("echo order", got, vec![1, 2, 3])?;
    let ack = acked.await.map_err(|e| format!("ack-me: {e}"))?;
    socket.disconnect();
    check("ack", ack, 4)
}

/// One namespace leaves (its socket dropped): the server hears a client
/// namespace disconnect; the other namespace keeps the same connection.
async fn leave_namespace(ctx: &Ctx) -> Outcome {
    let main = ctx.connected("/").await?;
    let engine = main.manager().engine_id();
    let admin = main.of("/admin", None);
    let connected = collect_connect(&admin);
    admin.connect();
    recv(&connected, "connect to /admin").await?;
    let admin_id = admin.id().ok_or("/admin has no id")?;
    drop(connected);
    drop(admin);
    // The drop leaves from a task: ask until the server has seen it.
    let mut reason = Value::Null;
    for _ in 0..50 {
        reason = main
            .timeout(WAIT)
            .emit_with_ack("admin-left", &admin_id)
            .await
            .map_err(|e| format!("admin-left: {e}"))?;
        if !reason.is_null() {
            break;
        }
        smol::Timer::after(Duration::from_millis(20)).await;
    }
    check("admin left", reason, json!("client namespace disconnect"))?;
    check("same connection", main.manager().engine_id(), engine)?;
    check("main still connected", main.connected(), true)?;
    round_trips(&main).await?;
    main.disconnect();
    Ok(())
}

async fn connect(ctx: &Ctx) -> Outcome {
    let socket = ctx.connected("/").await?;
    check("connected", socket.connected(), true)?;
    let (tx, rx) = async_channel::unbounded();
    socket.on_disconnect(move |_s, reason| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(reason).await;
        }
    });
    socket.disconnect();
    let reason = recv(&rx, "disconnect").await?;
    check("reason", reason, DisconnectReason::IoClientDisconnect)?;
    check("connected after disconnect", socket.connected(), false)?;
    check("id after disconnect", socket.id(), None)
}

async fn namespaces(ctx: &Ctx) -> Outcome {
    let admin = ctx.connected("/admin").await?;
    let (name, nsp): (String, String) = admin
        .timeout(WAIT)
        .emit_with_ack("whoami", &())
        .await
        .map_err(|e| e.to_string())?;
    check("whoami", (name.as_str(), nsp.as_str()), ("admin", "/admin"))?;
    // The main namespace on the same connection.
    let main = admin.of("/", None);
    let (tx, rx) = async_channel::unbounded();
    main.on_connect(move |_s| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(()).await;
        }
    });
    main.connect();
    recv(&rx, "connect to /").await?;
    check(
        "both connected",
        (main.connected(), admin.connected()),
        (true, true),
    )?;
    check(
        "one manager",
        main.manager().engine_id(),
        admin.manager().engine_id(),
    )?;
    check("different sockets", main.id() != admin.id(), true)?;
    main.disconnect();
    admin.disconnect();
    Ok(())
}

async fn auth_accepted(ctx: &Ctx) -> Outcome {
    let auth = json!({"token": "good", "name": "ferris"});
    let config = quick_reconnect()
        .with_auth(&auth)
        .map_err(|e| e.to_string())?;
    let socket = ctx.socket("/", config)?;
    let connected = collect_connect(&socket);
    socket.connect();
    recv(&connected, "connect").await?;
    let echoed: Value = socket
        .timeout(WAIT)
        .emit_with_ack("get-auth", &())
        .await
        .map_err(|e| e.to_string())?;
    socket.disconnect();
    check("auth seen by the server", echoed, auth)
}

fn collect_connect(socket: &ClientSocket) -> Receiver<()> {
    let (tx, rx) = async_channel::unbounded();
    socket.on_connect(move |_s| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(()).await;
        }
    });
    rx
}

/// A unit for each upgrade of the socket's connection to WebSocket.
fn collect_upgrade(socket: &ClientSocket) -> Receiver<()> {
    let (tx, rx) = async_channel::unbounded();
    socket.manager().on_event(move |_m, event| {
        let tx = tx.clone();
        async move {
            if event == ManagerEvent::Upgrade {
                let _ = tx.send(()).await;
            }
        }
    });
    rx
}

/// Each connect_error of the socket.
fn collect_connect_errors(socket: &ClientSocket) -> Receiver<ConnectErrorInfo> {
    let (tx, rx) = async_channel::unbounded();
    socket.on_connect_error(move |_s, err: ConnectErrorInfo| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(err).await;
        }
    });
    rx
}

async fn auth_refused(ctx: &Ctx) -> Outcome {
    let config = quick_reconnect()
        .with_auth(&json!({"token": "bad"}))
        .map_err(|e| e.to_string())?;
    let socket = ctx.socket("/", config)?;
    let rx = collect_connect_errors(&socket);
    socket.connect();
    let err = recv(&rx, "connect_error").await?;
    check("message", err.message.as_str(), "not authorized")?;
    check(
        "data",
        err.data::<Value>(),
        Some(json!({"code": 42, "reason": "bad token"})),
    )?;
    check("connected", socket.connected(), false)?;
    check("active", socket.active(), false)?;
    socket.manager().close();
    Ok(())
}

async fn events_json(ctx: &Ctx) -> Outcome {
    let socket = ctx.connected("/").await?;
    let one = collect::<Value>(&socket, "echo-reply");
    let value = json!({"a": [1, 2.5, "x"], "b": null, "c": {"d": true}, "u": "é☃"});
    socket.emit("echo", &value).map_err(|e| e.to_string())?;
    check("object", recv(&one, "echo-reply").await?, value)?;
    socket.disconnect();
    // Several arguments, as a tuple.
    let socket = ctx.connected("/").await?;
    let many = collect::<(i64, String, bool, Vec<u8>)>(&socket, "echo-reply");
    socket
        .emit("echo", &(7, "two", true, vec![1u8, 2]))
        .map_err(|e| e.to_string())?;
    let got = recv(&many, "echo-reply").await?;
    socket.disconnect();
    check("tuple", got, (7, "two".to_owned(), true, vec![1, 2]))
}

async fn events_binary(ctx: &Ctx) -> Outcome {
    let socket = ctx.connected("/").await?;
    let replies = collect::<(Bytes, Value, Bytes)>(&socket, "echo-reply");
    let a = Bytes::from_static(&[0, 1, 2, 0xff, 0xfe]);
    let b = Bytes::from(vec![7u8; 100_000]);
    socket
        .emit("echo", &(a.clone(), json!({"k": "v"}), b.clone()))
        .map_err(|e| e.to_string())?;
    let got = recv(&replies, "echo-reply").await?;
    socket.disconnect();
    check("binary", got, (a, json!({"k": "v"}), b))
}

async fn acks_to_server(ctx: &Ctx) -> Outcome {
    let socket = ctx.connected("/").await?;
    let got: (i64, String) = socket
        .timeout(WAIT)
        .emit_with_ack("ack-me", &(1, "a"))
        .await
        .map_err(|e| e.to_string())?;
    check("json ack", got, (1, "a".to_owned()))?;
    let blob = Bytes::from_static(b"\x00bin\xff");
    let got: Bytes = socket
        .emit_with_ack("ack-me", &blob)
        .await
        .map_err(|e| e.to_string())?;
    check("binary ack", got, blob)?;
    let started = Instant::now();
    let never = socket
        .timeout(Duration::from_millis(300))
        .emit_with_ack::<_, Value>("no-ack", &())
        .await;
    let waited = started.elapsed();
    socket.disconnect();
    if !matches!(never, Err(AckError::Timeout)) {
        return Err(format!("no-ack: got {never:?}, want a timeout"));
    }
    if waited < Duration::from_millis(250) || waited > Duration::from_secs(3) {
        return Err(format!("no-ack timed out after {waited:?}, not ~300ms"));
    }
    Ok(())
}

async fn acks_from_server(ctx: &Ctx) -> Outcome {
    let socket = ctx.connected("/").await?;
    socket.on("question", |_s, n: i64, ack| async move {
        let _ = ack.send(&(n * 2));
    });
    // Asked for an ack, never answered: the server's timeout fires.
    socket.on("silent", |_s, (): (), ack| async move {
        check("ack requested", ack.is_requested(), true).ok();
        drop(ack);
    });
    let answers = collect::<Value>(&socket, "answer");
    socket.emit("ask-me", &21).map_err(|e| e.to_string())?;
    check("answer", recv(&answers, "answer").await?, json!(42))?;
    socket.emit("ask-silent", &()).map_err(|e| e.to_string())?;
    let got = recv(&answers, "answer").await?;
    socket.disconnect();
    check("server-side timeout", got, json!("timeout"))
}

async fn rooms(ctx: &Ctx) -> Outcome {
    let member = ctx.connected("/").await?;
    let outsider = ctx.connected("/").await?;
    let member_got = collect::<String>(&member, "room-msg");
    let outsider_got = collect::<String>(&outsider, "room-msg");
    let joined: bool = member
        .timeout(WAIT)
        .emit_with_ack("join", &"r1")
        .await
        .map_err(|e| e.to_string())?;
    check("joined", joined, true)?;
    outsider
        .emit("shout", &("r1", "hello room"))
        .map_err(|e| e.to_string())?;
    check(
        "member",
        recv(&member_got, "room-msg").await?,
        "hello room".to_owned(),
    )?;
    // A broadcast to a room the outsider is in reaches it: the control.
    let _: bool = outsider
        .timeout(WAIT)
        .emit_with_ack("join", &"r2")
        .await
        .map_err(|e| e.to_string())?;
    member
        .emit("shout", &("r2", "second"))
        .map_err(|e| e.to_string())?;
    check(
        "outsider, r2",
        recv(&outsider_got, "room-msg").await?,
        "second".to_owned(),
    )?;
    check("member heard r2", member_got.try_recv().ok(), None)?;
    member.disconnect();
    outsider.disconnect();
    Ok(())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

/// The scenarios' names (`client-*`).
pub fn names() -> impl Iterator<Item = &'static str> {
    SCENARIOS.iter().map(|(name, _)| *name)
}

/// One scenario's run on one runtime.
#[derive(Debug)]
pub struct ClientOutcome {
    /// The scenario (`client-*`).
    pub scenario: &'static str,
    /// The runtime.
    pub runtime: &'static str,
    /// What happened.
    pub outcome: Outcome,
    /// How long it took.
    pub secs: f64,
}

/// Runs the scenarios named in `wanted` (all when it names none of them)
/// on `runtime` (one of [`crate::RUNTIMES`]), with the Node server from
/// `dir` (`conformance/`, its npm packages installed). `progress` hears
/// each result as it comes.
pub fn run(
    dir: &Path,
    runtime: &str,
    wanted: &[String],
    mut progress: impl FnMut(&ClientOutcome),
) -> Result<Vec<ClientOutcome>, String> {
    let runtime = CLIENT_RUNTIMES
        .iter()
        .find(|r| r.name == runtime)
        .ok_or_else(|| format!("unknown runtime {runtime:?}"))?;
    let filtered = wanted.iter().any(|w| names().any(|n| n == w));
    let server = Arc::new(Mutex::new(NodeServer {
        dir: dir.to_owned(),
        port: free_port()?,
        tls: None,
        msgpack: false,
        child: None,
        script: "node-server/server.js",
    }));
    let ctx = Ctx {
        runtime: runtime.name,
        url: format!("http://127.0.0.1:{}", lock(&server).port),
        socket: runtime.socket,
        engine: runtime.engine,
        server: server.clone(),
    };
    let mut outcomes = Vec::new();
    for &(name, scenario) in SCENARIOS {
        if filtered && !wanted.iter().any(|w| w == name) {
            continue;
        }
        let started = Instant::now();
        let running = lock(&server).child.is_some();
        let started_server = if running {
            Ok(())
        } else {
            lock(&server).start()
        };
        let outcome = started_server.and_then(|()| {
            (runtime.block_on)(Box::pin(async {
                let run = scenario(&ctx);
                let limit = async {
                    smol::Timer::after(SCENARIO_TIMEOUT).await;
                    Err(format!("timed out after {SCENARIO_TIMEOUT:?}"))
                };
                futures_lite::future::or(run, limit).await
            }))
        });
        let row = ClientOutcome {
            scenario: name,
            runtime: runtime.name,
            outcome,
            secs: started.elapsed().as_secs_f64(),
        };
        progress(&row);
        outcomes.push(row);
    }
    lock(&server).stop();
    Ok(outcomes)
}
