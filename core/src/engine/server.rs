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
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use bytes::{BufMut, Bytes, BytesMut};
use bytestring::ByteString;
use core::time::Duration;
use hashbrown::HashMap;

use super::config::{Config, Cookie};
use super::cors::{self, Headers};
use super::handshake::Handshake;
use super::packet::{Packet, PacketType};
use super::payload::SEPARATOR;
use super::session::{packet_frame, HeldGet, Queued, Session, Upgrade, WsLink};
use super::sid::SidGenerator;
use super::timer::{SessionTimers, TimerEntry, TimerHeap, TimerKind};
use crate::time::Instant;
use crate::wire::http::{Method, PackedHeaders, Request, Response};
use crate::wire::ws::frame::{close_payload, server_frame, Message, OpCode};
use crate::wire::ws::handshake as ws_handshake;

/// A driver-chosen id for one HTTP request, or for the connection a
/// WebSocket request became.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

/// The server's handle for one session (not the `sid` string clients see).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(pub(crate) u64);

impl SessionId {
    /// The number behind the handle, unique for the server's lifetime.
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

/// The transport a session currently uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// HTTP long-polling.
    Polling,
    /// WebSocket.
    WebSocket,
}

impl Transport {
    /// The name used in the `transport` query parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Polling => "polling",
            Transport::WebSocket => "websocket",
        }
    }
}

/// Why a session closed, with the reference server's reason strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CloseReason {
    /// The client closed the transport, or sent a close packet ("transport close").
    TransportClose,
    /// The transport failed: an error reading or writing, a WebSocket
    /// protocol violation, a second concurrent GET, an oversized payload,
    /// or a client that stopped reading ("transport error").
    TransportError,
    /// No pong within pingTimeout ("ping timeout").
    PingTimeout,
    /// A packet that does not parse ("parse error").
    ParseError,
    /// The server closed the session ("forced close").
    ForcedClose,
    /// The server is shutting down ("server shutting down").
    ServerShutdown,
}

impl CloseReason {
    /// The reason string the reference server reports.
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::TransportClose => "transport close",
            CloseReason::TransportError => "transport error",
            CloseReason::PingTimeout => "ping timeout",
            CloseReason::ParseError => "parse error",
            CloseReason::ForcedClose => "forced close",
            CloseReason::ServerShutdown => "server shutting down",
        }
    }
}

/// What the handshake request carried, kept for the session's lifetime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandshakeInfo {
    /// The session id clients see.
    pub sid: ByteString,
    /// The request target of the handshake (path and query).
    pub url: String,
    /// Its headers, packed, shared with whoever keeps them for the
    /// session's lifetime (the driver's handshake), not copied.
    pub headers: PackedHeaders,
    /// The transport the session opened with.
    pub transport: Transport,
    /// When the session opened.
    pub issued: Instant,
    /// The address of the client that made the handshake request, when the
    /// driver gave it ([`EngineServer::handle_request_from`]).
    pub peer: Option<core::net::SocketAddr>,
}

/// A message prepared once and sent to any number of sessions: the whole
/// WebSocket server frame is encoded here (server frames are unmasked, so it
/// is the same for every recipient), and polling sessions take their record
/// from the same bytes. Cloning it allocates nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutMessage {
    /// The complete WebSocket frame (header, type digit for text, data).
    ws_frame: Bytes,
    /// Where the Engine.IO text form (`4...`) starts in `ws_frame`, or
    /// `None` for a binary message (whose data starts at `data_at`).
    text_at: Option<usize>,
    /// Where the data starts in `ws_frame`.
    data_at: usize,
}

impl OutMessage {
    /// A text message (Engine.IO type `4`) holding `text`.
    pub fn text(text: &str) -> OutMessage {
        OutMessage::text_with(text.len(), |frame| frame.extend_from_slice(text.as_bytes()))
    }

    /// A text message whose `len` bytes of UTF-8 text `write` appends to
    /// the frame (straight into it: no intermediate string). Writing another
    /// length than `len` would break the frame; it is checked, and the
    /// frame is rebuilt from what was written.
    pub(crate) fn text_with(len: usize, write: impl FnOnce(&mut BytesMut)) -> OutMessage {
        let payload_len = len.saturating_add(1);
        let mut frame = BytesMut::with_capacity(MAX_FRAME_HEADER + payload_len);
        put_server_frame_header(&mut frame, OpCode::Text, payload_len);
        let text_at = frame.len();
        frame.put_u8(PacketType::Message.digit());
        let data_at = text_at + 1;
        write(&mut frame);
        if frame.len() - data_at != len {
            // A caller's miscount: reframe with the true length.
            let text = frame.split_off(data_at);
            let mut fixed = BytesMut::with_capacity(MAX_FRAME_HEADER + text.len() + 1);
            put_server_frame_header(&mut fixed, OpCode::Text, text.len() + 1);
            let text_at = fixed.len();
            fixed.put_u8(PacketType::Message.digit());
            fixed.extend_from_slice(&text);
            return OutMessage {
                ws_frame: fixed.freeze(),
                text_at: Some(text_at),
                data_at: text_at + 1,
            };
        }
        OutMessage {
            ws_frame: frame.freeze(),
            text_at: Some(text_at),
            data_at,
        }
    }

