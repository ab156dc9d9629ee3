//! Engine.IO v4: packets, the long-polling payload format, the handshake,
//! and the server state machine.

pub mod config;
pub mod open_packet;
pub mod packet;
pub mod payload;
pub mod server;

mod cors;
pub(crate) mod ids;
mod session;
pub mod shard;
pub mod stats;
mod timer;
mod transport;

pub use config::{AllowedOrigins, Config, Cookie, Cors};
pub use open_packet::OpenPacket;
pub use packet::{DecodeError, Packet, PacketType};
pub use server::{
    CloseReason, ConnectionError, EngineError, EngineEvent, EngineServer, Footprint, HandshakeInfo,
    Io, OutMessage, Output, RefusalContext, SessionId,
};
pub use shard::{shard_of_number, shard_of_sid, Shard, MAX_SHARDS};
pub use stats::EngineStats;
pub use transport::{ConnId, Transport};
