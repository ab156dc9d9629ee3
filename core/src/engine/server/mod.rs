//! The Engine.IO v4 server state machine: handshakes, long-polling,
//! WebSocket, the upgrade from polling, heartbeats and closes, for every
//! session of one endpoint.
//!
//! # Contract
//!
//! The driver owns the sockets. It hands in:
//! - [`EngineServer::handle_request`]: one parsed HTTP request for the
//!   endpoint, tagged with a [`ConnId`] it chose (one id per request; a
//!   request that becomes a WebSocket keeps its id as the WebSocket's id);
//! - [`EngineServer::handle_ws_data`]: bytes read from an accepted WebSocket;
//! - [`EngineServer::handle_written`]: how many more transmits of a
//!   WebSocket (frames and bytes) were written to its socket since the last
//!   report; what is transmitted and not reported written is its backlog,
//!   bounded by [`Config::max_buffered_packets`] and
//!   [`Config::max_buffered_bytes`] (a polling session's queue is bounded
//!   the same way). [`EngineServer::handle_flushed`] says everything was;
//! - [`EngineServer::handle_conn_closed`]: a connection closed or a
//!   request aborted;
//! - [`EngineServer::handle_timeout`] at the instant last returned in
//!   [`Output::Timeout`].
//!
//! After each input it drains [`EngineServer::poll_output`] until
//! [`Output::Timeout`]. [`Io`] outputs are for the driver; [`EngineEvent`]s
//! are for the layer above (Socket.IO), which answers through
//! [`EngineServer::send`] and [`EngineServer::close`].
//!
//! Every request gets exactly one response: a held polling GET is answered
//! when data is queued, when the session pauses for an upgrade (noop), or
//! when it closes.
//!
//! Every `handle_*` input first fires the deadlines already due at its
//! `now`, so a driver whose timer wakes late never has an input handled by
//! a session that should be gone.
//!
//! A connection the server closes ([`Io::Close`]: queued data, then the
//! close) must be gone [`Config::close_timeout`] later whether its peer
//! reads or not: unless the driver reported it closed by then, an
//! [`Io::Abort`] follows (drop what is queued, close now). A client past
//! its backlog bound is aborted at once ("transport error"): what was queued
//! for it is dropped rather than held behind a close frame.
//!
//! # Behaviour of the reference server (engine.io 6.6) that this follows
//!
//! - Checks run in the reference's order: transport, then the sid (unknown:
//!   code 1; a polling request for a session on WebSocket: code 3), then for
//!   handshakes the method (code 2) and `EIO=4` (code 5). Refused upgrade
//!   requests get a plain-text 400 and a closed connection, as `ws` writes.
//! - Without [`Config::cors`] an `OPTIONS` request is not a preflight; it is
//!   refused like any other request (code 2 without a sid).
//! - The next ping comes one `pingInterval` after the last pong; a `2` from
//!   the client is a transport error (only the server pings in v4).
//! - A POST over `max_http_buffer_size` gets 413 and the session closes
//!   ("transport error"; engine.io 6.6 says "payload too large"); records
//!   before a bad one are handled, then the session closes with "parse
//!   error", and the POST still gets `ok`.
//! - Once the client probed (`2probe`), polling is paused: held and new GETs
//!   get `6` at once (the reference answers within 100 ms), and packets wait
//!   for the WebSocket. A second WebSocket for a session that is upgrading
//!   or upgraded is accepted and closed at once.
//! - A closed polling session whose client holds no GET keeps its packets and
//!   `1` for the next GET, for at most [`Config::close_timeout`] (30 s) and
//!   no longer than its pending pong deadline (the reference's closing
//!   socket keeps its ping timeout); later GETs get 400 code 1.
//! - Unlike the reference, a `1` over WebSocket closes the session (the
//!   reference ignores it and waits for the close frame).

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use bytes::Bytes;
use hashbrown::HashMap;

use super::config::Config;
use super::cors;
use super::ids::IdGenerator;
use super::session::{Queued, Session, WsLink};
use super::shard::Shard;
use super::stats::EngineStats;
use super::timer::TimerHeap;
use crate::time::Instant;
use crate::wire::http::{Method, Request};
use crate::wire::ws::handshake as ws_handshake;
use conns::ConnRole;
use messages::close_frame;
use requests::{build_response, Refusal};

