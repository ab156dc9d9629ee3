//! The streams wire of the cluster: what this node does with each entry of
//! the shared stream (socket.io-adapter's `ClusterAdapterWithHeartbeat`
//! `onMessage`), and its heartbeats.
//!
//! Floor: streams, beside answer (above cluster, shared and bus; below
//! namespace). `impl Cluster` blocks that the cluster's event loop calls.

use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::Bytes;
use bytestring::ByteString;

use super::bus::StreamBus;
use super::cluster::{Cluster, Wire};
use super::meter;
use super::shared::Shared;
use super::sync::lock;
use sio_core::adapter::{
    decode_session, encode_session, is_stream_id, missed_packet, next_stream_id, BroadcastMessage,
    ClusterBody, ClusterMessage, SESSION_KEY_PREFIX,
};
use sio_core::server::{ConnectRequestId, PersistedSession, RestoredSession};

/// Entries read per `XRANGE` while restoring a session.
const RANGE_COUNT: usize = 1000;
/// The most `XRANGE` calls for one restore (the reference's 100): a client
/// whose offset is further back than this gets a new session rather than
/// a partial replay.
const MAX_RANGE_CALLS: usize = 100;

impl Cluster {
    /// Handles one stream entry: its own and other namespaces' are
    /// skipped; any other counts its sender as alive.
    pub(super) fn handle_entry(
        self: &Arc<Self>,
        shared: &Arc<Shared>,
        id: &str,
        fields: &[(Bytes, Bytes)],
    ) {
        let message = match ClusterMessage::from_fields(fields) {
            Ok(message) => message,
            Err(error) => {
                meter::adapter_error("malformed");
                tracing::warn!(%id, %error, "malformed stream entry dropped");
                return;
            }
        };
        if message.uid == self.uid() {
            return;
        }
        let nsp = message.nsp.as_str();
        {
            let mut state = lock(&self.state);
            if !state.namespaces.contains(nsp) {
                return;
            }
            state.nodes.heard(nsp, &message.uid, shared.clock.now());
        }
        match message.body {
            ClusterBody::InitialHeartbeat => self.heartbeat(nsp),
            ClusterBody::Heartbeat => {}
            ClusterBody::AdapterClose => lock(&self.state).nodes.remove(nsp, &message.uid),
            ClusterBody::Broadcast { packet, opts } => {
                let broadcast = BroadcastMessage {
                    uid: message.uid.clone(),
                    packet,
                    opts,
                };
                self.deliver_broadcast(shared, nsp, &broadcast, Some(id));
            }
            ClusterBody::Request(request) => self.answer(shared, nsp, request),
            ClusterBody::Response(response) => {
                let mut state = lock(&self.state);
                let _ = state.requests.feed(response);
                self.settle(&mut state, shared.clock.now());
            }
        }
    }

    /// Looks the session `pid` up in Redis (taken out: restored once at
    /// most) and the broadcasts after `offset` that reach it, then answers
    /// the core. `pid` and `offset` come from the client: a malformed
    /// offset finds nothing, and reading back is bounded.
    pub(crate) fn restore_session(
        &self,
        shared: &Arc<Shared>,
        request: ConnectRequestId,
        nsp: ByteString,
        pid: String,
        offset: String,
    ) {
        let log = match &self.wire {
            Wire::Stream(log) => Some(log.clone()),
            Wire::PubSub(_) => None,
        };
        let weak = Arc::downgrade(shared);
        shared.spawn(async move {
            let restored = match log {
                Some(log) => restore(log.as_ref(), &nsp, &pid, &offset).await,
                None => None,
            };
            if restored.is_none() {
                tracing::debug!(%nsp, "no session to restore (gone, expired or unknown offset)");
            }
            if let Some(shared) = weak.upgrade() {
                // Unknown when the client left meanwhile: nothing to answer.
                let _ = shared.process(|server, now| server.answer_restore(now, request, restored));
            }
        });
    }

    /// Keeps `session` in Redis for `ttl` (Node's `persistSession`).
    pub(crate) fn persist_session(
        &self,
        shared: &Arc<Shared>,
        session: PersistedSession,
        ttl: Duration,
    ) {
        let Wire::Stream(log) = &self.wire else {
            return;
        };
        let value = match encode_session(&session) {
            Ok(value) => value,
            Err(error) => {
                tracing::warn!(%error, "session too large to keep");
                return;
            }
        };
        let key = format!("{SESSION_KEY_PREFIX}{}", session.pid);
        let kept = log.persist_session(key, value, ttl);
        shared.spawn(async move {
            if let Err(error) = kept.await {
                meter::adapter_error("persist_session");
                tracing::warn!(%error, "cannot keep a session for recovery");
            }
        });
    }

    /// Says on the stream that this node serves `nsp`.
    fn heartbeat(&self, nsp: &str) {
        self.append(&ClusterMessage {
            uid: self.uid().to_owned(),
            nsp: nsp.to_owned(),
            body: ClusterBody::Heartbeat,
        });
    }

    /// Heartbeats every namespace each `interval` until the server is
    /// dropped.
    pub(super) async fn heartbeat_loop(shared: Weak<Shared>, interval: Duration) {
        loop {
            let sleep = {
                let Some(shared) = shared.upgrade() else {
                    return;
                };
                let deadline = shared.clock.to_std(shared.clock.now() + interval);
                shared.runtime.sleep_until(deadline)
            };
            sleep.await;
            let Some(shared) = shared.upgrade() else {
                return;
            };
            let Some(cluster) = shared.cluster().cloned() else {
                return;
            };
            let namespaces: Vec<Arc<str>> =
                lock(&cluster.state).namespaces.iter().cloned().collect();
            for nsp in namespaces {
                cluster.heartbeat(&nsp);
            }
        }
    }
}

/// The reference's `restoreSession`: the session (taken out) and the
/// broadcasts after `offset` that reach it; `None` when either is gone, the
/// offset is not a stream id, Redis fails, or the range is too long.
async fn restore(
    log: &dyn StreamBus,
    nsp: &str,
    pid: &str,
    offset: &str,
) -> Option<RestoredSession> {
    if !is_stream_id(offset) {
        return None;
    }
    let raw = log
        .take_session(format!("{SESSION_KEY_PREFIX}{pid}"))
        .await
        .ok()??;
    let known = log
        .range(offset.to_owned(), offset.to_owned(), 1)
        .await
        .ok()?;
    if known.is_empty() {
        return None;
    }
    let session = decode_session(&raw, nsp).ok()?;
    let mut missed = Vec::new();
    let mut last = offset.to_owned();
    for _ in 0..MAX_RANGE_CALLS {
        let entries = log
            .range(next_stream_id(&last)?, "+".into(), RANGE_COUNT)
            .await
            .ok()?;
        if entries.is_empty() {
            return Some(RestoredSession { session, missed });
        }
        for (id, fields) in entries {
            if let Ok(message) = ClusterMessage::from_fields(&fields) {
                missed.extend(missed_packet(&message, &id, nsp, &session.rooms));
            }
            last = id;
        }
    }
    None
}
