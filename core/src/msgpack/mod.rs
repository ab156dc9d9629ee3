//! JavaScript values as notepack.io (the MessagePack codec of the reference
//! Redis adapter and of npm `socket.io-msgpack-parser`) writes and reads
//! them, and their JSON forms: `JSON.stringify`'s, and a Socket.IO packet's
//! with placeholders for buffers.
//!
//! Below [`packet`](crate::packet) and [`adapter`](crate::adapter), which
//! both speak it: the MessagePack parser and the Redis adapter's messages.

pub(crate) mod json;
mod timestamp;
pub(crate) mod value;

pub use json::{from_json, from_packet_json, to_json, to_packet_json, JsonError};
pub use timestamp::js_date_string;
pub use value::{decode, encode, to_vec, DecodeError, TooLarge, Value, MAX_DEPTH};
