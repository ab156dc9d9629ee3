//! The table of Socket.IO sessions, each record holding its sockets: a
//! socket is found through its session (its id names it), so there is no
//! server-wide socket map, and an idle connection costs one boxed record
//! and one slot of a hash table.

use alloc::boxed::Box;
use alloc::vec::Vec;
use hashbrown::HashMap;

use super::session::Session;
use super::socket::{Socket, SocketId};
use crate::engine::SessionId;
use crate::packet::PacketDecoder;

/// Sessions by id, with their sockets.
#[derive(Debug)]
pub(crate) struct Sessions<D> {
    /// Boxed: a slot holds a pointer, so the spare capacity of the table
    /// (it doubles as it grows) costs 16 bytes a slot, not a whole record.
    map: HashMap<SessionId, Box<Session<D>>>,
    /// Sockets over all sessions.
    socket_count: usize,
}

impl<D: PacketDecoder> Sessions<D> {
    pub(crate) fn new() -> Self {
        Sessions {
            map: HashMap::new(),
            socket_count: 0,
        }
    }

    pub(crate) fn insert(&mut self, id: SessionId, session: Session<D>) {
        if let Some(old) = self.map.insert(id, Box::new(session)) {
            // Never happens (the engine opens a session once), but the
            // count must stay true whatever the caller does.
            self.socket_count -= old.socket_count();
        }
    }

    /// Forgets `id` (its sockets with it).
    pub(crate) fn remove(&mut self, id: SessionId) -> Option<Box<Session<D>>> {
        let session = self.map.remove(&id)?;
        self.socket_count -= session.socket_count();
        Some(session)
    }

    pub(crate) fn get(&self, id: SessionId) -> Option<&Session<D>> {
        self.map.get(&id).map(|session| &**session)
    }

    pub(crate) fn get_mut(&mut self, id: SessionId) -> Option<&mut Session<D>> {
        self.map.get_mut(&id).map(|session| &mut **session)
    }

    /// Every session's id, in opening order.
    pub(crate) fn ids(&self) -> Vec<SessionId> {
        let mut ids: Vec<SessionId> = self.map.keys().copied().collect();
        ids.sort_unstable();
        ids
    }

    pub(crate) fn socket(&self, id: SocketId) -> Option<&Socket> {
        self.get(id.session())?.socket(id)
    }

    pub(crate) fn socket_mut(&mut self, id: SocketId) -> Option<&mut Socket> {
        self.get_mut(id.session())?.socket_mut(id)
    }

    /// Adds `socket` to its session; false (and nothing added) when the
    /// session is gone.
    pub(crate) fn add_socket(&mut self, socket: Socket) -> bool {
        let Some(session) = self.get_mut(socket.session()) else {
            return false;
        };
        session.add_socket(socket);
        self.socket_count += 1;
        true
    }

    pub(crate) fn remove_socket(&mut self, id: SocketId) -> Option<Socket> {
        let socket = self.get_mut(id.session())?.remove_socket(id)?;
        self.socket_count -= 1;
        Some(socket)
    }

    pub(crate) fn socket_count(&self) -> usize {
        self.socket_count
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::{Decoder, Limits};
    use crate::time::Instant;

    fn session() -> Session<Decoder> {
        Session::new(Decoder::new(Limits::default()), Instant::from_millis(5))
    }

    fn socket(id: SocketId) -> Socket {
        Socket::new(id, "s".into(), "/".into(), None, None, None, false)
    }

    #[test]
    fn sockets_are_found_through_their_session() {
        let mut table = Sessions::new();
        let (a, b) = (SessionId(1), SessionId(2));
        table.insert(a, session());
        table.insert(b, session());
        let sa = table.get_mut(a).map(|s| s.next_socket_id(a)).unwrap();
        let sb = table.get_mut(b).map(|s| s.next_socket_id(b)).unwrap();
        assert!(table.add_socket(socket(sa)));
        assert!(table.add_socket(socket(sb)));
        assert_eq!(table.socket_count(), 2);
        assert_eq!(table.socket(sa).map(|s| s.id), Some(sa));
        assert_eq!(table.socket(sb).map(|s| s.session()), Some(b));
        assert!(table.remove_socket(sa).is_some());
        assert!(table.socket(sa).is_none());
        assert_eq!(table.socket_count(), 1);
        // A socket of a session that is gone is not added.
        assert!(!table.add_socket(socket(SocketId::new(SessionId(9), 0))));
        assert!(table.remove(b).is_some());
        assert_eq!(table.socket_count(), 0);
        assert!(table.socket(sb).is_none());
        assert_eq!(table.ids(), [a]);
    }
}
