//! The bus tests, written once and run on every runtime (tests/tokio.rs,
//! tests/smol.rs, tests/async_std.rs), each against its own redis-server.
#![allow(dead_code)]

pub mod server;
pub mod services;

use std::time::Duration;

use bytes::Bytes;
use futures_lite::FutureExt;
use sio_driver::{Bus, BusEvent, BusSink};
use sio_redis::{ConnectError, RedisAdapter};

use server::{free_port, RedisServer};

/// Long enough never to fire on a healthy run; a hang becomes a failure.
const PATIENCE: Duration = Duration::from_secs(20);

/// Runs the bus tests with `$block_on` (a fn taking a future) and checks
/// the adapter picked `$runtime` (its Debug name).
#[macro_export]
macro_rules! bus_tests {
    ($block_on:path, $runtime:literal) => {
        #[test]
        fn picks_this_runtime() {
            $block_on(common::picks_runtime($runtime))
        }
        #[test]
        fn connect_errors_when_nothing_listens() {
            $block_on(common::connect_errors())
        }
        #[test]
        fn publish_subscribe_and_patterns_deliver_with_the_channel() {
            $block_on(common::publish_subscribe())
        }
        #[test]
        fn rapid_publishes_arrive_in_call_order() {
            $block_on(common::call_order())
        }
        #[test]
        fn numsub_counts_subscribed_adapters() {
            $block_on(common::numsub())
        }
        #[test]
        fn resp3_connections_work_too() {
            $block_on(common::resp3())
        }
        #[test]
        fn binary_payloads_cross_intact() {
            $block_on(common::binary())
        }
        #[test]
        fn redis_restart_reports_down_then_up_and_resubscribes() {
            $block_on(common::restart())
        }
        #[test]
        fn redis_lost_before_start_is_reported_at_start() {
            $block_on(common::lost_before_start())
        }
        #[test]
        fn non_utf8_channels_are_dropped() {
            $block_on(common::non_utf8_channel())
        }
        #[test]
        fn dropping_the_adapter_closes_its_connections() {
            $block_on(common::drop_closes())
        }
        #[test]
        fn dropping_the_adapter_while_down_stops_reconnecting() {
            $block_on(common::drop_while_down())
        }
    };
}

/// `future`, or a panic (test failure) after [`PATIENCE`].
pub async fn within<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    async { Some(future.await) }
        .or(async {
            async_io::Timer::after(PATIENCE).await;
            None
        })
        .await
        .unwrap_or_else(|| panic!("timed out waiting for {what}"))
}

/// What a sink received, in order.
pub struct Events(async_channel::Receiver<BusEvent>);

pub fn sink() -> (BusSink, Events) {
    let (tx, rx) = async_channel::unbounded();
    let sink: BusSink = std::sync::Arc::new(move |event| {
        let _ = tx.try_send(event);
    });
    (sink, Events(rx))
}

impl Events {
    pub async fn next(&self) -> BusEvent {
        within("a bus event", self.0.recv())
            .await
            .expect("sink channel open")
    }

    pub async fn message(&self) -> (String, Vec<u8>) {
        match self.next().await {
            BusEvent::Message { channel, payload } => (channel, payload.to_vec()),
            other => panic!("expected a message, got {other:?}"),
        }
    }

    /// Waits until the sink is dropped: the adapter's task has ended and
    /// released it. An event instead is a failure.
    pub async fn closed(&self) {
        if let Ok(event) = within("the sink to be dropped", self.0.recv()).await {
            panic!("expected no more events, got {event:?}");
        }
    }

    pub async fn down(&self) {
        match self.next().await {
            BusEvent::Down(_) => {}
            other => panic!("expected Down, got {other:?}"),
        }
    }

    pub async fn up(&self) {
        match self.next().await {
            BusEvent::Up => {}
            other => panic!("expected Up, got {other:?}"),
        }
    }
}

/// A multi-threaded tokio runtime running `future`.
pub fn tokio_block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(future)
}

