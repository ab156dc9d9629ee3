//! The client end of HTTP long-polling, as engine.io-client's `Polling`
//! transport: a GET always pending (the server answers it with the packets
//! it holds), one POST at a time carrying our queued packets as a payload,
//! each on its own keep-alive connection (reopened when the server closes
//! an idle one).

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;

use bytes::{Bytes, BytesMut};

use crate::engine;
use crate::engine::payload::{decode_payload, encode_payload};
use crate::wire::http::{
    compression, HttpError, Limits, Method, OutgoingRequest, ReceivedResponse, ResponseParser,
};

use super::headers::RequestHeaders;
use super::types::Output;
use crate::engine::ConnId;

/// Where new connections and transmits go.
pub(crate) struct Io<'a> {
    pub(crate) outputs: &'a mut VecDeque<Output>,
    pub(crate) next_conn: &'a mut u64,
    /// Extra headers and cookies for requests; the jar for responses.
    pub(crate) headers: &'a mut RequestHeaders,
}

impl Io<'_> {
    /// A fresh connection id, asked of the driver at once.
    pub(crate) fn open_conn(&mut self) -> ConnId {
        let conn = ConnId(*self.next_conn);
        *self.next_conn = self.next_conn.wrapping_add(1);
        self.outputs.push_back(Output::Connect { conn });
        conn
    }
}

/// What a polling input produced.
#[derive(Debug, PartialEq)]
pub(crate) enum Polled {
    /// A GET was answered with these packets (the next GET is not sent
    /// yet: the caller handles them first, then calls [`PollingLink::poll`]).
    Packets(Vec<engine::Packet>),
    /// A POST was answered; the next one, if any, is sent.
    Drained,
    /// The transport failed, with engine.io-client's message.
    Fault(&'static str),
}

/// Which of the two requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Get,
    Post,
}

impl Side {
    fn fault(self) -> &'static str {
        match self {
            Side::Get => "xhr poll error",
            Side::Post => "xhr post error",
        }
    }
}

/// One keep-alive HTTP connection with at most one request out.
#[derive(Debug)]
struct HttpConn {
    id: Option<ConnId>,
    connected: bool,
    parser: ResponseParser,
    /// A request went out (or waits for the connection) and has no answer.
    awaiting: bool,
    /// The request to write once the connection is up.
    unsent: Option<Bytes>,
}

impl HttpConn {
    fn new(limits: Limits) -> Self {
        HttpConn {
            id: None,
            connected: false,
            parser: ResponseParser::new(limits),
            awaiting: false,
            unsent: None,
        }
    }

    fn send(&mut self, request: Bytes, io: &mut Io<'_>) {
        self.awaiting = true;
        match self.id {
            Some(conn) if self.connected => io.outputs.push_back(Output::Transmit {
                conn,
                data: request,
            }),
            Some(_) => self.unsent = Some(request),
            None => {
                self.id = Some(io.open_conn());
                self.unsent = Some(request);
            }
        }
    }

    /// Forgets the connection (closed by either side); the next request
    /// opens another.
    fn reset(&mut self, limits: Limits) {
        *self = HttpConn::new(limits);
    }
}

/// The long-polling transport of one Engine.IO session.
#[derive(Debug)]
pub(crate) struct PollingLink {
    host: String,
    /// `{path}?EIO=4&transport=polling[&query]`.
    target: String,
    sid: Option<String>,
    /// The server's `maxPayload`: most bytes in one POST body (0: none).
    max_payload: usize,
    get: HttpConn,
    post: HttpConn,
    /// Packets waiting for the next POST.
    queue: Vec<engine::Packet>,
    /// The cache-buster of the next request (the reference's `t`).
    stamp: u64,
    limits: Limits,
    max_packets: usize,
    /// Ask for gzip or deflate bodies (and decode them).
    accept_compressed: bool,
}

impl PollingLink {
    /// A transport for `host` at `target`; nothing is sent before
    /// [`PollingLink::poll`] (the first GET is the handshake).
    pub(crate) fn new(
        host: String,
        target: String,
        stamp: u64,
        limits: Limits,
        max_packets: usize,
        accept_compressed: bool,
    ) -> Self {
        PollingLink {
            accept_compressed,
            host,
            target,
            sid: None,
            max_payload: 0,
            get: HttpConn::new(limits),
            post: HttpConn::new(limits),
            queue: Vec::new(),
            stamp,
            limits,
            max_packets,
        }
    }

    /// Whether `conn` is one of ours.
    pub(crate) fn owns(&self, conn: ConnId) -> bool {
        self.get.id == Some(conn) || self.post.id == Some(conn)
    }

