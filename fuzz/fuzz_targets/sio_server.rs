//! The whole Socket.IO server state machine, driven by a sequence of
//! operations decoded from the input: handshakes (polling and WebSocket),
//! polling GETs and POSTs for known sessions, random requests, WebSocket
//! bytes (raw, or well-formed masked frames with Engine.IO / Socket.IO
//! payloads), flushes, closed connections, time passing, and the
//! application's calls (accept, reject, emit, ack, join, leave, broadcast,
//! disconnect, shutdown). After every operation the outputs are drained
//! until `Timeout`.
//!
//! Nothing may panic, and the outputs must stay consistent: one response per
//! request, transmits only on live WebSockets, events only for live
//! sockets, acks only for ids asked for, socket counts that match the
//! events; once every connection is closed and time has run far ahead,
//! nothing is left (no socket, no session, no connection).
#![no_main]

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use bytestring::ByteString;
use libfuzzer_sys::arbitrary::{Result as ArbResult, Unstructured};
use libfuzzer_sys::fuzz_target;
use sio_core::engine::{AllowedOrigins, ConnId, Cookie, Cors, Io};
use sio_core::packet::{self, RawJson};
use sio_core::server::{
    BroadcastOptions, Config, ConnectRequestId, Event, Output, RecoveryConfig, Server, ServerError,
    SocketId,
};
use sio_core::wire::http::{Header, Method, Request};
use sio_core::wire::ws::frame::{encode_frame, OpCode};
use sio_core::Instant;

/// Most operations per input, so one run stays fast.
const MAX_OPS: usize = 256;

const ROOMS: [&str; 3] = ["a", "b", "c"];

/// Socket.IO packets a client might send (Engine.IO `4` prefix added later).
const SIO_PACKETS: &[&str] = &[
    "0",
    "0{\"token\":\"x\"}",
    "0/admin,",
    "0/admin,{\"t\":1}",
    "0/dyn,",
    "1",
    "1/admin,",
    "2[\"a\",1]",
    "2[\"a\"]",
    "20[\"a\",{\"b\":[1,2]}]",
    "2/admin,7[\"x\"]",
    "30[]",
    "31[\"ok\"]",
    "3/admin,0[1]",
    "51-[\"up\",{\"_placeholder\":true,\"num\":0}]",
    "52-[\"up\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]",
    "61-0[{\"_placeholder\":true,\"num\":0}]",
    "4{\"message\":\"no\"}",
    "2",
    "2[]",
    "2[1,2",
    "9",
];

/// Engine.IO packets other than messages.
const EIO_PACKETS: &[&str] = &["1", "2", "2probe", "3", "3probe", "5", "6", "0", "7"];

/// Event data the application emits (arrays, as the API asks).
const APP_DATA: &[&str] = &[
    "[\"tick\"]",
    "[\"tick\",{\"n\":1}]",
    "[\"bin\",{\"_placeholder\":true,\"num\":0}]",
    "[\"s\",\"\\u00e9\\n\"]",
];

fn config(u: &mut Unstructured) -> ArbResult<Config> {
    let flags = u.arbitrary::<u8>()?;
    let mut config = Config::default();
    let engine = &mut config.engine;
    engine.ping_interval = Duration::from_millis(100);
    engine.ping_timeout = Duration::from_millis(50);
    engine.upgrade_timeout = Duration::from_millis(80);
    engine.max_http_buffer_size = 64 + usize::from(u.arbitrary::<u8>()?);
    engine.max_buffered_packets = 1 + usize::from(u.arbitrary::<u8>()? & 15);
    engine.max_buffered_bytes = 64 + usize::from(u.arbitrary::<u16>()? & 0x3fff);
    engine.max_payload_packets = 1 + usize::from(u.arbitrary::<u8>()? & 7);
    engine.polling = flags & 1 == 0 || flags & 2 == 0;
    engine.websocket = flags & 2 == 0 || flags & 1 == 0;
    engine.allow_upgrades = flags & 4 == 0;
    if flags & 8 != 0 {
        let mut cors = Cors::new(AllowedOrigins::List(vec!["http://a.test".into()]));
        cors.credentials = flags & 16 != 0;
        engine.cors = Some(cors);
    }
    if flags & 32 != 0 {
        engine.cookie = Some(Cookie::default());
    }
    config.connect_timeout = Duration::from_millis(300);
    config.max_pending_acks = 1 + usize::from(u.arbitrary::<u8>()? & 3);
    config.max_namespaces_per_session = 1 + usize::from(u.arbitrary::<u8>()? & 3);
    config.packet_limits = packet::Limits {
        max_attachments: usize::from(u.arbitrary::<u8>()? & 3),
        max_attachment_bytes: 64,
    };
    if flags & 64 != 0 {
        // Recovery on, with a short window and a small byte cap, so CONNECT
        // payloads with pid and offset, replays and evictions are reached.
        let mut recovery = RecoveryConfig::default();
        recovery.max_disconnection_duration = Duration::from_millis(200);
        recovery.max_bytes = 256 + usize::from(u.arbitrary::<u16>()? & 0xfff);
        config.connection_state_recovery = Some(recovery);
    }
    Ok(config)
}

