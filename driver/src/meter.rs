//! Metrics through the `metrics` facade: the application installs a
//! recorder (Prometheus, StatsD, ...) and sees these; without one each
//! call is a load of the no-op recorder and nothing more. Engine-level
//! totals come from the core's [`EngineStats`], diffed after each drain of
//! the server (the core bumps plain counters; nothing here runs per byte).
//!
//! Floor: the bottom one. It names metrics and records them; callers on
//! every floor call in.

use std::sync::Mutex;

use metrics::{counter, gauge};
use sio_core::engine::stats::{EngineStats, ALL_CLOSE_REASONS};

use crate::sync::lock;

/// Engine.IO sessions opened, by `transport` (`polling`, `websocket`).
pub const CONNECTIONS: &str = "sio_connections_total";
/// Sessions upgraded from polling to WebSocket.
pub const UPGRADES: &str = "sio_upgrades_total";
/// Engine.IO sessions closed, by `reason` (Engine.IO's reason strings).
pub const CONNECTION_CLOSES: &str = "sio_connection_closes_total";
/// Clients dropped for leaving too much unread (`max_buffered_*`).
pub const BACKLOG_DROPS: &str = "sio_backlog_drops_total";
/// Engine.IO message packets received.
pub const PACKETS_IN: &str = "sio_packets_received_total";
/// Their bytes.
pub const BYTES_IN: &str = "sio_bytes_received_total";
/// Engine.IO message packets sent (each broadcast recipient counts).
pub const PACKETS_OUT: &str = "sio_packets_sent_total";
/// Their bytes.
pub const BYTES_OUT: &str = "sio_bytes_sent_total";
/// Sockets connected now, by `namespace`.
pub const SOCKETS: &str = "sio_sockets";
/// Sockets disconnected, by `reason` (Socket.IO's reason strings).
pub const DISCONNECTS: &str = "sio_disconnects_total";
/// Server-to-client emits waiting for their acknowledgement.
pub const ACKS_PENDING: &str = "sio_acks_pending";
/// Server-to-client acknowledgements that did not come in time.
pub const ACKS_TIMED_OUT: &str = "sio_acks_timed_out_total";
/// Messages published on the cluster bus.
pub const ADAPTER_PUBLISHED: &str = "sio_adapter_published_total";
/// Messages received from the cluster bus.
pub const ADAPTER_RECEIVED: &str = "sio_adapter_received_total";
/// Cluster bus failures, by `kind` (`publish`, `queue_full`, `malformed`,
/// `down`).
pub const ADAPTER_ERRORS: &str = "sio_adapter_errors_total";
/// Sockets that got their kept session back (connection state recovery).
pub const RECOVERY_HITS: &str = "sio_recovery_hits_total";
/// Reconnections that asked for a kept session and found none (expired,
/// unknown, or its offset gone): they connect as new sockets.
pub const RECOVERY_MISSES: &str = "sio_recovery_misses_total";

/// The engine totals last reported, to report only what changed.
#[derive(Default)]
pub(crate) struct EngineMeter {
    last: Mutex<EngineStats>,
    last_recovery_misses: Mutex<u64>,
}

impl EngineMeter {
    /// Reports what moved since the last call.
    pub(crate) fn report(&self, now: &EngineStats) {
        let mut last = lock(&self.last);
        if *last == *now {
            return;
        }
        let up = |name: &'static str, before: u64, after: u64| {
            if after > before {
                counter!(name).increment(after - before);
            }
        };
        if now.opened_polling > last.opened_polling {
            counter!(CONNECTIONS, "transport" => "polling")
                .increment(now.opened_polling - last.opened_polling);
        }
        if now.opened_websocket > last.opened_websocket {
            counter!(CONNECTIONS, "transport" => "websocket")
                .increment(now.opened_websocket - last.opened_websocket);
        }
        up(UPGRADES, last.upgrades, now.upgrades);
        for reason in ALL_CLOSE_REASONS {
            let (before, after) = (last.closed_with(reason), now.closed_with(reason));
            if after > before {
                counter!(CONNECTION_CLOSES, "reason" => reason.as_str()).increment(after - before);
            }
        }
        up(BACKLOG_DROPS, last.backlog_drops, now.backlog_drops);
        up(PACKETS_IN, last.packets_in, now.packets_in);
        up(BYTES_IN, last.bytes_in, now.bytes_in);
        up(PACKETS_OUT, last.packets_out, now.packets_out);
        up(BYTES_OUT, last.bytes_out, now.bytes_out);
        *last = *now;
    }

    /// Reports the recovery misses since the last call (`misses` is the
    /// core store's running total).
    pub(crate) fn report_recovery_misses(&self, misses: u64) {
        let mut last = lock(&self.last_recovery_misses);
        if misses > *last {
            counter!(RECOVERY_MISSES).increment(misses - *last);
            *last = misses;
        }
    }
}

/// A socket got its kept session back.
pub(crate) fn recovery_hit() {
    counter!(RECOVERY_HITS).increment(1);
}

/// A socket joined `nsp`.
pub(crate) fn socket_connected(nsp: &str) {
    gauge!(SOCKETS, "namespace" => nsp.to_owned()).increment(1.0);
}

/// A socket of `nsp` left, for `reason`.
pub(crate) fn socket_disconnected(nsp: &str, reason: &'static str) {
    gauge!(SOCKETS, "namespace" => nsp.to_owned()).decrement(1.0);
    counter!(DISCONNECTS, "reason" => reason).increment(1);
}

/// `n` more (or, negative, fewer) acknowledgements are awaited.
pub(crate) fn acks_pending(delta: f64) {
    gauge!(ACKS_PENDING).increment(delta);
}

/// An acknowledgement did not come in time.
pub(crate) fn ack_timed_out() {
    counter!(ACKS_TIMED_OUT).increment(1);
}

/// A message went to the cluster bus.
pub(crate) fn adapter_published() {
    counter!(ADAPTER_PUBLISHED).increment(1);
}

/// A message came from the cluster bus.
pub(crate) fn adapter_received() {
    counter!(ADAPTER_RECEIVED).increment(1);
}

/// The cluster bus failed (`kind` says how).
pub(crate) fn adapter_error(kind: &'static str) {
    counter!(ADAPTER_ERRORS, "kind" => kind).increment(1);
}
