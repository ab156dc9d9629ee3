//! The messages of `@socket.io/redis-adapter` 8.x (`lib/index.ts`):
//!
//! - a broadcast, on the broadcast channels, always MessagePack:
//!   `[uid, packet, {rooms, except, flags}]` with the packet as
//!   `{type, data, nsp}` (type 2 even with buffers: the reference publishes
//!   before socket.io-parser turns it into a BINARY_EVENT);
//! - requests, on the request channel: `{uid, requestId?, type, ...}`, as
//!   JSON (`JSON.stringify`) for every type but `BROADCAST`, which is
//!   MessagePack since it carries a packet with buffers;
//! - responses, on the response channel: JSON, except `BROADCAST_ACK`
//!   (MessagePack). Most responses carry no type: the requester knows it
//!   from the request id.
//!
//! A receiver reads JSON when the first byte is `{`, MessagePack otherwise.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use bytes::Bytes;
use bytestring::ByteString;

use crate::msgpack::json::{self, JsonError};
use crate::msgpack::value::{self, DecodeError, TooLarge, Value};
use crate::packet::{Packet, PacketType, RawJson};

mod cluster;
mod response;
mod session;

pub use cluster::{
    has_binary, ClusterBody, ClusterMessage, ClusterType, NoClusterForm, EMITTER_UID, MAX_DATA_LEN,
};
pub use response::{FetchedSocket, Response};
pub use session::{
    decode_session, encode_session, is_stream_id, missed_packet, next_stream_id, SESSION_KEY_PREFIX,
};

/// The request types (`RequestType` in the reference), by their number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RequestType {
    /// 0: socket ids in rooms (handled by 8.x, sent only by older versions).
    Sockets = 0,
    /// 1: every room of the namespace (`allRooms`).
    AllRooms = 1,
    /// 2: matching sockets join rooms (`socketsJoin`).
    RemoteJoin = 2,
    /// 3: matching sockets leave rooms (`socketsLeave`).
    RemoteLeave = 3,
    /// 4: matching sockets are disconnected (`disconnectSockets`).
    RemoteDisconnect = 4,
    /// 5: details of matching sockets (`fetchSockets`).
    RemoteFetch = 5,
    /// 6: an event for the other servers (`serverSideEmit`).
    ServerSideEmit = 6,
    /// 7: a broadcast whose clients must acknowledge (`timeout().emit(..., ack)`).
    Broadcast = 7,
    /// 8: response: how many clients a node sent that broadcast to.
    BroadcastClientCount = 8,
    /// 9: response: one client's acknowledgement of that broadcast.
    BroadcastAck = 9,
}

impl RequestType {
    /// The type numbered `number`.
    pub fn from_number(number: i64) -> Option<RequestType> {
        Some(match number {
            0 => RequestType::Sockets,
            1 => RequestType::AllRooms,
            2 => RequestType::RemoteJoin,
            3 => RequestType::RemoteLeave,
            4 => RequestType::RemoteDisconnect,
            5 => RequestType::RemoteFetch,
            6 => RequestType::ServerSideEmit,
            7 => RequestType::Broadcast,
            8 => RequestType::BroadcastClientCount,
            9 => RequestType::BroadcastAck,
            _ => return None,
        })
    }

    fn value(self) -> Value {
        Value::Int(self as i64)
    }
}

/// How a message is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `JSON.stringify`.
    Json,
    /// notepack.io MessagePack.
    MsgPack,
}

impl Format {
    /// The reference's test: JSON when the first byte is `{`.
    pub fn detect(bytes: &[u8]) -> Format {
        match bytes.first() {
            Some(b'{') => Format::Json,
            _ => Format::MsgPack,
        }
    }
}

