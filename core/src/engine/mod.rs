//! Engine.IO v4: packets, the long-polling payload format and the handshake.

pub mod handshake;
pub mod packet;
pub mod payload;

pub use handshake::Handshake;
pub use packet::{DecodeError, Packet, PacketType};
