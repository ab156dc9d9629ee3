//! The bench app's Redis fan-out on sio-tokio with sio-redis, as
//! `server_sio` otherwise: every socket joins room `bench`; `fanout` emits
//! `tick` with the payload to the room, on this server and, through Redis,
//! on the others. `PORT` and `REDIS_URL` in the environment; `ADAPTER=streams`
//! for the Redis Streams adapter instead of pub/sub.
use sio_redis::{RedisAdapter, RedisStreamsAdapter};
use sio_tokio::Config;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let io = sio_tokio::new(Config::default());
    let io = if std::env::var("ADAPTER").as_deref() == Ok("streams") {
        io.with_stream_adapter(RedisStreamsAdapter::connect(&url).await?)
    } else {
        io.with_adapter(RedisAdapter::connect(&url).await?)
    };
    io.on_connection(|socket| async move {
        let _ = socket.join("bench");
        socket.on(
            "fanout",
            |socket, data: serde_json::Value, _ack| async move {
                let _ = socket.namespace().to("bench").emit("tick", &data);
            },
        );
    });
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    println!("listening on http://127.0.0.1:{port}");
    sio_tokio::serve(listener, io).await?;
    Ok(())
}