fn header(name: &str, value: &str) -> Header {
    Header {
        name: name.into(),
        value: value.into(),
    }
}

fn request(method: Method, target: String, headers: Vec<Header>, body: Bytes) -> Request {
    Request {
        method,
        target,
        headers,
        body,
        keep_alive: true,
    }
}

fn upgrade_headers() -> Vec<Header> {
    vec![
        header("host", "localhost"),
        header("upgrade", "websocket"),
        header("connection", "Upgrade"),
        header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
        header("sec-websocket-version", "13"),
    ]
}

/// The payload of an unmasked server frame, when it is a whole one.
fn server_frame_payload(data: &[u8]) -> Option<&[u8]> {
    let len = usize::from(*data.get(1)? & 0x7f);
    match len {
        126 => data.get(4..),
        127 => data.get(10..),
        _ => data.get(2..),
    }
}

/// The sid of an open packet `0{"sid":"...",...}`.
fn open_sid(payload: &[u8]) -> Option<String> {
    let rest = payload.strip_prefix(b"0{\"sid\":\"")?;
    let end = rest.iter().position(|&b| b == b'"')?;
    String::from_utf8(rest.get(..end)?.to_vec()).ok()
}

/// What the driver knows, and what the outputs must agree with.
struct Driver {
    server: Server,
    now: Instant,
    next_conn: u64,
    /// Requests handed in and not answered yet.
    awaiting: BTreeSet<ConnId>,
    /// Requests answered (Respond or Upgrade).
    answered: BTreeSet<ConnId>,
    /// Connections that became WebSockets, in order (closed ones stay listed).
    websockets: Vec<ConnId>,
    /// Connections the server closed or the driver reported closed.
    closed: BTreeSet<ConnId>,
    /// Engine.IO sids seen in open packets.
    sids: Vec<String>,
    requests: Vec<ConnectRequestId>,
    /// Sockets accepted and not yet disconnected.
    live: BTreeSet<SocketId>,
    /// Every socket ever accepted (for calls with stale handles).
    sockets: Vec<SocketId>,
    /// Acks each live socket waits for.
    acks: BTreeMap<SocketId, BTreeSet<u64>>,
    /// Acks the client asked for, per socket.
    client_acks: Vec<(SocketId, u64)>,
    deadline: Option<Instant>,
}

impl Driver {
    fn new(server: Server) -> Self {
        let mut driver = Driver {
            server,
            now: Instant::from_millis(1),
            next_conn: 0,
            awaiting: BTreeSet::new(),
            answered: BTreeSet::new(),
            websockets: Vec::new(),
            closed: BTreeSet::new(),
            sids: Vec::new(),
            requests: Vec::new(),
            live: BTreeSet::new(),
            sockets: Vec::new(),
            acks: BTreeMap::new(),
            client_acks: Vec::new(),
            deadline: None,
        };
        driver.drain();
        driver
    }

    fn fresh_conn(&mut self) -> ConnId {
        self.next_conn += 1;
        ConnId(self.next_conn)
    }

    fn handle_request(&mut self, req: Request) {
        let conn = self.fresh_conn();
        self.awaiting.insert(conn);
        self.server.handle_request(self.now, conn, req);
    }

