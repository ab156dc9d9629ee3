//! The Socket.IO v5 server state machine, layered on the Engine.IO server:
//! namespaces (static and dynamic), connect verdicts from middleware,
//! sockets, events, acks with deadlines, rooms, broadcasts and disconnect
//! reasons.
//!
//! # Contract
//!
//! [`Server`] owns an [`EngineServer`]; the driver's inputs (requests,
//! WebSocket bytes, flushes, closed connections, timeouts) pass through it
//! unchanged. [`Server::poll_output`] hands out the engine's [`Io`](crate::engine::Io) as is,
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
mod commands;
mod external;
mod incoming;
mod namespace;
mod outgoing;
mod recovery;
mod session;
mod sessions;
mod socket;
mod timers;
mod types;

pub use broadcast::{BroadcastOptions, SharedEncoding};
pub use recovery::{LoggedPacket, PersistedSession, RecoveryConfig, RestoredSession, SessionStore};
pub use socket::SocketId;
pub use types::{
    Config, ConnectRequestId, DisconnectReason, Event, Output, ServerError, SocketHandshake,
};

use alloc::collections::{BTreeMap, VecDeque};
use alloc::vec::Vec;
use core::time::Duration;

use bytestring::ByteString;

use crate::engine::ids::IdGenerator;
use crate::engine::{self, ConnId, EngineServer, SessionId};
use crate::packet::{self, Parser, ParserKind, RawJson};
use crate::time::Instant;
use crate::wire::http::Request;

use namespace::Namespace;
use sessions::Sessions;
use timers::{timer_is_live, Timers};

/// A CONNECT waiting for a verdict.
#[derive(Debug)]
struct PendingConnect {
    session: SessionId,
    nsp: ByteString,
    auth: Option<RawJson>,
    /// The kept session the client asked for, taken out of the store.
    restoring: Option<recovery::TakenSession>,
    /// With an external store: the session the driver found for it, with
    /// its missed packets ([`Server::answer_restore`]).
    supplied: Option<recovery::RestoredSession>,
    /// Sharded, with the local store: the sequence this shard's log had
    /// reached when another shard's session was supplied; what it logged
    /// after that is missed too.
    supplied_since: Option<u64>,
}

/// The Socket.IO server. [`Server::new`] speaks the parser its config
/// names; [`Server::with_parser`] takes any [`Parser`] (a fixed one, such
/// as [`JsonParser`](packet::JsonParser), skips the run-time choice).
pub struct Server<P: Parser = ParserKind> {
    engine: EngineServer,
    parser: P,
    connect_timeout: Duration,
    max_pending_acks: usize,
    max_namespaces_per_session: usize,
    packet_limits: packet::Limits,
    /// Socket ids.
    ids: IdGenerator,
    /// The latest instant any input or call brought in; engine events are
    /// handled while draining outputs, where no `now` is given.
    now: Instant,
    dynamic_namespaces: bool,
    /// [`Config::cleanup_empty_child_namespaces`].
    cleanup_empty_child_namespaces: bool,
    /// False within [`Server::without_compression`].
    compress: bool,
    /// Whether joins, leaves and upgrades are reported ([`Event::RoomJoined`], ...).
    observer_events: bool,
    /// Whether rooms created and deleted are reported ([`Event::RoomCreated`]).
    room_events: bool,
    namespaces: BTreeMap<ByteString, Namespace>,
    /// Sessions, each with its sockets.
    sessions: Sessions<P::Decoder>,
    requests: BTreeMap<ConnectRequestId, PendingConnect>,
    timers: Timers,
    /// Kept sessions and the packet log, when recovery is on.
    recovery: Option<SessionStore>,
    /// Sessions and offsets live outside ([`Server::use_external_recovery_store`]).
    external_recovery: bool,
    /// The offset the next broadcast carries (external store only).
    supplied_offset: Option<ByteString>,
    events: VecDeque<Event>,
    next_request: u64,
    /// Reused buffers: the encoded messages of one packet, and broadcast recipients.
    encode_scratch: Vec<engine::OutMessage>,
    recipients_scratch: Vec<SocketId>,
}

