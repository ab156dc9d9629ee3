//! The per-session state: transport, the packets waiting for a polling
//! GET, the held GET, the WebSocket (active or upgrading) and timers.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use bytes::{Bytes, BytesMut};

use super::config::Config;
use super::cors::Headers;
use super::packet::Packet;
use super::payload::{encode_payload, encoded_payload_len};
use super::server::{ConnId, HandshakeInfo, OutMessage, Transport};
use super::timer::SessionTimers;
use crate::wire::http::ContentCoding;
use crate::wire::ws::deflate::{Inflater, PerMessageDeflate};
use crate::wire::ws::frame::{server_frame, Decoder, Limits, OpCode, Role};

/// A packet waiting for the transport.
#[derive(Debug, Clone)]
pub(crate) enum Queued {
    /// An application message, with its ready-made WebSocket frame.
    Message(OutMessage),
    /// A packet of the protocol itself (ping, close, noop).
    Control(Packet),
}

impl Queued {
    /// Its polling form.
    pub(crate) fn to_packet(&self) -> Packet {
        match self {
            Queued::Message(msg) => msg.to_packet(),
            Queued::Control(packet) => packet.clone(),
        }
    }

    /// About how many bytes it takes queued.
    fn size(&self) -> usize {
        match self {
            Queued::Message(msg) => msg.ws_frame().len(),
            Queued::Control(_) => 1,
        }
    }

    /// Whether permessage-deflate may compress it.
    pub(crate) fn compress(&self) -> bool {
        match self {
            Queued::Message(msg) => msg.compress(),
            Queued::Control(_) => true,
        }
    }

    /// Its WebSocket frame.
    pub(crate) fn to_ws_frame(&self) -> Bytes {
        match self {
            Queued::Message(msg) => msg.ws_frame().clone(),
            Queued::Control(packet) => packet_frame(packet),
        }
    }
}

/// A WebSocket server frame holding `packet`.
pub(crate) fn packet_frame(packet: &Packet) -> Bytes {
    match packet {
        Packet::Binary(data) => server_frame(OpCode::Binary, data),
        other => server_frame(OpCode::Text, &other.to_text()),
    }
}

/// The body of a polling response holding every queued packet, which are
/// taken out of `queue`. A lone text message is sliced out of its
/// WebSocket frame without a copy.
pub(crate) fn take_poll_body(queue: &mut VecDeque<Queued>) -> Bytes {
    if queue.len() == 1 {
        if let Some(Queued::Message(msg)) = queue.front() {
            if let Some(text) = msg.text_form() {
                queue.clear();
                return text;
            }
        }
    }
    let packets: alloc::vec::Vec<Packet> = queue.drain(..).map(|q| q.to_packet()).collect();
    let mut body = BytesMut::with_capacity(encoded_payload_len(&packets));
    encode_payload(&packets, &mut body);
    body.freeze()
}

/// Packets waiting for a polling GET (or for an upgrade to finish), and
/// about how many bytes they take. Boxed, made by the first packet and
/// dropped once drained: a WebSocket session queues nothing, and every
/// session carries the field.
#[derive(Debug, Default)]
pub(crate) struct PollQueue(Option<Box<(VecDeque<Queued>, usize)>>);

impl PollQueue {
    pub(crate) fn push(&mut self, queued: Queued) {
        let (queue, bytes) = &mut **self.0.get_or_insert_with(Box::default);
        *bytes = bytes.saturating_add(queued.size());
        queue.push_back(queued);
    }

    pub(crate) fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |q| q.0.len())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// About how many bytes the packets take.
    pub(crate) fn bytes(&self) -> usize {
        self.0.as_ref().map_or(0, |q| q.1)
    }

    /// Takes the last packet out (its bytes stay counted until drained).
    pub(crate) fn pop_back(&mut self) -> Option<Queued> {
        let queued = self.0.as_mut()?.0.pop_back();
        if self.is_empty() {
            self.0 = None;
        }
        queued
    }

    /// Takes every packet out.
    pub(crate) fn take(&mut self) -> VecDeque<Queued> {
        self.0.take().map(|q| q.0).unwrap_or_default()
    }
}

/// One WebSocket connection of a session.
#[derive(Debug)]
pub(crate) struct WsLink {
    /// The driver's id for it.
    pub(crate) conn: ConnId,
    /// Its frame decoder.
    pub(crate) decoder: Decoder,
    /// Transmits the driver has not reported written yet, and their bytes.
    pub(crate) unwritten_frames: usize,
    pub(crate) unwritten_bytes: usize,
    /// With permessage-deflate: compresses what goes out (its inflater is
    /// the decoder's).
    pub(crate) deflate: Option<Box<PerMessageDeflate>>,
}

