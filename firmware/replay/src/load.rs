//! Client input made here rather than recorded, for the measurements: a
//! WebSocket opening and masked text frames, as a browser would send them.

use alloc::vec::Vec;

use crate::machine::Input;

/// A client's WebSocket handshake on the default path (no session yet).
pub const WS_REQUEST: &[u8] = b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n\
Host: firmware\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";

/// The mask of every frame made here (clients must mask; any key will do).
const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// One masked, final text frame carrying `payload`.
pub fn client_text(payload: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(payload.len() + 14);
    frame.push(0x81);
    match payload.len() {
        n @ 0..=125 => frame.push(0x80 | n as u8),
        n @ 126..=0xffff => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(&MASK);
    frame.extend(payload.iter().zip(MASK.iter().cycle()).map(|(b, m)| b ^ m));
    frame
}

/// The inputs of a client that opens connection `conn` over WebSocket and
/// joins `/` with the demo's token.
pub fn ws_session(conn: u64) -> [Input; 4] {
    [
        Input::Open(conn),
        Input::Data(conn, WS_REQUEST.to_vec()),
        Input::Data(conn, client_text(b"40{\"token\":\"s3cret\"}")),
        Input::Flushed(conn),
    ]
}
