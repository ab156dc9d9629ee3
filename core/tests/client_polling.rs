//! The client over HTTP long-polling and its upgrade to WebSocket, against a
//! scripted server that reads the client's requests with the core's HTTP
//! request parser and answers with its response writer, on a simulated
//! clock.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use bytestring::ByteString;
use sio_core::client::{
    Client, ClientEvent, Config, ConnId, DisconnectReason, EmitOptions, Output, Transport,
};
use sio_core::packet::RawJson;
use sio_core::wire::http::{Limits as HttpLimits, Method, Request, RequestParser, Response};
use sio_core::wire::ws::frame::server_frame;
use sio_core::wire::ws::{handshake, Decoder, Limits, Message, OpCode, Role};
use sio_core::Instant;

const OPEN: &str = r#"0{"sid":"eio1","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;
const OPEN_UPGRADE: &str = r#"0{"sid":"eio1","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;

fn json(text: &str) -> RawJson {
    RawJson::parse(ByteString::from(text.to_owned())).unwrap()
}

fn config(transports: &[Transport]) -> Config {
    let mut config = Config::default();
    config.host = "localhost:3000".into();
    config.randomization_factor = 0.0;
    config.transports = transports.to_vec();
    config
}

fn conn(id: u64) -> ConnId {
    // Ids are handed out from 0 in order; find the one with this number.
    ConnIdTable::get(id)
}

/// `ConnId` has no public constructor: ids seen in outputs are recorded
/// here by number.
struct ConnIdTable;

thread_local! {
    static SEEN: std::cell::RefCell<HashMap<u64, ConnId>> = std::cell::RefCell::new(HashMap::new());
}

impl ConnIdTable {
    fn record(id: ConnId) {
        SEEN.with(|seen| seen.borrow_mut().insert(id.as_u64(), id));
    }

    fn get(number: u64) -> ConnId {
        SEEN.with(|seen| *seen.borrow().get(&number).expect("connection never asked"))
    }
}

/// What the server side of one connection read.
struct ServerConn {
    http: RequestParser,
    /// Set once it answered a WebSocket upgrade.
    frames: Option<Decoder>,
    requests: Vec<Request>,
    messages: Vec<Message>,
    /// Every byte read, for exact checks.
    raw: Vec<u8>,
}

struct Sim {
    client: Client,
    now: Instant,
    connects: Vec<u64>,
    closes: Vec<u64>,
    /// Connections left to linger, with their grace.
    lingers: Vec<(u64, Duration)>,
    events: Vec<ClientEvent>,
    conns: HashMap<u64, ServerConn>,
}

impl Sim {
    fn new(config: Config) -> Self {
        Sim {
            client: Client::new(config, [5; 32]),
            now: Instant::ZERO,
            connects: Vec::new(),
            closes: Vec::new(),
            lingers: Vec::new(),
            events: Vec::new(),
            conns: HashMap::new(),
        }
    }

    /// Joined `/`, the handshake GET answered with `open`.
    fn opened(config: Config, open: &str) -> Self {
        let mut sim = Sim::new(config);
        sim.client.connect(sim.now, "/", None).unwrap();
        sim.pump();
        sim.up(0);
        let get = sim.take_requests(0);
        assert_eq!(get.len(), 1);
        sim.answer(0, open);
        sim
    }

