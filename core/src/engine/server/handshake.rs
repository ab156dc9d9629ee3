//! Opening sessions (polling or WebSocket handshakes) and the upgrade from
//! polling to WebSocket.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use bytes::Bytes;
use bytestring::ByteString;

use super::messages::{close_frame, transmit};
use super::requests::{build_response, cookie_line, Refusal, TEXT_PLAIN};
use super::timers::millis;
use super::types::{EngineEvent, HandshakeInfo, Io, SessionId};
use super::{ConnId, ConnRole, EngineServer, Transport};
use crate::engine::open_packet::OpenPacket;
use crate::engine::packet::Packet;
use crate::engine::session::{packet_frame, Session, Upgrade, WsLink};
use crate::engine::timer::TimerKind;
use crate::time::Instant;
use crate::wire::http::{PackedHeaders, Request, Response};
use crate::wire::ws::extension;
use crate::wire::ws::handshake as ws_handshake;

/// Handshakes and the upgrade.
impl EngineServer {
    pub(super) fn new_session(
        &mut self,
        now: Instant,
        req: &Request,
        transport: Transport,
    ) -> (u64, ByteString) {
        let sid = loop {
            let sid = self.ids.next_id_in(self.shard);
            let sessions = &self.sessions;
            let sid_of = |id| sessions.get(&id).map(|s| &*s.info.sid);
            if self.by_sid.get(&sid, sid_of).is_none() {
                break sid;
            }
        };
        let id = self.shard.number(self.next_session);
        self.next_session += 1;
        let info = HandshakeInfo {
            sid: sid.clone(),
            url: req.target.clone(),
            headers: PackedHeaders::new(&req.headers),
            transport,
            issued: now,
            peer: self.request_peer,
        };
        self.sessions.insert(id, Box::new(Session::new(info, None)));
        self.by_sid.insert(&sid, id);
        self.open_count += 1;
        self.stats.on_open(transport);
        // The first ping comes one interval after the open, never at once.
        self.arm(id, TimerKind::Ping, now + self.config.ping_interval);
        (id, sid)
    }

    /// The open packet for `sid`.
    pub(super) fn open_packet(&self, sid: &str, transport: Transport) -> Packet {
        let upgrades = if transport == Transport::Polling
            && self.config.allow_upgrades
            && self.config.websocket
        {
            vec![String::from("websocket")]
        } else {
            Vec::new()
        };
        let open = OpenPacket {
            sid: String::from(sid),
            upgrades,
            ping_interval: millis(self.config.ping_interval),
            ping_timeout: millis(self.config.ping_timeout),
            max_payload: u64::try_from(self.config.max_http_buffer_size).unwrap_or(u64::MAX),
        };
        Packet::Open(ByteString::from(open.to_json()))
    }

    pub(super) fn open_polling(&mut self, now: Instant, conn: ConnId, req: &Request) {
        let (id, sid) = self.new_session(now, req, Transport::Polling);
        let mut headers = self.polling_headers(req);
        if let Some(cookie) = &self.config.cookie {
            headers.push(("Set-Cookie".into(), cookie_line(cookie, &sid)));
        }
        let body = self.open_packet(&sid, Transport::Polling).to_text();
        self.respond(conn, build_response(200, Some(TEXT_PLAIN), body, headers));
        self.push_event(EngineEvent::Opened {
            session: SessionId(id),
        });
    }

    pub(super) fn open_websocket(&mut self, now: Instant, conn: ConnId, req: &Request) {
        let (response, link) = match self.accept_websocket(conn, req) {
            Some(accepted) => accepted,
            None => return self.refuse_bad_websocket(conn),
        };
        self.push_io(Io::Upgrade {
            conn,
            response: Box::new(response),
        });
        let (id, sid) = self.new_session(now, req, Transport::WebSocket);
        let open = packet_frame(&self.open_packet(&sid, Transport::WebSocket));
        let mut link = link;
        transmit(&mut self.outputs, &mut link, open, true);
        if let Some(session) = self.sessions.get_mut(&id) {
            session.ws = Some(link);
        }
        self.conns.insert(conn, ConnRole::WebSocket(id));
        self.push_event(EngineEvent::Opened {
            session: SessionId(id),
        });
    }

    /// A WebSocket for an existing session: the upgrade from polling.
    pub(super) fn start_upgrade(
        &mut self,
        now: Instant,
        conn: ConnId,
        req: &Request,
        transport: Transport,
        id: u64,
    ) {
        if transport != Transport::WebSocket || !self.config.allow_upgrades {
            return self.refuse(conn, req, true, Refusal::BadRequest);
        }
        let Some(session) = self.sessions.get(&id) else {
            return self.refuse(conn, req, true, Refusal::UnknownSid);
        };
        if session.lingering {
            return self.refuse(conn, req, true, Refusal::UnknownSid);
        }
        let busy = session.upgrade.is_some() || session.transport == Transport::WebSocket;
        let (response, link) = match self.accept_websocket(conn, req) {
            Some(accepted) => accepted,
            None => return self.refuse_bad_websocket(conn),
        };
        self.push_io(Io::Upgrade {
            conn,
            response: Box::new(response),
        });
        if busy {
            // As the reference: accepted, then closed at once; the session's
            // own transport carries on.
            self.close_websocket(conn);
            return;
        }
        if let Some(session) = self.sessions.get_mut(&id) {
            session.upgrade = Some(Box::new(Upgrade {
                link,
                probed: false,
            }));
        }
        self.conns.insert(conn, ConnRole::WebSocket(id));
        self.arm(id, TimerKind::Upgrade, now + self.config.upgrade_timeout);
    }

