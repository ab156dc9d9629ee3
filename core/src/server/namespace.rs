//! A namespace: its sockets and its room index (room -> sockets; each
//! socket keeps the reverse set). Empty rooms are removed at once, and a
//! room of one socket (every socket's own room) holds it inline.

use alloc::boxed::Box;
use alloc::collections::btree_map::Entry;
use alloc::collections::{btree_set, BTreeMap, BTreeSet};
use alloc::vec::Vec;
use bytestring::ByteString;

use super::broadcast::BroadcastOptions;
use super::socket::SocketId;

/// Shared state of one namespace.
#[derive(Debug)]
pub(crate) struct Namespace {
    /// Every socket connected to it.
    sockets: BTreeSet<SocketId>,
    /// Room name -> members; never holds an empty room.
    rooms: BTreeMap<ByteString, Members>,
    /// Next ack id for emits in this namespace (shared, as in the reference
    /// server, so a broadcast with ack carries one id for every recipient).
    next_ack_id: u64,
    /// Made by accepting a client into a namespace that did not exist (a
    /// dynamic parent's child), not added by the application.
    pub(crate) child: bool,
}

impl Namespace {
    pub(crate) fn new() -> Self {
        Namespace {
            sockets: BTreeSet::new(),
            rooms: BTreeMap::new(),
            next_ack_id: 0,
            child: false,
        }
    }

    /// A dynamic parent's child, made for the client accepted into it.
    pub(crate) fn child() -> Self {
        Namespace {
            child: true,
            ..Namespace::new()
        }
    }

    /// Whether no socket is connected to it.
    pub(crate) fn is_empty(&self) -> bool {
        self.sockets.is_empty()
    }

    pub(crate) fn add_socket(&mut self, socket: SocketId) {
        self.sockets.insert(socket);
    }

    /// Removes `socket` and its entries in `rooms` (the rooms it was in);
    /// `deleted` gets each room that is now empty, hence gone.
    pub(crate) fn remove_socket<'a>(
        &mut self,
        socket: SocketId,
        rooms: impl IntoIterator<Item = &'a ByteString>,
        mut deleted: impl FnMut(&'a ByteString),
    ) {
        self.sockets.remove(&socket);
        for room in rooms {
            if self.leave(socket, room) {
                deleted(room);
            }
        }
    }

    /// Puts `socket` in `room`; true when the room was created by it.
    #[cfg(test)]
    pub(crate) fn join(&mut self, socket: SocketId, room: ByteString) -> bool {
        self.join_shared(socket, room).0
    }

    /// Puts `socket` in `room`: whether the room was created by it, and
    /// the room's name as the index holds it, for the socket to share (a
    /// name made for this join is dropped: a thousand sockets in one room
    /// hold one copy of its name, not a thousand).
    pub(crate) fn join_shared(&mut self, socket: SocketId, room: ByteString) -> (bool, ByteString) {
        match self.rooms.entry(room) {
            Entry::Vacant(entry) => {
                let room = entry.key().clone();
                entry.insert(Members::One(socket));
                (true, room)
            }
            Entry::Occupied(mut entry) => {
                entry.get_mut().insert(socket);
                (false, entry.key().clone())
            }
        }
    }

    /// Takes `socket` out of `room`; true when that deleted the room.
    pub(crate) fn leave(&mut self, socket: SocketId, room: &str) -> bool {
        if let Some(members) = self.rooms.get_mut(room) {
            if members.remove(socket) {
                self.rooms.remove(room);
                return true;
            }
        }
        false
    }

    pub(crate) fn sockets(&self) -> &BTreeSet<SocketId> {
        &self.sockets
    }

    pub(crate) fn room(&self, room: &str) -> Option<&Members> {
        self.rooms.get(room)
    }

    pub(crate) fn room_count(&self) -> usize {
        self.rooms.len()
    }

    pub(crate) fn take_ack_id(&mut self) -> u64 {
        let id = self.next_ack_id;
        self.next_ack_id = self.next_ack_id.wrapping_add(1);
        id
    }

    /// Fills `out` (cleared first) with the recipients of a broadcast, each
    /// once, in id order: every socket when no room is named, else the union
    /// of the named rooms; minus members of any `except` room and the
    /// `except_sockets`.
    pub(crate) fn recipients(&self, opts: &BroadcastOptions, out: &mut Vec<SocketId>) {
        out.clear();
        if opts.rooms.is_empty() {
            out.extend(self.sockets.iter().copied());
        } else {
            for room in &opts.rooms {
                if let Some(members) = self.rooms.get(&**room) {
                    out.extend(members.iter());
                }
            }
            // One room's members come sorted and unique from their set.
            if opts.rooms.len() > 1 {
                out.sort_unstable();
                out.dedup();
            }
        }
        if opts.except_sockets.is_empty() && opts.except.is_empty() {
            return;
        }
        out.retain(|socket| {
            !opts.except_sockets.contains(socket)
                && !opts.except.iter().any(|room| {
                    self.rooms
                        .get(&**room)
                        .is_some_and(|members| members.contains(*socket))
                })
        });
    }
}