/// `builder`'s adapter, connected and started, and its events.
pub async fn started(builder: sio_redis::RedisAdapterBuilder) -> (RedisAdapter, Events) {
    let adapter = builder.connect().await.expect("connect");
    let (sink, events) = sink();
    adapter.start(sink);
    (adapter, events)
}

/// A started adapter on `server` and its events.
pub async fn adapter(server: &RedisServer) -> (RedisAdapter, Events) {
    let adapter = RedisAdapter::builder(server.url())
        .reconnect_backoff(Duration::from_millis(20), Duration::from_millis(200))
        .connect()
        .await
        .expect("connect to the test redis-server");
    let (sink, events) = sink();
    adapter.start(sink);
    (adapter, events)
}

fn strings(names: &[&str]) -> Vec<String> {
    names.iter().map(|name| name.to_string()).collect()
}

pub async fn picks_runtime(runtime: &str) {
    let server = RedisServer::start();
    let (adapter, _events) = adapter(&server).await;
    let debug = format!("{adapter:?}");
    assert!(debug.contains(&format!("runtime: {runtime}")), "{debug}");
    // The defaults of the reference adapter, and the builder's options.
    assert_eq!(adapter.key(), "socket.io");
    assert_eq!(adapter.requests_timeout(), Duration::from_millis(5000));
    let custom = RedisAdapter::builder(server.url())
        .key("my-app")
        .requests_timeout(Duration::from_millis(1234))
        .connect()
        .await
        .expect("connect");
    assert_eq!(custom.key(), "my-app");
    assert_eq!(custom.requests_timeout(), Duration::from_millis(1234));
}

pub async fn connect_errors() {
    let url = format!("redis://127.0.0.1:{}", free_port());
    match RedisAdapter::connect(&url).await {
        Err(ConnectError::Unreachable(why)) => assert!(!why.is_empty()),
        other => panic!("expected Unreachable, got {other:?}"),
    }
    match RedisAdapter::connect("http://nowhere").await {
        Err(ConnectError::InvalidUrl(_)) => {}
        other => panic!("expected InvalidUrl, got {other:?}"),
    }
}

pub async fn publish_subscribe() {
    let server = RedisServer::start();
    let (a, a_events) = adapter(&server).await;
    let (b, _b_events) = adapter(&server).await;
    a.subscribe(
        strings(&["socket.io-request#/#"]),
        strings(&["socket.io#/#*"]),
    )
    .await
    .expect("subscribe");
    // Not subscribed: never delivered (the next message is the first one).
    b.publish("elsewhere".into(), Bytes::from_static(b"no"))
        .await
        .expect("publish");
    b.publish("socket.io-request#/#".into(), Bytes::from_static(b"exact"))
        .await
        .expect("publish");
    b.publish("socket.io#/#room#".into(), Bytes::from_static(b"pattern"))
        .await
        .expect("publish");
    assert_eq!(
        a_events.message().await,
        ("socket.io-request#/#".to_string(), b"exact".to_vec())
    );
    assert_eq!(
        a_events.message().await,
        ("socket.io#/#room#".to_string(), b"pattern".to_vec())
    );
    // Publish order is delivery order.
    for i in 0..200u32 {
        b.publish("socket.io-request#/#".into(), Bytes::from(i.to_string()))
            .await
            .expect("publish");
    }
    for i in 0..200u32 {
        let (_, payload) = a_events.message().await;
        assert_eq!(payload, i.to_string().into_bytes());
    }
    // A node receives its own messages too (the driver ignores them by uid).
    a.publish("socket.io#/#self#".into(), Bytes::from_static(b"me"))
        .await
        .expect("publish");
    assert_eq!(
        a_events.message().await,
        ("socket.io#/#self#".to_string(), b"me".to_vec())
    );
}

