//! `cluster-server <runtime> <port> <redis-url> <node-name>`: one sio node of
//! the mixed cluster (conformance/cluster/README.md says what it does; the
//! Node side is conformance/cluster/node-server.js). Joins the cluster
//! through sio-redis, prints `LISTENING <port>`, serves until killed (or
//! until its stdin closes). A line `shutdown` on stdin shuts it down as
//! `io.close()` does (`SocketIo::shutdown`: clients told, the cluster
//! left), then it prints `SHUT DOWN` and exits.
use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sio_driver::{Config, SocketIo};
use sio_redis::{RedisAdapter, RedisStreamsAdapter};

/// The Node servers' `requestsTimeout`.
const REQUESTS_TIMEOUT: Duration = Duration::from_millis(3000);

struct Args {
    runtime: String,
    port: u16,
    redis_url: String,
    node: Arc<str>,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args = match args.as_slice() {
        [runtime, port, redis_url, node] => match port.parse::<u16>() {
            Ok(port) => Args {
                runtime: runtime.clone(),
                port,
                redis_url: redis_url.clone(),
                node: Arc::from(node.as_str()),
            },
            Err(e) => {
                eprintln!("cluster-server: port {port:?}: {e}");
                return ExitCode::from(2);
            }
        },
        _ => {
            eprintln!("usage: cluster-server <runtime> <port> <redis-url> <node-name>");
            return ExitCode::from(2);
        }
    };
    let shutdown = shutdown_on_stdin();
    let listener = match TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], args.port)))
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
    {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("cluster-server: cannot listen on port {}: {e}", args.port);
            return ExitCode::FAILURE;
        }
    };
    let served = match args.runtime.as_str() {
        "tokio" => serve_tokio(&args, listener, shutdown),
        "smol" => serve_smol(&args, listener, shutdown),
        "async-std" => serve_async_std(&args, listener, shutdown),
        other => {
            eprintln!("unknown runtime {other:?}; known: tokio, smol, async-std");
            return ExitCode::from(2);
        }
    };
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cluster-server: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Reads stdin: a `shutdown` line is handed on, the end of stdin exits
/// (a server whose runner crashed leaves nothing behind).
fn shutdown_on_stdin() -> async_channel::Receiver<()> {
    let (tx, rx) = async_channel::bounded(1);
    std::thread::spawn(move || {
        let mut line = String::new();
        while matches!(std::io::stdin().read_line(&mut line), Ok(n) if n > 0) {
            if line.trim() == "shutdown" {
                let _ = tx.try_send(());
            }
            line.clear();
        }
        std::process::exit(0);
    });
    rx
}

/// Serves `io` until a shutdown is asked for, then shuts it down.
async fn serve_until_shutdown(
    io: SocketIo,
    serve: impl std::future::Future<Output = std::io::Result<()>>,
    shutdown: async_channel::Receiver<()>,
) -> std::io::Result<()> {
    let asked = async {
        let _ = shutdown.recv().await;
        Ok(())
    };
    futures_lite::future::or(serve, asked).await?;
    io.shutdown().await;
    announce_line("SHUT DOWN")?;
    std::process::exit(0);
}

fn announce_line(line: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()
}

fn announce(port: u16) -> std::io::Result<()> {
    announce_line(&format!("LISTENING {port}"))
}

/// `io` joined to the cluster: through the pub/sub adapter, or through the
/// streams adapter when `CLUSTER_ADAPTER=streams` (as node-server.js).
/// `redis-url` is one Redis URL, or `cluster:URL,URL,...` for a Redis
/// Cluster (either adapter, or the sharded pub/sub one with
/// `CLUSTER_ADAPTER=sharded`); `REDIS_CA` (a PEM file) is the CA a
/// `rediss://` server's certificate must chain to.
async fn join(io: SocketIo, args: &Args) -> std::io::Result<SocketIo> {
    if std::env::var("CLUSTER_ADAPTER").as_deref() == Ok("streams") {
        let mut builder = match args.redis_url.strip_prefix("cluster:") {
            Some(nodes) => RedisStreamsAdapter::cluster(nodes.split(',')),
            None => RedisStreamsAdapter::builder(args.redis_url.as_str()),
        };
        if let Some(ca) = std::env::var_os("REDIS_CA") {
            builder = builder.tls_ca(std::fs::read(ca)?);
        }
        let adapter = builder
            .requests_timeout(REQUESTS_TIMEOUT)
            .heartbeat(Duration::from_millis(1000), heartbeat_timeout())
            .connect()
            .await
            .map_err(std::io::Error::other)?;
        return Ok(io.with_stream_adapter(adapter));
    }
    let sharded = std::env::var("CLUSTER_ADAPTER").as_deref() == Ok("sharded");
    let mut builder = match args.redis_url.strip_prefix("cluster:") {
        // CLUSTER_ADAPTER=sharded: sharded pub/sub, the default mode.
        Some(nodes) if sharded => RedisAdapter::sharded(nodes.split(',')),
        Some(nodes) => RedisAdapter::cluster(nodes.split(',')),
        None => RedisAdapter::builder(args.redis_url.as_str()),
    };
    if let Some(ca) = std::env::var_os("REDIS_CA") {
        builder = builder.tls_ca(std::fs::read(ca)?);
    }
    let adapter = builder
        .requests_timeout(REQUESTS_TIMEOUT)
        .connect()
        .await
        .map_err(std::io::Error::other)?;
    Ok(io.with_adapter(adapter))
}

