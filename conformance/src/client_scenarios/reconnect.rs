//! client-server-disconnect, client-connect-retry, client-reconnect-buffer
//! and client-reconnect-polling: the Node server goes away (or is not there
//! yet) and comes back; the client's reconnection, buffered emits, reasons
//! and manager events are socket.io-client's.

use super::*;

/// The server stopped and started again while the client buffers emits,
/// on one `transport`: the reasons and errors are socket.io-client's for it.
pub(super) async fn reconnect_buffer(ctx: &Ctx, transport: ClientTransport) -> Outcome {
    let (lost, failed) = match transport {
        ClientTransport::WebSocket => (DisconnectReason::TransportClose, "websocket error"),
        ClientTransport::Polling => (DisconnectReason::TransportError, "xhr poll error"),
    };
    // A fresh server: its list of "seq" events starts empty.
    {
        let mut server = lock(&ctx.server);
        server.stop();
        server.start()?;
    }
    // One transport only, so the reasons and errors are exact.
    let socket = ctx.socket("/", with_transports(&[transport]))?;
    let connects = collect_connect(&socket);
    let (tx, disconnects) = async_channel::unbounded();
    socket.on_disconnect(move |_s, reason| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(reason).await;
        }
    });
    let manager_events = Arc::new(Mutex::new(Vec::new()));
    let seen = manager_events.clone();
    socket.manager().on_event(move |_m, event| {
        lock(&seen).push(event);
        async {}
    });
    socket.connect();
    recv(&connects, "connect").await?;
    for n in 0..3 {
        socket.emit("seq", &n).map_err(|e| e.to_string())?;
    }
    let before: Vec<i64> = socket
        .timeout(WAIT)
        .emit_with_ack("report", &())
        .await
        .map_err(|e| e.to_string())?;
    check("before the restart", before, vec![0, 1, 2])?;

    lock(&ctx.server).stop();
    let reason = recv(&disconnects, "disconnect").await?;
    check("reason", reason, lost)?;
    for n in 3..8 {
        socket.emit("seq", &n).map_err(|e| e.to_string())?;
    }
    // Dropped, not buffered.
    socket
        .volatile()
        .emit("seq", &99)
        .map_err(|e| e.to_string())?;
    // Buffered behind the emits, sent after them on the new connection.
    let report = socket.emit_with_ack::<_, Vec<i64>>("report", &());
    // Let a reconnection attempt or two fail first.
    smol::Timer::after(Duration::from_millis(500)).await;
    lock(&ctx.server).start()?;
    recv(&connects, "reconnect").await?;
    let after =
        futures_lite::future::or(async { report.await.map_err(|e| e.to_string()) }, async {
            smol::Timer::after(WAIT).await;
            Err("no report after the reconnection".to_owned())
        })
        .await?;
    // The manager's handlers run on their own task: give it a moment.
    for _ in 0..50 {
        let reconnected = lock(&manager_events)
            .iter()
            .any(|e| matches!(e, ManagerEvent::Reconnect(_)));
        if reconnected {
            break;
        }
        smol::Timer::after(Duration::from_millis(20)).await;
    }
    let events = lock(&manager_events).clone();
    socket.disconnect();
    check("buffered emits, once, in order", after, vec![3, 4, 5, 6, 7])?;
    check_manager_events(&events, lost, failed)
}

/// open, close, then failed attempts, then one that opens.
fn check_manager_events(
    events: &[ManagerEvent],
    lost: DisconnectReason,
    failed: &'static str,
) -> Outcome {
    let attempts = events
        .iter()
        .filter(|e| matches!(e, ManagerEvent::ReconnectAttempt(_)))
        .count();
    let attempts = u32::try_from(attempts).map_err(|e| e.to_string())?;
    let mut want = vec![ManagerEvent::Open, ManagerEvent::Close(lost)];
    for attempt in 1..attempts {
        want.push(ManagerEvent::ReconnectAttempt(attempt));
        want.push(ManagerEvent::Error(failed));
    }
    want.extend([
        ManagerEvent::ReconnectAttempt(attempts),
        ManagerEvent::Open,
        ManagerEvent::Reconnect(attempts),
    ]);
    if attempts < 2 {
        return Err(format!(
            "no failed attempt while the server was down: {events:?}"
        ));
    }
    check("manager events", events, &want[..])
}

pub(super) async fn server_disconnect(ctx: &Ctx) -> Outcome {
    let socket = ctx.socket("/", quick_reconnect())?;
    let connects = collect_connect(&socket);
    let (tx, disconnects) = async_channel::unbounded();
    socket.on_disconnect(move |_s, reason| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(reason).await;
        }
    });
    socket.connect();
    recv(&connects, "connect").await?;
    socket.emit("kick-me", &()).map_err(|e| e.to_string())?;
    let reason = recv(&disconnects, "disconnect").await?;
    check("reason", reason, DisconnectReason::IoServerDisconnect)?;
    // Not reconnected: the server said so.
    smol::Timer::after(Duration::from_millis(600)).await;
    check("reconnected", connects.try_recv().ok(), None)?;
    check("active", socket.active(), false)?;
    // As socket.io-client: buffered for a later `connect()`, not refused.
    check("emit after", socket.emit("echo", &1).is_ok(), true)?;
    check("still not connected", socket.connected(), false)
}

/// The first attempt finds no server; a later one connects.
pub(super) async fn connect_retry(ctx: &Ctx) -> Outcome {
    lock(&ctx.server).stop();
    let socket = ctx.socket("/", quick_reconnect())?;
    let connects = collect_connect(&socket);
    let errors = collect_connect_errors(&socket);
    socket.connect();
    socket.emit("seq", &1).map_err(|e| e.to_string())?;
    // Each failed attempt is a connect_error naming the I/O error.
    let err = recv(&errors, "connect_error without a server").await?;
    check("message", err.message.as_str(), "xhr poll error")?;
    let description = err
        .data::<Value>()
        .and_then(|data| data.get("description")?.as_str().map(str::to_owned))
        .unwrap_or_default();
    if !description.starts_with("Connection refused") {
        return Err(format!("description: {description:?}"));
    }
    check("connected without a server", socket.connected(), false)?;
    lock(&ctx.server).start()?;
    recv(&connects, "connect").await?;
    let got: Vec<i64> = socket
        .timeout(WAIT)
        .emit_with_ack("report", &())
        .await
        .map_err(|e| e.to_string())?;
    socket.disconnect();
    check("buffered before the first connect", got, vec![1])
}