/// Why a message cannot be read; the sending node's fault.
#[derive(Debug, PartialEq)]
#[non_exhaustive]
pub enum MessageError {
    /// Malformed MessagePack.
    MsgPack(DecodeError),
    /// Malformed JSON (or a bad placeholder in a packet).
    Json(JsonError),
    /// A field is missing or of the wrong kind (the field's name; `""`
    /// for the message itself).
    Field(&'static str),
    /// A request type this version does not know (the number).
    UnknownType(i64),
    /// A packet type outside 0..=6 (the number).
    UnknownPacketType(i64),
    /// A response to no request pending here.
    UnknownRequest,
}

impl fmt::Display for MessageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MessageError::MsgPack(err) => write!(f, "adapter message: {err}"),
            MessageError::Json(err) => write!(f, "adapter message: {err}"),
            MessageError::Field("") => f.write_str("adapter message: not an object"),
            MessageError::Field(name) => write!(f, "adapter message: bad field {name:?}"),
            MessageError::UnknownType(number) => write!(f, "unknown request type {number}"),
            MessageError::UnknownPacketType(number) => write!(f, "unknown packet type {number}"),
            MessageError::UnknownRequest => f.write_str("response to an unknown request"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for MessageError {}

/// Reads `bytes` as JSON or MessagePack, as the reference does.
pub fn decode_value(bytes: &Bytes) -> Result<Value, MessageError> {
    match Format::detect(bytes) {
        Format::MsgPack => value::decode(bytes).map_err(MessageError::MsgPack),
        Format::Json => {
            // Node reads the buffer with toString(), replacing invalid UTF-8.
            let text = String::from_utf8_lossy(bytes);
            json::from_json(&text).map_err(MessageError::Json)
        }
    }
}

/// Writes `value` in `format`.
pub fn encode_value(value: &Value, format: Format) -> Result<Vec<u8>, TooLarge> {
    match format {
        Format::MsgPack => value::to_vec(value),
        Format::Json => Ok(json::to_json(value).into_bytes()),
    }
}

// Field access on a decoded map.

fn field<'a>(map: &'a Value, name: &'static str) -> Result<&'a Value, MessageError> {
    map.get(name).ok_or(MessageError::Field(name))
}

fn string(map: &Value, name: &'static str) -> Result<String, MessageError> {
    field(map, name)?
        .as_str()
        .map(String::from)
        .ok_or(MessageError::Field(name))
}

fn strings(value: &Value, name: &'static str) -> Result<Vec<String>, MessageError> {
    value
        .as_array()
        .ok_or(MessageError::Field(name))?
        .iter()
        .map(|item| {
            item.as_str()
                .map(String::from)
                .ok_or(MessageError::Field(name))
        })
        .collect()
}

fn string_list(map: &Value, name: &'static str) -> Result<Vec<String>, MessageError> {
    strings(field(map, name)?, name)
}

/// A list of rooms that JavaScript would spread from `undefined` as empty.
fn optional_string_list(map: &Value, name: &'static str) -> Result<Vec<String>, MessageError> {
    match map.get(name) {
        None | Some(Value::Nil) => Ok(Vec::new()),
        Some(list) => strings(list, name),
    }
}

fn str_list(items: &[String]) -> Value {
    Value::Array(items.iter().cloned().map(Value::Str).collect())
}

fn entry(name: &str, value: Value) -> (String, Value) {
    (String::from(name), value)
}

fn int_field(map: &Value, name: &'static str) -> Result<i64, MessageError> {
    field(map, name)?.as_i64().ok_or(MessageError::Field(name))
}

/// A Socket.IO packet as the adapter carries it: the object socket.io
/// hands the adapter, before socket.io-parser encodes it.
#[derive(Debug, Clone, PartialEq)]
pub struct AdapterPacket {
    /// The packet type (2, EVENT, for broadcasts; buffers stay in `data`).
    pub kind: PacketType,
    /// The namespace (the reference reads a missing one as `/`).
    pub nsp: String,
    /// `["event", ...args]`, buffers included as [`Value::Bin`].
    pub data: Option<Value>,
    /// An ack id, if the packet has one (the reference's broadcasts do not:
    /// each node gives its own).
    pub id: Option<i64>,
}

impl AdapterPacket {
    /// An EVENT without ack id to `nsp`, as every broadcast carries.
    pub fn event(nsp: &str, data: Value) -> AdapterPacket {
        AdapterPacket {
            kind: PacketType::Event,
            nsp: nsp.into(),
            data: Some(data),
            id: None,
        }
    }

    /// The packet as a map: `{type, data, nsp}` (+ `id`), the reference's order.
    pub fn to_value(&self) -> Value {
        let mut entries = vec![entry("type", Value::Int(self.kind as i64))];
        if let Some(data) = &self.data {
            entries.push(entry("data", data.clone()));
        }
        entries.push(entry("nsp", Value::Str(self.nsp.clone())));
        if let Some(id) = self.id {
            entries.push(entry("id", Value::Int(id)));
        }
        Value::Map(entries)
    }

    /// Reads a packet map.
    pub fn from_value(map: &Value) -> Result<AdapterPacket, MessageError> {
        map.as_map().ok_or(MessageError::Field("packet"))?;
        let number = int_field(map, "type")?;
        let kind = u8::try_from(number)
            .ok()
            .and_then(|digit| PacketType::from_digit(digit.checked_add(b'0')?))
            .ok_or(MessageError::UnknownPacketType(number))?;
        let nsp = match map.get("nsp") {
            None | Some(Value::Nil) => String::from("/"),
            Some(Value::Str(nsp)) => nsp.clone(),
            Some(_) => return Err(MessageError::Field("nsp")),
        };
        let id = match map.get("id") {
            None | Some(Value::Nil) => None,
            Some(id) => Some(id.as_i64().ok_or(MessageError::Field("id"))?),
        };
        Ok(AdapterPacket {
            kind,
            nsp,
            data: map.get("data").cloned(),
            id,
        })
    }

    /// This packet for sio's encoder: buffers become attachments with
    /// placeholders, and an EVENT / ACK with buffers a BINARY_EVENT /
    /// BINARY_ACK (what socket.io-parser does when it encodes). An id
    /// outside u64 is dropped.
    pub fn to_packet(&self) -> Packet {
        let (data, attachments) = match &self.data {
            Some(data) => {
                let (text, attachments) = json::to_packet_json(data);
                (
                    Some(RawJson::from_trusted(ByteString::from(text))),
                    attachments,
                )
            }
            None => (None, Vec::new()),
        };
        let kind = match (self.kind, attachments.is_empty()) {
            (PacketType::Event, false) => PacketType::BinaryEvent,
            (PacketType::Ack, false) => PacketType::BinaryAck,
            (kind, _) => kind,
        };
        Packet {
            kind,
            nsp: ByteString::from(self.nsp.as_str()),
            id: self.id.and_then(|id| u64::try_from(id).ok()),
            data,
            attachments,
        }
    }

    /// A sio packet as the reference adapter would carry it: attachments
    /// back in place of their placeholders, BINARY_EVENT / BINARY_ACK as
    /// EVENT / ACK. Fails on a placeholder without its attachment, or an
    /// id beyond i64.
    pub fn from_packet(packet: &Packet) -> Result<AdapterPacket, MessageError> {
        let data = match &packet.data {
            Some(raw) => Some(
                json::from_packet_json(raw.as_str(), &packet.attachments)
                    .map_err(MessageError::Json)?,
            ),
            None => None,
        };
        let kind = match packet.kind {
            PacketType::BinaryEvent => PacketType::Event,
            PacketType::BinaryAck => PacketType::Ack,
            kind => kind,
        };
        let id = match packet.id {
            Some(id) => Some(i64::try_from(id).map_err(|_| MessageError::Field("id"))?),
            None => None,
        };
        Ok(AdapterPacket {
            kind,
            nsp: String::from(&*packet.nsp),
            data,
            id,
        })
    }
}

/// One broadcast flag (`BroadcastFlags` of socket.io-adapter), in the
/// order the sender set them.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Flag {
    /// `volatile`: may be dropped for clients that cannot take it now.
    Volatile(bool),
    /// `compress`: per-message deflate wanted.
    Compress(bool),
    /// `local`: this node only (never published by the reference).
    Local(bool),
    /// `broadcast`.
    Broadcast(bool),
    /// `binary`.
    Binary(bool),
    /// `timeout` in milliseconds, for broadcasts that want acks.
    Timeout(i64),
    /// `expectSingleResponse`: one ack, not a list.
    ExpectSingleResponse(bool),
    /// Any other flag, or a known one with a value of another kind.
    Other(String, Value),
}

impl Flag {
    fn from_entry(name: &str, value: &Value) -> Flag {
        let known = match (name, value) {
            ("volatile", Value::Bool(on)) => Some(Flag::Volatile(*on)),
            ("compress", Value::Bool(on)) => Some(Flag::Compress(*on)),
            ("local", Value::Bool(on)) => Some(Flag::Local(*on)),
            ("broadcast", Value::Bool(on)) => Some(Flag::Broadcast(*on)),
            ("binary", Value::Bool(on)) => Some(Flag::Binary(*on)),
            ("timeout", Value::Int(ms)) => Some(Flag::Timeout(*ms)),
            ("expectSingleResponse", Value::Bool(on)) => Some(Flag::ExpectSingleResponse(*on)),
            _ => None,
        };
        known.unwrap_or_else(|| Flag::Other(String::from(name), value.clone()))
    }

