//! client-parity and client-cookie-routing: socket.io-client's options
//! beyond the wire (issue 19), against the Node server
//! (`node-server/parity-server.js`, `cookie: true`).
//!
//! client-parity: `extra_headers` seen by the server on the handshake, the
//! polling GETs and POSTs and the WebSocket upgrade; an auth function
//! called again, with a fresh token, when the client reconnects; two
//! namespaces on one shared manager (one Engine.IO session) and
//! `force_new` (two); `remember_upgrade` (after an upgrade, the next
//! connection opens on a WebSocket).
//!
//! client-cookie-routing: a proxy written for the test
//! (`node-server/cookie-proxy.js`) routes by the `io` cookie, round robin
//! without one, long-polling only. Our client with its cookie jar through
//! it to two Node servers stays on one; without the jar its second request
//! reaches the other server, which refuses the session. The npm client
//! with `withCredentials` (`clients/cookie-routing.js`) through it to two
//! sio servers of this runtime stays on one.

use std::io::{BufRead, BufReader};
use std::process::ChildStdin;
use std::sync::atomic::{AtomicU32, Ordering};

use super::*;

/// A process of the row, killed when dropped.
struct Proc {
    child: Child,
    /// Held open: the scenario server exits when its stdin closes.
    _stdin: Option<ChildStdin>,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `command`, waiting for the first line of output that starts
/// with `prefix` (`LISTENING`, `PORT`) and giving the port after it.
fn start(mut command: Command, prefix: &str) -> Result<(Proc, u16), String> {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start {command:?}: {e}"))?;
    let stdin = child.stdin.take();
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let proc = Proc {
        child,
        _stdin: stdin,
    };
    let mut lines = BufReader::new(stdout).lines();
    let port = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| line.strip_prefix(prefix)?.trim().parse::<u16>().ok())
        .ok_or_else(|| format!("{command:?} printed no {prefix} line"))?;
    std::thread::spawn(move || for _ in lines {});
    Ok((proc, port))
}

fn node(dir: &Path, args: &[String]) -> Command {
    let mut command = Command::new("node");
    command.args(args).current_dir(dir);
    command
}

fn node_server(dir: &Path) -> Result<(Proc, u16), String> {
    let port = free_port()?;
    start(
        node(
            dir,
            &["node-server/parity-server.js".into(), port.to_string()],
        ),
        "LISTENING",
    )
}

fn proxy(dir: &Path, backends: &[u16]) -> Result<(Proc, u16), String> {
    let mut args = vec!["node-server/cookie-proxy.js".to_owned()];
    args.extend(backends.iter().map(u16::to_string));
    start(node(dir, &args), "LISTENING")
}

async fn ack<R: serde::de::DeserializeOwned>(
    socket: &ClientSocket,
    event: &str,
) -> Result<R, String> {
    socket
        .timeout(WAIT)
        .emit_with_ack(event, &())
        .await
        .map_err(|e| format!("{event}: {e}"))
}

pub(super) async fn parity(ctx: &Ctx) -> Outcome {
    let dir = lock(&ctx.server).dir.clone();
    let (_server, port) = node_server(&dir)?;
    let url = format!("http://127.0.0.1:{port}");
    extra_headers(ctx, &url)
        .await
        .map_err(|e| format!("extra headers: {e}"))?;
    auth_function(ctx, &url)
        .await
        .map_err(|e| format!("auth function: {e}"))?;
    shared_manager(ctx, &url)
        .await
        .map_err(|e| format!("shared manager: {e}"))?;
    remember_upgrade(ctx, &url)
        .await
        .map_err(|e| format!("remember_upgrade: {e}"))
}

