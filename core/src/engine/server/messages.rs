//! Packets from the client, queueing and sending to it (WebSocket frames or
//! polling records), backpressure, and closing sessions.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use bytes::Bytes;

use super::types::{CloseReason, EngineEvent, Io, Output, SessionId};
use super::{ConnId, EngineServer, Farewell, Transport};
use crate::engine::packet::Packet;
use crate::engine::session::{packet_frame, Queued, Session, WsLink};
use crate::engine::timer::{SessionTimers, TimerKind};
use crate::time::Instant;
use crate::wire::ws::frame::{close_payload, server_frame, Message, OpCode};

/// Packets, sending, heartbeat, closing.
impl EngineServer {
    /// A packet from the client on the session's own transport.
    pub(super) fn on_packet(&mut self, now: Instant, id: u64, packet: Packet) {
        match packet {
            Packet::Message(_) | Packet::Binary(_) => {
                let bytes = match &packet {
                    Packet::Message(text) => text.len(),
                    Packet::Binary(data) => data.len(),
                    _ => 0,
                };
                self.stats.on_packet_in(bytes);
                self.push_event(EngineEvent::Message {
                    session: SessionId(id),
                    packet,
                })
            }
            Packet::Pong(_) => {
                // As the reference: the pong deadline is cancelled and the
                // next ping comes one interval after this pong.
                if let Some(session) = self.sessions.get_mut(&id) {
                    session.timers.set(TimerKind::PongDeadline, None);
                }
                self.arm(id, TimerKind::Ping, now + self.config.ping_interval);
            }
            // In v4 only the server pings ("invalid heartbeat direction").
            Packet::Ping(_) => {
                self.close_session(now, id, CloseReason::TransportError, Farewell::Failed)
            }
            Packet::Close => {
                self.close_session(now, id, CloseReason::TransportClose, Farewell::ClientClose)
            }
            Packet::Open(_) | Packet::Upgrade | Packet::Noop => {}
        }
    }

    /// A WebSocket message or control frame; false when reading must stop.
    pub(super) fn on_ws_message(
        &mut self,
        now: Instant,
        id: u64,
        conn: ConnId,
        upgrading: bool,
        message: Message,
    ) -> bool {
        let packet = match message {
            Message::Text(text) => match Packet::decode_text(text) {
                Ok(packet) => packet,
                Err(_) => {
                    if upgrading {
                        self.abort_upgrade(id, Some(close_frame(None)));
                    } else {
                        self.close_session(now, id, CloseReason::ParseError, Farewell::Failed);
                    }
                    return false;
                }
            },
            Message::Binary(data) => Packet::Binary(data),
            Message::Ping(data) => {
                if let Some((link, _)) = self.sessions.get_mut(&id).and_then(|s| s.link_mut(conn)) {
                    transmit(
                        &mut self.outputs,
                        link,
                        server_frame(OpCode::Pong, &data),
                        true,
                    );
                }
                self.check_backpressure(id);
                return self.sessions.contains_key(&id);
            }
            Message::Pong(_) => return true,
            Message::Close(frame) => {
                let code = frame.map(|f| f.code);
                if upgrading {
                    self.abort_upgrade(id, Some(close_frame(code)));
                } else {
                    self.close_session(
                        now,
                        id,
                        CloseReason::TransportClose,
                        Farewell::WsEcho(code),
                    );
                }
                return false;
            }
        };
        if upgrading {
            self.on_upgrade_packet(id, packet)
        } else {
            self.on_packet(now, id, packet);
            self.sessions.contains_key(&id)
        }
    }

    /// Sends `queued` on the session's transport now, or queues it for a GET.
    pub(super) fn enqueue(&mut self, id: u64, queued: Queued) {
        let Some(session) = self.sessions.get_mut(&id) else {
            return;
        };
        match (session.transport, session.ws.as_mut()) {
            (Transport::WebSocket, Some(link)) => {
                transmit(
                    &mut self.outputs,
                    link,
                    queued.to_ws_frame(),
                    queued.compress(),
                );
                // The common case (a WebSocket, no upgrade under way) is
                // checked with the session at hand: one lookup per send.
                let over = link.is_over(&self.config);
                if session.upgrade.is_none() {
                    if over {
                        self.close_session(
                            self.now,
                            id,
                            CloseReason::TransportError,
                            Farewell::Abort,
                        );
                    }
                    return;
                }
            }
            _ => {
                session.push(queued);
                self.mark_dirty(id);
            }
        }
        self.check_backpressure(id);
    }