    fn to_entry(&self) -> (String, Value) {
        match self {
            Flag::Volatile(on) => entry("volatile", Value::Bool(*on)),
            Flag::Compress(on) => entry("compress", Value::Bool(*on)),
            Flag::Local(on) => entry("local", Value::Bool(*on)),
            Flag::Broadcast(on) => entry("broadcast", Value::Bool(*on)),
            Flag::Binary(on) => entry("binary", Value::Bool(*on)),
            Flag::Timeout(ms) => entry("timeout", Value::Int(*ms)),
            Flag::ExpectSingleResponse(on) => entry("expectSingleResponse", Value::Bool(*on)),
            Flag::Other(name, value) => (name.clone(), value.clone()),
        }
    }
}

/// Which sockets a broadcast or request is for: `{rooms, except, flags}`
/// (requests other than BROADCAST carry no flags).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Targets {
    /// Rooms to reach (their union); empty means the whole namespace.
    pub rooms: Vec<String>,
    /// Sockets in these rooms (socket ids are rooms too) are left out.
    pub except: Vec<String>,
    /// The flags, when the sender wrote them.
    pub flags: Option<Vec<Flag>>,
}

impl Targets {
    /// Whether the `volatile` flag is set.
    pub fn volatile(&self) -> bool {
        self.flags
            .iter()
            .flatten()
            .any(|flag| matches!(flag, Flag::Volatile(true)))
    }

