//! The Socket.IO client, sans-IO: socket.io-client's `Manager` (one
//! Engine.IO connection, reconnection with backoff) and its `Socket`s (one
//! per namespace, multiplexed on that connection), as one state machine.
//!
//! The transports are HTTP long-polling and WebSocket, with the upgrade from
//! one to the other as engine.io-client does it ([`Config::transports`]).
//! The driver opens a TCP connection when told ([`Output::Connect`]),
//! reports it ([`Client::handle_connected`]), writes what
//! [`Output::Transmit`] holds (HTTP requests, or the WebSocket upgrade
//! request then masked frames), feeds everything it reads to [`Client::handle_data`], and closes the
//! connection on [`Output::Close`]. Everything else (handshake, heartbeat,
//! namespaces, acks, reconnection) happens here, run as every state
//! machine of the crate: after each input, drain [`Client::poll_output`]
//! until [`Output::Timeout`], and call [`Client::handle_timeout`] at that
//! instant.
//!
//! Behaviour follows the reference client (npm `socket.io-client` 4.x,
//! `engine.io-client` 6.x):
//!
//! - Long-polling: the handshake is a GET (`EIO=4&transport=polling`, a
//!   cache-buster `t` on every request); a GET is always pending for the
//!   server's packets; our packets go in POSTs, one at a time, those
//!   written meanwhile queued for the next. Each has its own keep-alive
//!   connection.
//! - Upgrade (when the open packet offers `websocket` and both transports
//!   are allowed): a WebSocket with the session id sends `2probe`; on
//!   `3probe` polling pauses (no new request, writes held) until its GET
//!   and POST are answered, then `5` goes out on the WebSocket, which
//!   carries everything after (held writes first) and the polling
//!   connections close. A probe that fails before `3probe` leaves polling
//!   running; after it, polling stays paused as in engine.io-client, until
//!   the ping deadline closes the connection.
//! - Heartbeat: every server ping is answered with a pong; no ping within
//!   `pingInterval + pingTimeout` of the open packet or of the last ping
//!   closes the connection with "ping timeout".
//! - The connection attempt must reach the open packet within
//!   [`Config::timeout`], else it counts as failed ("timeout").
//! - Reconnection: after a connection is lost (or the first attempt
//!   fails), attempts follow `backo2` delays; every namespace still wanted
//!   sends its CONNECT again (with its auth) once the new connection is
//!   open. A namespace the server disconnected, that got a CONNECT_ERROR,
//!   or that the application left is not reconnected (it is dormant until
//!   [`Client::connect`]); when no namespace is left, the connection is
//!   closed, as the reference manager does.
//! - Emits while a namespace is not connected (also before it was ever
//!   asked to connect: [`Client::add_namespace`]) are buffered and sent in
//!   order once it is; volatile emits are dropped instead.
//! - Acks: ids count from 0 per namespace; a deadline yields
//!   [`ClientEvent::AckTimeout`] (and drops the event if it never went
//!   out); an event sent on a connection that is then lost gets
//!   [`ClientEvent::AckCancelled`] (the reference: "socket has been
//!   disconnected").
//!
//! - `retries` / `ackTimeout`: see the `retry` module; `ackTimeout` is also
//!   the deadline of any ack asked for without one.
//!
//! The parser is JSON or MessagePack (`Config::parser`); no custom
//! parsers. Not done here: connection state recovery.
//!
//! The state machine is one type, [`Client`], written in three files: this
//! one (its state, queries, commands and inputs), `connection` (the
//! Engine.IO connection: timers, transports, upgrade, reconnection) and
//! `sockets` (namespaces and Socket.IO packets). `engine_only` runs the
//! same machine without Socket.IO: [`EngineClient`], the Engine.IO-only
//! client (npm `engine.io-client`).

mod backoff;
mod config;
mod connection;
mod cookies;
mod engine_only;
mod headers;
mod namespace;
mod polling;
mod retry;
mod sockets;
mod types;
mod ws;

pub use crate::engine::{ConnId, Transport};
pub use config::Config;
pub use engine_only::{EngineClient, SendError};
pub use types::{ClientError, ClientEvent, DisconnectReason, EmitOptions, Output};

