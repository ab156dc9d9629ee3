//! The client state machine against a scripted fake server built from the
//! core's codecs (server frames unmasked; the client's masked frames read
//! with a server-role decoder), on a simulated clock.

use std::time::Duration;

use bytes::Bytes;
use bytestring::ByteString;
use proptest::prelude::*;
use sio_core::client::{
    Client, ClientError, ClientEvent, Config, ConnId, DisconnectReason, EmitOptions, Output,
    Transport,
};
use sio_core::packet::RawJson;
use sio_core::wire::http::{Limits as HttpLimits, RequestParser};
use sio_core::wire::ws::frame::server_frame;
use sio_core::wire::ws::{handshake, Decoder, Limits, Message, OpCode, Role};
use sio_core::Instant;

const OPEN: &str = r#"0{"sid":"eio1","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;

fn json(text: &str) -> RawJson {
    RawJson::parse(ByteString::from(text.to_owned())).unwrap()
}

fn ms(value: u64) -> Duration {
    Duration::from_millis(value)
}

fn at(value: u64) -> Instant {
    Instant::from_millis(value)
}

fn config() -> Config {
    let mut config = Config::default();
    config.host = "localhost:3000".into();
    config.transports = vec![Transport::WebSocket];
    config
}

fn no_jitter() -> Config {
    let mut config = config();
    config.randomization_factor = 0.0;
    config
}

fn nsp(name: &'static str) -> ByteString {
    ByteString::from_static(name)
}

/// The server's end of the current connection.
struct ServerSide {
    conn: ConnId,
    /// The client's upgrade request, kept whole for checks.
    request: Vec<u8>,
    upgraded: bool,
    frames: Decoder,
}

/// The client, a clock, and the server's end of the current connection.
struct Sim {
    client: Client,
    now: Instant,
    timeout: Option<Instant>,
    connects: Vec<ConnId>,
    closes: Vec<ConnId>,
    events: Vec<ClientEvent>,
    /// Messages the client sent, oldest first.
    sent: Vec<Message>,
    /// What [`serve`] saw the client send, besides CONNECTs.
    sent_log: Vec<String>,
    /// How many of `connects` [`serve`] answered.
    served: usize,
    server: Option<ServerSide>,
}

impl Sim {
    fn new(config: Config) -> Self {
        Sim::with_seed(config, [9; 32])
    }

    fn with_seed(config: Config, seed: [u8; 32]) -> Self {
        Sim {
            client: Client::new(config, seed),
            now: Instant::ZERO,
            timeout: None,
            connects: Vec::new(),
            closes: Vec::new(),
            events: Vec::new(),
            sent: Vec::new(),
            sent_log: Vec::new(),
            served: 0,
            server: None,
        }
    }

    /// A client that asked to join `/` (so it asked for a connection).
    fn joining_main() -> Self {
        let mut sim = Sim::new(no_jitter());
        sim.client.connect(sim.now, "/", None).unwrap();
        sim.pump();
        sim
    }

    /// A client connected to `/` with sid `s1`; events and messages so far dropped.
    fn connected_main(config: Config) -> Self {
        Sim::connected_main_with_seed(config, [9; 32])
    }

