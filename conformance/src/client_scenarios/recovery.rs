//! client-recovery: our client against the Node server with
//! `connectionStateRecovery` (the second server of `node-server/server.js`,
//! on path `/recovery/`). The server closes the connection; while the
//! client is away it sends 20 events to the socket and its room; the
//! client comes back recovered, with its id, rooms, and the 20 in order,
//! their offset stripped before the typed handler; dropped again and
//! kept out past the window, it comes back as a new session. (Node's in-memory
//! store keeps a restored session, so it can be restored again: sio's
//! never is; that difference is not checked here.)

use super::*;

pub(super) async fn recovery(ctx: &Ctx) -> Outcome {
    let mut config = quick_reconnect();
    config.engine.path = "/recovery/".to_owned();
    config.engine.randomization_factor = 0.0;
    config.engine.reconnection_delay_max = config.engine.reconnection_delay;
    let socket = ctx.socket("/", config)?;
    let connects = collect_connect(&socket);
    let (tx, missed) = async_channel::unbounded();
    // Two typed arguments: an offset left in would make it three.
    socket.on("missed", move |_s, (n, parity): (u32, String), _ack| {
        let tx = tx.clone();
        async move {
            let _ = tx.send((n, parity)).await;
        }
    });
    socket.connect();
    recv(&connects, "connect").await?;
    check("recovered on the first connect", socket.recovered(), false)?;
    let first_id = socket.id().ok_or("no id")?;
    // The welcome gives the client an offset to come back with.
    let (): () = socket
        .timeout(WAIT)
        .emit_with_ack("join", &"r")
        .await
        .map_err(|e| e.to_string())?;
    let (): () = socket
        .timeout(WAIT)
        .emit_with_ack("arm", &"r")
        .await
        .map_err(|e| e.to_string())?;
    socket.emit("drop-me", &0).map_err(|e| e.to_string())?;
    recv(&connects, "reconnect").await?;
    check("recovered after a short gap", socket.recovered(), true)?;
    check("id after recovery", socket.id(), Some(first_id.clone()))?;
    let mut got = Vec::new();
    for _ in 0..20 {
        got.push(recv(&missed, "missed").await?);
    }
    let want: Vec<(u32, String)> = (1..=20)
        .map(|n| (n, if n % 2 == 1 { "odd" } else { "even" }.to_owned()))
        .collect();
    check("missed events", got, want)?;
    let (recovered, rooms): (bool, Vec<String>) = socket
        .timeout(WAIT)
        .emit_with_ack("state", &())
        .await
        .map_err(|e| e.to_string())?;
    check("server-side recovered", recovered, true)?;
    let mut want_rooms = vec![first_id.clone(), "r".to_owned()];
    want_rooms.sort();
    check("rooms", rooms, want_rooms)?;

    // Dropped again, and refused for 2 s: back after the window (1.5 s),
    // it is a new session.
    socket.emit("drop-me", &2000).map_err(|e| e.to_string())?;
    recv(&connects, "reconnect after the window").await?;
    check("recovered after the window", socket.recovered(), false)?;
    check(
        "a new id after the window",
        socket.id() != Some(first_id),
        true,
    )?;
    let (recovered, rooms): (bool, Vec<String>) = socket
        .timeout(WAIT)
        .emit_with_ack("state", &())
        .await
        .map_err(|e| e.to_string())?;
    check("server-side recovered after the window", recovered, false)?;
    check(
        "rooms after the window",
        rooms,
        vec![socket.id().unwrap_or_default()],
    )?;
    socket.disconnect();
    Ok(())
}
