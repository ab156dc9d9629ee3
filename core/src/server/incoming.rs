//! What the engine hands up: opened and closed sessions, and the Socket.IO
//! packets in their messages (CONNECT, events, acks).

use bytestring::ByteString;

use crate::engine::{self, CloseReason, EngineEvent, SessionId};
use crate::packet::{Packet, PacketType, Parser, RawJson};
use crate::time::Instant;

use super::recovery::recovery_fields;
use super::session::{Route, Session};
use super::socket::SocketId;
use super::timers::TimerKey;
use super::types::{ConnectRequestId, DisconnectReason, Event};
use super::{PendingConnect, Server};

/// Engine events and the packets they carry.
impl<P: Parser> Server<P> {
    pub(super) fn advance(&mut self, now: Instant) {
        self.now = self.now.max(now);
    }

    // Out of line: `poll_output` runs several times per input, and most
    // calls find no engine event to handle.
    #[inline(never)]
    pub(super) fn on_engine_event(&mut self, event: EngineEvent) {
        match event {
            EngineEvent::Opened { session } => self.on_session_opened(session),
            EngineEvent::Message { session, packet } => self.on_session_message(session, packet),
            EngineEvent::Closed { session, reason } => {
                self.drop_session(session, DisconnectReason::from_close(reason));
            }
            EngineEvent::Upgraded { session } => {
                self.events.push_back(Event::Upgraded { session });
            }
            EngineEvent::ConnectionError(error) => {
                self.events.push_back(Event::ConnectionError(error));
            }
        }
    }

    pub(super) fn on_session_opened(&mut self, session: SessionId) {
        let opened = self
            .engine
            .handshake(session)
            .map_or(self.now, |info| info.issued);
        let deadline = opened + self.connect_timeout;
        let decoder = self.parser.decoder(self.packet_limits);
        self.sessions
            .insert(session, Session::new(decoder, deadline));
        self.push_timer(deadline, TimerKey::Connect(session));
    }

    pub(super) fn on_session_message(&mut self, session: SessionId, message: engine::Packet) {
        let Some(sess) = self.sessions.get_mut(session) else {
            return;
        };
        let packet = match sess.decode(message) {
            Ok(Some(packet)) => packet,
            Ok(None) => return,
            Err(_) => {
                self.close_session(
                    session,
                    DisconnectReason::ParseError,
                    CloseReason::ParseError,
                );
                return;
            }
        };
        match sess.route(&packet) {
            Route::Connect => self.on_connect(session, packet),
            Route::Socket(socket) => self.on_socket_packet(session, socket, packet),
            Route::Invalid => self.close_session(
                session,
                DisconnectReason::ForcedServerClose,
                CloseReason::ForcedClose,
            ),
        }
    }

    pub(super) fn on_connect(&mut self, session: SessionId, packet: Packet) {
        let Some(sess) = self.sessions.get_mut(session) else {
            return;
        };
        if sess.namespace_count() >= self.max_namespaces_per_session || !sess.can_make_socket() {
            self.send_connect_error(session, packet.nsp, "Too many namespaces", None);
            return;
        }
        let exists = self.namespaces.contains_key(&packet.nsp);
        if !exists && !self.dynamic_namespaces {
            self.send_connect_error(session, packet.nsp, "Invalid namespace", None);
            return;
        }
        let request = ConnectRequestId(self.engine.shard().number(self.next_request));
        self.next_request = self.next_request.wrapping_add(1);
        sess.add_pending(packet.nsp.clone(), request);
        let fields = match (self.recovery.is_some(), packet.data.as_ref()) {
            (true, Some(auth)) => recovery_fields(auth),
            _ => None,
        };
        let restoring = match (self.external_recovery, self.recovery.as_mut(), &fields) {
            (false, Some(store), Some((pid, offset))) => {
                // Sharded: a miss here may be another shard's session.
                let sharded = self.engine.shard().count() > 1;
                store.take_or_miss(self.now, &packet.nsp, pid, offset, !sharded)
            }
            _ => None,
        };
        let ask_driver = self.external_recovery || self.engine.shard().count() > 1;
        if let (true, None, Some((pid, offset))) = (ask_driver, &restoring, fields) {
            // The driver looks the session up, then answers (`answer_restore`).
            self.requests.insert(
                request,
                PendingConnect {
                    session,
                    nsp: packet.nsp.clone(),
                    auth: packet.data,
                    restoring: None,
                    supplied: None,
                    supplied_since: None,
                },
            );
            self.events.push_back(Event::RestoreRequest {
                request,
                nsp: packet.nsp,
                pid,
                offset,
            });
            return;
        }
        let recovering = restoring.is_some();
        self.requests.insert(
            request,
            PendingConnect {
                session,
                nsp: packet.nsp.clone(),
                auth: packet.data.clone(),
                restoring,
                supplied: None,
                supplied_since: None,
            },
        );
        self.events.push_back(Event::ConnectRequest {
            request,
            session,
            nsp: packet.nsp,
            auth: packet.data,
            dynamic: !exists,
            recovering,
        });
    }

    pub(super) fn on_socket_packet(
        &mut self,
        session: SessionId,
        socket: SocketId,
        packet: Packet,
    ) {
        match packet.kind {
            PacketType::Event | PacketType::BinaryEvent => match packet.data {
                Some(data) => self.events.push_back(Event::Event {
                    socket,
                    data,
                    attachments: packet.attachments,
                    ack: packet.id,
                }),
                // The decoder rejects events without data; never trust it blindly.
                None => self.close_session(
                    session,
                    DisconnectReason::ParseError,
                    CloseReason::ParseError,
                ),
            },
            PacketType::Ack | PacketType::BinaryAck => self.on_ack(socket, packet),
            PacketType::Disconnect => {
                self.remove_socket(socket, DisconnectReason::ClientNamespaceDisconnect);
            }
            // Routed as invalid before reaching a socket.
            PacketType::Connect | PacketType::ConnectError => {}
        }
    }

    pub(super) fn on_ack(&mut self, socket: SocketId, packet: Packet) {
        let Some(id) = packet.id else {
            return;
        };
        let Some(state) = self.sessions.socket_mut(socket) else {
            return;
        };
        // An id never sent, already answered or timed out: ignored.
        if state.acks.remove(&id).is_none() {
            return;
        }
        let data = packet
            .data
            .unwrap_or_else(|| RawJson::from_trusted(ByteString::from_static("[]")));
        self.events.push_back(Event::Ack {
            socket,
            id,
            data,
            attachments: packet.attachments,
        });
    }
}
