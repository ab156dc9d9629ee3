//! `client-listeners`: the client socket's listener API against the Node
//! server's `echo` (it answers with `echo-reply`): `once` runs for the
//! first reply only, `prepend_any` before `on_any`, `off_any` and `off`
//! remove handlers, `on_any_outgoing` sees each emit until removed.

use std::sync::{Arc, Mutex};

use async_channel::{Receiver, Sender};
use sio_driver::{ClientSocket, Payload};

use super::{check, recv, Ctx, Outcome};

/// A catch-all handler that sends `tag:` and the event's JSON to `tx`.
fn tagged(
    tx: &Sender<String>,
    tag: &'static str,
) -> impl Fn(ClientSocket, Payload) -> std::future::Ready<()> + Send + Sync + 'static {
    let tx = tx.clone();
    move |_, payload: Payload| {
        let _ = tx.try_send(format!("{tag}:{}", payload.raw().as_str()));
        std::future::ready(())
    }
}

/// A typed handler that sends its number to a channel.
fn numbers(socket: &ClientSocket, once: bool) -> Receiver<i64> {
    let (tx, rx) = async_channel::unbounded();
    let handler = move |_, n: i64, _| {
        let _ = tx.try_send(n);
        std::future::ready(())
    };
    if once {
        socket.once("echo-reply", handler);
    } else {
        socket.on("echo-reply", handler);
    }
    rx
}

/// Emits `echo` with `n` and returns the next catch-all notes.
async fn round(
    socket: &ClientSocket,
    n: i64,
    rx: &Receiver<String>,
    count: usize,
) -> Result<Vec<String>, String> {
    socket.emit("echo", &n).map_err(|e| e.to_string())?;
    let mut got = Vec::new();
    for _ in 0..count {
        got.push(recv(rx, "a catch-all note").await?);
    }
    Ok(got)
}

pub(super) async fn listeners(ctx: &Ctx) -> Outcome {
    let socket = ctx.connected("/").await?;
    let (tx, rx) = async_channel::unbounded();
    let once = numbers(&socket, true);
    let any = socket.on_any(tagged(&tx, "any"));
    socket.prepend_any(tagged(&tx, "first"));
    let sent = Arc::new(Mutex::new(Vec::<String>::new()));
    let log = sent.clone();
    let out = socket.on_any_outgoing(move |_, payload: Payload| {
        log.lock().unwrap().push(payload.raw().as_str().to_owned());
        std::future::ready(())
    });
    for n in 1..=3 {
        let want = [
            format!(r#"first:["echo-reply",{n}]"#),
            format!(r#"any:["echo-reply",{n}]"#),
        ];
        check(
            "prepend_any then on_any",
            round(&socket, n, &rx, 2).await?,
            want.to_vec(),
        )?;
    }
    check(
        "once: the first reply only",
        std::iter::from_fn(|| once.try_recv().ok()).collect::<Vec<_>>(),
        vec![1],
    )?;
    check(
        "on_any_outgoing",
        sent.lock().unwrap().clone(),
        (1..=3).map(|n| format!(r#"["echo",{n}]"#)).collect(),
    )?;
    check("off_any", socket.off_any(any), true)?;
    check("off_any_outgoing", socket.off_any_outgoing(out), true)?;
    let on = numbers(&socket, false);
    check(
        "off_any removed it",
        round(&socket, 4, &rx, 1).await?,
        vec![r#"first:["echo-reply",4]"#.to_owned()],
    )?;
    check("on", recv(&on, "echo-reply").await?, 4)?;
    check("off", socket.off("echo-reply"), true)?;
    round(&socket, 5, &rx, 1).await?;
    // By the next reply's note, the removed handler would have run for 5.
    check(
        "off removed it",
        round(&socket, 6, &rx, 1).await?,
        vec![r#"first:["echo-reply",6]"#.to_owned()],
    )?;
    check("off removed it", on.try_recv().ok(), None)?;
    check("off_any_outgoing removed it", sent.lock().unwrap().len(), 3)?;
    socket.disconnect();
    Ok(())
}