use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

use bytes::{Bytes, BytesMut};
use bytestring::ByteString;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use serde::Deserialize;

use crate::engine::{self, OpenPacket};
use crate::packet::{self, Packet, PacketDecoder, PacketType, Parser, RawJson};
use crate::time::Instant;
use crate::wire::ws::{self as websocket, Message, OpCode};

use backoff::Backoff;
use headers::RequestHeaders;
use namespace::{Namespace, NsState, PendingAck};
use polling::{Io, Polled, PollingLink};
use retry::{AfterFailure, Failure};
use ws::{write_frame, HeadFault, WsLink};

/// How long a pending poll may stay open after closing over polling (see
/// [`Output::Linger`]).
const CLOSE_LINGER: Duration = Duration::from_secs(2);

/// The transport packets travel on.
#[derive(Debug)]
enum Carrier {
    /// A WebSocket; `ws` is `None` until its TCP connection is up.
    Ws { conn: ConnId, ws: Option<WsLink> },
    /// HTTP long-polling (boxed: two HTTP parsers are large).
    Polling(alloc::boxed::Box<PollingLink>),
}

/// A WebSocket opened next to the polling transport to upgrade to it.
#[derive(Debug)]
struct Probe {
    conn: ConnId,
    ws: Option<WsLink>,
}

/// What the open packet started.
#[derive(Debug)]
struct Session {
    /// The open packet: the session id, upgrades, heartbeat and payload bound.
    open: OpenPacket,
    /// No ping by then: "ping timeout".
    ping_deadline: Instant,
    /// `pingInterval + pingTimeout`.
    ping_window: Duration,
}

/// Which part of the link a connection belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Ws,
    Polling,
    Probe,
}

/// The current connection attempt or connection.
#[derive(Debug)]
struct Link {
    /// The first connection of the attempt: tells links apart.
    id: ConnId,
    carrier: Carrier,
    /// Set by the open packet.
    session: Option<Session>,
    probe: Option<Probe>,
    /// The probe was answered (`3probe`): polling pauses (no new request)
    /// and writes wait in `held` until `5` goes out on the WebSocket.
    upgrading: bool,
    held: Vec<engine::Packet>,
    /// The attempt fails at this instant unless open by then.
    open_deadline: Option<Instant>,
    decoder: packet::AnyDecoder,
}

impl Link {
    fn role(&self, conn: ConnId) -> Option<Role> {
        match &self.carrier {
            Carrier::Ws { conn: ws, .. } if *ws == conn => return Some(Role::Ws),
            Carrier::Polling(polling) if polling.owns(conn) => return Some(Role::Polling),
            _ => {}
        }
        self.probe
            .as_ref()
            .filter(|probe| probe.conn == conn)
            .map(|_| Role::Probe)
    }

    /// Every connection open or opening.
    fn conns(&self) -> Vec<ConnId> {
        let mut conns: Vec<ConnId> = match &self.carrier {
            Carrier::Ws { conn, .. } => alloc::vec![*conn],
            Carrier::Polling(polling) => polling.conns().collect(),
        };
        conns.extend(self.probe.as_ref().map(|probe| probe.conn));
        conns
    }

    fn polling(&mut self) -> Option<&mut PollingLink> {
        match &mut self.carrier {
            Carrier::Polling(polling) => Some(polling),
            Carrier::Ws { .. } => None,
        }
    }
}

/// The Socket.IO client state machine. See the [module docs](self).
#[derive(Debug)]
pub struct Client {
    config: Config,
    rng: ChaCha20Rng,
    backoff: Backoff,
    namespaces: Vec<Namespace>,
    link: Option<Link>,
    next_conn: u64,
    /// A reconnection is scheduled or under way (the reference's `_reconnecting`).
    reconnecting: bool,
    /// The application closed the client: no reconnection.
    skip_reconnect: bool,
    reconnect_at: Option<Instant>,
    outputs: VecDeque<Output>,
    scratch: Vec<engine::Packet>,
    /// `Some` for an Engine.IO-only client ([`EngineClient`]): messages
    /// are the application's, not Socket.IO packets; these wait for the
    /// open packet.
    raw: Option<VecDeque<engine::Packet>>,
    /// Extra headers and the cookie jar, for every request.
    headers: RequestHeaders,
    /// A WebSocket carried the last connection (engine.io-client's
    /// `priorWebsocketSuccess`, per client here): with
    /// `remember_upgrade` the next starts on one.
    prior_websocket_success: bool,
}