    fn answer(&mut self, conn: ConnId) {
        assert!(
            !self.closed.contains(&conn),
            "{conn:?} answered after close"
        );
        assert!(
            self.awaiting.remove(&conn),
            "{conn:?} answered twice, or never asked (answered before: {})",
            self.answered.contains(&conn)
        );
        self.answered.insert(conn);
    }

    fn drain(&mut self) {
        loop {
            match self.server.poll_output() {
                Output::Io(io) => self.on_io(io),
                Output::Event(event) => self.on_event(event),
                Output::Timeout(at) => {
                    self.deadline = at;
                    break;
                }
                _ => {}
            }
        }
        assert_eq!(self.server.socket_count(), self.live.len(), "socket count");
        for (socket, ids) in &self.acks {
            assert_eq!(self.server.pending_ack_count(*socket), ids.len(), "acks");
        }
    }

    fn on_io(&mut self, io: Io) {
        match io {
            Io::Respond { conn, response } => {
                self.answer(conn);
                if response.status == 200 {
                    if let Some(sid) = open_sid(&response.body) {
                        self.sids.push(sid);
                    }
                }
            }
            Io::Upgrade { conn, response } => {
                self.answer(conn);
                assert_eq!(response.status, 101);
                self.websockets.push(conn);
            }
            Io::Transmit { conn, data } => {
                assert!(self.websockets.contains(&conn), "transmit on {conn:?}");
                assert!(!self.closed.contains(&conn), "transmit after close");
                if let Some(sid) = server_frame_payload(&data).and_then(open_sid) {
                    self.sids.push(sid);
                }
            }
            Io::Close { conn } => {
                assert!(
                    self.answered.contains(&conn) || self.websockets.contains(&conn),
                    "close of unknown {conn:?}"
                );
                self.closed.insert(conn);
            }
            Io::Abort { conn } => {
                assert!(
                    self.answered.contains(&conn) || self.websockets.contains(&conn),
                    "abort of unknown {conn:?}"
                );
                self.closed.insert(conn);
            }
            _ => {}
        }
    }

    fn on_event(&mut self, event: Event) {
        match event {
            Event::ConnectRequest { request, .. } => {
                assert!(!self.requests.contains(&request), "request id reused");
                self.requests.push(request);
            }
            Event::Connected { socket, .. } => {
                assert!(self.live.contains(&socket), "Connected without accept");
            }
            Event::Event { socket, ack, .. } => {
                assert!(self.live.contains(&socket), "event for dead socket");
                if let Some(id) = ack {
                    self.client_acks.push((socket, id));
                }
            }
            Event::Ack { socket, id, .. } | Event::AckTimeout { socket, id } => {
                let waiting = self.acks.get_mut(&socket);
                assert!(
                    waiting.is_some_and(|ids| ids.remove(&id)),
                    "ack {id} for {socket:?} not asked for"
                );
            }
            Event::Disconnect { socket, .. } => {
                assert!(self.live.remove(&socket), "second disconnect");
                self.acks.remove(&socket);
            }
            _ => {}
        }
    }

    fn pick<T: Copy>(u: &mut Unstructured, items: &[T]) -> ArbResult<Option<T>> {
        if items.is_empty() {
            return Ok(None);
        }
        Ok(Some(*u.choose(items)?))
    }

    fn pick_sid(&self, u: &mut Unstructured) -> ArbResult<String> {
        if self.sids.is_empty() || u.ratio(1, 16)? {
            return Ok(String::from("AAAAAAAAAAAAAAAAAAAA"));
        }
        Ok(u.choose(&self.sids)?.clone())
    }

    fn pick_socket(&self, u: &mut Unstructured) -> ArbResult<Option<SocketId>> {
        // Mostly live sockets; sometimes any, to exercise stale handles.
        if u.ratio(3, 4)? {
            let live: Vec<SocketId> = self.live.iter().copied().collect();
            if let Some(socket) = Self::pick(u, &live)? {
                return Ok(Some(socket));
            }
        }
        Self::pick(u, &self.sockets)
    }

