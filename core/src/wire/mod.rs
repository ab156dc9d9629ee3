//! The bytes on the wire below Engine.IO: HTTP/1.1 and WebSocket (RFC 6455).

pub mod http;
pub mod ws;
