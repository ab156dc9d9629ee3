//! The sharded pub/sub channels of one namespace, as
//! `@socket.io/redis-adapter` 8.3's `createShardedAdapter` names and uses
//! them (Redis 7 `SPUBLISH`/`SSUBSCRIBE`, socket.io-adapter's cluster
//! messages, [`ClusterMessage::to_payload`]):
//!
//! - `{prefix}#{nsp}#`: every message to every node, and the channel whose
//!   subscribers (`PUBSUB SHARDNUMSUB`) count the nodes;
//! - `{prefix}#{nsp}#{uid}#`: the responses to node `uid`'s requests;
//! - `{prefix}#{nsp}#{room}#`: in the dynamic modes, a broadcast without
//!   acks to exactly that one room; a node subscribes to it while the room
//!   exists on it.
//!
//! [`RoomChannels`] keeps which room channels a node wants, so that the
//! room index's creations and deletions turn into subscriptions in order.

use alloc::collections::BTreeSet;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::message::{ClusterBody, ClusterMessage};

/// Which rooms get a channel of their own (the reference's
/// `subscriptionMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SubscriptionMode {
    /// `"static"`: two channels per namespace, no room channel.
    Static,
    /// `"dynamic"` (the default): a channel per public room (rooms that
    /// are not a socket's own id).
    #[default]
    Dynamic,
    /// `"dynamic-private"`: a channel per room, socket ids included.
    DynamicPrivate,
}

impl SubscriptionMode {
    /// The reference's name of the mode.
    pub fn as_str(self) -> &'static str {
        match self {
            SubscriptionMode::Static => "static",
            SubscriptionMode::Dynamic => "dynamic",
            SubscriptionMode::DynamicPrivate => "dynamic-private",
        }
    }

    /// The mode named `name` (the reference's spelling).
    pub fn from_name(name: &str) -> Option<SubscriptionMode> {
        match name {
            "static" => Some(SubscriptionMode::Static),
            "dynamic" => Some(SubscriptionMode::Dynamic),
            "dynamic-private" => Some(SubscriptionMode::DynamicPrivate),
            _ => None,
        }
    }

    /// Whether a room of this node gets a channel (`shouldUseASeparateNamespace`):
    /// `private` when the room is one of this namespace's socket ids.
    pub fn subscribes_room(self, private: bool) -> bool {
        match self {
            SubscriptionMode::Static => false,
            SubscriptionMode::Dynamic => !private,
            SubscriptionMode::DynamicPrivate => true,
        }
    }
}

/// The reference's `looksLikeASocketId`: a room of 20 JavaScript
/// characters (UTF-16 units), the length of a socket id.
pub fn looks_like_a_socket_id(room: &str) -> bool {
    room.encode_utf16().count() == 20
}

/// What a channel is to one namespace of one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardedChannelKind<'a> {
    /// `{prefix}#{nsp}#`.
    Namespace,
    /// `{prefix}#{nsp}#{uid}#` for this node: a response to it.
    Response,
    /// `{prefix}#{nsp}#{room}#`: a room's (or another node's responses,
    /// which this node never subscribes to).
    Room(&'a str),
    /// Not this namespace's.
    Other,
}

/// The sharded channels of one namespace on one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardedChannels {
    namespace: String,
    response: String,
    mode: SubscriptionMode,
}

impl ShardedChannels {
    /// The channels of `nsp` under `prefix` (the reference's
    /// `channelPrefix`, default `socket.io`) for node `uid`.
    pub fn new(prefix: &str, nsp: &str, uid: &str, mode: SubscriptionMode) -> ShardedChannels {
        let namespace = format!("{prefix}#{nsp}#");
        ShardedChannels {
            response: format!("{namespace}{uid}#"),
            namespace,
            mode,
        }
    }

    /// `{prefix}#{nsp}#`.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// `{prefix}#{nsp}#{uid}#`: where the others answer this node.
    pub fn response(&self) -> &str {
        &self.response
    }

    /// `{prefix}#{nsp}#{uid}#` for another node `uid`: where to answer it.
    pub fn response_to(&self, uid: &str) -> String {
        format!("{}{uid}#", self.namespace)
    }

    /// `{prefix}#{nsp}#{room}#`.
    pub fn room(&self, room: &str) -> String {
        format!("{}{room}#", self.namespace)
    }

    /// The subscription mode.
    pub fn mode(&self) -> SubscriptionMode {
        self.mode
    }

