//! A small blocking Socket.IO v5 test client over `std::net::TcpStream`,
//! built only on sio-core's codecs, so it runs against a server on any
//! runtime. Every read has a deadline: a test that waits for something that
//! never comes fails with [`ClientError::Timeout`] instead of hanging.
//!
//! It speaks WebSocket (upgrade request, 101 check, frames masked as a
//! client must) and HTTP long-polling (handshake GET, POSTed payloads, one
//! GET in flight at a time, kept across timeouts so the session is never
//! sent a second concurrent GET). Engine.IO pings are answered with pongs
//! unless [`TestClient::set_auto_pong`] turned that off.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use bytestring::ByteString;
use sio_core::engine::payload::{decode_payload, encode_payload};
use sio_core::engine::Packet as EioPacket;
use sio_core::packet::{self, Packet, PacketType, RawJson};
use sio_core::wire::ws::frame::{encode_frame, Decoder as WsDecoder, Limits as WsLimits};
use sio_core::wire::ws::handshake::{check_server_response, client_key, client_request_head};
use sio_core::wire::ws::{Message, OpCode, Role};

/// What a default receive waits at most.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the client could not do what it was asked.
#[derive(Debug)]
pub enum ClientError {
    /// Nothing (or not enough) arrived before the deadline.
    Timeout,
    /// The server closed the connection or the Engine.IO session; the
    /// string says how (`"eio close"`, `"ws close"`, `"eof"`, `"http 400"`).
    Closed(String),
    /// A socket error.
    Io(std::io::Error),
    /// The server sent something this client cannot decode.
    Protocol(String),
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::Timeout => f.write_str("timed out"),
            ClientError::Closed(how) => write!(f, "closed ({how})"),
            ClientError::Io(e) => write!(f, "io: {e}"),
            ClientError::Protocol(what) => write!(f, "protocol: {what}"),
        }
    }
}

impl std::error::Error for ClientError {}

impl From<std::io::Error> for ClientError {
    fn from(e: std::io::Error) -> Self {
        match e.kind() {
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => ClientError::Timeout,
            std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::BrokenPipe
            | std::io::ErrorKind::UnexpectedEof => ClientError::Closed(e.to_string()),
            _ => ClientError::Io(e),
        }
    }
}

/// Results of the client.
pub type Result<T> = std::result::Result<T, ClientError>;

/// The Engine.IO transport to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// A WebSocket from the start (`transport=websocket`).
    WebSocket,
    /// HTTP long-polling, never upgraded.
    Polling,
}

/// One Socket.IO packet as received: the text of its first Engine.IO
/// message exactly as it came over the wire (Engine.IO type digit `4`
/// included: `42["ev"]`, `451-[...]`, `40{"sid":...}`), and the decoded
/// packet (attachments included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The Engine.IO message text of the packet (without its attachments).
    pub text: String,
    /// The decoded packet.
    pub packet: Packet,
}

impl Received {
    /// The attachments, in order.
    pub fn attachments(&self) -> &[Bytes] {
        &self.packet.attachments
    }
}

/// An HTTP response: status, headers, body.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Header names (lower-cased) and values.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Bytes,
}

/// A polling GET sent and not yet fully answered.
struct PendingGet {
    stream: TcpStream,
    buf: BytesMut,
}

enum Conn {
    Ws {
        stream: TcpStream,
        decoder: WsDecoder,
        /// A masking key that changes per frame.
        next_mask: u32,
    },
    Polling {
        addr: SocketAddr,
        /// Path and query up to and including `sid=...`.
        base: String,
        pending: Option<PendingGet>,
    },
}