impl Client {
    /// A client with `config`. `seed` feeds the WebSocket keys, the frame
    /// masks and the reconnection jitter: draw it from a real source of
    /// randomness outside tests. Nothing happens until [`Client::connect`]
    /// or [`Client::open`].
    pub fn new(config: Config, seed: [u8; 32]) -> Self {
        let backoff = Backoff::new(
            config.reconnection_delay,
            config.reconnection_delay_max,
            config.randomization_factor,
        );
        let headers = RequestHeaders::new(config.extra_headers.clone(), config.with_credentials);
        Client {
            headers,
            prior_websocket_success: false,
            config,
            rng: ChaCha20Rng::from_seed(seed),
            backoff,
            namespaces: Vec::new(),
            link: None,
            next_conn: 0,
            reconnecting: false,
            skip_reconnect: false,
            reconnect_at: None,
            outputs: VecDeque::new(),
            scratch: Vec::new(),
            raw: None,
        }
    }

    // ----- queries -----

    /// The Engine.IO session id while the connection is open.
    pub fn engine_sid(&self) -> Option<&str> {
        Some(&self.link.as_ref()?.session.as_ref()?.open.sid)
    }

    /// The transport of the current connection (attempt).
    pub fn transport(&self) -> Option<Transport> {
        Some(match self.link.as_ref()?.carrier {
            Carrier::Ws { .. } => Transport::WebSocket,
            Carrier::Polling(_) => Transport::Polling,
        })
    }

    /// The socket id of `nsp` while it is connected.
    pub fn sid(&self, nsp: &str) -> Option<&str> {
        match &self.namespace(nsp)?.state {
            NsState::Connected { sid } => Some(sid),
            _ => None,
        }
    }

    /// Whether `nsp` is connected.
    pub fn is_connected(&self, nsp: &str) -> bool {
        self.namespace(nsp).is_some_and(Namespace::is_connected)
    }

    /// Whether the client still wants `nsp` (connected or (re)connecting):
    /// the reference socket's `active`.
    pub fn is_active(&self, nsp: &str) -> bool {
        self.namespace(nsp).is_some_and(Namespace::is_active)
    }

    /// How many emits `nsp` buffers.
    pub fn buffered_count(&self, nsp: &str) -> usize {
        self.namespace(nsp).map_or(0, |ns| ns.buffer.len())
    }

    /// How many acks `nsp` waits for.
    pub fn pending_ack_count(&self, nsp: &str) -> usize {
        self.namespace(nsp).map_or(0, |ns| ns.acks.len())
    }

    // ----- commands -----

    /// Tells the client the wall clock: `unix_secs` seconds since 1970
    /// (UTC) at `now`, for cookies' `Expires` dates (without it they are
    /// kept for the client's life). The driver calls it once.
    pub fn set_wall_clock(&mut self, now: Instant, unix_secs: u64) {
        self.headers.set_wall_clock(now, unix_secs);
    }

    /// Opens the Engine.IO connection if it is not open or opening (the
    /// manager's `open`). [`Client::connect`] does this by itself.
    pub fn open(&mut self, now: Instant) {
        self.advance(now);
        self.skip_reconnect = false;
        if self.link.is_none() && !self.reconnecting {
            self.start_link(now);
        }
    }

    /// Joins `nsp` with optional `auth` (a JSON object), opening the
    /// connection if needed; [`ClientEvent::Connected`] or
    /// [`ClientEvent::ConnectError`] follows. A namespace already joined
    /// is left as it is.
    pub fn connect(
        &mut self,
        now: Instant,
        nsp: &str,
        auth: Option<RawJson>,
    ) -> Result<(), ClientError> {
        self.join(now, nsp, auth, false)
    }

