//! The engine server's public types: connection and session ids, transports,
//! close reasons, handshake details, prepared messages, outputs and errors.

use alloc::boxed::Box;
use alloc::string::String;
use bytes::{BufMut, Bytes, BytesMut};
use bytestring::ByteString;

use crate::engine::packet::{Packet, PacketType};
use crate::engine::transport::{ConnId, Transport};
use crate::time::Instant;
use crate::wire::http::{Method, PackedHeaders, Response};
use crate::wire::ws::frame::{put_frame_header, OpCode, MAX_SERVER_HEADER_LEN};

/// The server's handle for one session (not the `sid` string clients see).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(pub(crate) u64);

impl SessionId {
    /// The number behind the handle, unique for the server's lifetime.
    pub fn as_u64(self) -> u64 {
        self.0
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
    /// driver gave it ([`EngineServer::handle_request_from`](super::EngineServer::handle_request_from)).
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
    /// Whether permessage-deflate may compress it (Node's `compress` flag).
    compress: bool,
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
        let mut frame = BytesMut::with_capacity(MAX_SERVER_HEADER_LEN + payload_len);
        put_frame_header(&mut frame, true, OpCode::Text, payload_len, None);
        let text_at = frame.len();
        frame.put_u8(PacketType::Message.digit());
        let data_at = text_at + 1;
        write(&mut frame);
        if frame.len() - data_at != len {
            // A caller's miscount: reframe with the true length.
            let text = frame.split_off(data_at);
            let mut fixed = BytesMut::with_capacity(MAX_SERVER_HEADER_LEN + text.len() + 1);
            put_frame_header(&mut fixed, true, OpCode::Text, text.len() + 1, None);
            let text_at = fixed.len();
            fixed.put_u8(PacketType::Message.digit());
            fixed.extend_from_slice(&text);
            return OutMessage {
                ws_frame: fixed.freeze(),
                text_at: Some(text_at),
                data_at: text_at + 1,
                compress: true,
            };
        }
        OutMessage {
            ws_frame: frame.freeze(),
            text_at: Some(text_at),
            data_at,
            compress: true,
        }
    }

    /// A binary message holding `data`.
    pub fn binary(data: &[u8]) -> OutMessage {
        let mut frame = BytesMut::with_capacity(MAX_SERVER_HEADER_LEN + data.len());
        put_frame_header(&mut frame, true, OpCode::Binary, data.len(), None);
        let data_at = frame.len();
        frame.extend_from_slice(data);
        OutMessage {
            ws_frame: frame.freeze(),
            text_at: None,
            data_at,
            compress: true,
        }
    }

    /// The same message, never compressed with permessage-deflate, even
    /// over the threshold (Node's `compress(false)`).
    pub fn uncompressed(mut self) -> OutMessage {
        self.compress = false;
        self
    }

    /// [`OutMessage::uncompressed`] in place.
    pub(crate) fn set_uncompressed(&mut self) {
        self.compress = false;
    }

    /// Whether permessage-deflate may compress it (true unless
    /// [`OutMessage::uncompressed`]).
    pub fn compress(&self) -> bool {
        self.compress
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
        /// The response (boxed: outputs are mostly transmits, and every
        /// queue of outputs is sized for its largest kind).
        response: Box<Response>,
    },
    /// Answer the request `conn` with this `101` response; from now on the
    /// connection carries WebSocket frames: feed them to
    /// [`EngineServer::handle_ws_data`](super::EngineServer::handle_ws_data) under the same id.
    Upgrade {
        /// The request, now the WebSocket's id.
        conn: ConnId,
        /// The `101 Switching Protocols` response.
        response: Box<Response>,
    },
    /// Close the connection `conn` once what was transmitted is written.
    /// If it is still open [`Config::close_timeout`](crate::engine::Config::close_timeout) later, an
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
    /// A session opened; its handshake is in [`EngineServer::handshake`](super::EngineServer::handshake).
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
    /// A request was refused (Node's `connection_error`).
    ConnectionError(Box<ConnectionError>),
}

/// A refused request, as Node's engine reports it in `connection_error`:
/// the reference's code and message, the context it gives, and the
/// request (Node's `err.req`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionError {
    /// 0 unknown transport, 1 unknown sid, 2 bad handshake method, 3 bad
    /// request, 4 forbidden, 5 unsupported protocol version.
    pub code: u8,
    /// The reference's message for `code` ("Transport unknown", "Session
    /// ID unknown", ...), whatever the application's own message.
    pub message: &'static str,
    /// What Node's `err.context` holds.
    pub context: RefusalContext,
    /// The request's method.
    pub method: Method,
    /// The request target (path and query).
    pub url: String,
    /// The request's headers.
    pub headers: PackedHeaders,
    /// The client's address, when the driver gave it.
    pub peer: Option<core::net::SocketAddr>,
}

/// Node's `err.context` of a `connection_error`, one variant per shape.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefusalContext {
    /// Code 0: `{ transport }`, the `transport` query parameter (absent: `None`).
    UnknownTransport {
        /// The transport asked for.
        transport: Option<String>,
    },
    /// Code 3: `{ name: "INVALID_ORIGIN", origin }`.
    InvalidOrigin {
        /// The `Origin` header as sent.
        origin: String,
    },
    /// Code 1: `{ sid }`.
    UnknownSid {
        /// The sid asked for.
        sid: String,
    },
    /// Code 3: `{ name: "TRANSPORT_MISMATCH", transport, previousTransport }`.
    TransportMismatch {
        /// The transport of the request.
        transport: &'static str,
        /// The session's transport.
        previous_transport: &'static str,
    },
    /// Code 2: `{ method }`.
    BadHandshakeMethod {
        /// The request's method.
        method: String,
    },
    /// Code 3: `{ name: "TRANSPORT_HANDSHAKE_ERROR" }` (a WebSocket
    /// handshake that is not an upgrade request).
    TransportHandshakeError,
    /// Code 4: `{ message }`, the application's message, if it gave one.
    Forbidden {
        /// The application's message.
        message: Option<String>,
    },
    /// Code 5: `{ protocol }` (Node reads every `EIO` but `4` as 3).
    UnsupportedProtocol {
        /// The protocol revision.
        protocol: u8,
    },
}

/// One output of [`EngineServer::poll_output`](super::EngineServer::poll_output).
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
    /// dropped as [`EngineServer::poll_output`](super::EngineServer::poll_output) reaches them).
    pub timer_entries: usize,
    /// Outputs not yet taken by [`EngineServer::poll_output`](super::EngineServer::poll_output).
    pub pending_outputs: usize,
    /// Connections told to close that the driver has not reported gone
    /// (each is aborted at its close deadline).
    pub closing_connections: usize,
}
