//! The Redis Streams adapter on a 3-master Redis Cluster and on the master
//! Redis Sentinel names, through a failover (scripts/redis-services), on
//! tokio and on smol (async-std runs on the same redis support).

mod common;

use std::process::Command;
use std::time::Duration;

use bytes::Bytes;
use common::services::Services;
use common::{sink, tokio_block_on, within, Events};
use sio_driver::{BusEvent, StreamBus};
use sio_redis::{RedisStreamsAdapter, RedisStreamsAdapterBuilder};

#[test]
fn streams_on_a_cluster_on_tokio() {
    tokio_block_on(on_a_cluster());
}

#[test]
fn streams_on_a_cluster_on_smol() {
    smol::block_on(on_a_cluster());
}

#[test]
fn streams_through_a_sentinel_failover_on_tokio() {
    tokio_block_on(sentinel_failover());
}

#[test]
fn streams_through_a_sentinel_failover_on_smol() {
    smol::block_on(sentinel_failover());
}

fn fields(n: usize) -> Vec<(String, String)> {
    vec![
        ("uid".into(), "test".into()),
        ("nsp".into(), "/".into()),
        ("type".into(), "2".into()),
        ("n".into(), n.to_string()),
    ]
}

async fn started(builder: RedisStreamsAdapterBuilder) -> (RedisStreamsAdapter, Events) {
    let adapter = within("connect", builder.connect()).await.expect("connect");
    let (sink, events) = sink();
    adapter.start(sink);
    (adapter, events)
}

/// The next entry (skipping Down and Up): its id and its `n` field.
async fn next_entry(events: &Events) -> (String, String) {
    loop {
        if let BusEvent::Entry { id, fields } = events.next().await {
            let n = fields
                .iter()
                .find(|(k, _)| k.as_ref() == b"n")
                .map(|(_, v)| String::from_utf8(v.to_vec()).expect("UTF-8"))
                .unwrap_or_default();
            return (id, n);
        }
    }
}

/// Two adapters that found the cluster from different masters share the
/// stream: appends come back to both in order with their ids, ranges and
/// sessions work. The reader blocks a minute at a time: were its `XREAD`
/// on the appends' connection, no append could be stored in time.
async fn on_a_cluster() {
    let cluster = Services::start("cluster");
    let builder = |nodes: &[String]| {
        RedisStreamsAdapter::cluster(nodes.to_vec())
            .block_time(Duration::from_secs(60))
            .command_timeout(Duration::from_secs(2))
    };
    let (a, a_events) = started(builder(&cluster.urls[..1])).await;
    let (b, b_events) = started(builder(&cluster.urls[1..])).await;
    let pending: Vec<_> = (1..=50).map(|n| b.append(fields(n))).collect();
    let mut ids = Vec::new();
    for append in pending {
        ids.push(within("an append", append).await.expect("stored"));
    }
    for events in [&a_events, &b_events] {
        for (n, id) in (1..=50).zip(&ids) {
            assert_eq!(next_entry(events).await, (id.clone(), n.to_string()));
        }
    }
    a.append(fields(51)).await.expect("stored");
    assert_eq!(next_entry(&b_events).await.1, "51");
    let range = a
        .range(ids[0].clone(), "+".into(), 10)
        .await
        .expect("XRANGE");
    assert_eq!(range.len(), 10);
    assert_eq!(range[0].0, ids[0]);
    // Session keys hash to other slots than the stream's.
    for pid in ["abc", "def", "ghi"] {
        let key = format!("sio:session:{pid}");
        a.persist_session(key.clone(), "c2Vzc2lvbg==".into(), Duration::from_secs(60))
            .await
            .expect("SET");
        assert_eq!(
            b.take_session(key.clone()).await.expect("GET/DEL"),
            Some(Bytes::from_static(b"c2Vzc2lvbg=="))
        );
        assert_eq!(a.take_session(key).await.expect("GET/DEL"), None);
    }
}

fn port(url: &str) -> &str {
    url.rsplit(':').next().expect("a port")
}

fn cli(port: &str, args: &[&str]) -> String {
    let output = Command::new("redis-cli")
        .args(["-p", port])
        .args(args)
        .output()
        .expect("run redis-cli");
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// The master dies: the reader reports it, asks Sentinel again until it
/// names the promoted replica and reads on there from its last id; the
/// appends made meanwhile are stored there, in order.
async fn sentinel_failover() {
    let mut services = Services::start("sentinel");
    let sentinel = services.urls[0].clone();
    let replica = port(services.fact("REPLICA_URL")).to_string();
    let master = services.fact("MASTER").to_string();
    let builder = || {
        RedisStreamsAdapter::sentinel([sentinel.clone()], master.clone())
            .block_time(Duration::from_millis(200))
            .command_timeout(Duration::from_millis(500))
            .reconnect_backoff(Duration::from_millis(20), Duration::from_millis(200))
    };
    let (a, a_events) = started(builder()).await;
    let first = a.append(fields(1)).await.expect("stored");
    assert_eq!(next_entry(&a_events).await, (first, "1".into()));
    // Replicated before the master goes.
    within("the replica to hold the entry", async {
        while cli(&replica, &["xlen", "socket.io"]) != "1" {
            async_io::Timer::after(Duration::from_millis(20)).await;
        }
    })
    .await;
    services.kill_node(0);
    let pending: Vec<_> = (2..=6).map(|n| a.append(fields(n))).collect();
    for append in pending {
        within("an append after the failover", append)
            .await
            .expect("stored on the new master");
    }
    for n in 2..=6 {
        assert_eq!(next_entry(&a_events).await.1, n.to_string());
    }
    assert_eq!(cli(&replica, &["role"]).lines().next(), Some("master"));
    assert_eq!(cli(&replica, &["xlen", "socket.io"]), "6");
    // A node that joins now finds the stream on the new master.
    let (b, b_events) = started(builder()).await;
    a.append(fields(7)).await.expect("stored");
    assert_eq!(next_entry(&b_events).await.1, "7");
    drop(b);
}