    /// The connections open or opening.
    pub(crate) fn conns(&self) -> impl Iterator<Item = ConnId> {
        [self.get.id, self.post.id].into_iter().flatten()
    }

    /// The session from the open packet: later requests carry its id, and
    /// POST bodies stay within its `maxPayload`.
    pub(crate) fn set_session(&mut self, sid: &str, max_payload: u64) {
        self.sid = Some(String::from(sid));
        self.max_payload = usize::try_from(max_payload).unwrap_or(usize::MAX);
    }

    /// No request out: what pausing for an upgrade waits for.
    pub(crate) fn is_idle(&self) -> bool {
        !self.get.awaiting && !self.post.awaiting
    }

    /// No POST out: engine.io-client's `writable`, which volatile emits
    /// need (they are dropped otherwise).
    pub(crate) fn is_writable(&self) -> bool {
        !self.post.awaiting
    }

    /// Sends the next GET unless one is out.
    pub(crate) fn poll(&mut self, io: &mut Io<'_>) {
        if self.get.awaiting {
            return;
        }
        let target = self.next_target();
        let extra = io.headers.for_request(&target);
        let mut request = OutgoingRequest::new(Method::Get, target).with_header("Accept", "*/*");
        if self.accept_compressed {
            request = request.with_header("Accept-Encoding", "gzip, deflate");
        }
        request.headers.extend(extra);
        let request = request.to_bytes(&self.host);
        self.get.send(request, io);
    }

    /// Queues `packets` for a POST, sent at once unless one is out.
    pub(crate) fn write(&mut self, packets: &[engine::Packet], io: &mut Io<'_>) {
        self.queue.extend_from_slice(packets);
        self.flush(io);
    }

    /// Sends what is still queued and a close packet, whether or not a POST
    /// is out (the server reads requests on one connection in order), when
    /// the POST connection is up: a DISCONNECT written just before closing
    /// reaches the server before the close, as engine.io-client drains its
    /// write buffer before closing.
    /// `held`: packets that waited for an upgrade, sent after the queue.
    pub(crate) fn write_close(&mut self, held: &[engine::Packet], io: &mut Io<'_>) {
        if self.sid.is_none() || !self.post.connected {
            return;
        }
        let mut packets = core::mem::take(&mut self.queue);
        packets.extend_from_slice(held);
        packets.push(engine::Packet::Close);
        let request = self.post_request(&packets, io);
        if let Some(conn) = self.post.id {
            io.outputs.push_back(Output::Transmit {
                conn,
                data: request,
            });
        }
    }

    /// The GET connection while a GET is out: closing it before the server
    /// has read our close would abort the poll, which the server takes for
    /// a transport error ahead of the packets still on the POST connection.
    pub(crate) fn pending_get(&self) -> Option<ConnId> {
        self.get.id.filter(|_| self.get.awaiting)
    }

    /// Input: `conn` is up.
    pub(crate) fn on_connected(&mut self, conn: ConnId, io: &mut Io<'_>) {
        let Some(side) = self.side(conn) else {
            return;
        };
        let http = self.conn_mut(side);
        http.connected = true;
        if let Some(data) = http.unsent.take() {
            io.outputs.push_back(Output::Transmit { conn, data });
        }
    }

    /// Input: bytes from `conn`.
    pub(crate) fn on_data(&mut self, conn: ConnId, data: &[u8], io: &mut Io<'_>) -> Vec<Polled> {
        let Some(side) = self.side(conn) else {
            return Vec::new();
        };
        self.conn_mut(side).parser.feed(data);
        let mut results = Vec::new();
        loop {
            match self.conn_mut(side).parser.poll_response() {
                Ok(None) => return results,
                Ok(Some(response)) => {
                    if !response.keep_alive {
                        io.outputs.push_back(Output::Close { conn });
                    }
                    let keep_alive = response.keep_alive;
                    let polled = self.on_response(side, response, io);
                    if !keep_alive {
                        let limits = self.limits;
                        self.conn_mut(side).reset(limits);
                    }
                    let fault = matches!(polled, Polled::Fault(_));
                    results.push(polled);
                    if fault {
                        return results;
                    }
                }
                Err(_) => {
                    results.push(Polled::Fault(side.fault()));
                    return results;
                }
            }
        }
    }