/// A Socket.IO client with one Engine.IO session.
pub struct TestClient {
    conn: Conn,
    /// The Engine.IO session id.
    eio_sid: String,
    /// The open packet's JSON, exactly as sent.
    open: String,
    /// Engine.IO packets read but not yet handled.
    eio_queue: VecDeque<EioPacket>,
    /// The text of the binary packet being reassembled.
    partial_text: Option<String>,
    decoder: packet::Decoder,
    auto_pong: bool,
    /// Pings the server sent so far.
    pings_seen: usize,
    closed: Option<String>,
    local_addr: Option<SocketAddr>,
}

impl std::fmt::Debug for TestClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestClient")
            .field("eio_sid", &self.eio_sid)
            .finish_non_exhaustive()
    }
}

impl TestClient {
    /// Opens an Engine.IO session over `transport` (no namespace joined
    /// yet). `extra_query` is appended to the handshake query (`"&a=b"`).
    pub fn open(addr: SocketAddr, transport: Transport, extra_query: &str) -> Result<TestClient> {
        match transport {
            Transport::WebSocket => Self::open_ws(addr, extra_query),
            Transport::Polling => Self::open_polling(addr, extra_query),
        }
    }

    /// Opens a WebSocket session and joins `nsp` with `auth` (a JSON object
    /// text), expecting the CONNECT reply. Returns the client and the socket id.
    pub fn connect(addr: SocketAddr, nsp: &str, auth: Option<&str>) -> Result<TestClient> {
        let mut client = Self::open(addr, Transport::WebSocket, "")?;
        client.join(nsp, auth)?;
        Ok(client)
    }

    /// Sends CONNECT for `nsp` and expects `40...{"sid":...}`; returns the socket id.
    pub fn join(&mut self, nsp: &str, auth: Option<&str>) -> Result<String> {
        let reply = self.connect_nsp(nsp, auth)?;
        if reply.packet.kind != PacketType::Connect {
            return Err(ClientError::Protocol(format!(
                "connect to {nsp} answered with {}",
                reply.text
            )));
        }
        let data = reply.packet.data.as_ref().map(|d| d.as_str()).unwrap_or("");
        let value: serde_json::Value = serde_json::from_str(data)
            .map_err(|e| ClientError::Protocol(format!("connect reply {data}: {e}")))?;
        value["sid"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| ClientError::Protocol(format!("no sid in {data}")))
    }

    /// Sends CONNECT for `nsp` and returns the server's answer for it
    /// (CONNECT or CONNECT_ERROR); packets for other namespaces before it
    /// are an error.
    pub fn connect_nsp(&mut self, nsp: &str, auth: Option<&str>) -> Result<Received> {
        let data = match auth {
            Some(auth) => Some(raw(auth)?),
            None => None,
        };
        self.send(&Packet::connect(nsp, data))?;
        let reply = self.recv()?;
        if reply.packet.nsp != nsp {
            return Err(ClientError::Protocol(format!(
                "expected the reply to CONNECT {nsp}, got {}",
                reply.text
            )));
        }
        Ok(reply)
    }

    /// The Engine.IO session id.
    pub fn eio_sid(&self) -> &str {
        &self.eio_sid
    }

    /// The JSON of the open packet, exactly as sent.
    pub fn open_json(&self) -> &str {
        &self.open
    }

