//! The server's public types: its config, connect request handles,
//! disconnect reasons, events, outputs and errors.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;
use core::time::Duration;

use bytes::Bytes;
use bytestring::ByteString;

use crate::engine::{self, CloseReason, ConnectionError, HandshakeInfo, Io, SessionId};
use crate::packet::{self, RawJson};
use crate::time::Instant;

use super::recovery::RecoveryConfig;
use super::socket::SocketId;

/// Options of a [`Server`](super::Server). `Default` gives the Node server's defaults.
#[derive(Clone)]
#[non_exhaustive]
pub struct Config {
    /// The Engine.IO layer's options.
    pub engine: engine::Config,
    /// A session that joins no namespace within this time is closed (45 s).
    pub connect_timeout: Duration,
    /// Most acks one socket may wait for at once (emits past it fail).
    pub max_pending_acks: usize,
    /// Most namespaces one session may join or ask to join at once; a
    /// CONNECT past it gets a CONNECT_ERROR "Too many namespaces".
    pub max_namespaces_per_session: usize,
    /// Bounds on binary attachments of incoming packets (with MessagePack,
    /// on the buffers inside one packet).
    pub packet_limits: packet::Limits,
    /// Connection state recovery (Node's `connectionStateRecovery`); off
    /// (`None`) by default, as in Node.
    pub connection_state_recovery: Option<RecoveryConfig>,
    /// The packet parser every client must speak: JSON (the default, as
    /// in Node) or MessagePack (npm `socket.io-msgpack-parser`).
    pub parser: packet::ParserKind,
    /// Remove a dynamic parent's child namespace once its last socket
    /// leaves (Node's `cleanupEmptyChildNamespaces`; off by default, as
    /// in Node).
    pub cleanup_empty_child_namespaces: bool,
    /// How many shards a driver runs this server as, each behind its own
    /// lock, so that inputs of sessions in different shards proceed in
    /// parallel (0, the default: 16 per CPU the driver may use, at most
    /// [`MAX_SHARDS`](crate::engine::MAX_SHARDS)). The core itself runs one
    /// shard per [`Server`](super::Server) ([`Server::set_shard`](super::Server::set_shard)).
    pub shards: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            engine: engine::Config::default(),
            connect_timeout: Duration::from_millis(45_000),
            max_pending_acks: 1_000,
            max_namespaces_per_session: 256,
            packet_limits: packet::Limits::default(),
            connection_state_recovery: None,
            parser: packet::ParserKind::Json,
            cleanup_empty_child_namespaces: false,
            shards: 0,
        }
    }
}

/// The handle of a CONNECT waiting for the application's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectRequestId(pub(super) u64);

impl ConnectRequestId {
    /// The number behind the handle, unique for the server's lifetime.
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

/// Why a socket left its namespace, with the reference server's strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The server disconnected the socket ([`Server::disconnect`](super::Server::disconnect)).
    ServerNamespaceDisconnect,
    /// The client sent a DISCONNECT for the namespace.
    ClientNamespaceDisconnect,
    /// [`Server::shutdown`](super::Server::shutdown).
    ServerShutdown,
    /// The client missed a heartbeat.
    PingTimeout,
    /// The client closed the connection.
    TransportClose,
    /// The connection failed.
    TransportError,
    /// The client sent a packet that does not parse.
    ParseError,
    /// The server closed the Engine.IO session.
    ForcedClose,
    /// The client sent a packet that is invalid in its state (a packet for
    /// a namespace it has not joined, a second CONNECT): the session is closed.
    ForcedServerClose,
}