    /// Input: `conn` closed. A connection closed while idle is only
    /// forgotten; one with a request out fails the transport, unless its
    /// answer ran up to the close.
    pub(crate) fn on_closed(&mut self, conn: ConnId, io: &mut Io<'_>) -> Option<Polled> {
        let side = self.side(conn)?;
        let limits = self.limits;
        let http = self.conn_mut(side);
        let awaiting = http.awaiting;
        let finished = http.parser.finish();
        http.reset(limits);
        if !awaiting {
            return None;
        }
        Some(match finished {
            Ok(Some(response)) => self.on_response(side, response, io),
            Ok(None) | Err(HttpError::Truncated) | Err(_) => Polled::Fault(side.fault()),
        })
    }

    fn on_response(&mut self, side: Side, response: ReceivedResponse, io: &mut Io<'_>) -> Polled {
        let status = response.status;
        let set_cookies = response
            .headers
            .iter()
            .map(|header| (header.name.as_str(), header.value.as_str()));
        io.headers.on_response(&self.target, set_cookies);
        // Decoded within the body bound: a small compressed body may not
        // inflate into unbounded memory.
        let coding = response.header("content-encoding");
        let body = match coding {
            None => response.body.clone(),
            Some(_) => {
                match compression::decode(coding, &response.body, self.limits.max_body_bytes) {
                    Ok(body) => Bytes::from(body),
                    Err(_) => {
                        self.conn_mut(side).awaiting = false;
                        return Polled::Fault(side.fault());
                    }
                }
            }
        };
        let http = self.conn_mut(side);
        if !http.awaiting {
            // An answer nobody asked for.
            return Polled::Fault(side.fault());
        }
        http.awaiting = false;
        if status != 200 {
            return Polled::Fault(side.fault());
        }
        match side {
            Side::Get => match decode_payload(body, self.max_packets) {
                Ok(packets) => Polled::Packets(packets),
                Err(_) => Polled::Fault("transport error"),
            },
            Side::Post => {
                self.flush(io);
                Polled::Drained
            }
        }
    }

    fn flush(&mut self, io: &mut Io<'_>) {
        if self.post.awaiting || self.queue.is_empty() || self.sid.is_none() {
            return;
        }
        let count = writable_count(&self.queue, self.max_payload);
        let rest = self.queue.split_off(count.min(self.queue.len()));
        let packets = core::mem::replace(&mut self.queue, rest);
        let request = self.post_request(&packets, io);
        self.post.send(request, io);
    }

    fn post_request(&mut self, packets: &[engine::Packet], io: &mut Io<'_>) -> Bytes {
        let mut body = BytesMut::new();
        encode_payload(packets, &mut body);
        let target = self.next_target();
        let extra = io.headers.for_request(&target);
        let mut request = OutgoingRequest::new(Method::Post, target)
            .with_header("Accept", "*/*")
            .with_header("Content-Type", "text/plain;charset=UTF-8")
            .with_body(body.freeze());
        request.headers.extend(extra);
        request.to_bytes(&self.host)
    }

    /// The target with the session id and a fresh cache-buster.
    fn next_target(&mut self) -> String {
        let mut target = self.target.clone();
        if let Some(sid) = &self.sid {
            target.push_str("&sid=");
            target.push_str(sid);
        }
        target.push_str("&t=");
        push_stamp(&mut target, self.stamp);
        self.stamp = self.stamp.wrapping_add(1);
        target
    }

    fn side(&self, conn: ConnId) -> Option<Side> {
        if self.get.id == Some(conn) {
            Some(Side::Get)
        } else if self.post.id == Some(conn) {
            Some(Side::Post)
        } else {
            None
        }
    }

    fn conn_mut(&mut self, side: Side) -> &mut HttpConn {
        match side {
            Side::Get => &mut self.get,
            Side::Post => &mut self.post,
        }
    }
}

/// How many of the first `packets` one POST takes: as many as fit in
/// `max_payload` bytes of payload (0: no bound), at least one (as the
/// reference's `_getWritablePackets`; the server refuses a larger body).
fn writable_count(packets: &[engine::Packet], max_payload: usize) -> usize {
    if max_payload == 0 {
        return packets.len();
    }
    let mut size = 0usize;
    for (index, packet) in packets.iter().enumerate() {
        size = size.saturating_add(packet.encoded_len());
        if index > 0 {
            size = size.saturating_add(1);
            if size > max_payload {
                return index;
            }
        }
    }
    packets.len()
}

/// Eight URL-safe characters of `stamp` (as the reference's random `t`).
fn push_stamp(out: &mut String, stamp: u64) {
    const ALPHABET: &[u8; 64] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_";
    for shift in (0..8).rev() {
        let index = (stamp >> (shift * 6)) & 63;
        let byte = ALPHABET.get(index as usize).copied().unwrap_or(b'0');
        out.push(char::from(byte));
    }
}
