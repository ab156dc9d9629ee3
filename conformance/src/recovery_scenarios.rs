//! The connection state recovery scenarios: a server with recovery on (a
//! short window, so the client can also outlive it), middleware that counts
//! its runs, and a disconnect handler that sends what the client misses.
//! Their client scripts are `clients/recovery*.js`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sio_driver::{RecoveryConfig, Socket};

use crate::{Config, SocketIo};

/// How long a session is kept: long enough for the client's quick
/// reconnect (300 ms), short enough for its slow one (3 s) to miss it.
pub(crate) const WINDOW: Duration = Duration::from_millis(1500);

/// How many events the server sends while the client is away.
const MISSED: u32 = 100;

fn config(config: &mut Config, skip_middlewares: bool) {
    let mut recovery = RecoveryConfig::default();
    recovery.max_disconnection_duration = WINDOW;
    recovery.skip_middlewares = skip_middlewares;
    config.connection_state_recovery = Some(recovery);
}

pub(crate) fn skip_config(c: &mut Config) {
    config(c, true);
}

pub(crate) fn run_config(c: &mut Config) {
    config(c, false);
}

/// The scenario: `welcome` on every connection (carrying an offset);
/// `join` puts the socket in a room; once armed (`arm`), its disconnect
/// sends `missed` 1..=100 (odd ones to the socket, even ones to its room),
/// plus a volatile one and one to everyone but its room, neither of which
/// it may get back; `state` answers `[recovered, rooms, middleware runs, data]`.
pub(crate) fn setup(io: &SocketIo) {
    let runs = Arc::new(AtomicUsize::new(0));
    let counted = runs.clone();
    io.use_middleware(move |_| {
        let counted = counted.clone();
        async move {
            counted.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    });
    let io2 = io.clone();
    io.on_connection(move |socket| {
        let (runs, io) = (runs.clone(), io2.clone());
        async move {
            let _ = socket.emit("welcome", &socket.id());
            socket.on("join", |socket, room: String, ack| async move {
                let _ = socket.join(&room);
                let _ = socket.set_data(&serde_json::json!({ "room": room }));
                let _ = ack.send(&());
            });
            socket.on("state", move |socket, (): (), ack| {
                let runs = runs.clone();
                async move {
                    let mut rooms = socket.rooms();
                    rooms.sort();
                    let data = socket.data::<serde_json::Value>();
                    let _ =
                        ack.send(&(socket.recovered(), rooms, runs.load(Ordering::SeqCst), data));
                }
            });
            socket.on("arm", move |socket, room: String, ack| {
                let io = io.clone();
                async move {
                    socket.on_disconnect(move |socket, _| {
                        let (io, room) = (io.clone(), room.clone());
                        async move { send_missed(&io, &socket, &room) }
                    });
                    let _ = ack.send(&());
                }
            });
        }
    });
}

fn send_missed(io: &SocketIo, socket: &Socket, room: &str) {
    let _ = io.volatile().emit("not-for-you", &"volatile");
    let _ = io.except(room).emit("not-for-you", &"except");
    for i in 1..=MISSED {
        if i % 2 == 1 {
            let _ = socket.emit("missed", &i);
        } else {
            let _ = io.to(room).emit("missed", &i);
        }
    }
}