    /// The `timeout` flag, in milliseconds.
    pub fn timeout(&self) -> Option<i64> {
        self.flags.iter().flatten().find_map(|flag| match flag {
            Flag::Timeout(ms) => Some(*ms),
            _ => None,
        })
    }

    /// The map `{rooms, except, flags?}`.
    pub fn to_value(&self) -> Value {
        let mut entries = vec![
            entry("rooms", str_list(&self.rooms)),
            entry("except", str_list(&self.except)),
        ];
        if let Some(flags) = &self.flags {
            let flags = flags.iter().map(Flag::to_entry).collect();
            entries.push(entry("flags", Value::Map(flags)));
        }
        Value::Map(entries)
    }

    /// Reads `{rooms, except, flags?}`.
    pub fn from_value(map: &Value) -> Result<Targets, MessageError> {
        map.as_map().ok_or(MessageError::Field("opts"))?;
        let flags = match map.get("flags") {
            None | Some(Value::Nil) => None,
            Some(Value::Map(entries)) => Some(
                entries
                    .iter()
                    .map(|(name, value)| Flag::from_entry(name, value))
                    .collect(),
            ),
            Some(_) => return Err(MessageError::Field("flags")),
        };
        Ok(Targets {
            rooms: optional_string_list(map, "rooms")?,
            except: optional_string_list(map, "except")?,
            flags,
        })
    }
}

/// A broadcast: `[uid, packet, opts]`, MessagePack, on [`super::Channels::for_rooms`].
#[derive(Debug, Clone, PartialEq)]
pub struct BroadcastMessage {
    /// The sending node (receivers skip their own).
    pub uid: String,
    /// The packet.
    pub packet: AdapterPacket,
    /// Its targets and flags.
    pub opts: Targets,
}

impl BroadcastMessage {
    /// The MessagePack bytes.
    pub fn encode(&self) -> Result<Vec<u8>, TooLarge> {
        value::to_vec(&self.to_value())
    }

