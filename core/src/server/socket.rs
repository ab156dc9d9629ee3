//! One socket: a session's membership in one namespace, with its rooms and
//! the acks it still waits for.

use alloc::collections::{BTreeMap, BTreeSet};
use bytestring::ByteString;

use crate::engine::SessionId;
use crate::packet::RawJson;
use crate::time::Instant;

/// The server's handle for one socket (one session in one namespace). The
/// id clients see is [`Server::socket_sid`](super::Server::socket_sid).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SocketId(pub(crate) u64);

impl SocketId {
    /// The number behind the handle, unique for the server's lifetime.
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

/// Server-side state of one socket.
#[derive(Debug)]
pub(crate) struct Socket {
    /// The id the client sees (20 base64url characters), also its own room.
    pub(crate) sid: ByteString,
    /// The namespace it belongs to.
    pub(crate) nsp: ByteString,
    /// The Engine.IO session carrying it.
    pub(crate) session: SessionId,
    /// The `auth` payload of its CONNECT.
    pub(crate) auth: Option<RawJson>,
    /// Rooms it is in (its own id included).
    pub(crate) rooms: BTreeSet<ByteString>,
    /// Ack ids it waits for, with their deadlines.
    pub(crate) acks: BTreeMap<u64, Instant>,
}

impl Socket {
    /// Whether ack `id` is pending with exactly this deadline (timer check).
    pub(crate) fn ack_due_at(&self, id: u64, deadline: Instant) -> bool {
        self.acks.get(&id) == Some(&deadline)
    }
}
