//! A tiny server for trying sio with any Socket.IO client: `echo` comes
//! back through the ack exactly as sent (binary included), `chat` is
//! relayed to everyone else.
use sio_tokio::Config;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let io = sio_tokio::new(Config::default());
    io.on_connection(|socket| async move {
        socket.on_payload("echo", |_socket, payload, ack| async move {
            let _ = ack.send_raw(payload.args(), payload.attachments().to_vec());
        });
        socket.on("chat", |socket, text: String, _ack| async move {
            let _ = socket.broadcast().emit("chat", &text);
        });
    });
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    println!("listening on http://127.0.0.1:{port}");
    sio_tokio::serve(listener, io).await
}