    /// Joins `nsp` as [`Client::connect`] does, but each CONNECT (on this
    /// connection and every reconnection) waits for its auth:
    /// [`ClientEvent::AuthNeeded`] asks for it, [`Client::provide_auth`]
    /// answers (socket.io-client's `auth` given as a function).
    pub fn connect_asking_auth(&mut self, now: Instant, nsp: &str) -> Result<(), ClientError> {
        self.join(now, nsp, None, true)
    }

    /// Answers [`ClientEvent::AuthNeeded`] number `request` of `nsp`:
    /// `Ok(auth)` sends the CONNECT with it (a JSON object, or none);
    /// `Err(message)` (the application could not get one) ends the
    /// attempt as a refusal would: [`ClientEvent::ConnectError`] with
    /// `message`, and the namespace is not reconnected. An answer to an
    /// earlier request (its connection is gone) is ignored.
    pub fn provide_auth(
        &mut self,
        now: Instant,
        nsp: &str,
        request: u64,
        auth: Result<Option<RawJson>, String>,
    ) -> Result<(), ClientError> {
        self.advance(now);
        let index = self
            .namespace_index(nsp)
            .ok_or(ClientError::UnknownNamespace)?;
        let open = self.is_open();
        let Some(ns) = self.namespaces.get_mut(index) else {
            return Err(ClientError::UnknownNamespace);
        };
        if ns.state != NsState::AwaitingAuth || ns.auth_request != request || !open {
            return Ok(());
        }
        let auth = auth.and_then(|auth| match auth {
            Some(json) if !json.as_str().starts_with('{') => {
                Err(String::from("auth data is not a JSON object"))
            }
            auth => Ok(auth),
        });
        match auth {
            Ok(auth) => {
                ns.auth = auth;
                self.write_connect(index);
            }
            Err(message) => {
                let nsp = ns.name.clone();
                self.drop_namespace(index, None);
                self.event(ClientEvent::ConnectError {
                    nsp,
                    message,
                    data: None,
                });
            }
        }
        Ok(())
    }

    fn join(
        &mut self,
        now: Instant,
        nsp: &str,
        auth: Option<RawJson>,
        auth_per_attempt: bool,
    ) -> Result<(), ClientError> {
        if !nsp.starts_with('/') || nsp.contains(',') {
            return Err(ClientError::InvalidNamespace);
        }
        if auth
            .as_ref()
            .is_some_and(|auth| !auth.as_str().starts_with('{'))
        {
            return Err(ClientError::InvalidAuth);
        }
        self.advance(now);
        let index = match self.namespace_index(nsp) {
            Some(index) => index,
            None => {
                self.namespaces
                    .push(Namespace::new(ByteString::from(nsp), None));
                self.namespaces.len() - 1
            }
        };
        let Some(ns) = self.namespaces.get_mut(index) else {
            return Ok(());
        };
        if ns.is_active() {
            return Ok(());
        }
        ns.auth = auth;
        ns.auth_per_attempt = auth_per_attempt;
        ns.state = NsState::Waiting;
        if self.is_open() {
            self.send_connect(index);
        } else if self.link.is_none() && !self.reconnecting {
            self.skip_reconnect = false;
            self.start_link(now);
        }
        Ok(())
    }

    /// Makes `nsp` known without connecting it: emits on it buffer (their
    /// ack deadlines running) until [`Client::connect`], as emits on a
    /// socket.io-client socket before `connect()`. Nothing happens for a
    /// namespace already known.
    pub fn add_namespace(&mut self, nsp: &str) -> Result<(), ClientError> {
        if !nsp.starts_with('/') || nsp.contains(',') {
            return Err(ClientError::InvalidNamespace);
        }
        if self.namespace(nsp).is_none() {
            self.namespaces
                .push(Namespace::new(ByteString::from(nsp), None));
        }
        Ok(())
    }

