//! The sharded adapter on a 3-master Redis Cluster (scripts/redis-services
//! cluster) under two real sio servers (tokio): rooms created and deleted
//! on a node subscribe and unsubscribe their shard channels (read on the
//! masters with `PUBSUB SHARDCHANNELS` / `SHARDNUMSUB`), a broadcast to a
//! room crosses on the room's channel, requests and answers cross.

mod common;

use std::collections::BTreeSet;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::services::Services;
use common::within;
use sio_driver::Bus;
use sio_redis::{RedisAdapter, SubscriptionMode};
use sio_tokio::{ClientConfig, Config, ServerSideAck, SocketIo};
use tokio::net::TcpListener;

/// Every master's answer to `PUBSUB <args>`, the lines of each.
fn ask_masters(urls: &[String], args: &[&str]) -> Vec<Vec<String>> {
    urls.iter()
        .map(|url| {
            let out = Command::new("redis-cli")
                .args(["-u", url, "PUBSUB"])
                .args(args)
                .output()
                .expect("run redis-cli");
            assert!(out.status.success(), "redis-cli: {out:?}");
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter(|line| !line.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .collect()
}

/// The shard channels subscribed on the masters (all of them together).
fn shard_channels(urls: &[String]) -> BTreeSet<String> {
    ask_masters(urls, &["SHARDCHANNELS"])
        .into_iter()
        .flatten()
        .collect()
}

/// `channel`'s subscribers, summed over the masters, and on how many
/// masters it has any (a shard channel lives on its slot's master only).
fn shard_numsub(urls: &[String], channel: &str) -> (usize, usize) {
    let counts: Vec<usize> = ask_masters(urls, &["SHARDNUMSUB", channel])
        .into_iter()
        .map(|lines| lines.last().and_then(|n| n.parse().ok()).unwrap_or(0))
        .collect();
    (
        counts.iter().sum(),
        counts.iter().filter(|&&n| n > 0).count(),
    )
}

/// Waits until `check` holds for the masters' shard channels.
async fn until_channels(urls: &[String], what: &str, check: impl Fn(&BTreeSet<String>) -> bool) {
    within(what, async {
        while !check(&shard_channels(urls)) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
}

/// A sio server on the sharded adapter, listening (when `listen`: the
/// accept loop keeps it alive); its address.
async fn node(nodes: &[String], mode: SubscriptionMode, listen: bool) -> (SocketIo, String) {
    let bus = RedisAdapter::sharded(nodes.to_vec())
        .subscription_mode(mode)
        .connect()
        .await
        .expect("connect to the cluster");
    assert_eq!(bus.sharded(), Some(mode));
    let io = sio_tokio::new(Config::default()).with_adapter(bus);
    if !listen {
        return (io, String::new());
    }
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(sio_tokio::serve(listener, io.clone()));
    (io, address)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

#[test]
fn rooms_subscribe_and_unsubscribe_their_shard_channels() {
    runtime().block_on(async {
        let cluster = Services::start("cluster");
        let urls = cluster.urls.clone();
        let (a, a_url) = node(&urls[..1], SubscriptionMode::Dynamic, true).await;
        let (b, _) = node(&urls[1..], SubscriptionMode::Dynamic, false).await;
        b.on_server_side_emit("add-one", |n: i64, ack: ServerSideAck| async move {
            let _ = ack.send(&(n + 1));
        });
        // Both nodes on the namespace's channel (one master holds it), each
        // on its own response channel.
        within("both nodes on socket.io#/#", async {
            while shard_numsub(&urls, "socket.io#/#") != (2, 1) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        let replies: Vec<i64> = within("the answers", a.server_side_emit_with_ack("add-one", &41))
            .await
            .expect("an answer from b");
        assert_eq!(replies, vec![42]);

        a.on_connection(|socket| async move {
            let _ = socket.join("blue");
        });
        let client = sio_tokio::client::socket(&a_url, ClientConfig::default()).expect("url");
        let got = Arc::new(Mutex::new(Vec::new()));
        let seen = got.clone();
        client.on("news", move |_, text: String, _| {
            let seen = seen.clone();
            async move { seen.lock().unwrap().push(text) }
        });
        client.connect();
        // "blue" gets a channel on a; the socket's own room does not.
        until_channels(&urls, "blue's channel", |channels| {
            channels.contains("socket.io#/#blue#")
        })
        .await;
        let sid = within("the client's id", async {
            loop {
                if let Some(id) = client.id() {
                    return id;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
        let channels = shard_channels(&urls);
        assert!(
            !channels.contains(&format!("socket.io#/#{sid}#")),
            "{channels:?}"
        );
        assert_eq!(shard_numsub(&urls, "socket.io#/#blue#"), (1, 1));

        // b broadcasts to the room: it crosses on blue's channel.
        b.to("blue").emit("news", "to blue").expect("emit");
        within("the room broadcast", async {
            while got.lock().unwrap().is_empty() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
        assert_eq!(*got.lock().unwrap(), vec!["to blue".to_string()]);

        // b makes a's socket leave the room: blue is deleted on a, its
        // channel unsubscribed; joining another room subscribes that one.
        b.sockets_leave("blue");
        b.sockets_join("green");
        until_channels(&urls, "blue gone, green there", |channels| {
            !channels.contains("socket.io#/#blue#") && channels.contains("socket.io#/#green#")
        })
        .await;

        // The client leaves: its rooms are deleted, their channels go.
        client.disconnect();
        until_channels(&urls, "green gone", |channels| {
            !channels.contains("socket.io#/#green#")
        })
        .await;
        // A dropped server lets go of its namespace's channel.
        drop(b);
        within("b gone from socket.io#/#", async {
            while shard_numsub(&urls, "socket.io#/#").0 != 1 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        drop(a);
    });
}

#[test]
fn static_mode_subscribes_no_room_channel() {
    runtime().block_on(async {
        let cluster = Services::start("cluster");
        let urls = cluster.urls.clone();
        let (a, a_url) = node(&urls, SubscriptionMode::Static, true).await;
        let (b, _) = node(&urls, SubscriptionMode::Static, false).await;
        let joined = Arc::new(AtomicUsize::new(0));
        let count = joined.clone();
        a.on_connection(move |socket| {
            let count = count.clone();
            async move {
                let _ = socket.join("blue");
                count.fetch_add(1, Ordering::SeqCst);
            }
        });
        let client = sio_tokio::client::socket(&a_url, ClientConfig::default()).expect("url");
        let got = Arc::new(Mutex::new(Vec::new()));
        let seen = got.clone();
        client.on("news", move |_, text: String, _| {
            let seen = seen.clone();
            async move { seen.lock().unwrap().push(text) }
        });
        client.connect();
        within("the client in blue", async {
            while joined.load(Ordering::SeqCst) != 1 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
        within("both nodes on socket.io#/#", async {
            while shard_numsub(&urls, "socket.io#/#").0 != 2 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        // Only the namespace's channel and the two response channels.
        let channels = shard_channels(&urls);
        assert_eq!(channels.len(), 3, "{channels:?}");
        // A room broadcast crosses on the namespace's channel.
        b.to("blue").emit("news", "static").expect("emit");
        within("the room broadcast", async {
            while got.lock().unwrap().is_empty() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
        client.disconnect();
    });
}

/// `redis-cli -u url args...`, its output trimmed.
fn cli(url: &str, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .arg("-u")
        .arg(url)
        .args(args)
        .output()
        .expect("run redis-cli");
    assert!(out.status.success(), "redis-cli: {out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Resharding: the slot of a room's channel moves to another master (no
/// key in it, so `CLUSTER SETSLOT ... NODE` on every master). Redis then
/// drops that shard channel's subscribers on the old owner; the node
/// subscribes again on the new one and the room's broadcasts still cross.
#[test]
fn a_room_channel_follows_its_slot_to_another_master() {
    runtime().block_on(async {
        let cluster = Services::start("cluster");
        let urls = cluster.urls.clone();
        let (a, a_url) = node(&urls[..1], SubscriptionMode::Dynamic, true).await;
        let (b, _) = node(&urls[1..], SubscriptionMode::Dynamic, false).await;
        a.on_connection(|socket| async move {
            let _ = socket.join("blue");
        });
        let client = sio_tokio::client::socket(&a_url, ClientConfig::default()).expect("url");
        let got = Arc::new(Mutex::new(Vec::new()));
        let seen = got.clone();
        client.on("news", move |_, text: String, _| {
            let seen = seen.clone();
            async move { seen.lock().unwrap().push(text) }
        });
        client.connect();
        let channel = "socket.io#/#blue#";
        until_channels(&urls, "blue's channel", |channels| {
            channels.contains(channel)
        })
        .await;
        let owner = ask_masters(&urls, &["SHARDNUMSUB", channel])
            .iter()
            .position(|lines| lines.last().map(String::as_str) == Some("1"))
            .expect("the owner of blue's slot");
        let target = (owner + 1) % urls.len();
        let slot = cli(&urls[0], &["CLUSTER", "KEYSLOT", channel]);
        let target_id = cli(&urls[target], &["CLUSTER", "MYID"]);
        for url in std::iter::once(&urls[target]).chain(urls.iter()) {
            assert_eq!(
                cli(url, &["CLUSTER", "SETSLOT", &slot, "NODE", &target_id]),
                "OK"
            );
        }
        within("blue's channel on its new master", async {
            loop {
                let counts = ask_masters(&urls, &["SHARDNUMSUB", channel]);
                if counts[target].last().map(String::as_str) == Some("1") {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        b.to("blue").emit("news", "after the move").expect("emit");
        within("the room broadcast after the move", async {
            while got.lock().unwrap().is_empty() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
        client.disconnect();
    });
}
