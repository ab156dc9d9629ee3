//! The hostile server side shared by the `sio_client` and `engine_client`
//! targets: the clock, the connections the client asked for, and the
//! operations a server can do on them (raw bytes, HTTP answers, a `101`
//! with a frame after it, closes) or time passing.

use std::collections::BTreeSet;
use std::time::Duration;

use bytes::Bytes;
use libfuzzer_sys::arbitrary::{Result as ArbResult, Unstructured};
use sio_core::client::{Client, ConnId, EngineClient, Output, Transport};
use sio_core::wire::http::Response;
use sio_core::wire::ws::frame::{encode_frame, OpCode};
use sio_core::Instant;

/// The calls a server's side drives, the same on both client machines.
pub trait Machine {
    fn poll_output(&mut self) -> Output;
    fn handle_connected(&mut self, now: Instant, conn: ConnId);
    fn handle_data(&mut self, now: Instant, conn: ConnId, data: &[u8]);
    fn handle_closed(&mut self, now: Instant, conn: ConnId);
    fn handle_timeout(&mut self, now: Instant);
}

macro_rules! machine {
    ($ty:ty) => {
        impl Machine for $ty {
            fn poll_output(&mut self) -> Output {
                <$ty>::poll_output(self)
            }
            fn handle_connected(&mut self, now: Instant, conn: ConnId) {
                <$ty>::handle_connected(self, now, conn)
            }
            fn handle_data(&mut self, now: Instant, conn: ConnId, data: &[u8]) {
                <$ty>::handle_data(self, now, conn, data)
            }
            fn handle_closed(&mut self, now: Instant, conn: ConnId) {
                <$ty>::handle_closed(self, now, conn)
            }
            fn handle_timeout(&mut self, now: Instant) {
                <$ty>::handle_timeout(self, now)
            }
        }
    };
}

machine!(Client);
machine!(EngineClient);

/// The transports a run offers: polling, WebSocket, or both.
/// `Set-Cookie` lines a server might send.
const SET_COOKIES: &[&str] = &[
    "io=s; Path=/; HttpOnly; SameSite=Lax",
    "a=1; Max-Age=1",
    "a=0; Max-Age=0",
    "b=2; Expires=Sun, 06 Nov 1994 08:49:37 GMT",
    "c=3; Path=/socket.io",
];

pub fn transports(u: &mut Unstructured<'_>) -> Vec<Transport> {
    match u.int_in_range(0u8..=2) {
        Ok(0) => vec![Transport::Polling],
        Ok(1) => vec![Transport::WebSocket],
        _ => vec![Transport::Polling, Transport::WebSocket],
    }
}

/// The server's side: the clock and the connections the client asked for.
pub struct Server {
    pub now: Instant,
    asked: BTreeSet<u64>,
    conns: Vec<ConnId>,
}

impl Server {
    pub fn new() -> Self {
        Server {
            now: Instant::ZERO,
            asked: BTreeSet::new(),
            conns: Vec::new(),
        }
    }

    /// Drains `client`'s outputs until `Timeout`: transmits and closes
    /// only name connections it asked for, and no id is asked twice.
    /// `check` sees each output first.
    pub fn drain(&mut self, client: &mut impl Machine, mut check: impl FnMut(&Output)) {
        for _ in 0..10_000 {
            let output = client.poll_output();
            check(&output);
            match output {
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

    /// Server operation `op` (0 to 5) on `client`: a connection comes up,
    /// raw bytes, an HTTP answer with `payloads` joined, a `101` whatever
    /// the key then a frame of one of `opcodes` (a single one takes no
    /// input), a close, or time passing.
    pub fn step(
        &mut self,
        client: &mut impl Machine,
        op: u8,
        u: &mut Unstructured<'_>,
        payloads: &[&str],
        opcodes: &[OpCode],
    ) -> ArbResult<()> {
        let now = self.now;
        match op {
            0 => {
                if let Some(conn) = self.pick(u)? {
                    client.handle_connected(now, conn);
                }
            }
            1 => {
                if let Some(conn) = self.pick(u)? {
                    let bytes: &[u8] = u.arbitrary()?;
                    client.handle_data(now, conn, bytes);
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
                        body.push_str(u.choose(payloads)?);
                    }
                    let status = *u.choose(&[200u16, 200, 200, 400])?;
                    let mut response = Response::new(status);
                    // Cookies for a client with a jar: well-formed, or not.
                    for _ in 0..u.int_in_range(0u8..=2)? {
                        let line: String = match u.arbitrary()? {
                            true => u.arbitrary()?,
                            false => (*u.choose(SET_COOKIES)?).to_owned(),
                        };
                        response = response.with_header("Set-Cookie", line);
                    }
                    let response = response
                        .with_body("text/plain", Bytes::from(body))
                        .to_bytes();
                    client.handle_data(now, conn, &response);
                }
            }
            3 => {
                if let Some(conn) = self.pick(u)? {
                    let mut bytes = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n".to_vec();
                    let mut frame = bytes::BytesMut::new();
                    let opcode = *u.choose(opcodes)?;
                    encode_frame(
                        &mut frame,
                        true,
                        opcode,
                        u.choose(payloads)?.as_bytes(),
                        None,
                    );
                    bytes.extend_from_slice(&frame);
                    client.handle_data(now, conn, &bytes);
                }
            }
            4 => {
                if let Some(conn) = self.pick(u)? {
                    client.handle_closed(now, conn);
                }
            }
            5 => {
                let step = u.int_in_range(0u64..=30_000)?;
                self.now = self.now + Duration::from_millis(step);
                client.handle_timeout(self.now);
            }
            _ => unreachable!("server operations are 0 to 5"),
        }
        Ok(())
    }
}