    /// Leaves `nsp`: DISCONNECT if connected, then
    /// [`ClientEvent::Disconnected`] "io client disconnect"; the acks of
    /// events that went out are cancelled, emits buffered so far (and made
    /// from now on) wait for the next [`Client::connect`], as in the
    /// reference. The connection stays for the other namespaces; when no
    /// namespace is left, it is closed (as the reference manager does).
    pub fn disconnect(&mut self, now: Instant, nsp: &str) -> Result<(), ClientError> {
        self.advance(now);
        let index = self
            .namespace_index(nsp)
            .ok_or(ClientError::UnknownNamespace)?;
        if let Some(ns) = self.namespaces.get(index) {
            if ns.is_connected() {
                let packet = Packet::disconnect(ns.name.clone());
                self.send_packet(&packet);
            }
        }
        self.drop_namespace(index, Some(DisconnectReason::IoClientDisconnect));
        Ok(())
    }

    /// Closes the connection and stops reconnecting (the manager's
    /// `disconnect`); connected namespaces get "forced close" and stay
    /// wanted: [`Client::open`] reconnects them.
    pub fn close(&mut self, now: Instant) {
        self.advance(now);
        self.close_manager(DisconnectReason::ForcedClose);
    }

    /// Emits `data` (`["name", ...args]`, placeholders for `attachments`)
    /// on `nsp`. Returns the ack id when an ack was asked for: the id
    /// [`ClientEvent::Ack`], [`ClientEvent::AckTimeout`] and
    /// [`ClientEvent::AckCancelled`] carry. An ack asked for with
    /// `Duration::MAX` gets [`Config::ack_timeout`] when it is set. With
    /// [`Config::retries`], every emit but a volatile one goes through the
    /// retry queue, and the id is the queue's (from 2^63), not the one on
    /// the wire (each attempt takes its own).
    pub fn emit(
        &mut self,
        now: Instant,
        nsp: &str,
        data: RawJson,
        attachments: Vec<Bytes>,
        options: EmitOptions,
    ) -> Result<Option<u64>, ClientError> {
        if data.first_element().flatten().is_none() {
            return Err(ClientError::InvalidData);
        }
        self.advance(now);
        let max_buffered = self.config.max_buffered_emits;
        let max_acks = self.config.max_pending_acks;
        let open = self.is_open();
        let index = self
            .namespace_index(nsp)
            .ok_or(ClientError::UnknownNamespace)?;
        // An ack without a deadline of its own gets `ackTimeout`.
        let options = EmitOptions {
            ack_timeout: options
                .ack_timeout
                .map(|timeout| match self.config.ack_timeout {
                    Some(default) if timeout == Duration::MAX => default,
                    _ => timeout,
                }),
            ..options
        };
        if self.config.retries > 0 && !options.volatile {
            return self.enqueue(now, index, data, attachments, options);
        }
        let ns = self
            .namespaces
            .get_mut(index)
            .ok_or(ClientError::UnknownNamespace)?;
        let sends_now = open && ns.is_connected();
        let buffers = !sends_now && !options.volatile;
        // A volatile emit also needs the transport writable (no POST out),
        // as socket.io-client checks `transport.writable`.
        let writable = self.link.as_ref().is_none_or(|link| match &link.carrier {
            Carrier::Polling(polling) => polling.is_writable(),
            Carrier::Ws { .. } => true,
        });
        let sends_now = sends_now && (writable || !options.volatile);
        if buffers && ns.buffer.len() >= max_buffered {
            return Err(ClientError::BufferFull);
        }
        if options.ack_timeout.is_some() && ns.acks.len() >= max_acks {
            return Err(ClientError::TooManyPendingAcks);
        }
        let id = options.ack_timeout.map(|_| ns.take_ack_id());
        let mut packet = Packet::event(ns.name.clone(), data, attachments);
        packet.id = id;
        if let (Some(id), Some(timeout)) = (id, options.ack_timeout) {
            let pending = PendingAck {
                deadline: now.checked_add(timeout),
                sent: sends_now,
            };
            if sends_now || buffers {
                ns.acks.insert(id, pending);
            }
        }
        if buffers {
            ns.buffer.push_back(packet);
        } else if sends_now {
            self.send_packet(&packet);
        } else if let Some(id) = id {
            // A dropped volatile emit: its ack will never come.
            let nsp = packet.nsp;
            self.event(ClientEvent::AckCancelled { nsp, id });
        }
        Ok(id)
    }