impl WsLink {
    /// A link on `conn` taking messages of at most `max_message_bytes`
    /// (once inflated), with the permessage-deflate codec if negotiated.
    pub(crate) fn new(
        conn: ConnId,
        max_message_bytes: usize,
        deflate: Option<(PerMessageDeflate, Inflater)>,
    ) -> Self {
        let limits = Limits { max_message_bytes };
        let (decoder, deflate) = match deflate {
            Some((codec, inflater)) => (
                Decoder::with_inflater(Role::Server, limits, inflater),
                Some(Box::new(codec)),
            ),
            None => (Decoder::new(Role::Server, limits), None),
        };
        WsLink {
            conn,
            decoder,
            unwritten_frames: 0,
            unwritten_bytes: 0,
            deflate,
        }
    }

    /// Whether its backlog passed a bound of `config`. One message larger
    /// than the byte bound alone is not a backlog: it may go out.
    pub(crate) fn is_over(&self, config: &Config) -> bool {
        self.unwritten_frames > config.max_buffered_packets
            || (self.unwritten_bytes > config.max_buffered_bytes && self.unwritten_frames > 1)
    }
}

/// A polling GET waiting for data.
#[derive(Debug)]
pub(crate) struct HeldGet {
    /// The request.
    pub(crate) conn: ConnId,
    /// Headers its answer carries (cache control, CORS), computed from the
    /// request while it was at hand.
    pub(crate) headers: Headers,
    /// The coding its answer may be compressed with (`httpCompression`).
    pub(crate) coding: Option<ContentCoding>,
}

impl HeldGet {
    /// The same GET, its answer never compressed unless `compress`.
    pub(crate) fn compressible(mut self, compress: bool) -> HeldGet {
        if !compress {
            self.coding = None;
        }
        self
    }
}

/// A WebSocket on which a polling session is upgrading.
#[derive(Debug)]
pub(crate) struct Upgrade {
    /// The new connection.
    pub(crate) link: WsLink,
    /// Whether `2probe` came: polling is paused from then on.
    pub(crate) probed: bool,
}

/// One session.
#[derive(Debug)]
pub(crate) struct Session {
    /// What the handshake carried; shared with the driver's sockets of the
    /// session rather than copied into each.
    pub(crate) info: alloc::sync::Arc<HandshakeInfo>,
    /// The transport packets travel on now.
    pub(crate) transport: Transport,
    /// Closed by the server, waiting for a GET to take the close packet.
    pub(crate) lingering: bool,
    /// Packets waiting for a polling GET (or for the upgrade to finish).
    pub(crate) queue: PollQueue,
    /// The polling GET waiting for data (boxed: a WebSocket session never
    /// has one).
    pub(crate) held_get: Option<Box<HeldGet>>,
    /// Listed for a flush to the held GET.
    pub(crate) dirty: bool,
    /// The WebSocket when `transport` is WebSocket.
    pub(crate) ws: Option<WsLink>,
    /// An upgrade in progress.
    /// Boxed: upgrades are short and rare, every session carries the field.
    pub(crate) upgrade: Option<alloc::boxed::Box<Upgrade>>,
    /// Deadlines.
    pub(crate) timers: SessionTimers,
}

impl Session {
    /// A new open session.
    pub(crate) fn new(info: HandshakeInfo, ws: Option<WsLink>) -> Self {
        Session {
            transport: info.transport,
            info: alloc::sync::Arc::new(info),
            lingering: false,
            queue: PollQueue::default(),
            held_get: None,
            dirty: false,
            ws,
            upgrade: None,
            timers: SessionTimers::default(),
        }
    }

    /// Queues `queued` for polling (or for the upgrade to finish).
    pub(crate) fn push(&mut self, queued: Queued) {
        self.queue.push(queued);
    }

    /// The body of a polling response holding everything queued.
    /// The queued packets as one polling body, and whether it may be
    /// HTTP-compressed: not when every packet is an uncompressed message
    /// (Node compresses a payload when any of its packets may be).
    pub(crate) fn take_poll_body(&mut self) -> (Bytes, bool) {
        let mut queue = self.queue.take();
        let compress = queue.iter().any(Queued::compress);
        (take_poll_body(&mut queue), compress)
    }

    /// Whether polling is paused because the client probed a WebSocket.
    pub(crate) fn polling_paused(&self) -> bool {
        self.upgrade.as_ref().is_some_and(|u| u.probed)
    }

    /// The link on `conn`, active or upgrading, and whether it is the
    /// upgrading one.
    pub(crate) fn link_mut(&mut self, conn: ConnId) -> Option<(&mut WsLink, bool)> {
        if let Some(link) = self.ws.as_mut().filter(|l| l.conn == conn) {
            return Some((link, false));
        }
        self.upgrade
            .as_mut()
            .map(|u| &mut u.link)
            .filter(|l| l.conn == conn)
            .map(|link| (link, true))
    }
}