    fn pump(&mut self) {
        loop {
            match self.client.poll_output() {
                Output::Connect { conn } => {
                    ConnIdTable::record(conn);
                    self.connects.push(conn.as_u64());
                    self.conns.insert(
                        conn.as_u64(),
                        ServerConn {
                            http: RequestParser::new(HttpLimits::default()),
                            frames: None,
                            requests: Vec::new(),
                            messages: Vec::new(),
                            raw: Vec::new(),
                        },
                    );
                }
                Output::Transmit { conn, data } => self.server_reads(conn.as_u64(), &data),
                Output::Close { conn } => self.closes.push(conn.as_u64()),
                Output::Linger { conn, grace } => self.lingers.push((conn.as_u64(), grace)),
                Output::Event(event) => self.events.push(event),
                Output::Timeout(_) => return,
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    fn server_reads(&mut self, id: u64, data: &[u8]) {
        let server = self
            .conns
            .get_mut(&id)
            .expect("transmit on an unknown connection");
        server.raw.extend_from_slice(data);
        if let Some(frames) = &mut server.frames {
            frames.feed(data);
            while let Some(message) = frames.poll_message().unwrap() {
                server.messages.push(message);
            }
            return;
        }
        server.http.feed(data);
        while let Some(request) = server.http.poll_request().unwrap() {
            server.requests.push(request);
        }
    }

    fn up(&mut self, id: u64) {
        self.client.handle_connected(self.now, conn(id));
        self.pump();
    }

    fn take_requests(&mut self, id: u64) -> Vec<Request> {
        std::mem::take(&mut self.conns.get_mut(&id).unwrap().requests)
    }

    /// The one request pending on `id`: its method, its target without the
    /// cache-buster, and its body.
    fn take_request(&mut self, id: u64) -> (Method, String, String) {
        let mut requests = self.take_requests(id);
        assert_eq!(requests.len(), 1, "requests on {id}: {requests:?}");
        let request = requests.remove(0);
        assert_eq!(request.header("host"), Some("localhost:3000"));
        let (target, stamp) = request.target.rsplit_once("&t=").expect("no t");
        assert_eq!(stamp.len(), 8);
        let body = String::from_utf8(request.body.to_vec()).unwrap();
        (request.method.clone(), target.to_owned(), body)
    }

    fn answer_bytes(&mut self, id: u64, bytes: &[u8]) {
        self.client.handle_data(self.now, conn(id), bytes);
        self.pump();
    }

    fn answer(&mut self, id: u64, body: &str) {
        let response = Response::new(200)
            .with_body("text/plain; charset=UTF-8", Bytes::from(body.to_owned()))
            .to_bytes();
        self.answer_bytes(id, &response);
    }

    /// Accepts the WebSocket upgrade asked on `id`.
    fn accept_ws(&mut self, id: u64) -> String {
        let mut requests = self.take_requests(id);
        assert_eq!(requests.len(), 1);
        let request = requests.remove(0);
        let response = handshake::accept(&request).unwrap().to_bytes();
        self.conns.get_mut(&id).unwrap().frames =
            Some(Decoder::new(Role::Server, Limits::default()));
        self.answer_bytes(id, &response);
        request.target
    }

    fn ws_text(&mut self, id: u64, text: &str) {
        self.answer_bytes(id, &server_frame(OpCode::Text, text.as_bytes()));
    }

    fn take_messages(&mut self, id: u64) -> Vec<String> {
        std::mem::take(&mut self.conns.get_mut(&id).unwrap().messages)
            .into_iter()
            .map(|message| match message {
                Message::Text(text) => text.to_string(),
                other => format!("{other:?}"),
            })
            .collect()
    }

    fn emit(&mut self, data: &str) {
        self.client
            .emit(self.now, "/", json(data), Vec::new(), EmitOptions::new())
            .unwrap();
        self.pump();
    }

    fn take_events(&mut self) -> Vec<ClientEvent> {
        std::mem::take(&mut self.events)
    }
}

const POLL_SID: &str = "/socket.io/?EIO=4&transport=polling&sid=eio1";

#[test]
fn handshake_get_bytes() {
    let mut sim = Sim::new(config(&[Transport::Polling]));
    sim.client.connect(sim.now, "/", None).unwrap();
    sim.pump();
    assert_eq!(sim.connects, [0]);
    assert_eq!(sim.client.transport(), Some(Transport::Polling));
    sim.up(0);
    let requests = sim.take_requests(0);
    let target = &requests[0].target;
    let stamp = target
        .strip_prefix("/socket.io/?EIO=4&transport=polling&t=")
        .unwrap();
    assert_eq!(stamp.len(), 8);
    let expected = format!(
        "GET {target} HTTP/1.1\r\nHost: localhost:3000\r\nAccept: */*\r\n\
         Accept-Encoding: gzip, deflate\r\n\r\n"
    );
    assert_eq!(
        String::from_utf8(sim.conns[&0].raw.clone()).unwrap(),
        expected
    );
}

#[test]
fn polling_open_connect_and_one_post_at_a_time() {
    let mut sim = Sim::opened(config(&[Transport::Polling]), OPEN);
    assert_eq!(
        sim.take_events(),
        [ClientEvent::Open { sid: "eio1".into() }]
    );
    // The CONNECT asked for the POST connection; the next GET went out.
    assert_eq!(sim.connects, [0, 1]);
    assert_eq!(
        sim.take_request(0),
        (Method::Get, POLL_SID.into(), String::new())
    );
    sim.up(1);
    assert_eq!(
        sim.take_request(1),
        (Method::Post, POLL_SID.into(), "40".into())
    );
    // The GET brings the CONNECT reply and a ping; the pong waits for the
    // POST out, and so do writes made meanwhile; then they go together.
    sim.answer(0, "40{\"sid\":\"s1\"}\u{1e}2");
    assert_eq!(
        sim.take_events(),
        [ClientEvent::Connected {
            nsp: "/".into(),
            sid: "s1".into(),
            recovered: false,
        }]
    );
    assert_eq!(
        sim.take_request(0),
        (Method::Get, POLL_SID.into(), String::new())
    );
    sim.emit(r#"["a"]"#);
    sim.emit(r#"["b",1]"#);
    assert!(sim.take_requests(1).is_empty());
    sim.answer(1, "ok");
    assert_eq!(
        sim.take_request(1),
        (
            Method::Post,
            POLL_SID.into(),
            "3\u{1e}42[\"a\"]\u{1e}42[\"b\",1]".into()
        )
    );
    sim.answer(1, "ok");
    assert!(sim.take_requests(1).is_empty());
    assert_eq!(sim.client.transport(), Some(Transport::Polling));
    assert!(sim.closes.is_empty());
}

#[test]
fn binary_emit_is_base64_in_the_payload() {
    let mut sim = Sim::opened(config(&[Transport::Polling]), OPEN);
    sim.up(1);
    sim.answer(1, "ok");
    sim.take_requests(1);
    sim.answer(0, "40{\"sid\":\"s1\"}");
    sim.take_requests(0);
    sim.take_events();
    sim.client
        .emit(
            sim.now,
            "/",
            json(r#"["bin",{"_placeholder":true,"num":0}]"#),
            vec![Bytes::from_static(&[1, 2, 3])],
            EmitOptions::new(),
        )
        .unwrap();
    sim.pump();
    assert_eq!(
        sim.take_request(1).2,
        "451-[\"bin\",{\"_placeholder\":true,\"num\":0}]\u{1e}bAQID"
    );
    // And binary from the server, the same way.
    sim.answer(
        0,
        "451-[\"x\",{\"_placeholder\":true,\"num\":0}]\u{1e}bBAU=",
    );
    let events = sim.take_events();
    let [ClientEvent::Event { attachments, .. }] = events.as_slice() else {
        panic!("{events:?}");
    };
    assert_eq!(attachments, &[Bytes::from_static(&[4, 5])]);
}

#[test]
fn upgrade_waits_for_the_pending_get_then_sends_5_and_held_writes() {
    let mut sim = Sim::opened(
        config(&[Transport::Polling, Transport::WebSocket]),
        OPEN_UPGRADE,
    );
    sim.take_events();
    // POST connection for the CONNECT, then the probe.
    assert_eq!(sim.connects, [0, 1, 2]);
    sim.up(1);
    assert_eq!(sim.take_request(1).2, "40");
    sim.answer(1, "ok");
    sim.take_requests(0);
    sim.answer(0, "40{\"sid\":\"s1\"}");
    assert_eq!(
        sim.take_events(),
        [ClientEvent::Connected {
            nsp: "/".into(),
            sid: "s1".into(),
            recovered: false,
        }]
    );
    sim.up(2);
    let target = sim.accept_ws(2);
    assert_eq!(target, "/socket.io/?EIO=4&transport=websocket&sid=eio1");
    assert_eq!(sim.take_messages(2), ["2probe"]);
    // The GET is still out: polling pauses; writes are held.
    sim.ws_text(2, "3probe");
    sim.emit(r#"["held"]"#);
    assert!(sim.take_requests(1).is_empty());
    assert!(sim.take_messages(2).is_empty());
    assert_eq!(sim.client.transport(), Some(Transport::Polling));
    // The server flushes the GET with a noop: no new GET; 5, then the held write.
    sim.take_requests(0);
    sim.answer(0, "6");
    assert!(sim.take_requests(0).is_empty());
    assert_eq!(sim.take_messages(2), ["5", "42[\"held\"]"]);
    assert_eq!(sim.take_events(), [ClientEvent::Upgraded]);
    assert_eq!(sim.client.transport(), Some(Transport::WebSocket));
    assert_eq!(sim.closes, [0, 1]);
    // Everything goes over the WebSocket now.
    sim.ws_text(2, "2");
    assert_eq!(sim.take_messages(2), ["3"]);
    sim.emit(r#"["after"]"#);
    assert_eq!(sim.take_messages(2), ["42[\"after\"]"]);
    sim.ws_text(2, "42[\"news\"]");
    assert_eq!(sim.take_events().len(), 1);
}

#[test]
fn upgrade_waits_for_the_post_in_flight_too() {
    let mut sim = Sim::opened(
        config(&[Transport::Polling, Transport::WebSocket]),
        OPEN_UPGRADE,
    );
    sim.up(1);
    sim.up(2);
    sim.accept_ws(2);
    sim.take_messages(2);
    sim.ws_text(2, "3probe");
    sim.answer(0, "6");
    // The CONNECT's POST is still out.
    assert!(sim.take_messages(2).is_empty());
    sim.answer(1, "ok");
    assert_eq!(sim.take_messages(2), ["5"]);
    assert_eq!(sim.client.transport(), Some(Transport::WebSocket));
}

#[test]
fn failed_probe_leaves_polling_running() {
    let mut sim = Sim::opened(
        config(&[Transport::Polling, Transport::WebSocket]),
        OPEN_UPGRADE,
    );
    sim.up(1);
    sim.answer(1, "ok");
    sim.answer(0, "40{\"sid\":\"s1\"}");
    sim.up(2);
    sim.take_requests(2);
    sim.answer_bytes(2, b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(sim.closes, [2]);
    sim.take_requests(1);
    sim.emit(r#"["still"]"#);
    assert_eq!(sim.take_request(1).2, "42[\"still\"]");
    assert_eq!(sim.client.transport(), Some(Transport::Polling));
    // A wrong answer to the probe fails it the same way.
    let mut sim = Sim::opened(
        config(&[Transport::Polling, Transport::WebSocket]),
        OPEN_UPGRADE,
    );
    sim.up(2);
    sim.accept_ws(2);
    sim.ws_text(2, "3nope");
    assert_eq!(sim.closes, [2]);
}

#[test]
fn probe_lost_after_3probe_keeps_polling_paused_until_ping_timeout() {
    let mut small = config(&[Transport::Polling, Transport::WebSocket]);
    small.max_buffered_emits = 3;
    let mut sim = Sim::opened(small, OPEN_UPGRADE);
    sim.up(1);
    sim.answer(1, "ok");
    sim.answer(0, "40{\"sid\":\"s1\"}");
    sim.take_requests(0);
    sim.take_requests(1);
    sim.take_events();
    sim.up(2);
    sim.accept_ws(2);
    sim.take_messages(2);
    sim.ws_text(2, "3probe");
    // The probe dies while polling pauses (engine.io-client's upgradeError).
    sim.client.handle_closed(sim.now, conn(2));
    sim.pump();
    assert_eq!(sim.closes, [2]);
    // Writes stay held (up to the buffered-emits bound, as nothing held
    // will ever go), and the GET's answer brings no new GET.
    for _ in 0..5 {
        sim.emit(r#"["held"]"#);
    }
    assert_eq!(sim.client.held_count(), 3);
    sim.answer(0, "6");
    assert!(sim.take_requests(0).is_empty());
    assert!(sim.take_requests(1).is_empty());
    assert_eq!(sim.client.transport(), Some(Transport::Polling));
    assert!(sim.take_events().is_empty());
    // Nothing can reach us: the ping deadline ends it, then reconnection.
    sim.now = Instant::from_millis(45_000);
    sim.client.handle_timeout(sim.now);
    sim.pump();
    assert_eq!(
        sim.take_events(),
        [
            ClientEvent::Closed {
                reason: DisconnectReason::PingTimeout
            },
            ClientEvent::Disconnected {
                nsp: "/".into(),
                reason: DisconnectReason::PingTimeout
            }
        ]
    );
    assert_eq!(sim.closes, [2, 0, 1]);
    assert!(sim.take_requests(1).is_empty());
}

#[test]
fn volatile_emit_during_a_post_is_dropped() {
    let mut sim = Sim::opened(config(&[Transport::Polling]), OPEN);
    sim.up(1);
    sim.answer(1, "ok");
    sim.answer(0, "40{\"sid\":\"s1\"}");
    sim.take_requests(0);
    sim.take_requests(1);
    sim.take_events();
    let volatile = |sim: &mut Sim, data: &str| {
        sim.client
            .emit(
                sim.now,
                "/",
                json(data),
                Vec::new(),
                EmitOptions::new().volatile(),
            )
            .unwrap();
        sim.pump();
    };
    // No POST out: a volatile emit goes.
    volatile(&mut sim, r#"["v1"]"#);
    assert_eq!(sim.take_request(1).2, "42[\"v1\"]");
    // Its POST is out: the next volatile emit is dropped, a plain one waits.
    volatile(&mut sim, r#"["v2"]"#);
    sim.emit(r#"["plain"]"#);
    assert!(sim.take_requests(1).is_empty());
    sim.answer(1, "ok");
    assert_eq!(sim.take_request(1).2, "42[\"plain\"]");
    // A dropped volatile emit that asked for an ack: cancelled at once.
    let id = sim
        .client
        .emit(
            sim.now,
            "/",
            json(r#"["v3"]"#),
            Vec::new(),
            EmitOptions::new()
                .volatile()
                .with_ack(std::time::Duration::from_secs(5)),
        )
        .unwrap();
    sim.pump();
    assert_eq!(
        sim.take_events(),
        [ClientEvent::AckCancelled {
            nsp: "/".into(),
            id: id.unwrap()
        }]
    );
    sim.answer(1, "ok");
    assert!(sim.take_requests(1).is_empty());
}

#[test]
fn no_probe_when_upgrade_is_off_or_not_offered() {
    let mut off = config(&[Transport::Polling, Transport::WebSocket]);
    off.upgrade = false;
    let sim = Sim::opened(off, OPEN_UPGRADE);
    assert_eq!(sim.connects, [0, 1]);
    let sim = Sim::opened(config(&[Transport::Polling, Transport::WebSocket]), OPEN);
    assert_eq!(sim.connects, [0, 1]);
    let sim = Sim::opened(config(&[Transport::Polling]), OPEN_UPGRADE);
    assert_eq!(sim.connects, [0, 1]);
}

#[test]
fn ping_timeout_over_polling_closes_every_connection() {
    let mut sim = Sim::opened(config(&[Transport::Polling]), OPEN);
    sim.up(1);
    sim.answer(1, "ok");
    sim.take_events();
    sim.now = Instant::from_millis(44_999);
    sim.client.handle_timeout(sim.now);
    sim.pump();
    assert!(sim.take_events().is_empty());
    sim.now = Instant::from_millis(45_000);
    sim.client.handle_timeout(sim.now);
    sim.pump();
    assert_eq!(
        sim.take_events(),
        [ClientEvent::Closed {
            reason: DisconnectReason::PingTimeout
        }]
    );
    assert_eq!(sim.closes, [0, 1]);
}

#[test]
fn refused_handshake_is_an_xhr_poll_error() {
    let mut sim = Sim::new(config(&[Transport::Polling]));
    sim.client.connect(sim.now, "/", None).unwrap();
    sim.pump();
    sim.up(0);
    sim.answer_bytes(
        0,
        b"HTTP/1.1 400 Bad Request\r\nContent-Length: 11\r\n\r\nbad request",
    );
    assert_eq!(
        sim.take_events(),
        [ClientEvent::OpenError {
            message: "xhr poll error"
        }]
    );
    assert_eq!(sim.closes, [0]);
    // Reconnection starts over with a handshake GET on a new connection.
    sim.now = Instant::from_millis(1000);
    sim.client.handle_timeout(sim.now);
    sim.pump();
    assert_eq!(sim.connects, [0, 1]);
}

#[test]
fn server_close_packet_and_broken_get_after_open() {
    let mut sim = Sim::opened(config(&[Transport::Polling]), OPEN);
    sim.take_events();
    sim.answer(0, "1");
    assert_eq!(
        sim.take_events(),
        [ClientEvent::Closed {
            reason: DisconnectReason::TransportClose
        }]
    );
    let mut sim = Sim::opened(config(&[Transport::Polling]), OPEN);
    sim.take_events();
    sim.client.handle_closed(sim.now, conn(0));
    sim.pump();
    assert_eq!(
        sim.take_events(),
        [ClientEvent::Closed {
            reason: DisconnectReason::TransportError
        }]
    );
}

#[test]
fn idle_post_connection_closed_by_the_server_is_reopened() {
    let mut sim = Sim::opened(config(&[Transport::Polling]), OPEN);
    sim.up(1);
    sim.answer(1, "ok");
    sim.take_requests(1);
    sim.client.handle_closed(sim.now, conn(1));
    sim.pump();
    assert!(sim
        .take_events()
        .iter()
        .all(|e| matches!(e, ClientEvent::Open { .. })));
    sim.answer(0, "40{\"sid\":\"s1\"}");
    sim.emit(r#"["x"]"#);
    assert_eq!(sim.connects, [0, 1, 2]);
    sim.up(2);
    assert_eq!(sim.take_request(2).2, "42[\"x\"]");
}

#[test]
fn close_sends_a_close_packet_and_lets_the_pending_poll_linger() {
    let mut sim = Sim::opened(config(&[Transport::Polling]), OPEN);
    sim.up(1);
    sim.answer(1, "ok");
    sim.take_requests(1);
    sim.client.close(sim.now);
    sim.pump();
    assert_eq!(sim.take_request(1).2, "1");
    // The GET (0) is out: closing it could reach the server before the
    // close on connection 1, as a transport error.
    assert_eq!(sim.closes, [1]);
    assert_eq!(sim.lingers, [(0, Duration::from_secs(2))]);
}

/// Leaving the last namespace while a POST is out: the DISCONNECT still
/// queued goes out with the close, in one pipelined POST after the one in
/// flight, and the pending GET lingers (the flaky "transport error" /
/// "transport close" the loopback tests saw instead of "client namespace
/// disconnect").
#[test]
fn leaving_during_a_post_sends_the_disconnect_before_the_close() {
    let mut sim = Sim::opened(config(&[Transport::Polling]), OPEN);
    sim.up(1);
    sim.answer(1, "ok");
    sim.take_requests(1);
    sim.answer(0, "40{\"sid\":\"s1\"}");
    sim.emit(r#"["x"]"#);
    assert_eq!(sim.take_request(1).2, "42[\"x\"]");
    sim.client.disconnect(sim.now, "/").unwrap();
    sim.pump();
    assert_eq!(sim.take_request(1).2, "41\u{1e}1");
    assert_eq!(sim.closes, [1]);
    assert_eq!(sim.lingers, [(0, Duration::from_secs(2))]);
}

#[test]
fn limits_on_responses_fail_the_transport() {
    let mut small = config(&[Transport::Polling]);
    small.http_limits.max_body_bytes = 8;
    let mut sim = Sim::new(small);
    sim.client.connect(sim.now, "/", None).unwrap();
    sim.pump();
    sim.up(0);
    sim.answer(0, OPEN);
    assert_eq!(
        sim.take_events(),
        [ClientEvent::OpenError {
            message: "xhr poll error"
        }]
    );
}

#[test]
fn post_bodies_stay_within_the_servers_max_payload() {
    let open =
        r#"0{"sid":"eio1","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":20}"#;
    let mut sim = Sim::opened(config(&[Transport::Polling]), open);
    sim.up(1);
    assert_eq!(sim.take_request(1).2, "40");
    sim.answer(0, "40{\"sid\":\"s1\"}");
    for text in [r#"["ab"]"#, r#"["cd"]"#, r#"["ef"]"#] {
        sim.emit(text);
    }
    sim.answer(1, "ok");
    // 8 + 1 + 8 bytes fit in 20; a third would not.
    assert_eq!(sim.take_request(1).2, "42[\"ab\"]\u{1e}42[\"cd\"]");
    sim.answer(1, "ok");
    assert_eq!(sim.take_request(1).2, "42[\"ef\"]");
    // One packet larger than the bound still goes, alone.
    sim.answer(1, "ok");
    sim.emit(r#"["a long message, well over twenty bytes"]"#);
    assert_eq!(
        sim.take_request(1).2,
        "42[\"a long message, well over twenty bytes\"]"
    );
}

mod hostile {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        /// Bytes from the server on connection `0..4` (if asked for).
        Bytes(u64, Vec<u8>),
        /// A well-formed answer with this body.
        Answer(u64, String),
        Closed(u64),
        Advance(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u64..4, proptest::collection::vec(any::<u8>(), 0..64))
                .prop_map(|(c, b)| Op::Bytes(c, b)),
            (0u64..4, "[0-6]{0,3}[\\x1e\"a-z0-9{}:,\\[\\]]{0,24}")
                .prop_map(|(c, b)| Op::Answer(c, b)),
            (0u64..4).prop_map(Op::Closed),
            (0u64..60_000).prop_map(Op::Advance),
        ]
    }

    proptest! {
        /// Whatever the server sends on whichever connection, and whenever:
        /// no panic, and every transmit goes to a connection it asked for.
        #[test]
        fn any_server_input_is_survived(ops in proptest::collection::vec(op(), 0..40)) {
            let mut sim = Sim::opened(config(&[Transport::Polling, Transport::WebSocket]), OPEN_UPGRADE);
            for op in ops {
                match op {
                    Op::Bytes(id, bytes) if sim.connects.contains(&id) => {
                        sim.client.handle_data(sim.now, conn(id), &bytes);
                    }
                    Op::Answer(id, body) if sim.connects.contains(&id) => {
                        let response = Response::new(200)
                            .with_body("text/plain", Bytes::from(body))
                            .to_bytes();
                        sim.client.handle_data(sim.now, conn(id), &response);
                    }
                    Op::Closed(id) if sim.connects.contains(&id) => {
                        sim.client.handle_closed(sim.now, conn(id));
                    }
                    Op::Advance(step) => {
                        sim.now = sim.now + std::time::Duration::from_millis(step);
                        sim.client.handle_timeout(sim.now);
                    }
                    _ => {}
                }
                // Transmits on a connection never asked for panic in `pump`.
                sim.pump();
                let _ = sim.client.emit(sim.now, "/", json(r#"["e"]"#), Vec::new(), EmitOptions::new());
                sim.pump();
            }
        }
    }
}

#[test]
fn compressed_polling_answers_are_decoded_within_the_body_bound() {
    use sio_core::wire::http::ContentCoding;
    let answer_encoded = |sim: &mut Sim, id: u64, coding: ContentCoding, body: &[u8]| {
        let response = Response::new(200)
            .with_header("Content-Encoding", coding.as_str())
            .with_body("text/plain; charset=UTF-8", coding.encode(body, 6))
            .to_bytes();
        sim.answer_bytes(id, &response);
    };
    let mut sim = Sim::new(config(&[Transport::Polling]));
    sim.client.connect(sim.now, "/", None).unwrap();
    sim.pump();
    sim.up(0);
    answer_encoded(&mut sim, 0, ContentCoding::Gzip, OPEN.as_bytes());
    assert_eq!(
        sim.take_events(),
        [ClientEvent::Open { sid: "eio1".into() }]
    );
    sim.take_requests(0);
    answer_encoded(&mut sim, 0, ContentCoding::Deflate, b"40{\"sid\":\"s1\"}");
    assert_eq!(
        sim.take_events(),
        [ClientEvent::Connected {
            nsp: "/".into(),
            sid: "s1".into(),
            recovered: false,
        }]
    );

    // A body that inflates past the bound fails the transport.
    let mut small = config(&[Transport::Polling]);
    small.http_limits.max_body_bytes = 1000;
    let mut sim = Sim::new(small);
    sim.client.connect(sim.now, "/", None).unwrap();
    sim.pump();
    sim.up(0);
    let mut bomb = OPEN.as_bytes().to_vec();
    bomb.resize(1_000_000, b' ');
    answer_encoded(&mut sim, 0, ContentCoding::Gzip, &bomb);
    assert_eq!(
        sim.take_events(),
        [ClientEvent::OpenError {
            message: "xhr poll error"
        }]
    );
}

// ----- extra headers, the cookie jar, remember_upgrade, auth per attempt -----

fn header_of(request: &Request, name: &str) -> Option<String> {
    request.header(name).map(str::to_owned)
}

/// The one request on `id`, whole.
fn one_request(sim: &mut Sim, id: u64) -> Request {
    let mut requests = sim.take_requests(id);
    assert_eq!(requests.len(), 1, "requests on {id}: {requests:?}");
    requests.remove(0)
}

#[test]
fn extra_headers_and_the_cookie_jar_go_on_every_request() {
    let mut config = config(&[Transport::Polling, Transport::WebSocket]);
    config.extra_headers = vec![("X-Token".into(), "abc".into())];
    config.with_credentials = true;
    let mut sim = Sim::new(config);
    sim.client.set_wall_clock(sim.now, 1_700_000_000);
    sim.client.connect(sim.now, "/", None).unwrap();
    sim.pump();
    sim.up(0);
    let get = one_request(&mut sim, 0);
    assert_eq!(header_of(&get, "x-token").as_deref(), Some("abc"));
    assert_eq!(header_of(&get, "cookie"), None);
    // The handshake sets the load balancer's cookie (and one already expired).
    let open = Response::new(200)
        .with_header("Set-Cookie", "io=eio1; Path=/; HttpOnly; SameSite=Lax")
        .with_header("Set-Cookie", "old=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT")
        .with_body("text/plain; charset=UTF-8", Bytes::from(OPEN_UPGRADE))
        .to_bytes();
    sim.answer_bytes(0, &open);
    let get = one_request(&mut sim, 0);
    assert_eq!(header_of(&get, "cookie").as_deref(), Some("io=eio1"));
    assert_eq!(header_of(&get, "x-token").as_deref(), Some("abc"));
    sim.up(1);
    let post = one_request(&mut sim, 1);
    assert_eq!(header_of(&post, "cookie").as_deref(), Some("io=eio1"));
    assert_eq!(header_of(&post, "x-token").as_deref(), Some("abc"));
    // The WebSocket handshake carries both too; its own Set-Cookie is kept.
    sim.up(2);
    let upgrade = one_request(&mut sim, 2);
    assert_eq!(header_of(&upgrade, "cookie").as_deref(), Some("io=eio1"));
    assert_eq!(header_of(&upgrade, "x-token").as_deref(), Some("abc"));
    let accepted = handshake::accept(&upgrade)
        .unwrap()
        .with_header("Set-Cookie", "ws=1; Max-Age=60")
        .to_bytes();
    sim.conns.get_mut(&2).unwrap().frames = Some(Decoder::new(Role::Server, Limits::default()));
    sim.answer_bytes(2, &accepted);
    assert_eq!(sim.take_messages(2), ["2probe"]);
    sim.answer(1, "ok");
    sim.answer(0, "2"); // a ping: the pong goes in a POST
    let post = one_request(&mut sim, 1);
    assert_eq!(header_of(&post, "cookie").as_deref(), Some("io=eio1; ws=1"));
}

#[test]
fn the_jar_sends_back_the_websocket_cookie_and_drops_expired_ones() {
    let mut config = config(&[Transport::Polling]);
    config.with_credentials = true;
    let mut sim = Sim::new(config);
    sim.client.connect(sim.now, "/", None).unwrap();
    sim.pump();
    sim.up(0);
    sim.take_requests(0);
    let open = Response::new(200)
        .with_header("Set-Cookie", "io=eio1; Max-Age=30")
        .with_body("text/plain; charset=UTF-8", Bytes::from(OPEN))
        .to_bytes();
    sim.answer_bytes(0, &open);
    sim.take_requests(0);
    sim.up(1);
    assert_eq!(
        header_of(&one_request(&mut sim, 1), "cookie").as_deref(),
        Some("io=eio1")
    );
    // 30 s later the cookie is gone: the next request has none.
    sim.now = Instant::from_millis(30_000);
    sim.answer(1, "ok");
    sim.answer(0, "2");
    let get = one_request(&mut sim, 0);
    assert_eq!(header_of(&get, "cookie"), None);
}

#[test]
fn without_credentials_cookies_are_not_sent_back() {
    let mut sim = Sim::new(config(&[Transport::Polling]));
    sim.client.connect(sim.now, "/", None).unwrap();
    sim.pump();
    sim.up(0);
    sim.take_requests(0);
    let open = Response::new(200)
        .with_header("Set-Cookie", "io=eio1; Path=/")
        .with_body("text/plain; charset=UTF-8", Bytes::from(OPEN))
        .to_bytes();
    sim.answer_bytes(0, &open);
    assert_eq!(header_of(&one_request(&mut sim, 0), "cookie"), None);
}

#[test]
fn extra_header_values_cannot_split_the_request() {
    let mut config = config(&[Transport::Polling]);
    config.extra_headers = vec![("X-A".into(), "1\r\nX-Injected: 2".into())];
    let mut sim = Sim::new(config);
    sim.client.connect(sim.now, "/", None).unwrap();
    sim.pump();
    sim.up(0);
    let get = one_request(&mut sim, 0);
    assert_eq!(header_of(&get, "x-injected"), None);
    assert_eq!(header_of(&get, "x-a").as_deref(), Some("1  X-Injected: 2"));
}

/// Upgrades to a WebSocket on conn 2, then the server drops it; returns
/// the target the client's next connection (conn 3) asks for.
fn next_connection_after_an_upgrade(remember_upgrade: bool) -> String {
    let mut config = config(&[Transport::Polling, Transport::WebSocket]);
    config.remember_upgrade = remember_upgrade;
    let mut sim = Sim::opened(config, OPEN_UPGRADE);
    sim.up(1);
    sim.answer(1, "ok");
    sim.up(2);
    sim.accept_ws(2);
    sim.ws_text(2, "3probe");
    sim.take_requests(0);
    sim.answer(0, "6");
    assert!(sim.take_events().contains(&ClientEvent::Upgraded));
    sim.client.handle_closed(sim.now, conn(2));
    sim.pump();
    sim.now = Instant::from_millis(1_000);
    sim.client.handle_timeout(sim.now);
    sim.pump();
    assert_eq!(sim.connects, [0, 1, 2, 3]);
    sim.up(3);
    one_request(&mut sim, 3).target
}

#[test]
fn remember_upgrade_opens_the_next_connection_on_a_websocket() {
    assert_eq!(
        next_connection_after_an_upgrade(true),
        "/socket.io/?EIO=4&transport=websocket"
    );
    let polling = next_connection_after_an_upgrade(false);
    assert!(
        polling.starts_with("/socket.io/?EIO=4&transport=polling&t="),
        "{polling}"
    );
}

#[test]
fn auth_is_asked_for_on_every_connection_attempt() {
    let mut sim = Sim::new(config(&[Transport::Polling]));
    sim.client.connect_asking_auth(sim.now, "/").unwrap();
    sim.pump();
    sim.up(0);
    sim.take_requests(0);
    sim.answer(0, OPEN);
    assert_eq!(
        sim.take_events(),
        [
            ClientEvent::Open { sid: "eio1".into() },
            ClientEvent::AuthNeeded {
                nsp: "/".into(),
                request: 1
            }
        ]
    );
    // No CONNECT until the answer.
    assert_eq!(sim.connects, [0]);
    sim.client
        .provide_auth(sim.now, "/", 1, Ok(Some(json(r#"{"token":"t1"}"#))))
        .unwrap();
    sim.pump();
    sim.up(1);
    assert_eq!(sim.take_request(1).2, r#"40{"token":"t1"}"#);
    // A second answer to the same request changes nothing.
    sim.client
        .provide_auth(sim.now, "/", 1, Ok(Some(json(r#"{"token":"x"}"#))))
        .unwrap();
    sim.pump();
    assert!(sim.take_requests(1).is_empty());
    // The connection is lost; the reconnection asks again.
    sim.now = Instant::from_millis(45_000);
    sim.client.handle_timeout(sim.now);
    sim.pump();
    sim.now = Instant::from_millis(46_000);
    sim.client.handle_timeout(sim.now);
    sim.pump();
    assert_eq!(sim.connects, [0, 1, 2]);
    sim.up(2);
    sim.take_requests(2);
    sim.take_events();
    sim.answer(2, OPEN);
    let events = sim.take_events();
    assert!(events.contains(&ClientEvent::AuthNeeded {
        nsp: "/".into(),
        request: 2
    }));
    // The late answer to the first attempt is ignored; the second is sent.
    sim.client
        .provide_auth(sim.now, "/", 1, Ok(Some(json(r#"{"token":"stale"}"#))))
        .unwrap();
    sim.pump();
    assert_eq!(sim.connects, [0, 1, 2]);
    sim.client
        .provide_auth(sim.now, "/", 2, Ok(Some(json(r#"{"token":"t2"}"#))))
        .unwrap();
    sim.pump();
    sim.up(3);
    assert_eq!(sim.take_request(3).2, r#"40{"token":"t2"}"#);
}

#[test]
fn auth_that_cannot_be_had_is_a_connect_error() {
    let mut sim = Sim::new(config(&[Transport::Polling]));
    sim.client.connect_asking_auth(sim.now, "/").unwrap();
    sim.pump();
    sim.up(0);
    sim.take_requests(0);
    sim.answer(0, OPEN);
    sim.take_events();
    sim.client
        .provide_auth(sim.now, "/", 1, Ok(Some(json("[1]"))))
        .unwrap();
    sim.pump();
    let events = sim.take_events();
    assert!(
        events.contains(&ClientEvent::ConnectError {
            nsp: "/".into(),
            message: "auth data is not a JSON object".into(),
            data: None
        }),
        "{events:?}"
    );
    assert!(!sim.client.is_active("/"));
}
