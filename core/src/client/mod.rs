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
//! Not done here: connection state recovery, custom
//! parsers (JSON only).

mod backoff;
mod config;
mod namespace;
mod polling;
mod retry;
mod types;
mod ws;

pub use config::Config;
pub use types::{
    ClientError, ClientEvent, ConnId, DisconnectReason, EmitOptions, Output, Transport,
};

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

use crate::engine::{self, Handshake};
use crate::packet::{self, JsonParser, Packet, PacketType, Parser, RawJson};
use crate::time::Instant;
use crate::wire::ws::{self as websocket, Message, OpCode};

use backoff::Backoff;
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
    sid: String,
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
    decoder: packet::Decoder,
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
        Client {
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
        }
    }

    // ----- queries -----

    /// The Engine.IO session id while the connection is open.
    pub fn engine_sid(&self) -> Option<&str> {
        Some(&self.link.as_ref()?.session.as_ref()?.sid)
    }

    /// The transport of the current connection (attempt).
    pub fn transport(&self) -> Option<Transport> {
        Some(match self.link.as_ref()?.carrier {
            Carrier::Ws { .. } => Transport::Websocket,
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
                let target = self.request_target(Transport::Websocket, sid.as_deref());
                let mut nonce = [0u8; 16];
                self.rng.fill_bytes(&mut nonce);
                let ws = WsLink::new(
                    nonce,
                    self.config.ws_limits,
                    self.config.max_response_head_bytes,
                );
                let head = ws.request(&self.config.host, &target);
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
                if let Err(fault) = ws.feed(data) {
                    let message = match fault {
                        HeadFault::Refused(_) => "websocket error",
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

    // ----- timers -----

    /// Fires every timer due at `now`, once each: a timer set by what
    /// fires (a zero delay) waits for the next call, so this never loops.
    fn advance(&mut self, now: Instant) {
        self.fire_open_deadline(now);
        self.fire_ping_deadline(now);
        self.fire_reconnect(now);
        self.fire_ack_deadlines(now);
    }

    fn fire_open_deadline(&mut self, now: Instant) {
        let due = self
            .link
            .as_ref()
            .and_then(|link| link.open_deadline)
            .is_some_and(|at| at <= now);
        if due {
            self.fail_open(now, "timeout");
        }
    }

    fn fire_ping_deadline(&mut self, now: Instant) {
        let due = self
            .link
            .as_ref()
            .and_then(|link| link.session.as_ref())
            .is_some_and(|session| session.ping_deadline <= now);
        if due {
            self.lose_link(now, DisconnectReason::PingTimeout, true);
        }
    }

    fn fire_reconnect(&mut self, now: Instant) {
        if self.reconnect_at.is_none_or(|at| at > now) {
            return;
        }
        self.reconnect_at = None;
        if self.skip_reconnect {
            return;
        }
        let attempt = self.backoff.attempts();
        self.event(ClientEvent::Reconnecting { attempt });
        self.start_link(now);
    }

    fn fire_ack_deadlines(&mut self, now: Instant) {
        let mut timed_out = Vec::new();
        for (index, ns) in self.namespaces.iter_mut().enumerate() {
            for id in ns.take_due_acks(now) {
                timed_out.push((index, ns.name.clone(), id));
            }
        }
        for (index, nsp, id) in timed_out {
            if !self.retry_failed(now, index, id, Failure::TimedOut) {
                self.event(ClientEvent::AckTimeout { nsp, id });
            }
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let link = self.link.as_ref();
        let ping = link
            .and_then(|link| link.session.as_ref())
            .map(|session| session.ping_deadline);
        let open = link.and_then(|link| link.open_deadline);
        let acks = self.namespaces.iter().filter_map(Namespace::next_deadline);
        [ping, open, self.reconnect_at]
            .into_iter()
            .flatten()
            .chain(acks)
            .min()
    }

    // ----- the connection -----

    fn is_open(&self) -> bool {
        self.link
            .as_ref()
            .is_some_and(|link| link.session.is_some())
    }

    /// `/socket.io/?EIO=4&transport=<name>[&query][&sid=<sid>]` (polling
    /// adds its cache-buster to each request).
    fn request_target(&self, transport: Transport, sid: Option<&str>) -> String {
        let mut target = format!(
            "{}?EIO=4&transport={}",
            self.config.path,
            transport.as_str()
        );
        if !self.config.query.is_empty() {
            target.push('&');
            target.push_str(&self.config.query);
        }
        if let Some(sid) = sid {
            target.push_str("&sid=");
            target.push_str(sid);
        }
        target
    }

    fn start_link(&mut self, now: Instant) {
        let id = ConnId(self.next_conn);
        let first = self
            .config
            .transports
            .first()
            .copied()
            .unwrap_or(Transport::Polling);
        let carrier = match first {
            Transport::Websocket => {
                self.next_conn = self.next_conn.wrapping_add(1);
                self.outputs.push_back(Output::Connect { conn: id });
                Carrier::Ws { conn: id, ws: None }
            }
            Transport::Polling => {
                let target = self.request_target(Transport::Polling, None);
                let mut polling = PollingLink::new(
                    self.config.host.clone(),
                    target,
                    self.rng.next_u64(),
                    self.config.http_limits,
                    self.config.max_payload_packets,
                );
                polling.poll(&mut Io {
                    outputs: &mut self.outputs,
                    next_conn: &mut self.next_conn,
                });
                Carrier::Polling(alloc::boxed::Box::new(polling))
            }
        };
        self.link = Some(Link {
            id,
            carrier,
            session: None,
            probe: None,
            upgrading: false,
            held: Vec::new(),
            open_deadline: now.checked_add(self.config.timeout),
            decoder: packet::Decoder::new(self.config.packet_limits),
        });
    }

    /// Runs `f` on the link's polling transport with the outputs; gives
    /// the link's id with its result, or `None` without a polling link.
    fn on_polling<R>(
        &mut self,
        f: impl FnOnce(&mut PollingLink, &mut Io<'_>) -> R,
    ) -> Option<(ConnId, R)> {
        let Client {
            link,
            outputs,
            next_conn,
            ..
        } = self;
        let link = link.as_mut()?;
        let link_id = link.id;
        let polling = link.polling()?;
        Some((link_id, f(polling, &mut Io { outputs, next_conn })))
    }

    /// Handles what the polling transport of link `link_id` produced.
    fn on_polled(&mut self, now: Instant, link_id: ConnId, results: Vec<Polled>) {
        for polled in results {
            let current = |client: &Self| client.link.as_ref().is_some_and(|l| l.id == link_id);
            if !current(self) {
                return;
            }
            match polled {
                Polled::Packets(packets) => {
                    for packet in packets {
                        if !current(self) {
                            return;
                        }
                        self.on_engine_packet(now, packet);
                    }
                    let Client {
                        link,
                        outputs,
                        next_conn,
                        ..
                    } = self;
                    let Some(link) = link.as_mut().filter(|link| link.id == link_id) else {
                        return;
                    };
                    if !link.upgrading && link.session.is_some() {
                        if let Some(polling) = link.polling() {
                            polling.poll(&mut Io { outputs, next_conn });
                        }
                    }
                    self.finish_upgrade();
                }
                Polled::Drained => self.finish_upgrade(),
                Polled::Fault(message) => {
                    if self.is_open() {
                        self.lose_link(now, DisconnectReason::TransportError, true);
                    } else {
                        self.fail_open(now, message);
                    }
                    return;
                }
            }
        }
    }

    // ----- the upgrade -----

    /// After the open packet on polling: probe a WebSocket when the server
    /// offers one and the options allow it.
    fn maybe_probe(&mut self, upgrades: &[String]) {
        let wanted = self.config.upgrade
            && self.config.transports.contains(&Transport::Websocket)
            && upgrades.iter().any(|name| name == "websocket");
        let Some(link) = self.link.as_mut() else {
            return;
        };
        if !wanted || link.probe.is_some() || !matches!(link.carrier, Carrier::Polling(_)) {
            return;
        }
        let conn = ConnId(self.next_conn);
        self.next_conn = self.next_conn.wrapping_add(1);
        link.probe = Some(Probe { conn, ws: None });
        self.outputs.push_back(Output::Connect { conn });
    }

    fn probe_data(&mut self, now: Instant, conn: ConnId, data: &[u8]) {
        let Some(Some(ws)) = self
            .link
            .as_mut()
            .and_then(|link| link.probe.as_mut())
            .map(|probe| probe.ws.as_mut())
        else {
            return;
        };
        match ws.feed(data) {
            Err(_) => {
                self.drop_probe();
                return;
            }
            Ok(true) => {
                let probe = engine::Packet::Ping(ByteString::from_static("probe"));
                self.send_frame_on(conn, OpCode::Text, &probe.to_text());
            }
            Ok(false) => {}
        }
        loop {
            let Some(Some(ws)) = self
                .link
                .as_mut()
                .and_then(|link| link.probe.as_mut())
                .map(|probe| probe.ws.as_mut())
            else {
                // Upgraded: the rest is the carrier's.
                if self.upgraded_conn() == Some(conn) {
                    self.read_messages(now, conn);
                }
                return;
            };
            match ws.poll() {
                Ok(None) => return,
                Ok(Some(Message::Text(text))) if &*text == "3probe" => {
                    if let Some(link) = self.link.as_mut() {
                        link.upgrading = true;
                    }
                    self.finish_upgrade();
                }
                Ok(Some(Message::Ping(payload))) => {
                    self.send_frame_on(conn, OpCode::Pong, &payload);
                }
                Ok(Some(Message::Pong(_))) => {}
                Ok(Some(_)) | Err(_) => {
                    self.drop_probe();
                    return;
                }
            }
        }
    }

    /// Once the probe is answered and polling is idle: `5` on the
    /// WebSocket, which carries everything from then on (the reference's
    /// `pause` callback).
    fn finish_upgrade(&mut self) {
        let Some(link) = self.link.as_mut() else {
            return;
        };
        let idle = link.polling().is_some_and(|polling| polling.is_idle());
        let probe_up = matches!(link.probe, Some(Probe { ws: Some(_), .. }));
        if !link.upgrading || !idle || !probe_up {
            return;
        }
        let Some(Probe { conn, ws: Some(ws) }) = link.probe.take() else {
            return;
        };
        let old = core::mem::replace(&mut link.carrier, Carrier::Ws { conn, ws: Some(ws) });
        if let Carrier::Polling(polling) = old {
            for conn in polling.conns() {
                self.outputs.push_back(Output::Close { conn });
            }
        }
        link.upgrading = false;
        let held = core::mem::take(&mut link.held);
        self.send_engine(&[engine::Packet::Upgrade]);
        if !held.is_empty() {
            self.send_engine(&held);
        }
        self.event(ClientEvent::Upgraded);
    }

    /// The probe failed. Before `3probe` polling goes on. After it, as
    /// engine.io-client (whose `upgrading` stays set and whose polling stays
    /// paused): no new request, writes stay held, and the ping deadline
    /// ends the connection ("ping timeout"), then reconnection.
    fn drop_probe(&mut self) {
        let Client {
            link,
            outputs,
            next_conn,
            ..
        } = self;
        let Some(link) = link.as_mut() else {
            return;
        };
        let Some(probe) = link.probe.take() else {
            return;
        };
        outputs.push_back(Output::Close { conn: probe.conn });
        if link.upgrading {
            return;
        }
        let held = core::mem::take(&mut link.held);
        if let Some(polling) = link.polling() {
            if !held.is_empty() {
                polling.write(&held, &mut Io { outputs, next_conn });
            }
        }
    }

    /// Reads every whole message the link holds.
    fn read_messages(&mut self, now: Instant, conn: ConnId) {
        loop {
            let Some(Link {
                carrier:
                    Carrier::Ws {
                        conn: carrier,
                        ws: Some(ws),
                    },
                ..
            }) = self.link.as_mut()
            else {
                return;
            };
            if *carrier != conn {
                return;
            }
            let polled = ws.poll();
            match polled {
                Ok(None) => return,
                Ok(Some(message)) => self.on_ws_message(now, message),
                Err(err) => {
                    self.send_close_frame(err.close_code());
                    self.on_transport_fault(now, DisconnectReason::TransportError);
                }
            }
        }
    }

    fn on_ws_message(&mut self, now: Instant, message: Message) {
        match message {
            Message::Text(text) => match engine::Packet::decode_text(text) {
                Ok(packet) => self.on_engine_packet(now, packet),
                Err(_) => self.on_transport_fault(now, DisconnectReason::TransportError),
            },
            Message::Binary(data) => self.on_engine_packet(now, engine::Packet::Binary(data)),
            Message::Ping(payload) => self.send_frame(OpCode::Pong, &payload),
            Message::Pong(_) => {}
            Message::Close(frame) => {
                let code = frame.map_or(1000, |frame| frame.code);
                self.send_close_frame(code);
                self.on_transport_fault(now, DisconnectReason::TransportClose);
            }
        }
    }

    fn on_engine_packet(&mut self, now: Instant, packet: engine::Packet) {
        if !self.is_open() {
            self.on_first_packet(now, packet);
            return;
        }
        match packet {
            engine::Packet::Ping(_) => {
                if let Some(session) = self.link.as_mut().and_then(|link| link.session.as_mut()) {
                    session.ping_deadline = now + session.ping_window;
                }
                // A bare `3`, as the reference client answers.
                self.send_engine(&[engine::Packet::Pong(ByteString::new())]);
            }
            engine::Packet::Message(text) => {
                let decoded = self.decoder().map(|d| d.decode_text(text));
                self.on_decoded(now, decoded);
            }
            engine::Packet::Binary(data) => {
                let decoded = self.decoder().map(|d| d.decode_binary(data));
                self.on_decoded(now, decoded);
            }
            engine::Packet::Close => {
                self.on_transport_fault(now, DisconnectReason::TransportClose);
            }
            engine::Packet::Open(_)
            | engine::Packet::Pong(_)
            | engine::Packet::Upgrade
            | engine::Packet::Noop => {}
        }
    }

    /// The first Engine.IO packet must be the open packet.
    fn on_first_packet(&mut self, now: Instant, packet: engine::Packet) {
        let engine::Packet::Open(json) = packet else {
            self.fail_open(now, "transport error");
            return;
        };
        let Ok(handshake) = Handshake::from_json(&json) else {
            self.fail_open(now, "parse error");
            return;
        };
        let Some(link) = self.link.as_mut() else {
            return;
        };
        let ping_window = Duration::from_millis(handshake.ping_interval)
            .saturating_add(Duration::from_millis(handshake.ping_timeout));
        link.session = Some(Session {
            sid: handshake.sid.clone(),
            ping_deadline: now + ping_window,
            ping_window,
        });
        link.open_deadline = None;
        if let Some(polling) = link.polling() {
            polling.set_session(&handshake.sid, handshake.max_payload);
        }
        self.on_open(handshake.sid);
        self.maybe_probe(&handshake.upgrades);
    }

    /// The manager's `onopen` then, for a reconnection, `onreconnect`.
    fn on_open(&mut self, sid: String) {
        self.event(ClientEvent::Open { sid });
        for index in 0..self.namespaces.len() {
            if self.namespaces.get(index).is_some_and(Namespace::is_active) {
                self.send_connect(index);
            }
        }
        if self.reconnecting {
            let attempt = self.backoff.attempts();
            self.reconnecting = false;
            self.backoff.reset();
            self.event(ClientEvent::Reconnected { attempt });
        }
    }

    /// An attempt failed before its open packet.
    fn fail_open(&mut self, now: Instant, message: &'static str) {
        if let Some(link) = self.link.take() {
            for conn in link.conns() {
                self.outputs.push_back(Output::Close { conn });
            }
        }
        self.event(ClientEvent::OpenError { message });
        if self.reconnecting {
            self.reconnecting = false;
            self.reconnect(now);
        } else if self.backoff.attempts() == 0 {
            self.reconnect(now);
        }
    }

    /// A fault on the link: before the open packet the attempt fails, after
    /// it the connection is lost.
    fn on_transport_fault(&mut self, now: Instant, reason: DisconnectReason) {
        if self.is_open() {
            self.lose_link(now, reason, true);
        } else {
            self.fail_open(now, reason.as_str());
        }
    }

    /// The open connection is gone (the manager's `onclose`). `close_conn`:
    /// the driver must still close the TCP connection.
    fn lose_link(&mut self, now: Instant, reason: DisconnectReason, close_conn: bool) {
        let Some(link) = self.link.take() else {
            return;
        };
        let carrier_conn = match &link.carrier {
            Carrier::Ws { conn, .. } => Some(*conn),
            Carrier::Polling(_) => None,
        };
        for conn in link.conns() {
            if close_conn || Some(conn) != carrier_conn {
                self.outputs.push_back(Output::Close { conn });
            }
        }
        self.event(ClientEvent::Closed { reason });
        self.reset_namespaces(reason);
        self.backoff.reset();
        if reason.reconnects() {
            self.reconnect(now);
        }
    }

    /// Every namespace waits for the next connection; the connected ones
    /// hear why they are not any more.
    fn reset_namespaces(&mut self, reason: DisconnectReason) {
        let mut events = Vec::new();
        let retries = self.config.retries;
        for ns in self.namespaces.iter_mut().filter(|ns| ns.is_active()) {
            let was_connected = ns.is_connected();
            ns.state = NsState::Waiting;
            cancel_sent_acks(ns, retries, &mut events);
            if was_connected {
                events.push(ClientEvent::Disconnected {
                    nsp: ns.name.clone(),
                    reason,
                });
            }
        }
        for event in events {
            self.event(event);
        }
    }

    /// The manager's `reconnect`: schedules the next attempt, or gives up.
    fn reconnect(&mut self, now: Instant) {
        if self.reconnecting || self.skip_reconnect || !self.config.reconnection {
            return;
        }
        let exhausted = self
            .config
            .reconnection_attempts
            .is_some_and(|max| self.backoff.attempts() >= max);
        if exhausted {
            self.backoff.reset();
            self.event(ClientEvent::ReconnectFailed);
            return;
        }
        let delay = self.backoff.duration(&mut self.rng);
        self.reconnecting = true;
        self.reconnect_at = Some(now + delay);
    }

    /// The manager's `_close`: no more reconnection, the link closed.
    fn close_manager(&mut self, reason: DisconnectReason) {
        self.skip_reconnect = true;
        self.reconnecting = false;
        self.reconnect_at = None;
        self.backoff.reset();
        let was_open = self.is_open();
        self.send_close_frame(1000);
        let Client {
            link,
            outputs,
            next_conn,
            ..
        } = self;
        let mut pending_get = None;
        if let Some(link) = link.as_mut() {
            // Closing abandons an upgrade: what waited for it goes on the
            // polling POST, ahead of the close.
            let held = core::mem::take(&mut link.held);
            if let Some(polling) = link.polling() {
                polling.write_close(&held, &mut Io { outputs, next_conn });
                pending_get = polling.pending_get();
            }
        }
        let Some(link) = self.link.take() else {
            return;
        };
        for conn in link.conns() {
            self.outputs.push_back(if Some(conn) == pending_get {
                Output::Linger {
                    conn,
                    grace: CLOSE_LINGER,
                }
            } else {
                Output::Close { conn }
            });
        }
        if was_open {
            self.event(ClientEvent::Closed { reason });
            self.reset_namespaces(reason);
        }
    }

    // ----- namespaces -----

    fn namespace_index(&self, nsp: &str) -> Option<usize> {
        self.namespaces.iter().position(|ns| &*ns.name == nsp)
    }

    fn namespace(&self, nsp: &str) -> Option<&Namespace> {
        self.namespaces.iter().find(|ns| &*ns.name == nsp)
    }

    fn send_connect(&mut self, index: usize) {
        let Some(ns) = self.namespaces.get_mut(index) else {
            return;
        };
        ns.state = NsState::Connecting;
        let packet = Packet::connect(ns.name.clone(), ns.auth.clone());
        self.send_packet(&packet);
    }

    /// Makes a namespace dormant (the reference socket's `destroy`): the
    /// acks of events that went out are cancelled, and with `reason` a
    /// connected one hears it; what is buffered stays for a later
    /// [`Client::connect`], as in the reference. With no active namespace
    /// left, the manager closes.
    fn drop_namespace(&mut self, index: usize, reason: Option<DisconnectReason>) {
        let retries = self.config.retries;
        let Some(ns) = self.namespaces.get_mut(index) else {
            return;
        };
        let was_connected = ns.is_connected();
        ns.state = NsState::Dormant;
        let mut events = Vec::new();
        cancel_sent_acks(ns, retries, &mut events);
        if let Some(reason) = reason.filter(|_| was_connected) {
            let nsp = ns.name.clone();
            events.push(ClientEvent::Disconnected { nsp, reason });
        }
        for event in events {
            self.event(event);
        }
        if !self.namespaces.iter().any(Namespace::is_active) {
            self.close_manager(DisconnectReason::ForcedClose);
        }
    }

    fn decoder(&mut self) -> Option<&mut packet::Decoder> {
        self.link.as_mut().map(|link| &mut link.decoder)
    }

    fn on_decoded(
        &mut self,
        now: Instant,
        decoded: Option<Result<Option<Packet>, packet::PacketError>>,
    ) {
        match decoded {
            Some(Ok(Some(packet))) => self.on_packet(now, packet),
            Some(Ok(None)) | None => {}
            Some(Err(_)) => {
                self.send_close_frame(1000);
                self.lose_link(now, DisconnectReason::ParseError, true);
            }
        }
    }

    fn on_packet(&mut self, now: Instant, packet: Packet) {
        let Some(index) = self.namespace_index(&packet.nsp) else {
            return;
        };
        if !self.namespaces.get(index).is_some_and(Namespace::is_active) {
            // Left (or refused) meanwhile: whatever the server still says is stale.
            return;
        }
        match packet.kind {
            PacketType::Connect => self.on_connect_reply(now, index, packet),
            PacketType::ConnectError => self.on_connect_error(index, packet),
            PacketType::Disconnect => {
                self.drop_namespace(index, Some(DisconnectReason::IoServerDisconnect));
            }
            PacketType::Event | PacketType::BinaryEvent => self.on_event(index, packet),
            PacketType::Ack | PacketType::BinaryAck => self.on_ack(now, index, packet),
        }
    }

    fn on_connect_reply(&mut self, now: Instant, index: usize, packet: Packet) {
        let sid = packet.data.as_ref().and_then(connect_reply_sid);
        let Some(sid) = sid else {
            // The reference client's words for a v2 server's answer.
            let message = String::from(
                "It seems you are trying to reach a Socket.IO server in v2.x with a v3.x client, but they are not compatible (more information here: https://socket.io/docs/v3/migrating-from-2-x-to-3-0/)",
            );
            let nsp = packet.nsp;
            self.drop_namespace(index, None);
            self.event(ClientEvent::ConnectError {
                nsp,
                message,
                data: None,
            });
            return;
        };
        let Some(ns) = self.namespaces.get_mut(index) else {
            return;
        };
        if ns.is_connected() {
            return;
        }
        ns.state = NsState::Connected { sid: sid.clone() };
        let buffered: Vec<Packet> = ns.buffer.drain(..).collect();
        for id in buffered.iter().filter_map(|packet| packet.id) {
            if let Some(ack) = ns.acks.get_mut(&id) {
                ack.sent = true;
            }
        }
        let nsp = ns.name.clone();
        self.event(ClientEvent::Connected { nsp, sid });
        for packet in &buffered {
            self.send_packet(packet);
        }
        self.drain_queue(now, index, true);
    }

    fn on_connect_error(&mut self, index: usize, packet: Packet) {
        let (message, data) = match &packet.data {
            Some(data) => connect_error_fields(data),
            None => (String::new(), None),
        };
        self.drop_namespace(index, None);
        self.event(ClientEvent::ConnectError {
            nsp: packet.nsp,
            message,
            data,
        });
    }

    fn on_event(&mut self, index: usize, packet: Packet) {
        let connected = self
            .namespaces
            .get(index)
            .is_some_and(Namespace::is_connected);
        let Some(data) = packet.data.filter(|_| connected) else {
            return;
        };
        self.event(ClientEvent::Event {
            nsp: packet.nsp,
            data,
            attachments: packet.attachments,
            ack: packet.id,
        });
    }

    fn on_ack(&mut self, now: Instant, index: usize, packet: Packet) {
        let Some(id) = packet.id else {
            return;
        };
        let Some(ns) = self.namespaces.get_mut(index) else {
            return;
        };
        if let Some(queued) = ns.retry.acked(id) {
            ns.acks.remove(&id);
            if queued.wants_ack {
                let data = packet
                    .data
                    .unwrap_or_else(|| RawJson::from_trusted(ByteString::from_static("[]")));
                self.event(ClientEvent::Ack {
                    nsp: packet.nsp,
                    id: queued.user_id(),
                    data,
                    attachments: packet.attachments,
                });
            }
            self.drain_queue(now, index, false);
            return;
        }
        if ns.acks.remove(&id).is_none() {
            return;
        }
        let data = packet
            .data
            .unwrap_or_else(|| RawJson::from_trusted(ByteString::from_static("[]")));
        self.event(ClientEvent::Ack {
            nsp: packet.nsp,
            id,
            data,
            attachments: packet.attachments,
        });
    }

    // ----- writing -----

    fn event(&mut self, event: ClientEvent) {
        self.outputs.push_back(Output::Event(event));
    }

    fn send_packet(&mut self, packet: &Packet) {
        let mut messages = core::mem::take(&mut self.scratch);
        messages.clear();
        JsonParser.encode(packet, &mut messages);
        self.send_engine(&messages);
        messages.clear();
        self.scratch = messages;
    }

    /// Engine.IO packets on the carrier: masked frames in one transmit, or
    /// the next POST; held while an upgrade completes.
    fn send_engine(&mut self, packets: &[engine::Packet]) {
        let max_held = self.config.max_buffered_emits;
        let Client {
            link,
            outputs,
            next_conn,
            ..
        } = self;
        let Some(link) = link.as_mut() else {
            return;
        };
        if link.upgrading {
            // With the probe gone (see `drop_probe`) nothing held is ever
            // sent: past the bound, later packets are dropped at once
            // rather than at the ping timeout.
            let frozen = link.probe.is_none();
            if !frozen || link.held.len() < max_held {
                link.held.extend_from_slice(packets);
            }
            return;
        }
        if let Some(polling) = link.polling() {
            polling.write(packets, &mut Io { outputs, next_conn });
            return;
        }
        let Some(conn) = self.upgraded_conn() else {
            return;
        };
        let mut out = BytesMut::new();
        for packet in packets {
            let mask = self.rng.next_u32().to_ne_bytes();
            match packet {
                engine::Packet::Binary(data) => write_frame(&mut out, OpCode::Binary, data, mask),
                text => write_frame(&mut out, OpCode::Text, &text.to_text(), mask),
            }
        }
        self.outputs.push_back(Output::Transmit {
            conn,
            data: out.freeze(),
        });
    }

    fn send_frame(&mut self, opcode: OpCode, payload: &[u8]) {
        if let Some(conn) = self.upgraded_conn() {
            self.send_frame_on(conn, opcode, payload);
        }
    }

    fn send_frame_on(&mut self, conn: ConnId, opcode: OpCode, payload: &[u8]) {
        let mut out = BytesMut::new();
        write_frame(&mut out, opcode, payload, self.rng.next_u32().to_ne_bytes());
        self.outputs.push_back(Output::Transmit {
            conn,
            data: out.freeze(),
        });
    }

    fn send_close_frame(&mut self, code: u16) {
        let payload = websocket::frame::close_payload(code, "");
        self.send_frame(OpCode::Close, &payload);
    }

    /// The connection, once its WebSocket is up.
    fn upgraded_conn(&self) -> Option<ConnId> {
        match &self.link.as_ref()?.carrier {
            Carrier::Ws { conn, ws: Some(ws) } if ws.is_upgraded() => Some(*conn),
            _ => None,
        }
    }
}

/// Cancels the acks of `ns`'s events that went out: no answer will come.
/// Under `retries`, the attempt out fails as on a lost connection.
fn cancel_sent_acks(ns: &mut Namespace, retries: u32, events: &mut Vec<ClientEvent>) {
    for id in ns.take_sent_acks() {
        let cancelled = match ns.retry.failed(id, Failure::Disconnected, retries) {
            None => Some(id),
            Some(AfterFailure::Dropped { user_id }) => user_id,
            Some(_) => None,
        };
        if let Some(id) = cancelled {
            events.push(ClientEvent::AckCancelled {
                nsp: ns.name.clone(),
                id,
            });
        }
    }
}

/// The `sid` of a CONNECT reply `{"sid":"..."}`.
fn connect_reply_sid(data: &RawJson) -> Option<ByteString> {
    #[derive(Deserialize)]
    struct Reply {
        sid: String,
    }
    let reply: Reply = serde_json::from_str(data.as_str()).ok()?;
    Some(ByteString::from(reply.sid))
}

/// A CONNECT_ERROR's message and data: `{"message":..., "data":...}`, or a
/// bare string (older servers).
fn connect_error_fields(data: &RawJson) -> (String, Option<RawJson>) {
    #[derive(Deserialize)]
    struct ErrorJson<'a> {
        #[serde(default)]
        message: Option<String>,
        #[serde(borrow, default)]
        data: Option<&'a serde_json::value::RawValue>,
    }
    if let Ok(message) = serde_json::from_str::<String>(data.as_str()) {
        return (message, None);
    }
    let Ok(error) = serde_json::from_str::<ErrorJson<'_>>(data.as_str()) else {
        return (String::new(), None);
    };
    let text = data.clone().into_inner();
    let extra = error
        .data
        .map(|raw| RawJson::from_trusted(text.slice_ref(raw.get())));
    (error.message.unwrap_or_default(), extra)
}
