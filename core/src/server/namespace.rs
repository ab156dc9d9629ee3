//! A namespace: its sockets and its room index (room -> sockets; each
//! socket keeps the reverse set). Empty rooms are removed at once.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;
use bytestring::ByteString;

use super::broadcast::BroadcastOptions;
use super::socket::SocketId;

/// Shared state of one namespace.
#[derive(Debug)]
pub(crate) struct Namespace {
    /// Every socket connected to it.
    sockets: BTreeSet<SocketId>,
    /// Room name -> members; never holds an empty set.
    rooms: BTreeMap<ByteString, BTreeSet<SocketId>>,
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
    pub(crate) fn join(&mut self, socket: SocketId, room: ByteString) -> bool {
        match self.rooms.entry(room) {
            alloc::collections::btree_map::Entry::Occupied(mut members) => {
                members.get_mut().insert(socket);
                false
            }
            alloc::collections::btree_map::Entry::Vacant(vacant) => {
                vacant.insert(BTreeSet::new()).insert(socket);
                true
            }
        }
    }

    /// Takes `socket` out of `room`; true when that deleted the room.
    pub(crate) fn leave(&mut self, socket: SocketId, room: &str) -> bool {
        if let Some(members) = self.rooms.get_mut(room) {
            members.remove(&socket);
            if members.is_empty() {
                self.rooms.remove(room);
                return true;
            }
        }
        false
    }

    pub(crate) fn sockets(&self) -> &BTreeSet<SocketId> {
        &self.sockets
    }

    pub(crate) fn room(&self, room: &str) -> Option<&BTreeSet<SocketId>> {
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
                    out.extend(members.iter().copied());
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
                        .is_some_and(|members| members.contains(socket))
                })
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

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
}
