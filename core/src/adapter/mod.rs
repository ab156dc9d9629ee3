//! What crosses between server nodes, in the formats of the reference
//! Redis adapter (`@socket.io/redis-adapter` 8.x over `socket.io-adapter`
//! 2.5), so sio servers and Node socket.io servers join one cluster.
//!
//! Sans-IO like the rest of the crate: this module names the Redis
//! channels ([`Channels`]) and turns messages into bytes and back
//! ([`BroadcastMessage`], [`Request`], [`Response`]); publishing,
//! subscribing, counting nodes (`PUBSUB NUMSUB` on [`Channels::request`])
//! and request timeouts belong to the runtime side.
//!
//! [`PendingRequests`] tracks this node's outstanding requests against a
//! clock the caller brings; [`read_incoming`] sorts what arrives.
//!
//! Values travel as notepack.io writes them ([`Value`], [`encode`],
//! [`decode`]): MessagePack for broadcasts, `BROADCAST` requests and
//! `BROADCAST_ACK` responses, `JSON.stringify` for the other requests and
//! responses. Buffers inside a broadcast's packet are MessagePack `bin`;
//! [`AdapterPacket::to_packet`] turns them into sio attachments.

mod channel;
mod heartbeat;
mod incoming;
mod message;
mod nodes;
mod requests;
mod sharded;

pub use channel::{uid_from_random, ChannelKind, Channels, DEFAULT_KEY};
pub use heartbeat::{rearms_heartbeat, Heartbeats};
pub use incoming::{read_incoming, Ignored, Incoming};
pub use message::{
    decode_session, encode_session, is_stream_id, missed_packet, next_stream_id, SESSION_KEY_PREFIX,
};
pub use message::{
    decode_value, encode_value, has_binary, AdapterPacket, BroadcastMessage, ClusterBody,
    ClusterMessage, ClusterType, FetchedSocket, Flag, Format, MessageError, NoClusterForm, Request,
    RequestType, Response, Targets, EMITTER_UID, MAX_DATA_LEN,
};
pub use nodes::{Nodes, MAX_NODES};
pub use requests::{Fed, Finished, Outcome, PendingRequests, RegisterError};
pub use sharded::{
    looks_like_a_socket_id, RoomChange, RoomChannels, ShardedChannelKind, ShardedChannels,
    SubscriptionMode, MAX_ROOM_CHANNELS,
};
// The values and their codecs live below both this module and `packet`
// (the MessagePack parser speaks them too).
pub use crate::msgpack::{
    decode, encode, from_json, from_packet_json, js_date_string, to_json, to_packet_json, to_vec,
    DecodeError, JsonError, TooLarge, Value, MAX_DEPTH,
};
