//! The `socket-api` scenario: the server socket's handler API beyond `on`,
//! checked by `clients/socket-api.js` with the npm socket.io-client: a
//! per-packet middleware (Node's `socket.use`) whose error reaches the
//! socket's `error` handler and drops the packet while `next()` lets the
//! rest through, `once`, and `on_any_outgoing` (the server tells what it
//! sent).

use std::sync::{Arc, Mutex};

use sio_driver::{PacketError, Payload, Socket};

use crate::{Config, Scenario, SocketIo};

/// The scenario, listed in [`crate::scenarios::ALL`].
pub const SCENARIO: Scenario = Scenario {
    name: "socket-api",
    what: "socket.use errors, once, onAnyOutgoing",
    config: no_change,
    setup,
};

fn no_change(_: &mut Config) {}

fn setup(io: &SocketIo) {
    io.on_connection(|socket| async move {
        socket.use_packet(|_, payload: Payload| async move {
            match payload.event().as_deref() {
                Some("forbidden") => Err(PacketError::new("forbidden by middleware")),
                _ => Ok(()),
            }
        });
        // Node's `socket.on("error", ...)`: the client hears of it.
        socket.on_error(|socket, error| async move {
            let _ = socket.emit("error-seen", &error.message());
        });
        socket.on("forbidden", |socket, (): (), _| async move {
            let _ = socket.emit("reached", &"forbidden");
        });
        socket.on("allowed", |_, word: String, ack| async move {
            let _ = ack.send(&format!("allowed {word}"));
        });
        socket.once("first", |socket, n: u32, _| async move {
            let _ = socket.emit("first-seen", &n);
        });
        // What this socket sent, as the outgoing catch-all handler saw it
        // (the closure runs as the emit is made).
        let sent = Arc::new(Mutex::new(Vec::<String>::new()));
        let log = sent.clone();
        socket.on_any_outgoing(move |_: Socket, payload: Payload| {
            log.lock().unwrap().push(payload.raw().as_str().to_owned());
            std::future::ready(())
        });
        socket.on("sent?", move |_, (): (), ack| {
            let sent = sent.lock().unwrap().clone();
            async move {
                let _ = ack.send(&sent);
            }
        });
    });
}
