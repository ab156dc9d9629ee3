//! A tiny server for trying sio on async-std with any Socket.IO client:
//! `echo` comes back through the ack exactly as sent (binary included),
//! `chat` is relayed to everyone else.
use sio_async_std::Config;

fn main() -> std::io::Result<()> {
    async_std::task::block_on(async {
        let io = sio_async_std::new(Config::default());
        io.on_connection(|socket| async move {
            socket.on_payload("echo", |_socket, payload, ack| async move {
                let _ = ack.send_raw(payload.args(), payload.attachments().to_vec());
            });
            socket.on("chat", |socket, text: String, _ack| async move {
                let _ = socket.broadcast().emit("chat", &text);
            });
        });
        let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
        let listener = async_std::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
        println!("listening on http://127.0.0.1:{port}");
        sio_async_std::serve(listener, io).await
    })
}