/// Many publishes without waiting for any answer: Redis gets them in the
/// order of the calls, whatever order (if any) their futures are polled in.
pub async fn call_order() {
    const COUNT: u32 = 5000;
    let server = RedisServer::start();
    let (a, a_events) = adapter(&server).await;
    let (b, _b_events) = adapter(&server).await;
    a.subscribe(strings(&["order"]), vec![])
        .await
        .expect("subscribe");
    let outcomes: Vec<_> = (0..COUNT)
        .map(|i| b.publish("order".into(), Bytes::from(i.to_string())))
        .collect();
    // Polled last first: the order was fixed by the calls.
    for outcome in outcomes.into_iter().rev() {
        within("a publish outcome", outcome).await.expect("publish");
    }
    for i in 0..COUNT {
        assert_eq!(a_events.message().await.1, i.to_string().into_bytes());
    }
    // Futures dropped unpolled: the messages still go, in order.
    for i in 0..COUNT {
        drop(b.publish("order".into(), Bytes::from(i.to_string())));
    }
    for i in 0..COUNT {
        assert_eq!(a_events.message().await.1, i.to_string().into_bytes());
    }
}

pub async fn numsub() {
    let server = RedisServer::start();
    let (a, _a_events) = adapter(&server).await;
    let (b, _b_events) = adapter(&server).await;
    let channel = "socket.io-request#/#".to_string();
    assert_eq!(a.subscriber_count(channel.clone()).await, Ok(0));
    a.subscribe(vec![channel.clone()], vec![])
        .await
        .expect("subscribe");
    assert_eq!(a.subscriber_count(channel.clone()).await, Ok(1));
    b.subscribe(vec![channel.clone()], vec![])
        .await
        .expect("subscribe");
    assert_eq!(a.subscriber_count(channel.clone()).await, Ok(2));
    assert_eq!(b.subscriber_count(channel).await, Ok(2));
    // Patterns do not count in NUMSUB (as for the reference adapter).
    assert_eq!(a.subscriber_count("nobody".into()).await, Ok(0));
}

pub async fn resp3() {
    let server = RedisServer::start();
    let url = format!("{}/?protocol=resp3", server.url());
    let a = RedisAdapter::connect(&url)
        .await
        .expect("connect over RESP3");
    let (sink, a_events) = sink();
    a.start(sink);
    a.subscribe(strings(&["c"]), strings(&["p*"]))
        .await
        .expect("subscribe");
    a.publish("c".into(), Bytes::from_static(b"1"))
        .await
        .expect("publish");
    assert_eq!(a_events.message().await, ("c".to_string(), b"1".to_vec()));
    a.publish("p1".into(), Bytes::from_static(b"2"))
        .await
        .expect("publish");
    assert_eq!(a_events.message().await, ("p1".to_string(), b"2".to_vec()));
    // NUMSUB is a map in RESP3.
    assert_eq!(a.subscriber_count("c".into()).await, Ok(1));
}

pub async fn binary() {
    let server = RedisServer::start();
    let (a, a_events) = adapter(&server).await;
    a.subscribe(strings(&["bin"]), vec![])
        .await
        .expect("subscribe");
    let every_byte: Vec<u8> = (0..=255u8).collect();
    a.publish("bin".into(), Bytes::from(every_byte.clone()))
        .await
        .expect("publish");
    assert_eq!(a_events.message().await, ("bin".to_string(), every_byte));
    // And the empty payload.
    a.publish("bin".into(), Bytes::new())
        .await
        .expect("publish");
    assert_eq!(a_events.message().await, ("bin".to_string(), Vec::new()));
}

