//! WebSocket (RFC 6455): the opening handshake and the frame codec, and
//! the permessage-deflate extension (RFC 7692): its codec and negotiation.

pub mod deflate;
pub mod extension;
pub mod frame;
pub mod handshake;

pub use extension::DeflateOptions;
pub use frame::{CloseFrame, Decoder, Limits, Message, OpCode, Role, WsError};
