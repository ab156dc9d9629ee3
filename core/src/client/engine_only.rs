//! Engine.IO alone: [`EngineClient`], npm `engine.io-client`'s `Socket`.

use super::*;

/// Why [`EngineClient::send_text`] / [`EngineClient::send_binary`] sent nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendError {
    /// The connection is closed (it never reopens).
    Closed,
    /// [`Config::max_buffered_emits`] messages already wait for the open packet.
    BufferFull,
}

impl core::fmt::Display for SendError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            SendError::Closed => "the Engine.IO connection is closed",
            SendError::BufferFull => "too many messages wait for the connection to open",
        })
    }
}

#[cfg(feature = "std")]
impl std::error::Error for SendError {}

/// Engine.IO alone (npm `engine.io-client`'s `Socket`): the client's
/// connection, transports, upgrade and heartbeat with no Socket.IO on top.
/// The application's text and binary messages are the Engine.IO messages.
///
/// It is the same state machine as [`Client`] (one copy of the connection
/// code), run in a mode where incoming messages become
/// [`ClientEvent::Message`] / [`ClientEvent::BinaryMessage`] instead of
/// being decoded, no namespace exists, and there is no reconnection:
/// engine.io-client's socket is closed for good once it closes.
///
/// Events, in order: [`ClientEvent::Open`] (the open packet is then
/// [`EngineClient::handshake`]), messages, [`ClientEvent::Upgraded`], and
/// once [`ClientEvent::Closed`] with engine.io-client's reason ("transport
/// close", "transport error", "ping timeout", "forced close"). An attempt
/// that fails before its open packet gives [`ClientEvent::OpenError`],
/// then `Closed` with "transport error", as engine.io-client's `error`
/// then `close`.
///
/// Run it as [`Client`]: after each input, drain
/// [`EngineClient::poll_output`] until [`Output::Timeout`].
#[derive(Debug)]
pub struct EngineClient {
    inner: Client,
    /// [`EngineClient::open`] was called: a missing link now means closed.
    started: bool,
}

impl EngineClient {
    /// A client with `config` (its reconnection and Socket.IO options are
    /// not used; `path` is usually `/engine.io/`). `seed` as for
    /// [`Client::new`].
    pub fn new(mut config: Config, seed: [u8; 32]) -> Self {
        config.reconnection = false;
        let mut inner = Client::new(config, seed);
        inner.raw = Some(VecDeque::new());
        EngineClient {
            inner,
            started: false,
        }
    }

    /// Opens the connection (once: a closed client stays closed).
    pub fn open(&mut self, now: Instant) {
        if core::mem::replace(&mut self.started, true) {
            self.inner.advance(now);
            return;
        }
        self.inner.open(now);
    }

    /// The wall clock at `now`, for cookies' `Expires` (see
    /// [`Client::set_wall_clock`]).
    pub fn set_wall_clock(&mut self, now: Instant, unix_secs: u64) {
        self.inner.set_wall_clock(now, unix_secs);
    }

    /// Closes the connection: [`ClientEvent::Closed`] "forced close" (over
    /// long-polling a close packet goes out first, as engine.io-client does).
    pub fn close(&mut self, now: Instant) {
        self.started = true;
        self.inner.close(now);
    }

    /// Sends a text message, or buffers it until the open packet.
    pub fn send_text(&mut self, now: Instant, text: ByteString) -> Result<(), SendError> {
        self.send(now, engine::Packet::Message(text))
    }

    /// Sends a binary message, or buffers it until the open packet.
    pub fn send_binary(&mut self, now: Instant, data: Bytes) -> Result<(), SendError> {
        self.send(now, engine::Packet::Binary(data))
    }

    fn send(&mut self, now: Instant, packet: engine::Packet) -> Result<(), SendError> {
        self.inner.advance(now);
        if self.is_closed() {
            return Err(SendError::Closed);
        }
        if self.inner.is_open() {
            self.inner.send_engine(&[packet]);
            return Ok(());
        }
        let max = self.inner.config.max_buffered_emits;
        let buffer = self.inner.raw.get_or_insert_with(VecDeque::new);
        if buffer.len() >= max {
            return Err(SendError::BufferFull);
        }
        buffer.push_back(packet);
        Ok(())
    }

    /// Whether the connection is closed for good.
    pub fn is_closed(&self) -> bool {
        self.started && self.inner.link.is_none()
    }

    /// Whether the open packet came and the connection is not closed.
    pub fn is_open(&self) -> bool {
        self.inner.is_open()
    }

    /// The open packet (session id, upgrades, heartbeat, payload bound)
    /// while the connection is open.
    pub fn handshake(&self) -> Option<&OpenPacket> {
        Some(&self.inner.link.as_ref()?.session.as_ref()?.open)
    }

    /// The transport of the connection.
    pub fn transport(&self) -> Option<Transport> {
        self.inner.transport()
    }

    /// How many messages wait for the open packet (or for an upgrade).
    pub fn buffered_count(&self) -> usize {
        self.inner.raw.as_ref().map_or(0, VecDeque::len) + self.inner.held_count()
    }

    /// Input: the TCP connection `conn` is up.
    pub fn handle_connected(&mut self, now: Instant, conn: ConnId) {
        self.inner.handle_connected(now, conn);
    }

    /// Input: bytes read from `conn`.
    pub fn handle_data(&mut self, now: Instant, conn: ConnId, data: &[u8]) {
        self.inner.handle_data(now, conn, data);
    }

    /// Input: `conn` is closed, or could not be opened.
    pub fn handle_closed(&mut self, now: Instant, conn: ConnId) {
        self.inner.handle_closed(now, conn);
    }

    /// Input: the instant of the last [`Output::Timeout`] has come.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.inner.handle_timeout(now);
    }

    /// The next thing to do.
    pub fn poll_output(&mut self) -> Output {
        self.inner.poll_output()
    }
}

impl Client {
    /// Engine-only: what waited for the open packet goes out.
    pub(super) fn flush_raw(&mut self) {
        let Some(buffer) = self.raw.as_mut() else {
            return;
        };
        let packets: Vec<engine::Packet> = buffer.drain(..).collect();
        if !packets.is_empty() {
            self.send_engine(&packets);
        }
    }

    /// Engine-only: closed for good after a failed attempt.
    pub(super) fn close_raw(&mut self, reason: DisconnectReason) {
        self.skip_reconnect = true;
        if let Some(buffer) = self.raw.as_mut() {
            buffer.clear();
        }
        self.event(ClientEvent::Closed { reason });
    }
}
