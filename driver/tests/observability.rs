//! Metrics and the Admin UI's protocol on virtual time: a recorder sees the
//! counters move with what raw clients did, and an admin socket gets the
//! reference's messages and has its commands obeyed (or, read-only, not).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use serde_json::Value;
use sio_driver::admin::{AdminAuth, AdminOptions};
use sio_driver::testing::{RawClient, VirtualRuntime};
use sio_driver::{meter, Config, RecoveryConfig, SocketIo};

/// Counters and gauges by `name{label=value,...}`.
#[derive(Default, Clone)]
struct TestRecorder {
    values: Arc<Mutex<BTreeMap<String, Arc<AtomicU64>>>>,
}

impl TestRecorder {
    fn handle(&self, key: &Key) -> Arc<AtomicU64> {
        let labels: Vec<String> = key
            .labels()
            .map(|l| format!("{}={}", l.key(), l.value()))
            .collect();
        let name = if labels.is_empty() {
            key.name().to_owned()
        } else {
            format!("{}{{{}}}", key.name(), labels.join(","))
        };
        self.values.lock().unwrap().entry(name).or_default().clone()
    }

    fn counter(&self, name: &str) -> u64 {
        self.values
            .lock()
            .unwrap()
            .get(name)
            .map_or(0, |v| v.load(Ordering::Relaxed))
    }

    fn gauge(&self, name: &str) -> f64 {
        f64::from_bits(self.counter(name))
    }
}

impl Recorder for TestRecorder {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.handle(key))
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(self.handle(key))
    }
    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

#[test]
fn counters_follow_what_clients_do() {
    let recorder = TestRecorder::default();
    metrics::with_local_recorder(&recorder, || {
        let rt = VirtualRuntime::new();
        let io = SocketIo::with_runtime(rt.clone(), Config::default());
        io.on_connection(|socket| async move {
            socket.on("hello", |socket, _: Value, _ack| async move {
                // An ack that never comes: it times out.
                let reply = socket
                    .timeout(Duration::from_secs(1))
                    .emit_with_ack::<_, Value>("question", &1);
                let _ = reply.await;
            });
        });
        let (mut a, _) = RawClient::connect(&rt, &io, "/", None);
        let (b, _) = RawClient::connect(&rt, &io, "/", None);
        assert_eq!(
            recorder.gauge(&format!("{}{{namespace=/}}", meter::SOCKETS)),
            2.0
        );
        assert_eq!(
            recorder.counter(&format!("{}{{transport=websocket}}", meter::CONNECTIONS)),
            2
        );
        a.send_text("42[\"hello\",{}]", &[]);
        assert!(a.recv_text().contains("question"));
        assert_eq!(recorder.gauge(meter::ACKS_PENDING), 1.0);
        rt.advance(Duration::from_secs(2));
        assert_eq!(recorder.counter(meter::ACKS_TIMED_OUT), 1);
        assert_eq!(recorder.gauge(meter::ACKS_PENDING), 0.0);
        // Two CONNECTs and the event in; two CONNECT answers and the question out.
        assert_eq!(recorder.counter(meter::PACKETS_IN), 3);
        assert_eq!(recorder.counter(meter::PACKETS_OUT), 3);
        assert!(recorder.counter(meter::BYTES_IN) > "0".len() as u64 * 2);
        b.drop_connection();
        rt.run_until_idle();
        assert_eq!(
            recorder.gauge(&format!("{}{{namespace=/}}", meter::SOCKETS)),
            1.0
        );
        assert_eq!(
            recorder.counter(&format!("{}{{reason=transport close}}", meter::DISCONNECTS)),
            1
        );
        assert_eq!(
            recorder.counter(&format!(
                "{}{{reason=transport close}}",
                meter::CONNECTION_CLOSES
            )),
            1
        );
    });
}