    /// How many Engine.IO packets wait for the upgrade in progress.
    pub fn held_count(&self) -> usize {
        self.link.as_ref().map_or(0, |link| link.held.len())
    }

    /// How many emits wait in `nsp`'s `retries` queue (the one out included).
    pub fn queued_count(&self, nsp: &str) -> usize {
        self.namespace(nsp).map_or(0, |ns| ns.retry.len())
    }

    /// Queues an emit under the `retries` option (the reference's
    /// `_addToQueue`). The id returned is the queue's (see [`retry`]).
    fn enqueue(
        &mut self,
        now: Instant,
        index: usize,
        data: RawJson,
        attachments: Vec<Bytes>,
        options: EmitOptions,
    ) -> Result<Option<u64>, ClientError> {
        let max = self.config.max_buffered_emits;
        let default_timeout = self.config.ack_timeout;
        let ns = self
            .namespaces
            .get_mut(index)
            .ok_or(ClientError::UnknownNamespace)?;
        if ns.retry.len() >= max {
            return Err(ClientError::BufferFull);
        }
        let timeout = match options.ack_timeout {
            Some(Duration::MAX) => None,
            Some(timeout) => Some(timeout),
            None => default_timeout,
        };
        let id = ns
            .retry
            .push(data, attachments, timeout, options.ack_timeout.is_some());
        self.drain_queue(now, index, false);
        Ok(id)
    }

    /// Sends the head of `index`'s queue when connected and it is not out
    /// already (or `force`: on connect), with a fresh ack id (the
    /// reference's `_drainQueue`).
    fn drain_queue(&mut self, now: Instant, index: usize, force: bool) {
        if !self.is_open() {
            return;
        }
        let Some(ns) = self.namespaces.get_mut(index) else {
            return;
        };
        if !ns.is_connected() || ns.retry.head_to_send(force).is_none() {
            return;
        }
        let id = ns.take_ack_id();
        let Some(head) = ns.retry.head_to_send(force) else {
            return;
        };
        if let Some(old) = head.live.take() {
            ns.acks.remove(&old);
        }
        head.pending = true;
        head.try_count = head.try_count.saturating_add(1);
        head.live = Some(id);
        let deadline = head.timeout.and_then(|timeout| now.checked_add(timeout));
        let mut packet =
            Packet::event(ns.name.clone(), head.data.clone(), head.attachments.clone());
        packet.id = Some(id);
        ns.acks.insert(
            id,
            PendingAck {
                deadline,
                sent: true,
            },
        );
        self.send_packet(&packet);
    }

    /// Attempt `id` of `index`'s queue failed; `false` when `id` is not one.
    fn retry_failed(&mut self, now: Instant, index: usize, id: u64, failure: Failure) -> bool {
        let retries = self.config.retries;
        let Some(ns) = self.namespaces.get_mut(index) else {
            return false;
        };
        let Some(after) = ns.retry.failed(id, failure, retries) else {
            return false;
        };
        let nsp = ns.name.clone();
        if let AfterFailure::Dropped { user_id: Some(id) } = after {
            self.event(match failure {
                Failure::TimedOut => ClientEvent::AckTimeout { nsp, id },
                Failure::Disconnected => ClientEvent::AckCancelled { nsp, id },
            });
        }
        if after != AfterFailure::Kept {
            self.drain_queue(now, index, false);
        }
        true
    }

    /// Answers the server's event that carried ack `id` with `data`
    /// (`[...args]`, placeholders for `attachments`). Dropped when `nsp` is
    /// not connected: the server that asked is gone.
    pub fn ack(
        &mut self,
        now: Instant,
        nsp: &str,
        id: u64,
        data: RawJson,
        attachments: Vec<Bytes>,
    ) -> Result<(), ClientError> {
        if data.first_element().is_none() {
            return Err(ClientError::InvalidData);
        }
        self.advance(now);
        let ns = self.namespace(nsp).ok_or(ClientError::UnknownNamespace)?;
        if self.is_open() && ns.is_connected() {
            let packet = Packet::ack(ns.name.clone(), id, data, attachments);
            self.send_packet(&packet);
        }
        Ok(())
    }

