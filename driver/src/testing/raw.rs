//! [`RawClient`]: a Socket.IO client over a pipe that speaks the wire
//! itself with sio-core's codecs, for tests that need exact bytes.

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};
use bytestring::ByteString;
use sio_core::engine::Packet as EioPacket;
use sio_core::packet::{self, Packet, RawJson};
use sio_core::wire::http::{Limits as HttpLimits, ResponseParser};
use sio_core::wire::ws::frame::{encode_frame, Decoder as WsDecoder, Limits as WsLimits};
use sio_core::wire::ws::handshake::{check_server_response, client_key, client_request_head};
use sio_core::wire::ws::{Message, OpCode, Role};

use super::pipe::{PipeControl, PipeEnd, DEFAULT_CAPACITY};
use super::runtime::VirtualRuntime;
use crate::io::SocketIo;

/// One Socket.IO packet as received: its Engine.IO message text exactly as
/// on the wire (`42["ev"]`, `40{"sid":...}`), and the decoded packet
/// (attachments included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The Engine.IO message text (without attachments).
    pub text: String,
    /// The decoded packet.
    pub packet: Packet,
}

/// A WebSocket Engine.IO session over an in-memory pipe, driven
/// synchronously: every receive first runs the runtime until idle (time
/// does not move), then decodes what arrived. Pings are answered with
/// pongs unless [`RawClient::set_auto_pong`] turned that off, but only when
/// the test reads ([`RawClient::recv`], [`RawClient::closed`]): a test that
/// advances time past the pong deadline without reading stalls the client.
pub struct RawClient {
    rt: VirtualRuntime,
    end: PipeEnd,
    control: PipeControl,
    decoder: WsDecoder,
    packets: packet::Decoder,
    queue: VecDeque<EioPacket>,
    partial_text: Option<String>,
    auto_pong: bool,
    pings: usize,
    closed: Option<String>,
    mask: u32,
    open_json: String,
}

impl std::fmt::Debug for RawClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawClient")
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

impl RawClient {
    /// Opens a WebSocket session to `io` (`extra_query` is appended to the
    /// handshake query, `"&a=b"`), and reads the open packet.
    ///
    /// # Panics
    ///
    /// If the server does not upgrade or send the open packet.
    pub fn open(rt: &VirtualRuntime, io: &SocketIo, extra_query: &str) -> RawClient {
        RawClient::open_with_capacity(rt, io, extra_query, DEFAULT_CAPACITY)
    }

    /// [`RawClient::open`] over a pipe that buffers `capacity` bytes each
    /// way (a small one makes the server wait for the client to read).
    pub fn open_with_capacity(
        rt: &VirtualRuntime,
        io: &SocketIo,
        extra_query: &str,
        capacity: usize,
    ) -> RawClient {
        let (mut end, control) = rt.connect_raw(io, capacity);
        let key = client_key(*b"sio-virtual-test");
        let target = format!("/socket.io/?EIO=4&transport=websocket{extra_query}");
        let head = client_request_head("localhost", &target, &key);
        let mut at = 0;
        while at < head.len() {
            at += end
                .write_now(&head.as_bytes()[at..])
                .expect("the server reads");
            rt.run_until_idle();
        }
        let mut parser = ResponseParser::new(HttpLimits::default());
        let response = loop {
            rt.run_until_idle();
            let bytes = end.read_now();
            assert!(!bytes.is_empty(), "the server answers the upgrade");
            parser.feed(&bytes);
            if let Some(response) = parser.poll_response().expect("a valid HTTP response") {
                break response;
            }
        };
        let headers: Vec<(String, String)> = response
            .headers
            .iter()
            .map(|h| (h.name.clone(), h.value.clone()))
            .collect();
        check_server_response(response.status, &headers, &key).expect("the upgrade accepted");
        let mut decoder = WsDecoder::new(Role::Client, WsLimits::default());
        decoder.feed(&parser.take_buffered());
        let mut client = RawClient {
            rt: rt.clone(),
            end,
            control,
            decoder,
            packets: packet::Decoder::new(packet::Limits::default()),
            queue: VecDeque::new(),
            partial_text: None,
            auto_pong: true,
            pings: 0,
            closed: None,
            mask: 0x5EED_1234,
            open_json: String::new(),
        };
        match client.next_eio() {
            Some(EioPacket::Open(json)) => client.open_json = json.to_string(),
            other => panic!("expected the open packet, got {other:?}"),
        }
        client
    }

