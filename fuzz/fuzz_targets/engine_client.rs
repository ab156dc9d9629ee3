//! The Engine.IO-only client ([`EngineClient`]) against a hostile server:
//! the input is a sequence of operations on the connections the client
//! asked for (raw bytes, HTTP answers with arbitrary payloads, a `101`
//! with a frame after it, closes), time passing, and the application's
//! calls (send text or binary, open, close), on each transport set. After
//! every operation the outputs are drained until `Timeout`.
//!
//! Nothing may panic; transmits and closes only name connections the
//! client asked for; `Closed` comes at most once and nothing opens after
//! it; the messages waiting for the open packet stay within their bound.
#![no_main]

use std::collections::BTreeSet;
use std::time::Duration;

use bytes::Bytes;
use bytestring::ByteString;
use libfuzzer_sys::arbitrary::{Result as ArbResult, Unstructured};
use libfuzzer_sys::fuzz_target;
use sio_core::client::{ClientEvent, Config, ConnId, EngineClient, Output, Transport};
use sio_core::wire::http::Response;
use sio_core::wire::ws::frame::{encode_frame, OpCode};
use sio_core::Instant;

const MAX_OPS: usize = 256;
const MAX_BUFFERED: usize = 16;

/// Engine.IO packets a server might send.
const PAYLOADS: &[&str] = &[
    r#"0{"sid":"s","upgrades":["websocket"],"pingInterval":100,"pingTimeout":100,"maxPayload":64}"#,
    r#"0{"sid":"s"}"#,
    "2",
    "3probe",
    "4hello",
    "bAQID",
    "6",
    "1",
    "9",
];

struct Harness {
    client: EngineClient,
    now: Instant,
    asked: BTreeSet<u64>,
    conns: Vec<ConnId>,
    closed: bool,
}

impl Harness {
    fn drain(&mut self) {
        for _ in 0..10_000 {
            match self.client.poll_output() {
                Output::Connect { conn } => {
                    assert!(!self.closed, "a connection after the close");
                    assert!(self.asked.insert(conn.as_u64()), "connection id reused");
                    self.conns.push(conn);
                }
                Output::Transmit { conn, .. }
                | Output::Close { conn }
                | Output::Linger { conn, .. } => {
                    assert!(self.asked.contains(&conn.as_u64()), "unknown connection");
                }
                Output::Event(ClientEvent::Closed { .. }) => {
                    assert!(!self.closed, "closed twice");
                    self.closed = true;
                }
                Output::Event(ClientEvent::Open { .. }) => {
                    assert!(!self.closed, "opened after the close");
                }
                Output::Event(_) => {}
                Output::Timeout(_) => return,
                _ => {}
            }
        }
        panic!("outputs never reached Timeout");
    }

    fn pick(&self, u: &mut Unstructured<'_>) -> ArbResult<Option<ConnId>> {
        if self.conns.is_empty() {
            return Ok(None);
        }
        let back = usize::from(u.int_in_range(0u8..=3)?);
        Ok(self.conns.iter().rev().nth(back).copied())
    }

    fn step(&mut self, u: &mut Unstructured<'_>) -> ArbResult<()> {
        let now = self.now;
        let was_open = self.client.is_open();
        match u.int_in_range(0u8..=8)? {
            0 => {
                if let Some(conn) = self.pick(u)? {
                    self.client.handle_connected(now, conn);
                }
            }
            1 => {
                if let Some(conn) = self.pick(u)? {
                    let bytes: &[u8] = u.arbitrary()?;
                    self.client.handle_data(now, conn, bytes);
                }
            }
            2 => {
                if let Some(conn) = self.pick(u)? {
                    let count = u.int_in_range(1usize..=3)?;
                    let mut body = String::new();
                    for index in 0..count {
                        if index > 0 {
                            body.push('\u{1e}');
                        }
                        body.push_str(u.choose(PAYLOADS)?);
                    }
                    let status = *u.choose(&[200u16, 200, 200, 400])?;
                    let response = Response::new(status)
                        .with_body("text/plain", Bytes::from(body))
                        .to_bytes();
                    self.client.handle_data(now, conn, &response);
                }
            }
            3 => {
                if let Some(conn) = self.pick(u)? {
                    let mut bytes = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n".to_vec();
                    let mut frame = bytes::BytesMut::new();
                    let opcode = *u.choose(&[OpCode::Text, OpCode::Binary, OpCode::Close])?;
                    encode_frame(
                        &mut frame,
                        true,
                        opcode,
                        u.choose(PAYLOADS)?.as_bytes(),
                        None,
                    );
                    bytes.extend_from_slice(&frame);
                    self.client.handle_data(now, conn, &bytes);
                }
            }
            4 => {
                if let Some(conn) = self.pick(u)? {
                    self.client.handle_closed(now, conn);
                }
            }
            5 => {
                let step = u.int_in_range(0u64..=30_000)?;
                self.now = self.now + Duration::from_millis(step);
                self.client.handle_timeout(self.now);
            }
            6 => {
                let _ = self.client.send_text(now, ByteString::from_static("m"));
            }
            7 => {
                let _ = self.client.send_binary(now, Bytes::from_static(b"\x00"));
            }
            _ => {
                if u.arbitrary()? {
                    self.client.close(now);
                } else {
                    self.client.open(now);
                }
            }
        }
        self.drain();
        if !was_open && !self.client.is_open() {
            // Only what waits for the open packet is bounded here; an
            // upgrade's held writes are the Socket.IO client's bound.
            assert!(self.client.buffered_count() <= MAX_BUFFERED);
        }
        Ok(())
    }
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(seed) = u.arbitrary::<[u8; 32]>() else {
        return;
    };
    let mut config = Config::default();
    config.transports = match u.int_in_range(0u8..=2) {
        Ok(0) => vec![Transport::Polling],
        Ok(1) => vec![Transport::WebSocket],
        _ => vec![Transport::Polling, Transport::WebSocket],
    };
    config.max_buffered_emits = MAX_BUFFERED;
    let mut harness = Harness {
        client: EngineClient::new(config, seed),
        now: Instant::ZERO,
        asked: BTreeSet::new(),
        conns: Vec::new(),
        closed: false,
    };
    harness.drain();
    for _ in 0..MAX_OPS {
        if u.is_empty() || harness.step(&mut u).is_err() {
            break;
        }
    }
});