    fn pick_ws(&self, u: &mut Unstructured) -> ArbResult<ConnId> {
        Ok(Self::pick(u, &self.websockets)?.unwrap_or(ConnId(u64::MAX)))
    }

    fn step(&mut self, u: &mut Unstructured) -> ArbResult<()> {
        match u.int_in_range(0u8..=23)? {
            0 | 1 => {
                let extra = query_tail(u)?;
                let target = format!("/socket.io/?EIO=4&transport=polling{extra}");
                let headers = random_headers(u)?;
                self.handle_request(request(Method::Get, target, headers, Bytes::new()));
            }
            2 | 3 => {
                let sid = if u.ratio(1, 3)? {
                    format!("&sid={}", self.pick_sid(u)?)
                } else {
                    String::new()
                };
                let eio = if u.ratio(1, 16)? { "3" } else { "4" };
                let target = format!("/socket.io/?EIO={eio}&transport=websocket{sid}");
                let mut headers = upgrade_headers();
                if u.ratio(1, 8)? {
                    headers.remove(u.choose_index(headers.len())?);
                }
                self.handle_request(request(Method::Get, target, headers, Bytes::new()));
            }
            4 | 5 => {
                let sid = self.pick_sid(u)?;
                let target = format!("/socket.io/?EIO=4&transport=polling&sid={sid}");
                self.handle_request(request(Method::Get, target, Vec::new(), Bytes::new()));
            }
            6 | 7 => {
                let sid = self.pick_sid(u)?;
                let target = format!("/socket.io/?EIO=4&transport=polling&sid={sid}");
                let body = polling_body(u)?;
                let mut headers = vec![header("content-type", "text/plain;charset=UTF-8")];
                if u.ratio(1, 16)? {
                    headers = vec![header("content-type", "application/octet-stream")];
                }
                self.handle_request(request(Method::Post, target, headers, body));
            }
            8 => {
                let req = random_request(u, &self.sids)?;
                if u.ratio(1, 4)? {
                    let conn = self.fresh_conn();
                    self.awaiting.insert(conn);
                    let message = u.ratio(1, 2)?.then_some("no \"entry\"\r\n");
                    self.server.forbid(self.now, conn, &req, message);
                } else if self.server.matches(&req) {
                    self.handle_request(req);
                }
            }
            9 => {
                let conn = self.pick_ws(u)?;
                let len = u.int_in_range(0..=64)?;
                let bytes = u.bytes(len)?.to_vec();
                self.server.handle_ws_data(self.now, conn, &bytes);
            }
            10..=12 => {
                let conn = self.pick_ws(u)?;
                let frames = client_frames(u)?;
                // Fed in two pieces, split anywhere.
                let split = u.int_in_range(0..=frames.len())?;
                let (first, second) = frames.split_at(split);
                self.server.handle_ws_data(self.now, conn, first);
                self.drain();
                self.server.handle_ws_data(self.now, conn, second);
            }
            13 => {
                let conn = self.pick_ws(u)?;
                if u.arbitrary()? {
                    self.server.handle_flushed(self.now, conn);
                } else {
                    let frames = u.int_in_range(0..=4)?;
                    let bytes = u.int_in_range(0..=4096)?;
                    self.server.handle_written(self.now, conn, frames, bytes);
                }
            }
            14 => {
                let mut conns: Vec<ConnId> = self.awaiting.iter().copied().collect();
                conns.extend(self.websockets.iter().copied());
                if let Some(conn) = Self::pick(u, &conns)? {
                    self.awaiting.remove(&conn);
                    self.closed.insert(conn);
                    self.server.handle_conn_closed(self.now, conn);
                }
            }
            15 => {
                let step = match u.int_in_range(0u8..=3)? {
                    0 => u64::from(u.arbitrary::<u8>()?),
                    1 => self
                        .deadline
                        .map_or(0, |at| (at - self.now).as_millis() as u64),
                    2 => 1_000,
                    _ => 40_000,
                };
                self.now = self.now + Duration::from_millis(step);
                self.timeout();
            }
            16 => {
                if let Some(request) = Self::pick(u, &self.requests)? {
                    if let Ok(socket) = self.server.accept(self.now, request) {
                        assert!(self.live.insert(socket), "socket id reused");
                        self.sockets.push(socket);
                    }
                }
            }
            17 => {
                if let Some(request) = Self::pick(u, &self.requests)? {
                    let data = u.ratio(1, 2)?.then(|| json("{\"why\":\"no\"}"));
                    let _ = self
                        .server
                        .reject(self.now, request, "Not \"allowed\"", data);
                }
            }
            18 => {
                if let Some(socket) = self.pick_socket(u)? {
                    let (data, attachments) = app_data(u)?;
                    let timeout = u.ratio(1, 2)?.then(|| ack_timeout(u)).transpose()?;
                    let result = self
                        .server
                        .emit(self.now, socket, data, attachments, timeout);
                    self.check_live_call(socket, result.map(|_| ()));
                    if let Ok(Some(id)) = result {
                        assert!(self.acks.entry(socket).or_default().insert(id));
                    }
                }
            }
            19 => {
                if let Some(socket) = self.pick_socket(u)? {
                    let room = *u.choose(&ROOMS)?;
                    let result = if u.ratio(2, 3)? {
                        self.server.join(socket, room)
                    } else {
                        self.server.leave(socket, room)
                    };
                    self.check_live_call(socket, result);
                }
            }
            20 => {
                let opts = broadcast_options(u, &self.sockets)?;
                let nsp = *u.choose(&["/", "/admin", "/dyn", "/none"])?;
                let (data, attachments) = app_data(u)?;
                if u.ratio(1, 2)? {
                    let timeout = ack_timeout(u)?;
                    let sent = self.server.broadcast_with_ack(
                        self.now,
                        nsp,
                        &opts,
                        data,
                        attachments,
                        timeout,
                    );
                    for (socket, id) in sent {
                        assert!(self.live.contains(&socket), "broadcast to dead socket");
                        assert!(self.acks.entry(socket).or_default().insert(id));
                    }
                } else {
                    let sent = self
                        .server
                        .broadcast(self.now, nsp, &opts, data, attachments);
                    assert!(sent <= self.live.len());
                }
            }
            21 => {
                if let Some(&(socket, id)) = self.client_acks.last() {
                    self.client_acks.pop();
                    let (data, attachments) = app_data(u)?;
                    let result = self.server.ack(self.now, socket, id, data, attachments);
                    self.check_live_call(socket, result);
                }
            }
            22 => {
                if let Some(socket) = self.pick_socket(u)? {
                    let result = if u.ratio(3, 4)? {
                        self.server.disconnect(self.now, socket)
                    } else {
                        self.server.disconnect_session(self.now, socket)
                    };
                    self.check_live_call(socket, result);
                }
            }
            _ => match u.int_in_range(0u8..=3)? {
                0 => {
                    let _ = self.server.add_namespace("/admin");
                    assert_eq!(
                        self.server.add_namespace("admin"),
                        Err(ServerError::InvalidNamespace)
                    );
                }
                1 => self.server.set_dynamic_namespaces(u.arbitrary()?),
                2 if u.ratio(1, 4)? => self.server.shutdown(self.now),
                _ => {
                    for room in ROOMS {
                        let members = self.server.room_members("/", room);
                        assert!(members.iter().all(|s| self.live.contains(s)));
                    }
                }
            },
        }
        self.drain();
        Ok(())
    }