impl Server<ParserKind> {
    /// A server speaking `config.parser` (JSON by default). `seed` feeds
    /// the generators of session and socket ids: give it 32 bytes from a
    /// cryptographic source, or ids become guessable.
    pub fn new(config: Config, seed: [u8; 32]) -> Self {
        let parser = config.parser;
        Server::with_parser(config, parser, seed)
    }
}

impl<P: Parser> Server<P> {
    /// A server speaking `parser` (`config.parser` is not read).
    pub fn with_parser(config: Config, parser: P, seed: [u8; 32]) -> Self {
        let mut ids = IdGenerator::new(seed);
        // The engine gets its own stream, so session ids and socket ids
        // never come from the same bytes.
        let engine_seed = ids.fork_seed();
        let mut namespaces = BTreeMap::new();
        namespaces.insert(ByteString::from_static("/"), Namespace::new());
        Server {
            engine: EngineServer::new(config.engine, engine_seed),
            parser,
            connect_timeout: config.connect_timeout,
            max_pending_acks: config.max_pending_acks,
            max_namespaces_per_session: config.max_namespaces_per_session,
            packet_limits: config.packet_limits,
            ids,
            now: Instant::ZERO,
            dynamic_namespaces: false,
            cleanup_empty_child_namespaces: config.cleanup_empty_child_namespaces,
            compress: true,
            observer_events: false,
            room_events: false,
            namespaces,
            sessions: Sessions::new(),
            requests: BTreeMap::new(),
            timers: Timers::new(),
            recovery: config.connection_state_recovery.map(SessionStore::new),
            external_recovery: false,
            supplied_offset: None,
            events: VecDeque::new(),
            next_request: 0,
            encode_scratch: Vec::new(),
            recipients_scratch: Vec::new(),
        }
    }

    /// Makes this server shard `shard` of its process (see
    /// [`Shard`](crate::engine::Shard)): its sessions, socket ids,
    /// connect requests and recovery offsets name the shard. With more
    /// than one shard and
    /// connection state recovery on, a CONNECT whose kept session is not in
    /// this shard's store raises [`Event::RestoreRequest`]: the driver takes
    /// it from the other shards ([`Server::take_kept_session`]) and answers
    /// ([`Server::answer_restore`]). Call it before the first input.
    pub fn set_shard(&mut self, shard: engine::Shard) {
        self.engine.set_shard(shard);
        if let Some(store) = self.recovery.as_mut() {
            store.set_shard(shard);
        }
    }

    /// Its place among the process's shards.
    pub fn shard(&self) -> engine::Shard {
        self.engine.shard()
    }