    /// The local address of the WebSocket connection (None for polling).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.local_addr
    }

    /// Whether Engine.IO pings are answered (on by default).
    pub fn set_auto_pong(&mut self, on: bool) {
        self.auto_pong = on;
    }

    /// How many Engine.IO pings arrived so far.
    pub fn pings_seen(&self) -> usize {
        self.pings_seen
    }

    /// Sends a Socket.IO packet (its text, then its attachments).
    pub fn send(&mut self, packet: &Packet) -> Result<()> {
        let text = packet::encode_text(packet);
        let mut eio = vec![EioPacket::Message(text)];
        eio.extend(packet.attachments.iter().cloned().map(EioPacket::Binary));
        self.send_eio(&eio)
    }

    /// Sends a Socket.IO packet given as its Engine.IO message text
    /// (`42["a"]`, `451-[...]`: the leading `4` is the Engine.IO type),
    /// then its attachments.
    pub fn send_text(&mut self, text: &str, attachments: &[&[u8]]) -> Result<()> {
        let Some(sio_text) = text.strip_prefix('4') else {
            return Err(ClientError::Protocol(format!(
                "not an Engine.IO message: {text}"
            )));
        };
        let mut eio = vec![EioPacket::Message(ByteString::from(sio_text))];
        eio.extend(
            attachments
                .iter()
                .map(|a| EioPacket::Binary(Bytes::copy_from_slice(a))),
        );
        self.send_eio(&eio)
    }

    /// Emits `event` to `/` with `args_json`, a JSON array of the arguments (`[1,"a"]`).
    pub fn emit(&mut self, event: &str, args_json: &str) -> Result<()> {
        self.emit_in("/", event, args_json, None)
    }

    /// Emits `event` to `/` asking for acknowledgement `id`.
    pub fn emit_with_ack(&mut self, event: &str, args_json: &str, id: u64) -> Result<()> {
        self.emit_in("/", event, args_json, Some(id))
    }

    /// Emits `event` to `nsp`, with an ack id if given.
    pub fn emit_in(
        &mut self,
        nsp: &str,
        event: &str,
        args_json: &str,
        id: Option<u64>,
    ) -> Result<()> {
        let data = event_data(event, args_json)?;
        let packet = Packet::event(nsp, data, Vec::new());
        self.send(&match id {
            Some(id) => packet.with_id(id),
            None => packet,
        })
    }

    /// Emits `event` to `/` with binary attachments: `args_json` holds the
    /// placeholders (`[{"_placeholder":true,"num":0}]`).
    pub fn emit_binary(
        &mut self,
        event: &str,
        args_json: &str,
        attachments: &[&[u8]],
        id: Option<u64>,
    ) -> Result<()> {
        let data = event_data(event, args_json)?;
        let attachments = attachments
            .iter()
            .map(|a| Bytes::copy_from_slice(a))
            .collect();
        let packet = Packet::event("/", data, attachments);
        self.send(&match id {
            Some(id) => packet.with_id(id),
            None => packet,
        })
    }

    /// Acknowledges the server's emit `id` in `/` with `args_json` (a JSON array).
    pub fn ack(&mut self, id: u64, args_json: &str) -> Result<()> {
        self.ack_in("/", id, args_json)
    }

    /// Acknowledges the server's emit `id` in `nsp`.
    pub fn ack_in(&mut self, nsp: &str, id: u64, args_json: &str) -> Result<()> {
        self.send(&Packet::ack(nsp, id, raw(args_json)?, Vec::new()))
    }

    /// Leaves `nsp` (a DISCONNECT packet); the connection stays.
    pub fn disconnect_nsp(&mut self, nsp: &str) -> Result<()> {
        self.send(&Packet::disconnect(nsp))
    }

    /// Closes the Engine.IO session politely (a close packet) and the connection.
    pub fn close(mut self) -> Result<()> {
        self.send_eio(&[EioPacket::Close])?;
        if let Conn::Ws { stream, .. } = &mut self.conn {
            let mut out = BytesMut::new();
            let payload = sio_core::wire::ws::frame::close_payload(1000, "");
            encode_frame(&mut out, true, OpCode::Close, &payload, Some([1, 2, 3, 4]));
            let _ = stream.write_all(&out);
        }
        Ok(())
    }

    /// The next Socket.IO packet, waiting at most [`DEFAULT_TIMEOUT`].
    pub fn recv(&mut self) -> Result<Received> {
        self.recv_packet(DEFAULT_TIMEOUT)
    }

    /// The next Socket.IO packet's wire text (attachments dropped).
    pub fn recv_text(&mut self) -> Result<String> {
        self.recv().map(|r| r.text)
    }

    /// The next Socket.IO packet, waiting at most `timeout`. Pings are
    /// answered on the way (see [`TestClient::set_auto_pong`]); an Engine.IO
    /// close, a WebSocket close or the end of the stream is [`ClientError::Closed`].
    pub fn recv_packet(&mut self, timeout: Duration) -> Result<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let eio = self.recv_eio_until(deadline)?;
            if let Some(received) = self.handle_eio(eio)? {
                return Ok(received);
            }
        }
    }

    /// Expects that nothing but pings arrives for `wait` (then `Ok`).
    pub fn expect_silence(&mut self, wait: Duration) -> Result<()> {
        match self.recv_packet(wait) {
            Err(ClientError::Timeout) => Ok(()),
            Ok(received) => Err(ClientError::Protocol(format!(
                "expected nothing, got {}",
                received.text
            ))),
            Err(e) => Err(e),
        }
    }

    /// Reads (answering pings unless turned off) until `count` pings have
    /// arrived in all; a Socket.IO packet meanwhile is an error.
    pub fn wait_pings(&mut self, count: usize, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        while self.pings_seen < count {
            let eio = self.recv_eio_until(deadline)?;
            if let Some(received) = self.handle_eio(eio)? {
                return Err(ClientError::Protocol(format!(
                    "expected pings, got {}",
                    received.text
                )));
            }
        }
        Ok(())
    }

    /// Reads until the connection closes, returning the Socket.IO packets
    /// that came first; fails if it does not close within `timeout`.
    pub fn recv_until_closed(&mut self, timeout: Duration) -> Result<Vec<String>> {
        let deadline = Instant::now() + timeout;
        let mut texts = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.recv_packet(left) {
                Ok(received) => texts.push(received.text),
                Err(ClientError::Closed(_)) => return Ok(texts),
                Err(e) => return Err(e),
            }
        }
    }

    /// Handles one Engine.IO packet; returns a Socket.IO packet once whole.
    fn handle_eio(&mut self, eio: EioPacket) -> Result<Option<Received>> {
        match eio {
            EioPacket::Ping(data) => {
                self.pings_seen += 1;
                if self.auto_pong {
                    self.send_eio(&[EioPacket::Pong(data)])?;
                }
                Ok(None)
            }
            EioPacket::Close => {
                self.closed = Some("eio close".into());
                Err(ClientError::Closed("eio close".into()))
            }
            EioPacket::Noop | EioPacket::Pong(_) | EioPacket::Upgrade => Ok(None),
            EioPacket::Open(json) => {
                Err(ClientError::Protocol(format!("second open packet {json}")))
            }
            EioPacket::Message(text) => {
                let owned = format!("4{text}");
                match self.decoder.decode_text(text) {
                    Ok(Some(packet)) => Ok(Some(Received {
                        text: owned,
                        packet,
                    })),
                    Ok(None) => {
                        self.partial_text = Some(owned);
                        Ok(None)
                    }
                    Err(e) => Err(ClientError::Protocol(format!("bad packet {owned}: {e}"))),
                }
            }
            EioPacket::Binary(data) => match self.decoder.decode_binary(data) {
                Ok(Some(packet)) => Ok(Some(Received {
                    text: self.partial_text.take().unwrap_or_default(),
                    packet,
                })),
                Ok(None) => Ok(None),
                Err(e) => Err(ClientError::Protocol(format!("bad attachment: {e}"))),
            },
        }
    }

    /// The next Engine.IO packet, before `deadline`.
    pub fn recv_eio_until(&mut self, deadline: Instant) -> Result<EioPacket> {
        loop {
            if let Some(packet) = self.eio_queue.pop_front() {
                return Ok(packet);
            }
            if let Some(how) = &self.closed {
                return Err(ClientError::Closed(how.clone()));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(ClientError::Timeout);
            }
            self.read_more(left)?;
        }
    }

    /// Reads whatever arrives within `left` into the Engine.IO queue.
    fn read_more(&mut self, left: Duration) -> Result<()> {
        match &mut self.conn {
            Conn::Ws {
                stream, decoder, ..
            } => {
                // Bytes that came with the 101 response may hold whole
                // messages already: decode those before reading more.
                if Self::decode_ws(decoder, &mut self.eio_queue, &mut self.closed)?
                    || !self.eio_queue.is_empty()
                {
                    return Ok(());
                }
                let mut buf = [0u8; 16 * 1024];
                stream.set_read_timeout(Some(left))?;
                let n = stream.read(&mut buf)?;
                if n == 0 {
                    self.closed = Some("eof".into());
                    return Ok(());
                }
                decoder.feed(&buf[..n]);
                Self::decode_ws(decoder, &mut self.eio_queue, &mut self.closed)?;
                Ok(())
            }
            Conn::Polling {
                addr,
                base,
                pending,
            } => {
                if pending.is_none() {
                    let stream = send_request(*addr, "GET", base, &[])?;
                    *pending = Some(PendingGet {
                        stream,
                        buf: BytesMut::new(),
                    });
                }
                let Some(get) = pending else { return Ok(()) };
                let response = read_response(&mut get.stream, &mut get.buf, left)?;
                *pending = None;
                if response.status != 200 {
                    self.closed = Some(format!("http {}", response.status));
                    return Ok(());
                }
                let packets = decode_payload(response.body, usize::MAX)
                    .map_err(|e| ClientError::Protocol(format!("payload: {e}")))?;
                self.eio_queue.extend(packets);
                Ok(())
            }
        }
    }

    /// Moves every whole message out of `decoder` into `queue`; `true`
    /// once the WebSocket closed.
    fn decode_ws(
        decoder: &mut WsDecoder,
        queue: &mut VecDeque<EioPacket>,
        closed: &mut Option<String>,
    ) -> Result<bool> {
        loop {
            let message = decoder
                .poll_message()
                .map_err(|e| ClientError::Protocol(format!("ws: {e:?}")))?;
            match message {
                None => return Ok(false),
                Some(Message::Text(text)) => {
                    let packet = EioPacket::decode_text(text)
                        .map_err(|e| ClientError::Protocol(format!("eio: {e}")))?;
                    queue.push_back(packet);
                }
                Some(Message::Binary(data)) => queue.push_back(EioPacket::decode_binary(data)),
                Some(Message::Close(_)) => {
                    *closed = Some("ws close".into());
                    return Ok(true);
                }
                Some(Message::Ping(_) | Message::Pong(_)) => {}
            }
        }
    }

    /// Sends Engine.IO packets: one frame each, or one POST.
    pub fn send_eio(&mut self, packets: &[EioPacket]) -> Result<()> {
        match &mut self.conn {
            Conn::Ws {
                stream, next_mask, ..
            } => {
                let mut out = BytesMut::new();
                for packet in packets {
                    *next_mask = next_mask
                        .wrapping_mul(1_664_525)
                        .wrapping_add(1_013_904_223);
                    let mask = Some(next_mask.to_be_bytes());
                    match packet {
                        EioPacket::Binary(data) => {
                            encode_frame(&mut out, true, OpCode::Binary, data, mask)
                        }
                        other => encode_frame(&mut out, true, OpCode::Text, &other.to_text(), mask),
                    }
                }
                stream.write_all(&out)?;
                Ok(())
            }
            Conn::Polling { addr, base, .. } => {
                let mut body = BytesMut::new();
                encode_payload(packets, &mut body);
                let mut stream = send_request(*addr, "POST", base, &body)?;
                let response = read_response(&mut stream, &mut BytesMut::new(), DEFAULT_TIMEOUT)?;
                if response.status != 200 || &response.body[..] != b"ok" {
                    return Err(ClientError::Closed(format!(
                        "POST answered {} {:?}",
                        response.status, response.body
                    )));
                }
                Ok(())
            }
        }
    }

    fn open_ws(addr: SocketAddr, extra_query: &str) -> Result<TestClient> {
        let mut stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        let local_addr = stream.local_addr().ok();
        let key = client_key(*b"sio-test-client!");
        let target = format!("/socket.io/?EIO=4&transport=websocket{extra_query}");
        let head = client_request_head(&addr.to_string(), &target, &key);
        stream.write_all(head.as_bytes())?;
        let mut buf = BytesMut::new();
        let (status, headers, rest) = read_head(&mut stream, &mut buf, DEFAULT_TIMEOUT)?;
        check_server_response(status, &headers, &key)
            .map_err(|e| ClientError::Protocol(format!("upgrade refused ({status}): {e:?}")))?;
        let mut decoder = WsDecoder::new(Role::Client, WsLimits::default());
        decoder.feed(&rest);
        let mut client = TestClient::new(
            Conn::Ws {
                stream,
                decoder,
                next_mask: 0x5EED_1234,
            },
            local_addr,
        );
        client.read_open()?;
        Ok(client)
    }

    fn open_polling(addr: SocketAddr, extra_query: &str) -> Result<TestClient> {
        let target = format!("/socket.io/?EIO=4&transport=polling{extra_query}");
        let mut stream = send_request(addr, "GET", &target, &[])?;
        let response = read_response(&mut stream, &mut BytesMut::new(), DEFAULT_TIMEOUT)?;
        if response.status != 200 {
            return Err(ClientError::Protocol(format!(
                "handshake answered {}",
                response.status
            )));
        }
        let packets = decode_payload(response.body, 16)
            .map_err(|e| ClientError::Protocol(format!("handshake payload: {e}")))?;
        let mut client = TestClient::new(
            Conn::Polling {
                addr,
                base: String::new(),
                pending: None,
            },
            None,
        );
        client.eio_queue.extend(packets);
        client.read_open()?;
        let sid = client.eio_sid.clone();
        if let Conn::Polling { base, .. } = &mut client.conn {
            *base = format!("{target}&sid={sid}");
        }
        Ok(client)
    }

    fn new(conn: Conn, local_addr: Option<SocketAddr>) -> TestClient {
        TestClient {
            conn,
            eio_sid: String::new(),
            open: String::new(),
            eio_queue: VecDeque::new(),
            partial_text: None,
            decoder: packet::Decoder::new(packet::Limits::default()),
            auto_pong: true,
            pings_seen: 0,
            closed: None,
            local_addr,
        }
    }

    /// Reads the open packet and keeps its sid.
    fn read_open(&mut self) -> Result<()> {
        let deadline = Instant::now() + DEFAULT_TIMEOUT;
        match self.recv_eio_until(deadline)? {
            EioPacket::Open(json) => {
                let value: serde_json::Value = serde_json::from_str(&json)
                    .map_err(|e| ClientError::Protocol(format!("open {json}: {e}")))?;
                self.eio_sid = value["sid"].as_str().unwrap_or_default().to_owned();
                self.open = json.to_string();
                Ok(())
            }
            other => Err(ClientError::Protocol(format!(
                "expected open, got {other:?}"
            ))),
        }
    }
}

