//! The pub/sub adapter on a 3-master Redis Cluster (scripts/redis-services
//! cluster), on tokio and on smol (async-std runs on the same redis
//! support).

#[macro_use]
mod common;

use std::time::Duration;

use bytes::Bytes;
use common::services::Services;
use common::{started, tokio_block_on, within};
use sio_driver::Bus;
use sio_redis::{ConnectError, RedisAdapter};

#[test]
fn cluster_pubsub_on_tokio() {
    tokio_block_on(cluster_pubsub());
}

#[test]
fn cluster_pubsub_on_smol() {
    smol::block_on(cluster_pubsub());
}

async fn wait_for_count(adapter: &RedisAdapter, channel: &str, count: usize) {
    within("the subscriber count", async {
        while adapter.subscriber_count(channel.into()).await != Ok(count) {
            async_io::Timer::after(Duration::from_millis(20)).await;
        }
    })
    .await;
}

/// Two adapters that found the cluster from different masters: exact and
/// pattern subscriptions deliver across nodes in publish order, NUMSUB is
/// summed over the masters.
async fn cluster_pubsub() {
    let mut cluster = Services::start("cluster");
    assert_eq!(cluster.urls.len(), 3);
    let (a, a_events) = started(RedisAdapter::cluster([cluster.urls[0].clone()])).await;
    let (b, b_events) = started(RedisAdapter::cluster(cluster.urls[1..].to_vec())).await;
    assert!(format!("{a:?}").contains("cluster: true"), "{a:?}");
    let request = "socket.io-request#/#".to_string();
    assert_eq!(a.subscriber_count(request.clone()).await, Ok(0));
    a.subscribe(vec![request.clone()], vec!["socket.io#/#*".into()])
        .await
        .expect("subscribe a");
    b.subscribe(vec![request.clone()], vec!["socket.io#/#*".into()])
        .await
        .expect("subscribe b");
    wait_for_count(&b, &request, 2).await;
    for i in 0..300u32 {
        drop(b.publish(request.clone(), Bytes::from(i.to_string())));
    }
    b.publish("socket.io#/#room#".into(), Bytes::from_static(b"room"))
        .await
        .expect("publish");
    for events in [&a_events, &b_events] {
        for i in 0..300u32 {
            assert_eq!(
                events.message().await,
                (request.clone(), i.to_string().into_bytes())
            );
        }
        assert_eq!(
            events.message().await,
            ("socket.io#/#room#".to_string(), b"room".to_vec())
        );
    }
    // Binary payloads cross intact.
    let every_byte: Vec<u8> = (0..=255u8).collect();
    a.publish(request.clone(), Bytes::from(every_byte.clone()))
        .await
        .expect("publish");
    for events in [&a_events, &b_events] {
        assert_eq!(
            events.message().await,
            (request.clone(), every_byte.clone())
        );
    }
    // A master lost: both report Down; back: both report Up, subscribed
    // again, and messages cross again.
    cluster.kill_node(0);
    a_events.down().await;
    b_events.down().await;
    cluster.start_node(0);
    a_events.up().await;
    b_events.up().await;
    wait_for_count(&b, &request, 2).await;
    b.publish("socket.io#/#".into(), Bytes::from_static(b"again"))
        .await
        .expect("publish after the restart");
    assert_eq!(
        a_events.message().await,
        ("socket.io#/#".to_string(), b"again".to_vec())
    );
    // A dropped adapter lets go of its subscriptions.
    drop(a);
    wait_for_count(&b, &request, 1).await;
    // Not a cluster: a clear error, no hang.
    let single = common::server::RedisServer::start();
    match RedisAdapter::cluster([single.url()]).connect().await {
        Err(ConnectError::Unreachable(why)) => assert!(!why.is_empty()),
        other => panic!("expected Unreachable, got {other:?}"),
    }
    match RedisAdapter::cluster(Vec::<String>::new()).connect().await {
        Err(ConnectError::InvalidUrl(_)) => {}
        other => panic!("expected InvalidUrl, got {other:?}"),
    }
}