    /// The message as a value.
    pub fn to_value(&self) -> Value {
        Value::Array(vec![
            Value::Str(self.uid.clone()),
            self.packet.to_value(),
            self.opts.to_value(),
        ])
    }

    /// Reads a broadcast (MessagePack, or JSON if a custom parser sent it).
    pub fn decode(bytes: &Bytes) -> Result<BroadcastMessage, MessageError> {
        let value = decode_value(bytes)?;
        match value.as_array() {
            Some([uid, packet, opts]) => Ok(BroadcastMessage {
                uid: uid.as_str().ok_or(MessageError::Field("uid"))?.into(),
                packet: AdapterPacket::from_value(packet)?,
                opts: Targets::from_value(opts)?,
            }),
            _ => Err(MessageError::Field("")),
        }
    }
}

/// A request to the other nodes, on [`super::Channels::request`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Request {
    /// SOCKETS: the ids of the sockets in `rooms` (all when empty).
    Sockets {
        /// Sender.
        uid: String,
        /// Request id.
        request_id: String,
        /// Rooms.
        rooms: Vec<String>,
    },
    /// ALL_ROOMS: every room.
    AllRooms {
        /// Sender.
        uid: String,
        /// Request id.
        request_id: String,
    },
    /// REMOTE_JOIN: the sockets in `opts` join `rooms`; no response.
    RemoteJoin {
        /// Sender.
        uid: String,
        /// Which sockets.
        opts: Targets,
        /// Rooms to join.
        rooms: Vec<String>,
    },
    /// REMOTE_LEAVE: the sockets in `opts` leave `rooms`; no response.
    RemoteLeave {
        /// Sender.
        uid: String,
        /// Which sockets.
        opts: Targets,
        /// Rooms to leave.
        rooms: Vec<String>,
    },
    /// REMOTE_DISCONNECT: the sockets in `opts` are disconnected (and their
    /// connection closed when `close`); no response.
    RemoteDisconnect {
        /// Sender.
        uid: String,
        /// Which sockets.
        opts: Targets,
        /// Close the underlying connection too.
        close: bool,
    },
    /// REMOTE_FETCH: details of the sockets in `opts`.
    RemoteFetch {
        /// Sender.
        uid: String,
        /// Request id.
        request_id: String,
        /// Which sockets.
        opts: Targets,
    },
    /// SERVER_SIDE_EMIT: `["event", ...args]` for the other servers; with a
    /// request id each answers once.
    ServerSideEmit {
        /// Sender.
        uid: String,
        /// Present when the sender waits for acks.
        request_id: Option<String>,
        /// `["event", ...args]`.
        data: Vec<Value>,
    },
    /// BROADCAST: a broadcast whose clients must ack (MessagePack).
    Broadcast {
        /// Sender.
        uid: String,
        /// Request id.
        request_id: String,
        /// The packet.
        packet: AdapterPacket,
        /// Targets and flags (with `timeout`).
        opts: Targets,
    },
}

impl Request {
    /// The sending node's uid.
    pub fn uid(&self) -> &str {
        match self {
            Request::Sockets { uid, .. }
            | Request::AllRooms { uid, .. }
            | Request::RemoteJoin { uid, .. }
            | Request::RemoteLeave { uid, .. }
            | Request::RemoteDisconnect { uid, .. }
            | Request::RemoteFetch { uid, .. }
            | Request::ServerSideEmit { uid, .. }
            | Request::Broadcast { uid, .. } => uid,
        }
    }

    /// The request id, for requests that want responses.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Request::Sockets { request_id, .. }
            | Request::AllRooms { request_id, .. }
            | Request::RemoteFetch { request_id, .. }
            | Request::Broadcast { request_id, .. } => Some(request_id),
            Request::ServerSideEmit { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
    }

    /// The request's type.
    pub fn kind(&self) -> RequestType {
        match self {
            Request::Sockets { .. } => RequestType::Sockets,
            Request::AllRooms { .. } => RequestType::AllRooms,
            Request::RemoteJoin { .. } => RequestType::RemoteJoin,
            Request::RemoteLeave { .. } => RequestType::RemoteLeave,
            Request::RemoteDisconnect { .. } => RequestType::RemoteDisconnect,
            Request::RemoteFetch { .. } => RequestType::RemoteFetch,
            Request::ServerSideEmit { .. } => RequestType::ServerSideEmit,
            Request::Broadcast { .. } => RequestType::Broadcast,
        }
    }

