//! What goes in and out of a [`Client`](super::Client): connection ids,
//! outputs, application events, disconnect reasons, errors, emit options.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::time::Duration;

use bytes::Bytes;
use bytestring::ByteString;

use crate::engine::ConnId;
use crate::packet::RawJson;
use crate::time::Instant;

/// Why a namespace is no longer connected, with the reference client's strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The server sent DISCONNECT for the namespace (no reconnection).
    IoServerDisconnect,
    /// The application left the namespace ([`Client::disconnect`](super::Client::disconnect)).
    IoClientDisconnect,
    /// The application closed the whole client ([`Client::close`](super::Client::close)).
    ForcedClose,
    /// No ping from the server within `pingInterval + pingTimeout`.
    PingTimeout,
    /// The server closed the connection.
    TransportClose,
    /// The connection failed (a broken WebSocket or Engine.IO packet).
    TransportError,
    /// The server sent a Socket.IO packet that does not parse.
    ParseError,
}

impl DisconnectReason {
    /// The reason string of the reference client.
    pub fn as_str(self) -> &'static str {
        match self {
            DisconnectReason::IoServerDisconnect => "io server disconnect",
            DisconnectReason::IoClientDisconnect => "io client disconnect",
            DisconnectReason::ForcedClose => "forced close",
            DisconnectReason::PingTimeout => "ping timeout",
            DisconnectReason::TransportClose => "transport close",
            DisconnectReason::TransportError => "transport error",
            DisconnectReason::ParseError => "parse error",
        }
    }

    /// Whether the client reconnects after it (when reconnection is on).
    pub fn reconnects(self) -> bool {
        !matches!(
            self,
            DisconnectReason::IoServerDisconnect
                | DisconnectReason::IoClientDisconnect
                | DisconnectReason::ForcedClose
        )
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the application hears.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// A namespace joined with [`Client::connect_asking_auth`](super::Client::connect_asking_auth)
    /// is about to send its CONNECT: answer with
    /// [`Client::provide_auth`](super::Client::provide_auth) and `request`
    /// (socket.io-client calls its `auth` function here).
    AuthNeeded {
        /// The namespace.
        nsp: ByteString,
        /// The number of this request.
        request: u64,
    },
    /// The Engine.IO connection is open (the manager's `open`).
    Open {
        /// The Engine.IO session id.
        sid: String,
    },
    /// A connection attempt failed before the open packet (the manager's
    /// `error`): "websocket error", "timeout", "transport error" or
    /// "parse error". A reconnection follows when it is on.
    OpenError {
        /// What went wrong.
        message: &'static str,
    },
    /// The Engine.IO connection was lost after it opened (the manager's
    /// `close`); [`ClientEvent::Disconnected`] follows for each connected
    /// namespace.
    Closed {
        /// Why.
        reason: DisconnectReason,
    },
    /// The server accepted a namespace.
    Connected {
        /// The namespace.
        nsp: ByteString,
        /// The socket id the server gave.
        sid: ByteString,
        /// The server gave the previous session back (connection state
        /// recovery): same id, rooms, and the missed events, which follow.
        recovered: bool,
    },
    /// The server refused a namespace (CONNECT_ERROR). The namespace is
    /// dropped: it is not retried.
    ConnectError {
        /// The namespace.
        nsp: ByteString,
        /// The error's message.
        message: String,
        /// The error's `data`, when the server sent some.
        data: Option<RawJson>,
    },
    /// A connected namespace is no longer connected.
    Disconnected {
        /// The namespace.
        nsp: ByteString,
        /// Why.
        reason: DisconnectReason,
    },
    /// An event from the server.
    Event {
        /// The namespace.
        nsp: ByteString,
        /// `["name", ...args]`, placeholders included.
        data: RawJson,
        /// Binary attachments, in placeholder order.
        attachments: Vec<Bytes>,
        /// The ack id to answer with [`Client::ack`](super::Client::ack), if the server wants one.
        ack: Option<u64>,
    },
    /// The server acknowledged one of our emits.
    Ack {
        /// The namespace.
        nsp: ByteString,
        /// The id [`Client::emit`](super::Client::emit) returned.
        id: u64,
        /// `[...args]`.
        data: RawJson,
        /// Binary attachments.
        attachments: Vec<Bytes>,
    },
    /// No ack came before the deadline.
    AckTimeout {
        /// The namespace.
        nsp: ByteString,
        /// The id [`Client::emit`](super::Client::emit) returned.
        id: u64,
    },
    /// No ack will come: the event went out on a connection that is gone,
    /// its namespace was left, or it was volatile and dropped.
    AckCancelled {
        /// The namespace.
        nsp: ByteString,
        /// The id [`Client::emit`](super::Client::emit) returned.
        id: u64,
    },
    /// A text message ([`EngineClient`](super::EngineClient) only: a
    /// Socket.IO client decodes it).
    Message {
        /// The text.
        text: ByteString,
    },
    /// A binary message ([`EngineClient`](super::EngineClient) only).
    BinaryMessage {
        /// The bytes.
        data: Bytes,
    },
    /// A reconnection attempt starts (1 for the first).
    Reconnecting {
        /// The attempt's number.
        attempt: u32,
    },
    /// A reconnection attempt reached the open packet.
    Reconnected {
        /// The attempt's number.
        attempt: u32,
    },
    /// The connection moved from HTTP long-polling to a WebSocket (the
    /// engine's `upgrade`).
    Upgraded,
    /// `reconnection_attempts` attempts failed; the client stays closed
    /// until [`Client::open`](super::Client::open) or [`Client::connect`](super::Client::connect).
    ReconnectFailed,
}

