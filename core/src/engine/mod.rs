//! Engine.IO v4: packets, the long-polling payload format, the handshake,
//! and the server state machine.

pub mod config;
pub mod handshake;
pub mod packet;
pub mod payload;
pub mod server;

pub use config::{AllowedOrigins, Config, Cookie, Cors};
pub use handshake::Handshake;
pub use packet::{DecodeError, Packet, PacketType};
pub use server::{
    CloseReason, ConnId, EngineError, EngineEvent, EngineServer, HandshakeInfo, Io, OutMessage,
    Output, SessionId, Transport,
};