    /// The format the reference writes this request in.
    pub fn format(&self) -> Format {
        match self {
            Request::Broadcast { .. } => Format::MsgPack,
            _ => Format::Json,
        }
    }

    /// The bytes, in the reference's format.
    pub fn encode(&self) -> Result<Vec<u8>, TooLarge> {
        encode_value(&self.to_value(), self.format())
    }

    /// The request as a map, keys in the reference's order.
    pub fn to_value(&self) -> Value {
        let mut entries = vec![entry("uid", Value::Str(String::from(self.uid())))];
        if let Some(request_id) = self.request_id() {
            entries.push(entry("requestId", Value::str(request_id)));
        }
        entries.push(entry("type", self.kind().value()));
        match self {
            Request::Sockets { rooms, .. } => entries.push(entry("rooms", str_list(rooms))),
            Request::AllRooms { .. } => {}
            Request::RemoteJoin { opts, rooms, .. } | Request::RemoteLeave { opts, rooms, .. } => {
                entries.push(entry("opts", opts.to_value()));
                entries.push(entry("rooms", str_list(rooms)));
            }
            Request::RemoteDisconnect { opts, close, .. } => {
                entries.push(entry("opts", opts.to_value()));
                entries.push(entry("close", Value::Bool(*close)));
            }
            Request::RemoteFetch { opts, .. } => entries.push(entry("opts", opts.to_value())),
            Request::ServerSideEmit { data, .. } => {
                entries.push(entry("data", Value::Array(data.clone())));
            }
            Request::Broadcast { packet, opts, .. } => {
                entries.push(entry("packet", packet.to_value()));
                entries.push(entry("opts", opts.to_value()));
            }
        }
        Value::Map(entries)
    }

    /// Reads a request (JSON or MessagePack).
    pub fn decode(bytes: &Bytes) -> Result<Request, MessageError> {
        Request::from_value(&decode_value(bytes)?)
    }

    /// Reads a request map.
    pub fn from_value(map: &Value) -> Result<Request, MessageError> {
        map.as_map().ok_or(MessageError::Field(""))?;
        let number = int_field(map, "type")?;
        let kind = RequestType::from_number(number).ok_or(MessageError::UnknownType(number))?;
        let uid = string(map, "uid")?;
        let request_id = || string(map, "requestId");
        let opts = || Targets::from_value(field(map, "opts")?);
        Ok(match kind {
            RequestType::Sockets => Request::Sockets {
                uid,
                request_id: request_id()?,
                rooms: optional_string_list(map, "rooms")?,
            },
            RequestType::AllRooms => Request::AllRooms {
                uid,
                request_id: request_id()?,
            },
            RequestType::RemoteJoin => Request::RemoteJoin {
                uid,
                opts: opts()?,
                rooms: string_list(map, "rooms")?,
            },
            RequestType::RemoteLeave => Request::RemoteLeave {
                uid,
                opts: opts()?,
                rooms: string_list(map, "rooms")?,
            },
            RequestType::RemoteDisconnect => Request::RemoteDisconnect {
                uid,
                opts: opts()?,
                // `socket.disconnect(undefined)` does not close.
                close: matches!(map.get("close"), Some(Value::Bool(true))),
            },
            RequestType::RemoteFetch => Request::RemoteFetch {
                uid,
                request_id: request_id()?,
                opts: opts()?,
            },
            RequestType::ServerSideEmit => Request::ServerSideEmit {
                uid,
                request_id: match map.get("requestId") {
                    None => None,
                    Some(_) => Some(request_id()?),
                },
                data: field(map, "data")?
                    .as_array()
                    .ok_or(MessageError::Field("data"))?
                    .to_vec(),
            },
            RequestType::Broadcast => Request::Broadcast {
                uid,
                request_id: request_id()?,
                packet: AdapterPacket::from_value(field(map, "packet")?)?,
                opts: opts()?,
            },
            RequestType::BroadcastClientCount | RequestType::BroadcastAck => {
                return Err(MessageError::UnknownType(number))
            }
        })
    }
}
