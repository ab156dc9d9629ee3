//! The simulated-clock harness shared by the server tests (`sio_server`,
//! `recovery`): a [`Harness`] that owns the server and drains its outputs,
//! and WebSocket [`Client`]s that speak raw Engine.IO frames to it.

// Each test binary uses only part of the harness.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use bytestring::ByteString;

use sio_core::engine::{ConnId, Io};
use sio_core::packet::RawJson;
use sio_core::server::{Config, Event, Output, Server};
use sio_core::wire::http::{Header, Method, Request, Response};
use sio_core::wire::ws::frame::{encode_frame, Decoder, Message, OpCode, Role};
use sio_core::Instant;

/// What a client read from its connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recv {
    /// A text frame: the whole Engine.IO packet (`4...`, `2`, `1`).
    Text(String),
    /// A binary frame.
    Binary(Vec<u8>),
    /// A close frame.
    Close,
}

pub struct Harness {
    pub server: Server,
    pub now: Instant,
    pub next_conn: u64,
    pub events: Vec<Event>,
    /// Raw WebSocket bytes transmitted per connection, not read yet.
    pub transmitted: BTreeMap<ConnId, Vec<Bytes>>,
    pub responses: BTreeMap<ConnId, Response>,
    pub closed: Vec<ConnId>,
    pub timeout: Option<Instant>,
    /// Report every transmit as written at once (the transport stays writable).
    pub auto_flush: bool,
}

pub fn config() -> Config {
    let mut config = Config::default();
    // Long heartbeats, so only the tests about them see pings.
    config.engine.ping_interval = Duration::from_secs(10_000);
    config.engine.ping_timeout = Duration::from_secs(10_000);
    config
}

pub fn header(name: &str, value: &str) -> Header {
    Header {
        name: name.into(),
        value: value.into(),
    }
}

pub fn request(method: Method, target: &str, headers: Vec<Header>, body: &[u8]) -> Request {
    Request {
        method,
        target: target.into(),
        headers,
        body: Bytes::copy_from_slice(body),
        keep_alive: true,
    }
}

pub fn json(text: &str) -> RawJson {
    RawJson::parse(ByteString::from(text)).expect("test JSON")
}

impl Harness {
    pub fn new(config: Config) -> Self {
        let mut h = Harness {
            server: Server::new(config, [7; 32]),
            now: Instant::ZERO,
            next_conn: 1,
            events: Vec::new(),
            transmitted: BTreeMap::new(),
            responses: BTreeMap::new(),
            closed: Vec::new(),
            timeout: None,
            auto_flush: true,
        };
        h.drain();
        h
    }

    pub fn conn(&mut self) -> ConnId {
        self.next_conn += 1;
        ConnId(self.next_conn)
    }

    /// Drains outputs until Timeout, flushing transmits when auto_flush is on.
    /// An abort counts as a close.
    pub fn drain(&mut self) {
        loop {
            let mut to_flush = Vec::new();
            loop {
                match self.server.poll_output() {
                    Output::Io(Io::Transmit { conn, data }) => {
                        self.transmitted.entry(conn).or_default().push(data);
                        if !to_flush.contains(&conn) {
                            to_flush.push(conn);
                        }
                    }
                    Output::Io(Io::Respond { conn, response })
                    | Output::Io(Io::Upgrade { conn, response }) => {
                        self.responses.insert(conn, *response);
                    }
                    Output::Io(Io::Close { conn }) | Output::Io(Io::Abort { conn }) => {
                        self.closed.push(conn)
                    }
                    Output::Io(other) => panic!("unexpected io {other:?}"),
                    Output::Event(event) => self.events.push(event),
                    Output::Timeout(at) => {
                        self.timeout = at;
                        break;
                    }
                    other => panic!("unexpected output {other:?}"),
                }
            }
            if !self.auto_flush || to_flush.is_empty() {
                return;
            }
            for conn in to_flush {
                self.server.handle_flushed(self.now, conn);
            }
        }
    }

    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    /// Runs every deadline up to and including `t`, then sets the clock to `t`.
    pub fn advance_to(&mut self, t: Instant) {
        while let Some(at) = self.timeout {
            if at > t {
                break;
            }
            self.now = self.now.max(at);
            self.server.handle_timeout(self.now);
            self.drain();
        }
        self.now = t;
    }

    pub fn advance(&mut self, d: Duration) {
        let t = self.now + d;
        self.advance_to(t);
    }

    /// Opens a session directly over WebSocket.
    pub fn ws_client(&mut self) -> Client {
        self.ws_client_with_sid().0
    }

    /// Opens a session directly over WebSocket: the client and the
    /// session id its open packet named.
    #[allow(dead_code)]
    pub fn ws_client_with_sid(&mut self) -> (Client, String) {
        let conn = self.conn();
        let req = request(
            Method::Get,
            "/socket.io/?EIO=4&transport=websocket",
            vec![
                header("host", "localhost"),
                header("upgrade", "websocket"),
                header("connection", "Upgrade"),
                header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
                header("sec-websocket-version", "13"),
            ],
            b"",
        );
        self.server.handle_request(self.now, conn, req);
        self.drain();
        let response = self.responses.remove(&conn).expect("upgrade response");
        assert_eq!(response.status, 101);
        let mut client = Client {
            conn,
            decoder: Decoder::new(Role::Client, Default::default()),
        };
        let open = client.recv(self);
        let sid = match open.as_slice() {
            [Recv::Text(open)] => {
                let rest = open.strip_prefix("0{\"sid\":\"").expect("an open packet");
                rest[..rest.find('"').expect("the sid's end")].to_owned()
            }
            other => panic!("expected the open packet, got {other:?}"),
        };
        (client, sid)
    }
}

pub struct Client {
    pub conn: ConnId,
    pub decoder: Decoder,
}

impl Client {
    pub fn frame(&self, h: &mut Harness, opcode: OpCode, payload: &[u8]) {
        let mut out = BytesMut::new();
        encode_frame(
            &mut out,
            true,
            opcode,
            payload,
            Some([0x11, 0x22, 0x33, 0x44]),
        );
        h.server.handle_ws_data(h.now, self.conn, &out);
        h.drain();
    }

    /// Sends the Socket.IO packet `text` as an Engine.IO message.
    pub fn send(&self, h: &mut Harness, text: &str) {
        self.frame(h, OpCode::Text, format!("4{text}").as_bytes());
    }

    /// The raw transmits since the last read.
    pub fn raw(&self, h: &mut Harness) -> Vec<Bytes> {
        h.transmitted.remove(&self.conn).unwrap_or_default()
    }

    pub fn recv(&mut self, h: &mut Harness) -> Vec<Recv> {
        let raw = self.raw(h);
        self.decode(&raw)
    }

    pub fn decode(&mut self, raw: &[Bytes]) -> Vec<Recv> {
        for chunk in raw {
            self.decoder.feed(chunk);
        }
        let mut out = Vec::new();
        while let Some(message) = self.decoder.poll_message().expect("server frames") {
            out.push(match message {
                Message::Text(text) => Recv::Text(text.to_string()),
                Message::Binary(data) => Recv::Binary(data.to_vec()),
                Message::Close(_) => Recv::Close,
                other => panic!("unexpected frame {other:?}"),
            });
        }
        out
    }

    /// Socket.IO packets received (Engine.IO messages without the `4`).
    pub fn packets(&mut self, h: &mut Harness) -> Vec<String> {
        self.recv(h)
            .into_iter()
            .map(|r| match r {
                Recv::Text(t) if t.starts_with('4') => t[1..].to_string(),
                other => panic!("expected a message, got {other:?}"),
            })
            .collect()
    }
}
