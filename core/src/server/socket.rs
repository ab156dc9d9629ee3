//! One socket: a session's membership in one namespace, with its rooms and
//! the acks it still waits for. Sockets live inside their session's record
//! ([`Session`](super::session::Session)), so a socket id names its session.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use bytestring::ByteString;

use crate::engine::SessionId;
use crate::packet::RawJson;
use crate::time::Instant;

/// Bits of a [`SocketId`] that number the sockets of one session; the bits
/// above them are the session's number. A session makes at most
/// [`SOCKETS_PER_SESSION`] sockets (more CONNECTs are refused).
const SESSION_SHIFT: u32 = 20;

/// How many sockets one session may make over its lifetime.
pub(crate) const SOCKETS_PER_SESSION: u32 = 1 << SESSION_SHIFT;

/// The server's handle for one socket (one session in one namespace). The
/// id clients see is [`Server::socket_sid`](super::Server::socket_sid).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SocketId(pub(crate) u64);

impl SocketId {
    /// The number behind the handle, unique for the server's lifetime (its
    /// high bits number the session, its low 20 bits the session's sockets).
    pub fn as_u64(self) -> u64 {
        self.0
    }

    /// The number of its session ([`SessionId::as_u64`]): a sharded
    /// driver finds the socket's shard from it.
    pub fn session_number(self) -> u64 {
        self.0 >> SESSION_SHIFT
    }

    /// The `n`th socket of `session` (`n` below [`SOCKETS_PER_SESSION`]).
    /// Unique as long as session numbers stay below 2^44 (the engine
    /// numbers sessions from 0, one per handshake).
    pub(crate) fn new(session: SessionId, n: u32) -> SocketId {
        SocketId(session.0 << SESSION_SHIFT | u64::from(n & (SOCKETS_PER_SESSION - 1)))
    }

    /// The session carrying it: its record holds the socket, so finding a
    /// socket takes one session lookup and no table of its own.
    pub(crate) fn session(self) -> SessionId {
        SessionId(self.0 >> SESSION_SHIFT)
    }
}

/// Server-side state of one socket.
#[derive(Debug)]
pub(crate) struct Socket {
    /// Its handle.
    pub(crate) id: SocketId,
    /// The id the client sees (20 base64url characters), also its own room.
    pub(crate) sid: ByteString,
    /// The namespace it belongs to.
    pub(crate) nsp: ByteString,
    /// Rooms it is in (its own id included).
    pub(crate) rooms: RoomSet,
    /// Ack ids it waits for, with their deadlines.
    pub(crate) acks: Acks,
    /// It got a kept session back.
    pub(crate) recovered: bool,
    /// What most sockets lack (an `auth` payload, recovery's pid, data):
    /// boxed, so an idle socket without them carries one pointer.
    extra: Option<Box<SocketExtra>>,
}

/// The rarely-set parts of a [`Socket`].
#[derive(Debug, Default)]
struct SocketExtra {
    /// The `auth` payload of its CONNECT.
    auth: Option<RawJson>,
    /// Its private session id, when recovery is on.
    pid: Option<ByteString>,
    /// Node's `socket.data`, kept with its session for recovery.
    data: Option<RawJson>,
}

impl Socket {
    /// A socket with no rooms yet.
    pub(crate) fn new(
        id: SocketId,
        sid: ByteString,
        nsp: ByteString,
        auth: Option<RawJson>,
        pid: Option<ByteString>,
        data: Option<RawJson>,
        recovered: bool,
    ) -> Socket {
        let extra = (auth.is_some() || pid.is_some() || data.is_some())
            .then(|| Box::new(SocketExtra { auth, pid, data }));
        Socket {
            id,
            sid,
            nsp,
            rooms: RoomSet::default(),
            acks: Acks::default(),
            recovered,
            extra,
        }
    }

    /// The Engine.IO session carrying it.
    pub(crate) fn session(&self) -> SessionId {
        self.id.session()
    }

