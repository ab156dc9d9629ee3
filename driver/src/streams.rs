//! The streams wire of the cluster: what this node does with each entry of
//! the shared stream (socket.io-adapter's `ClusterAdapterWithHeartbeat`
//! `onMessage`), and its heartbeats.
//!
//! Floor: streams, beside answer (above cluster, shared and bus; below
//! namespace). `impl Cluster` blocks that the cluster's event loop calls.

use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::Bytes;

use super::cluster::Cluster;
use super::meter;
use super::shared::Shared;
use super::sync::lock;
use sio_core::adapter::{BroadcastMessage, ClusterBody, ClusterMessage};

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
                self.deliver_broadcast(shared, nsp, &broadcast);
            }
            ClusterBody::Request(request) => self.answer(shared, nsp, request),
            ClusterBody::Response(response) => {
                let mut state = lock(&self.state);
                let _ = state.requests.feed(response);
                self.settle(&mut state, shared.clock.now());
            }
        }
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