mod conns;
mod handshake;
mod messages;
mod polling;
mod requests;
mod sids;
mod timers;
mod types;

pub use super::transport::{ConnId, Transport};
pub use types::{
    CloseReason, ConnectionError, EngineError, EngineEvent, Footprint, HandshakeInfo, Io,
    OutMessage, Output, RefusalContext, SessionId,
};

/// What a closing session writes on its transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Farewell {
    /// The server closes: queued packets, then `1` (polling) or a `1`
    /// text frame and a close frame (WebSocket).
    Forced,
    /// The session failed: a held GET gets `1`, a WebSocket a close frame.
    Failed,
    /// The client sent `1`: a held GET gets `6`, a WebSocket a close frame.
    ClientClose,
    /// A WebSocket protocol error: a close frame with this code.
    WsError(u16),
    /// The client's close frame, echoed with its code if it had one.
    WsEcho(Option<u16>),
    /// The transport's connection is gone: nothing to write on it.
    TransportGone,
    /// The client does not read: what is queued for it is dropped and its
    /// connection closed at once.
    Abort,
}

/// The Engine.IO server.
pub struct EngineServer {
    config: Config,
    ids: IdGenerator,
    /// Its place among the process's shards: session numbers and ids name it.
    shard: Shard,
    next_session: u64,
    /// Boxed: the table then holds a pointer per session, and its spare
    /// capacity costs 16 bytes a slot rather than a whole session.
    sessions: HashMap<u64, Box<Session>>,
    by_sid: sids::SidIndex,
    conns: conns::ConnRoles,
    outputs: VecDeque<Output>,
    /// Outputs taken since the queue was last empty, and in the drain before.
    burst: usize,
    previous_burst: usize,
    timers: TimerHeap,
    /// Sessions with packets for their held GET, answered at the next
    /// `poll_output` or input so that back-to-back sends share a response.
    dirty: Vec<u64>,
    /// Sessions not closed yet.
    open_count: usize,
    /// The latest `now` handed in (for inputs that carry none).
    now: Instant,
    /// The peer of the request being handled, for a handshake it opens.
    request_peer: Option<core::net::SocketAddr>,
    /// Connections told to close, by deadline (the timeout is constant, so
    /// this is in order); an entry is live while `closing_at` agrees.
    closing: VecDeque<(Instant, ConnId)>,
    closing_at: HashMap<ConnId, Instant>,
    /// Running totals for metrics and the Admin UI.
    stats: EngineStats,
}

impl EngineServer {
    /// A server with `config`. `seed` feeds the generator of session ids: give
    /// it 32 bytes from a cryptographic source, or ids become guessable.
    pub fn new(config: Config, seed: [u8; 32]) -> Self {
        EngineServer {
            config,
            ids: IdGenerator::new(seed),
            shard: Shard::ONE,
            next_session: 0,
            sessions: HashMap::new(),
            by_sid: sids::SidIndex::default(),
            conns: conns::ConnRoles::default(),
            outputs: VecDeque::new(),
            burst: 0,
            previous_burst: 0,
            timers: TimerHeap::default(),
            request_peer: None,
            dirty: Vec::new(),
            open_count: 0,
            now: Instant::ZERO,
            closing: VecDeque::new(),
            closing_at: HashMap::new(),
            stats: EngineStats::default(),
        }
    }

    /// Makes this server shard `shard` of its process: every session it
    /// opens from now on is numbered, and its id marked, as that shard's
    /// ([`Shard`]). Call it before the first input.
    pub fn set_shard(&mut self, shard: Shard) {
        self.shard = shard;
    }

    /// Its place among the process's shards.
    pub fn shard(&self) -> Shard {
        self.shard
    }

    /// Running totals: sessions by transport, upgrades, closes by reason,
    /// packets and bytes each way.
    pub fn stats(&self) -> &EngineStats {
        &self.stats
    }

    /// The options in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Whether `req` is for this endpoint: its path is [`Config::path`],
    /// with or without the trailing slash. (The reference matches any URL
    /// starting with the path; sio wants the exact path.)
    pub fn matches(&self, req: &Request) -> bool {
        self.matches_path(req.path())
    }

    /// Whether `path` (without query) is this endpoint's: [`Config::path`],
    /// with or without its trailing slash.
    pub fn matches_path(&self, path: &str) -> bool {
        let configured = self.config.path.as_str();
        path == configured || (configured.len() > 1 && path == configured.trim_end_matches('/'))
    }

