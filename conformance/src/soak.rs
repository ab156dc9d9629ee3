//! The server of `scripts/soak` (`scenario-server <runtime> soak`): the
//! default configuration, as in production, and a chat in rooms.

use crate::{Config, Scenario, SocketIo};

/// What `scripts/soak`'s clients talk to.
pub static SERVER: Scenario = Scenario {
    name: "soak",
    what: "default config; join, leave, chat in rooms with acks",
    config: no_change,
    setup,
};

fn no_change(_: &mut Config) {}

fn setup(io: &SocketIo) {
    io.on_connection(|socket| async move {
        socket.on("join", |socket, room: String, ack| async move {
            let _ = ack.send(&socket.join(&room).is_ok());
        });
        socket.on("leave", |socket, room: String, ack| async move {
            let _ = ack.send(&socket.leave(&room).is_ok());
        });
        socket.on(
            "chat",
            |socket, (room, text): (String, String), ack| async move {
                let _ = socket.to(&room).emit("chat", &(socket.id(), &text));
                let _ = ack.send(&text.len());
            },
        );
        socket.on("pid", |_socket, (): (), ack| async move {
            let _ = ack.send(&std::process::id());
        });
    });
}
