//! One socket: a session's membership in one namespace, with its rooms and
//! the acks it still waits for.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
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
    pub(crate) rooms: RoomSet,
    /// Ack ids it waits for, with their deadlines.
    pub(crate) acks: BTreeMap<u64, Instant>,
    /// Its private session id, when recovery is on.
    pub(crate) pid: Option<ByteString>,
    /// Node's `socket.data`, kept with its session for recovery.
    pub(crate) data: Option<RawJson>,
    /// It got a kept session back.
    pub(crate) recovered: bool,
}

impl Socket {
    /// Whether ack `id` is pending with exactly this deadline (timer check).
    pub(crate) fn ack_due_at(&self, id: u64, deadline: Instant) -> bool {
        self.acks.get(&id) == Some(&deadline)
    }
}

/// A socket's rooms, in name order: a sorted vector, since a socket is in
/// few rooms (its own and one or two more) and a tree's first node alone
/// would take room for eleven.
#[derive(Debug, Default)]
pub(crate) struct RoomSet(Vec<ByteString>);

impl RoomSet {
    pub(crate) fn contains(&self, room: &str) -> bool {
        self.0.binary_search_by(|r| (**r).cmp(room)).is_ok()
    }

    /// Adds `room`; false when it was there.
    pub(crate) fn insert(&mut self, room: ByteString) -> bool {
        match self.0.binary_search_by(|r| (**r).cmp(&*room)) {
            Ok(_) => false,
            Err(at) => {
                // Grow by one: a socket's room count rarely changes much.
                self.0.reserve_exact(1);
                self.0.insert(at, room);
                true
            }
        }
    }

    /// Removes `room`; false when it was not there.
    pub(crate) fn remove(&mut self, room: &str) -> bool {
        match self.0.binary_search_by(|r| (**r).cmp(room)) {
            Ok(at) => {
                self.0.remove(at);
                true
            }
            Err(_) => false,
        }
    }

    pub(crate) fn iter(&self) -> core::slice::Iter<'_, ByteString> {
        self.0.iter()
    }
}

impl IntoIterator for RoomSet {
    type Item = ByteString;
    type IntoIter = alloc::vec::IntoIter<ByteString>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rooms_stay_sorted_and_unique() {
        let mut rooms = RoomSet::default();
        assert!(rooms.insert("b".into()));
        assert!(rooms.insert("a".into()));
        assert!(rooms.insert("c".into()));
        assert!(!rooms.insert("a".into()));
        assert!(rooms.contains("b"));
        assert!(rooms.remove("b"));
        assert!(!rooms.remove("b"));
        assert!(!rooms.contains("b"));
        let names: Vec<&str> = rooms.iter().map(|r| &**r).collect();
        assert_eq!(names, ["a", "c"]);
    }
}
