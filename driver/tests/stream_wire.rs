//! The streams wire on virtual time, over an in-memory stream: heartbeats
//! as Node's `ClusterAdapterWithHeartbeat` times them, ADAPTER_CLOSE on
//! shutdown and silence after it, and `socket.emit` with recovery stored
//! on the stream (a broadcast to the socket's own room) and then delivered
//! (that it carries the entry id as its offset, the npm client checks in
//! conformance/cluster/recovery-run.js).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use sio_driver::testing::VirtualRuntime;
use sio_driver::{
    client_socket, BoxFuture, BusError, BusEvent, BusSink, ClientConfig, ClientTransport, Config,
    RecoveryConfig, SocketIo, StreamBus,
};

const INTERVAL: Duration = Duration::from_secs(5);

#[derive(Default)]
struct Stream {
    entries: Vec<(String, Vec<(String, String)>)>,
    sinks: Vec<BusSink>,
}

/// A stream every node of the test shares; ids `1-0`, `2-0`, ...
#[derive(Clone, Default)]
struct MemoryLog(Arc<Mutex<Stream>>);

impl MemoryLog {
    /// Each entry's `type` field, in order.
    fn types(&self) -> Vec<String> {
        let stream = self.0.lock().unwrap();
        stream
            .entries
            .iter()
            .map(|(_, fields)| field(fields, "type"))
            .collect()
    }

    fn entries(&self) -> Vec<(String, Vec<(String, String)>)> {
        self.0.lock().unwrap().entries.clone()
    }

    fn clear(&self) {
        self.0.lock().unwrap().entries.clear();
    }

    /// Drops the nodes' sinks while the runtime still runs: their event
    /// loops then end on it. (Left to the end of the test, the last sink
    /// would go with the runtime's own teardown, whose waker drops the
    /// waiting event loop inside the channel's notification.)
    fn close(&self, rt: &VirtualRuntime) {
        self.0.lock().unwrap().sinks.clear();
        rt.run_until_idle();
    }
}

