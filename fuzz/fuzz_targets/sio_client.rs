//! The Socket.IO client state machine against a hostile server: the input
//! is a sequence of operations on the connections the client asked for
//! (raw bytes, well-formed HTTP answers with arbitrary payloads, a `101`
//! with arbitrary frames after it, closes), time passing, and the
//! application's calls (emit with or without acks, connect, disconnect,
//! close), on both transports with retries on or off. After every
//! operation the outputs are drained until `Timeout`.
//!
//! Nothing may panic; transmits and closes only name connections the
//! client asked for; the queues stay within their bounds.
#![no_main]

use std::collections::BTreeSet;
use std::time::Duration;

use bytes::Bytes;
use bytestring::ByteString;
use libfuzzer_sys::arbitrary::{Result as ArbResult, Unstructured};
use libfuzzer_sys::fuzz_target;
use sio_core::client::{Client, Config, ConnId, EmitOptions, Output, Transport};
use sio_core::packet::RawJson;
use sio_core::wire::http::Response;
use sio_core::wire::ws::frame::{encode_frame, OpCode};
use sio_core::Instant;

const MAX_OPS: usize = 256;
const NAMESPACES: [&str; 2] = ["/", "/admin"];
const MAX_BUFFERED: usize = 16;

/// Engine.IO payloads a server might answer a GET with.
const PAYLOADS: &[&str] = &[
    r#"0{"sid":"s","upgrades":["websocket"],"pingInterval":100,"pingTimeout":100,"maxPayload":64}"#,
    r#"40{"sid":"a"}"#,
    r#"40/admin,{"sid":"b"}"#,
    "2",
    "6",
    "1",
    "430[]",
    "431[\"x\"]",
    r#"42["e",1]"#,
    r#"451-["b",{"_placeholder":true,"num":0}]"#,
    "bAQID",
    "3probe",
    r#"44{"message":"no"}"#,
    "41",
];

struct Harness {
    client: Client,
    now: Instant,
    asked: BTreeSet<u64>,
    conns: Vec<ConnId>,
}

impl Harness {
    fn drain(&mut self) {
        for _ in 0..10_000 {
            match self.client.poll_output() {
                Output::Connect { conn } => {
                    assert!(self.asked.insert(conn.as_u64()), "connection id reused");
                    self.conns.push(conn);
                }
                Output::Transmit { conn, .. }
                | Output::Close { conn }
                | Output::Linger { conn, .. } => {
                    assert!(self.asked.contains(&conn.as_u64()), "unknown connection");
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
        // Mostly the newest connections: those the client listens to.
        let back = usize::from(u.int_in_range(0u8..=3)?);
        Ok(self.conns.iter().rev().nth(back).copied())
    }

    fn step(&mut self, u: &mut Unstructured<'_>) -> ArbResult<()> {
        let now = self.now;
        match u.int_in_range(0u8..=10)? {
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
                    // A 101 whatever the key, then a frame.
                    let mut bytes = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n".to_vec();
                    let mut frame = bytes::BytesMut::new();
                    encode_frame(
                        &mut frame,
                        true,
                        OpCode::Text,
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
            6 | 7 => {
                let nsp = *u.choose(&NAMESPACES)?;
                let mut options = EmitOptions::new();
                if u.arbitrary()? {
                    options = options.with_ack(Duration::from_millis(u.int_in_range(0u64..=500)?));
                }
                if u.arbitrary()? {
                    options = options.volatile();
                }
                let data = RawJson::parse(ByteString::from_static(
                    r#"["e",{"_placeholder":true,"num":0}]"#,
                ))
                .expect("valid JSON");
                let _ = self
                    .client
                    .emit(now, nsp, data, vec![Bytes::from_static(b"x")], options);
            }
            8 => {
                let nsp = *u.choose(&NAMESPACES)?;
                let _ = self.client.connect(now, nsp, None);
            }
            9 => {
                let nsp = *u.choose(&NAMESPACES)?;
                let _ = self.client.disconnect(now, nsp);
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
        for nsp in NAMESPACES {
            assert!(self.client.buffered_count(nsp) <= MAX_BUFFERED);
            assert!(self.client.queued_count(nsp) <= MAX_BUFFERED);
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
    config.retries = u.int_in_range(0u32..=2).unwrap_or(0);
    config.ack_timeout = Some(Duration::from_millis(200));
    config.max_buffered_emits = MAX_BUFFERED;
    let mut harness = Harness {
        client: Client::new(config, seed),
        now: Instant::ZERO,
        asked: BTreeSet::new(),
        conns: Vec::new(),
    };
    let _ = harness.client.connect(Instant::ZERO, "/", None);
    harness.drain();
    for _ in 0..MAX_OPS {
        if u.is_empty() || harness.step(&mut u).is_err() {
            break;
        }
    }
});
