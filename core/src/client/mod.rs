//! The Socket.IO client, sans-IO: socket.io-client's `Manager` (one
//! Engine.IO connection, reconnection with backoff) and its `Socket`s (one
//! per namespace, multiplexed on that connection), as one state machine.
//!
//! The transport is a WebSocket (`/socket.io/?EIO=4&transport=websocket`).
//! The driver opens a TCP connection when told ([`Output::Connect`]),
//! reports it ([`Client::handle_connected`]), writes what
//! [`Output::Transmit`] holds (the upgrade request, then masked frames),
//! feeds everything it reads to [`Client::handle_data`], and closes the
//! connection on [`Output::Close`]. Everything else (handshake, heartbeat,
//! namespaces, acks, reconnection) happens here, run as every state
//! machine of the crate: after each input, drain [`Client::poll_output`]
//! until [`Output::Timeout`], and call [`Client::handle_timeout`] at that
//! instant.
//!
//! Behaviour follows the reference client (npm `socket.io-client` 4.x,
//! `engine.io-client` 6.x):
//!
//! - Heartbeat: every server ping is answered with a pong; no ping within
//!   `pingInterval + pingTimeout` of the open packet or of the last ping
//!   closes the connection with "ping timeout".
//! - The connection attempt must reach the open packet within
//!   [`Config::timeout`], else it counts as failed ("timeout").
//! - Reconnection: after a connection is lost (or the first attempt
//!   fails), attempts follow `backo2` delays; every namespace still wanted
//!   sends its CONNECT again (with its auth) once the new connection is
//!   open. A namespace the server disconnected, that got a CONNECT_ERROR,
//!   or that the application left is not reconnected; when no namespace is
//!   left, the connection is closed, as the reference manager does.
//! - Emits while a namespace is not connected are buffered and sent in
//!   order once it is; volatile emits are dropped instead.
//! - Acks: ids count from 0 per namespace; a deadline yields
//!   [`ClientEvent::AckTimeout`] (and drops the event if it never went
//!   out); an event sent on a connection that is then lost gets
//!   [`ClientEvent::AckCancelled`] (the reference: "socket has been
//!   disconnected").
//!
//! Not done here: HTTP long-polling and the upgrade from it, the
//! `retries` / `ackTimeout` options, connection state recovery, custom
//! parsers (JSON only).

mod backoff;
mod config;
mod namespace;
mod types;
mod ws;

pub use config::Config;
pub use types::{ClientError, ClientEvent, ConnId, DisconnectReason, EmitOptions, Output};

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
use ws::{write_frame, HeadFault, WsLink};

/// How far the current connection got.
#[derive(Debug)]
enum Stage {
    /// TCP requested, not reported yet.
    Connecting,
    /// Upgrade request sent, waiting for the `101` and the open packet.
    Opening(WsLink),
    /// Open packet read.
    Open {
        ws: WsLink,
        sid: String,
        /// No ping by then: "ping timeout".
        ping_deadline: Instant,
        /// `pingInterval + pingTimeout`.
        ping_window: Duration,
    },
}