fn field(fields: &[(String, String)], name: &str) -> String {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

impl StreamBus for MemoryLog {
    fn start(&self, sink: BusSink) {
        self.0.lock().unwrap().sinks.push(sink);
    }

    fn append(&self, fields: Vec<(String, String)>) -> BoxFuture<Result<String, BusError>> {
        let (id, sinks) = {
            let mut stream = self.0.lock().unwrap();
            let id = format!("{}-0", stream.entries.len() + 1000);
            stream.entries.push((id.clone(), fields.clone()));
            (id, stream.sinks.clone())
        };
        let read: Vec<(Bytes, Bytes)> = fields
            .into_iter()
            .map(|(k, v)| (Bytes::from(k), Bytes::from(v)))
            .collect();
        for sink in sinks {
            sink(BusEvent::Entry {
                id: id.clone(),
                fields: read.clone(),
            });
        }
        Box::pin(async move { Ok(id) })
    }

    fn heartbeat_interval(&self) -> Duration {
        INTERVAL
    }
}

/// Another node's entry on the stream.
fn from_other(log: &MemoryLog, kind: &str) {
    let fields = vec![
        ("uid".to_string(), "other1".to_string()),
        ("nsp".to_string(), "/".to_string()),
        ("type".to_string(), kind.to_string()),
    ];
    drop(log.append(fields));
}

fn count(types: &[String], kind: &str) -> usize {
    types.iter().filter(|t| *t == kind).count()
}

#[test]
fn heartbeats_wait_an_interval_after_the_last_request_and_shutdown_leaves() {
    let rt = VirtualRuntime::new();
    let log = MemoryLog::default();
    let io = SocketIo::with_runtime(rt.clone(), Config::default()).with_stream_adapter(log.clone());
    rt.run_until_idle();
    assert_eq!(log.types(), vec!["1"], "INITIAL_HEARTBEAT at start");
    // Nothing else sent: a heartbeat each interval.
    rt.advance(INTERVAL);
    rt.advance(INTERVAL);
    rt.run_until_idle();
    assert_eq!(log.types(), vec!["1", "2", "2"]);
    log.clear();
    // A server-side emit (a request in Node's terms) every 3 s rearms the
    // timer: no heartbeat while they go on.
    for _ in 0..4 {
        rt.advance(Duration::from_secs(3));
        io.server_side_emit("note", &1).unwrap();
        rt.run_until_idle();
    }
    assert_eq!(count(&log.types(), "2"), 0, "{:?}", log.types());
    assert_eq!(count(&log.types(), "9"), 4);
    // Broadcasts do not rearm it (Node's publishAndReturnOffset).
    log.clear();
    for _ in 0..4 {
        rt.advance(Duration::from_secs(3));
        io.emit("news", &1).unwrap();
        rt.run_until_idle();
    }
    assert_eq!(count(&log.types(), "3"), 4);
    assert_eq!(count(&log.types(), "2"), 2, "{:?}", log.types());
    // Another node's INITIAL_HEARTBEAT is answered with a heartbeat.
    log.clear();
    from_other(&log, "1");
    rt.run_until_idle();
    assert_eq!(log.types(), vec!["1", "2"]);
    // Shutdown: ADAPTER_CLOSE, then silence (no heartbeat, no answer).
    log.clear();
    let closing = io.clone();
    rt.block_on(async move { closing.shutdown().await });
    rt.run_until_idle();
    assert_eq!(log.types(), vec!["13"]);
    from_other(&log, "1");
    rt.advance(INTERVAL * 4);
    rt.run_until_idle();
    assert_eq!(log.types(), vec!["13", "1"]);
    log.close(&rt);
}

#[test]
fn a_node_that_leaves_is_no_longer_waited_for() {
    let rt = VirtualRuntime::new();
    let log = MemoryLog::default();
    let io = SocketIo::with_runtime(rt.clone(), Config::default()).with_stream_adapter(log.clone());
    rt.run_until_idle();
    from_other(&log, "2");
    rt.run_until_idle();
    // The other node never answers; then it leaves (ADAPTER_CLOSE): the
    // request completes then, not at its timeout (time does not move).
    let asking = io.clone();
    let request = rt.spawn_task(async move {
        asking
            .server_side_emit_with_ack::<_, serde_json::Value>("ping", &1)
            .await
    });
    rt.run_until_idle();
    assert!(!request.is_finished());
    assert_eq!(count(&log.types(), "9"), 1);
    from_other(&log, "13");
    rt.run_until_idle();
    assert!(request.is_finished());
    assert_eq!(
        request.take().expect("no error"),
        Vec::<serde_json::Value>::new()
    );
    // Nor counted for the next one: it does not even go out.
    let asking = io.clone();
    let next = rt.spawn_task(async move {
        asking
            .server_side_emit_with_ack::<_, serde_json::Value>("ping", &2)
            .await
    });
    rt.run_until_idle();
    assert!(next.is_finished());
    assert_eq!(count(&log.types(), "9"), 1);
    log.close(&rt);
}

#[test]
fn socket_emit_with_recovery_is_a_broadcast_to_its_own_room_on_the_stream() {
    let rt = VirtualRuntime::new();
    let log = MemoryLog::default();
    let mut config = Config::default();
    config.connection_state_recovery = Some(RecoveryConfig::default());
    let io = SocketIo::with_runtime(rt.clone(), config).with_stream_adapter(log.clone());
    let sids = Arc::new(Mutex::new(Vec::new()));
    let seen = sids.clone();
    io.on_connection(move |socket| {
        let seen = seen.clone();
        async move {
            seen.lock().unwrap().push(socket.id().to_string());
            socket.emit("hello", &7u32).unwrap();
        }
    });
    let _listener = rt.listen("localhost", 3000, &io);
    let mut client_config = ClientConfig::default();
    client_config.engine.transports = vec![ClientTransport::WebSocket];
    let client = client_socket(rt.clone(), "http://localhost:3000", client_config).unwrap();
    let received = Arc::new(Mutex::new(Vec::new()));
    let got = received.clone();
    // The client takes the offset off before its handlers see the event.
    client.on("hello", move |_, args: u32, _| {
        let got = got.clone();
        async move { got.lock().unwrap().push(args) }
    });
    client.connect();
    rt.run_until_idle();
    let sid = sids.lock().unwrap().pop().expect("connected");
    let broadcast = log
        .entries()
        .into_iter()
        .find(|(_, fields)| field(fields, "type") == "3")
        .expect("the emit on the stream");
    let data = field(&broadcast.1, "data");
    assert!(
        data.contains(&format!(r#""rooms":["{sid}"]"#)) && data.contains(r#""except":[]"#),
        "{data}"
    );
    assert_eq!(*received.lock().unwrap(), vec![7]);
    log.close(&rt);
}