/// The streams adapter's heartbeat timeout: 5 s, or `HEARTBEAT_TIMEOUT_MS`
/// (cluster/close-run.js makes it long, so only ADAPTER_CLOSE drops a node
/// in time).
fn heartbeat_timeout() -> Duration {
    let ms = std::env::var("HEARTBEAT_TIMEOUT_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    Duration::from_millis(ms)
}

fn serve_tokio(
    args: &Args,
    listener: TcpListener,
    shutdown: async_channel::Receiver<()>,
) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let io = join(sio_tokio::new(config()), args).await?;
        app(&io, args.node.clone());
        let listener = tokio::net::TcpListener::from_std(listener)?;
        announce(args.port)?;
        serve_until_shutdown(io.clone(), sio_tokio::serve(listener, io), shutdown).await
    })
}

fn serve_smol(
    args: &Args,
    listener: TcpListener,
    shutdown: async_channel::Receiver<()>,
) -> std::io::Result<()> {
    smol::block_on(async {
        let io = join(sio_smol::new(config()), args).await?;
        app(&io, args.node.clone());
        let listener = smol::net::TcpListener::try_from(listener)?;
        announce(args.port)?;
        serve_until_shutdown(io.clone(), sio_smol::serve(listener, io), shutdown).await
    })
}

fn serve_async_std(
    args: &Args,
    listener: TcpListener,
    shutdown: async_channel::Receiver<()>,
) -> std::io::Result<()> {
    async_std::task::block_on(async {
        let io = join(sio_async_std::new(config()), args).await?;
        app(&io, args.node.clone());
        let listener = async_std::net::TcpListener::from(listener);
        announce(args.port)?;
        serve_until_shutdown(io.clone(), sio_async_std::serve(listener, io), shutdown).await
    })
}

/// What the checks broadcast (`msg`): a numbered message with binary, or a marker.
#[derive(Debug, Serialize, Deserialize)]
struct Msg {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    seq: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    from: Option<i64>,
    /// The place of a broadcast in its sender's series.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    k: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    bin: Option<Bytes>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    marker: Option<String>,
}

#[derive(Deserialize)]
struct ToRoom {
    room: String,
    payload: Msg,
}

#[derive(Deserialize)]
struct AskRoom {
    room: String,
    n: i64,
}

#[derive(Deserialize)]
struct Target {
    id: String,
    #[serde(default)]
    room: String,
}

#[derive(Deserialize, Default)]
struct Auth {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    room: Option<String>,
    /// Emit `{seq: "bye"}` to the socket once it disconnected (kept for
    /// it with recovery on).
    #[serde(default)]
    farewell: bool,
}

/// The application of conformance/cluster/README.md.
fn app(io: &SocketIo, node: Arc<str>) {
    if admin_ui() {
        instrument(io, &node);
    }
    app_events(io, node);
}

/// Node's defaults; with `ADMIN_UI=1`, CORS for the UI's page (any origin,
/// with credentials).
fn config() -> Config {
    let mut config = Config::default();
    if admin_ui() {
        sio_conformance::admin::config(&mut config);
    }
    // RECOVERY=1 (cluster/recovery-run.js): connection state recovery, as
    // node-server.js's `connectionStateRecovery: {}`.
    if std::env::var("RECOVERY").is_ok_and(|v| v == "1") {
        config.connection_state_recovery = Some(sio_driver::RecoveryConfig::default());
    }
    config
}

fn admin_ui() -> bool {
    std::env::var("ADMIN_UI").is_ok_and(|v| v == "1")
}

/// With `ADMIN_UI=1` (conformance/cluster/admin-run.js): the Admin UI's
/// protocol, this node's name as its `serverId`.
fn instrument(io: &SocketIo, node: &str) {
    use sio_conformance::admin::{PASSWORD_HASH, USERNAME};
    use sio_driver::admin::{AdminAuth, AdminOptions};
    let mut options = AdminOptions::new(AdminAuth::Basic {
        username: USERNAME.to_owned(),
        password_hash: PASSWORD_HASH.to_owned(),
    });
    options.server_id = Some(node.to_owned());
    if let Err(error) = io.instrument(options) {
        eprintln!("instrument failed: {error}");
        std::process::exit(1);
    }
}