    /// A call on `socket` fails exactly when the socket is gone.
    fn check_live_call(&self, socket: SocketId, result: Result<(), ServerError>) {
        match result {
            Err(ServerError::UnknownSocket) => {
                assert!(!self.live.contains(&socket), "live socket unknown")
            }
            Err(ServerError::TooManyPendingAcks) => {}
            Err(other) => panic!("unexpected {other:?}"),
            Ok(()) => assert!(self.live.contains(&socket), "dead socket took a call"),
        }
    }

    /// Runs the deadlines up to `now`; afterwards none may be due, or a
    /// driver would spin.
    fn timeout(&mut self) {
        self.server.handle_timeout(self.now);
        self.drain();
        if let Some(at) = self.deadline {
            assert!(
                at > self.now,
                "deadline {at:?} due right after handle_timeout"
            );
        }
    }

    /// Closes every connection, lets time run out, and checks that nothing
    /// is left.
    fn wind_down(&mut self) {
        let mut conns: Vec<ConnId> = self.awaiting.iter().copied().collect();
        conns.extend(self.websockets.iter().copied());
        for conn in conns {
            self.awaiting.remove(&conn);
            self.closed.insert(conn);
            self.server.handle_conn_closed(self.now, conn);
            self.drain();
        }
        for _ in 0..64 {
            let Some(at) = self.deadline else {
                break;
            };
            self.now = self.now.max(at) + Duration::from_millis(1);
            self.timeout();
        }
        assert_eq!(self.deadline, None, "timers left after everything closed");
        assert_eq!(self.server.socket_count(), 0);
        assert_eq!(self.server.engine().session_count(), 0);
        let footprint = self.server.engine().footprint();
        assert_eq!(footprint.sessions, 0, "{footprint:?}");
        assert_eq!(footprint.connections, 0, "{footprint:?}");
        assert!(
            self.awaiting.is_empty(),
            "requests never answered: {:?}",
            self.awaiting
        );
        for request in self.requests.clone() {
            assert_eq!(
                self.server.accept(self.now, request),
                Err(ServerError::UnknownRequest)
            );
        }
    }
}

