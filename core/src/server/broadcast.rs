//! Broadcast options, and the one-encoding path every outgoing packet takes:
//! the packet is encoded once by the parser, its Engine.IO messages become
//! [`OutMessage`]s once, and each recipient gets clones of those (a clone
//! shares the buffer; nothing is allocated per recipient).

use alloc::vec::Vec;
use bytestring::ByteString;

use crate::engine::{EngineServer, OutMessage};

use super::namespace::Namespace;
use super::socket::SocketId;
use super::types::{Event, ServerError};
use super::Server;
use crate::engine::SessionId;
use crate::packet::{Packet, Parser, RawJson};
use crate::time::Instant;
use bytes::Bytes;
use core::time::Duration;

/// Who receives a broadcast.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BroadcastOptions {
    /// Rooms to send to (their union); empty means the whole namespace.
    pub rooms: Vec<ByteString>,
    /// Sockets in any of these rooms are left out.
    pub except: Vec<ByteString>,
    /// These sockets are left out (the sender, for `socket.broadcast`).
    pub except_sockets: Vec<SocketId>,
    /// Drop the packet for recipients whose transport cannot take it now.
    pub volatile: bool,
}

/// One broadcast's encoding, kept for the other shards of a sharded
/// server ([`Server::broadcast_shared`]): the first shard with recipients
/// encodes, the others send the same bytes. Cloning the messages shares
/// their buffers.
#[derive(Debug, Default)]
pub struct SharedEncoding {
    messages: Option<Vec<OutMessage>>,
}

impl SharedEncoding {
    /// Whether a shard has encoded it already.
    pub fn is_encoded(&self) -> bool {
        self.messages.is_some()
    }
}

/// Encodes `packet` into ready-to-send messages in `out` (cleared first;
/// the caller keeps it to reuse its allocation).
pub(crate) fn encode<P: Parser>(parser: &P, packet: &Packet, out: &mut Vec<OutMessage>) {
    out.clear();
    parser.encode_messages(packet, out);
}

/// Queues `messages` (one packet) for `session`; returns whether they were
/// queued. A volatile packet is dropped whole when its first message cannot
/// go out now; a closed session takes nothing (its close is on its way).
pub(crate) fn send(
    engine: &mut EngineServer,
    session: SessionId,
    messages: &[OutMessage],
    volatile: bool,
) -> bool {
    let Some((first, rest)) = messages.split_first() else {
        return false;
    };
    let queued = if volatile {
        engine.send_volatile(session, first).unwrap_or(false)
    } else {
        engine.send(session, first).is_ok()
    };
    if queued {
        for message in rest {
            // The rest of a packet follows its head even when volatile.
            let _ = engine.send(session, message);
        }
    }
    queued
}

/// Broadcasts and rooms.
impl<P: Parser> Server<P> {
    // ----- broadcast -----

    /// Sends `data` to the sockets of `nsp` that `opts` selects, encoded
    /// once for all of them; returns how many got it (volatile drops not
    /// counted). An unknown namespace has no sockets.
    pub fn broadcast(
        &mut self,
        now: Instant,
        nsp: &str,
        opts: &BroadcastOptions,
        data: RawJson,
        attachments: Vec<Bytes>,
    ) -> usize {
        self.advance(now);
        self.broadcast_inner(nsp, opts, data, attachments, None, None, None)
            .0
    }

    /// [`Server::broadcast`] by one shard of several, each given the same
    /// `encoding`: the packet is encoded by the first shard that has
    /// recipients and sent as is by the others (unless this shard's
    /// recovery log gives it an offset of its own, which makes its bytes
    /// differ: then it encodes its own).
    #[allow(clippy::too_many_arguments)]
    pub fn broadcast_shared(
        &mut self,
        now: Instant,
        nsp: &str,
        opts: &BroadcastOptions,
        data: RawJson,
        attachments: Vec<Bytes>,
        encoding: &mut SharedEncoding,
    ) -> usize {
        self.advance(now);
        self.broadcast_inner(nsp, opts, data, attachments, None, None, Some(encoding))
            .0
    }