/// `["event",...args]` from an event name and an argument array.
fn event_data(event: &str, args_json: &str) -> Result<RawJson> {
    let args: Vec<Box<serde_json::value::RawValue>> = serde_json::from_str(args_json)
        .map_err(|e| ClientError::Protocol(format!("args {args_json}: {e}")))?;
    let mut text =
        serde_json::to_string(event).map_err(|e| ClientError::Protocol(e.to_string()))?;
    text.insert(0, '[');
    for arg in &args {
        text.push(',');
        text.push_str(arg.get());
    }
    text.push(']');
    raw(&text)
}

/// JSON text as a `RawJson`.
fn raw(json: &str) -> Result<RawJson> {
    RawJson::parse(ByteString::from(json))
        .map_err(|e| ClientError::Protocol(format!("json {json}: {e}")))
}

/// Opens a connection and sends one request (closing after the response).
fn send_request(addr: SocketAddr, method: &str, target: &str, body: &[u8]) -> Result<TcpStream> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    let mut request =
        format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if method == "POST" {
        request.push_str(&format!(
            "Content-Type: text/plain;charset=UTF-8\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    request.push_str("\r\n");
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body);
    stream.write_all(&bytes)?;
    Ok(stream)
}

/// Performs one HTTP request on a fresh connection.
pub fn http_request(
    addr: SocketAddr,
    method: &str,
    target: &str,
    body: &[u8],
) -> Result<HttpResponse> {
    let mut stream = send_request(addr, method, target, body)?;
    read_response(&mut stream, &mut BytesMut::new(), DEFAULT_TIMEOUT)
}

/// Header names (lower-cased) and values.
type Headers = Vec<(String, String)>;

/// Reads a response head into `buf` (keeping what was read across
/// timeouts); returns status, headers and the bytes after the head.
fn read_head(
    stream: &mut TcpStream,
    buf: &mut BytesMut,
    timeout: Duration,
) -> Result<(u16, Headers, BytesMut)> {
    let deadline = Instant::now() + timeout;
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut response = httparse::Response::new(&mut headers);
        match response.parse(buf) {
            Ok(httparse::Status::Complete(len)) => {
                let status = response.code.unwrap_or(0);
                let headers = response
                    .headers
                    .iter()
                    .map(|h| {
                        (
                            h.name.to_ascii_lowercase(),
                            String::from_utf8_lossy(h.value).into_owned(),
                        )
                    })
                    .collect();
                let rest = buf.split_off(len);
                buf.clear();
                return Ok((status, headers, rest));
            }
            Ok(httparse::Status::Partial) => {}
            Err(e) => return Err(ClientError::Protocol(format!("http response: {e}"))),
        }
        read_some(stream, buf, deadline)?;
    }
}

