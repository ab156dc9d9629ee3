//! `server_stats`, as the reference emits it every two seconds: who this
//! server is, its clients, its namespaces' socket counts and the engine's
//! events since the last report, counted per second (`aggregatedEvents`:
//! `rawConnection`, `rawDisconnection` by reason, `packetsIn`/`Out`,
//! `bytesIn`/`Out`). The engine's totals are sampled once a second.

use std::sync::{Arc, Weak};
use std::time::{Duration, UNIX_EPOCH};

use serde_json::{json, Value};
use sio_core::engine::stats::{EngineStats, ALL_CLOSE_REASONS};

use super::STATS_INTERVAL;
use crate::namespace::Namespace;
use crate::shared::Shared;

/// How often the engine's totals are sampled into per-second counts.
const SAMPLE_INTERVAL: Duration = Duration::from_secs(1);

/// Emits `server_stats` on `admin_nsp` until the server is gone.
pub(super) async fn run(shared: Weak<Shared>, admin_nsp: Arc<str>, server_id: Option<String>) {
    let Some(first) = shared.upgrade() else {
        return;
    };
    let hostname = hostname();
    let identity = json!({
        "serverId": server_id.unwrap_or_else(|| hostname.clone()),
        "hostname": hostname,
        "pid": std::process::id(),
    });
    let started = first.clock.now_std();
    let runtime = first.runtime.clone();
    let mut last = first.engine_stats().0;
    let mut events: Vec<Value> = Vec::new();
    emit(&first, &admin_nsp, &identity, started, &mut events);
    drop(first);
    let per_report = (STATS_INTERVAL.as_millis() / SAMPLE_INTERVAL.as_millis()).max(1);
    let mut samples = 0;
    loop {
        let next = runtime.now() + SAMPLE_INTERVAL;
        runtime.sleep_until(next).await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        if shared.endpoint.is_shutting_down() {
            return;
        }
        let now = shared.engine_stats().0;
        let second = shared
            .clock
            .wall_clock()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() * 1000);
        aggregate(&last, &now, second, &mut events);
        last = now;
        samples += 1;
        if samples % per_report == 0 {
            emit(&shared, &admin_nsp, &identity, started, &mut events);
        }
    }
}

fn emit(
    shared: &Arc<Shared>,
    admin_nsp: &str,
    identity: &Value,
    started: std::time::Instant,
    events: &mut Vec<Value>,
) {
    let (stats, clients) = shared.engine_stats();
    let polling = stats.polling_sessions;
    let counts = shared.sockets_per_namespace();
    let namespaces: Vec<Value> = shared
        .namespaces
        .names()
        .iter()
        .map(|name| json!({ "name": &**name, "socketsCount": counts.get(name).copied().unwrap_or(0) }))
        .collect();
    let mut stats = identity.clone();
    if let Value::Object(map) = &mut stats {
        let uptime = shared.clock.now_std().saturating_duration_since(started);
        map.insert("uptime".into(), json!(uptime.as_secs_f64()));
        map.insert("clientsCount".into(), json!(clients));
        map.insert("pollingClientsCount".into(), json!(polling));
        map.insert(
            "aggregatedEvents".into(),
            Value::Array(std::mem::take(events)),
        );
        map.insert("namespaces".into(), Value::Array(namespaces));
    }
    let _ = Namespace::existing(shared, admin_nsp).emit("server_stats", &stats);
}

/// What moved between two samples, as the reference's event buffer holds
/// it: one entry per type (and reason) with its count, stamped with the
/// second it was seen in.
fn aggregate(before: &EngineStats, after: &EngineStats, second_ms: u64, out: &mut Vec<Value>) {
    let mut push = |kind: &str, sub: Option<&str>, count: u64| {
        if count > 0 {
            let mut entry = json!({ "timestamp": second_ms, "type": kind, "count": count });
            if let (Some(sub), Value::Object(map)) = (sub, &mut entry) {
                map.insert("subType".into(), Value::from(sub));
            }
            out.push(entry);
        }
    };
    let opened = |s: &EngineStats| s.opened_polling + s.opened_websocket;
    push("rawConnection", None, opened(after) - opened(before));
    for reason in ALL_CLOSE_REASONS {
        let count = after.closed_with(reason) - before.closed_with(reason);
        push("rawDisconnection", Some(reason.as_str()), count);
    }
    push("packetsIn", None, after.packets_in - before.packets_in);
    push("packetsOut", None, after.packets_out - before.packets_out);
    push("bytesIn", None, after.bytes_in - before.bytes_in);
    push("bytesOut", None, after.bytes_out - before.bytes_out);
}

/// The machine's name (the reference's `os.hostname()`).
fn hostname() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|path| std::fs::read_to_string(path).ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .unwrap_or_else(|| "localhost".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_moved_is_reported() {
        let before = EngineStats::default();
        let mut after = before;
        after.opened_polling = 2;
        after.packets_in = 3;
        after.bytes_in = 30;
        let mut out = Vec::new();
        aggregate(&before, &after, 5000, &mut out);
        assert_eq!(
            out,
            vec![
                json!({"timestamp": 5000, "type": "rawConnection", "count": 2}),
                json!({"timestamp": 5000, "type": "packetsIn", "count": 3}),
                json!({"timestamp": 5000, "type": "bytesIn", "count": 30}),
            ]
        );
    }
}