fn json(text: &str) -> RawJson {
    RawJson::parse(ByteString::from(text)).expect("valid JSON")
}

fn app_data(u: &mut Unstructured) -> ArbResult<(RawJson, Vec<Bytes>)> {
    let text = *u.choose(APP_DATA)?;
    let attachments = if text.contains("_placeholder") {
        let len = u.int_in_range(0..=8)?;
        vec![Bytes::copy_from_slice(u.bytes(len)?)]
    } else {
        Vec::new()
    };
    Ok((json(text), attachments))
}

fn ack_timeout(u: &mut Unstructured) -> ArbResult<Duration> {
    Ok(match u.int_in_range(0u8..=3)? {
        0 => Duration::ZERO,
        1 => Duration::MAX,
        _ => Duration::from_millis(u64::from(u.arbitrary::<u8>()?)),
    })
}

fn broadcast_options(u: &mut Unstructured, sockets: &[SocketId]) -> ArbResult<BroadcastOptions> {
    let mut opts = BroadcastOptions::default();
    for room in ROOMS {
        if u.ratio(1, 3)? {
            opts.rooms.push(ByteString::from_static(room));
        }
        if u.ratio(1, 6)? {
            opts.except.push(ByteString::from_static(room));
        }
    }
    if let Some(socket) = Driver::pick(u, sockets)? {
        if u.ratio(1, 3)? {
            opts.except_sockets.push(socket);
        }
    }
    opts.volatile = u.ratio(1, 3)?;
    Ok(opts)
}

/// `&key=value` pairs, sometimes repeated or odd.
fn query_tail(u: &mut Unstructured) -> ArbResult<String> {
    let mut tail = String::new();
    for _ in 0..u.int_in_range(0..=2)? {
        let key = *u.choose(&["t", "sid", "EIO", "transport", "b64", "x%ZZ", ""])?;
        let value = *u.choose(&["1", "", "polling", "websocket", "%00", "a+b"])?;
        tail.push_str(&format!("&{key}={value}"));
    }
    Ok(tail)
}

fn random_headers(u: &mut Unstructured) -> ArbResult<Vec<Header>> {
    let mut headers = Vec::new();
    for _ in 0..u.int_in_range(0..=2)? {
        let (name, value) = *u.choose(&[
            ("origin", "http://a.test"),
            ("origin", "http://b.test"),
            ("origin", "\u{1}bad"),
            ("user-agent", "Mozilla/4.0 (compatible;MSIE 8.0)"),
            ("cookie", "io=abc"),
            ("access-control-request-headers", "x-a"),
        ])?;
        headers.push(header(name, value));
    }
    Ok(headers)
}