    /// [`EngineServer::handle_request`] for a request from `peer`, which a
    /// session it opens keeps in [`HandshakeInfo::peer`].
    pub fn handle_request_from(
        &mut self,
        now: Instant,
        conn: ConnId,
        req: Request,
        peer: Option<core::net::SocketAddr>,
    ) {
        self.request_peer = peer;
        self.handle_request(now, conn, req);
        self.request_peer = None;
    }

    /// Input: a request for this endpoint. The path is not checked again
    /// (see [`EngineServer::matches`]).
    ///
    /// `OPTIONS` gets a CORS preflight answer when [`Config::cors`] is set;
    /// without it, as in the reference, it is refused like any other
    /// handshake that is not a GET.
    pub fn handle_request(&mut self, now: Instant, conn: ConnId, req: Request) {
        self.begin_input(now);
        if req.method == Method::Options {
            if let Some(cors) = &self.config.cors {
                let response = cors::preflight(cors, &req);
                self.respond(conn, response);
                return;
            }
        }
        let upgrade = self.config.websocket && ws_handshake::is_upgrade_request(&req);
        match self.verify(&req, upgrade) {
            Err(refused) => self.refuse_reported(conn, &req, upgrade, refused),
            Ok((Transport::WebSocket, None)) => self.open_websocket(now, conn, &req),
            Ok((Transport::Polling, None)) if upgrade => {
                self.refuse(conn, &req, upgrade, Refusal::BadRequest)
            }
            Ok((Transport::Polling, None)) => self.open_polling(now, conn, &req),
            Ok((transport, Some(id))) if upgrade => {
                self.start_upgrade(now, conn, &req, transport, id)
            }
            Ok((_, Some(id))) => match req.method {
                Method::Get => self.on_poll(conn, &req, id),
                Method::Post => self.on_post(now, conn, &req, id),
                // The reference's polling transport answers other methods 500.
                _ => {
                    let headers = self.polling_headers(&req);
                    self.respond(conn, build_response(500, None, Bytes::new(), headers));
                }
            },
        }
    }

    /// Input: a request for this endpoint whose body went over
    /// [`Config::max_http_buffer_size`] and was refused unread by the
    /// driver's parser ([`crate::wire::http::RequestParser::take_refused_head`]
    /// gives its head). It gets 413, and a polling POST of an open session
    /// fails that session ("transport error") once the driver reports the
    /// request gone (its 413 written), as the reference's "payload too
    /// large" does.
    pub fn handle_request_too_large(&mut self, now: Instant, conn: ConnId, req: Request) {
        self.begin_input(now);
        let headers = self.polling_headers(&req);
        self.respond(conn, build_response(413, None, Bytes::new(), headers));
        if req.method == Method::Post {
            if let Ok((Transport::Polling, Some(id))) = self.verify(&req, false) {
                self.refuse_post(id, conn);
            }
        }
    }

    /// Answers `req` with 403 `{"code":4,"message":"Forbidden"}` (or
    /// `message` for `"Forbidden"`), as the reference does when the
    /// application's allow-request check refuses (a WebSocket upgrade
    /// request gets the reference's plain 400 with the message, and its
    /// connection is closed), and reports it
    /// ([`EngineEvent::ConnectionError`], context `{ message }`).
    pub fn forbid(&mut self, now: Instant, conn: ConnId, req: &Request, message: Option<&str>) {
        self.begin_input(now);
        let upgrade = self.config.websocket && ws_handshake::is_upgrade_request(req);
        let context = RefusalContext::Forbidden {
            message: message.map(Into::into),
        };
        self.refuse_reported(conn, req, upgrade, (Refusal::Forbidden, context));
    }

    /// Input: bytes read from the WebSocket connection `conn`.
    pub fn handle_ws_data(&mut self, now: Instant, conn: ConnId, data: &[u8]) {
        self.begin_input(now);
        let Some(ConnRole::WebSocket(id)) = self.conns.get(&conn) else {
            return;
        };
        match self.sessions.get_mut(&id).and_then(|s| s.link_mut(conn)) {
            Some((link, _)) => link.decoder.feed(data),
            None => return,
        }
        loop {
            let Some((link, upgrading)) = self.sessions.get_mut(&id).and_then(|s| s.link_mut(conn))
            else {
                return;
            };
            match link.decoder.poll_message() {
                Ok(None) => return,
                Ok(Some(message)) => {
                    if !self.on_ws_message(now, id, conn, upgrading, message) {
                        return;
                    }
                }
                Err(error) => {
                    let code = error.close_code();
                    if upgrading {
                        self.abort_upgrade(id, Some(close_frame(Some(code))));
                    } else {
                        self.close_session(
                            now,
                            id,
                            CloseReason::TransportError,
                            Farewell::WsError(code),
                        );
                    }
                    return;
                }
            }
        }
    }

