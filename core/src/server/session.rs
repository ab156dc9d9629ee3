//! Per-session state: everything one Engine.IO session needs that no other
//! session touches (its packet decoder, its sockets with their rooms and
//! acks, the namespaces it asked to join, its connect deadline). Kept apart
//! from the shared namespace and room index so sessions can later run as
//! separate state machines; one record per connection also keeps an idle
//! connection small (no node of a server-wide socket map per socket).

use alloc::boxed::Box;
use alloc::vec::Vec;
use bytestring::ByteString;
use core::time::Duration;

use super::socket::{Socket, SocketId, SOCKETS_PER_SESSION};
use super::ConnectRequestId;
use crate::engine;
use crate::packet::{Packet, PacketDecoder, PacketError, PacketType};
use crate::time::Instant;

/// Where a decoded packet goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    /// A CONNECT to a namespace the session is not in nor asking for.
    Connect,
    /// A packet for the session's socket in its namespace.
    Socket(SocketId),
    /// A packet that makes no sense in this state (a CONNECT for a joined or
    /// pending namespace, anything else for a namespace not joined, a
    /// CONNECT_ERROR from a client): the reference server closes the session.
    Invalid,
}

/// A session's connect deadline once it has joined a namespace.
const NO_DEADLINE: u64 = u64::MAX;

/// One Engine.IO session as Socket.IO sees it.
#[derive(Debug)]
pub(crate) struct Session<D> {
    decoder: D,
    /// Its sockets, one per joined namespace, in the order they joined.
    sockets: Vec<Socket>,
    /// CONNECTs waiting for the application's verdict (boxed: a connected
    /// session has none, and every session carries the field).
    #[allow(clippy::box_collection)]
    pending: Option<Box<Vec<(ByteString, ConnectRequestId)>>>,
    /// When the session is closed unless it has joined a namespace, in
    /// nanoseconds since the epoch; `NO_DEADLINE` once it has (leaving
    /// every namespace later does not re-arm it).
    connect_deadline: u64,
    /// Sockets made so far (numbers the next one's id).
    made: u32,
}

impl<D: PacketDecoder> Session<D> {
    pub(crate) fn new(decoder: D, connect_deadline: Instant) -> Self {
        Session {
            decoder,
            sockets: Vec::new(),
            pending: None,
            connect_deadline: u64::try_from(connect_deadline.since_epoch().as_nanos())
                .unwrap_or(NO_DEADLINE - 1)
                .min(NO_DEADLINE - 1),
            made: 0,
        }
    }

    /// Feeds one Engine.IO message to the decoder; `Ok(None)` while a binary
    /// packet waits for attachments or for messages that carry no packet.
    pub(crate) fn decode(
        &mut self,
        message: engine::Packet,
    ) -> Result<Option<Packet>, PacketError> {
        match message {
            engine::Packet::Message(text) => self.decoder.decode_text(text),
            engine::Packet::Binary(data) => self.decoder.decode_binary(data),
            _ => Ok(None),
        }
    }

    /// Decides where `packet` goes, as the reference server's client does.
    pub(crate) fn route(&self, packet: &Packet) -> Route {
        let joined = self.socket_in(&packet.nsp);
        match (packet.kind, joined) {
            (PacketType::Connect, None) if !self.is_pending(&packet.nsp) => Route::Connect,
            (PacketType::Connect | PacketType::ConnectError, _) => Route::Invalid,
            (_, Some(socket)) => Route::Socket(socket),
            (_, None) => Route::Invalid,
        }
    }

    pub(crate) fn socket_in(&self, nsp: &str) -> Option<SocketId> {
        self.sockets
            .iter()
            .find(|socket| socket.nsp == nsp)
            .map(|socket| socket.id)
    }

    /// Whether it may make another socket: ids number a session's sockets
    /// in a fixed number of bits, so a client that connects and leaves
    /// namespaces over a million times is refused from then on.
    pub(crate) fn can_make_socket(&self) -> bool {
        self.made < SOCKETS_PER_SESSION
    }

    /// The id its next socket gets (see [`Session::can_make_socket`]).
    pub(crate) fn next_socket_id(&mut self, session: engine::SessionId) -> SocketId {
        let id = SocketId::new(session, self.made);
        self.made = self.made.saturating_add(1);
        id
    }

    pub(crate) fn socket(&self, id: SocketId) -> Option<&Socket> {
        self.sockets.iter().find(|socket| socket.id == id)
    }

    pub(crate) fn socket_mut(&mut self, id: SocketId) -> Option<&mut Socket> {
        self.sockets.iter_mut().find(|socket| socket.id == id)
    }

    fn pending_list(&self) -> &[(ByteString, ConnectRequestId)] {
        self.pending
            .as_deref()
            .map_or(&[], |pending| pending.as_slice())
    }

    fn is_pending(&self, nsp: &str) -> bool {
        self.pending_list().iter().any(|(name, _)| name == nsp)
    }

