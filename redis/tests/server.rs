//! The adapter under real sio servers (tokio): two nodes on one Redis
//! answer each other's server-side emits, and a dropped server lets go of
//! its Redis connections.

mod common;

use std::time::Duration;

use common::server::RedisServer;
use common::within;
use sio_driver::Bus;
use sio_redis::RedisAdapter;
use sio_tokio::{Config, ServerSideAck, SocketIo};

const REQUEST_CHANNEL: &str = "socket.io-request#/#";

async fn node(server: &RedisServer) -> SocketIo {
    let bus = RedisAdapter::connect(&server.url())
        .await
        .expect("connect to the test redis-server");
    sio_tokio::new(Config::default()).with_adapter(bus)
}

async fn wait_for_subscribers(counter: &RedisAdapter, count: usize) {
    within("the nodes' subscriptions", async {
        while counter.subscriber_count(REQUEST_CHANNEL.into()).await != Ok(count) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}

#[test]
fn two_servers_answer_each_other_then_a_dropped_one_leaves() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        let server = RedisServer::start();
        let counter = RedisAdapter::connect(&server.url()).await.expect("connect");
        let a = node(&server).await;
        let b = node(&server).await;
        b.on_server_side_emit("add-one", |n: i64, ack: ServerSideAck| async move {
            let _ = ack.send(&(n + 1));
        });
        wait_for_subscribers(&counter, 2).await;
        assert!(a.adapter_connected() && b.adapter_connected());
        let replies: Vec<i64> = within(
            "the server-side emit's answers",
            a.server_side_emit_with_ack("add-one", &41),
        )
        .await
        .expect("answers from the other node");
        assert_eq!(replies, vec![42]);
        // Each node sees the other's (zero) sockets and answers fetches.
        let sockets = within("fetch_sockets", b.fetch_sockets())
            .await
            .expect("fetch_sockets over the cluster");
        assert!(sockets.is_empty());
        // A dropped server stops its adapter: its subscriber connection closes.
        drop(b);
        wait_for_subscribers(&counter, 1).await;
        let replies: Vec<i64> = within(
            "the server-side emit's answers",
            a.server_side_emit_with_ack("add-one", &1),
        )
        .await
        .expect("no other node: no answers");
        assert!(replies.is_empty());
    });
}
