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

use std::time::Duration;

use bytes::Bytes;
use bytestring::ByteString;
use libfuzzer_sys::arbitrary::{Result as ArbResult, Unstructured};
use libfuzzer_sys::fuzz_target;
use sio_core::client::{Client, Config, EmitOptions};
use sio_core::packet::RawJson;
use sio_core::wire::ws::frame::OpCode;
use sio_core::Instant;

mod client_harness;

use client_harness::Server;

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
    server: Server,
}

impl Harness {
    fn drain(&mut self) {
        self.server.drain(&mut self.client, |_| {});
    }

    fn step(&mut self, u: &mut Unstructured<'_>) -> ArbResult<()> {
        let now = self.server.now;
        match u.int_in_range(0u8..=10)? {
            // The frame after a `101` is always text.
            op @ 0..=5 => self
                .server
                .step(&mut self.client, op, u, PAYLOADS, &[OpCode::Text])?,
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
                match u.int_in_range(0u8..=2)? {
                    0 => drop(self.client.connect(now, nsp, None)),
                    1 => drop(self.client.connect_asking_auth(now, nsp)),
                    _ => {
                        // An answer to an auth request, current or not.
                        let request = u.int_in_range(0u64..=3)?;
                        let auth = match u.arbitrary()? {
                            true => Ok(Some(
                                RawJson::parse(ByteString::from_static(r#"{"t":1}"#))
                                    .expect("valid JSON"),
                            )),
                            false => Err("no".to_owned()),
                        };
                        let _ = self.client.provide_auth(now, nsp, request, auth);
                    }
                }
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
    config.transports = client_harness::transports(&mut u);
    config.retries = u.int_in_range(0u32..=2).unwrap_or(0);
    config.ack_timeout = Some(Duration::from_millis(200));
    config.max_buffered_emits = MAX_BUFFERED;
    config.with_credentials = u.arbitrary().unwrap_or(false);
    config.remember_upgrade = u.arbitrary().unwrap_or(false);
    if u.arbitrary().unwrap_or(false) {
        config.extra_headers = vec![("X-A".into(), "1".into())];
    }
    let mut harness = Harness {
        client: Client::new(config, seed),
        server: Server::new(),
    };
    let _ = harness.client.connect(Instant::ZERO, "/", None);
    harness.drain();
    for _ in 0..MAX_OPS {
        if u.is_empty() || harness.step(&mut u).is_err() {
            break;
        }
    }
});