    fn connected_main_with_seed(config: Config, seed: [u8; 32]) -> Self {
        let mut sim = Sim::with_seed(config, seed);
        sim.client.connect(sim.now, "/", None).unwrap();
        sim.pump();
        sim.handshake();
        sim.server_text(r#"40{"sid":"s1"}"#);
        sim.take_sent();
        sim.take_events();
        sim
    }

    fn pump(&mut self) {
        loop {
            match self.client.poll_output() {
                Output::Connect { conn } => self.connects.push(conn),
                Output::Transmit { conn, data } => self.server_reads(conn, &data),
                Output::Close { conn } => self.closes.push(conn),
                Output::Event(event) => self.events.push(event),
                Output::Timeout(at) => {
                    self.timeout = at;
                    return;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    fn server_reads(&mut self, conn: ConnId, data: &[u8]) {
        let server = self.server.as_mut().expect("a transmit with no connection");
        assert_eq!(server.conn, conn, "transmit on a stale connection");
        if !server.upgraded {
            server.request.extend_from_slice(data);
            return;
        }
        server.frames.feed(data);
        while let Some(message) = server.frames.poll_message().unwrap() {
            self.sent.push(message);
        }
    }

    fn conn(&self) -> ConnId {
        self.server.as_ref().expect("no connection").conn
    }

    /// The last requested TCP connection comes up; returns the request.
    fn tcp_up(&mut self) -> Vec<u8> {
        let conn = *self.connects.last().expect("no connect asked");
        self.server = Some(ServerSide {
            conn,
            request: Vec::new(),
            upgraded: false,
            frames: Decoder::new(Role::Server, Limits::default()),
        });
        self.client.handle_connected(self.now, conn);
        self.pump();
        self.server.as_ref().unwrap().request.clone()
    }

    /// The server accepts the upgrade (exactly as the server side of the
    /// core would answer).
    fn upgrade(&mut self) {
        let request = self.tcp_up();
        let mut parser = RequestParser::new(HttpLimits::default());
        parser.feed(&request);
        let request = parser.poll_request().unwrap().unwrap();
        assert_eq!(request.target, "/socket.io/?EIO=4&transport=websocket");
        let response = handshake::accept(&request).unwrap().to_bytes();
        self.server.as_mut().unwrap().upgraded = true;
        self.server_bytes(&response);
    }

    fn handshake(&mut self) {
        self.upgrade();
        self.server_text(OPEN);
    }

    fn server_bytes(&mut self, bytes: &[u8]) {
        let conn = self.conn();
        self.client.handle_data(self.now, conn, bytes);
        self.pump();
    }

    fn server_text(&mut self, text: &str) {
        self.server_bytes(&server_frame(OpCode::Text, text.as_bytes()));
    }

    fn server_binary(&mut self, data: &[u8]) {
        self.server_bytes(&server_frame(OpCode::Binary, data));
    }

    /// The server side closes the TCP connection.
    fn tcp_closed(&mut self) {
        let conn = self.conn();
        self.server = None;
        self.client.handle_closed(self.now, conn);
        self.pump();
    }

    fn advance_to(&mut self, now: Instant) {
        self.now = now;
        self.client.handle_timeout(now);
        self.pump();
    }

    fn emit(&mut self, nsp: &str, data: &str, options: EmitOptions) -> Option<u64> {
        let id = self
            .client
            .emit(self.now, nsp, json(data), Vec::new(), options)
            .unwrap();
        self.pump();
        id
    }

    fn take_events(&mut self) -> Vec<ClientEvent> {
        std::mem::take(&mut self.events)
    }

    /// What the client sent, text as is, binary as `<bin:...>`, control
    /// frames by name.
    fn take_sent(&mut self) -> Vec<String> {
        std::mem::take(&mut self.sent)
            .into_iter()
            .map(|message| match message {
                Message::Text(text) => text.to_string(),
                Message::Binary(data) => format!("<bin:{}>", String::from_utf8_lossy(&data)),
                Message::Ping(data) => format!("<ping:{}>", String::from_utf8_lossy(&data)),
                Message::Pong(data) => format!("<pong:{}>", String::from_utf8_lossy(&data)),
                Message::Close(frame) => format!("<close:{:?}>", frame.map(|f| f.code)),
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------
// Handshake

#[test]
fn upgrade_request_bytes() {
    let mut sim = Sim::joining_main();
    assert_eq!(sim.connects.len(), 1);
    let request = String::from_utf8(sim.tcp_up()).unwrap();
    let key = request
        .lines()
        .find_map(|line| line.strip_prefix("Sec-WebSocket-Key: "))
        .unwrap()
        .to_owned();
    assert_eq!(key.len(), 24);
    let expected = format!(
        "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: localhost:3000\r\n\
         Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n\
         Sec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
    );
    // permessage-deflate is offered by default, as socket.io-client's `ws` does.
    assert_eq!(request, expected);
    // The same seed draws the same key.
    let mut again = Sim::joining_main();
    assert_eq!(again.tcp_up(), request.into_bytes());
}

#[test]
fn extra_query_and_path() {
    let mut config = no_jitter();
    config.path = "/custom/".into();
    config.query = "token=abc".into();
    let mut sim = Sim::new(config);
    sim.client.connect(sim.now, "/", None).unwrap();
    sim.pump();
    let request = String::from_utf8(sim.tcp_up()).unwrap();
    assert!(request.starts_with("GET /custom/?EIO=4&transport=websocket&token=abc HTTP/1.1\r\n"));
}

#[test]
fn open_packet_then_connect_with_auth() {
    let mut sim = Sim::new(no_jitter());
    sim.client
        .connect(sim.now, "/", Some(json(r#"{"token":"abc"}"#)))
        .unwrap();
    sim.pump();
    sim.upgrade();
    // Nothing is sent before the open packet.
    assert_eq!(sim.take_sent(), Vec::<String>::new());
    sim.server_text(OPEN);
    assert_eq!(sim.take_sent(), [r#"40{"token":"abc"}"#]);
    assert_eq!(
        sim.take_events(),
        [ClientEvent::Open { sid: "eio1".into() }]
    );
    assert_eq!(sim.client.engine_sid(), Some("eio1"));
    // The ping deadline is set from the handshake.
    assert_eq!(sim.timeout, Some(at(45_000)));
    sim.server_text(r#"40{"sid":"s1"}"#);
    assert_eq!(
        sim.take_events(),
        [ClientEvent::Connected {
            nsp: nsp("/"),
            sid: nsp("s1"),
            recovered: false,
        }]
    );
    assert_eq!(sim.client.sid("/"), Some("s1"));
}

#[test]
fn open_packet_and_frames_in_the_same_read_as_the_101() {
    let mut sim = Sim::joining_main();
    let request = sim.tcp_up();
    let mut parser = RequestParser::new(HttpLimits::default());
    parser.feed(&request);
    let request = parser.poll_request().unwrap().unwrap();
    let mut bytes = handshake::accept(&request).unwrap().to_bytes().to_vec();
    bytes.extend_from_slice(&server_frame(OpCode::Text, OPEN.as_bytes()));
    bytes.extend_from_slice(&server_frame(OpCode::Text, br#"40{"sid":"s1"}"#));
    sim.server.as_mut().unwrap().upgraded = true;
    // One byte at a time.
    for byte in bytes {
        sim.server_bytes(&[byte]);
    }
    assert!(sim.client.is_connected("/"));
    assert_eq!(sim.take_sent(), ["40"]);
}

#[test]
fn refused_upgrade_is_an_open_error_then_a_retry() {
    let mut sim = Sim::joining_main();
    sim.tcp_up();
    sim.server.as_mut().unwrap().upgraded = true;
    sim.server_bytes(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(
        sim.take_events(),
        [ClientEvent::OpenError {
            message: "websocket error"
        }]
    );
    assert_eq!(sim.closes, [sim.connects[0]]);
    assert_eq!(sim.timeout, Some(at(1000)));
}

#[test]
fn bad_open_json_is_a_parse_error_before_open() {
    let mut sim = Sim::joining_main();
    sim.upgrade();
    sim.server_text(r#"0{"sid":1}"#);
    assert_eq!(
        sim.take_events(),
        [ClientEvent::OpenError {
            message: "parse error"
        }]
    );
}

#[test]
fn connect_timeout_fails_the_attempt() {
    let mut sim = Sim::joining_main();
    sim.upgrade();
    assert_eq!(sim.timeout, Some(at(20_000)));
    sim.advance_to(at(19_999));
    assert!(sim.take_events().is_empty());
    sim.advance_to(at(20_000));
    assert_eq!(
        sim.take_events(),
        [ClientEvent::OpenError { message: "timeout" }]
    );
    assert_eq!(sim.timeout, Some(at(21_000)));
}

// ---------------------------------------------------------------------------
// Namespaces

#[test]
fn second_namespace_and_its_refusal() {
    let mut sim = Sim::connected_main(no_jitter());
    sim.client.connect(sim.now, "/admin", None).unwrap();
    sim.pump();
    assert_eq!(sim.take_sent(), ["40/admin,"]);
    sim.server_text(r#"44/admin,{"message":"nope","data":{"code":7}}"#);
    assert_eq!(
        sim.take_events(),
        [ClientEvent::ConnectError {
            nsp: nsp("/admin"),
            message: "nope".into(),
            data: Some(json(r#"{"code":7}"#)),
        }]
    );
    assert!(!sim.client.is_active("/admin"));
    assert!(sim.client.is_connected("/"));
    // Accepted the second time.
    sim.client.connect(sim.now, "/admin", None).unwrap();
    sim.pump();
    sim.server_text(r#"40/admin,{"sid":"a1"}"#);
    assert_eq!(sim.take_sent(), ["40/admin,"]);
    assert_eq!(sim.client.sid("/admin"), Some("a1"));
}

#[test]
fn connect_error_as_a_string_and_invalid_names() {
    let mut sim = Sim::joining_main();
    sim.handshake();
    sim.server_text(r#"44"Invalid namespace""#);
    let events = sim.take_events();
    assert!(events.contains(&ClientEvent::ConnectError {
        nsp: nsp("/"),
        message: "Invalid namespace".into(),
        data: None,
    }));
    let error = sim.client.connect(sim.now, "admin", None);
    assert_eq!(error, Err(sio_core::client::ClientError::InvalidNamespace));
    let error = sim.client.connect(sim.now, "/", Some(json("[1]")));
    assert_eq!(error, Err(sio_core::client::ClientError::InvalidAuth));
}

#[test]
fn client_disconnect_sends_41_and_closes_after_the_last() {
    let mut sim = Sim::connected_main(no_jitter());
    sim.client.connect(sim.now, "/admin", None).unwrap();
    sim.pump();
    sim.server_text(r#"40/admin,{"sid":"a1"}"#);
    sim.take_sent();
    sim.take_events();
    sim.client.disconnect(sim.now, "/admin").unwrap();
    sim.pump();
    assert_eq!(sim.take_sent(), ["41/admin,"]);
    assert_eq!(
        sim.take_events(),
        [ClientEvent::Disconnected {
            nsp: nsp("/admin"),
            reason: DisconnectReason::IoClientDisconnect
        }]
    );
    assert!(sim.closes.is_empty());
    sim.client.disconnect(sim.now, "/").unwrap();
    sim.pump();
    assert_eq!(sim.take_sent(), ["41", "<close:Some(1000)>"]);
    assert_eq!(sim.closes, [sim.conn()]);
    assert_eq!(sim.timeout, None, "no reconnection");
}

#[test]
fn io_server_disconnect_is_not_reconnected() {
    let mut sim = Sim::connected_main(no_jitter());
    sim.client.connect(sim.now, "/admin", None).unwrap();
    sim.pump();
    sim.server_text(r#"40/admin,{"sid":"a1"}"#);
    sim.take_sent();
    sim.take_events();
    sim.server_text("41/admin,");
    assert_eq!(
        sim.take_events(),
        [ClientEvent::Disconnected {
            nsp: nsp("/admin"),
            reason: DisconnectReason::IoServerDisconnect
        }]
    );
    assert!(!sim.client.is_active("/admin"));
    // The connection drops; only `/` comes back.
    sim.tcp_closed();
    sim.advance_to(at(1000));
    sim.handshake();
    assert_eq!(sim.take_sent(), ["40"]);
    // The last namespace disconnected by the server: the client closes.
    sim.server_text(r#"40{"sid":"s2"}"#);
    sim.server_text("41");
    // As the reference manager, closing after its last socket left.
    let events = sim.take_events();
    assert_eq!(
        events[events.len() - 2..],
        [
            ClientEvent::Disconnected {
                nsp: nsp("/"),
                reason: DisconnectReason::IoServerDisconnect
            },
            ClientEvent::Closed {
                reason: DisconnectReason::ForcedClose
            },
        ]
    );
    assert_eq!(sim.take_sent(), ["<close:Some(1000)>"]);
    assert_eq!(sim.closes.last(), Some(&sim.conn()));
    assert_eq!(sim.timeout, None);
}

// ---------------------------------------------------------------------------
// Events and acks

#[test]
fn events_both_ways_with_acks() {
    let mut sim = Sim::connected_main(no_jitter());
    sim.server_text(r#"42["hello",1,{"a":[2]}]"#);
    sim.server_text(r#"421["ask"]"#);
    assert_eq!(
        sim.take_events(),
        [
            ClientEvent::Event {
                nsp: nsp("/"),
                data: json(r#"["hello",1,{"a":[2]}]"#),
                attachments: vec![],
                ack: None,
            },
            ClientEvent::Event {
                nsp: nsp("/"),
                data: json(r#"["ask"]"#),
                attachments: vec![],
                ack: Some(1),
            },
        ]
    );
    sim.client
        .ack(sim.now, "/", 1, json(r#"["ok"]"#), vec![])
        .unwrap();
    sim.pump();
    assert_eq!(sim.take_sent(), [r#"431["ok"]"#]);

    let first = sim.emit("/", r#"["q",1]"#, EmitOptions::new().with_ack(ms(5000)));
    let second = sim.emit(
        "/",
        r#"["q",2]"#,
        EmitOptions::new().with_ack(Duration::MAX),
    );
    let plain = sim.emit("/", r#"["note"]"#, EmitOptions::new());
    assert_eq!((first, second, plain), (Some(0), Some(1), None));
    assert_eq!(
        sim.take_sent(),
        [r#"420["q",1]"#, r#"421["q",2]"#, r#"42["note"]"#]
    );
    sim.server_text("431[42]");
    sim.server_text("430[]");
    sim.server_text("437[]"); // unknown id: ignored
    assert_eq!(
        sim.take_events(),
        [
            ClientEvent::Ack {
                nsp: nsp("/"),
                id: 1,
                data: json("[42]"),
                attachments: vec![]
            },
            ClientEvent::Ack {
                nsp: nsp("/"),
                id: 0,
                data: json("[]"),
                attachments: vec![]
            },
        ]
    );
    assert_eq!(sim.client.pending_ack_count("/"), 0);
}

#[test]
fn binary_both_ways() {
    let mut sim = Sim::connected_main(no_jitter());
    let data = json(r#"["up",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#);
    let attachments = vec![Bytes::from_static(b"ab"), Bytes::from_static(b"c")];
    let id = sim
        .client
        .emit(
            sim.now,
            "/",
            data,
            attachments,
            EmitOptions::new().with_ack(ms(100)),
        )
        .unwrap();
    sim.pump();
    assert_eq!(id, Some(0));
    assert_eq!(
        sim.take_sent(),
        [
            r#"452-0["up",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
            "<bin:ab>",
            "<bin:c>"
        ]
    );
    sim.server_text(r#"461-0[{"_placeholder":true,"num":0}]"#);
    assert!(sim.take_events().is_empty());
    sim.server_binary(b"xyz");
    assert_eq!(
        sim.take_events(),
        [ClientEvent::Ack {
            nsp: nsp("/"),
            id: 0,
            data: json(r#"[{"_placeholder":true,"num":0}]"#),
            attachments: vec![Bytes::from_static(b"xyz")],
        }]
    );
    sim.server_text(r#"451-["down",{"_placeholder":true,"num":0}]"#);
    sim.server_binary(&[0, 255]);
    assert_eq!(
        sim.take_events(),
        [ClientEvent::Event {
            nsp: nsp("/"),
            data: json(r#"["down",{"_placeholder":true,"num":0}]"#),
            attachments: vec![Bytes::from_static(&[0, 255])],
            ack: None,
        }]
    );
}

#[test]
fn ack_timeout_exactly_at_the_deadline() {
    let mut sim = Sim::connected_main(no_jitter());
    sim.advance_to(at(1000));
    let id = sim.emit("/", r#"["q"]"#, EmitOptions::new().with_ack(ms(5000)));
    assert_eq!(sim.timeout, Some(at(6000)));
    sim.advance_to(at(5999));
    assert!(sim.take_events().is_empty());
    sim.advance_to(at(6000));
    assert_eq!(
        sim.take_events(),
        [ClientEvent::AckTimeout {
            nsp: nsp("/"),
            id: id.unwrap()
        }]
    );
    // A late ack is ignored.
    sim.server_text("430[]");
    assert!(sim.take_events().is_empty());
}

#[test]
fn pending_acks_are_bounded() {
    let mut config = no_jitter();
    config.max_pending_acks = 2;
    let mut sim = Sim::connected_main(config);
    sim.emit("/", r#"["a"]"#, EmitOptions::new().with_ack(ms(10)));
    sim.emit("/", r#"["b"]"#, EmitOptions::new().with_ack(ms(10)));
    let third = sim.client.emit(
        sim.now,
        "/",
        json(r#"["c"]"#),
        vec![],
        EmitOptions::new().with_ack(ms(10)),
    );
    assert_eq!(
        third,
        Err(sio_core::client::ClientError::TooManyPendingAcks)
    );
    // Without an ack it still goes.
    sim.emit("/", r#"["d"]"#, EmitOptions::new());
    assert_eq!(sim.take_sent().len(), 3);
}

// ---------------------------------------------------------------------------
// Heartbeat

#[test]
fn pings_are_answered_and_move_the_deadline() {
    let mut sim = Sim::connected_main(no_jitter());
    sim.advance_to(at(25_000));
    sim.server_text("2");
    assert_eq!(sim.take_sent(), ["3"]);
    assert_eq!(sim.timeout, Some(at(70_000)));
    // A WebSocket ping frame gets a pong frame.
    sim.server_bytes(&server_frame(OpCode::Ping, b"hi"));
    assert_eq!(sim.take_sent(), ["<pong:hi>"]);
}

#[test]
fn ping_timeout_at_exactly_interval_plus_timeout() {
    let mut sim = Sim::connected_main(no_jitter());
    assert_eq!(sim.timeout, Some(at(45_000)));
    sim.advance_to(at(44_999));
    assert!(sim.take_events().is_empty());
    sim.advance_to(at(45_000));
    assert_eq!(
        sim.take_events(),
        [
            ClientEvent::Closed {
                reason: DisconnectReason::PingTimeout
            },
            ClientEvent::Disconnected {
                nsp: nsp("/"),
                reason: DisconnectReason::PingTimeout
            },
        ]
    );
    assert_eq!(sim.closes, [sim.conn()]);
    assert_eq!(sim.timeout, Some(at(46_000)));
}

// ---------------------------------------------------------------------------
// Reconnection

/// Fails every attempt at its TCP connect; returns the delays between them.
fn failing_delays(sim: &mut Sim, attempts: usize) -> Vec<u64> {
    let mut delays = Vec::new();
    for _ in 0..attempts {
        let from = sim.now;
        let next = sim.timeout.expect("no reconnection scheduled");
        delays.push((next - from).as_millis() as u64);
        sim.advance_to(next);
        let conn = *sim.connects.last().unwrap();
        sim.client.handle_closed(sim.now, conn);
        sim.pump();
    }
    delays
}

#[test]
fn transport_close_then_backoff_without_jitter() {
    let mut sim = Sim::connected_main(no_jitter());
    sim.tcp_closed();
    assert_eq!(
        sim.take_events(),
        [
            ClientEvent::Closed {
                reason: DisconnectReason::TransportClose
            },
            ClientEvent::Disconnected {
                nsp: nsp("/"),
                reason: DisconnectReason::TransportClose
            },
        ]
    );
    assert_eq!(failing_delays(&mut sim, 5), [1000, 2000, 4000, 5000, 5000]);
    let events = sim.take_events();
    let attempts: Vec<u32> = events
        .iter()
        .filter_map(|event| match event {
            ClientEvent::Reconnecting { attempt } => Some(*attempt),
            _ => None,
        })
        .collect();
    assert_eq!(attempts, [1, 2, 3, 4, 5]);
    // The sixth attempt succeeds and `/` connects again.
    let next = sim.timeout.unwrap();
    sim.advance_to(next);
    sim.handshake();
    assert_eq!(sim.take_sent(), ["40"]);
    let events = sim.take_events();
    assert!(events.contains(&ClientEvent::Reconnected { attempt: 6 }));
    sim.server_text(r#"40{"sid":"s2"}"#);
    assert_eq!(sim.client.sid("/"), Some("s2"));
    // The backoff starts over after a success.
    let before = sim.now;
    sim.tcp_closed();
    assert_eq!(sim.timeout, Some(before + ms(1000)));
}

#[test]
fn backoff_with_jitter_stays_in_bounds_and_follows_the_seed() {
    let run = || {
        let mut sim = Sim::connected_main(config());
        sim.tcp_closed();
        failing_delays(&mut sim, 8)
    };
    let delays = run();
    for (attempt, &delay) in delays.iter().enumerate() {
        let base = 1000u64 << attempt;
        let low = (base / 2).min(5000);
        let high = (base + base / 2).min(5000);
        assert!((low..=high).contains(&delay), "attempt {attempt}: {delay}");
    }
    assert_eq!(run(), delays, "the same seed gives the same delays");
    let mut other = Sim::connected_main_with_seed(config(), [1; 32]);
    other.tcp_closed();
    assert_ne!(failing_delays(&mut other, 8), delays);
}

#[test]
fn reconnection_attempts_run_out() {
    let mut config = no_jitter();
    config.reconnection_attempts = Some(2);
    let mut sim = Sim::connected_main(config);
    sim.tcp_closed();
    failing_delays(&mut sim, 2);
    assert_eq!(
        sim.take_events().last(),
        Some(&ClientEvent::ReconnectFailed)
    );
    assert_eq!(sim.timeout, None);
    // open() starts over.
    sim.client.open(sim.now);
    sim.pump();
    sim.handshake();
    assert_eq!(sim.take_sent(), ["40"]);
}

#[test]
fn no_reconnection_when_off() {
    let mut config = no_jitter();
    config.reconnection = false;
    let mut sim = Sim::connected_main(config);
    sim.tcp_closed();
    assert_eq!(sim.timeout, None);
}

#[test]
fn buffered_emits_go_in_order_after_reconnect_and_volatile_ones_drop() {
    let mut sim = Sim::connected_main(no_jitter());
    sim.client
        .connect(sim.now, "/admin", Some(json(r#"{"k":1}"#)))
        .unwrap();
    sim.pump();
    sim.server_text(r#"40/admin,{"sid":"a1"}"#);
    sim.take_sent();
    sim.take_events();
    // Sent on the old connection: its ack can never come.
    let lost = sim.emit(
        "/",
        r#"["lost"]"#,
        EmitOptions::new().with_ack(Duration::MAX),
    );
    sim.take_sent();
    sim.tcp_closed();
    let events = sim.take_events();
    assert!(events.contains(&ClientEvent::AckCancelled {
        nsp: nsp("/"),
        id: lost.unwrap()
    }));
    sim.emit("/", r#"["a"]"#, EmitOptions::new());
    let id = sim.emit("/", r#"["b"]"#, EmitOptions::new().with_ack(ms(60_000)));
    let dropped = sim.emit(
        "/",
        r#"["c"]"#,
        EmitOptions::new().volatile().with_ack(ms(10)),
    );
    sim.emit("/admin", r#"["x"]"#, EmitOptions::new());
    sim.emit("/", r#"["d"]"#, EmitOptions::new());
    assert_eq!(
        sim.take_events(),
        [ClientEvent::AckCancelled {
            nsp: nsp("/"),
            id: dropped.unwrap()
        }]
    );
    assert_eq!(sim.client.buffered_count("/"), 3);
    sim.advance_to(at(1000));
    sim.handshake();
    assert_eq!(sim.take_sent(), ["40", r#"40/admin,{"k":1}"#]);
    // `/admin` answers first: its buffer goes first.
    sim.server_text(r#"40/admin,{"sid":"a2"}"#);
    assert_eq!(sim.take_sent(), [r#"42/admin,["x"]"#]);
    sim.server_text(r#"40{"sid":"s2"}"#);
    assert_eq!(
        sim.take_sent(),
        [
            r#"42["a"]"#,
            format!(r#"42{}["b"]"#, id.unwrap()).as_str(),
            r#"42["d"]"#
        ]
    );
    assert_eq!(sim.client.buffered_count("/"), 0);
    // The buffered ack is still awaited on the new connection.
    sim.server_text(&format!("43{}[]", id.unwrap()));
    assert!(matches!(
        sim.take_events().last(),
        Some(ClientEvent::Ack { id: got, .. }) if Some(*got) == id
    ));
}

#[test]
fn buffered_emit_whose_ack_times_out_is_never_sent() {
    let mut sim = Sim::connected_main(no_jitter());
    sim.tcp_closed();
    sim.take_events();
    let id = sim.emit("/", r#"["late"]"#, EmitOptions::new().with_ack(ms(500)));
    sim.advance_to(at(500));
    assert_eq!(
        sim.take_events(),
        [ClientEvent::AckTimeout {
            nsp: nsp("/"),
            id: id.unwrap()
        }]
    );
    sim.advance_to(at(1000));
    sim.handshake();
    sim.server_text(r#"40{"sid":"s2"}"#);
    assert_eq!(sim.take_sent(), ["40"]);
}

#[test]
fn buffer_is_bounded() {
    let mut config = no_jitter();
    config.max_buffered_emits = 1;
    let mut sim = Sim::connected_main(config);
    sim.tcp_closed();
    sim.emit("/", r#"["a"]"#, EmitOptions::new());
    let full = sim
        .client
        .emit(sim.now, "/", json(r#"["b"]"#), vec![], EmitOptions::new());
    assert_eq!(full, Err(sio_core::client::ClientError::BufferFull));
    // Volatile emits are never buffered, so never refused.
    let volatile = sim.client.emit(
        sim.now,
        "/",
        json(r#"["c"]"#),
        vec![],
        EmitOptions::new().volatile(),
    );
    assert_eq!(volatile, Ok(None));
}

#[test]
fn close_is_forced_and_open_reconnects() {
    let mut sim = Sim::connected_main(no_jitter());
    sim.client.close(sim.now);
    sim.pump();
    assert_eq!(sim.take_sent(), ["<close:Some(1000)>"]);
    assert_eq!(
        sim.take_events(),
        [
            ClientEvent::Closed {
                reason: DisconnectReason::ForcedClose
            },
            ClientEvent::Disconnected {
                nsp: nsp("/"),
                reason: DisconnectReason::ForcedClose
            },
        ]
    );
    assert_eq!(sim.timeout, None);
    sim.client.open(sim.now);
    sim.pump();
    sim.handshake();
    assert_eq!(sim.take_sent(), ["40"]);
}

// ---------------------------------------------------------------------------
// Malformed input

#[test]
fn malformed_socket_io_packet_is_a_parse_error() {
    let mut sim = Sim::connected_main(no_jitter());
    sim.server_text("42garbage");
    assert_eq!(
        sim.take_events(),
        [
            ClientEvent::Closed {
                reason: DisconnectReason::ParseError
            },
            ClientEvent::Disconnected {
                nsp: nsp("/"),
                reason: DisconnectReason::ParseError
            },
        ]
    );
    assert_eq!(sim.closes, [sim.conn()]);
    assert_eq!(sim.timeout, Some(sim.now + ms(1000)));
}

#[test]
fn malformed_frames_and_engine_packets_are_transport_errors() {
    for bytes in [
        vec![0x83, 0x00],                           // reserved opcode
        vec![0x81, 0x81, 1, 2, 3, 4, b'x'],         // a masked server frame
        server_frame(OpCode::Text, b"9x").to_vec(), // unknown Engine.IO type
        server_frame(OpCode::Text, b"").to_vec(),
    ] {
        let mut sim = Sim::connected_main(no_jitter());
        sim.server_bytes(&bytes);
        let events = sim.take_events();
        assert_eq!(
            events.first(),
            Some(&ClientEvent::Closed {
                reason: DisconnectReason::TransportError
            }),
            "{bytes:?}"
        );
        assert_eq!(sim.closes, [sim.conn()]);
    }
}

#[test]
fn server_close_frame_and_close_packet_are_transport_close() {
    let mut sim = Sim::connected_main(no_jitter());
    sim.server_bytes(&server_frame(OpCode::Close, &[0x03, 0xe8]));
    assert_eq!(sim.take_sent(), ["<close:Some(1000)>"]);
    assert!(sim.take_events().contains(&ClientEvent::Closed {
        reason: DisconnectReason::TransportClose
    }));
    let mut sim = Sim::connected_main(no_jitter());
    sim.server_text("1");
    assert!(sim.take_events().contains(&ClientEvent::Closed {
        reason: DisconnectReason::TransportClose
    }));
}

#[test]
fn stale_connection_inputs_are_ignored() {
    let mut sim = Sim::connected_main(no_jitter());
    let old = sim.conn();
    sim.tcp_closed();
    sim.take_events();
    sim.client.handle_data(sim.now, old, b"anything");
    sim.client.handle_closed(sim.now, old);
    sim.client.handle_connected(sim.now, old);
    sim.pump();
    assert!(sim.take_events().is_empty());
}

// ---------------------------------------------------------------------------
// Properties

#[derive(Debug, Clone)]
enum Op {
    Emit { volatile: bool },
    DropConnection,
    Advance(u64),
    Ping,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => any::<bool>().prop_map(|volatile| Op::Emit { volatile }),
        1 => Just(Op::DropConnection),
        2 => (0u64..8000).prop_map(Op::Advance),
        1 => Just(Op::Ping),
    ]
}

/// A server that completes every handshake and accepts every CONNECT as
/// soon as the client asks.
fn serve(sim: &mut Sim) {
    loop {
        let asked = sim.connects.len();
        if asked > sim.served {
            sim.served = asked;
            sim.handshake();
            continue;
        }
        let sent = sim.take_sent();
        let mut progressed = false;
        for message in sent {
            if message == "40" {
                sim.server_text(r#"40{"sid":"s"}"#);
                progressed = true;
            } else {
                sim.sent_log.push(message);
            }
        }
        if !progressed {
            return;
        }
    }
}

proptest! {
    #[test]
    fn interleavings_deliver_every_buffered_emit_once(ops in proptest::collection::vec(op(), 0..60)) {
        let mut sim = Sim::connected_main(config());
        sim.served = sim.connects.len();
        let mut expected = Vec::new();
        let mut volatile = Vec::new();
        for (seq, op) in ops.into_iter().enumerate() {
            match op {
                Op::Emit { volatile: is_volatile } => {
                    let data = format!(r#"["e",{seq}]"#);
                    let options = if is_volatile { EmitOptions::new().volatile() } else { EmitOptions::new() };
                    sim.client.emit(sim.now, "/", json(&data), vec![], options).unwrap();
                    sim.pump();
                    if is_volatile { volatile.push(format!("42{data}")) } else { expected.push(format!("42{data}")) }
                }
                Op::DropConnection => {
                    if sim.server.is_some() && !sim.closes.contains(&sim.conn()) {
                        sim.tcp_closed();
                    }
                }
                Op::Advance(step) => {
                    let now = sim.now + ms(step);
                    sim.advance_to(now);
                }
                Op::Ping => {
                    if sim.client.engine_sid().is_some() {
                        sim.server_text("2");
                    }
                }
            }
            serve(&mut sim);
        }
        // Let any reconnection finish.
        for _ in 0..20 {
            if sim.client.is_connected("/") && sim.client.buffered_count("/") == 0 {
                break;
            }
            if let Some(next) = sim.timeout {
                sim.advance_to(next);
            }
            serve(&mut sim);
        }
        prop_assert!(sim.client.is_connected("/"));
        let events: Vec<String> = sim.sent_log.iter().filter(|m| m.starts_with("42")).cloned().collect();
        let kept: Vec<String> = events.iter().filter(|m| !volatile.contains(m)).cloned().collect();
        prop_assert_eq!(kept, expected);
        for message in &volatile {
            prop_assert!(events.iter().filter(|m| *m == message).count() <= 1);
        }
    }

    #[test]
    fn arbitrary_server_bytes_never_panic(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..8)) {
        let mut sim = Sim::connected_main(config());
        for chunk in chunks {
            if sim.server.is_none() || sim.closes.contains(&sim.conn()) {
                break;
            }
            // Raw bytes, then the same bytes as a well-framed message.
            sim.server_bytes(&chunk);
            if sim.closes.contains(&sim.conn()) {
                break;
            }
            sim.server_text(&String::from_utf8_lossy(&chunk));
        }
    }
}

// ---------------------------------------------------------------------------
// `retries` and `ackTimeout`

fn with_retries(retries: u32, ack_timeout: Option<u64>) -> Config {
    let mut config = no_jitter();
    config.retries = retries;
    config.ack_timeout = ack_timeout.map(ms);
    config
}

const QUEUED: u64 = 1 << 63;

#[test]
fn retries_send_the_head_only_and_resend_it_with_a_new_id() {
    let mut sim = Sim::connected_main(with_retries(2, Some(100)));
    let first = sim.emit(
        "/",
        r#"["a",1]"#,
        EmitOptions::new().with_ack(Duration::MAX),
    );
    let second = sim.emit("/", r#"["a",2]"#, EmitOptions::new());
    assert_eq!((first, second), (Some(QUEUED), None));
    assert_eq!(sim.client.queued_count("/"), 2);
    // Only the head is out; every queued emit asks for an ack.
    assert_eq!(sim.take_sent(), [r#"420["a",1]"#]);
    sim.advance_to(at(99));
    assert!(sim.take_sent().is_empty());
    sim.advance_to(at(100));
    assert_eq!(sim.take_sent(), [r#"421["a",1]"#]);
    // The timed-out attempt's ack no longer counts.
    sim.server_text(r#"430["late"]"#);
    assert!(sim.take_events().is_empty());
    sim.server_text(r#"431["ok"]"#);
    assert_eq!(
        sim.take_events(),
        [ClientEvent::Ack {
            nsp: nsp("/"),
            id: QUEUED,
            data: json(r#"["ok"]"#),
            attachments: Vec::new()
        }]
    );
    // The next one goes only now; unanswered, it is tried 3 times, then
    // dropped (nobody waits for its ack).
    assert_eq!(sim.take_sent(), [r#"422["a",2]"#]);
    sim.advance_to(at(200));
    assert_eq!(sim.take_sent(), [r#"423["a",2]"#]);
    sim.advance_to(at(300));
    assert_eq!(sim.take_sent(), [r#"424["a",2]"#]);
    sim.advance_to(at(400));
    assert!(sim.take_sent().is_empty());
    assert!(sim.take_events().is_empty());
    assert_eq!(sim.client.queued_count("/"), 0);
}

#[test]
fn retries_exhausted_time_out_the_applications_ack() {
    let mut sim = Sim::connected_main(with_retries(1, None));
    // Its own timeout wins over `ackTimeout` (none here).
    let id = sim.emit("/", r#"["x"]"#, EmitOptions::new().with_ack(ms(50)));
    assert_eq!(sim.take_sent(), [r#"420["x"]"#]);
    sim.advance_to(at(50));
    assert_eq!(sim.take_sent(), [r#"421["x"]"#]);
    sim.advance_to(at(100));
    assert_eq!(
        sim.take_events(),
        [ClientEvent::AckTimeout {
            nsp: nsp("/"),
            id: id.unwrap()
        }]
    );
}

#[test]
fn queued_emits_before_connect_and_across_a_reconnect() {
    let mut sim = Sim::new(with_retries(3, Some(5_000)));
    sim.client.connect(sim.now, "/", None).unwrap();
    sim.pump();
    // Before the namespace is connected: queued, sent once it is.
    let id = sim.emit(
        "/",
        r#"["early"]"#,
        EmitOptions::new().with_ack(Duration::MAX),
    );
    sim.handshake();
    assert_eq!(sim.take_sent(), ["40"]);
    sim.server_text(r#"40{"sid":"s1"}"#);
    assert_eq!(sim.take_sent(), [r#"420["early"]"#]);
    // The connection is lost with the attempt out: no error (tries left),
    // sent again after the reconnection, with a new id.
    sim.tcp_closed();
    let events = sim.take_events();
    assert!(!events
        .iter()
        .any(|e| matches!(e, ClientEvent::AckCancelled { .. })));
    sim.advance_to(at(1000));
    sim.handshake();
    sim.server_text(r#"40{"sid":"s2"}"#);
    assert_eq!(sim.take_sent(), ["40", r#"421["early"]"#]);
    sim.server_text(r#"431[]"#);
    assert!(sim.take_events().contains(&ClientEvent::Ack {
        nsp: nsp("/"),
        id: id.unwrap(),
        data: json("[]"),
        attachments: Vec::new()
    }));
}

#[test]
fn ack_timeout_is_the_default_deadline_without_retries() {
    let mut sim = Sim::connected_main(with_retries(0, Some(300)));
    let id = sim.emit("/", r#"["q"]"#, EmitOptions::new().with_ack(Duration::MAX));
    assert_eq!(sim.take_sent(), [r#"420["q"]"#]);
    sim.advance_to(at(300));
    assert_eq!(
        sim.take_events(),
        [ClientEvent::AckTimeout {
            nsp: nsp("/"),
            id: id.unwrap()
        }]
    );
    // Volatile emits bypass the queue even with retries on.
    let mut sim = Sim::connected_main(with_retries(2, None));
    sim.emit("/", r#"["v"]"#, EmitOptions::new().volatile());
    assert_eq!(sim.take_sent(), [r#"42["v"]"#]);
    assert_eq!(sim.client.queued_count("/"), 0);
}

// ---------------------------------------------------------------------------
// Emits before `connect` and after leaving

#[test]
fn emits_before_connect_are_buffered_and_sent_in_order_once_connected() {
    let mut sim = Sim::new(no_jitter());
    sim.client.add_namespace("/").unwrap();
    assert!(!sim.client.is_active("/"));
    sim.emit("/", r#"["one"]"#, EmitOptions::new());
    let id = sim.emit("/", r#"["two"]"#, EmitOptions::new().with_ack(ms(60_000)));
    let volatile = sim.emit("/", r#"["gone"]"#, EmitOptions::new().volatile());
    assert_eq!(volatile, None);
    assert_eq!(sim.client.buffered_count("/"), 2);
    // Nothing was opened for them.
    sim.pump();
    assert!(sim.connects.is_empty());
    sim.client.connect(sim.now, "/", None).unwrap();
    sim.pump();
    sim.handshake();
    assert_eq!(sim.take_sent(), ["40"]);
    sim.server_text(r#"40{"sid":"s1"}"#);
    assert_eq!(
        sim.take_sent(),
        [
            r#"42["one"]"#,
            format!(r#"42{}["two"]"#, id.unwrap()).as_str()
        ]
    );
    assert_eq!(
        sim.client.add_namespace("bad"),
        Err(ClientError::InvalidNamespace)
    );
}

#[test]
fn leaving_one_namespace_keeps_the_others_and_buffers_for_a_rejoin() {
    let mut sim = Sim::connected_main(no_jitter());
    sim.client.connect(sim.now, "/admin", None).unwrap();
    sim.pump();
    sim.server_text(r#"40/admin,{"sid":"a1"}"#);
    sim.take_sent();
    sim.take_events();
    sim.client.disconnect(sim.now, "/admin").unwrap();
    sim.pump();
    assert_eq!(sim.take_sent(), ["41/admin,"]);
    assert!(!sim.client.is_active("/admin"));
    // What the server still sends it is stale; `/` goes on.
    sim.server_text(r#"42/admin,["late"]"#);
    sim.server_text(r#"42["news"]"#);
    let events = sim.take_events();
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(matches!(&events[1], ClientEvent::Event { nsp, .. } if nsp == "/"));
    // Emits on the left namespace wait for it to join again.
    sim.emit("/admin", r#"["later"]"#, EmitOptions::new());
    assert!(sim.take_sent().is_empty());
    sim.client
        .connect(sim.now, "/admin", Some(json(r#"{"k":2}"#)))
        .unwrap();
    sim.pump();
    assert_eq!(sim.take_sent(), [r#"40/admin,{"k":2}"#]);
    sim.server_text(r#"40/admin,{"sid":"a2"}"#);
    assert_eq!(sim.take_sent(), [r#"42/admin,["later"]"#]);
    assert!(sim.closes.is_empty());
}

// ---------------------------------------------------------------------------
// Connection state recovery

fn event(data: &str, ack: Option<u64>) -> ClientEvent {
    ClientEvent::Event {
        nsp: nsp("/"),
        data: json(data),
        attachments: vec![],
        ack,
    }
}

#[test]
fn recovery_pid_and_offset_go_back_merged_with_auth_and_offsets_are_stripped() {
    let mut sim = Sim::new(no_jitter());
    sim.client
        .connect(sim.now, "/", Some(json(r#"{"token":"abc"}"#)))
        .unwrap();
    sim.pump();
    sim.handshake();
    sim.take_events();
    assert_eq!(sim.take_sent(), [r#"40{"token":"abc"}"#]);
    sim.server_text(r#"40{"sid":"s1","pid":"p1"}"#);
    assert_eq!(
        sim.take_events(),
        [ClientEvent::Connected {
            nsp: nsp("/"),
            sid: nsp("s1"),
            recovered: false,
        }]
    );
    // The offset goes; an event with an ack id or no arguments is as sent.
    sim.server_text(r#"42["a",1,"7"]"#);
    sim.server_text(r#"421["b","x"]"#);
    sim.server_text(r#"42["c"]"#);
    sim.server_text(r#"42["d",{"e":"]"} , "8" ]"#);
    assert_eq!(
        sim.take_events(),
        [
            event(r#"["a",1]"#, None),
            event(r#"["b","x"]"#, Some(1)),
            event(r#"["c"]"#, None),
            event(r#"["d",{"e":"]"}]"#, None),
        ]
    );
    sim.tcp_closed();
    sim.take_events();
    sim.advance_to(at(1000));
    sim.handshake();
    sim.take_events();
    // The recovery fields first, then the auth's own keys.
    assert_eq!(
        sim.take_sent(),
        [r#"40{"pid":"p1","offset":"8","token":"abc"}"#]
    );
    // What was missed comes before the reply: held, then delivered.
    sim.server_text(r#"42["missed",1,"9"]"#);
    assert_eq!(sim.take_events(), []);
    sim.server_text(r#"40{"sid":"s1","pid":"p1"}"#);
    assert_eq!(
        sim.take_events(),
        [
            ClientEvent::Connected {
                nsp: nsp("/"),
                sid: nsp("s1"),
                recovered: true,
            },
            event(r#"["missed",1]"#, None),
        ]
    );
    // A server that did not recover gives a new pid: not recovered.
    sim.tcp_closed();
    sim.take_events();
    sim.advance_to(at(3000));
    sim.handshake();
    sim.take_events();
    assert_eq!(
        sim.take_sent(),
        [r#"40{"pid":"p1","offset":"9","token":"abc"}"#]
    );
    sim.server_text(r#"40{"sid":"s2","pid":"p2"}"#);
    assert!(matches!(
        sim.take_events().as_slice(),
        [ClientEvent::Connected {
            recovered: false,
            ..
        }]
    ));
}

#[test]
fn without_a_pid_nothing_is_stripped_and_no_auth_is_added() {
    let mut sim = Sim::connected_main(no_jitter());
    sim.server_text(r#"42["a","b"]"#);
    assert_eq!(sim.take_events(), [event(r#"["a","b"]"#, None)]);
    sim.tcp_closed();
    sim.take_events();
    sim.advance_to(at(1000));
    sim.handshake();
    sim.take_events();
    assert_eq!(sim.take_sent(), ["40"]);
}

#[test]
fn events_before_the_reply_are_bounded() {
    let mut config = no_jitter();
    config.max_buffered_emits = 3;
    let mut sim = Sim::new(config);
    sim.client.connect(sim.now, "/", None).unwrap();
    sim.pump();
    sim.handshake();
    sim.take_events();
    sim.take_sent();
    sim.take_events();
    for _ in 0..3 {
        sim.server_text(r#"42["early"]"#);
    }
    assert_eq!(sim.take_events(), []);
    sim.server_text(r#"42["early"]"#);
    assert!(matches!(
        sim.take_events().as_slice(),
        [
            ClientEvent::Closed {
                reason: DisconnectReason::ParseError
            },
            ..
        ]
    ));
}

// ---------------------------------------------------------------------------
// The MessagePack parser

#[test]
fn msgpack_connect_events_and_acks_are_binary_messages() {
    use sio_core::packet::{decode_msgpack, encode_msgpack, Packet, ParserKind};
    let mut config = no_jitter();
    config.parser = ParserKind::MsgPack;
    let mut sim = Sim::new(config);
    sim.client
        .connect(sim.now, "/", Some(json(r#"{"token":"abc"}"#)))
        .unwrap();
    sim.pump();
    sim.handshake();
    let connect = Packet::connect("/", Some(json(r#"{"token":"abc"}"#)));
    let sent = std::mem::take(&mut sim.sent);
    match sent.as_slice() {
        [Message::Binary(data)] => {
            assert_eq!(decode_msgpack(data, &Default::default()), Ok(connect));
        }
        other => panic!("expected one binary CONNECT, got {other:?}"),
    }
    // The engine's own packets stay text; the server's CONNECT is binary.
    sim.server_binary(&encode_msgpack(&Packet::connect(
        "/",
        Some(json(r#"{"sid":"s1"}"#)),
    )));
    assert!(sim.take_events().contains(&ClientEvent::Connected {
        nsp: nsp("/"),
        sid: nsp("s1"),
        recovered: false,
    }));

    // An event with a buffer inline, asking for an ack.
    let data = json(r#"["up",{"_placeholder":true,"num":0}]"#);
    let attachments = vec![Bytes::from_static(b"ab")];
    let id = sim
        .client
        .emit(
            sim.now,
            "/",
            data.clone(),
            attachments.clone(),
            EmitOptions::new().with_ack(ms(100)),
        )
        .unwrap();
    sim.pump();
    let sent = std::mem::take(&mut sim.sent);
    let expected = Packet::event("/", data, attachments).with_id(id.expect("an ack id"));
    match sent.as_slice() {
        [Message::Binary(bytes)] => assert_eq!(bytes.as_ref(), encode_msgpack(&expected)),
        other => panic!("expected one binary EVENT, got {other:?}"),
    }
    let reply = json(r#"[{"_placeholder":true,"num":0}]"#);
    let ack = Packet::ack("/", 0, reply.clone(), vec![Bytes::from_static(b"xyz")]);
    sim.server_binary(&encode_msgpack(&ack));
    assert_eq!(
        sim.take_events(),
        [ClientEvent::Ack {
            nsp: nsp("/"),
            id: 0,
            data: reply,
            attachments: vec![Bytes::from_static(b"xyz")],
        }]
    );
}
