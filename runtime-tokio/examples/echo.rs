//! A tiny server for trying sio with any Socket.IO client: echoes `echo`
//! through the ack and relays `chat` to everyone else.
use sio_tokio::Config;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let io = sio_tokio::new(Config::default());
    io.on_connection(|socket| async move {
        socket.on(
            "echo",
            |_socket, value: serde_json::Value, ack| async move {
                let _ = ack.send(&value);
            },
        );
        socket.on(
            "chat",
            |socket, value: serde_json::Value, _ack| async move {
                let _ = socket.broadcast().emit("chat", &value);
            },
        );
    });
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    println!("listening on http://127.0.0.1:{port}");
    sio_tokio::serve(listener, io).await
}
