//! The `server-hooks` scenario (issue 19): the engine hooks and the socket
//! API pieces Node's server has, checked by `clients/server-hooks.js`
//! with the npm socket.io-client, raw HTTP requests and a raw `ws`
//! WebSocket: `allow_request` refusing handshakes (polling and
//! WebSocket), `initial_headers` and `headers`, `connection_error` with
//! Node's codes and contexts, the socket's transport before and after the
//! upgrade with its upgrade event, the `disconnecting` stage with the
//! rooms still listed, the cleanup of an emptied dynamic child namespace,
//! and `compress(false)` under permessage-deflate.

use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use sio_driver::{DeflateOptions, Forbidden, Socket};

use crate::{Config, Scenario, SocketIo};

/// The scenario, listed in [`crate::scenarios::ALL`].
pub const SCENARIO: Scenario = Scenario {
    name: "server-hooks",
    what: "allowRequest, headers, connection_error, upgrade, disconnecting, cleanup, compress",
    config: hooks_config,
    setup,
};

/// Children of `/dyn-` are removed once empty; permessage-deflate is on
/// so that `compress(false)` has something to turn off.
fn hooks_config(config: &mut Config) {
    config.cleanup_empty_child_namespaces = true;
    config.engine.per_message_deflate = Some(DeflateOptions::default());
}

/// A log the client reads back through an ack.
type Log = Arc<Mutex<Vec<Value>>>;

fn setup(io: &SocketIo) {
    // `?deny=plain` is refused with Node's message, `?deny=<text>` with <text>.
    io.engine().allow_request(|request| async move {
        match request.query("deny").as_deref() {
            None => Ok(()),
            Some("plain") => Err(Forbidden::new()),
            Some(message) => Err(Forbidden::with_message(message)),
        }
    });
    io.engine().on_initial_headers(|_, headers| {
        let _ = headers.insert("Set-Cookie", "hooks=initial; Path=/");
    });
    io.engine().on_headers(|request, headers| {
        let _ = headers.insert("X-Hooks", "every");
        // A value with CR/LF is refused, never written.
        let injected = headers.insert("X-Evil", "a\r\nSet-Cookie: evil=1");
        assert!(injected.is_err());
        let _ = request;
    });
    let errors: Log = Log::default();
    let log = errors.clone();
    io.engine().on_connection_error(move |error| {
        log.lock().unwrap().push(json!({
            "code": error.code,
            "message": error.message,
            "context": error.context,
            "url": error.request.url(),
        }));
    });
    let stages: Log = Log::default();
    let names = io.clone();
    let main_stages = stages.clone();
    io.on_connection(move |socket| {
        let (errors, stages, io) = (errors.clone(), main_stages.clone(), names.clone());
        async move {
            let _ = socket.emit("transport", &socket.transport().as_str());
            socket.on_upgrade(|socket, transport| async move {
                let now = socket.transport();
                let _ = socket.emit("upgraded", &(transport.as_str(), now.as_str()));
            });
            socket.on("errors?", move |_, (): (), ack| {
                let errors = errors.lock().unwrap().clone();
                async move {
                    let _ = ack.send(&errors);
                }
            });
            socket.on("join", |socket, room: String, ack| async move {
                let _ = socket.join(&room);
                let _ = ack.send(&socket.rooms().len());
            });
            let log = stages.clone();
            socket.on("stages?", move |_, (): (), ack| {
                let stages = log.lock().unwrap().clone();
                async move {
                    let _ = ack.send(&stages);
                }
            });
            socket.on("namespaces?", move |_, (): (), ack| {
                let names = io.namespace_names();
                async move {
                    let _ = ack.send(&names);
                }
            });
            record_stages(&socket, &stages);
            // To the socket, or as a broadcast to its own room.
            socket.on(
                "big",
                |socket, (len, compress, broadcast): (usize, bool, bool), _| async move {
                    let text = crate::compression::big_text(len.min(900_000));
                    let _ = match broadcast {
                        false => socket.compress(compress).emit("big", &text),
                        true => socket
                            .namespace()
                            .to(socket.id())
                            .compress(compress)
                            .emit("big", &text),
                    };
                },
            );
        }
    });
    io.of_dynamic(|name| name.starts_with("/dyn-"))
        .on_connection(|_socket| async move {});
}

/// Logs the socket's `disconnecting` and `disconnect` stages with the
/// rooms [`Socket::rooms`] lists in each.
fn record_stages(socket: &Socket, stages: &Log) {
    for stage in ["disconnecting", "disconnect"] {
        let log = stages.clone();
        let handler = move |socket: Socket, reason: sio_driver::DisconnectReason| {
            let mut rooms = socket.rooms();
            rooms.sort();
            log.lock().unwrap().push(json!({
                "stage": stage,
                "id": socket.id(),
                "reason": reason.as_str(),
                "rooms": rooms,
            }));
            std::future::ready(())
        };
        if stage == "disconnecting" {
            socket.on_disconnecting(handler);
        } else {
            socket.on_disconnect(handler);
        }
    }
}