    /// Input: every byte transmitted on `conn` so far has been written.
    pub fn handle_flushed(&mut self, now: Instant, conn: ConnId) {
        self.begin_input(now);
        if let Some(link) = self.ws_link_mut(conn) {
            link.unwritten_frames = 0;
            link.unwritten_bytes = 0;
        }
    }

    /// Input: since its last report, the driver wrote `frames` more whole
    /// transmits of `conn` to its socket, `bytes` bytes in all. What is
    /// transmitted but not reported written is the connection's backlog,
    /// bounded by [`Config::max_buffered_packets`] and
    /// [`Config::max_buffered_bytes`].
    pub fn handle_written(&mut self, now: Instant, conn: ConnId, frames: usize, bytes: usize) {
        self.begin_input(now);
        if let Some(link) = self.ws_link_mut(conn) {
            link.unwritten_frames = link.unwritten_frames.saturating_sub(frames);
            link.unwritten_bytes = link.unwritten_bytes.saturating_sub(bytes);
        }
    }

    fn ws_link_mut(&mut self, conn: ConnId) -> Option<&mut WsLink> {
        let Some(ConnRole::WebSocket(id)) = self.conns.get(&conn) else {
            return None;
        };
        self.sessions
            .get_mut(&id)
            .and_then(|s| s.link_mut(conn))
            .map(|(link, _)| link)
    }

    /// Input: the connection or request `conn` is gone.
    pub fn handle_conn_closed(&mut self, now: Instant, conn: ConnId) {
        self.begin_input(now);
        self.closing_at.remove(&conn);
        match self.conns.remove(&conn) {
            Some(ConnRole::HeldGet(id)) => {
                if let Some(session) = self.sessions.get_mut(&id) {
                    if session.held_get.as_ref().is_some_and(|g| g.conn == conn) {
                        session.held_get = None;
                    }
                }
                // The reference: "poll connection closed prematurely".
                self.close_session(
                    now,
                    id,
                    CloseReason::TransportError,
                    Farewell::TransportGone,
                );
            }
            Some(ConnRole::WebSocket(id)) => {
                let Some(session) = self.sessions.get_mut(&id) else {
                    return;
                };
                if session.ws.as_ref().is_some_and(|l| l.conn == conn) {
                    self.close_session(
                        now,
                        id,
                        CloseReason::TransportClose,
                        Farewell::TransportGone,
                    );
                } else {
                    self.abort_upgrade(id, None);
                }
            }
            Some(ConnRole::Refused(id)) => {
                let Some(session) = self.sessions.get_mut(&id).filter(|s| !s.lingering) else {
                    return;
                };
                // The held GET is dropped, not answered `1`: a client may
                // read a `1` before the 413 that came first on another
                // connection and report "transport close"; with both
                // requests failed it reports "transport error", as it does
                // against the reference.
                if let Some(get) = session.held_get.take() {
                    self.conns.remove(&get.conn);
                    self.push_io(Io::Abort { conn: get.conn });
                }
                self.close_session(now, id, CloseReason::TransportError, Farewell::Failed);
            }
            None => {}
        }
    }