    /// Opens a session and joins `nsp` with `auth` (JSON object text);
    /// returns the client and the server's answer to the CONNECT.
    pub fn connect(
        rt: &VirtualRuntime,
        io: &SocketIo,
        nsp: &str,
        auth: Option<&str>,
    ) -> (RawClient, Received) {
        let mut client = RawClient::open(rt, io, "");
        let data = auth.map(|auth| RawJson::parse(ByteString::from(auth)).expect("auth JSON"));
        client.send(&Packet::connect(nsp, data));
        let reply = client.recv().expect("an answer to CONNECT");
        (client, reply)
    }

    /// The open packet's JSON, exactly as sent.
    pub fn open_json(&self) -> &str {
        &self.open_json
    }

    /// Whether pings are answered (on by default). Off, the client stalls
    /// as far as the server's heartbeat can tell.
    pub fn set_auto_pong(&mut self, on: bool) {
        self.auto_pong = on;
    }

    /// Pings received so far.
    pub fn pings(&self) -> usize {
        self.pings
    }

    /// The pipe's control (to break the connection from outside).
    pub fn control(&self) -> &PipeControl {
        &self.control
    }

    /// Sends a Socket.IO packet (its text, then its attachments).
    pub fn send(&mut self, packet: &Packet) {
        let text = packet::encode_text(packet);
        let mut eio = vec![EioPacket::Message(text)];
        eio.extend(packet.attachments.iter().cloned().map(EioPacket::Binary));
        self.send_eio(&eio);
    }

    /// Sends a Socket.IO packet given as its Engine.IO message text
    /// (`42["a",1]`: the leading `4` is the Engine.IO type), then
    /// `attachments` as binary messages.
    pub fn send_text(&mut self, text: &str, attachments: &[&[u8]]) {
        let sio = text.strip_prefix('4').expect("an Engine.IO message");
        let mut eio = vec![EioPacket::Message(ByteString::from(sio))];
        eio.extend(
            attachments
                .iter()
                .map(|a| EioPacket::Binary(Bytes::copy_from_slice(a))),
        );
        self.send_eio(&eio);
    }

    /// Sends Engine.IO packets, one masked frame each.
    pub fn send_eio(&mut self, packets: &[EioPacket]) {
        let mut out = BytesMut::new();
        for packet in packets {
            self.mask = self
                .mask
                .wrapping_mul(1_664_525)
                .wrapping_add(1_013_904_223);
            let mask = Some(self.mask.to_be_bytes());
            match packet {
                EioPacket::Binary(data) => encode_frame(&mut out, true, OpCode::Binary, data, mask),
                other => encode_frame(&mut out, true, OpCode::Text, &other.to_text(), mask),
            }
        }
        self.write_all(&out);
    }

    /// Writes raw bytes (they must fit the pipe's buffer).
    pub fn write_all(&mut self, bytes: &[u8]) {
        let mut at = 0;
        while at < bytes.len() {
            match self.end.write_now(&bytes[at..]) {
                Ok(0) => {
                    // The buffer is full: let the server read.
                    assert!(self.rt.run_until_idle() > 0, "the server does not read");
                }
                Ok(n) => at += n,
                Err(_) => {
                    self.closed.get_or_insert_with(|| "write failed".into());
                    return;
                }
            }
        }
    }

