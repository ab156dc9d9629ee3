//! The bench app on sio-tokio, as its own echo example is written: `echo`
//! answers through its ack with the same payload (relayed unparsed),
//! `fanout` emits `tick` with the payload to every socket in room `bench`,
//! which every socket joins on connect.
use sio_tokio::Config;

/// The default multi-thread runtime, as `#[tokio::main]` builds it;
/// `BENCH_RUNTIME=current_thread` runs a single-threaded one instead (to
/// compare tails: see the bench notes in conformance/bench/README.md).
fn main() -> std::io::Result<()> {
    let mut builder = if std::env::var("BENCH_RUNTIME").as_deref() == Ok("current_thread") {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    // `BENCH_GLOBAL_QUEUE_INTERVAL=n`: how often a multi-thread worker
    // takes from the shared queue (tokio's default is 61 ticks).
    if let Some(n) = std::env::var("BENCH_GLOBAL_QUEUE_INTERVAL")
        .ok()
        .and_then(|n| n.parse().ok())
    {
        builder.global_queue_interval(n);
    }
    builder.enable_all().build()?.block_on(app())
}

async fn app() -> std::io::Result<()> {
    let io = sio_tokio::new(Config::default());
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
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    println!("listening on http://127.0.0.1:{port}");
    sio_tokio::serve(listener, io).await
}