/// Any request for the endpoint (or not): odd methods, targets, bodies.
fn random_request(u: &mut Unstructured, sids: &[String]) -> ArbResult<Request> {
    let method = match u.int_in_range(0u8..=6)? {
        0 => Method::Get,
        1 => Method::Post,
        2 => Method::Put,
        3 => Method::Options,
        4 => Method::Head,
        5 => Method::Delete,
        _ => Method::Other("PATCH".into()),
    };
    let path = *u.choose(&["/socket.io/", "/socket.io", "/other", "/socket.io/x"])?;
    let transport = *u.choose(&["polling", "websocket", "flash", ""])?;
    let mut target = format!("{path}?EIO=4&transport={transport}");
    if let Some(sid) = Driver::pick(u, &sids.iter().map(String::as_str).collect::<Vec<_>>())? {
        if u.ratio(1, 2)? {
            target.push_str("&sid=");
            target.push_str(sid);
        }
    }
    target.push_str(&query_tail(u)?);
    let mut headers = random_headers(u)?;
    if u.ratio(1, 3)? {
        headers.extend(upgrade_headers());
    }
    let len = u.int_in_range(0..=32)?;
    let body = Bytes::copy_from_slice(u.bytes(len)?);
    Ok(request(method, target, headers, body))
}

/// One Engine.IO record: a message with a Socket.IO packet, another
/// Engine.IO packet, a base64 binary, or random text.
fn eio_record(u: &mut Unstructured) -> ArbResult<String> {
    Ok(match u.int_in_range(0u8..=5)? {
        0..=2 => format!("4{}", u.choose(SIO_PACKETS)?),
        3 => String::from(*u.choose(EIO_PACKETS)?),
        4 => String::from(*u.choose(&["bAQID", "b", "b!!", "bAA=="])?),
        _ => {
            let len = u.int_in_range(0..=16)?;
            String::from_utf8_lossy(u.bytes(len)?).into_owned()
        }
    })
}

fn polling_body(u: &mut Unstructured) -> ArbResult<Bytes> {
    if u.ratio(1, 8)? {
        let len = u.int_in_range(0..=300)?;
        return Ok(Bytes::copy_from_slice(u.bytes(len)?));
    }
    let mut records = Vec::new();
    for _ in 0..u.int_in_range(1..=4)? {
        records.push(eio_record(u)?);
    }
    Ok(Bytes::from(records.join("\u{1e}")))
}

/// Masked client frames: Engine.IO records as text, random binary, control
/// frames, sometimes fragmented.
fn client_frames(u: &mut Unstructured) -> ArbResult<Vec<u8>> {
    let mut out = BytesMut::new();
    let mask = Some(u.arbitrary::<[u8; 4]>()?);
    for _ in 0..u.int_in_range(1..=3)? {
        match u.int_in_range(0u8..=9)? {
            0..=4 => {
                let record = eio_record(u)?;
                if u.ratio(1, 8)? && record.len() > 1 {
                    let (a, b) = record.as_bytes().split_at(1);
                    encode_frame(&mut out, false, OpCode::Text, a, mask);
                    encode_frame(&mut out, true, OpCode::Continuation, b, mask);
                } else {
                    encode_frame(&mut out, true, OpCode::Text, record.as_bytes(), mask);
                }
            }
            5 => {
                // An ack, likely for an id the server asked for (ids start at 0).
                let id = u.int_in_range(0u64..=4)?;
                let text = format!("43{id}[\"ok\"]");
                encode_frame(&mut out, true, OpCode::Text, text.as_bytes(), mask);
            }
            6 | 7 => {
                let len = u.int_in_range(0..=80)?;
                encode_frame(&mut out, true, OpCode::Binary, u.bytes(len)?, mask);
            }
            8 => {
                let opcode = *u.choose(&[OpCode::Ping, OpCode::Pong, OpCode::Close])?;
                let len = u.int_in_range(0..=4)?;
                encode_frame(&mut out, true, opcode, u.bytes(len)?, mask);
            }
            _ => {
                // An unmasked frame: a protocol error from a client.
                encode_frame(&mut out, true, OpCode::Text, b"42[\"a\"]", None);
            }
        }
    }
    Ok(out.to_vec())
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(config) = config(&mut u) else {
        return;
    };
    let mut driver = Driver::new(Server::new(config, [3; 32]));
    for _ in 0..MAX_OPS {
        if u.is_empty() || driver.step(&mut u).is_err() {
            break;
        }
    }
    driver.wind_down();
});
