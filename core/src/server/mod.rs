//! The Socket.IO v5 server state machine, layered on the Engine.IO server:
//! namespaces (static and dynamic), connect verdicts from middleware,
//! sockets, events, acks with deadlines, rooms, broadcasts and disconnect
//! reasons.
//!
//! # Contract
//!
//! [`Server`] owns an [`EngineServer`]; the driver's inputs (requests,
//! WebSocket bytes, flushes, closed connections, timeouts) pass through it
//! unchanged. [`Server::poll_output`] hands out the engine's [`Io`] as is,
//! consumes the engine's events itself, and adds Socket.IO [`Event`]s for
//! the application, which answers through methods: [`Server::accept`] /
//! [`Server::reject`] for a [`Event::ConnectRequest`], [`Server::ack`] for
//! an event that wants one, [`Server::emit`], [`Server::broadcast`],
//! [`Server::join`], [`Server::disconnect`] and so on. After every input
//! and every method call, drain `poll_output` until [`Output::Timeout`].
//!
//! The server never calls user code: middleware and dynamic-namespace
//! predicates run in the driver, which turns their outcome into a verdict.
//!
//! # Blame
//!
//! A peer's faults become protocol reactions (a CONNECT_ERROR, a closed
//! session with a [`DisconnectReason`]); a [`ServerError`] always means the
//! caller misused the API.

mod broadcast;
mod client;
mod namespace;
mod socket;
mod timers;

pub use broadcast::BroadcastOptions;
pub use socket::SocketId;

use alloc::collections::{BTreeMap, VecDeque};
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::time::Duration;

use bytes::Bytes;
use bytestring::ByteString;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

use crate::engine::{
    self, CloseReason, ConnId, EngineEvent, EngineServer, HandshakeInfo, Io, SessionId,
};
use crate::packet::{self, JsonParser, Packet, PacketType, Parser, RawJson};
use crate::time::Instant;
use crate::wire::http::Request;

use client::{Client, Route};
use namespace::Namespace;
use socket::Socket;
use timers::{TimerKey, Timers};

/// Options of a [`Server`]. `Default` gives the Node server's defaults.
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
    /// Bounds on binary attachments of incoming packets.
    pub packet_limits: packet::Limits,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            engine: engine::Config::default(),
            connect_timeout: Duration::from_millis(45_000),
            max_pending_acks: 1_000,
            max_namespaces_per_session: 256,
            packet_limits: packet::Limits::default(),
        }
    }
}

/// The handle of a CONNECT waiting for the application's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectRequestId(u64);

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
    /// The server disconnected the socket ([`Server::disconnect`]).
    ServerNamespaceDisconnect,
    /// The client sent a DISCONNECT for the namespace.
    ClientNamespaceDisconnect,
    /// [`Server::shutdown`].
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

    fn from_close(reason: CloseReason) -> Self {
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
    /// the namespace predicate), then call [`Server::accept`] or
    /// [`Server::reject`].
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
    },
    /// A socket joined its namespace (after [`Server::accept`]).
    Connected {
        /// The new socket.
        socket: SocketId,
        /// Its session.
        session: SessionId,
        /// Its namespace.
        nsp: ByteString,
    },
    /// The client emitted an event.
    Event {
        /// The socket.
        socket: SocketId,
        /// The whole array `["name", ...args]`, exactly as received.
        data: RawJson,
        /// Binary attachments, in placeholder order.
        attachments: Vec<Bytes>,
        /// The ack id to answer with [`Server::ack`], if the client wants one.
        ack: Option<u64>,
    },
    /// The client acknowledged an emit of ours.
    Ack {
        /// The socket.
        socket: SocketId,
        /// The ack id [`Server::emit`] returned.
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
}

/// One output of [`Server::poll_output`].
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

/// A CONNECT waiting for a verdict.
#[derive(Debug)]
struct PendingConnect {
    session: SessionId,
    nsp: ByteString,
    auth: Option<RawJson>,
}