    /// A binary message holding `data`.
    pub fn binary(data: &[u8]) -> OutMessage {
        let mut frame = BytesMut::with_capacity(MAX_FRAME_HEADER + data.len());
        put_server_frame_header(&mut frame, OpCode::Binary, data.len());
        let data_at = frame.len();
        frame.extend_from_slice(data);
        OutMessage {
            ws_frame: frame.freeze(),
            text_at: None,
            data_at,
        }
    }

    /// The WebSocket frame to transmit as is.
    pub fn ws_frame(&self) -> &Bytes {
        &self.ws_frame
    }

    /// The message as an Engine.IO packet (for polling and for tests).
    pub fn to_packet(&self) -> Packet {
        match self.text_at {
            // Text frames are built from UTF-8 only (`text`, `text_with`),
            // so the check passes; checked here, per polling recipient,
            // rather than on every message built.
            Some(_) => Packet::Message(
                ByteString::try_from(self.ws_frame.slice(self.data_at..)).unwrap_or_default(),
            ),
            None => Packet::Binary(self.ws_frame.slice(self.data_at..)),
        }
    }

    /// The text form `4...` sliced out of the frame, for a text message.
    pub(crate) fn text_form(&self) -> Option<Bytes> {
        self.text_at.map(|at| self.ws_frame.slice(at..))
    }
}

/// The longest header of an unmasked frame: two bytes and a 64-bit length.
const MAX_FRAME_HEADER: usize = 10;

/// Writes the header of one unfragmented, unmasked frame carrying
/// `payload_len` bytes (RFC 6455 section 5.2), so that an [`OutMessage`]'s
/// type digit and data can follow it in the same buffer. It writes exactly
/// what `wire::ws::frame::encode_frame` writes (a test checks it).
fn put_server_frame_header(out: &mut BytesMut, opcode: OpCode, payload_len: usize) {
    const FIN: u8 = 0x80;
    out.put_u8(FIN | opcode as u8);
    if payload_len < 126 {
        out.put_u8(payload_len as u8);
    } else if let Ok(len) = u16::try_from(payload_len) {
        out.put_u8(126);
        out.put_u16(len);
    } else {
        out.put_u8(127);
        out.put_u64(payload_len as u64);
    }
}

/// Something the driver must do.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Io {
    /// Write these bytes on the WebSocket connection `conn`.
    Transmit {
        /// The connection.
        conn: ConnId,
        /// Ready-made WebSocket frames.
        data: Bytes,
    },
    /// Answer the HTTP request `conn` with `response`.
    Respond {
        /// The request.
        conn: ConnId,
        /// The response.
        response: Response,
    },
    /// Answer the request `conn` with this `101` response; from now on the
    /// connection carries WebSocket frames: feed them to
    /// [`EngineServer::handle_ws_data`] under the same id.
    Upgrade {
        /// The request, now the WebSocket's id.
        conn: ConnId,
        /// The `101 Switching Protocols` response.
        response: Response,
    },
    /// Close the connection `conn` once what was transmitted is written.
    /// If it is still open [`Config::close_timeout`] later, an
    /// [`Io::Abort`] for it follows.
    Close {
        /// The connection.
        conn: ConnId,
    },
    /// Drop everything still queued for `conn` and close it now, written
    /// or not: its peer does not read (or not soon enough).
    Abort {
        /// The connection.
        conn: ConnId,
    },
}

impl Io {
    /// The connection this is for.
    pub fn conn(&self) -> ConnId {
        match self {
            Io::Transmit { conn, .. }
            | Io::Respond { conn, .. }
            | Io::Upgrade { conn, .. }
            | Io::Close { conn }
            | Io::Abort { conn } => *conn,
        }
    }
}

