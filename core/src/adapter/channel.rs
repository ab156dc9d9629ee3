//! The Redis channels of one namespace, named as `@socket.io/redis-adapter`
//! 8.x names them (`RedisAdapter`'s constructor and `broadcast`):
//!
//! - broadcasts: `{key}#{nsp}#`, or `{key}#{nsp}#{room}#` when a broadcast
//!   targets exactly one room; every node pattern-subscribes `{key}#{nsp}#*`;
//! - requests: `{key}-request#{nsp}#`;
//! - responses: `{key}-response#{nsp}#`, and `{key}-response#{nsp}#{uid}#`
//!   for nodes started with `publishOnSpecificResponseChannel`.
//!
//! The node counts its peers with `PUBSUB NUMSUB` on the request channel.

use alloc::format;
use alloc::string::String;

/// The default key prefix, `socket.io`.
pub const DEFAULT_KEY: &str = "socket.io";

/// The characters of uid2 ids (node uids and request ids).
const UID_ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// An id as the reference's `uid2(n)` makes one from `n` random bytes:
/// each byte picks `alphabet[byte % 64]`. The reference uses 6 bytes for
/// node uids and request ids. The core has no randomness: bring the bytes.
pub fn uid_from_random(random: &[u8]) -> String {
    random
        .iter()
        .map(|byte| char::from(UID_ALPHABET[usize::from(byte % 64)]))
        .collect()
}

/// The channels of one namespace on one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channels {
    broadcast: String,
    request: String,
    response: String,
    specific_response: String,
}

impl Channels {
    /// The channels for namespace `nsp` (`/`, `/admin`, ...) under key
    /// prefix `key` ([`DEFAULT_KEY`] unless configured), for node `uid`.
    pub fn new(key: &str, nsp: &str, uid: &str) -> Channels {
        let response = format!("{key}-response#{nsp}#");
        Channels {
            broadcast: format!("{key}#{nsp}#"),
            request: format!("{key}-request#{nsp}#"),
            specific_response: format!("{response}{uid}#"),
            response,
        }
    }

    /// `{key}#{nsp}#`: broadcasts to the whole namespace or to several rooms.
    pub fn broadcast(&self) -> &str {
        &self.broadcast
    }

    /// `{key}#{nsp}#*`: the pattern every node subscribes to with PSUBSCRIBE.
    pub fn broadcast_pattern(&self) -> String {
        format!("{}*", self.broadcast)
    }

    /// `{key}#{nsp}#{room}#`: a broadcast to exactly one room.
    pub fn room(&self, room: &str) -> String {
        format!("{}{room}#", self.broadcast)
    }

    /// The channel a broadcast to `rooms` is published on: the room's own
    /// channel when there is exactly one room, the namespace's otherwise.
    pub fn for_rooms<'a>(&self, mut rooms: impl ExactSizeIterator<Item = &'a str>) -> String {
        match (rooms.len(), rooms.next()) {
            (1, Some(room)) => self.room(room),
            _ => self.broadcast.clone(),
        }
    }

    /// `{key}-request#{nsp}#`: requests to every node (also the channel
    /// whose subscribers `PUBSUB NUMSUB` counts as the cluster's nodes).
    pub fn request(&self) -> &str {
        &self.request
    }

    /// `{key}-response#{nsp}#`: responses, read by every node.
    pub fn response(&self) -> &str {
        &self.response
    }

    /// `{key}-response#{nsp}#{uid}#`: responses for this node only.
    pub fn specific_response(&self) -> &str {
        &self.specific_response
    }

    /// `{key}-response#{nsp}#{requester}#`: where a node started with
    /// `publishOnSpecificResponseChannel` answers `requester`.
    pub fn response_for(&self, requester: &str) -> String {
        format!("{}{requester}#", self.response)
    }

    /// What a message on `channel` is for, as the reference's `onmessage`
    /// and `onrequest` tell it.
    pub fn classify<'a>(&self, channel: &'a str) -> ChannelKind<'a> {
        if let Some(rest) = channel.strip_prefix(self.broadcast.as_str()) {
            // The reference drops the last character (the closing `#`).
            let mut chars = rest.chars();
            chars.next_back();
            return match chars.as_str() {
                "" => ChannelKind::Broadcast { room: None },
                room => ChannelKind::Broadcast { room: Some(room) },
            };
        }
        if channel.starts_with(self.response.as_str()) {
            ChannelKind::Response
        } else if channel.starts_with(self.request.as_str()) {
            ChannelKind::Request
        } else {
            ChannelKind::Other
        }
    }
}

/// What a channel carries, for one namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChannelKind<'a> {
    /// A broadcast, to one room (the reference skips it when no local
    /// socket is in that room) or to the namespace.
    Broadcast {
        /// The room of a single-room broadcast.
        room: Option<&'a str>,
    },
    /// A request from a node.
    Request,
    /// A response to a node's request.
    Response,
    /// Another namespace's or another prefix's channel.
    Other,
}