    // ----- inputs -----

    /// Input: the TCP connection `conn` asked for by [`Output::Connect`] is up.
    pub fn handle_connected(&mut self, now: Instant, conn: ConnId) {
        self.advance(now);
        let Some(role) = self.link.as_ref().and_then(|link| link.role(conn)) else {
            return;
        };
        match role {
            Role::Ws | Role::Probe => {
                let sid = self.engine_sid().map(String::from);
                let target = self.request_target(Transport::WebSocket, sid.as_deref());
                let mut nonce = [0u8; 16];
                self.rng.fill_bytes(&mut nonce);
                let ws = WsLink::new(
                    nonce,
                    self.config.ws_limits,
                    self.config.max_response_head_bytes,
                    self.config.per_message_deflate,
                );
                let extra = self.headers.for_request(&target);
                let head = ws.request(&self.config.host, &target, &extra);
                let Some(link) = self.link.as_mut() else {
                    return;
                };
                let slot = match (&mut link.carrier, &mut link.probe) {
                    (Carrier::Ws { ws, .. }, _) if role == Role::Ws => ws,
                    (_, Some(probe)) => &mut probe.ws,
                    _ => return,
                };
                if slot.is_some() {
                    return;
                }
                *slot = Some(ws);
                self.outputs.push_back(Output::Transmit {
                    conn,
                    data: Bytes::from(head.into_bytes()),
                });
            }
            Role::Polling => {
                self.on_polling(|polling, io| polling.on_connected(conn, io));
            }
        }
    }

    /// Input: bytes read from `conn`.
    pub fn handle_data(&mut self, now: Instant, conn: ConnId, data: &[u8]) {
        self.advance(now);
        let Some(role) = self.link.as_ref().and_then(|link| link.role(conn)) else {
            return;
        };
        match role {
            Role::Ws => {
                let Some(Link {
                    carrier: Carrier::Ws { ws: Some(ws), .. },
                    ..
                }) = self.link.as_mut()
                else {
                    return;
                };
                let mut cookies = Vec::new();
                let fed = ws.feed(data, &mut cookies);
                self.headers.on_cookies(&self.config.path, &cookies);
                if let Err(fault) = fed {
                    let message = match fault {
                        HeadFault::Refused(_) | HeadFault::BadExtension(_) => "websocket error",
                        HeadFault::TooLarge | HeadFault::Malformed => "transport error",
                    };
                    self.fail_open(now, message);
                    return;
                }
                self.read_messages(now, conn);
            }
            Role::Probe => self.probe_data(now, conn, data),
            Role::Polling => {
                let polled = self.on_polling(|polling, io| polling.on_data(conn, data, io));
                if let Some((link_id, results)) = polled {
                    self.on_polled(now, link_id, results);
                }
            }
        }
    }

    /// Input: `conn` is closed (by the server, by an error, or after
    /// [`Output::Close`]), or could not be opened.
    pub fn handle_closed(&mut self, now: Instant, conn: ConnId) {
        self.advance(now);
        let Some(role) = self.link.as_ref().and_then(|link| link.role(conn)) else {
            return;
        };
        match role {
            Role::Ws if self.is_open() => {
                self.lose_link(now, DisconnectReason::TransportClose, false)
            }
            Role::Ws => self.fail_open(now, "websocket error"),
            Role::Probe => self.drop_probe(),
            Role::Polling => {
                let polled = self.on_polling(|polling, io| polling.on_closed(conn, io));
                if let Some((link_id, result)) = polled {
                    self.on_polled(now, link_id, result.into_iter().collect());
                }
            }
        }
    }

    /// Input: the instant of the last [`Output::Timeout`] has come.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.advance(now);
    }

    /// The next thing to do.
    pub fn poll_output(&mut self) -> Output {
        self.outputs
            .pop_front()
            .unwrap_or_else(|| Output::Timeout(self.next_deadline()))
    }
}