/// What happened to a session, for the layer above.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EngineEvent {
    /// A session opened; its handshake is in [`EngineServer::handshake`].
    Opened {
        /// The session.
        session: SessionId,
    },
    /// A message arrived (a [`Packet::Message`] or [`Packet::Binary`]).
    Message {
        /// The session.
        session: SessionId,
        /// The message.
        packet: Packet,
    },
    /// The session moved from polling to WebSocket.
    Upgraded {
        /// The session.
        session: SessionId,
    },
    /// The session is gone; sending to it fails from now on.
    Closed {
        /// The session.
        session: SessionId,
        /// Why.
        reason: CloseReason,
    },
}

/// One output of [`EngineServer::poll_output`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Output {
    /// For the driver.
    Io(Io),
    /// For the layer above.
    Event(EngineEvent),
    /// Nothing more to do until this instant (or until new input, when `None`).
    Timeout(Option<Instant>),
}

/// Misuse of the API by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EngineError {
    /// The session does not exist (anymore).
    UnknownSession,
}

impl core::fmt::Display for EngineError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            EngineError::UnknownSession => f.write_str("unknown or closed Engine.IO session"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for EngineError {}

/// What the server holds right now, for metrics and for checking that
/// closed sessions leave nothing behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Footprint {
    /// Sessions in the table, including closed polling sessions still
    /// waiting (briefly) for a GET to take their close packet.
    pub sessions: usize,
    /// Held GETs and WebSockets the server tracks.
    pub connections: usize,
    /// Entries in the timer heap, stale ones included (stale entries are
    /// dropped as [`EngineServer::poll_output`] reaches them).
    pub timer_entries: usize,
    /// Outputs not yet taken by [`EngineServer::poll_output`].
    pub pending_outputs: usize,
    /// Connections told to close that the driver has not reported gone
    /// (each is aborted at its close deadline).
    pub closing_connections: usize,
}

/// `Content-Type` of polling payloads.
const TEXT_PLAIN: &str = "text/plain; charset=UTF-8";

/// A refused request, with the reference's code and message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    UnknownTransport = 0,
    UnknownSid = 1,
    BadHandshakeMethod = 2,
    BadRequest = 3,
    Forbidden = 4,
    UnsupportedProtocol = 5,
}

impl Refusal {
    fn message(self) -> &'static str {
        match self {
            Refusal::UnknownTransport => "Transport unknown",
            Refusal::UnknownSid => "Session ID unknown",
            Refusal::BadHandshakeMethod => "Bad handshake method",
            Refusal::BadRequest => "Bad request",
            Refusal::Forbidden => "Forbidden",
            Refusal::UnsupportedProtocol => "Unsupported protocol version",
        }
    }

    /// The JSON body of a refused polling request.
    fn json(self) -> &'static str {
        match self {
            Refusal::UnknownTransport => r#"{"code":0,"message":"Transport unknown"}"#,
            Refusal::UnknownSid => r#"{"code":1,"message":"Session ID unknown"}"#,
            Refusal::BadHandshakeMethod => r#"{"code":2,"message":"Bad handshake method"}"#,
            Refusal::BadRequest => r#"{"code":3,"message":"Bad request"}"#,
            Refusal::Forbidden => r#"{"code":4,"message":"Forbidden"}"#,
            Refusal::UnsupportedProtocol => {
                r#"{"code":5,"message":"Unsupported protocol version"}"#
            }
        }
    }
}

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

/// What the server knows a connection to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ConnRole {
    /// A polling GET held for this session.
    HeldGet(u64),
    /// A WebSocket of this session (active or upgrading).
    WebSocket(u64),
}

/// The Engine.IO server.
pub struct EngineServer {
    config: Config,
    sid_generator: SidGenerator,
    next_session: u64,
    /// Boxed: the table then holds a pointer per session, and its spare
    /// capacity costs 16 bytes a slot rather than a whole session.
    sessions: HashMap<u64, Box<Session>>,
    by_sid: HashMap<ByteString, u64>,
    conns: HashMap<ConnId, ConnRole>,
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
}