async fn extra_headers(ctx: &Ctx, url: &str) -> Outcome {
    let config = quick_reconnect().with_extra_header("X-Sio-Test", "parity");
    let socket = (ctx.socket)(url, config).map_err(|e| e.to_string())?;
    let upgraded = collect_upgrade(&socket);
    let connected = collect_connect(&socket);
    socket.connect();
    recv(&connected, "connect").await?;
    recv(&upgraded, "upgrade").await?;
    let seen: Value = ack(&socket, "seen-headers").await?;
    socket.disconnect();
    check("handshake header", &seen["handshake"], &json!("parity"))?;
    let requests = seen["requests"].as_array().ok_or("no requests")?;
    let kind = |r: &Value| match (r["upgrade"].as_bool(), r["method"].as_str()) {
        (Some(true), _) => "upgrade",
        (_, Some("GET")) => "polling GET",
        (_, Some("POST")) => "polling POST",
        _ => "other",
    };
    for wanted in ["polling GET", "polling POST", "upgrade"] {
        if !requests.iter().any(|r| kind(r) == wanted) {
            return Err(format!("no {wanted} among {requests:?}"));
        }
    }
    match requests.iter().find(|r| r["header"] != "parity") {
        Some(bare) => Err(format!("a request without the header: {bare}")),
        None => Ok(()),
    }
}

async fn auth_function(ctx: &Ctx, url: &str) -> Outcome {
    let calls = Arc::new(AtomicU32::new(0));
    let counter = calls.clone();
    let mut config = quick_reconnect().with_auth_fn(move || {
        let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
        async move {
            // An answer that awaits, as a token refresh would.
            smol::Timer::after(Duration::from_millis(20)).await;
            Ok::<_, String>(json!({ "token": format!("t{n}") }))
        }
    });
    config.engine.transports = vec![ClientTransport::WebSocket];
    let socket = (ctx.socket)(url, config).map_err(|e| e.to_string())?;
    let connected = collect_connect(&socket);
    socket.connect();
    recv(&connected, "connect").await?;
    check(
        "first auth",
        ack::<Value>(&socket, "get-auth").await?,
        json!({"token": "t1"}),
    )?;
    socket
        .emit("drop-transport", &())
        .map_err(|e| e.to_string())?;
    recv(&connected, "reconnect").await?;
    let second = ack::<Value>(&socket, "get-auth").await?;
    socket.disconnect();
    check("auth after reconnecting", second, json!({"token": "t2"}))
}

async fn shared_manager(ctx: &Ctx, url: &str) -> Outcome {
    let mut shared = quick_reconnect();
    shared.force_new = false;
    let main = (ctx.socket)(url, shared.clone()).map_err(|e| e.to_string())?;
    let admin = (ctx.socket)(&format!("{url}/admin"), shared).map_err(|e| e.to_string())?;
    // quick_reconnect() asks for a manager of its own.
    let apart =
        (ctx.socket)(&format!("{url}/admin"), quick_reconnect()).map_err(|e| e.to_string())?;
    let mut ids = Vec::new();
    for socket in [&main, &admin, &apart] {
        let connected = collect_connect(socket);
        socket.connect();
        recv(&connected, "connect").await?;
        ids.push(ack::<String>(socket, "engine-id").await?);
    }
    check("/ and /admin share a session", &ids[1], &ids[0])?;
    check(
        "client side",
        admin.manager().engine_id(),
        main.manager().engine_id(),
    )?;
    if ids[2] == ids[0] {
        return Err("force_new shares the session".into());
    }
    Ok(())
}

async fn remember_upgrade(ctx: &Ctx, url: &str) -> Outcome {
    let mut config = quick_reconnect();
    config.engine.remember_upgrade = true;
    let socket = (ctx.socket)(url, config).map_err(|e| e.to_string())?;
    let upgraded = collect_upgrade(&socket);
    let connected = collect_connect(&socket);
    socket.connect();
    recv(&connected, "connect").await?;
    recv(&upgraded, "upgrade").await?;
    socket
        .emit("drop-transport", &())
        .map_err(|e| e.to_string())?;
    recv(&connected, "reconnect").await?;
    let info = transport_info(&socket).await?;
    socket.disconnect();
    check(
        "the reconnection's transports",
        info,
        json!({"initial": "websocket", "current": "websocket", "upgraded": null}),
    )
}

