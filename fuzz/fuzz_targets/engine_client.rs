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

use bytes::Bytes;
use bytestring::ByteString;
use libfuzzer_sys::arbitrary::{Result as ArbResult, Unstructured};
use libfuzzer_sys::fuzz_target;
use sio_core::client::{ClientEvent, Config, EngineClient, Output};
use sio_core::wire::ws::frame::OpCode;

mod client_harness;

use client_harness::Server;

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
    server: Server,
    closed: bool,
}

impl Harness {
    fn drain(&mut self) {
        let closed = &mut self.closed;
        self.server.drain(&mut self.client, |output| match output {
            Output::Connect { .. } => assert!(!*closed, "a connection after the close"),
            Output::Event(ClientEvent::Closed { .. }) => {
                assert!(!*closed, "closed twice");
                *closed = true;
            }
            Output::Event(ClientEvent::Open { .. }) => {
                assert!(!*closed, "opened after the close");
            }
            _ => {}
        });
    }

    fn step(&mut self, u: &mut Unstructured<'_>) -> ArbResult<()> {
        let now = self.server.now;
        let was_open = self.client.is_open();
        match u.int_in_range(0u8..=8)? {
            op @ 0..=5 => self.server.step(
                &mut self.client,
                op,
                u,
                PAYLOADS,
                &[OpCode::Text, OpCode::Binary, OpCode::Close],
            )?,
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
    config.transports = client_harness::transports(&mut u);
    config.max_buffered_emits = MAX_BUFFERED;
    let mut harness = Harness {
        client: EngineClient::new(config, seed),
        server: Server::new(),
        closed: false,
    };
    harness.drain();
    for _ in 0..MAX_OPS {
        if u.is_empty() || harness.step(&mut u).is_err() {
            break;
        }
    }
});