    /// The `101` for a valid upgrade request and the link it opens, with
    /// permessage-deflate if it is on and the client offered it acceptably
    /// (the answer then names the agreed parameters); `None` for an
    /// invalid request.
    fn accept_websocket(&self, conn: ConnId, req: &Request) -> Option<(Response, WsLink)> {
        let mut response = ws_handshake::accept(req).ok()?;
        let max = self.config.max_http_buffer_size;
        let agreed = self
            .config
            .per_message_deflate
            .as_ref()
            .and_then(|options| {
                let offers = req
                    .headers
                    .iter()
                    .filter(|h| h.name.eq_ignore_ascii_case("sec-websocket-extensions"))
                    .map(|h| h.value.as_str());
                extension::accept_offer(offers, options).map(|agreed| (agreed, options))
            });
        let codec = agreed.map(|(agreed, options)| {
            response
                .headers
                .push(("Sec-WebSocket-Extensions".into(), agreed.header_value()));
            agreed.server_codec(options)
        });
        Some((response, WsLink::new(conn, max, codec)))
    }

    /// A packet on the upgrading WebSocket; false when the upgrade ended.
    pub(super) fn on_upgrade_packet(&mut self, id: u64, packet: Packet) -> bool {
        match packet {
            Packet::Ping(data) if data == "probe" => {
                let pong = packet_frame(&Packet::Pong(ByteString::from_static("probe")));
                let Some(session) = self.sessions.get_mut(&id) else {
                    return false;
                };
                let Some(upgrade) = session.upgrade.as_mut() else {
                    return false;
                };
                upgrade.probed = true;
                transmit(&mut self.outputs, &mut upgrade.link, pong, true);
                // Polling is paused from now on: release the held GET.
                if let Some(get) = session.held_get.take() {
                    self.conns.remove(&get.conn);
                    self.answer_poll(*get, Bytes::from_static(b"6"));
                }
                self.check_backpressure(id);
                true
            }
            Packet::Upgrade => {
                self.complete_upgrade(id);
                true
            }
            _ => {
                self.abort_upgrade(id, Some(close_frame(None)));
                false
            }
        }
    }

    /// `5` came: the session moves to the WebSocket and takes its queue
    /// along (after the event, as the reference flushes after "upgrade").
    pub(super) fn complete_upgrade(&mut self, id: u64) {
        let Some(session) = self.sessions.get_mut(&id) else {
            return;
        };
        let Some(upgrade) = session.upgrade.take() else {
            return;
        };
        session.timers.set(TimerKind::Upgrade, None);
        session.ws = Some(upgrade.link);
        session.transport = Transport::WebSocket;
        self.stats.on_upgrade();
        if let Some(get) = session.held_get.take() {
            self.conns.remove(&get.conn);
            self.answer_poll(*get, Bytes::from_static(b"6"));
        }
        self.push_event(EngineEvent::Upgraded {
            session: SessionId(id),
        });
        if let Some(session) = self.sessions.get_mut(&id) {
            let queue = session.queue.take();
            if let Some(link) = session.ws.as_mut() {
                for queued in queue {
                    transmit(
                        &mut self.outputs,
                        link,
                        queued.to_ws_frame(),
                        queued.compress(),
                    );
                }
            }
            if session.lingering {
                // Closed during the upgrade: its last packets (ending with `1`) are out.
                if let Some(link) = session.ws.take() {
                    self.close_websocket(link.conn);
                }
                self.forget(id);
                return;
            }
        }
        self.check_backpressure(id);
    }

    /// Ends an upgrade that did not complete: its WebSocket is closed (with
    /// `farewell` written first, unless the connection is gone) and the
    /// session goes on polling.
    pub(super) fn abort_upgrade(&mut self, id: u64, farewell: Option<Bytes>) {
        let Some(session) = self.sessions.get_mut(&id) else {
            return;
        };
        let Some(upgrade) = session.upgrade.take() else {
            return;
        };
        session.timers.set(TimerKind::Upgrade, None);
        let conn = upgrade.link.conn;
        self.conns.remove(&conn);
        if let Some(frame) = farewell {
            self.push_io(Io::Transmit { conn, data: frame });
            self.push_io(Io::Close { conn });
        }
        self.mark_dirty(id);
    }
}