/// Characters of a socket id; 15 random bytes in base64url.
const SOCKET_ID_BYTES: usize = 15;

/// The Socket.IO server.
pub struct Server<P: Parser = JsonParser> {
    engine: EngineServer,
    parser: P,
    connect_timeout: Duration,
    max_pending_acks: usize,
    max_namespaces_per_session: usize,
    packet_limits: packet::Limits,
    rng: ChaCha20Rng,
    /// The latest instant any input or call brought in; engine events are
    /// handled while draining outputs, where no `now` is given.
    now: Instant,
    dynamic_namespaces: bool,
    namespaces: BTreeMap<ByteString, Namespace>,
    sockets: BTreeMap<SocketId, Socket>,
    clients: BTreeMap<SessionId, Client<P::Decoder>>,
    requests: BTreeMap<ConnectRequestId, PendingConnect>,
    timers: Timers,
    events: VecDeque<Event>,
    next_socket: u64,
    next_request: u64,
    /// Reused buffers: the encoded messages of one packet, and broadcast recipients.
    encode_scratch: Vec<engine::OutMessage>,
    recipients_scratch: Vec<SocketId>,
}

impl Server<JsonParser> {
    /// A server speaking the default JSON parser. `seed` feeds the generators
    /// of session and socket ids: give it 32 bytes from a cryptographic
    /// source, or ids become guessable.
    pub fn new(config: Config, seed: [u8; 32]) -> Self {
        Server::with_parser(config, JsonParser, seed)
    }
}

impl<P: Parser> Server<P> {
    /// A server speaking `parser`.
    pub fn with_parser(config: Config, parser: P, seed: [u8; 32]) -> Self {
        let mut rng = ChaCha20Rng::from_seed(seed);
        // The engine gets its own stream, so session ids and socket ids
        // never come from the same bytes.
        let mut engine_seed = [0u8; 32];
        rng.fill_bytes(&mut engine_seed);
        let mut namespaces = BTreeMap::new();
        namespaces.insert(ByteString::from_static("/"), Namespace::new());
        Server {
            engine: EngineServer::new(config.engine, engine_seed),
            parser,
            connect_timeout: config.connect_timeout,
            max_pending_acks: config.max_pending_acks,
            max_namespaces_per_session: config.max_namespaces_per_session,
            packet_limits: config.packet_limits,
            rng,
            now: Instant::ZERO,
            dynamic_namespaces: false,
            namespaces,
            sockets: BTreeMap::new(),
            clients: BTreeMap::new(),
            requests: BTreeMap::new(),
            timers: Timers::new(),
            events: VecDeque::new(),
            next_socket: 0,
            next_request: 0,
            encode_scratch: Vec::new(),
            recipients_scratch: Vec::new(),
        }
    }

    /// The Engine.IO layer (read-only: session count, transports, config).
    pub fn engine(&self) -> &EngineServer {
        &self.engine
    }

    // ----- inputs passed to the engine -----

    /// Whether `req` is for this endpoint.
    pub fn matches(&self, req: &Request) -> bool {
        self.engine.matches(req)
    }

    /// Input: a request for this endpoint.
    pub fn handle_request(&mut self, now: Instant, conn: ConnId, req: Request) {
        self.handle_request_from(now, conn, req, None);
    }

    /// Input: a request for this endpoint from `peer` (kept in the
    /// handshake of a session it opens).
    pub fn handle_request_from(
        &mut self,
        now: Instant,
        conn: ConnId,
        req: Request,
        peer: Option<core::net::SocketAddr>,
    ) {
        self.run_due(now);
        self.engine.handle_request_from(now, conn, req, peer);
    }

    /// Input: a request whose body was over the size limit and refused
    /// unread (see [`EngineServer::handle_request_too_large`]).
    pub fn handle_request_too_large(&mut self, now: Instant, conn: ConnId, req: Request) {
        self.run_due(now);
        self.engine.handle_request_too_large(now, conn, req);
    }

