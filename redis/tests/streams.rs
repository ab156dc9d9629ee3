//! The Redis Streams adapter against a real redis-server (tokio): entries
//! come back in append order with the ids `append` gave, a stream that
//! already holds entries is read from its end, sessions are kept and
//! taken once, ranges are read back, and across a Redis restart appends
//! wait and go out in order while the reader goes on from its last id.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::server::RedisServer;
use sio_driver::{BusEvent, StreamBus};
use sio_redis::RedisStreamsAdapter;

const PATIENCE: Duration = Duration::from_secs(20);

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(future)
}

fn fields(n: usize) -> Vec<(String, String)> {
    vec![
        ("uid".into(), "test".into()),
        ("nsp".into(), "/".into()),
        ("type".into(), "2".into()),
        ("n".into(), n.to_string()),
    ]
}

/// The adapter and a receiver of its events.
async fn started(url: &str) -> (RedisStreamsAdapter, async_channel::Receiver<BusEvent>) {
    let adapter = RedisStreamsAdapter::builder(url)
        .block_time(Duration::from_millis(200))
        .command_timeout(Duration::from_millis(500))
        .reconnect_backoff(Duration::from_millis(20), Duration::from_millis(200))
        .connect()
        .await
        .expect("connect");
    let (tx, rx) = async_channel::unbounded();
    adapter.start(std::sync::Arc::new(move |event| {
        let _ = tx.try_send(event);
    }));
    (adapter, rx)
}

/// The next entry (skipping Down/Up): its id and its `n` field.
async fn next_entry(events: &async_channel::Receiver<BusEvent>) -> (String, String) {
    loop {
        let event = tokio::time::timeout(PATIENCE, events.recv())
            .await
            .expect("an event in time")
            .expect("events open");
        if let BusEvent::Entry { id, fields } = event {
            let n = fields
                .iter()
                .find(|(k, _)| k.as_ref() == b"n")
                .map(|(_, v)| String::from_utf8(v.to_vec()).unwrap())
                .unwrap_or_default();
            return (id, n);
        }
    }
}

#[test]
fn appends_come_back_in_order_with_their_ids() {
    let redis = RedisServer::start();
    block_on(async {
        // Entries from before this node started are not replayed to it.
        let (early, _) = started(&redis.url()).await;
        early.append(fields(0)).await.unwrap();
        let (adapter, events) = started(&redis.url()).await;
        let pending: Vec<_> = (1..=50).map(|n| adapter.append(fields(n))).collect();
        let mut ids = Vec::new();
        for append in pending {
            ids.push(append.await.expect("stored"));
        }
        for (n, id) in (1..=50).zip(&ids) {
            assert_eq!(next_entry(&events).await, (id.clone(), n.to_string()));
        }
        // Read back by range, bounded by count.
        let range = adapter.range(ids[0].clone(), "+".into(), 10).await.unwrap();
        assert_eq!(range.len(), 10);
        assert_eq!(range[0].0, ids[0]);
    });
}

#[test]
fn sessions_are_kept_and_taken_once() {
    let redis = RedisServer::start();
    block_on(async {
        let (adapter, _) = started(&redis.url()).await;
        let key = "sio:session:abc".to_string();
        adapter
            .persist_session(key.clone(), "c2Vzc2lvbg==".into(), Duration::from_secs(60))
            .await
            .unwrap();
        let ttl = redis.command(&[b"PTTL", key.as_bytes()]).unwrap();
        assert!(ttl.starts_with(b":"), "{ttl:?}");
        assert_eq!(
            adapter.take_session(key.clone()).await.unwrap(),
            Some(Bytes::from_static(b"c2Vzc2lvbg=="))
        );
        assert_eq!(adapter.take_session(key).await.unwrap(), None);
    });
}

#[test]
fn a_redis_restart_loses_no_append_and_reading_goes_on() {
    let mut redis = RedisServer::start();
    block_on(async {
        let (adapter, events) = started(&redis.url()).await;
        let first = adapter.append(fields(1)).await.unwrap();
        assert_eq!(next_entry(&events).await, (first, "1".into()));
        redis.kill();
        // Appended while Redis is down: queued, in order.
        let pending: Vec<_> = (2..=6).map(|n| adapter.append(fields(n))).collect();
        redis.restart();
        for append in pending {
            append.await.expect("stored once Redis is back");
        }
        for n in 2..=6 {
            assert_eq!(next_entry(&events).await.1, n.to_string());
        }
    });
}

#[test]
fn a_reader_cut_off_reads_what_was_appended_meanwhile() {
    let redis = RedisServer::start();
    block_on(async {
        let (reader, events) = started(&redis.url()).await;
        let (writer, _) = started(&redis.url()).await;
        let first = writer.append(fields(1)).await.unwrap();
        assert_eq!(next_entry(&events).await, (first, "1".into()));
        // Every client connection dropped (the reader's among them); the
        // writer appends at once, likely before the reader is back.
        redis
            .command(&[b"CLIENT", b"KILL", b"TYPE", b"normal"])
            .unwrap();
        let pending: Vec<_> = (2..=6).map(|n| writer.append(fields(n))).collect();
        for append in pending {
            append.await.expect("stored");
        }
        for n in 2..=6 {
            assert_eq!(next_entry(&events).await.1, n.to_string());
        }
        drop(reader);
    });
}

#[test]
fn entries_read_before_start_are_kept_for_the_driver() {
    let redis = RedisServer::start();
    block_on(async {
        let adapter = RedisStreamsAdapter::builder(redis.url())
            .block_time(Duration::from_millis(50))
            .connect()
            .await
            .expect("connect");
        let (writer, _) = started(&redis.url()).await;
        for n in 1..=3 {
            writer.append(fields(n)).await.unwrap();
        }
        // Long enough for the reader to have read them already (it blocks
        // 50 ms at a time); what is checked is only that none is lost.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (tx, events) = async_channel::unbounded();
        adapter.start(std::sync::Arc::new(move |event| {
            let _ = tx.try_send(event);
        }));
        for n in 1..=3 {
            assert_eq!(next_entry(&events).await.1, n.to_string());
        }
    });
}
