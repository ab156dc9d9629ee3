//! The `msgpack` scenario: a server speaking the MessagePack parser
//! (`config.parser`), checked by `clients/msgpack.js` with the npm
//! socket.io-client and `socket.io-msgpack-parser` over polling, WebSocket
//! and the upgrade: events, typed arguments (integers, floats, buffers,
//! maps), acks both ways, rooms (a broadcast encoded once), namespaces and
//! a refused namespace.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use sio_driver::ParserKind;

use crate::{Config, Scenario, SocketIo};

/// The scenario, listed in [`crate::scenarios::ALL`].
pub const SCENARIO: Scenario = Scenario {
    name: "msgpack",
    what: "MessagePack parser: events, acks, binary, rooms, namespaces",
    config: msgpack_config,
    setup,
};

fn msgpack_config(config: &mut Config) {
    config.parser = ParserKind::MsgPack;
}

/// Typed arguments: serde must see an integer, a float, a buffer and a map
/// as they were sent.
#[derive(Serialize, Deserialize)]
struct Typed {
    int: i64,
    float: f64,
    bin: Bytes,
    map: BTreeMap<String, i64>,
}

fn setup(io: &SocketIo) {
    let server = io.clone();
    io.on_connection(move |socket| {
        let io = server.clone();
        async move {
            socket.on_payload("echo", |_socket, payload, ack| async move {
                let _ = ack.send_raw(payload.args(), payload.attachments().to_vec());
            });
            socket.on("typed", |_socket, typed: Typed, ack| async move {
                let reply = Typed {
                    int: typed.int + 1,
                    float: typed.float * 2.0,
                    bin: typed.bin.iter().rev().copied().collect(),
                    map: typed.map.into_iter().map(|(k, v)| (k, v + 1)).collect(),
                };
                let _ = ack.send(&reply);
            });
            // The server asks the client, with a buffer, and reports the answer.
            socket.on("ask", |socket, n: i64, _ack| async move {
                let reply = socket
                    .timeout(Duration::from_secs(5))
                    .emit_with_ack::<_, (i64, Bytes)>("question", &(n, Bytes::from_static(b"q")))
                    .await;
                let _ = match reply {
                    Ok((n, data)) => socket.emit("answer", &(n, data)),
                    Err(e) => socket.emit("answer", &(e.to_string(), Bytes::new())),
                };
            });
            socket.on("join", |socket, room: String, ack| async move {
                let _ = ack.send(&socket.join(&room).is_ok());
            });
            // One broadcast to the room, encoded once for its members.
            socket.on(
                "shout",
                move |_socket, (room, text, data): (String, String, Bytes), _ack| {
                    let io = io.clone();
                    async move {
                        let _ = io.to(&room).emit("room-msg", &(text, data));
                    }
                },
            );
        }
    });
    io.of("/admin")
        .expect("/admin is a valid name")
        .on_connection(|socket| async move {
            let _ = socket.emit("where", &(socket.ns(), socket.id()));
        });
}