    /// Closes a session whose client leaves more than
    /// [`Config::max_buffered_packets`] or [`Config::max_buffered_bytes`]
    /// unread, dropping what was queued for it.
    pub(super) fn check_backpressure(&mut self, id: u64) {
        let config = &self.config;
        let Some(session) = self.sessions.get(&id) else {
            return;
        };
        let over = match session.transport {
            Transport::WebSocket => session.ws.as_ref().is_some_and(|l| l.is_over(config)),
            // A held GET is about to take the queue.
            Transport::Polling if session.held_get.is_some() && !session.polling_paused() => false,
            Transport::Polling => {
                session.queue.len() > config.max_buffered_packets
                    || (session.queue.bytes() > config.max_buffered_bytes
                        && session.queue.len() > 1)
            }
        };
        let upgrade_over = session
            .upgrade
            .as_ref()
            .is_some_and(|u| u.link.is_over(config));
        if over || upgrade_over {
            self.close_session(self.now, id, CloseReason::TransportError, Farewell::Abort);
        }
    }

    /// Closes session `id`: its transports get what `farewell` says, the
    /// layer above gets [`EngineEvent::Closed`], and nothing of it stays
    /// (but the packets of a polling session closed by the server, which
    /// wait for the client's next GET).
    pub(super) fn close_session(
        &mut self,
        now: Instant,
        id: u64,
        reason: CloseReason,
        farewell: Farewell,
    ) {
        let Some(mut session) = self.sessions.remove(&id) else {
            return;
        };
        if session.lingering {
            self.sessions.insert(id, session);
            return;
        }
        self.open_count = self.open_count.saturating_sub(1);
        self.stats
            .on_close(reason, session.transport, farewell == Farewell::Abort);
        let probed = session.upgrade.as_ref().is_some_and(|u| u.probed);
        if probed && farewell == Farewell::Forced && session.transport == Transport::Polling {
            // The client has paused polling for a probed upgrade: as the
            // reference, the packets and `1` wait for the upgrade to finish
            // and go out on the WebSocket (see `complete_upgrade`).
            session.push(Queued::Control(Packet::Close));
            self.linger(now, id, session, reason);
            return;
        }
        // A lingering session keeps its pong deadline (see `linger`).
        let pong_deadline = session.timers.get(TimerKind::PongDeadline);
        session.timers = SessionTimers::default();
        if let Some(upgrade) = session.upgrade.take() {
            if farewell == Farewell::Abort {
                self.conns.remove(&upgrade.link.conn);
                self.push_io(Io::Abort {
                    conn: upgrade.link.conn,
                });
            } else {
                self.close_websocket(upgrade.link.conn);
            }
        }
        if session.transport == Transport::Polling {
            let close = Queued::Control(Packet::Close);
            match (session.held_get.take(), farewell) {
                (Some(get), Farewell::Forced) if session.queue.is_empty() => {
                    self.conns.remove(&get.conn);
                    self.answer_poll(*get, Bytes::from_static(b"1"));
                }
                (Some(get), Farewell::Forced) => {
                    // As the reference: the queued packets drain first and
                    // `1` waits for the next GET, so a client reads its
                    // DISCONNECT before the transport closes.
                    let (body, compress) = session.take_poll_body();
                    self.conns.remove(&get.conn);
                    self.answer_poll(get.compressible(compress), body);
                    session.push(close);
                    session.timers.set(TimerKind::PongDeadline, pong_deadline);
                    self.linger(now, id, session, reason);
                    return;
                }
                (Some(get), _) => {
                    let body = match farewell {
                        Farewell::ClientClose => Bytes::from_static(b"6"),
                        _ => Bytes::from_static(b"1"),
                    };
                    self.conns.remove(&get.conn);
                    self.answer_poll(*get, body);
                }
                (None, Farewell::Forced) => {
                    // Keep the packets and `1` for the next GETs.
                    session.push(close);
                    session.timers.set(TimerKind::PongDeadline, pong_deadline);
                    self.linger(now, id, session, reason);
                    return;
                }
                (None, _) => {}
            }
        }
        if let Some(link) = session.ws.take() {
            let conn = link.conn;
            self.conns.remove(&conn);
            let last_frames = match farewell {
                Farewell::Forced => Some((Some(packet_frame(&Packet::Close)), close_frame(None))),
                Farewell::Failed | Farewell::ClientClose => Some((None, close_frame(None))),
                Farewell::WsError(code) => Some((None, close_frame(Some(code)))),
                Farewell::WsEcho(code) => Some((None, close_frame(code))),
                Farewell::TransportGone => None,
                Farewell::Abort => {
                    self.push_io(Io::Abort { conn });
                    None
                }
            };
            if let Some((packet, frame)) = last_frames {
                if let Some(data) = packet {
                    self.push_io(Io::Transmit { conn, data });
                }
                self.push_io(Io::Transmit { conn, data: frame });
                self.push_io(Io::Close { conn });
            }
        }
        self.by_sid.remove(&session.info.sid, id);
        self.push_event(EngineEvent::Closed {
            session: SessionId(id),
            reason,
        });
    }