    /// Answers `req` with 403 (the application's allow-request check refused).
    pub fn forbid(&mut self, conn: ConnId, req: &Request) {
        self.engine.forbid(conn, req);
    }

    /// Input: bytes read from the WebSocket connection `conn`.
    pub fn handle_ws_data(&mut self, now: Instant, conn: ConnId, data: &[u8]) {
        self.run_due(now);
        self.engine.handle_ws_data(now, conn, data);
    }

    /// Input: every byte transmitted on `conn` so far has been written.
    pub fn handle_flushed(&mut self, now: Instant, conn: ConnId) {
        self.run_due(now);
        self.engine.handle_flushed(now, conn);
    }

    /// Input: the driver wrote `frames` more whole transmits of `conn`,
    /// `bytes` bytes in all, since its last report (see
    /// [`EngineServer::handle_written`]).
    pub fn handle_written(&mut self, now: Instant, conn: ConnId, frames: usize, bytes: usize) {
        self.run_due(now);
        self.engine.handle_written(now, conn, frames, bytes);
    }

    /// Input: the connection or request `conn` is gone.
    pub fn handle_conn_closed(&mut self, now: Instant, conn: ConnId) {
        self.run_due(now);
        self.engine.handle_conn_closed(now, conn);
    }

    /// Input: the deadline returned by [`Output::Timeout`] has come.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.run_due(now);
    }

    /// What every input does first: the deadlines due at `now` (the
    /// engine's, then ours) fire, so an input never finds a session or an
    /// ack that should be gone, however late the driver's timer woke.
    fn run_due(&mut self, now: Instant) {
        self.advance(now);
        self.engine.handle_timeout(now);
        loop {
            let (sockets, clients) = (&self.sockets, &self.clients);
            let due = self
                .timers
                .pop_due(now, |at, key| timer_is_live(sockets, clients, at, key));
            match due {
                Some(key) => self.fire(key),
                None => break,
            }
        }
    }

    /// The next thing to do.
    pub fn poll_output(&mut self) -> Output {
        loop {
            if let Some(event) = self.events.pop_front() {
                return Output::Event(event);
            }
            match self.engine.poll_output() {
                engine::Output::Io(io) => return Output::Io(io),
                engine::Output::Event(event) => self.on_engine_event(event),
                engine::Output::Timeout(engine_at) => {
                    let ours = self.next_deadline();
                    let at = match (engine_at, ours) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                    return Output::Timeout(at);
                }
            }
        }
    }

    // ----- namespaces -----

    /// Creates the namespace `name` (a no-op when it exists).
    pub fn add_namespace(&mut self, name: &str) -> Result<(), ServerError> {
        if !name.starts_with('/') {
            return Err(ServerError::InvalidNamespace);
        }
        if !self.namespaces.contains_key(name) {
            self.namespaces
                .insert(ByteString::from(name), Namespace::new());
        }
        Ok(())
    }

    /// Whether a CONNECT to an unknown namespace is offered to the
    /// application ([`Event::ConnectRequest`] with `dynamic: true`) instead
    /// of being refused with "Invalid namespace".
    pub fn set_dynamic_namespaces(&mut self, enabled: bool) {
        self.dynamic_namespaces = enabled;
    }

    /// Whether the namespace `name` exists.
    pub fn has_namespace(&self, name: &str) -> bool {
        self.namespaces.contains_key(name)
    }

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
        let client = self
            .clients
            .get_mut(&pending.session)
            .ok_or(ServerError::UnknownRequest)?;
        client.remove_pending(request);
        let socket = SocketId(self.next_socket);
        self.next_socket = self.next_socket.wrapping_add(1);
        client.add_socket(pending.nsp.clone(), socket);
        let sid = random_socket_id(&mut self.rng);
        let namespace = self
            .namespaces
            .entry(pending.nsp.clone())
            .or_insert_with(Namespace::new);
        namespace.add_socket(socket);
        namespace.join(socket, sid.clone());
        let mut state = Socket {
            sid: sid.clone(),
            nsp: pending.nsp.clone(),
            session: pending.session,
            auth: pending.auth,
            rooms: Default::default(),
            acks: BTreeMap::new(),
        };
        state.rooms.insert(sid.clone());
        self.sockets.insert(socket, state);
        let mut reply = String::with_capacity(SOCKET_ID_BYTES * 2 + 10);
        reply.push_str("{\"sid\":\"");
        reply.push_str(&sid);
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
        if let Some(client) = self.clients.get_mut(&pending.session) {
            client.remove_pending(request);
        }
        self.send_connect_error(pending.session, pending.nsp, message, data);
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
            .sockets
            .get(&socket)
            .ok_or(ServerError::UnknownSocket)?;
        if ack_timeout.is_some() && state.acks.len() >= self.max_pending_acks {
            return Err(ServerError::TooManyPendingAcks);
        }
        let (session, nsp) = (state.session, state.nsp.clone());
        let id = match ack_timeout {
            Some(_) => self.namespaces.get_mut(&nsp).map(Namespace::take_ack_id),
            None => None,
        };
        let packet = Packet {
            id,
            ..Packet::event(nsp, data, attachments)
        };
        let mut messages = core::mem::take(&mut self.encode_scratch);
        broadcast::encode(&self.parser, &packet, &mut messages);
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
            .sockets
            .get(&socket)
            .ok_or(ServerError::UnknownSocket)?;
        let packet = Packet::ack(state.nsp.clone(), id, args, attachments);
        let session = state.session;
        let mut messages = core::mem::take(&mut self.encode_scratch);
        broadcast::encode(&self.parser, &packet, &mut messages);
        broadcast::send(&mut self.engine, session, &messages, false);
        self.reuse_messages(messages);
        Ok(())
    }

    /// How many acks `socket` still waits for (0 for an unknown socket).
    pub fn pending_ack_count(&self, socket: SocketId) -> usize {
        self.sockets.get(&socket).map_or(0, |s| s.acks.len())
    }

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
        self.broadcast_inner(nsp, opts, data, attachments, None, None)
            .0
    }

    /// Like [`Server::broadcast`], asking every recipient for an ack with
    /// one deadline, `now + timeout`. All recipients share one ack id (as in
    /// the reference server); returns each recipient with it. Sockets that
    /// already wait for [`Config::max_pending_acks`] acks are left out.
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
        );
        match id {
            Some(id) => sent.into_iter().map(|socket| (socket, id)).collect(),
            None => Vec::new(),
        }
    }

    fn broadcast_inner(
        &mut self,
        nsp: &str,
        opts: &BroadcastOptions,
        data: RawJson,
        attachments: Vec<Bytes>,
        ack_deadline: Option<Instant>,
        mut sent: Option<&mut Vec<SocketId>>,
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
        let packet = Packet {
            id,
            ..Packet::event(nsp, data, attachments)
        };
        let mut messages = core::mem::take(&mut self.encode_scratch);
        broadcast::encode(&self.parser, &packet, &mut messages);
        for &socket in &recipients {
            let Some(state) = self.sockets.get(&socket) else {
                continue;
            };
            if id.is_some() && state.acks.len() >= self.max_pending_acks {
                continue;
            }
            let session = state.session;
            if !broadcast::send(&mut self.engine, session, &messages, opts.volatile) {
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
            .sockets
            .get_mut(&socket)
            .ok_or(ServerError::UnknownSocket)?;
        if state.rooms.contains(room) {
            return Ok(());
        }
        let room = ByteString::from(room);
        if let Some(namespace) = self.namespaces.get_mut(&state.nsp) {
            namespace.join(socket, room.clone());
        }
        state.rooms.insert(room);
        Ok(())
    }

    /// Takes `socket` out of `room`; an empty room disappears.
    pub fn leave(&mut self, socket: SocketId, room: &str) -> Result<(), ServerError> {
        let state = self
            .sockets
            .get_mut(&socket)
            .ok_or(ServerError::UnknownSocket)?;
        if state.rooms.remove(room) {
            if let Some(namespace) = self.namespaces.get_mut(&state.nsp) {
                namespace.leave(socket, room);
            }
        }
        Ok(())
    }

    /// The rooms `socket` is in, its own id included, in name order.
    pub fn rooms(&self, socket: SocketId) -> Result<impl Iterator<Item = &str> + '_, ServerError> {
        let state = self
            .sockets
            .get(&socket)
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
            .map(|members| members.iter().copied().collect())
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

    // ----- sockets -----

    /// How many sockets exist, over all namespaces.
    pub fn socket_count(&self) -> usize {
        self.sockets.len()
    }

    /// The id the client sees for `socket`.
    pub fn socket_sid(&self, socket: SocketId) -> Option<&str> {
        self.sockets.get(&socket).map(|s| &*s.sid)
    }

    /// The namespace of `socket`.
    pub fn socket_nsp(&self, socket: SocketId) -> Option<&str> {
        self.sockets.get(&socket).map(|s| &*s.nsp)
    }

    /// The Engine.IO session carrying `socket`.
    pub fn socket_session(&self, socket: SocketId) -> Option<SessionId> {
        self.sockets.get(&socket).map(|s| s.session)
    }

    /// The sockets of `session`, in the order they joined.
    pub fn session_sockets(&self, session: SessionId) -> Vec<SocketId> {
        self.clients
            .get(&session)
            .map(|client| client.sockets().collect())
            .unwrap_or_default()
    }

    /// What `socket`'s connection started with.
    pub fn handshake(&self, socket: SocketId) -> Option<SocketHandshake<'_>> {
        let state = self.sockets.get(&socket)?;
        let engine = self.engine.handshake(state.session)?;
        Some(SocketHandshake {
            engine,
            auth: state.auth.as_ref(),
        })
    }

    // ----- disconnects -----

    /// Disconnects `socket` from its namespace: the client gets a DISCONNECT,
    /// then [`Event::Disconnect`] "server namespace disconnect". The session
    /// stays open.
    pub fn disconnect(&mut self, now: Instant, socket: SocketId) -> Result<(), ServerError> {
        self.advance(now);
        if !self.sockets.contains_key(&socket) {
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
            .sockets
            .get(&socket)
            .map(|s| s.session)
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
        let sessions: Vec<SessionId> = self.clients.keys().copied().collect();
        for session in sessions {
            self.close_session(
                session,
                DisconnectReason::ServerShutdown,
                CloseReason::ServerShutdown,
            );
        }
    }

    // ----- internals -----

    fn advance(&mut self, now: Instant) {
        self.now = self.now.max(now);
    }

    // Out of line: `poll_output` runs several times per input, and most
    // calls find no engine event to handle.
    #[inline(never)]
    fn on_engine_event(&mut self, event: EngineEvent) {
        match event {
            EngineEvent::Opened { session } => self.on_session_opened(session),
            EngineEvent::Message { session, packet } => self.on_session_message(session, packet),
            EngineEvent::Closed { session, reason } => {
                self.drop_session(session, DisconnectReason::from_close(reason));
            }
            EngineEvent::Upgraded { .. } => {}
        }
    }

    fn on_session_opened(&mut self, session: SessionId) {
        let opened = self
            .engine
            .handshake(session)
            .map_or(self.now, |info| info.issued);
        let deadline = opened + self.connect_timeout;
        let decoder = self.parser.decoder(self.packet_limits);
        self.clients.insert(session, Client::new(decoder, deadline));
        self.push_timer(deadline, TimerKey::Connect(session));
    }

    fn on_session_message(&mut self, session: SessionId, message: engine::Packet) {
        let Some(client) = self.clients.get_mut(&session) else {
            return;
        };
        let packet = match client.decode(message) {
            Ok(Some(packet)) => packet,
            Ok(None) => return,
            Err(_) => {
                self.close_session(
                    session,
                    DisconnectReason::ParseError,
                    CloseReason::ParseError,
                );
                return;
            }
        };
        match client.route(&packet) {
            Route::Connect => self.on_connect(session, packet),
            Route::Socket(socket) => self.on_socket_packet(session, socket, packet),
            Route::Invalid => self.close_session(
                session,
                DisconnectReason::ForcedServerClose,
                CloseReason::ForcedClose,
            ),
        }
    }

    fn on_connect(&mut self, session: SessionId, packet: Packet) {
        let Some(client) = self.clients.get_mut(&session) else {
            return;
        };
        if client.namespace_count() >= self.max_namespaces_per_session {
            self.send_connect_error(session, packet.nsp, "Too many namespaces", None);
            return;
        }
        let exists = self.namespaces.contains_key(&packet.nsp);
        if !exists && !self.dynamic_namespaces {
            self.send_connect_error(session, packet.nsp, "Invalid namespace", None);
            return;
        }
        let request = ConnectRequestId(self.next_request);
        self.next_request = self.next_request.wrapping_add(1);
        client.add_pending(packet.nsp.clone(), request);
        self.requests.insert(
            request,
            PendingConnect {
                session,
                nsp: packet.nsp.clone(),
                auth: packet.data.clone(),
            },
        );
        self.events.push_back(Event::ConnectRequest {
            request,
            session,
            nsp: packet.nsp,
            auth: packet.data,
            dynamic: !exists,
        });
    }

    fn on_socket_packet(&mut self, session: SessionId, socket: SocketId, packet: Packet) {
        match packet.kind {
            PacketType::Event | PacketType::BinaryEvent => match packet.data {
                Some(data) => self.events.push_back(Event::Event {
                    socket,
                    data,
                    attachments: packet.attachments,
                    ack: packet.id,
                }),
                // The decoder rejects events without data; never trust it blindly.
                None => self.close_session(
                    session,
                    DisconnectReason::ParseError,
                    CloseReason::ParseError,
                ),
            },
            PacketType::Ack | PacketType::BinaryAck => self.on_ack(socket, packet),
            PacketType::Disconnect => {
                self.remove_socket(socket, DisconnectReason::ClientNamespaceDisconnect);
            }
            // Routed as invalid before reaching a socket.
            PacketType::Connect | PacketType::ConnectError => {}
        }
    }

    fn on_ack(&mut self, socket: SocketId, packet: Packet) {
        let Some(id) = packet.id else {
            return;
        };
        let Some(state) = self.sockets.get_mut(&socket) else {
            return;
        };
        // An id never sent, already answered or timed out: ignored.
        if state.acks.remove(&id).is_none() {
            return;
        }
        let data = packet
            .data
            .unwrap_or_else(|| RawJson::from_trusted(ByteString::from_static("[]")));
        self.events.push_back(Event::Ack {
            socket,
            id,
            data,
            attachments: packet.attachments,
        });
    }

    fn fire(&mut self, key: TimerKey) {
        match key {
            TimerKey::Connect(session) => {
                self.close_session(
                    session,
                    DisconnectReason::ForcedServerClose,
                    CloseReason::ForcedClose,
                );
            }
            TimerKey::Ack(socket, id) => {
                if let Some(state) = self.sockets.get_mut(&socket) {
                    if state.acks.remove(&id).is_some() {
                        self.events.push_back(Event::AckTimeout { socket, id });
                    }
                }
            }
        }
    }

    fn add_pending_ack(&mut self, socket: SocketId, id: u64, deadline: Instant) {
        if let Some(state) = self.sockets.get_mut(&socket) {
            state.acks.insert(id, deadline);
            self.push_timer(deadline, TimerKey::Ack(socket, id));
        }
    }

    fn push_timer(&mut self, deadline: Instant, key: TimerKey) {
        let (sockets, clients) = (&self.sockets, &self.clients);
        self.timers.push(deadline, key, |at, key| {
            timer_is_live(sockets, clients, at, key)
        });
    }

    fn next_deadline(&mut self) -> Option<Instant> {
        let (sockets, clients) = (&self.sockets, &self.clients);
        self.timers
            .next(|at, key| timer_is_live(sockets, clients, at, key))
    }

    /// Encodes and queues one packet for a session (not a broadcast).
    /// Keeps the buffer of an encoded packet for the next one (its
    /// messages dropped: the sessions hold their own clones).
    fn reuse_messages(&mut self, mut messages: Vec<engine::OutMessage>) {
        messages.clear();
        self.encode_scratch = messages;
    }

    fn send_packet(&mut self, session: SessionId, packet: &Packet) {
        let mut messages = core::mem::take(&mut self.encode_scratch);
        broadcast::encode(&self.parser, packet, &mut messages);
        broadcast::send(&mut self.engine, session, &messages, false);
        self.reuse_messages(messages);
    }

    fn send_connect_error(
        &mut self,
        session: SessionId,
        nsp: ByteString,
        message: &str,
        data: Option<RawJson>,
    ) {
        self.send_packet(session, &Packet::connect_error(nsp, message, data));
    }

    fn send_disconnect_packet(&mut self, socket: SocketId) {
        if let Some(state) = self.sockets.get(&socket) {
            let (session, nsp) = (state.session, state.nsp.clone());
            self.send_packet(session, &Packet::disconnect(nsp));
        }
    }

    /// Removes `socket` everywhere (namespace, rooms, session, acks) and
    /// reports it with the rooms it was in.
    fn remove_socket(&mut self, socket: SocketId, reason: DisconnectReason) {
        let Some(state) = self.sockets.remove(&socket) else {
            return;
        };
        if let Some(namespace) = self.namespaces.get_mut(&state.nsp) {
            namespace.remove_socket(socket, state.rooms.iter());
        }
        if let Some(client) = self.clients.get_mut(&state.session) {
            client.remove_socket(socket);
        }
        // Its ack timers become stale: their socket is gone.
        self.events.push_back(Event::Disconnect {
            socket,
            nsp: state.nsp,
            reason,
            rooms: state.rooms.into_iter().collect(),
        });
    }

    /// Forgets `session`: its sockets leave with `reason`, its pending
    /// connect requests are dropped.
    fn drop_session(&mut self, session: SessionId, reason: DisconnectReason) {
        let Some(client) = self.clients.get(&session) else {
            return;
        };
        let sockets: Vec<SocketId> = client.sockets().collect();
        let requests: Vec<ConnectRequestId> = client.pending().collect();
        for socket in sockets {
            self.remove_socket(socket, reason);
        }
        for request in requests {
            self.requests.remove(&request);
        }
        self.clients.remove(&session);
    }

    /// Closes `session` from our side: forgotten at once, then the engine
    /// flushes and closes it (its later Closed event finds nothing).
    fn close_session(&mut self, session: SessionId, reason: DisconnectReason, close: CloseReason) {
        self.drop_session(session, reason);
        let _ = self.engine.close(self.now, session, close);
    }
}

/// Whether a timer entry still stands for something.
fn timer_is_live<D>(
    sockets: &BTreeMap<SocketId, Socket>,
    clients: &BTreeMap<SessionId, Client<D>>,
    at: Instant,
    key: TimerKey,
) -> bool
where
    D: packet::PacketDecoder,
{
    match key {
        TimerKey::Connect(session) => clients
            .get(&session)
            .is_some_and(|client| client.connect_deadline() == Some(at)),
        TimerKey::Ack(socket, id) => sockets
            .get(&socket)
            .is_some_and(|state| state.ack_due_at(id, at)),
    }
}

/// 20 base64url characters from 15 random bytes.
fn random_socket_id(rng: &mut ChaCha20Rng) -> ByteString {
    use base64::Engine as _;
    let mut bytes = [0u8; SOCKET_ID_BYTES];
    rng.fill_bytes(&mut bytes);
    ByteString::from(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}
