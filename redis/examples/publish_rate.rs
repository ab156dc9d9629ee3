//! How fast one sio node's broadcasts reach Redis: a node with the adapter
//! emits `count` room broadcasts back to back; a second adapter,
//! subscribed to every broadcast channel, counts them until the last one.
//! Needs a redis-server running; nothing here asserts timings.
//!
//! `cargo run --release -p sio-redis --example publish_rate -- redis://127.0.0.1:6379 50000`
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sio_driver::{Bus, BusEvent};
use sio_redis::RedisAdapter;
use sio_tokio::Config;

type Error = Box<dyn std::error::Error>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "redis://127.0.0.1:6379".into());
    // Below the driver's publish queue (65,536), so none is dropped.
    let count: usize = args
        .next()
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(50_000);
    let counter = RedisAdapter::connect(&url).await?;
    let received = Arc::new(AtomicUsize::new(0));
    let (all_in, all_in_rx) = async_channel::bounded::<()>(1);
    {
        let received = received.clone();
        counter.start(Arc::new(move |event| {
            if let BusEvent::Message { .. } = event {
                if received.fetch_add(1, Ordering::Relaxed) + 1 == count {
                    let _ = all_in.try_send(());
                }
            }
        }));
    }
    counter
        .subscribe(Vec::new(), vec!["socket.io#/#*".into()])
        .await?;
    let io = sio_tokio::new(Config::default()).with_adapter(RedisAdapter::connect(&url).await?);
    // The node's own subscriptions settle first.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let start = Instant::now();
    for i in 0..count {
        let _ = io.to("bench").emit("tick", &i);
        if i % 1000 == 999 {
            tokio::task::yield_now().await;
        }
    }
    tokio::time::timeout(Duration::from_secs(60), all_in_rx.recv())
        .await
        .map_err(|_| format!("{} of {count} in 60 s", received.load(Ordering::Relaxed)))??;
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{count} broadcasts reached a Redis subscriber in {secs:.3} s: {:.0}/s",
        count as f64 / secs
    );
    Ok(())
}
