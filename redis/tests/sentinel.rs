//! The pub/sub adapter on the master Redis Sentinel names
//! (scripts/redis-services sentinel), following it through a failover, on
//! tokio and on smol (async-std runs on the same redis support).

mod common;

use std::process::Command;
use std::time::Duration;

use bytes::Bytes;
use common::services::Services;
use common::{started, tokio_block_on, within};
use sio_driver::Bus;
use sio_redis::{ConnectError, RedisAdapter};

#[test]
fn sentinel_failover_on_tokio() {
    tokio_block_on(failover());
}

#[test]
fn sentinel_failover_on_smol() {
    smol::block_on(failover());
}

fn port(url: &str) -> &str {
    url.rsplit(':').next().expect("a port")
}

/// `redis-cli -p <port> <args>`'s output.
fn cli(port: &str, args: &[&str]) -> String {
    let output = Command::new("redis-cli")
        .args(["-p", port])
        .args(args)
        .output()
        .expect("run redis-cli");
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

async fn failover() {
    let mut services = Services::start("sentinel");
    let sentinel = services.urls[0].clone();
    let replica = port(services.fact("REPLICA_URL")).to_string();
    let master = services.fact("MASTER").to_string();
    let builder = || {
        RedisAdapter::sentinel([sentinel.clone()], master.clone())
            .reconnect_backoff(Duration::from_millis(20), Duration::from_millis(200))
    };
    let (a, a_events) = started(builder()).await;
    let (b, _b_events) = started(builder()).await;
    a.subscribe(vec!["socket.io-request#/#".into()], vec![])
        .await
        .expect("subscribe");
    b.publish("socket.io-request#/#".into(), Bytes::from_static(b"before"))
        .await
        .expect("publish");
    assert_eq!(a_events.message().await.1, b"before".to_vec());
    // The master dies: the adapter reports the loss, and asks the Sentinel
    // again until it names the replica it promoted (after its
    // down-after-milliseconds, 1 s here).
    services.kill_node(0);
    a_events.down().await;
    a_events.up().await;
    within("the subscription on the new master", async {
        while cli(&replica, &["pubsub", "numsub", "socket.io-request#/#"])
            != "socket.io-request#/#\n1"
        {
            async_io::Timer::after(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert_eq!(cli(&replica, &["role"]).lines().next(), Some("master"));
    cli(&replica, &["publish", "socket.io-request#/#", "after"]);
    assert_eq!(a_events.message().await.1, b"after".to_vec());
    // An unknown master name: a clear error at connect.
    match RedisAdapter::sentinel([sentinel.clone()], "nobody")
        .connect()
        .await
    {
        Err(ConnectError::Unreachable(why)) => assert!(!why.is_empty()),
        other => panic!("expected Unreachable, got {other:?}"),
    }
    drop(b);
}