/// Reads at least one byte into `buf` before `deadline`.
fn read_some(stream: &mut TcpStream, buf: &mut BytesMut, deadline: Instant) -> Result<()> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(ClientError::Timeout);
    }
    stream.set_read_timeout(Some(left))?;
    let mut chunk = [0u8; 16 * 1024];
    let n = stream.read(&mut chunk)?;
    if n == 0 {
        return Err(ClientError::Closed("eof".into()));
    }
    buf.extend_from_slice(&chunk[..n]);
    Ok(())
}

/// Reads a whole response with a Content-Length body. `buf` keeps partial
/// bytes, so a timed-out read can be resumed with the same `buf`.
pub(crate) fn read_response(
    stream: &mut TcpStream,
    buf: &mut BytesMut,
    timeout: Duration,
) -> Result<HttpResponse> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(response) = parse_response(buf)? {
            return Ok(response);
        }
        read_some(stream, buf, deadline)?;
    }
}

/// A whole response from `buf`, if it has arrived.
fn parse_response(buf: &BytesMut) -> Result<Option<HttpResponse>> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut headers);
    let head_len = match response.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(ClientError::Protocol(format!("http response: {e}"))),
    };
    let headers: Vec<(String, String)> = response
        .headers
        .iter()
        .map(|h| {
            (
                h.name.to_ascii_lowercase(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect();
    let length = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .and_then(|(_, value)| value.trim().parse::<usize>().ok())
        .ok_or_else(|| ClientError::Protocol("response without Content-Length".into()))?;
    if buf.len() < head_len + length {
        return Ok(None);
    }
    Ok(Some(HttpResponse {
        status: response.code.unwrap_or(0),
        headers,
        body: Bytes::copy_from_slice(&buf[head_len..head_len + length]),
    }))
}