    /// The `auth` payload of its CONNECT.
    pub(crate) fn auth(&self) -> Option<&RawJson> {
        self.extra.as_ref()?.auth.as_ref()
    }

    /// Its private session id, when recovery is on.
    pub(crate) fn pid(&self) -> Option<&ByteString> {
        self.extra.as_ref()?.pid.as_ref()
    }

    /// Node's `socket.data`, as kept for recovery.
    pub(crate) fn data(&self) -> Option<&RawJson> {
        self.extra.as_ref()?.data.as_ref()
    }

    pub(crate) fn set_data(&mut self, data: Option<RawJson>) {
        match (&mut self.extra, data) {
            (Some(extra), data) => extra.data = data,
            (None, None) => {}
            (None, Some(data)) => {
                self.extra = Some(Box::new(SocketExtra {
                    data: Some(data),
                    ..SocketExtra::default()
                }));
            }
        }
    }

    /// Whether ack `id` is pending with exactly this deadline (timer check).
    pub(crate) fn ack_due_at(&self, id: u64, deadline: Instant) -> bool {
        self.acks.get(&id) == Some(&deadline)
    }
}

/// The acks a socket waits for, by id with their deadlines: boxed and
/// made on the first, dropped with the last (most sockets wait for none,
/// and an empty map would still take three words in every socket).
#[derive(Debug, Default)]
#[allow(clippy::box_collection)]
pub(crate) struct Acks(Option<Box<BTreeMap<u64, Instant>>>);

impl Acks {
    pub(crate) fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |acks| acks.len())
    }

    pub(crate) fn get(&self, id: &u64) -> Option<&Instant> {
        self.0.as_ref()?.get(id)
    }

    pub(crate) fn insert(&mut self, id: u64, deadline: Instant) -> Option<Instant> {
        self.0.get_or_insert_with(Box::default).insert(id, deadline)
    }

    pub(crate) fn remove(&mut self, id: &u64) -> Option<Instant> {
        let acks = self.0.as_mut()?;
        let removed = acks.remove(id);
        if acks.is_empty() {
            self.0 = None;
        }
        removed
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
    fn acks_are_made_on_the_first_and_dropped_with_the_last() {
        let mut acks = Acks::default();
        assert_eq!(acks.len(), 0);
        assert_eq!(acks.remove(&1), None);
        acks.insert(1, Instant::from_millis(10));
        acks.insert(2, Instant::from_millis(20));
        assert_eq!(acks.get(&2), Some(&Instant::from_millis(20)));
        assert_eq!(acks.remove(&1), Some(Instant::from_millis(10)));
        assert_eq!(acks.len(), 1);
        assert_eq!(acks.remove(&2), Some(Instant::from_millis(20)));
        assert!(acks.0.is_none());
        assert_eq!(acks.get(&2), None);
    }

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

    #[test]
    fn ids_name_their_session() {
        let session = SessionId(7);
        let first = SocketId::new(session, 0);
        let second = SocketId::new(session, 1);
        assert_ne!(first, second);
        assert_eq!(first.session(), session);
        assert_eq!(second.session(), session);
        assert!(first < second && second < SocketId::new(SessionId(8), 0));
        let last = SocketId::new(session, SOCKETS_PER_SESSION - 1);
        assert_eq!(last.session(), session);
    }

    #[test]
    fn rare_parts_are_boxed_only_when_set() {
        let id = SocketId::new(SessionId(1), 0);
        let mut socket = Socket::new(id, "s".into(), "/".into(), None, None, None, false);
        assert!(socket.extra.is_none());
        socket.set_data(None);
        assert!(socket.extra.is_none());
        socket.set_data(Some(RawJson::from_trusted("1".into())));
        assert_eq!(socket.data().map(RawJson::as_str), Some("1"));
        assert_eq!(socket.auth(), None);
        socket.set_data(None);
        assert_eq!(socket.data(), None);
    }
}