impl DisconnectReason {
    /// The reason string the reference server reports.
    pub fn as_str(self) -> &'static str {
        match self {
            DisconnectReason::ServerNamespaceDisconnect => "server namespace disconnect",
            DisconnectReason::ClientNamespaceDisconnect => "client namespace disconnect",
            DisconnectReason::ServerShutdown => "server shutting down",
            DisconnectReason::PingTimeout => "ping timeout",
            DisconnectReason::TransportClose => "transport close",
            DisconnectReason::TransportError => "transport error",
            DisconnectReason::ParseError => "parse error",
            DisconnectReason::ForcedClose => "forced close",
            DisconnectReason::ForcedServerClose => "forced server close",
        }
    }

    /// Whether a socket that left for this reason keeps its session for
    /// recovery (Node's `RECOVERABLE_DISCONNECT_REASONS`).
    pub fn is_recoverable(self) -> bool {
        matches!(
            self,
            DisconnectReason::TransportError
                | DisconnectReason::TransportClose
                | DisconnectReason::ForcedClose
                | DisconnectReason::PingTimeout
                | DisconnectReason::ServerShutdown
                | DisconnectReason::ForcedServerClose
        )
    }

    pub(super) fn from_close(reason: CloseReason) -> Self {
        match reason {
            CloseReason::TransportClose => DisconnectReason::TransportClose,
            CloseReason::TransportError => DisconnectReason::TransportError,
            CloseReason::PingTimeout => DisconnectReason::PingTimeout,
            CloseReason::ParseError => DisconnectReason::ParseError,
            CloseReason::ServerShutdown => DisconnectReason::ServerShutdown,
            _ => DisconnectReason::ForcedClose,
        }
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happened, for the application.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A client asks to join `nsp`: run the middleware (and, when `dynamic`,
    /// the namespace predicate), then call [`Server::accept`](super::Server::accept) or
    /// [`Server::reject`](super::Server::reject).
    ConnectRequest {
        /// The request to answer.
        request: ConnectRequestId,
        /// The Engine.IO session asking.
        session: SessionId,
        /// The namespace.
        nsp: ByteString,
        /// The CONNECT payload (`handshake.auth`), if any.
        auth: Option<RawJson>,
        /// The namespace does not exist yet: accepting creates it.
        dynamic: bool,
        /// The client came back with a session that is still kept:
        /// accepting restores it (the driver may skip the middleware,
        /// [`RecoveryConfig::skip_middlewares`]).
        recovering: bool,
    },
    /// With an external recovery store: a CONNECT came with a private
    /// session id and an offset. Look the session up (and the packets
    /// after `offset` that reach it), then call
    /// [`Server::answer_restore`](super::Server::answer_restore); a
    /// [`Event::ConnectRequest`] follows. Both strings come from the client:
    /// untrusted (the core only bounds their length).
    RestoreRequest {
        /// The request the answer is for.
        request: ConnectRequestId,
        /// The namespace.
        nsp: ByteString,
        /// The private session id the client sent.
        pid: alloc::string::String,
        /// The offset the client sent.
        offset: alloc::string::String,
    },
    /// With an external recovery store: a socket left for a recoverable
    /// reason; keep its session for the window (Node's `persistSession`).
    PersistSession {
        /// The session to keep.
        session: super::recovery::PersistedSession,
    },
    /// A socket joined its namespace (after [`Server::accept`](super::Server::accept)).
    Connected {
        /// The new socket.
        socket: SocketId,
        /// Its session.
        session: SessionId,
        /// Its namespace.
        nsp: ByteString,
        /// It got its old id, rooms and data back, and the packets it
        /// missed were sent before its CONNECT reply.
        recovered: bool,
    },
    /// The client emitted an event.
    Event {
        /// The socket.
        socket: SocketId,
        /// The whole array `["name", ...args]`, exactly as received.
        data: RawJson,
        /// Binary attachments, in placeholder order.
        attachments: Vec<Bytes>,
        /// The ack id to answer with [`Server::ack`](super::Server::ack), if the client wants one.
        ack: Option<u64>,
    },
    /// The client acknowledged an emit of ours.
    Ack {
        /// The socket.
        socket: SocketId,
        /// The ack id [`Server::emit`](super::Server::emit) returned.
        id: u64,
        /// The ack's arguments, an array, exactly as received.
        data: RawJson,
        /// Binary attachments, in placeholder order.
        attachments: Vec<Bytes>,
    },
    /// No ack came for `id` before its deadline; a late one is ignored.
    AckTimeout {
        /// The socket.
        socket: SocketId,
        /// The ack id.
        id: u64,
    },
    /// The socket left its namespace; its handle is invalid from now on.
    Disconnect {
        /// The socket.
        socket: SocketId,
        /// Its namespace.
        nsp: ByteString,
        /// Why.
        reason: DisconnectReason,
        /// The rooms it was in (its own id included), as they were just
        /// before it left.
        rooms: Vec<ByteString>,
    },
    /// A socket joined a room (only with
    /// [`Server::set_observer_events`](super::Server::set_observer_events)).
    RoomJoined {
        /// The socket.
        socket: SocketId,
        /// Its namespace.
        nsp: ByteString,
        /// The room.
        room: ByteString,
    },
    /// A session moved from polling to WebSocket (Node's
    /// `socket.conn.on("upgrade")`).
    Upgraded {
        /// The session; its sockets are [`Server::session_sockets`](super::Server::session_sockets).
        session: SessionId,
    },
    /// A dynamic parent's child namespace lost its last socket and is gone
    /// (only with [`Config::cleanup_empty_child_namespaces`]); the next
    /// client to connect to it makes it again (a `ConnectRequest` with
    /// `dynamic: true`).
    NamespaceRemoved {
        /// Its name.
        nsp: ByteString,
    },
    /// A request was refused (Node's `io.engine.on("connection_error")`).
    ConnectionError(Box<ConnectionError>),
    /// A room appeared in a namespace's room index: its first socket
    /// joined it (only with
    /// [`Server::set_room_events`](super::Server::set_room_events)).
    RoomCreated {
        /// The namespace.
        nsp: ByteString,
        /// The room.
        room: ByteString,
        /// Whether it is the id of one of the namespace's sockets (a
        /// socket's own room, or a room named after another socket).
        private: bool,
    },
    /// A room's last socket left it (or disconnected), so it is gone
    /// (only with [`Server::set_room_events`](super::Server::set_room_events)).
    RoomDeleted {
        /// The namespace.
        nsp: ByteString,
        /// The room.
        room: ByteString,
    },
    /// A socket left a room it was in (only with
    /// [`Server::set_observer_events`](super::Server::set_observer_events); not
    /// reported for the rooms a disconnecting socket leaves).
    RoomLeft {
        /// The socket.
        socket: SocketId,
        /// Its namespace.
        nsp: ByteString,
        /// The room.
        room: ByteString,
    },
}

/// One output of [`Server::poll_output`](super::Server::poll_output).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Output {
    /// For the driver (from the Engine.IO layer).
    Io(Io),
    /// For the application.
    Event(Event),
    /// Nothing more to do until this instant (or until new input, when `None`).
    Timeout(Option<Instant>),
}

/// Misuse of the API by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerError {
    /// The socket does not exist (anymore).
    UnknownSocket,
    /// The connect request does not exist (answered already, or its session closed).
    UnknownRequest,
    /// The socket already waits for [`Config::max_pending_acks`] acks.
    TooManyPendingAcks,
    /// A namespace name must start with `/`.
    InvalidNamespace,
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ServerError::UnknownSocket => "unknown socket",
            ServerError::UnknownRequest => "unknown connect request",
            ServerError::TooManyPendingAcks => "too many pending acks",
            ServerError::InvalidNamespace => "namespace names start with '/'",
        })
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ServerError {}

/// What a socket's connection started with.
#[derive(Debug, Clone, Copy)]
pub struct SocketHandshake<'a> {
    /// The Engine.IO handshake (url, headers, transport, time).
    pub engine: &'a HandshakeInfo,
    /// The CONNECT payload (`handshake.auth`), if any.
    pub auth: Option<&'a RawJson>,
}