    /// Keeps a polling session the server closed until its client has
    /// fetched the queued packets and then `1` (the last entry of its
    /// queue), for at most [`Config::close_timeout`] and, as in the
    /// reference, no longer than the pong deadline it had. It counts as
    /// closed from now on.
    pub(super) fn linger(
        &mut self,
        now: Instant,
        id: u64,
        mut session: Box<Session>,
        reason: CloseReason,
    ) {
        session.lingering = true;
        session.timers.set(TimerKind::Ping, None);
        self.sessions.insert(id, session);
        self.arm(id, TimerKind::Linger, now + self.config.close_timeout);
        self.push_event(EngineEvent::Closed {
            session: SessionId(id),
            reason,
        });
    }

    /// Drops a lingering session for good. A probed upgrade that never
    /// completed still holds its WebSocket: it is closed here, or it would
    /// stay open (and in `conns`) for as long as the client keeps it.
    pub(super) fn forget(&mut self, id: u64) {
        if let Some(session) = self.sessions.remove(&id) {
            self.by_sid.remove(&session.info.sid, id);
            if let Some(get) = session.held_get {
                self.conns.remove(&get.conn);
            }
            if let Some(upgrade) = session.upgrade {
                self.close_websocket(upgrade.link.conn);
            }
        }
    }

    /// Closes WebSocket `conn` with a bare close frame; the engine forgets it.
    pub(super) fn close_websocket(&mut self, conn: ConnId) {
        self.conns.remove(&conn);
        self.push_io(Io::Transmit {
            conn,
            data: close_frame(None),
        });
        self.push_io(Io::Close { conn });
    }
}

/// Writes `data` on a WebSocket, counting it until the driver reports it written.
/// With permessage-deflate, a whole message of at least the threshold is
/// compressed here, for this connection alone (its window is its own),
/// unless `compress` is false (the application's `compress(false)`).
pub(super) fn transmit(
    outputs: &mut VecDeque<Output>,
    link: &mut WsLink,
    data: Bytes,
    compress: bool,
) {
    let data = match link.deflate.as_mut() {
        Some(codec) if compress => codec.server_frame(data),
        _ => data,
    };
    link.unwritten_frames = link.unwritten_frames.saturating_add(1);
    link.unwritten_bytes = link.unwritten_bytes.saturating_add(data.len());
    outputs.push_back(Output::Io(Io::Transmit {
        conn: link.conn,
        data,
    }));
}

/// A close frame, with a status code or (as the reference's `ws` writes
/// when closing without one) an empty body.
pub(super) fn close_frame(code: Option<u16>) -> Bytes {
    match code {
        Some(code) => server_frame(OpCode::Close, &close_payload(code, "")),
        None => server_frame(OpCode::Close, &[]),
    }
}
