//! What the core's benches share: a WebSocket handshake request and a
//! browser's masked text frame, fed to a `Server` with no sockets.

use bytes::{Bytes, BytesMut};
use sio_core::wire::http::{Header, Method, Request};
use sio_core::wire::ws::frame::{encode_frame, OpCode};

fn header(name: &str, value: &str) -> Header {
    Header {
        name: name.into(),
        value: value.into(),
    }
}

pub fn ws_handshake() -> Request {
    Request {
        method: Method::Get,
        target: "/socket.io/?EIO=4&transport=websocket".into(),
        headers: vec![
            header("host", "localhost"),
            header("upgrade", "websocket"),
            header("connection", "Upgrade"),
            header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
            header("sec-websocket-version", "13"),
        ],
        body: Bytes::new(),
        keep_alive: true,
    }
}

/// A masked client text frame, as a browser would send it.
pub fn client_text_frame(text: &str) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode_frame(
        &mut out,
        true,
        OpCode::Text,
        text.as_bytes(),
        Some([0x11, 0x22, 0x33, 0x44]),
    );
    out.to_vec()
}
