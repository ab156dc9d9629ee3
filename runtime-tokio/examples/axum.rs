//! sio mounted into an axum application: the application's own routes and
//! the Socket.IO endpoint on one port.
use axum::{routing::get, Router};
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
    let app = Router::new()
        .route(
            "/",
            get(|| async { "hello from axum; Socket.IO is at /socket.io/" }),
        )
        .layer(sio_tokio::layer(io));
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    println!("listening on http://127.0.0.1:{port}");
    axum::serve(listener, app).await
}
