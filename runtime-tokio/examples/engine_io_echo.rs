//! Engine.IO alone: every text and binary message comes back as sent.
//! Try it with the npm `engine.io-client` (its default path is
//! `/engine.io`): `new Socket("ws://127.0.0.1:3000")`.
use sio_tokio::engine_io::{self, Config};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut config = Config::default();
    config.path = "/engine.io/".into();
    let server = engine_io::new(config);
    server.on_connection(|socket| async move {
        socket.on_message(|socket, message| async move {
            let _ = socket.send(&message);
        });
    });
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    println!("listening on http://127.0.0.1:{port}/engine.io/");
    engine_io::serve(listener, server).await
}
