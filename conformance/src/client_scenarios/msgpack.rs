//! client-msgpack: our client with the MessagePack parser against the Node
//! server with npm `socket.io-msgpack-parser` (its own process, started
//! with `SIO_PARSER=msgpack`), over polling, WebSocket and the upgrade:
//! events and acks with every value type and buffers, typed arguments
//! (integers, floats, maps, `Bytes`), the server's ack requests, a room
//! broadcast and a second namespace on the same connection.

use std::collections::BTreeMap;

use super::*;
use sio_driver::ParserKind;

pub(super) async fn msgpack(ctx: &Ctx) -> Outcome {
    let port = free_port()?;
    let mut server = NodeServer {
        dir: lock(&ctx.server).dir.clone(),
        port,
        tls: None,
        msgpack: true,
        child: None,
        script: "node-server/server.js",
    };
    server.start()?;
    let modes: [(&str, &[ClientTransport], Value); 3] = [
        (
            "polling",
            &[ClientTransport::Polling],
            json!({"initial": "polling", "current": "polling", "upgraded": null}),
        ),
        (
            "websocket",
            &[ClientTransport::WebSocket],
            json!({"initial": "websocket", "current": "websocket", "upgraded": null}),
        ),
        (
            "upgrade",
            &[ClientTransport::Polling, ClientTransport::WebSocket],
            json!({"initial": "polling", "current": "websocket", "upgraded": "websocket"}),
        ),
    ];
    for (mode, transports, want) in modes {
        over(ctx, port, transports, want)
            .await
            .map_err(|e| format!("{mode}: {e}"))?;
    }
    Ok(())
}

type Typed = (i64, f64, Bytes, BTreeMap<String, i64>, Vec<Option<bool>>);

async fn over(ctx: &Ctx, port: u16, transports: &[ClientTransport], want: Value) -> Outcome {
    let mut config = with_transports(transports);
    config.engine.parser = ParserKind::MsgPack;
    let url = format!("http://127.0.0.1:{port}");
    let socket = (ctx.socket)(&url, config.clone()).map_err(|e| e.to_string())?;
    let upgraded = collect_upgrade(&socket);
    let connected = collect_connect(&socket);
    socket.connect();
    recv(&connected, "connect").await?;
    if transports.len() > 1 {
        recv(&upgraded, "upgrade").await?;
    }
    round_trips(&socket).await?;

    // Typed arguments through the Node server's ack and back.
    let map = BTreeMap::from([("a".to_owned(), -1), ("b".to_owned(), 300_000)]);
    let sent: Typed = (
        -7,
        2.5,
        Bytes::from_static(b"\x00\xff"),
        map,
        vec![Some(true), None],
    );
    let got: Typed = socket
        .timeout(WAIT)
        .emit_with_ack("ack-me", &sent)
        .await
        .map_err(|e| format!("typed ack: {e}"))?;
    check("typed ack", got, sent)?;
    let value = json!({"a": [1, 2.5, "x"], "b": null, "c": {"d": true}, "u": "é☃"});
    let echoed = collect::<Value>(&socket, "echo-reply");
    socket.emit("echo", &value).map_err(|e| e.to_string())?;
    check("json echo", recv(&echoed, "echo-reply").await?, value)?;

    // The server asks; the answer goes back as an ack.
    socket.on("question", |_s, n: i64, ack| async move {
        let _ = ack.send(&(n * 2));
    });
    let answers = collect::<Value>(&socket, "answer");
    socket.emit("ask-me", &21).map_err(|e| e.to_string())?;
    check("answer", recv(&answers, "answer").await?, json!(42))?;

    // A room broadcast from the Node server.
    let joined: bool = socket
        .timeout(WAIT)
        .emit_with_ack("join", &"r1")
        .await
        .map_err(|e| e.to_string())?;
    check("joined", joined, true)?;
    let room = collect::<String>(&socket, "room-msg");
    socket
        .emit("shout", &("r1", "hello room"))
        .map_err(|e| e.to_string())?;
    check(
        "room-msg",
        recv(&room, "room-msg").await?,
        "hello room".to_owned(),
    )?;

    // /admin on the same connection.
    let admin = socket.of("/admin", None);
    let admin_connected = collect_connect(&admin);
    admin.connect();
    recv(&admin_connected, "connect to /admin").await?;
    let (name, nsp): (String, String) = admin
        .timeout(WAIT)
        .emit_with_ack("whoami", &())
        .await
        .map_err(|e| e.to_string())?;
    check("whoami", (name.as_str(), nsp.as_str()), ("admin", "/admin"))?;

    let info = transport_info(&socket).await?;
    admin.disconnect();
    socket.disconnect();
    check("server transport", info, want)
}