pub(super) async fn cookie_routing(ctx: &Ctx) -> Outcome {
    let dir = lock(&ctx.server).dir.clone();
    our_client_through_the_proxy(ctx, &dir)
        .await
        .map_err(|e| format!("sio client, Node servers: {e}"))?;
    npm_client_through_the_proxy(ctx, &dir).map_err(|e| format!("npm client, sio servers: {e}"))
}

fn polling_only(with_credentials: bool) -> ClientConfig {
    let mut config = quick_reconnect();
    config.engine.transports = vec![ClientTransport::Polling];
    config.engine.with_credentials = with_credentials;
    config
}

async fn our_client_through_the_proxy(ctx: &Ctx, dir: &Path) -> Outcome {
    let (_a, a) = node_server(dir)?;
    let (_b, b) = node_server(dir)?;
    let (_proxy, port) = proxy(dir, &[a, b])?;
    let url = format!("http://127.0.0.1:{port}");

    // With the jar: one server, one session, through many requests.
    let socket = (ctx.socket)(&url, polling_only(true)).map_err(|e| e.to_string())?;
    let closes = collect_closes(&socket);
    let connected = collect_connect(&socket);
    socket.connect();
    recv(&connected, "connect").await?;
    let engine = socket.manager().engine_id();
    let mut names = std::collections::BTreeSet::new();
    for _ in 0..20 {
        names.insert(ack::<String>(&socket, "server-name").await?);
    }
    if names.len() != 1 {
        return Err(format!("answers from {names:?}"));
    }
    if let Ok(reason) = closes.try_recv() {
        return Err(format!("the connection closed ({reason:?})"));
    }
    check("session", socket.manager().engine_id(), engine)?;
    socket.disconnect();

    // Without it the session's next request goes to the other server,
    // which refuses it: the connection fails before the namespace connects.
    let socket = (ctx.socket)(&url, polling_only(false)).map_err(|e| e.to_string())?;
    let closes = collect_closes(&socket);
    let connected = collect_connect(&socket);
    socket.connect();
    let first = futures_lite::future::or(
        async { recv(&connected, "connect").await.map(|()| None) },
        async { recv(&closes, "close").await.map(Some) },
    )
    .await?;
    socket.disconnect();
    match first {
        Some(_) => Ok(()),
        None => Err("connected without the cookie jar: the proxy did not route by cookie".into()),
    }
}

/// The manager's `close` and `error` events, as text.
fn collect_closes(socket: &ClientSocket) -> Receiver<String> {
    let (tx, rx) = async_channel::unbounded();
    socket.manager().on_event(move |_m, event| {
        let tx = tx.clone();
        async move {
            if matches!(event, ManagerEvent::Close(_) | ManagerEvent::Error(_)) {
                let _ = tx.send(format!("{event:?}")).await;
            }
        }
    });
    rx
}

fn npm_client_through_the_proxy(ctx: &Ctx, dir: &Path) -> Outcome {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let binary = exe.with_file_name("scenario-server");
    let sio = || {
        let mut command = Command::new(&binary);
        command.args([ctx.runtime, "cookie-routing"]);
        start(command, "PORT")
    };
    let (_a, a) = sio()?;
    let (_b, b) = sio()?;
    let (_proxy, port) = proxy(dir, &[a, b])?;
    let output = node(
        dir,
        &[
            "clients/cookie-routing.js".into(),
            format!("http://127.0.0.1:{port}"),
        ],
    )
    .output()
    .map_err(|e| format!("cannot run node: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let reason = text
        .lines()
        .find(|l| l.starts_with("FAIL"))
        .unwrap_or("no FAIL line");
    Err(format!("clients/cookie-routing.js: {reason}"))
}