    /// Closes the WebSocket with a close frame, without the Engine.IO
    /// close packet first.
    pub fn send_ws_close(&mut self) {
        let mut out = BytesMut::new();
        let payload = sio_core::wire::ws::frame::close_payload(1000, "");
        encode_frame(&mut out, true, OpCode::Close, &payload, Some([1, 2, 3, 4]));
        self.write_all(&out);
    }

    /// Drops the connection without a word (the pipe's end is closed).
    pub fn drop_connection(self) {}

    /// The next Socket.IO packet that has arrived by now (after running
    /// the runtime until idle), or `None`.
    pub fn recv(&mut self) -> Option<Received> {
        while let Some(eio) = self.next_eio() {
            if let Some(received) = self.handle(eio) {
                return Some(received);
            }
        }
        None
    }

    /// The next packet's wire text.
    ///
    /// # Panics
    ///
    /// If no packet has arrived.
    pub fn recv_text(&mut self) -> String {
        match self.recv() {
            Some(received) => received.text,
            None => panic!("no packet arrived (closed: {:?})", self.closed),
        }
    }

    /// How the session ended (`"eio close"`, `"ws close"`, `"eof"`), once
    /// it has; reads what has arrived first (packets are kept for
    /// [`RawClient::recv`]).
    pub fn closed(&mut self) -> Option<String> {
        self.fill();
        self.closed.clone()
    }

    /// The next Engine.IO packet that has arrived by now.
    pub fn next_eio(&mut self) -> Option<EioPacket> {
        if self.queue.is_empty() {
            self.fill();
        }
        self.queue.pop_front()
    }

    fn fill(&mut self) {
        loop {
            // The server may be waiting for room in the pipe: read until
            // it has nothing more to write.
            self.rt.run_until_idle();
            let bytes = self.end.read_now();
            if bytes.is_empty() {
                break;
            }
            self.decoder.feed(&bytes);
        }
        let mut pongs = Vec::new();
        loop {
            match self.decoder.poll_message() {
                Ok(None) => break,
                Ok(Some(Message::Text(text))) => {
                    match EioPacket::decode_text(text).expect("an Engine.IO packet") {
                        // Answered as they arrive, as a live client would.
                        EioPacket::Ping(data) => {
                            self.pings += 1;
                            if self.auto_pong {
                                pongs.push(EioPacket::Pong(data));
                            }
                        }
                        packet => self.queue.push_back(packet),
                    }
                }
                Ok(Some(Message::Binary(data))) => {
                    self.queue.push_back(EioPacket::decode_binary(data))
                }
                Ok(Some(Message::Close(_))) => {
                    self.closed.get_or_insert_with(|| "ws close".into());
                    break;
                }
                Ok(Some(Message::Ping(_) | Message::Pong(_))) => {}
                Err(error) => panic!("the server sent a bad frame: {error:?}"),
            }
        }
        if !pongs.is_empty() {
            self.send_eio(&pongs);
            self.rt.run_until_idle();
        }
        if self.end.at_eof() {
            self.closed.get_or_insert_with(|| "eof".into());
        }
    }

    fn handle(&mut self, eio: EioPacket) -> Option<Received> {
        match eio {
            EioPacket::Close => {
                self.closed.get_or_insert_with(|| "eio close".into());
                None
            }
            EioPacket::Message(text) => {
                let owned = format!("4{text}");
                match self.packets.decode_text(text) {
                    Ok(Some(packet)) => Some(Received {
                        text: owned,
                        packet,
                    }),
                    Ok(None) => {
                        self.partial_text = Some(owned);
                        None
                    }
                    Err(e) => panic!("bad packet {owned}: {e}"),
                }
            }
            EioPacket::Binary(data) => match self.packets.decode_binary(data) {
                Ok(Some(packet)) => Some(Received {
                    text: self.partial_text.take().unwrap_or_default(),
                    packet,
                }),
                Ok(None) => None,
                Err(e) => panic!("bad attachment: {e}"),
            },
            _ => None,
        }
    }
}
