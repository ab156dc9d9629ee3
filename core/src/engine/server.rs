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
//! - [`EngineServer::handle_flushed`]: everything transmitted so far on a
//!   connection has been written (so the transport is writable again);
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

use alloc::string::String;
use alloc::vec::Vec;
use bytes::Bytes;
use bytestring::ByteString;

use super::config::Config;
use super::packet::Packet;
use crate::time::Instant;
use crate::wire::http::{Header, Request, Response};

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
    /// Its headers.
    pub headers: Vec<Header>,
    /// The transport the session opened with.
    pub transport: Transport,
    /// When the session opened.
    pub issued: Instant,
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
        let _ = text;
        todo!()
    }

    /// A binary message holding `data`.
    pub fn binary(data: &[u8]) -> OutMessage {
        let _ = data;
        todo!()
    }

    /// The WebSocket frame to transmit as is.
    pub fn ws_frame(&self) -> &Bytes {
        &self.ws_frame
    }

    /// The message as an Engine.IO packet (for polling and for tests).
    pub fn to_packet(&self) -> Packet {
        let _ = (self.text_at, self.data_at);
        todo!()
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
    Close {
        /// The connection.
        conn: ConnId,
    },
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

/// The Engine.IO server.
pub struct EngineServer {
    config: Config,
}

impl EngineServer {
    /// A server with `config`. `seed` feeds the generator of session ids: give
    /// it 32 bytes from a cryptographic source, or ids become guessable.
    pub fn new(config: Config, seed: [u8; 32]) -> Self {
        let _ = seed;
        EngineServer { config }
    }

    /// The options in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Whether `req` is for this endpoint (its path is [`Config::path`]).
    pub fn matches(&self, req: &Request) -> bool {
        let _ = req;
        todo!()
    }

    /// Input: a request for this endpoint.
    pub fn handle_request(&mut self, now: Instant, conn: ConnId, req: Request) {
        let _ = (now, conn, req);
        todo!()
    }

    /// Answers `req` with 403 `{"code":4,"message":"Forbidden"}`, as the
    /// reference does when the application's allow-request check refuses.
    pub fn forbid(&mut self, conn: ConnId, req: &Request) {
        let _ = (conn, req);
        todo!()
    }

    /// Input: bytes read from the WebSocket connection `conn`.
    pub fn handle_ws_data(&mut self, now: Instant, conn: ConnId, data: &[u8]) {
        let _ = (now, conn, data);
        todo!()
    }

    /// Input: every byte transmitted on `conn` so far has been written.
    pub fn handle_flushed(&mut self, now: Instant, conn: ConnId) {
        let _ = (now, conn);
        todo!()
    }

    /// Input: the connection or request `conn` is gone.
    pub fn handle_conn_closed(&mut self, now: Instant, conn: ConnId) {
        let _ = (now, conn);
        todo!()
    }

    /// Input: the deadline returned by [`Output::Timeout`] has come.
    pub fn handle_timeout(&mut self, now: Instant) {
        let _ = now;
        todo!()
    }

    /// The next thing to do.
    pub fn poll_output(&mut self) -> Output {
        todo!()
    }

    /// Queues `msg` for `session`.
    pub fn send(&mut self, session: SessionId, msg: &OutMessage) -> Result<(), EngineError> {
        let _ = (session, msg);
        todo!()
    }

    /// Queues `msg` only if the transport can take it now (a polling GET
    /// is held, or the WebSocket has flushed); returns whether it was queued.
    pub fn send_volatile(
        &mut self,
        session: SessionId,
        msg: &OutMessage,
    ) -> Result<bool, EngineError> {
        let _ = (session, msg);
        todo!()
    }

    /// Closes `session` from the server side: queued packets are flushed,
    /// then a close packet, then [`EngineEvent::Closed`] with `reason`.
    pub fn close(
        &mut self,
        now: Instant,
        session: SessionId,
        reason: CloseReason,
    ) -> Result<(), EngineError> {
        let _ = (now, session, reason);
        todo!()
    }

    /// The handshake of `session`.
    pub fn handshake(&self, session: SessionId) -> Option<&HandshakeInfo> {
        let _ = session;
        todo!()
    }

    /// The transport `session` uses now.
    pub fn transport(&self, session: SessionId) -> Option<Transport> {
        let _ = session;
        todo!()
    }

    /// How many sessions are open.
    pub fn session_count(&self) -> usize {
        todo!()
    }
}