    /// A CONNECT dropped without being accepted (refused, or its
    /// connection closed first): the session taken for it, from this
    /// store or handed over by another shard, goes back to the store for
    /// the client's next try, as Node's store keeps it.
    fn keep_for_retry(&mut self, pending: PendingConnect) {
        let Some(store) = self.recovery.as_mut() else {
            return;
        };
        if let Some(taken) = pending.restoring {
            store.put_back(taken);
        }
        if let (Some(supplied), Some(_), false) = (
            pending.supplied,
            pending.supplied_since,
            self.external_recovery,
        ) {
            store.put_back_handed_over(supplied.session);
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

    /// Answers `req` with 403 (the application's allow-request check
    /// refused; see [`EngineServer::forbid`]).
    pub fn forbid(&mut self, now: Instant, conn: ConnId, req: &Request, message: Option<&str>) {
        self.run_due(now);
        self.engine.forbid(now, conn, req, message);
    }

    /// Runs `f` (an [`emit`](Server::emit), [`broadcast`](Server::broadcast)
    /// or their ack forms) with its messages never compressed by
    /// permessage-deflate, whatever their size (Node's `compress(false)`).
    pub fn without_compression<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> T {
        self.compress = false;
        let result = f(self);
        self.compress = true;
        result
    }

    /// Whether `req` is a handshake to put to the application's
    /// allow-request check (see [`EngineServer::is_checked_handshake`]).
    pub fn is_checked_handshake(&self, req: &Request) -> bool {
        self.engine.is_checked_handshake(req)
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
        if let Some(store) = self.recovery.as_mut() {
            store.prune(now);
        }
        loop {
            let sessions = &self.sessions;
            let due = self
                .timers
                .pop_due(now, |at, key| timer_is_live(sessions, at, key));
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

    /// Whether [`Server::join`] and [`Server::leave`] report what they
    /// changed as [`Event::RoomJoined`] and [`Event::RoomLeft`], and
    /// upgrades come as [`Event::Upgraded`] (off by default: only
    /// observers such as the Admin UI want them).
    pub fn set_observer_events(&mut self, enabled: bool) {
        self.observer_events = enabled;
    }

    /// Whether the room index reports each room it creates and deletes as
    /// [`Event::RoomCreated`] and [`Event::RoomDeleted`] (off by default:
    /// the sharded cluster adapter subscribes a channel per room with them,
    /// as socket.io-adapter's `create-room` and `delete-room`).
    pub fn set_room_events(&mut self, enabled: bool) {
        self.room_events = enabled;
    }

    /// Whether the namespace `name` exists.
    pub fn has_namespace(&self, name: &str) -> bool {
        self.namespaces.contains_key(name)
    }

    // ----- sockets -----

    /// How many sockets exist, over all namespaces.
    pub fn socket_count(&self) -> usize {
        self.sessions.socket_count()
    }

    /// The id the client sees for `socket`.
    pub fn socket_sid(&self, socket: SocketId) -> Option<&str> {
        self.sessions.socket(socket).map(|s| &*s.sid)
    }

    /// The id of `socket`, to keep: a clone shares the core's text.
    pub fn socket_sid_shared(&self, socket: SocketId) -> Option<&ByteString> {
        self.sessions.socket(socket).map(|s| &s.sid)
    }

    /// The namespace of `socket`.
    pub fn socket_nsp(&self, socket: SocketId) -> Option<&str> {
        self.sessions.socket(socket).map(|s| &*s.nsp)
    }

    /// The Engine.IO session carrying `socket`.
    pub fn socket_session(&self, socket: SocketId) -> Option<SessionId> {
        self.sessions.socket(socket).map(|s| s.session())
    }

    /// The sockets of `session`, in the order they joined.
    pub fn session_sockets(&self, session: SessionId) -> Vec<SocketId> {
        self.sessions
            .get(session)
            .map(|sess| sess.sockets().collect())
            .unwrap_or_default()
    }

    /// Whether `socket` got a kept session back when it connected.
    pub fn socket_recovered(&self, socket: SocketId) -> bool {
        self.sessions.socket(socket).is_some_and(|s| s.recovered)
    }

    /// `socket`'s data (Node's `socket.data`) as the core keeps it for
    /// recovery: what [`Server::set_socket_data`] set, or what a recovered
    /// socket brought back.
    pub fn socket_data(&self, socket: SocketId) -> Option<&RawJson> {
        self.sessions.socket(socket)?.data()
    }

    /// Sets `socket`'s data, kept with its session when it leaves for a
    /// recoverable reason.
    pub fn set_socket_data(
        &mut self,
        socket: SocketId,
        data: Option<RawJson>,
    ) -> Result<(), ServerError> {
        let state = self
            .sessions
            .socket_mut(socket)
            .ok_or(ServerError::UnknownSocket)?;
        state.set_data(data);
        Ok(())
    }

    /// The recovery store (kept sessions, packet log), when recovery is on.
    pub fn recovery(&self) -> Option<&SessionStore> {
        self.recovery.as_ref()
    }

    /// What `socket`'s connection started with.
    pub fn handshake(&self, socket: SocketId) -> Option<SocketHandshake<'_>> {
        let state = self.sessions.socket(socket)?;
        let engine = self.engine.handshake(state.session())?;
        Some(SocketHandshake {
            engine,
            auth: state.auth(),
        })
    }
}