impl EngineServer {
    /// A server with `config`. `seed` feeds the generator of session ids: give
    /// it 32 bytes from a cryptographic source, or ids become guessable.
    pub fn new(config: Config, seed: [u8; 32]) -> Self {
        EngineServer {
            config,
            sid_generator: SidGenerator::new(seed),
            next_session: 0,
            sessions: HashMap::new(),
            by_sid: HashMap::new(),
            conns: HashMap::new(),
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
        }
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
            Err(refusal) => self.refuse(conn, &req, upgrade, refusal),
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
    /// fails that session ("transport error"), as the reference's "payload
    /// too large" does.
    pub fn handle_request_too_large(&mut self, now: Instant, conn: ConnId, req: Request) {
        self.begin_input(now);
        let headers = self.polling_headers(&req);
        if req.method == Method::Post {
            if let Ok((Transport::Polling, Some(id))) = self.verify(&req, false) {
                if self.sessions.get(&id).is_some_and(|s| !s.lingering) {
                    self.close_session(now, id, CloseReason::TransportError, Farewell::Failed);
                }
            }
        }
        self.respond(conn, build_response(413, None, Bytes::new(), headers));
    }

    /// Answers `req` with 403 `{"code":4,"message":"Forbidden"}`, as the
    /// reference does when the application's allow-request check refuses
    /// (a WebSocket upgrade request gets the reference's plain 400 instead).
    pub fn forbid(&mut self, conn: ConnId, req: &Request) {
        let upgrade = self.config.websocket && ws_handshake::is_upgrade_request(req);
        self.refuse(conn, req, upgrade, Refusal::Forbidden);
    }

    /// Input: bytes read from the WebSocket connection `conn`.
    pub fn handle_ws_data(&mut self, now: Instant, conn: ConnId, data: &[u8]) {
        self.begin_input(now);
        let Some(ConnRole::WebSocket(id)) = self.conns.get(&conn).copied() else {
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
        let Some(ConnRole::WebSocket(id)) = self.conns.get(&conn).copied() else {
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

/// Routing and refusals.
impl EngineServer {
    /// The reference's checks, in its order: transport, origin header, then
    /// the sid, or for a handshake the method and protocol version. Gives
    /// the transport asked for and the session, if the request names one.
    fn verify(&self, req: &Request, upgrade: bool) -> Result<(Transport, Option<u64>), Refusal> {
        let transport = match req.query_param("transport").as_deref() {
            Some("polling") if self.config.polling => Transport::Polling,
            Some("websocket") if self.config.websocket => Transport::WebSocket,
            _ => return Err(Refusal::UnknownTransport),
        };
        if req.header("origin").is_some_and(has_invalid_header_char) {
            return Err(Refusal::BadRequest);
        }
        let sid = req.query_param("sid").filter(|sid| !sid.is_empty());
        if let Some(sid) = sid {
            let id = *self.by_sid.get(sid.as_ref()).ok_or(Refusal::UnknownSid)?;
            let session = self.sessions.get(&id).ok_or(Refusal::UnknownSid)?;
            if !upgrade && session.transport != transport {
                return Err(Refusal::BadRequest);
            }
            return Ok((transport, Some(id)));
        }
        if req.method != Method::Get {
            return Err(Refusal::BadHandshakeMethod);
        }
        if transport == Transport::WebSocket && !upgrade {
            return Err(Refusal::BadRequest);
        }
        if req.query_param("EIO").as_deref() != Some("4") {
            return Err(Refusal::UnsupportedProtocol);
        }
        Ok((transport, None))
    }

    /// Answers a refused request the reference's way: a JSON body for HTTP
    /// requests, a plain 400 and a closed connection for upgrade requests.
    fn refuse(&mut self, conn: ConnId, req: &Request, upgrade: bool, refusal: Refusal) {
        if upgrade {
            let response = Response::new(400)
                .with_header("Connection", "close")
                .with_body("text/html", refusal.message().as_bytes());
            self.respond(conn, response);
            self.push_io(Io::Close { conn });
            return;
        }
        let status = if refusal == Refusal::Forbidden {
            403
        } else {
            400
        };
        let mut headers = Headers::new();
        if let Some(cors) = &self.config.cors {
            cors::add_actual(cors, req, &mut headers);
        }
        let body = Bytes::from_static(refusal.json().as_bytes());
        let response = build_response(status, Some("application/json"), body, headers);
        self.respond(conn, response);
    }

    /// An upgrade request whose WebSocket headers are wrong: the plain 400
    /// the reference's `ws` writes, then the connection is closed.
    fn refuse_bad_websocket(&mut self, conn: ConnId) {
        let response = Response::new(400)
            .with_header("Connection", "close")
            .with_body("text/html", &b"Bad Request"[..]);
        self.respond(conn, response);
        self.push_io(Io::Close { conn });
    }

    /// Headers of every polling answer to `req`.
    fn polling_headers(&self, req: &Request) -> Headers {
        let mut headers = Headers::new();
        // The reference keeps old Internet Explorer from flagging the
        // payload as cross-site scripting.
        if req
            .header("user-agent")
            .is_some_and(|ua| ua.contains(";MSIE") || ua.contains("Trident/"))
        {
            headers.push(("X-XSS-Protection".into(), String::from("0")));
        }
        headers.push(("cache-control".into(), String::from("no-store")));
        if let Some(cors) = &self.config.cors {
            cors::add_actual(cors, req, &mut headers);
        }
        headers
    }

    fn respond(&mut self, conn: ConnId, response: Response) {
        self.push_io(Io::Respond { conn, response });
    }

    fn push_io(&mut self, io: Io) {
        if let Io::Close { conn } = io {
            self.remember_closing(conn);
        }
        self.outputs.push_back(Output::Io(io));
    }

    /// `conn` must be gone by the close timeout, whether its peer reads
    /// what is queued or not.
    fn remember_closing(&mut self, conn: ConnId) {
        let at = self.now + self.config.close_timeout;
        self.closing_at.insert(conn, at);
        self.closing.push_back((at, conn));
        // Entries of connections reported gone stay until their deadline:
        // bound them.
        if self.closing.len() > 2 * self.closing_at.len() + 64 {
            let live = &self.closing_at;
            self.closing.retain(|(at, conn)| live.get(conn) == Some(at));
        }
    }

    fn push_event(&mut self, event: EngineEvent) {
        self.outputs.push_back(Output::Event(event));
    }

    /// The session behind a handle the caller holds, if still open.
    fn open_session(&self, session: SessionId) -> Result<u64, EngineError> {
        match self.sessions.get(&session.0) {
            Some(s) if !s.lingering => Ok(session.0),
            _ => Err(EngineError::UnknownSession),
        }
    }
}

/// Handshakes and the upgrade.
impl EngineServer {
    fn new_session(
        &mut self,
        now: Instant,
        req: &Request,
        transport: Transport,
    ) -> (u64, ByteString) {
        let sid = loop {
            let sid = self.sid_generator.next_sid();
            if !self.by_sid.contains_key(&sid) {
                break sid;
            }
        };
        let id = self.next_session;
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
        self.by_sid.insert(sid.clone(), id);
        self.open_count += 1;
        // The first ping comes one interval after the open, never at once.
        self.arm(id, TimerKind::Ping, now + self.config.ping_interval);
        (id, sid)
    }

    /// The open packet for `sid`.
    fn open_packet(&self, sid: &str, transport: Transport) -> Packet {
        let upgrades = if transport == Transport::Polling
            && self.config.allow_upgrades
            && self.config.websocket
        {
            vec![String::from("websocket")]
        } else {
            Vec::new()
        };
        let handshake = Handshake {
            sid: String::from(sid),
            upgrades,
            ping_interval: millis(self.config.ping_interval),
            ping_timeout: millis(self.config.ping_timeout),
            max_payload: u64::try_from(self.config.max_http_buffer_size).unwrap_or(u64::MAX),
        };
        Packet::Open(ByteString::from(handshake.to_json()))
    }

    fn open_polling(&mut self, now: Instant, conn: ConnId, req: &Request) {
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

    fn open_websocket(&mut self, now: Instant, conn: ConnId, req: &Request) {
        let response = match ws_handshake::accept(req) {
            Ok(response) => response,
            Err(_) => return self.refuse_bad_websocket(conn),
        };
        self.push_io(Io::Upgrade { conn, response });
        let (id, sid) = self.new_session(now, req, Transport::WebSocket);
        let open = packet_frame(&self.open_packet(&sid, Transport::WebSocket));
        let mut link = WsLink::new(conn, self.config.max_http_buffer_size);
        transmit(&mut self.outputs, &mut link, open);
        if let Some(session) = self.sessions.get_mut(&id) {
            session.ws = Some(link);
        }
        self.conns.insert(conn, ConnRole::WebSocket(id));
        self.push_event(EngineEvent::Opened {
            session: SessionId(id),
        });
    }

    /// A WebSocket for an existing session: the upgrade from polling.
    fn start_upgrade(
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
        let response = match ws_handshake::accept(req) {
            Ok(response) => response,
            Err(_) => return self.refuse_bad_websocket(conn),
        };
        self.push_io(Io::Upgrade { conn, response });
        if busy {
            // As the reference: accepted, then closed at once; the session's
            // own transport carries on.
            self.close_websocket(conn);
            return;
        }
        let link = WsLink::new(conn, self.config.max_http_buffer_size);
        if let Some(session) = self.sessions.get_mut(&id) {
            session.upgrade = Some(Box::new(Upgrade {
                link,
                probed: false,
            }));
        }
        self.conns.insert(conn, ConnRole::WebSocket(id));
        self.arm(id, TimerKind::Upgrade, now + self.config.upgrade_timeout);
    }

    /// A packet on the upgrading WebSocket; false when the upgrade ended.
    fn on_upgrade_packet(&mut self, id: u64, packet: Packet) -> bool {
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
                transmit(&mut self.outputs, &mut upgrade.link, pong);
                // Polling is paused from now on: release the held GET.
                if let Some(get) = session.held_get.take() {
                    self.conns.remove(&get.conn);
                    self.answer_poll(get, Bytes::from_static(b"6"));
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
    fn complete_upgrade(&mut self, id: u64) {
        let Some(session) = self.sessions.get_mut(&id) else {
            return;
        };
        let Some(upgrade) = session.upgrade.take() else {
            return;
        };
        session.timers.set(TimerKind::Upgrade, None);
        session.ws = Some(upgrade.link);
        session.transport = Transport::WebSocket;
        if let Some(get) = session.held_get.take() {
            self.conns.remove(&get.conn);
            self.answer_poll(get, Bytes::from_static(b"6"));
        }
        self.push_event(EngineEvent::Upgraded {
            session: SessionId(id),
        });
        if let Some(session) = self.sessions.get_mut(&id) {
            let queue = core::mem::take(&mut session.queue);
            session.queued_bytes = 0;
            if let Some(link) = session.ws.as_mut() {
                for queued in queue {
                    transmit(&mut self.outputs, link, queued.to_ws_frame());
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
    fn abort_upgrade(&mut self, id: u64, farewell: Option<Bytes>) {
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

/// Polling.
impl EngineServer {
    fn on_poll(&mut self, conn: ConnId, req: &Request, id: u64) {
        let headers = self.polling_headers(req);
        let Some(session) = self.sessions.get_mut(&id) else {
            return;
        };
        if session.lingering {
            // A session the server closed: first its packets, then (in the
            // next GET, as the reference drains before closing) `1`.
            if session.queue.len() > 1 {
                let close = session.queue.pop_back();
                let body = session.take_poll_body();
                if let Some(close) = close {
                    session.push(close);
                }
                self.answer_poll(HeldGet { conn, headers }, body);
            } else {
                let body = session.take_poll_body();
                self.answer_poll(HeldGet { conn, headers }, body);
                self.forget(id);
            }
            return;
        }
        if session.held_get.is_some() {
            // Overlapping GETs: the held one gets `1`, this one a bare 400.
            self.close_session(self.now, id, CloseReason::TransportError, Farewell::Failed);
            self.respond(conn, build_response(400, None, Bytes::new(), headers));
            return;
        }
        if session.polling_paused() {
            self.answer_poll(HeldGet { conn, headers }, Bytes::from_static(b"6"));
            return;
        }
        session.held_get = Some(HeldGet { conn, headers });
        let has_data = !session.queue.is_empty();
        self.conns.insert(conn, ConnRole::HeldGet(id));
        if has_data {
            self.flush_poll(id);
        }
    }

    fn on_post(&mut self, now: Instant, conn: ConnId, req: &Request, id: u64) {
        let headers = self.polling_headers(req);
        if self.sessions.get(&id).is_some_and(|s| s.lingering) {
            return self.answer_ok(conn, headers);
        }
        if req.header("content-type") == Some("application/octet-stream") {
            // v4 payloads are text; the reference fails the transport.
            self.close_session(now, id, CloseReason::TransportError, Farewell::Failed);
            self.respond(conn, build_response(400, None, Bytes::new(), headers));
            return;
        }
        if req.body.len() > self.config.max_http_buffer_size {
            // As the reference (engine.io 6.6, "payload too large"): 413,
            // and the session fails.
            self.close_session(now, id, CloseReason::TransportError, Farewell::Failed);
            self.respond(conn, build_response(413, None, Bytes::new(), headers));
            return;
        }
        self.process_payload(now, id, req.body.clone());
        self.answer_ok(conn, headers);
    }

    /// Handles the records of a POST body in order, up to a close or the
    /// first record that does not parse (records before it count).
    fn process_payload(&mut self, now: Instant, id: u64, body: Bytes) {
        let records = body.iter().filter(|&&b| b == SEPARATOR).count() + 1;
        if records > self.config.max_payload_packets {
            self.close_session(now, id, CloseReason::ParseError, Farewell::Failed);
            return;
        }
        for record in body.split(|&b| b == SEPARATOR) {
            if !self.sessions.contains_key(&id) {
                return;
            }
            match Packet::decode_record(body.slice_ref(record)) {
                Err(_) => {
                    self.close_session(now, id, CloseReason::ParseError, Farewell::Failed);
                    return;
                }
                Ok(packet) => self.on_packet(now, id, packet),
            }
        }
    }

    fn answer_ok(&mut self, conn: ConnId, headers: Headers) {
        let body = Bytes::from_static(b"ok");
        self.respond(conn, build_response(200, Some("text/html"), body, headers));
    }

    /// Answers a polling GET with `body`.
    fn answer_poll(&mut self, get: HeldGet, body: Bytes) {
        let response = build_response(200, Some(TEXT_PLAIN), body, get.headers);
        self.respond(get.conn, response);
    }

    /// Lists `id` for a flush to its held GET, if there is something to flush.
    fn mark_dirty(&mut self, id: u64) {
        if let Some(session) = self.sessions.get_mut(&id) {
            let ready = session.transport == Transport::Polling
                && session.held_get.is_some()
                && !session.polling_paused()
                && !session.queue.is_empty();
            if ready && !session.dirty {
                session.dirty = true;
                self.dirty.push(id);
            }
        }
    }

    // Called at every input and output: the usual case, nothing dirty,
    // is checked inline.
    #[inline]
    fn flush_dirty(&mut self) {
        if !self.dirty.is_empty() {
            self.flush_dirty_sessions();
        }
    }

    /// Answers the held GETs of the sessions marked dirty.
    fn flush_dirty_sessions(&mut self) {
        let mut dirty = core::mem::take(&mut self.dirty);
        for id in dirty.drain(..) {
            if let Some(session) = self.sessions.get_mut(&id) {
                session.dirty = false;
            }
            self.flush_poll(id);
        }
        // Keep the allocation, and anything listed meanwhile.
        dirty.append(&mut self.dirty);
        self.dirty = dirty;
    }

    /// Answers the held GET of `id` with everything queued.
    fn flush_poll(&mut self, id: u64) {
        let Some(session) = self.sessions.get_mut(&id) else {
            return;
        };
        if session.transport != Transport::Polling
            || session.polling_paused()
            || session.queue.is_empty()
        {
            return;
        }
        let Some(get) = session.held_get.take() else {
            return;
        };
        let body = session.take_poll_body();
        self.conns.remove(&get.conn);
        self.answer_poll(get, body);
    }
}

/// Packets, sending, heartbeat, closing.
impl EngineServer {
    /// A packet from the client on the session's own transport.
    fn on_packet(&mut self, now: Instant, id: u64, packet: Packet) {
        match packet {
            Packet::Message(_) | Packet::Binary(_) => self.push_event(EngineEvent::Message {
                session: SessionId(id),
                packet,
            }),
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
    fn on_ws_message(
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
                    transmit(&mut self.outputs, link, server_frame(OpCode::Pong, &data));
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
    fn enqueue(&mut self, id: u64, queued: Queued) {
        let Some(session) = self.sessions.get_mut(&id) else {
            return;
        };
        match (session.transport, session.ws.as_mut()) {
            (Transport::WebSocket, Some(link)) => {
                transmit(&mut self.outputs, link, queued.to_ws_frame());
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
    fn check_backpressure(&mut self, id: u64) {
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
                    || (session.queued_bytes > config.max_buffered_bytes && session.queue.len() > 1)
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

    fn fire(&mut self, now: Instant, id: u64, kind: TimerKind) {
        match kind {
            TimerKind::Ping => {
                self.enqueue(id, Queued::Control(Packet::Ping(ByteString::new())));
                if self.sessions.contains_key(&id) {
                    self.arm(id, TimerKind::PongDeadline, now + self.config.ping_timeout);
                }
            }
            // As the reference, the pong deadline also ends a session
            // closed by the server that still waits for its last GET.
            TimerKind::PongDeadline if self.sessions.get(&id).is_some_and(|s| s.lingering) => {
                self.forget(id)
            }
            TimerKind::PongDeadline => {
                self.close_session(now, id, CloseReason::PingTimeout, Farewell::Failed)
            }
            TimerKind::Upgrade => self.abort_upgrade(id, Some(close_frame(None))),
            TimerKind::Linger => self.forget(id),
        }
    }

    /// Closes session `id`: its transports get what `farewell` says, the
    /// layer above gets [`EngineEvent::Closed`], and nothing of it stays
    /// (but the packets of a polling session closed by the server, which
    /// wait for the client's next GET).
    fn close_session(&mut self, now: Instant, id: u64, reason: CloseReason, farewell: Farewell) {
        let Some(mut session) = self.sessions.remove(&id) else {
            return;
        };
        if session.lingering {
            self.sessions.insert(id, session);
            return;
        }
        self.open_count = self.open_count.saturating_sub(1);
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
                    self.answer_poll(get, Bytes::from_static(b"1"));
                }
                (Some(get), Farewell::Forced) => {
                    // As the reference: the queued packets drain first and
                    // `1` waits for the next GET, so a client reads its
                    // DISCONNECT before the transport closes.
                    let body = session.take_poll_body();
                    self.conns.remove(&get.conn);
                    self.answer_poll(get, body);
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
                    self.answer_poll(get, body);
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
        self.by_sid.remove(&session.info.sid);
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
    fn linger(&mut self, now: Instant, id: u64, mut session: Box<Session>, reason: CloseReason) {
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
    fn forget(&mut self, id: u64) {
        if let Some(session) = self.sessions.remove(&id) {
            self.by_sid.remove(&session.info.sid);
            if let Some(get) = session.held_get {
                self.conns.remove(&get.conn);
            }
            if let Some(upgrade) = session.upgrade {
                self.close_websocket(upgrade.link.conn);
            }
        }
    }

    /// Closes WebSocket `conn` with a bare close frame; the engine forgets it.
    fn close_websocket(&mut self, conn: ConnId) {
        self.conns.remove(&conn);
        self.push_io(Io::Transmit {
            conn,
            data: close_frame(None),
        });
        self.push_io(Io::Close { conn });
    }
}

/// Timers.
impl EngineServer {
    fn arm(&mut self, id: u64, kind: TimerKind, at: Instant) {
        let Some(session) = self.sessions.get_mut(&id) else {
            return;
        };
        session.timers.set(kind, Some(at));
        self.timers.push(TimerEntry {
            at,
            session: id,
            kind,
        });
        if self.timers.needs_purge(self.sessions.len()) {
            let sessions = &self.sessions;
            self.timers.retain(|entry| is_live(sessions, entry));
        }
    }

    /// The earliest live deadline; stale entries on top are dropped.
    fn next_deadline(&mut self) -> Option<Instant> {
        let mut session = None;
        while let Some(entry) = self.timers.peek() {
            if is_live(&self.sessions, &entry) {
                session = Some(entry.at);
                break;
            }
            self.timers.pop();
        }
        let mut closing = None;
        while let Some(&(at, conn)) = self.closing.front() {
            if self.closing_at.get(&conn) == Some(&at) {
                closing = Some(at);
                break;
            }
            self.closing.pop_front();
        }
        match (session, closing) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

fn is_live(sessions: &HashMap<u64, Box<Session>>, entry: &TimerEntry) -> bool {
    sessions
        .get(&entry.session)
        .is_some_and(|s| s.timers.get(entry.kind) == Some(entry.at))
}

/// Writes `data` on a WebSocket, counting it until the driver reports it written.
fn transmit(outputs: &mut VecDeque<Output>, link: &mut WsLink, data: Bytes) {
    link.unwritten_frames = link.unwritten_frames.saturating_add(1);
    link.unwritten_bytes = link.unwritten_bytes.saturating_add(data.len());
    outputs.push_back(Output::Io(Io::Transmit {
        conn: link.conn,
        data,
    }));
}

/// A close frame, with a status code or (as the reference's `ws` writes
/// when closing without one) an empty body.
fn close_frame(code: Option<u16>) -> Bytes {
    match code {
        Some(code) => server_frame(OpCode::Close, &close_payload(code, "")),
        None => server_frame(OpCode::Close, &[]),
    }
}

fn build_response(
    status: u16,
    content_type: Option<&'static str>,
    body: Bytes,
    headers: Headers,
) -> Response {
    let mut response = match content_type {
        Some(content_type) => Response::new(status).with_body(content_type, body),
        None => Response::new(status),
    };
    response.headers.extend(headers);
    response
}

/// The `Set-Cookie` value, attributes in the order the `cookie` package writes them.
fn cookie_line(cookie: &Cookie, sid: &str) -> String {
    let mut line = format!("{}={}", cookie.name, sid);
    if !cookie.path.is_empty() {
        line.push_str("; Path=");
        line.push_str(&cookie.path);
    }
    if cookie.http_only {
        line.push_str("; HttpOnly");
    }
    if !cookie.same_site.is_empty() {
        line.push_str("; SameSite=");
        line.push_str(&cookie.same_site);
    }
    line
}

/// Whether a header value holds a byte the reference refuses (controls
/// other than tab, and DEL).
fn has_invalid_header_char(value: &str) -> bool {
    value
        .bytes()
        .any(|b| !(b == b'\t' || (0x20..0x7f).contains(&b) || b >= 0x80))
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
