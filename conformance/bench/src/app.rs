//! The bench app, the same on every runtime's sio server: `echo` answers
//! through its ack with the same payload (relayed unparsed), `fanout` emits
//! `tick` with the payload to every socket in room `bench`, which every
//! socket joins on connect.
use sio_tokio::SocketIo;

/// Installs the bench app's handlers on `io` (any runtime crate's server:
/// they all re-export the driver's `SocketIo`).
pub fn install(io: &SocketIo) {
    io.on_connection(|socket| async move {
        let _ = socket.join("bench");
        socket.on_payload("echo", |_socket, payload, ack| async move {
            let _ = ack.send_raw(payload.args(), payload.attachments().to_vec());
        });
        socket.on(
            "fanout",
            |socket, data: serde_json::Value, _ack| async move {
                let _ = socket.namespace().to("bench").emit("tick", &data);
            },
        );
    });
}

/// The port from `PORT` (3000 without it).
pub fn port() -> String {
    std::env::var("PORT").unwrap_or_else(|_| "3000".into())
}
