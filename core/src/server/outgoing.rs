//! Sending packets to a session, and removing sockets and sessions.

use alloc::vec::Vec;

use bytestring::ByteString;

use crate::engine::{self, CloseReason, SessionId};
use crate::packet::{Packet, Parser, RawJson};

use super::recovery::PersistedSession;
use super::socket::SocketId;
use super::types::{ConnectRequestId, DisconnectReason, Event};
use super::{broadcast, Server};

/// Sending packets, removing sockets and sessions.
impl<P: Parser> Server<P> {
    /// Keeps the buffer of an encoded packet for the next one (its
    /// messages dropped: the sessions hold their own clones).
    pub(super) fn reuse_messages(&mut self, mut messages: Vec<engine::OutMessage>) {
        messages.clear();
        self.encode_scratch = messages;
    }

    /// Marks the messages of an emit or broadcast made within
    /// [`Server::without_compression`](super::Server::without_compression).
    pub(super) fn apply_compress(&self, messages: &mut [engine::OutMessage]) {
        if !self.compress {
            for message in messages.iter_mut() {
                message.set_uncompressed();
            }
        }
    }

    /// Encodes and queues one packet for a session (not a broadcast).
    pub(super) fn send_packet(&mut self, session: SessionId, packet: &Packet) {
        let mut messages = core::mem::take(&mut self.encode_scratch);
        broadcast::encode(&self.parser, packet, &mut messages);
        broadcast::send(&mut self.engine, session, &messages, false);
        self.reuse_messages(messages);
    }

    pub(super) fn send_connect_error(
        &mut self,
        session: SessionId,
        nsp: ByteString,
        message: &str,
        data: Option<RawJson>,
    ) {
        self.send_packet(session, &Packet::connect_error(nsp, message, data));
    }

    pub(super) fn send_disconnect_packet(&mut self, socket: SocketId) {
        if let Some(state) = self.sessions.socket(socket) {
            let (session, nsp) = (state.session(), state.nsp.clone());
            self.send_packet(session, &Packet::disconnect(nsp));
        }
    }

    /// Removes `socket` everywhere (namespace, rooms, session, acks) and
    /// reports it with the rooms it was in.
    pub(super) fn remove_socket(&mut self, socket: SocketId, reason: DisconnectReason) {
        let Some(state) = self.sessions.remove_socket(socket) else {
            return;
        };
        let mut emptied = false;
        if let Some(namespace) = self.namespaces.get_mut(&state.nsp) {
            let (events, room_events) = (&mut self.events, self.room_events);
            namespace.remove_socket(socket, state.rooms.iter(), |room| {
                if room_events {
                    events.push_back(Event::RoomDeleted {
                        nsp: state.nsp.clone(),
                        room: room.clone(),
                    });
                }
            });
            emptied =
                self.cleanup_empty_child_namespaces && namespace.child && namespace.is_empty();
        }
        if emptied {
            self.namespaces.remove(&state.nsp);
        }
        // Kept for the window when the client may come back for it.
        if let (Some(store), Some(pid)) = (self.recovery.as_mut(), state.pid().cloned()) {
            if reason.is_recoverable() {
                let session = PersistedSession {
                    sid: state.sid.clone(),
                    pid,
                    nsp: state.nsp.clone(),
                    rooms: state.rooms.iter().cloned().collect(),
                    data: state.data().cloned(),
                };
                if self.external_recovery {
                    self.events.push_back(Event::PersistSession { session });
                } else {
                    store.persist(self.now, session);
                }
            }
        }
        // Its ack timers become stale: their socket is gone.
        self.events.push_back(Event::Disconnect {
            socket,
            nsp: state.nsp.clone(),
            reason,
            rooms: state.rooms.into_iter().collect(),
        });
        if emptied {
            self.events
                .push_back(Event::NamespaceRemoved { nsp: state.nsp });
        }
    }

    /// Forgets `session`: its sockets leave with `reason`, its pending
    /// connect requests are dropped.
    pub(super) fn drop_session(&mut self, session: SessionId, reason: DisconnectReason) {
        let Some(sess) = self.sessions.get(session) else {
            return;
        };
        let sockets: Vec<SocketId> = sess.sockets().collect();
        let requests: Vec<ConnectRequestId> = sess.pending().collect();
        for socket in sockets {
            self.remove_socket(socket, reason);
        }
        for request in requests {
            // A session taken for a CONNECT that never got its verdict
            // stays for the client's next try.
            if let Some(pending) = self.requests.remove(&request) {
                self.keep_for_retry(pending);
            }
        }
        self.sessions.remove(session);
    }

    /// Closes `session` from our side: forgotten at once, then the engine
    /// flushes and closes it (its later Closed event finds nothing).
    pub(super) fn close_session(
        &mut self,
        session: SessionId,
        reason: DisconnectReason,
        close: CloseReason,
    ) {
        self.drop_session(session, reason);
        let _ = self.engine.close(self.now, session, close);
    }
}