/// What the driver must do next.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Output {
    /// Open a TCP connection to the server and report it with
    /// [`Client::handle_connected`](super::Client::handle_connected) (or [`Client::handle_closed`](super::Client::handle_closed) on failure).
    Connect {
        /// The id to report it under.
        conn: ConnId,
    },
    /// Write these bytes to the connection, in order.
    Transmit {
        /// The connection.
        conn: ConnId,
        /// The bytes.
        data: Bytes,
    },
    /// Close the connection (after writing what was transmitted before).
    Close {
        /// The connection.
        conn: ConnId,
    },
    /// Close the connection once the server has answered the request out
    /// on it (any byte, or its close), or after `grace`; report nothing
    /// more about it. A poll still pending when the client closes over
    /// long-polling: aborting it would reach the server, on its own
    /// connection, before the DISCONNECT and close packets still on their
    /// way on the POST connection, and the server would take it for a
    /// transport error (engine.io-client leaves the pending request be).
    Linger {
        /// The connection.
        conn: ConnId,
        /// The longest wait for the answer.
        grace: Duration,
    },
    /// Tell the application.
    Event(ClientEvent),
    /// Nothing more to do until new input or this instant, whichever comes
    /// first (`None`: no timer).
    Timeout(Option<Instant>),
}

/// The caller's misuse; nothing was done.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientError {
    /// A namespace name must start with `/` and hold no `,`.
    InvalidNamespace,
    /// Auth data must be a JSON object.
    InvalidAuth,
    /// No [`Client::connect`](super::Client::connect) for this namespace (or it was dropped since).
    UnknownNamespace,
    /// The namespace already buffers [`Config::max_buffered_emits`](super::Config::max_buffered_emits) emits.
    BufferFull,
    /// The namespace already waits for [`Config::max_pending_acks`](super::Config::max_pending_acks) acks.
    TooManyPendingAcks,
    /// Event data must be a non-empty JSON array, ack data an array.
    InvalidData,
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ClientError::InvalidNamespace => "invalid namespace name",
            ClientError::InvalidAuth => "auth data is not a JSON object",
            ClientError::UnknownNamespace => "namespace not connected with connect()",
            ClientError::BufferFull => "too many buffered emits",
            ClientError::TooManyPendingAcks => "too many pending acks",
            ClientError::InvalidData => "event data is not a non-empty JSON array",
        })
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ClientError {}

/// How to emit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct EmitOptions {
    /// Ask for an ack, given up after this long (`Duration::MAX`: never).
    pub ack_timeout: Option<Duration>,
    /// Drop the event instead of buffering it when not connected (or when
    /// a long-polling POST is out).
    pub volatile: bool,
}

impl EmitOptions {
    /// Plain options: no ack, buffered when not connected.
    pub fn new() -> Self {
        EmitOptions::default()
    }

    /// Asks for an ack within `timeout` (`Duration::MAX`: no deadline).
    pub fn with_ack(self, timeout: Duration) -> Self {
        EmitOptions {
            ack_timeout: Some(timeout),
            ..self
        }
    }

    /// Drops the event when not connected, or when the transport cannot
    /// take it now (a long-polling POST is out).
    pub fn volatile(self) -> Self {
        EmitOptions {
            volatile: true,
            ..self
        }
    }
}