    /// Input: the deadline returned by [`Output::Timeout`] has come.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.begin_input(now);
    }

    /// What every input does first: deadlines already due at `now` fire,
    /// so no input is handled by a session (or sent to a connection) that
    /// should be gone, however late the driver's timer woke.
    fn begin_input(&mut self, now: Instant) {
        self.now = now;
        self.flush_dirty();
        self.fire_due(now);
    }

    fn fire_due(&mut self, now: Instant) {
        while let Some(&(at, conn)) = self.closing.front() {
            if at > now {
                break;
            }
            self.closing.pop_front();
            if self.closing_at.get(&conn) == Some(&at) {
                self.closing_at.remove(&conn);
                self.outputs.push_back(Output::Io(Io::Abort { conn }));
            }
        }
        while let Some(entry) = self.timers.peek() {
            if entry.at > now {
                break;
            }
            self.timers.pop();
            let Some(session) = self.sessions.get_mut(&entry.session) else {
                continue;
            };
            if session.timers.get(entry.kind) != Some(entry.at) {
                continue;
            }
            session.timers.set(entry.kind, None);
            self.fire(now, entry.session, entry.kind);
        }
    }

    /// The next thing to do.
    pub fn poll_output(&mut self) -> Output {
        self.flush_dirty();
        if let Some(output) = self.outputs.pop_front() {
            self.burst += 1;
            return output;
        }
        // A burst (a broadcast to many sessions) must not pin its memory,
        // but steady bursts of one size must not regrow it every time: the
        // queue shrinks once two drains in a row used under half of it.
        let burst = core::mem::take(&mut self.burst);
        let recent = burst.max(self.previous_burst);
        self.previous_burst = burst;
        if self.outputs.capacity() > 1024 && self.outputs.capacity() > 2 * recent {
            self.outputs.shrink_to(recent.max(64));
        }
        Output::Timeout(self.next_deadline())
    }

    /// Queues `msg` for `session`.
    pub fn send(&mut self, session: SessionId, msg: &OutMessage) -> Result<(), EngineError> {
        // `enqueue` looks the session up again; checking it here first
        // costs a second lookup, so the open check is folded into one probe.
        match self.sessions.get(&session.0) {
            Some(s) if !s.lingering => {}
            _ => return Err(EngineError::UnknownSession),
        }
        self.stats.on_packet_out(msg.ws_frame().len());
        self.enqueue(session.0, Queued::Message(msg.clone()));
        Ok(())
    }

    /// Queues `msg` only if the transport can take it now (a polling GET
    /// is held, or the WebSocket has flushed); returns whether it was queued.
    pub fn send_volatile(
        &mut self,
        session: SessionId,
        msg: &OutMessage,
    ) -> Result<bool, EngineError> {
        let id = self.open_session(session)?;
        let writable = self.sessions.get(&id).is_some_and(|s| match s.transport {
            Transport::WebSocket => s.ws.as_ref().is_some_and(|l| l.unwritten_frames == 0),
            Transport::Polling => s.held_get.is_some() && !s.polling_paused(),
        });
        if writable {
            self.stats.on_packet_out(msg.ws_frame().len());
            self.enqueue(id, Queued::Message(msg.clone()));
        }
        Ok(writable)
    }

    /// Closes `session` from the server side: queued packets are flushed,
    /// then a close packet, then [`EngineEvent::Closed`] with `reason`.
    ///
    /// A polling session without a held GET keeps its packets and the close
    /// packet for the client's next GET (for at most 30 s, the reference's
    /// close timeout); it counts as closed at once.
    pub fn close(
        &mut self,
        now: Instant,
        session: SessionId,
        reason: CloseReason,
    ) -> Result<(), EngineError> {
        self.now = now;
        let id = self.open_session(session)?;
        self.close_session(now, id, reason, Farewell::Forced);
        Ok(())
    }

    /// The handshake of `session`.
    pub fn handshake(&self, session: SessionId) -> Option<&HandshakeInfo> {
        self.handshake_shared(session).map(|info| &**info)
    }

    /// The handshake of `session`, to keep: a clone is one more reference
    /// to the session's record, not a copy of its url and headers.
    pub fn handshake_shared(&self, session: SessionId) -> Option<&alloc::sync::Arc<HandshakeInfo>> {
        self.sessions
            .get(&session.0)
            .filter(|s| !s.lingering)
            .map(|s| &s.info)
    }

    /// The transport `session` uses now.
    pub fn transport(&self, session: SessionId) -> Option<Transport> {
        self.sessions
            .get(&session.0)
            .filter(|s| !s.lingering)
            .map(|s| s.transport)
    }

    /// How many sessions are open.
    pub fn session_count(&self) -> usize {
        self.open_count
    }

    /// What the server holds right now.
    pub fn footprint(&self) -> Footprint {
        Footprint {
            sessions: self.sessions.len(),
            connections: self.conns.len(),
            timer_entries: self.timers.len(),
            pending_outputs: self.outputs.len(),
            closing_connections: self.closing_at.len(),
        }
    }
}
