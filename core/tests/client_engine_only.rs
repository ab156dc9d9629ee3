//! The Engine.IO-only client against a scripted WebSocket server built
//! from the core's codecs, on a simulated clock: open, buffered sends,
//! messages both ways, and each close reason.

use bytes::Bytes;
use bytestring::ByteString;
use sio_core::client::{
    ClientEvent, Config, ConnId, DisconnectReason, EngineClient, Output, SendError, Transport,
};
use sio_core::wire::http::{Limits as HttpLimits, RequestParser};
use sio_core::wire::ws::frame::server_frame;
use sio_core::wire::ws::{handshake, Decoder, Limits, Message, OpCode, Role};
use sio_core::Instant;

const OPEN: &str =
    r#"0{"sid":"e1","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000}"#;

struct Sim {
    client: EngineClient,
    now: Instant,
    timeout: Option<Instant>,
    connects: Vec<ConnId>,
    closes: Vec<ConnId>,
    events: Vec<ClientEvent>,
    request: Vec<u8>,
    upgraded: bool,
    frames: Decoder,
    sent: Vec<Message>,
}

impl Sim {
    fn new() -> Self {
        let mut config = Config::default();
        config.host = "localhost:3000".into();
        config.path = "/engine.io/".into();
        config.transports = vec![Transport::WebSocket];
        config.max_buffered_emits = 2;
        Sim {
            client: EngineClient::new(config, [7; 32]),
            now: Instant::ZERO,
            timeout: None,
            connects: Vec::new(),
            closes: Vec::new(),
            events: Vec::new(),
            request: Vec::new(),
            upgraded: false,
            frames: Decoder::new(Role::Server, Limits::default()),
            sent: Vec::new(),
        }
    }

    fn pump(&mut self) {
        loop {
            match self.client.poll_output() {
                Output::Connect { conn } => self.connects.push(conn),
                Output::Transmit { data, .. } if !self.upgraded => {
                    self.request.extend_from_slice(&data)
                }
                Output::Transmit { data, .. } => {
                    self.frames.feed(&data);
                    while let Some(message) = self.frames.poll_message().unwrap() {
                        self.sent.push(message);
                    }
                }
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

    fn conn(&self) -> ConnId {
        *self.connects.last().expect("no connection asked")
    }

    /// Opens, accepts the WebSocket and sends the open packet.
    fn open(&mut self) {
        self.client.open(self.now);
        self.pump();
        let conn = self.conn();
        self.client.handle_connected(self.now, conn);
        self.pump();
        let mut parser = RequestParser::new(HttpLimits::default());
        parser.feed(&self.request);
        let request = parser.poll_request().unwrap().unwrap();
        assert_eq!(request.target, "/engine.io/?EIO=4&transport=websocket");
        let response = handshake::accept(&request).unwrap().to_bytes();
        self.upgraded = true;
        self.server_bytes(&response);
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

    fn advance_to(&mut self, millis: u64) {
        self.now = Instant::from_millis(millis);
        self.client.handle_timeout(self.now);
        self.pump();
    }

    fn take_events(&mut self) -> Vec<ClientEvent> {
        std::mem::take(&mut self.events)
    }
}

fn closed(reason: DisconnectReason) -> ClientEvent {
    ClientEvent::Closed { reason }
}

#[test]
fn sends_wait_for_the_open_packet_then_messages_flow_both_ways() {
    let mut sim = Sim::new();
    let now = sim.now;
    sim.client
        .send_text(now, ByteString::from("early"))
        .unwrap();
    sim.client
        .send_binary(now, Bytes::from_static(b"\x01\x02"))
        .unwrap();
    assert_eq!(
        sim.client.send_text(now, ByteString::from("third")),
        Err(SendError::BufferFull)
    );
    sim.open();
    assert_eq!(sim.take_events(), [ClientEvent::Open { sid: "e1".into() }]);
    let handshake = sim.client.handshake().unwrap();
    assert_eq!(
        (
            handshake.ping_interval,
            handshake.ping_timeout,
            handshake.max_payload
        ),
        (300, 200, 1000)
    );
    assert_eq!(
        std::mem::take(&mut sim.sent),
        [
            Message::Text(ByteString::from("4early")),
            Message::Binary(Bytes::from_static(b"\x01\x02"))
        ]
    );
    // What would be Socket.IO packets are plain messages here.
    sim.server_text(r#"42["not","decoded"]"#);
    sim.server_bytes(&server_frame(OpCode::Binary, b"\xff"));
    assert_eq!(
        sim.take_events(),
        [
            ClientEvent::Message {
                text: ByteString::from(r#"2["not","decoded"]"#)
            },
            ClientEvent::BinaryMessage {
                data: Bytes::from_static(b"\xff")
            }
        ]
    );
    sim.client
        .send_text(sim.now, ByteString::from("now"))
        .unwrap();
    sim.pump();
    assert_eq!(sim.sent, [Message::Text(ByteString::from("4now"))]);
}

#[test]
fn no_ping_is_a_ping_timeout_and_the_client_stays_closed() {
    let mut sim = Sim::new();
    sim.open();
    sim.take_events();
    assert_eq!(sim.timeout, Some(Instant::from_millis(500)));
    sim.advance_to(400);
    sim.server_text("2");
    assert_eq!(sim.sent.pop(), Some(Message::Text(ByteString::from("3"))));
    assert_eq!(sim.timeout, Some(Instant::from_millis(900)));
    sim.advance_to(900);
    assert_eq!(sim.take_events(), [closed(DisconnectReason::PingTimeout)]);
    assert!(sim.client.is_closed());
    assert_eq!(sim.timeout, None, "no reconnection");
    assert_eq!(
        sim.client.send_text(sim.now, ByteString::from("late")),
        Err(SendError::Closed)
    );
    sim.client.open(sim.now);
    sim.pump();
    assert_eq!(sim.connects.len(), 1, "a closed client does not reopen");
}

#[test]
fn close_packet_from_the_server_is_a_transport_close() {
    let mut sim = Sim::new();
    sim.open();
    sim.take_events();
    sim.server_text("1");
    assert_eq!(
        sim.take_events(),
        [closed(DisconnectReason::TransportClose)]
    );
    assert_eq!(sim.closes, [sim.conn()]);
}

#[test]
fn a_bad_packet_is_a_transport_error() {
    let mut sim = Sim::new();
    sim.open();
    sim.take_events();
    sim.server_text("9nonsense");
    assert_eq!(
        sim.take_events(),
        [closed(DisconnectReason::TransportError)]
    );
}

#[test]
fn close_is_a_forced_close_with_a_close_frame() {
    let mut sim = Sim::new();
    sim.open();
    sim.take_events();
    sim.client.close(sim.now);
    sim.pump();
    assert_eq!(sim.take_events(), [closed(DisconnectReason::ForcedClose)]);
    assert!(matches!(sim.sent.last(), Some(Message::Close(_))));
    assert_eq!(sim.closes, [sim.conn()]);
}

#[test]
fn a_failed_attempt_is_an_error_then_a_transport_error_close() {
    let mut sim = Sim::new();
    sim.client
        .send_text(sim.now, ByteString::from("lost"))
        .unwrap();
    sim.client.open(sim.now);
    sim.pump();
    let conn = sim.conn();
    sim.client.handle_closed(sim.now, conn);
    sim.pump();
    assert_eq!(
        sim.take_events(),
        [
            ClientEvent::OpenError {
                message: "websocket error"
            },
            closed(DisconnectReason::TransportError)
        ]
    );
    assert_eq!(sim.client.buffered_count(), 0);
    assert_eq!(sim.timeout, None);
}
