//! What the server knows each connection to be: one table entry per open
//! request or WebSocket, 16 bytes a slot (the role's tag packed into the
//! session number's two top bits) rather than 24 for a tagged enum.

use hashbrown::HashMap;

use super::ConnId;

/// What the server knows a connection to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ConnRole {
    /// A polling GET held for this session.
    HeldGet(u64),
    /// A WebSocket of this session (active or upgrading).
    WebSocket(u64),
    /// A POST of this session refused for its size: the session fails once
    /// the driver reports the request gone (its 413 written), so that the
    /// client reads the 413 before the held GET's `1`, as from the
    /// reference, whatever order two connections are written in.
    Refused(u64),
}

/// Bits of a packed role that hold the session number. Session numbers
/// count handshakes from zero: 2^62 of them is out of reach.
const SESSION_BITS: u32 = 62;
const SESSION_MASK: u64 = (1 << SESSION_BITS) - 1;

impl ConnRole {
    fn pack(self) -> u64 {
        let (tag, id) = match self {
            ConnRole::HeldGet(id) => (0, id),
            ConnRole::WebSocket(id) => (1, id),
            ConnRole::Refused(id) => (2, id),
        };
        debug_assert!(id <= SESSION_MASK);
        (tag << SESSION_BITS) | (id & SESSION_MASK)
    }

    fn unpack(packed: u64) -> ConnRole {
        let id = packed & SESSION_MASK;
        match packed >> SESSION_BITS {
            0 => ConnRole::HeldGet(id),
            1 => ConnRole::WebSocket(id),
            _ => ConnRole::Refused(id),
        }
    }
}

/// Roles by connection.
#[derive(Debug, Default)]
pub(super) struct ConnRoles {
    map: HashMap<ConnId, u64>,
}

impl ConnRoles {
    pub(super) fn insert(&mut self, conn: ConnId, role: ConnRole) {
        self.map.insert(conn, role.pack());
    }

    pub(super) fn get(&self, conn: &ConnId) -> Option<ConnRole> {
        self.map.get(conn).copied().map(ConnRole::unpack)
    }

    pub(super) fn remove(&mut self, conn: &ConnId) -> Option<ConnRole> {
        self.map.remove(conn).map(ConnRole::unpack)
    }

    pub(super) fn len(&self) -> usize {
        self.map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_their_packed_form() {
        let mut roles = ConnRoles::default();
        let cases = [
            ConnRole::HeldGet(0),
            ConnRole::WebSocket(7),
            ConnRole::Refused(SESSION_MASK),
            ConnRole::WebSocket(SESSION_MASK),
        ];
        for (i, role) in cases.into_iter().enumerate() {
            roles.insert(ConnId(i as u64), role);
        }
        for (i, role) in cases.into_iter().enumerate() {
            assert_eq!(roles.get(&ConnId(i as u64)), Some(role));
        }
        assert_eq!(roles.remove(&ConnId(1)), Some(ConnRole::WebSocket(7)));
        assert_eq!(roles.get(&ConnId(1)), None);
        assert_eq!(roles.len(), 3);
        assert_eq!(core::mem::size_of::<(ConnId, u64)>(), 16);
    }
}