pub async fn restart() {
    let mut server = RedisServer::start();
    let (a, a_events) = adapter(&server).await;
    let (b, b_events) = adapter(&server).await;
    a.subscribe(strings(&["exact"]), strings(&["pat#*"]))
        .await
        .expect("subscribe");
    server.kill();
    a_events.down().await;
    b_events.down().await;
    // While down: errors, at once (within() turns a hang into a failure).
    let published = within(
        "publish while down",
        a.publish("exact".into(), Bytes::new()),
    )
    .await;
    assert!(published.is_err(), "{published:?}");
    let counted = within("numsub while down", b.subscriber_count("exact".into())).await;
    assert!(counted.is_err(), "{counted:?}");
    // A subscription asked while down is kept and made on reconnection.
    let late = within(
        "subscribe while down",
        b.subscribe(strings(&["late"]), vec![]),
    )
    .await;
    assert!(late.is_err(), "{late:?}");
    server.restart();
    a_events.up().await;
    b_events.up().await;
    // Subscriptions restored on both sides, messages flow again.
    b.publish("exact".into(), Bytes::from_static(b"1"))
        .await
        .expect("publish after restart");
    assert_eq!(
        a_events.message().await,
        ("exact".to_string(), b"1".to_vec())
    );
    b.publish("pat#x".into(), Bytes::from_static(b"2"))
        .await
        .expect("publish after restart");
    assert_eq!(
        a_events.message().await,
        ("pat#x".to_string(), b"2".to_vec())
    );
    a.publish("late".into(), Bytes::from_static(b"3"))
        .await
        .expect("publish after restart");
    assert_eq!(
        b_events.message().await,
        ("late".to_string(), b"3".to_vec())
    );
    assert_eq!(a.subscriber_count("exact".into()).await, Ok(1));
    // A second outage is reported again, once.
    server.kill();
    a_events.down().await;
    b_events.down().await;
    server.restart();
    a_events.up().await;
    b_events.up().await;
    b.publish("exact".into(), Bytes::from_static(b"4"))
        .await
        .expect("publish after the second restart");
    assert_eq!(
        a_events.message().await,
        ("exact".to_string(), b"4".to_vec())
    );
}

pub async fn lost_before_start() {
    let mut server = RedisServer::start();
    let a = RedisAdapter::builder(server.url())
        .reconnect_backoff(Duration::from_millis(20), Duration::from_millis(200))
        .connect()
        .await
        .expect("connect");
    server.kill();
    // Publishing fails once the loss is seen (by the publish or the task).
    within("publish to fail", async {
        while a.publish("c".into(), Bytes::new()).await.is_ok() {
            async_io::Timer::after(Duration::from_millis(10)).await;
        }
    })
    .await;
    let (sink, events) = sink();
    a.start(sink);
    events.down().await;
    server.restart();
    events.up().await;
    a.publish("c".into(), Bytes::new())
        .await
        .expect("publish after restart");
}

pub async fn non_utf8_channel() {
    let server = RedisServer::start();
    let (a, a_events) = adapter(&server).await;
    a.subscribe(vec![], strings(&["*"]))
        .await
        .expect("psubscribe");
    let reply = server
        .command(&[b"PUBLISH", b"\xff\xfe", b"x"])
        .expect("raw publish");
    assert_eq!(reply, b":1\r\n");
    a.publish("fine".into(), Bytes::from_static(b"y"))
        .await
        .expect("publish");
    assert_eq!(
        a_events.message().await,
        ("fine".to_string(), b"y".to_vec())
    );
}

pub async fn drop_closes() {
    let server = RedisServer::start();
    let (a, _a_events) = adapter(&server).await;
    let (b, _b_events) = adapter(&server).await;
    a.subscribe(strings(&["c"]), vec![])
        .await
        .expect("subscribe");
    b.subscribe(strings(&["c"]), vec![])
        .await
        .expect("subscribe");
    assert_eq!(a.subscriber_count("c".into()).await, Ok(2));
    drop(b);
    within("b's subscriber connection to close", async {
        while a.subscriber_count("c".into()).await != Ok(1) {
            async_io::Timer::after(Duration::from_millis(20)).await;
        }
    })
    .await;
}

pub async fn drop_while_down() {
    let mut server = RedisServer::start();
    let (a, a_events) = adapter(&server).await;
    server.kill();
    a_events.down().await;
    drop(a);
    // The task ends in its backoff, without waiting for Redis.
    a_events.closed().await;
    server.restart();
}
