//! The streams wire of the cluster: what this node does with each entry of
//! the shared stream (socket.io-adapter's `ClusterAdapterWithHeartbeat`
//! `onMessage`), its heartbeats, and the broadcasts (a socket's emits
//! among them) stored on the stream before they reach this node's sockets.
//!
//! Floor: streams, beside answer (above cluster, shared and bus; below
//! namespace). `impl Cluster` blocks that the cluster's event loop calls.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::Bytes;
use bytestring::ByteString;

use super::bus::StreamBus;
use super::cluster::{Cluster, Wire};
use super::meter;
use super::remote::args_value;
use super::shared::{LoggedEmits, Shared};
use super::socket::with_compress;
use super::sync::lock;
use sio_core::adapter::{
    decode_session, encode_session, is_stream_id, missed_packet, next_stream_id, BroadcastMessage,
    ClusterBody, ClusterMessage, Targets, Value, SESSION_KEY_PREFIX,
};
use sio_core::packet::RawJson;
use sio_core::server::{BroadcastOptions, ConnectRequestId, PersistedSession, RestoredSession};

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
        if message.uid == self.uid() || self.closed.load(Ordering::Acquire) {
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
            ClusterBody::AdapterClose => {
                // Node's `removeNode`: not counted, not waited for.
                let mut state = lock(&self.state);
                state.nodes.remove(nsp, &message.uid);
                state.requests.node_left(&message.uid);
                self.settle(&mut state, shared.clock.now());
            }
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
                let _ = state.requests.feed_from(&message.uid, response);
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
                let _ = shared.process_request(request, |server, now| {
                    server.answer_restore(now, request, restored)
                });
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
        let persisting = self.persisting.clone();
        persisting.fetch_add(1, Ordering::AcqRel);
        shared.spawn(async move {
            if let Err(error) = kept.await {
                meter::adapter_error("persist_session");
                tracing::warn!(%error, "cannot keep a session for recovery");
            }
            persisting.fetch_sub(1, Ordering::AcqRel);
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

    /// Heartbeats each namespace once `interval` passed without a message
    /// that rearms its timer (Node's `scheduleHeartbeat`), until the
    /// server is dropped or leaves the cluster.
    pub(super) async fn heartbeat_loop(shared: Weak<Shared>, interval: Duration) {
        loop {
            let sleep = {
                let Some(shared) = shared.upgrade() else {
                    return;
                };
                let Some(cluster) = shared.cluster() else {
                    return;
                };
                let now = shared.clock.now();
                // No namespace yet: look again an interval later (a new
                // one's INITIAL_HEARTBEAT arms it for then at the soonest).
                let due = lock(&cluster.state)
                    .heartbeats
                    .next_due()
                    .unwrap_or(now + interval);
                shared
                    .runtime
                    .sleep_until(shared.clock.to_std(due.max(now)))
            };
            sleep.await;
            let Some(shared) = shared.upgrade() else {
                return;
            };
            let Some(cluster) = shared.cluster().cloned() else {
                return;
            };
            if cluster.closed.load(Ordering::Acquire) {
                return;
            }
            let due = lock(&cluster.state).heartbeats.due(shared.clock.now());
            for nsp in due {
                cluster.heartbeat(&nsp);
            }
        }
    }

    /// Leaves the cluster, as Node's `adapter.close()` on `io.close()`:
    /// ADAPTER_CLOSE for every namespace, so the other nodes stop counting
    /// this one at once instead of after their heartbeat timeout; then no
    /// heartbeat, no message out, no entry handled. Returns once the last
    /// one is stored and the sessions of the sockets the shutdown closed
    /// are kept (a process that exits next loses none), or after the
    /// requests timeout.
    pub(crate) async fn leave(&self, shared: &Shared) {
        if !matches!(self.wire, Wire::Stream(_)) || self.closed.load(Ordering::Acquire) {
            return;
        }
        let namespaces: Vec<Arc<str>> = lock(&self.state).namespaces.iter().cloned().collect();
        let (stored, done) = async_channel::bounded::<()>(namespaces.len().max(1));
        for nsp in &namespaces {
            let stored = stored.clone();
            let message = ClusterMessage {
                uid: self.uid().to_owned(),
                nsp: nsp.to_string(),
                body: ClusterBody::AdapterClose,
            };
            let tell = move |_| {
                let _ = stored.try_send(());
            };
            self.append_then(&message, Some(Box::new(tell)));
        }
        drop(stored);
        self.closed.store(true, Ordering::Release);
        {
            let mut state = lock(&self.state);
            for nsp in &namespaces {
                state.heartbeats.stop(nsp);
            }
        }
        let deadline = shared.clock.to_std(shared.clock.now() + self.timeout);
        let sleep = shared.runtime.sleep_until(deadline);
        let all_stored = async {
            for _ in &namespaces {
                if done.recv().await.is_err() {
                    break;
                }
            }
        };
        futures_lite::future::or(all_stored, sleep).await;
        while self.persisting.load(Ordering::Acquire) > 0 && shared.clock.now_std() < deadline {
            let step = shared.clock.now_std() + Duration::from_millis(10);
            shared.runtime.sleep_until(step.min(deadline)).await;
        }
    }
}

/// A broadcast this node stores on the stream before its own sockets get
/// it, with the entry id as offset (Node's `ClusterAdapter.broadcast`).
pub(crate) struct LoggedBroadcast {
    pub(crate) nsp: String,
    pub(crate) opts: BroadcastOptions,
    pub(crate) data: RawJson,
    pub(crate) attachments: Vec<Bytes>,
    /// False: never permessage-deflate.
    pub(crate) compress: bool,
}

impl Cluster {
    /// Appends `broadcast` (as `value` to `targets`, what the other nodes
    /// read), then delivers it here with the entry id as offset; without
    /// one when the append failed (Node delivers after a failed publish
    /// too). Deliveries run in append order.
    pub(crate) fn log_then_deliver(
        &self,
        shared: &Arc<Shared>,
        value: Value,
        targets: Targets,
        broadcast: LoggedBroadcast,
    ) {
        let weak = Arc::downgrade(shared);
        let nsp = broadcast.nsp.clone();
        let deliver = Box::new(move |offset: Option<String>| {
            let Some(shared) = weak.upgrade() else {
                return;
            };
            let LoggedBroadcast {
                nsp,
                opts,
                data,
                attachments,
                compress,
            } = broadcast;
            shared.broadcast_all(|server, now| {
                let (data, attachments) = (data.clone(), attachments.clone());
                with_compress(server, compress, |server| match &offset {
                    Some(offset) => {
                        server.broadcast_at_offset(now, &nsp, &opts, data, attachments, offset)
                    }
                    None => server.broadcast(now, &nsp, &opts, data, attachments),
                })
            });
        });
        self.publish_broadcast_then(&nsp, value, targets, deliver);
    }
}

/// Node's `socket.emit` with recovery on: `adapter.broadcast` to the
/// socket's own room (`{rooms: [id], except: [], flags: {}}`), so it is on
/// the stream with an offset. Emits with an ack or volatile stay local:
/// Node gives neither an offset.
impl LoggedEmits for Cluster {
    fn emit_logged(
        &self,
        shared: &Arc<Shared>,
        nsp: &str,
        sid: &str,
        data: &RawJson,
        attachments: &[Bytes],
        compress: bool,
    ) -> bool {
        if !self.offsets_from_stream(shared) {
            return false;
        }
        let Some(value) = args_value(data, attachments) else {
            return false;
        };
        let targets = Targets {
            rooms: vec![sid.to_owned()],
            except: Vec::new(),
            flags: Some(Vec::new()),
        };
        let broadcast = LoggedBroadcast {
            nsp: nsp.to_owned(),
            opts: BroadcastOptions {
                rooms: vec![sid.into()],
                ..BroadcastOptions::default()
            },
            data: data.clone(),
            attachments: attachments.to_vec(),
            compress,
        };
        self.log_then_deliver(shared, value, targets, broadcast);
        true
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