#[test]
fn recovery_hits_and_misses_are_counted() {
    let recorder = TestRecorder::default();
    metrics::with_local_recorder(&recorder, || {
        let rt = VirtualRuntime::new();
        let mut config = Config::default();
        config.connection_state_recovery = Some(RecoveryConfig::default());
        let io = SocketIo::with_runtime(rt.clone(), config);
        io.on_connection(|socket| async move {
            let _ = socket.emit("welcome", &1);
        });
        let (mut a, reply) = RawClient::connect(&rt, &io, "/", None);
        let reply: Value = serde_json::from_str(&reply.text["40".len()..]).expect("reply JSON");
        let pid = reply["pid"].as_str().expect("a pid").to_owned();
        // `42["welcome",1,"<offset>"]`: the offset is the last argument.
        let welcome: Value = serde_json::from_str(&a.recv_text()["42".len()..]).expect("event");
        let offset = welcome[2].as_str().expect("an offset").to_owned();
        a.drop_connection();
        rt.run_until_idle();
        assert_eq!(recorder.counter(meter::RECOVERY_HITS), 0);

        let auth = format!(r#"{{"pid":"{pid}","offset":"{offset}"}}"#);
        let (_b, _) = RawClient::connect(&rt, &io, "/", Some(&auth));
        assert_eq!(recorder.counter(meter::RECOVERY_HITS), 1);
        assert_eq!(recorder.counter(meter::RECOVERY_MISSES), 0);
        // The same session again (already restored), and one never kept.
        let (_c, _) = RawClient::connect(&rt, &io, "/", Some(&auth));
        let (_d, _) = RawClient::connect(&rt, &io, "/", Some(r#"{"pid":"x","offset":"y"}"#));
        // A plain CONNECT is not a recovery attempt.
        let (_e, _) = RawClient::connect(&rt, &io, "/", None);
        assert_eq!(recorder.counter(meter::RECOVERY_HITS), 1);
        assert_eq!(recorder.counter(meter::RECOVERY_MISSES), 2);
    });
}

/// Reads packets until the event `name` on `/admin`; returns its arguments.
fn admin_event(client: &mut RawClient, name: &str) -> Vec<Value> {
    for _ in 0..64 {
        let Some(received) = client.recv() else { break };
        let Some(json) = received.text.strip_prefix("42/admin,") else {
            continue;
        };
        let items: Vec<Value> = serde_json::from_str(json).expect("event JSON");
        if items[0] == name {
            return items[1..].to_vec();
        }
    }
    panic!("no {name} event");
}

fn instrumented(readonly: bool) -> (VirtualRuntime, SocketIo) {
    let rt = VirtualRuntime::new();
    let io = SocketIo::with_runtime(rt.clone(), Config::default());
    io.on_connection(|socket| async move {
        let _ = socket.join("lobby");
        socket.on("ping", |socket, _: Value, _ack| async move {
            let _ = socket.emit("pong", &"hi");
        });
        socket.on("tag", |socket, tag: Value, _ack| async move {
            let _ = socket.set_data(&serde_json::json!({ "tag": tag }));
        });
    });
    let mut options = AdminOptions::new(AdminAuth::None);
    options.readonly = readonly;
    options.server_id = Some("node-a".into());
    io.instrument(options).expect("instrumented");
    (rt, io)
}

#[test]
fn the_admin_namespace_speaks_the_reference_protocol() {
    let (rt, io) = instrumented(false);
    let (mut user, _) = RawClient::connect(&rt, &io, "/", None);
    let (mut admin, reply) = RawClient::connect(&rt, &io, "/admin", None);
    assert!(reply.text.starts_with("40/admin,"), "{}", reply.text);
    let config = admin_event(&mut admin, "config");
    let features = &config[0]["supportedFeatures"];
    assert_eq!(
        features,
        &serde_json::json!([
            "EMIT",
            "JOIN",
            "LEAVE",
            "DISCONNECT",
            "MJOIN",
            "MLEAVE",
            "MDISCONNECT",
            "AGGREGATED_EVENTS",
            "ALL_EVENTS"
        ])
    );
    let all = admin_event(&mut admin, "all_sockets");
    let sockets = all[0].as_array().unwrap();
    let main = sockets.iter().find(|s| s["nsp"] == "/").expect("the user");
    assert_eq!(main["transport"], "websocket");
    assert_eq!(main["clientId"].as_str().unwrap().len(), 12);
    assert!(main["rooms"].as_array().unwrap().contains(&"lobby".into()));
    let id = main["id"].as_str().unwrap().to_owned();

    // A socket as it connected (before its handler joined lobby), then the join.
    let (_late, _) = RawClient::connect(&rt, &io, "/", None);
    let connected = admin_event(&mut admin, "socket_connected");
    let late_id = connected[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(connected[0]["rooms"], serde_json::json!([late_id.as_str()]));
    let joined = admin_event(&mut admin, "room_joined");
    assert_eq!(
        &joined[..3],
        &["/".into(), "lobby".into(), Value::from(late_id.as_str())]
    );

    rt.advance(Duration::from_secs(2));
    let stats = admin_event(&mut admin, "server_stats");
    assert_eq!(stats[0]["serverId"], "node-a");
    assert_eq!(stats[0]["clientsCount"], 3);
    let namespaces = stats[0]["namespaces"].as_array().unwrap();
    let root = namespaces.iter().find(|n| n["name"] == "/").unwrap();
    assert_eq!(root["socketsCount"], 2);

    user.send_text("42[\"ping\",1]", &[]);
    let received = admin_event(&mut admin, "event_received");
    assert_eq!(received[0], "/");
    assert_eq!(received[1], id.as_str());
    assert_eq!(received[2], serde_json::json!(["ping", 1]));
    let sent = admin_event(&mut admin, "event_sent");
    assert_eq!(sent[2], serde_json::json!(["pong", "hi"]));

    user.send_text("42[\"tag\",7]", &[]);
    let updated = admin_event(&mut admin, "socket_updated");
    assert_eq!(
        updated[0],
        serde_json::json!({ "id": id.as_str(), "nsp": "/", "data": { "tag": 7 } })
    );

    admin.send_text(&format!("42/admin,[\"join\",\"/\",\"vip\",\"{id}\"]"), &[]);
    let joined = admin_event(&mut admin, "room_joined");
    assert_eq!(
        &joined[..3],
        &["/".into(), "vip".into(), Value::from(id.as_str())]
    );

    admin.send_text(
        &format!("42/admin,[\"_disconnect\",\"/\",false,\"{id}\"]"),
        &[],
    );
    let gone = admin_event(&mut admin, "socket_disconnected");
    assert_eq!(
        &gone[..3],
        &[
            "/".into(),
            Value::from(id.as_str()),
            "server namespace disconnect".into()
        ]
    );
    // Then it leaves its rooms, as Node's adapter reports.
    let mut left = Vec::new();
    while left.len() < 3 {
        let room_left = admin_event(&mut admin, "room_left");
        assert_eq!(room_left[2], id.as_str());
        left.push(room_left[1].as_str().unwrap().to_owned());
    }
    left.sort();
    let mut expected = vec![id.clone(), "lobby".to_owned(), "vip".to_owned()];
    expected.sort();
    assert_eq!(left, expected);
    let mut saw_disconnect = false;
    while let Some(packet) = user.recv() {
        saw_disconnect |= packet.text == "41";
    }
    assert!(saw_disconnect, "the user got DISCONNECT");
}

#[test]
fn read_only_admins_get_no_commands() {
    let (rt, io) = instrumented(true);
    let (mut user, _) = RawClient::connect(&rt, &io, "/", None);
    let (mut admin, _) = RawClient::connect(&rt, &io, "/admin", None);
    let config = admin_event(&mut admin, "config");
    assert_eq!(
        config[0]["supportedFeatures"],
        serde_json::json!(["AGGREGATED_EVENTS", "ALL_EVENTS"])
    );
    admin.send_text("42/admin,[\"_disconnect\",\"/\",true]", &[]);
    admin.send_text("42/admin,[\"join\",\"/\",\"vip\"]", &[]);
    rt.run_until_idle();
    assert_eq!(io.socket_count(), 2, "nobody was disconnected");
    while let Some(packet) = user.recv() {
        assert_ne!(packet.text, "41");
    }
    assert_eq!(user.closed(), None);
}

#[test]
fn a_bad_password_hash_or_namespace_is_refused() {
    let rt = VirtualRuntime::new();
    let io = SocketIo::with_runtime(rt.clone(), Config::default());
    let bad = AdminOptions::new(AdminAuth::Basic {
        username: "admin".into(),
        password_hash: "changeit".into(),
    });
    assert_eq!(
        io.instrument(bad),
        Err(sio_driver::admin::AdminError::InvalidPasswordHash)
    );
    let mut options = AdminOptions::new(AdminAuth::None);
    options.namespace_name = "admin".into();
    assert_eq!(
        io.instrument(options),
        Err(sio_driver::admin::AdminError::InvalidNamespace)
    );
    assert_eq!(io.instrument(AdminOptions::new(AdminAuth::None)), Ok(()));
    assert_eq!(
        io.instrument(AdminOptions::new(AdminAuth::None)),
        Err(sio_driver::admin::AdminError::AlreadyInstrumented)
    );
}