    /// Where `message` is published (`computeChannel`): a broadcast
    /// without acks to exactly one room goes to the room's channel in the
    /// dynamic modes (in "dynamic" unless the room looks like a socket id);
    /// everything else to the namespace's.
    pub fn for_message(&self, message: &ClusterMessage) -> String {
        if let ClusterBody::Broadcast { opts, .. } = &message.body {
            if let [room] = opts.rooms.as_slice() {
                let own_channel = match self.mode {
                    SubscriptionMode::Static => false,
                    SubscriptionMode::Dynamic => !looks_like_a_socket_id(room),
                    SubscriptionMode::DynamicPrivate => true,
                };
                if own_channel {
                    return self.room(room);
                }
            }
        }
        self.namespace.clone()
    }

    /// What `channel` is to this namespace.
    pub fn classify<'a>(&self, channel: &'a str) -> ShardedChannelKind<'a> {
        if channel == self.response {
            return ShardedChannelKind::Response;
        }
        if channel == self.namespace {
            return ShardedChannelKind::Namespace;
        }
        match channel
            .strip_prefix(self.namespace.as_str())
            .and_then(|rest| rest.strip_suffix('#'))
        {
            Some(room) => ShardedChannelKind::Room(room),
            None => ShardedChannelKind::Other,
        }
    }
}

/// The most room channels one namespace subscribes to; rooms created past
/// it get no channel of their own (their broadcasts from other nodes then
/// do not arrive: a warning, not a leak).
pub const MAX_ROOM_CHANNELS: usize = 100_000;

/// Which room channels a namespace wants, and what the bus was told:
/// room creations and deletions come in (from the room index), channel
/// subscriptions and unsubscriptions go out, only where what is wanted
/// differs from what the bus was last told (a room created and deleted
/// before the bus is told needs nothing).
#[derive(Debug, Default)]
pub struct RoomChannels {
    /// Channels wanted now.
    wanted: BTreeSet<String>,
    /// Channels the bus was last told to subscribe to.
    told: BTreeSet<String>,
    /// Channels changed since the last [`take`](Self::take).
    dirty: BTreeSet<String>,
}

/// What [`RoomChannels::created`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomChange {
    /// Nothing to do (the mode gives the room no channel, or it has one).
    None,
    /// A change is pending.
    Pending,
    /// Too many room channels: this one is not subscribed.
    Full,
}

impl RoomChannels {
    /// No room channel.
    pub fn new() -> RoomChannels {
        RoomChannels::default()
    }

    /// Room `room` was created on this node.
    pub fn created(&mut self, channels: &ShardedChannels, room: &str, private: bool) -> RoomChange {
        if !channels.mode().subscribes_room(private) {
            return RoomChange::None;
        }
        let channel = channels.room(room);
        if self.wanted.contains(&channel) {
            return RoomChange::None;
        }
        if self.wanted.len() >= MAX_ROOM_CHANNELS {
            return RoomChange::Full;
        }
        self.wanted.insert(channel.clone());
        self.dirty.insert(channel);
        RoomChange::Pending
    }

    /// Room `room` was deleted on this node.
    pub fn deleted(&mut self, channels: &ShardedChannels, room: &str) -> RoomChange {
        let channel = channels.room(room);
        if !self.wanted.remove(&channel) {
            return RoomChange::None;
        }
        self.dirty.insert(channel);
        RoomChange::Pending
    }

    /// What to tell the bus now: (channel, subscribe?) for each channel
    /// whose wanted state differs from what the bus was told, which it
    /// then is. The caller makes them in this order.
    pub fn take(&mut self) -> Vec<(String, bool)> {
        let mut changes = Vec::new();
        for channel in core::mem::take(&mut self.dirty) {
            let want = self.wanted.contains(&channel);
            if want == self.told.contains(&channel) {
                continue;
            }
            if want {
                self.told.insert(channel.clone());
            } else {
                self.told.remove(&channel);
            }
            changes.push((channel, want));
        }
        changes
    }

    /// The room channels wanted now (what a namespace closing unsubscribes).
    pub fn wanted(&self) -> impl Iterator<Item = &str> {
        self.wanted.iter().map(String::as_str)
    }

    /// How many room channels are wanted.
    pub fn len(&self) -> usize {
        self.wanted.len()
    }

    /// Whether no room channel is wanted.
    pub fn is_empty(&self) -> bool {
        self.wanted.is_empty()
    }
}
