//! client-compression: the sio client with its defaults (permessage-deflate
//! offered, gzip and deflate accepted on polling, as socket.io-client in
//! Node and browsers do) against the Node server with
//! `perMessageDeflate: true` and `httpCompression` at its default
//! (`node-server/compression-server.js`, which reports what crossed the
//! wire). Polling: a large answer comes back gzip-encoded and decodes
//! intact. WebSocket: the extension is agreed and a long message crosses
//! compressed both ways (counted on the server's TCP socket).

use super::*;

/// A message long and repetitive enough that compression must show.
const LONG: usize = 200_000;

fn big_text(len: usize) -> String {
    "sio compresses this line; "
        .chars()
        .cycle()
        .take(len)
        .collect()
}

async fn wire(socket: &ClientSocket) -> Result<Value, String> {
    socket
        .timeout(WAIT)
        .emit_with_ack("wire", &())
        .await
        .map_err(|e| format!("wire: {e}"))
}

fn count(report: &Value, key: &str) -> u64 {
    report[key].as_u64().unwrap_or(0)
}

pub(super) async fn compression(ctx: &Ctx) -> Outcome {
    let mut server = NodeServer {
        dir: lock(&ctx.server).dir.clone(),
        port: free_port()?,
        tls: None,
        msgpack: false,
        child: None,
        script: "node-server/compression-server.js",
    };
    server.start()?;
    let deflating = Ctx {
        runtime: ctx.runtime,
        url: format!("http://127.0.0.1:{}", server.port),
        socket: ctx.socket,
        engine: ctx.engine,
        server: ctx.server.clone(),
    };

    // Polling: the large ack is compressed, in gzip (first of what we accept).
    let polling = deflating
        .connected_with("/", with_transports(&[ClientTransport::Polling]))
        .await?;
    let big: String = polling
        .timeout(WAIT)
        .emit_with_ack("big", &50_000)
        .await
        .map_err(|e| format!("big: {e}"))?;
    check("the large polling answer", big == big_text(50_000), true)?;
    let report = wire(&polling).await?;
    polling.disconnect();
    let encodings = report["encodings"].as_array().cloned().unwrap_or_default();
    check(
        "a gzip polling response among the session's",
        encodings.iter().any(|e| e == "gzip"),
        true,
    )
    .map_err(|e| format!("{e} (encodings: {encodings:?})"))?;

    // WebSocket: agreed, and compressed both ways.
    let ws = deflating
        .connected_with("/", with_transports(&[ClientTransport::WebSocket]))
        .await?;
    let before = wire(&ws).await?;
    check(
        "extensions",
        before["extensions"].clone(),
        json!("permessage-deflate"),
    )?;
    let text = format!("{} é 🎉", big_text(LONG));
    let echoed: String = ws
        .timeout(WAIT)
        .emit_with_ack("echo", &text)
        .await
        .map_err(|e| format!("echo: {e}"))?;
    check("the long echo", echoed == text, true)?;
    let after = wire(&ws).await?;
    ws.disconnect();
    let read = count(&after, "bytesRead") - count(&before, "bytesRead");
    let written = count(&after, "bytesWritten") - count(&before, "bytesWritten");
    if read > (LONG / 10) as u64 || written > (LONG / 10) as u64 {
        return Err(format!(
            "{LONG} bytes each way took {read} bytes in and {written} out: not compressed"
        ));
    }
    Ok(())
}