/// The current connection attempt or connection.
#[derive(Debug)]
struct Link {
    conn: ConnId,
    stage: Stage,
    /// The attempt fails at this instant unless open by then.
    open_deadline: Option<Instant>,
    decoder: packet::Decoder,
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
        match &self.link.as_ref()?.stage {
            Stage::Open { sid, .. } => Some(sid),
            _ => None,
        }
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
        self.namespace(nsp).is_some()
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
        if self.namespace(nsp).is_some() {
            return Ok(());
        }
        self.namespaces
            .push(Namespace::new(ByteString::from(nsp), auth));
        if self.is_open() {
            let index = self.namespaces.len() - 1;
            self.send_connect(index);
        } else if self.link.is_none() && !self.reconnecting {
            self.skip_reconnect = false;
            self.start_link(now);
        }
        Ok(())
    }

    /// Leaves `nsp`: DISCONNECT if connected, then
    /// [`ClientEvent::Disconnected`] "io client disconnect". Its buffered
    /// emits are dropped and its acks cancelled. When it was the last
    /// namespace, the connection is closed (as the reference manager does).
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
    /// on `nsp`. Returns the ack id when an ack was asked for.
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
        let ns = self
            .namespaces
            .get_mut(index)
            .ok_or(ClientError::UnknownNamespace)?;
        let sends_now = open && ns.is_connected();
        let buffers = !sends_now && !options.volatile;
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
        let target = self.request_target();
        let Some(link) = self.link.as_mut().filter(|link| link.conn == conn) else {
            return;
        };
        if !matches!(link.stage, Stage::Connecting) {
            return;
        }
        let mut nonce = [0u8; 16];
        self.rng.fill_bytes(&mut nonce);
        let ws = WsLink::new(
            nonce,
            self.config.ws_limits,
            self.config.max_response_head_bytes,
        );
        let head = ws.request(&self.config.host, &target);
        link.stage = Stage::Opening(ws);
        self.outputs.push_back(Output::Transmit {
            conn,
            data: Bytes::from(head.into_bytes()),
        });
    }

    /// Input: bytes read from `conn`.
    pub fn handle_data(&mut self, now: Instant, conn: ConnId, data: &[u8]) {
        self.advance(now);
        let Some(link) = self.link.as_mut().filter(|link| link.conn == conn) else {
            return;
        };
        let fed = match &mut link.stage {
            Stage::Connecting => return,
            Stage::Opening(ws) | Stage::Open { ws, .. } => ws.feed(data),
        };
        if let Err(fault) = fed {
            let message = match fault {
                HeadFault::Refused(_) => "websocket error",
                HeadFault::TooLarge | HeadFault::Malformed => "transport error",
            };
            self.fail_open(now, message);
            return;
        }
        self.read_messages(now, conn);
    }

    /// Input: `conn` is closed (by the server, by an error, or after
    /// [`Output::Close`]), or could not be opened.
    pub fn handle_closed(&mut self, now: Instant, conn: ConnId) {
        self.advance(now);
        let Some(link) = self.link.as_ref().filter(|link| link.conn == conn) else {
            return;
        };
        if matches!(link.stage, Stage::Open { .. }) {
            self.lose_link(now, DisconnectReason::TransportClose, false);
        } else {
            self.fail_open(now, "websocket error");
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
        let due = matches!(
            self.link.as_ref().map(|link| &link.stage),
            Some(Stage::Open { ping_deadline, .. }) if *ping_deadline <= now
        );
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
        for ns in &mut self.namespaces {
            for id in ns.take_due_acks(now) {
                timed_out.push((ns.name.clone(), id));
            }
        }
        for (nsp, id) in timed_out {
            self.event(ClientEvent::AckTimeout { nsp, id });
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let link = self.link.as_ref();
        let ping = link.and_then(|link| match link.stage {
            Stage::Open { ping_deadline, .. } => Some(ping_deadline),
            _ => None,
        });
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
        matches!(
            self.link.as_ref().map(|link| &link.stage),
            Some(Stage::Open { .. })
        )
    }

    /// `/socket.io/?EIO=4&transport=websocket[&query]`.
    fn request_target(&self) -> String {
        let mut target = format!("{}?EIO=4&transport=websocket", self.config.path);
        if !self.config.query.is_empty() {
            target.push('&');
            target.push_str(&self.config.query);
        }
        target
    }

    fn start_link(&mut self, now: Instant) {
        let conn = ConnId(self.next_conn);
        self.next_conn = self.next_conn.wrapping_add(1);
        self.link = Some(Link {
            conn,
            stage: Stage::Connecting,
            open_deadline: now.checked_add(self.config.timeout),
            decoder: packet::Decoder::new(self.config.packet_limits),
        });
        self.outputs.push_back(Output::Connect { conn });
    }

    /// Reads every whole message the link holds.
    fn read_messages(&mut self, now: Instant, conn: ConnId) {
        loop {
            let Some(link) = self.link.as_mut().filter(|link| link.conn == conn) else {
                return;
            };
            let polled = match &mut link.stage {
                Stage::Connecting => return,
                Stage::Opening(ws) | Stage::Open { ws, .. } => ws.poll(),
            };
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
                if let Some(Stage::Open {
                    ping_deadline,
                    ping_window,
                    ..
                }) = self.link.as_mut().map(|link| &mut link.stage)
                {
                    *ping_deadline = now + *ping_window;
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
        let Some(link) = self.link.take() else {
            return;
        };
        let Stage::Opening(ws) = link.stage else {
            return;
        };
        let ping_window = Duration::from_millis(handshake.ping_interval)
            .saturating_add(Duration::from_millis(handshake.ping_timeout));
        self.link = Some(Link {
            stage: Stage::Open {
                ws,
                sid: handshake.sid.clone(),
                ping_deadline: now + ping_window,
                ping_window,
            },
            open_deadline: None,
            ..link
        });
        self.on_open(handshake.sid);
    }

    /// The manager's `onopen` then, for a reconnection, `onreconnect`.
    fn on_open(&mut self, sid: String) {
        self.event(ClientEvent::Open { sid });
        for index in 0..self.namespaces.len() {
            self.send_connect(index);
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
            self.outputs.push_back(Output::Close { conn: link.conn });
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
        if close_conn {
            self.outputs.push_back(Output::Close { conn: link.conn });
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
        for ns in &mut self.namespaces {
            let was_connected = ns.is_connected();
            ns.state = NsState::Waiting;
            for id in ns.take_sent_acks() {
                events.push(ClientEvent::AckCancelled {
                    nsp: ns.name.clone(),
                    id,
                });
            }
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
        let Some(link) = self.link.take() else {
            return;
        };
        let was_open = matches!(link.stage, Stage::Open { .. });
        if matches!(link.stage, Stage::Opening(_) | Stage::Open { .. }) {
            self.link = Some(link);
            self.send_close_frame(1000);
            let Some(link) = self.link.take() else {
                return;
            };
            self.outputs.push_back(Output::Close { conn: link.conn });
        } else {
            self.outputs.push_back(Output::Close { conn: link.conn });
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

    /// Forgets a namespace (the reference socket's `destroy`): its acks are
    /// cancelled, and with `reason` a connected one hears it. With no
    /// namespace left, the manager closes.
    fn drop_namespace(&mut self, index: usize, reason: Option<DisconnectReason>) {
        if index >= self.namespaces.len() {
            return;
        }
        let mut ns = self.namespaces.remove(index);
        for &id in ns.acks.keys() {
            let nsp = ns.name.clone();
            self.event(ClientEvent::AckCancelled { nsp, id });
        }
        ns.acks.clear();
        if let Some(reason) = reason.filter(|_| ns.is_connected()) {
            let nsp = ns.name;
            self.event(ClientEvent::Disconnected { nsp, reason });
        }
        if self.namespaces.is_empty() {
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
            Some(Ok(Some(packet))) => self.on_packet(packet),
            Some(Ok(None)) | None => {}
            Some(Err(_)) => {
                self.send_close_frame(1000);
                self.lose_link(now, DisconnectReason::ParseError, true);
            }
        }
    }

    fn on_packet(&mut self, packet: Packet) {
        let Some(index) = self.namespace_index(&packet.nsp) else {
            return;
        };
        match packet.kind {
            PacketType::Connect => self.on_connect_reply(index, packet),
            PacketType::ConnectError => self.on_connect_error(index, packet),
            PacketType::Disconnect => {
                self.drop_namespace(index, Some(DisconnectReason::IoServerDisconnect));
            }
            PacketType::Event | PacketType::BinaryEvent => self.on_event(index, packet),
            PacketType::Ack | PacketType::BinaryAck => self.on_ack(index, packet),
        }
    }

    fn on_connect_reply(&mut self, index: usize, packet: Packet) {
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

    fn on_ack(&mut self, index: usize, packet: Packet) {
        let Some(id) = packet.id else {
            return;
        };
        let Some(ns) = self.namespaces.get_mut(index) else {
            return;
        };
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

    /// Engine.IO packets as masked frames, in one transmit.
    fn send_engine(&mut self, packets: &[engine::Packet]) {
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
        let Some(conn) = self.upgraded_conn() else {
            return;
        };
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
        let link = self.link.as_ref()?;
        match &link.stage {
            Stage::Opening(ws) | Stage::Open { ws, .. } if ws.is_upgraded() => Some(link.conn),
            _ => None,
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
