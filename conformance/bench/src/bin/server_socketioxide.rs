//! The bench app on socketioxide, written as plainly as its own examples:
//! `echo` answers through its ack with the same payload, `fanout` emits
//! `tick` with the payload to every socket in room `bench`, which every
//! socket joins on connect.
use serde_json::Value;
use socketioxide::extract::{AckSender, Data, SocketRef};
use socketioxide::SocketIo;

async fn on_connect(socket: SocketRef) {
    socket.join("bench");
    socket.on("echo", async |Data::<Value>(data), ack: AckSender| {
        ack.send(&data).ok();
    });
    socket.on("fanout", async |socket: SocketRef, Data::<Value>(data)| {
        socket.within("bench").emit("tick", &data).await.ok();
    });
}

/// On tokio's default multi-thread runtime unless the `BENCH_*` variables
/// say otherwise (`sio_bench::runtime`, shared with `server_sio`).
fn main() -> Result<(), Box<dyn std::error::Error>> {
    sio_bench::runtime::builder_from_env()
        .build()?
        .block_on(app())
}

async fn app() -> Result<(), Box<dyn std::error::Error>> {
    let (layer, io) = SocketIo::new_layer();
    io.ns("/", on_connect);
    let app = axum::Router::new().layer(layer);
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    println!("listening on http://127.0.0.1:{port}");
    axum::serve(listener, app).await?;
    Ok(())
}