    /// Like [`Server::broadcast`](super::Server::broadcast), asking every recipient for an ack with
    /// one deadline, `now + timeout`. All recipients share one ack id (as in
    /// the reference server); returns each recipient with it. Sockets that
    /// already wait for [`Config::max_pending_acks`](super::Config::max_pending_acks) acks are left out.
    pub fn broadcast_with_ack(
        &mut self,
        now: Instant,
        nsp: &str,
        opts: &BroadcastOptions,
        data: RawJson,
        attachments: Vec<Bytes>,
        timeout: Duration,
    ) -> Vec<(SocketId, u64)> {
        self.advance(now);
        let deadline = now + timeout;
        let mut sent = Vec::new();
        let (_, id) = self.broadcast_inner(
            nsp,
            opts,
            data,
            attachments,
            Some(deadline),
            Some(&mut sent),
            None,
        );
        match id {
            Some(id) => sent.into_iter().map(|socket| (socket, id)).collect(),
            None => Vec::new(),
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn broadcast_inner(
        &mut self,
        nsp: &str,
        opts: &BroadcastOptions,
        data: RawJson,
        attachments: Vec<Bytes>,
        ack_deadline: Option<Instant>,
        mut sent: Option<&mut Vec<SocketId>>,
        encoding: Option<&mut SharedEncoding>,
    ) -> (usize, Option<u64>) {
        let Some(nsp) = self.namespaces.get_key_value(nsp).map(|(k, _)| k.clone()) else {
            return (0, None);
        };
        let Some(namespace) = self.namespaces.get_mut(&nsp) else {
            return (0, None);
        };
        let mut recipients = core::mem::take(&mut self.recipients_scratch);
        namespace.recipients(opts, &mut recipients);
        let id = ack_deadline.map(|_| namespace.take_ack_id());
        if let Some(sent) = sent.as_deref_mut() {
            sent.reserve(recipients.len());
        }
        let mut count = 0;
        // Logged for recovery unless volatile or waiting for acks, as in Node.
        let supplied = self.supplied_offset.take();
        // Whether this shard's bytes are its own (an offset of its log).
        let mut own_bytes = id.is_some();
        let data = match self.recovery.as_mut() {
            Some(_) if self.external_recovery => match supplied {
                Some(offset) if id.is_none() && !opts.volatile => {
                    super::recovery::append_string(&data, &offset)
                }
                _ => data,
            },
            Some(store) if id.is_none() && !opts.volatile => {
                own_bytes = true;
                let mut except = opts.except.clone();
                except.extend(
                    opts.except_sockets
                        .iter()
                        .filter_map(|s| self.sessions.socket(*s).map(|s| s.sid.clone())),
                );
                store.log(
                    self.now,
                    nsp.clone(),
                    opts.rooms.clone(),
                    except,
                    &data,
                    attachments.clone(),
                )
            }
            _ => data,
        };
        if recipients.is_empty() {
            // Logged (above) but sent to no one here: nothing to encode.
            self.recipients_scratch = recipients;
            return (0, id);
        }
        let mut messages = core::mem::take(&mut self.encode_scratch);
        match encoding {
            Some(SharedEncoding {
                messages: Some(shared),
            }) if !own_bytes => messages.extend(shared.iter().cloned()),
            encoding => {
                let packet = Packet {
                    id,
                    ..Packet::event(nsp, data, attachments)
                };
                encode(&self.parser, &packet, &mut messages);
                self.apply_compress(&mut messages);
                if let (Some(encoding), false) = (encoding, own_bytes) {
                    encoding.messages = Some(messages.clone());
                }
            }
        }
        for &socket in &recipients {
            let Some(state) = self.sessions.socket(socket) else {
                continue;
            };
            if id.is_some() && state.acks.len() >= self.max_pending_acks {
                continue;
            }
            let session = state.session();
            if !send(&mut self.engine, session, &messages, opts.volatile) {
                continue;
            }
            if let (Some(id), Some(deadline)) = (id, ack_deadline) {
                self.add_pending_ack(socket, id, deadline);
            }
            count += 1;
            if let Some(sent) = sent.as_deref_mut() {
                sent.push(socket);
            }
        }
        recipients.clear();
        self.recipients_scratch = recipients;
        self.reuse_messages(messages);
        (count, id)
    }

    // ----- rooms -----

    /// Puts `socket` in `room` (of its namespace).
    pub fn join(&mut self, socket: SocketId, room: &str) -> Result<(), ServerError> {
        let state = self
            .sessions
            .socket(socket)
            .ok_or(ServerError::UnknownSocket)?;
        if state.rooms.contains(room) {
            return Ok(());
        }
        // Only asked when the room may be new and reported.
        let private = self.room_events && self.is_socket_id(&state.nsp, &state.sid, room);
        let Some(state) = self.sessions.socket_mut(socket) else {
            return Err(ServerError::UnknownSocket);
        };
        let mut room = ByteString::from(room);
        if let Some(namespace) = self.namespaces.get_mut(&state.nsp) {
            let (created, shared) = namespace.join_shared(socket, room);
            room = shared;
            if created && self.room_events {
                self.events.push_back(Event::RoomCreated {
                    nsp: state.nsp.clone(),
                    private,
                    room: room.clone(),
                });
            }
        }
        state.rooms.insert(room.clone());
        if self.observer_events {
            let nsp = state.nsp.clone();
            self.events
                .push_back(Event::RoomJoined { socket, nsp, room });
        }
        Ok(())
    }

    /// Whether `room` is the id of a socket of namespace `nsp` (the
    /// reference adapter's `sids.has(room)`); `sid` is the asking socket's.
    /// Ids all have one length: other rooms are not looked up.
    fn is_socket_id(&self, nsp: &str, sid: &str, room: &str) -> bool {
        room == sid
            || (room.len() == sid.len()
                && self.namespaces.get(nsp).is_some_and(|namespace| {
                    namespace.sockets().iter().any(|id| {
                        self.sessions
                            .socket(*id)
                            .is_some_and(|other| &*other.sid == room)
                    })
                }))
    }

    /// Takes `socket` out of `room`; an empty room disappears.
    pub fn leave(&mut self, socket: SocketId, room: &str) -> Result<(), ServerError> {
        let state = self
            .sessions
            .socket_mut(socket)
            .ok_or(ServerError::UnknownSocket)?;
        if state.rooms.remove(room) {
            if let Some(namespace) = self.namespaces.get_mut(&state.nsp) {
                if namespace.leave(socket, room) && self.room_events {
                    self.events.push_back(Event::RoomDeleted {
                        nsp: state.nsp.clone(),
                        room: ByteString::from(room),
                    });
                }
            }
            if self.observer_events {
                let nsp = state.nsp.clone();
                let room = ByteString::from(room);
                self.events.push_back(Event::RoomLeft { socket, nsp, room });
            }
        }
        Ok(())
    }

    /// The rooms `socket` is in, its own id included, in name order.
    pub fn rooms(&self, socket: SocketId) -> Result<impl Iterator<Item = &str> + '_, ServerError> {
        let state = self
            .sessions
            .socket(socket)
            .ok_or(ServerError::UnknownSocket)?;
        Ok(state.rooms.iter().map(|room| &**room))
    }

    /// The members of `room` in namespace `nsp`, in handle order (empty when
    /// The sockets of `nsp` that a broadcast with `opts` would reach (rooms,
    /// except rooms, except sockets; `volatile` plays no part here).
    pub fn matching_sockets(&self, nsp: &str, opts: &BroadcastOptions) -> Vec<SocketId> {
        let mut out = Vec::new();
        if let Some(namespace) = self.namespaces.get(nsp) {
            namespace.recipients(opts, &mut out);
        }
        out
    }

    /// either does not exist).
    pub fn room_members(&self, nsp: &str, room: &str) -> Vec<SocketId> {
        self.namespaces
            .get(nsp)
            .and_then(|namespace| namespace.room(room))
            .map(|members| members.iter().collect())
            .unwrap_or_default()
    }

    /// How many non-empty rooms namespace `nsp` has.
    pub fn room_count(&self, nsp: &str) -> usize {
        self.namespaces.get(nsp).map_or(0, Namespace::room_count)
    }

    /// The sockets of namespace `nsp`, in handle order.
    pub fn namespace_sockets(&self, nsp: &str) -> Vec<SocketId> {
        self.namespaces
            .get(nsp)
            .map(|namespace| namespace.sockets().iter().copied().collect())
            .unwrap_or_default()
    }
}
