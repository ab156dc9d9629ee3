//! The sharded wire of the cluster: what this node does with each message
//! on its sharded channels (the sharded adapter's `onRawMessage`, then
//! socket.io-adapter's `ClusterAdapter#onMessage`), and the room channels
//! it subscribes to as the core's room index creates and deletes rooms.
//!
//! Floor: sharded, beside streams and answer (above cluster, shared and
//! bus; below namespace). `impl Cluster` blocks that the cluster's event
//! loop and the namespace registry call.

use std::sync::{Arc, Weak};

use bytes::Bytes;

use super::bus::Bus;
use super::cluster::{Cluster, ClusterState};
use super::meter;
use super::shared::Shared;
use super::sync::lock;
use sio_core::adapter::{
    BroadcastMessage, ClusterBody, ClusterMessage, RoomChange, ShardedChannelKind,
};

impl Cluster {
    /// Handles one message on a sharded channel: its own and other
    /// namespaces' are skipped, as the reference does.
    pub(super) fn handle_sharded(
        self: &Arc<Self>,
        shared: &Arc<Shared>,
        channel: &str,
        payload: &Bytes,
    ) {
        let message = match ClusterMessage::from_payload(payload) {
            Ok(message) => message,
            Err(error) => {
                meter::adapter_error("malformed");
                tracing::warn!(%channel, %error, "malformed cluster message dropped");
                return;
            }
        };
        if message.uid == self.uid() {
            return;
        }
        let nsp = message.nsp.as_str();
        let Some(channels) = self.sharded_channels(nsp) else {
            return;
        };
        // A message for a namespace on another's channel is not for it.
        if !lock(&self.state).namespaces.contains(nsp)
            || channels.classify(channel) == ShardedChannelKind::Other
        {
            return;
        }
        match message.body {
            ClusterBody::Broadcast { packet, opts } => {
                let broadcast = BroadcastMessage {
                    uid: message.uid.clone(),
                    packet,
                    opts,
                };
                self.deliver_broadcast(shared, nsp, &broadcast, None);
            }
            ClusterBody::Request(request) => self.answer(shared, nsp, request),
            ClusterBody::Response(response) => {
                let mut state = lock(&self.state);
                let _ = state.requests.feed(response);
                self.settle(&mut state, shared.clock.now());
            }
            // Heartbeats belong to the streams adapter.
            ClusterBody::InitialHeartbeat | ClusterBody::Heartbeat | ClusterBody::AdapterClose => {}
        }
    }

    /// The core created (`created`) or deleted `room` of `nsp`: its
    /// channel is subscribed or unsubscribed, in order, by
    /// [`room_subscriptions`](Self::room_subscriptions). Only locks this
    /// cluster's state: safe under the state lock.
    pub(crate) fn room_changed(&self, nsp: &str, room: &str, created: bool, private: bool) {
        let Some(channels) = self.sharded_channels(nsp) else {
            return;
        };
        let change = {
            let mut state = lock(&self.state);
            if !state.count_room_shards(nsp, room, created) {
                // Another shard still has it, or had it already.
                return;
            }
            let rooms = state.rooms.entry(Arc::from(nsp)).or_default();
            if created {
                rooms.created(&channels, room, private)
            } else {
                rooms.deleted(&channels, room)
            }
        };
        match change {
            RoomChange::Pending => {
                // Full: the task is woken already and will take this too.
                let _ = self.rooms_changed.try_send(());
            }
            RoomChange::Full => {
                tracing::warn!(%nsp, %room, "too many room channels; this room's broadcasts from other nodes come on no channel")
            }
            RoomChange::None => {}
        }
    }

    /// Makes the room channel changes, one at a time and in order, until
    /// the server is dropped. A failed one is logged: the bus remembers
    /// its subscriptions and makes them again when it reconnects.
    pub(super) async fn room_subscriptions(
        shared: Weak<Shared>,
        bus: Arc<dyn Bus>,
        changed: async_channel::Receiver<()>,
    ) {
        while changed.recv().await.is_ok() {
            let changes = {
                let Some(shared) = shared.upgrade() else {
                    return;
                };
                let Some(cluster) = shared.cluster().cloned() else {
                    return;
                };
                let mut state = lock(&cluster.state);
                let changes: Vec<(String, bool)> = state
                    .rooms
                    .values_mut()
                    .flat_map(|rooms| rooms.take())
                    .collect();
                changes
            };
            for (channel, subscribe) in changes {
                let outcome = if subscribe {
                    bus.subscribe(vec![channel.clone()], Vec::new()).await
                } else {
                    bus.unsubscribe(vec![channel.clone()]).await
                };
                if let Err(error) = outcome {
                    meter::adapter_error("subscribe");
                    tracing::warn!(%channel, subscribe, %error, "room channel change failed");
                }
            }
        }
    }
}

impl ClusterState {
    /// Counts a shard's create (`created`) or delete of `room`: whether
    /// it is the first create or the last delete, which the bus must hear.
    fn count_room_shards(&mut self, nsp: &str, room: &str, created: bool) -> bool {
        let rooms = match self.room_shards.get_mut(nsp) {
            Some(rooms) => rooms,
            None => self.room_shards.entry(Arc::from(nsp)).or_default(),
        };
        if created {
            let count = rooms.entry(Box::from(room)).or_insert(0);
            *count += 1;
            return *count == 1;
        }
        match rooms.get_mut(room) {
            Some(count) if *count > 1 => {
                *count -= 1;
                false
            }
            Some(_) => {
                rooms.remove(room);
                true
            }
            // A delete never counted (should not happen): pass it on.
            None => true,
        }
    }
}