    /// Namespaces joined or asked for: what a session may hold at most.
    pub(crate) fn namespace_count(&self) -> usize {
        self.sockets.len() + self.pending_list().len()
    }

    pub(crate) fn add_pending(&mut self, nsp: ByteString, request: ConnectRequestId) {
        let pending = self.pending.get_or_insert_with(Box::default);
        // Most sessions join one namespace: room for one, not the default four.
        pending.reserve_exact(1);
        pending.push((nsp, request));
    }

    pub(crate) fn remove_pending(&mut self, request: ConnectRequestId) {
        if let Some(pending) = &mut self.pending {
            pending.retain(|(_, r)| *r != request);
            if pending.is_empty() {
                self.pending = None;
            }
        }
    }

    /// The socket joined its namespace: the session is connected for good.
    pub(crate) fn add_socket(&mut self, socket: Socket) {
        // Most sessions join one namespace: room for one, not the default four.
        self.sockets.reserve_exact(1);
        self.sockets.push(socket);
        self.connect_deadline = NO_DEADLINE;
    }

    pub(crate) fn remove_socket(&mut self, id: SocketId) -> Option<Socket> {
        let at = self.sockets.iter().position(|socket| socket.id == id)?;
        // `remove`, not `swap_remove`: the others keep their joining order.
        let socket = self.sockets.remove(at);
        if self.sockets.is_empty() {
            self.sockets = Vec::new();
        }
        Some(socket)
    }

    pub(crate) fn socket_count(&self) -> usize {
        self.sockets.len()
    }

    pub(crate) fn sockets(&self) -> impl Iterator<Item = SocketId> + '_ {
        self.sockets.iter().map(|socket| socket.id)
    }

    pub(crate) fn pending(&self) -> impl Iterator<Item = ConnectRequestId> + '_ {
        self.pending_list().iter().map(|(_, request)| *request)
    }

    pub(crate) fn connect_deadline(&self) -> Option<Instant> {
        (self.connect_deadline != NO_DEADLINE)
            .then(|| Instant::from_duration(Duration::from_nanos(self.connect_deadline)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::{Decoder, Limits};
    use alloc::vec;

    fn packet(kind: PacketType, nsp: &str) -> Packet {
        Packet {
            kind,
            nsp: ByteString::from(nsp),
            id: None,
            data: None,
            attachments: vec![],
        }
    }

    #[test]
    fn routes_as_the_reference_client_does() {
        let mut sess = Session::new(Decoder::new(Limits::default()), Instant::from_millis(5));
        assert_eq!(
            sess.route(&packet(PacketType::Connect, "/")),
            Route::Connect
        );
        assert_eq!(sess.route(&packet(PacketType::Event, "/")), Route::Invalid);
        sess.add_pending(ByteString::from("/"), ConnectRequestId(0));
        assert_eq!(
            sess.route(&packet(PacketType::Connect, "/")),
            Route::Invalid
        );
        sess.remove_pending(ConnectRequestId(0));
        let id = sess.next_socket_id(engine::SessionId(1));
        sess.add_socket(Socket::new(
            id,
            "s".into(),
            "/".into(),
            None,
            None,
            None,
            false,
        ));
        assert_eq!(sess.connect_deadline(), None);
        for kind in [
            PacketType::Event,
            PacketType::Ack,
            PacketType::Disconnect,
            PacketType::BinaryEvent,
            PacketType::BinaryAck,
        ] {
            assert_eq!(sess.route(&packet(kind, "/")), Route::Socket(id));
        }
        assert_eq!(
            sess.route(&packet(PacketType::Connect, "/")),
            Route::Invalid
        );
        assert_eq!(
            sess.route(&packet(PacketType::ConnectError, "/")),
            Route::Invalid
        );
        assert_eq!(sess.route(&packet(PacketType::Event, "/a")), Route::Invalid);
        assert!(sess.remove_socket(id).is_some());
        assert!(sess.remove_socket(id).is_none());
        assert_ne!(sess.next_socket_id(engine::SessionId(1)), id);
        assert_eq!(
            sess.route(&packet(PacketType::Connect, "/")),
            Route::Connect
        );
        // Leaving does not re-arm the connect deadline.
        assert_eq!(sess.connect_deadline(), None);
    }

    #[test]
    fn socket_ids_stay_unique_up_to_the_bound() {
        let session = engine::SessionId(4);
        let mut sess = Session::new(Decoder::new(Limits::default()), Instant::from_millis(5));
        let first = sess.next_socket_id(session);
        sess.made = SOCKETS_PER_SESSION - 1;
        assert!(sess.can_make_socket());
        let last = sess.next_socket_id(session);
        assert_ne!(last, first);
        assert_eq!(last.session(), session);
        // No more: a further id would repeat the first.
        assert!(!sess.can_make_socket());
    }
}
