//! WebSocket (RFC 6455): the opening handshake and the frame codec.

pub mod frame;
pub mod handshake;

pub use frame::{CloseFrame, Decoder, Limits, Message, OpCode, Role, WsError};