fn app_events(io: &SocketIo, node: Arc<str>) {
    {
        let node = node.clone();
        io.on_server_side_emit("ping-node", move |payload: Value, ack| {
            let node = node.clone();
            async move {
                let _ = ack.send(&json!({ "node": &*node, "payload": payload }));
            }
        });
    }
    {
        let node = node.clone();
        let local = io.clone();
        io.on_server_side_emit("note", move |payload: Value, _ack| {
            let node = node.clone();
            let local = local.clone();
            async move {
                let _ = local
                    .local()
                    .emit("note", &json!({ "node": &*node, "payload": payload }));
            }
        });
    }
    let io2 = io.clone();
    io.on_connection(move |socket| {
        let io = io2.clone();
        let node = node.clone();
        async move {
            let auth: Auth = socket.handshake().auth().unwrap_or_default();
            let _ = socket.set_data(&json!({ "name": auth.name, "node": &*node }));
            if let Some(room) = auth.room.filter(|room| !room.is_empty()) {
                let _ = socket.join(&room);
            }
            if auth.farewell {
                socket.on_disconnect(|socket, _reason| async move {
                    let _ = socket.emit("msg", &json!({ "seq": "bye" }));
                });
            }
            socket.on("self-emit", |socket, payload: Msg, ack| async move {
                let _ = socket.emit("msg", &payload);
                let _ = ack.send(&());
            });
            {
                let node = node.clone();
                socket.on("whoami", move |socket, (): (), ack| {
                    let node = node.clone();
                    async move {
                        let mut rooms = socket.rooms();
                        rooms.sort();
                        let _ =
                            ack.send(&json!({ "id": socket.id(), "node": &*node, "rooms": rooms }));
                    }
                });
            }
            let on_io = io.clone();
            socket.on("to-room", move |_socket, to: ToRoom, ack| {
                let io = on_io.clone();
                async move {
                    let _ = if to.room == "*" {
                        io.emit("msg", &to.payload)
                    } else {
                        io.to(&to.room).emit("msg", &to.payload)
                    };
                    let _ = ack.send(&());
                }
            });
            let on_io = io.clone();
            socket.on("fetch", move |_socket, (): (), ack| {
                let io = on_io.clone();
                async move {
                    let mut sockets: Vec<Value> = match io.fetch_sockets().await {
                        Ok(sockets) => sockets
                            .iter()
                            .map(|s| {
                                let mut rooms = s.rooms().to_vec();
                                rooms.sort();
                                json!({
                                    "id": s.id(),
                                    "rooms": rooms,
                                    "data": s.data_value(),
                                    "auth": s.handshake().get("auth"),
                                })
                            })
                            .collect(),
                        Err(e) => {
                            eprintln!("fetch_sockets: {e}");
                            Vec::new()
                        }
                    };
                    sockets.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
                    let _ = ack.send(&sockets);
                }
            });
            let on_io = io.clone();
            socket.on("ask-room", move |_socket, ask: AskRoom, ack| {
                let io = on_io.clone();
                async move {
                    let reply = match io
                        .to(&ask.room)
                        .timeout(REQUESTS_TIMEOUT)
                        .emit_with_ack::<_, String>("question", &ask.n)
                        .await
                    {
                        Ok(mut answers) => {
                            answers.sort();
                            json!({ "error": null, "answers": answers })
                        }
                        Err(e) => json!({ "error": e.to_string(), "answers": [] }),
                    };
                    let _ = ack.send(&reply);
                }
            });
            let on_io = io.clone();
            socket.on("sse", move |_socket, payload: Value, ack| {
                let io = on_io.clone();
                async move {
                    let reply = match io
                        .server_side_emit_with_ack::<_, Value>("ping-node", &payload)
                        .await
                    {
                        Ok(replies) => json!({ "error": null, "replies": replies }),
                        Err(e) => json!({ "error": e.to_string(), "replies": [] }),
                    };
                    let _ = ack.send(&reply);
                }
            });
            let on_io = io.clone();
            socket.on("sse-noack", move |_socket, payload: Value, ack| {
                let io = on_io.clone();
                async move {
                    let _ = io.server_side_emit("note", &payload);
                    let _ = ack.send(&());
                }
            });
            let on_io = io.clone();
            socket.on("remote-join", move |_socket, t: Target, ack| {
                let io = on_io.clone();
                async move {
                    io.to(&t.id).sockets_join(&t.room);
                    let _ = ack.send(&());
                }
            });
            let on_io = io.clone();
            socket.on("remote-leave", move |_socket, t: Target, ack| {
                let io = on_io.clone();
                async move {
                    io.to(&t.id).sockets_leave(&t.room);
                    let _ = ack.send(&());
                }
            });
            let on_io = io.clone();
            socket.on("remote-disconnect", move |_socket, t: Target, ack| {
                let io = on_io.clone();
                async move {
                    io.to(&t.id).disconnect_sockets(true);
                    let _ = ack.send(&());
                }
            });
        }
    });
}
