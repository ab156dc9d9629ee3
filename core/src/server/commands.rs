//! The application's commands: connect verdicts, emits, acks, disconnects.

use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

use bytes::Bytes;
use bytestring::ByteString;

use crate::engine::ids::ID_BYTES;
use crate::engine::CloseReason;
use crate::packet::{Packet, Parser, RawJson};
use crate::time::Instant;

use super::namespace::Namespace;
use super::socket::{Socket, SocketId};
use super::types::{ConnectRequestId, DisconnectReason, Event, ServerError};
use super::{broadcast, Server};

/// Connect verdicts, emits, acks and disconnects.
impl<P: Parser> Server<P> {
    // ----- connect verdicts -----

    /// Lets the client of `request` join its namespace: sends the CONNECT
    /// reply with a fresh socket id, puts the socket in the room named by
    /// its id, then [`Event::Connected`].
    pub fn accept(
        &mut self,
        now: Instant,
        request: ConnectRequestId,
    ) -> Result<SocketId, ServerError> {
        self.advance(now);
        let pending = self
            .requests
            .remove(&request)
            .ok_or(ServerError::UnknownRequest)?;
        let sess = self
            .sessions
            .get_mut(pending.session)
            .ok_or(ServerError::UnknownRequest)?;
        sess.remove_pending(request);
        // Checked when the CONNECT came (`on_connect`).
        let socket = sess.next_socket_id(pending.session);
        // A kept session comes back whole, with every packet it missed up
        // to now, or not at all (its offset left the log meanwhile).
        let restored = match (pending.restoring, pending.supplied, self.recovery.as_ref()) {
            (_, Some(supplied), Some(store)) => match pending.supplied_since {
                // Sharded: all this shard logged for it since it was
                // supplied (what it missed elsewhere first).
                Some(from) => store
                    .logged_from(from, &supplied.session)
                    .map(|missed| (supplied.session, missed)),
                None => Some((supplied.session, supplied.missed)),
            },
            (Some(taken), None, Some(store)) => store
                .missed(taken.since, &taken.session)
                .map(|missed| (taken.session, missed)),
            _ => None,
        };
        let recovered = restored.is_some();
        let (sid, pid, rooms, data, missed) = match restored {
            Some((kept, missed)) => (kept.sid, Some(kept.pid), kept.rooms, kept.data, missed),
            None => {
                let sid = self.ids.next_id();
                let pid = self.recovery.is_some().then(|| self.ids.next_id());
                (sid, pid, Vec::new(), None, Vec::new())
            }
        };
        let namespace = self
            .namespaces
            .entry(pending.nsp.clone())
            .or_insert_with(Namespace::child);
        namespace.add_socket(socket);
        let mut state = Socket::new(
            socket,
            sid.clone(),
            pending.nsp.clone(),
            pending.auth,
            pid.clone(),
            data,
            recovered,
        );
        for room in core::iter::once(sid.clone()).chain(rooms) {
            let (created, room) = namespace.join_shared(socket, room);
            if created && self.room_events {
                self.events.push_back(Event::RoomCreated {
                    nsp: pending.nsp.clone(),
                    private: room == sid,
                    room: room.clone(),
                });
            }
            state.rooms.insert(room);
        }
        self.sessions.add_socket(state);
        // As the reference server does: the missed packets go out before
        // the CONNECT reply (the client holds them until it is connected).
        for (data, attachments) in missed {
            self.send_packet(
                pending.session,
                &Packet::event(pending.nsp.clone(), data, attachments),
            );
        }
        let mut reply = String::with_capacity(ID_BYTES * 4 + 20);
        reply.push_str("{\"sid\":\"");
        reply.push_str(&sid);
        if let Some(pid) = &pid {
            reply.push_str("\",\"pid\":\"");
            reply.push_str(pid);
        }
        reply.push_str("\"}");
        let reply = RawJson::from_trusted(ByteString::from(reply));
        self.send_packet(
            pending.session,
            &Packet::connect(pending.nsp.clone(), Some(reply)),
        );
        self.events.push_back(Event::Connected {
            socket,
            session: pending.session,
            nsp: pending.nsp,
            recovered,
        });
        Ok(socket)
    }

    /// Refuses `request`: the client gets a CONNECT_ERROR with
    /// `{"message":message}`, plus `"data":data` when given.
    pub fn reject(
        &mut self,
        now: Instant,
        request: ConnectRequestId,
        message: &str,
        data: Option<RawJson>,
    ) -> Result<(), ServerError> {
        self.advance(now);
        let pending = self
            .requests
            .remove(&request)
            .ok_or(ServerError::UnknownRequest)?;
        if let Some(sess) = self.sessions.get_mut(pending.session) {
            sess.remove_pending(request);
        }
        let (session, nsp) = (pending.session, pending.nsp.clone());
        self.keep_for_retry(pending);
        self.send_connect_error(session, nsp, message, data);
        Ok(())
    }