/// The members of a room. Most rooms hold one socket (each socket is alone
/// in the room named by its id): that one is kept inline, not in a set
/// whose first node alone has room for eleven.
#[derive(Debug)]
pub(crate) enum Members {
    One(SocketId),
    /// Two or more, in id order (boxed: an entry of the room index then
    /// takes 16 bytes beside its name, not 32).
    #[allow(clippy::box_collection)]
    Many(Box<BTreeSet<SocketId>>),
}

impl Members {
    fn insert(&mut self, socket: SocketId) {
        match self {
            Members::One(only) if *only == socket => {}
            Members::One(only) => {
                *self = Members::Many(Box::new(BTreeSet::from([*only, socket])));
            }
            Members::Many(set) => {
                set.insert(socket);
            }
        }
    }

    /// Removes `socket`; true when no member is left.
    fn remove(&mut self, socket: SocketId) -> bool {
        match self {
            Members::One(only) => *only == socket,
            Members::Many(set) => {
                set.remove(&socket);
                let mut left = set.iter();
                match (left.next().copied(), left.next()) {
                    (None, _) => true,
                    (Some(last), None) => {
                        *self = Members::One(last);
                        false
                    }
                    _ => false,
                }
            }
        }
    }

    pub(crate) fn contains(&self, socket: SocketId) -> bool {
        match self {
            Members::One(only) => *only == socket,
            Members::Many(set) => set.contains(&socket),
        }
    }

    /// The members in id order.
    pub(crate) fn iter(&self) -> MembersIter<'_> {
        match self {
            Members::One(only) => MembersIter::One(Some(*only)),
            Members::Many(set) => MembersIter::Many(set.iter()),
        }
    }
}

/// [`Members::iter`].
pub(crate) enum MembersIter<'a> {
    One(Option<SocketId>),
    Many(btree_set::Iter<'a, SocketId>),
}

impl Iterator for MembersIter<'_> {
    type Item = SocketId;

    fn next(&mut self) -> Option<SocketId> {
        match self {
            MembersIter::One(only) => only.take(),
            MembersIter::Many(iter) => iter.next().copied(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn members_of_a_room_share_its_name() {
        let mut ns = Namespace::new();
        let (created, first) = ns.join_shared(SocketId(1), ByteString::from("lobby"));
        let (again, second) = ns.join_shared(SocketId(2), ByteString::from("lobby"));
        assert!(created && !again);
        assert_eq!(first, second);
        assert_eq!(first.as_ptr(), second.as_ptr());
    }

    fn ns_with(rooms: &[(&str, &[u64])]) -> Namespace {
        let mut ns = Namespace::new();
        for (room, members) in rooms {
            for m in *members {
                ns.add_socket(SocketId(*m));
                ns.join(SocketId(*m), ByteString::from(*room));
            }
        }
        ns
    }

    fn ids(v: &[SocketId]) -> Vec<u64> {
        v.iter().map(|s| s.0).collect()
    }

    #[test]
    fn recipients_union_minus_except() {
        let ns = ns_with(&[("a", &[1, 2, 3]), ("b", &[3, 4]), ("x", &[2]), ("c", &[5])]);
        let mut out = Vec::new();
        let opts = BroadcastOptions {
            rooms: vec!["a".into(), "b".into()],
            except: vec!["x".into()],
            except_sockets: vec![SocketId(4)],
            volatile: false,
        };
        ns.recipients(&opts, &mut out);
        assert_eq!(ids(&out), vec![1, 3]);
        out.clear();
        ns.recipients(&BroadcastOptions::default(), &mut out);
        assert_eq!(ids(&out), vec![1, 2, 3, 4, 5]);
    }

    #[test]
    fn empty_rooms_are_removed() {
        let mut ns = ns_with(&[("a", &[1, 2])]);
        ns.leave(SocketId(1), "a");
        assert_eq!(ns.room_count(), 1);
        let rooms = [ByteString::from("a")];
        ns.remove_socket(SocketId(2), rooms.iter(), |_| {});
        assert_eq!(ns.room_count(), 0);
        assert!(ns.sockets().contains(&SocketId(1)));
    }

    #[test]
    fn members_go_from_one_to_many_and_back() {
        let mut ns = ns_with(&[("a", &[2])]);
        let members = |ns: &Namespace| {
            ns.room("a")
                .map(|m| m.iter().map(|s| s.0).collect::<Vec<_>>())
        };
        assert!(matches!(ns.room("a"), Some(Members::One(_))));
        ns.join(SocketId(2), "a".into());
        assert!(matches!(ns.room("a"), Some(Members::One(_))));
        ns.join(SocketId(1), "a".into());
        ns.join(SocketId(3), "a".into());
        assert_eq!(members(&ns), Some(vec![1, 2, 3]));
        assert!(ns.room("a").is_some_and(|m| m.contains(SocketId(3))));
        ns.leave(SocketId(1), "a");
        ns.leave(SocketId(3), "a");
        assert!(matches!(ns.room("a"), Some(Members::One(SocketId(2)))));
        ns.leave(SocketId(4), "a");
        assert_eq!(members(&ns), Some(vec![2]));
        ns.leave(SocketId(2), "a");
        assert!(ns.room("a").is_none());
        assert_eq!(ns.room_count(), 0);
    }
}