    // ----- events and acks -----

    /// Emits `data` (an array `["name", ...args]`, with placeholders for
    /// `attachments`) to `socket`. With `ack_timeout`, the client is asked
    /// for an ack: its id is returned, then comes [`Event::Ack`] or, at the
    /// deadline, [`Event::AckTimeout`] (pass `Duration::MAX` for no deadline).
    pub fn emit(
        &mut self,
        now: Instant,
        socket: SocketId,
        data: RawJson,
        attachments: Vec<Bytes>,
        ack_timeout: Option<Duration>,
    ) -> Result<Option<u64>, ServerError> {
        self.advance(now);
        let state = self
            .sessions
            .socket(socket)
            .ok_or(ServerError::UnknownSocket)?;
        if ack_timeout.is_some() && state.acks.len() >= self.max_pending_acks {
            return Err(ServerError::TooManyPendingAcks);
        }
        let (session, nsp, sid) = (state.session(), state.nsp.clone(), state.sid.clone());
        let id = match ack_timeout {
            Some(_) => self.namespaces.get_mut(&nsp).map(Namespace::take_ack_id),
            None => None,
        };
        // Logged for recovery unless it waits for an ack, as in Node.
        let data = match (self.recovery.as_mut(), id) {
            (Some(store), None) if !self.external_recovery => store.log(
                now,
                nsp.clone(),
                alloc::vec![sid],
                Vec::new(),
                &data,
                attachments.clone(),
            ),
            _ => data,
        };
        let packet = Packet {
            id,
            ..Packet::event(nsp, data, attachments)
        };
        let mut messages = core::mem::take(&mut self.encode_scratch);
        broadcast::encode(&self.parser, &packet, &mut messages);
        self.apply_compress(&mut messages);
        broadcast::send(&mut self.engine, session, &messages, false);
        self.reuse_messages(messages);
        if let (Some(id), Some(timeout)) = (id, ack_timeout) {
            self.add_pending_ack(socket, id, now + timeout);
        }
        Ok(id)
    }

    /// Answers the client's event that carried ack `id` with `args` (an
    /// array, with placeholders for `attachments`).
    pub fn ack(
        &mut self,
        now: Instant,
        socket: SocketId,
        id: u64,
        args: RawJson,
        attachments: Vec<Bytes>,
    ) -> Result<(), ServerError> {
        self.advance(now);
        let state = self
            .sessions
            .socket(socket)
            .ok_or(ServerError::UnknownSocket)?;
        let packet = Packet::ack(state.nsp.clone(), id, args, attachments);
        let session = state.session();
        let mut messages = core::mem::take(&mut self.encode_scratch);
        broadcast::encode(&self.parser, &packet, &mut messages);
        broadcast::send(&mut self.engine, session, &messages, false);
        self.reuse_messages(messages);
        Ok(())
    }

    /// How many acks `socket` still waits for (0 for an unknown socket).
    pub fn pending_ack_count(&self, socket: SocketId) -> usize {
        self.sessions.socket(socket).map_or(0, |s| s.acks.len())
    }

    // ----- disconnects -----

    /// Disconnects `socket` from its namespace: the client gets a DISCONNECT,
    /// then [`Event::Disconnect`] "server namespace disconnect". The session
    /// stays open.
    pub fn disconnect(&mut self, now: Instant, socket: SocketId) -> Result<(), ServerError> {
        self.advance(now);
        if self.sessions.socket(socket).is_none() {
            return Err(ServerError::UnknownSocket);
        }
        self.send_disconnect_packet(socket);
        self.remove_socket(socket, DisconnectReason::ServerNamespaceDisconnect);
        Ok(())
    }

    /// Disconnects every socket of `socket`'s session as
    /// [`Server::disconnect`] does, then closes the session ("forced close").
    pub fn disconnect_session(
        &mut self,
        now: Instant,
        socket: SocketId,
    ) -> Result<(), ServerError> {
        self.advance(now);
        let session = self
            .sessions
            .socket(socket)
            .map(|s| s.session())
            .ok_or(ServerError::UnknownSocket)?;
        for socket in self.session_sockets(session) {
            self.send_disconnect_packet(socket);
            self.remove_socket(socket, DisconnectReason::ServerNamespaceDisconnect);
        }
        self.close_session(
            session,
            DisconnectReason::ForcedClose,
            CloseReason::ForcedClose,
        );
        Ok(())
    }

    /// Disconnects every socket ("server shutting down") and closes every
    /// session.
    pub fn shutdown(&mut self, now: Instant) {
        self.advance(now);
        for session in self.sessions.ids() {
            self.close_session(
                session,
                DisconnectReason::ServerShutdown,
                CloseReason::ServerShutdown,
            );
        }
    }
}
