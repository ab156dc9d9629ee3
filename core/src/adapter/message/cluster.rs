//! The messages of socket.io-adapter's `ClusterAdapter` (2.5) as
//! `@socket.io/redis-streams-adapter` 0.2 writes them into a Redis stream:
//! one stream entry per message, with the fields `uid`, `nsp`, `type` (the
//! [`ClusterType`] number as decimal text) and, when the message has a
//! body, `data`: `JSON.stringify(body)`, or the body as MessagePack in
//! base64 when it holds a buffer and its type may carry one. A reader tells
//! the two apart as the reference does: JSON when `data` starts with `{`.
//!
//! The bodies map onto the pub/sub adapter's types ([`Request`],
//! [`Response`], [`AdapterPacket`], [`Targets`]) so one node answers both
//! protocols the same way; only their framing differs.

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use bytes::Bytes;

use super::{entry, field, int_field, str_list, string, string_list, MessageError};
use super::{AdapterPacket, FetchedSocket, Request, Response, Targets};
use crate::msgpack::json;
use crate::msgpack::value::{self, TooLarge, Value};

/// The uid of `@socket.io/redis-emitter`-style senders, never counted as a node.
pub const EMITTER_UID: &str = "emitter";

/// The longest `data` field read (base64 or JSON text); a longer one is
/// refused before it is decoded.
pub const MAX_DATA_LEN: usize = 16 * 1024 * 1024;

/// Node's `Buffer.toString("base64")` and `Buffer.from(s, "base64")`.
pub(super) const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// `MessageType` of socket.io-adapter's cluster adapter, by number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClusterType {
    /// 1: a node starts; every other node answers with a heartbeat.
    InitialHeartbeat = 1,
    /// 2: a node is alive.
    Heartbeat = 2,
    /// 3: a broadcast (with `requestId`: one whose clients must ack).
    Broadcast = 3,
    /// 4: `socketsJoin`.
    SocketsJoin = 4,
    /// 5: `socketsLeave`.
    SocketsLeave = 5,
    /// 6: `disconnectSockets`.
    DisconnectSockets = 6,
    /// 7: `fetchSockets`.
    FetchSockets = 7,
    /// 8: the answer to 7.
    FetchSocketsResponse = 8,
    /// 9: `serverSideEmit`.
    ServerSideEmit = 9,
    /// 10: the answer to 9.
    ServerSideEmitResponse = 10,
    /// 11: how many clients a node sent a broadcast with acks to.
    BroadcastClientCount = 11,
    /// 12: one client's ack of that broadcast.
    BroadcastAck = 12,
    /// 13: a node leaves.
    AdapterClose = 13,
}

impl ClusterType {
    /// The type numbered `number`.
    pub fn from_number(number: i64) -> Option<ClusterType> {
        use ClusterType::*;
        Some(match number {
            1 => InitialHeartbeat,
            2 => Heartbeat,
            3 => Broadcast,
            4 => SocketsJoin,
            5 => SocketsLeave,
            6 => DisconnectSockets,
            7 => FetchSockets,
            8 => FetchSocketsResponse,
            9 => ServerSideEmit,
            10 => ServerSideEmitResponse,
            11 => BroadcastClientCount,
            12 => BroadcastAck,
            13 => AdapterClose,
            _ => return None,
        })
    }

    /// Whether the reference may write this type's body as MessagePack.
    fn may_contain_binary(self) -> bool {
        matches!(
            self,
            ClusterType::Broadcast
                | ClusterType::FetchSocketsResponse
                | ClusterType::ServerSideEmit
                | ClusterType::ServerSideEmitResponse
                | ClusterType::BroadcastAck
        )
    }
}

/// What a cluster message says.
#[derive(Debug, Clone, PartialEq)]
pub enum ClusterBody {
    /// INITIAL_HEARTBEAT.
    InitialHeartbeat,
    /// HEARTBEAT.
    Heartbeat,
    /// ADAPTER_CLOSE.
    AdapterClose,
    /// BROADCAST without acks: deliver `packet` to `opts`' sockets.
    Broadcast {
        /// The packet (`{type, data, nsp}`).
        packet: AdapterPacket,
        /// Its targets and flags.
        opts: Targets,
    },
    /// A request: SOCKETS_JOIN, SOCKETS_LEAVE, DISCONNECT_SOCKETS,
    /// FETCH_SOCKETS, SERVER_SIDE_EMIT, or a BROADCAST with acks. Its
    /// `uid` is the message's.
    Request(Request),
    /// A response: FETCH_SOCKETS_RESPONSE, SERVER_SIDE_EMIT_RESPONSE,
    /// BROADCAST_CLIENT_COUNT, BROADCAST_ACK.
    Response(Response),
}

/// One message of the cluster: who sent it, for which namespace, and what.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterMessage {
    /// The sending node's uid (per namespace in the reference).
    pub uid: String,
    /// The namespace.
    pub nsp: String,
    /// The message.
    pub body: ClusterBody,
}

/// Why a request or response has no cluster-adapter form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoClusterForm;

impl ClusterMessage {
    /// The request `request` (sent by `request.uid()`) for `nsp`; SOCKETS
    /// and ALL_ROOMS have no cluster-adapter form.
    pub fn request(nsp: &str, request: Request) -> Result<ClusterMessage, NoClusterForm> {
        if matches!(request, Request::Sockets { .. } | Request::AllRooms { .. }) {
            return Err(NoClusterForm);
        }
        Ok(ClusterMessage {
            uid: String::from(request.uid()),
            nsp: String::from(nsp),
            body: ClusterBody::Request(request),
        })
    }

    /// The response `response` from node `uid` for `nsp`; responses to
    /// SOCKETS, ALL_ROOMS and per-socket requests have no cluster form.
    pub fn response(
        uid: &str,
        nsp: &str,
        response: Response,
    ) -> Result<ClusterMessage, NoClusterForm> {
        match response {
            Response::RemoteFetch { .. }
            | Response::ServerSideEmit { .. }
            | Response::BroadcastClientCount { .. }
            | Response::BroadcastAck { .. } => Ok(ClusterMessage {
                uid: String::from(uid),
                nsp: String::from(nsp),
                body: ClusterBody::Response(response),
            }),
            _ => Err(NoClusterForm),
        }
    }

    /// The message's type.
    pub fn kind(&self) -> ClusterType {
        match &self.body {
            ClusterBody::InitialHeartbeat => ClusterType::InitialHeartbeat,
            ClusterBody::Heartbeat => ClusterType::Heartbeat,
            ClusterBody::AdapterClose => ClusterType::AdapterClose,
            ClusterBody::Broadcast { .. } => ClusterType::Broadcast,
            ClusterBody::Request(request) => match request {
                Request::RemoteJoin { .. } => ClusterType::SocketsJoin,
                Request::RemoteLeave { .. } => ClusterType::SocketsLeave,
                Request::RemoteDisconnect { .. } => ClusterType::DisconnectSockets,
                Request::RemoteFetch { .. } => ClusterType::FetchSockets,
                Request::ServerSideEmit { .. } => ClusterType::ServerSideEmit,
                // Sockets and AllRooms are refused by `request`.
                _ => ClusterType::Broadcast,
            },
            ClusterBody::Response(response) => match response {
                Response::RemoteFetch { .. } => ClusterType::FetchSocketsResponse,
                Response::ServerSideEmit { .. } => ClusterType::ServerSideEmitResponse,
                Response::BroadcastClientCount { .. } => ClusterType::BroadcastClientCount,
                _ => ClusterType::BroadcastAck,
            },
        }
    }

    /// The body as the reference builds it (keys in its order); `None`
    /// for the types without one.
    pub fn data(&self) -> Option<Value> {
        let id = |request_id: &str| entry("requestId", Value::str(request_id));
        let entries = match &self.body {
            ClusterBody::InitialHeartbeat | ClusterBody::Heartbeat | ClusterBody::AdapterClose => {
                return None
            }
            ClusterBody::Broadcast { packet, opts } => vec![
                entry("packet", packet.to_value()),
                entry("opts", opts.to_value()),
            ],
            ClusterBody::Request(request) => match request {
                Request::Broadcast {
                    request_id,
                    packet,
                    opts,
                    ..
                } => vec![
                    entry("packet", packet.to_value()),
                    id(request_id),
                    entry("opts", opts.to_value()),
                ],
                Request::RemoteJoin { opts, rooms, .. }
                | Request::RemoteLeave { opts, rooms, .. } => {
                    vec![
                        entry("opts", opts.to_value()),
                        entry("rooms", str_list(rooms)),
                    ]
                }
                Request::RemoteDisconnect { opts, close, .. } => vec![
                    entry("opts", opts.to_value()),
                    entry("close", Value::Bool(*close)),
                ],
                Request::RemoteFetch {
                    request_id, opts, ..
                } => vec![entry("opts", opts.to_value()), id(request_id)],
                Request::ServerSideEmit {
                    request_id, data, ..
                } => {
                    let mut entries: Vec<(String, Value)> =
                        request_id.iter().map(|request_id| id(request_id)).collect();
                    entries.push(entry("packet", Value::Array(data.clone())));
                    entries
                }
                _ => return None,
            },
            ClusterBody::Response(response) => {
                let mut entries = vec![id(response.request_id())];
                match response {
                    Response::RemoteFetch { sockets, .. } => entries.push(entry(
                        "sockets",
                        Value::Array(sockets.iter().map(FetchedSocket::to_value).collect()),
                    )),
                    Response::ServerSideEmit { data: packet, .. }
                    | Response::BroadcastAck { packet, .. } => {
                        // `undefined` is left out by JSON.stringify.
                        entries.extend(packet.clone().map(|packet| entry("packet", packet)));
                    }
                    Response::BroadcastClientCount { client_count, .. } => {
                        entries.push(entry("clientCount", Value::Int(*client_count)))
                    }
                    _ => {}
                }
                entries
            }
        };
        Some(Value::Map(entries))
    }

    /// The stream entry's fields, in the reference's order: `uid`, `nsp`,
    /// `type`, then `data` when there is a body.
    pub fn to_fields(&self) -> Result<Vec<(&'static str, String)>, TooLarge> {
        let kind = self.kind();
        let mut fields = vec![
            ("uid", self.uid.clone()),
            ("nsp", self.nsp.clone()),
            ("type", format!("{}", kind as u8)),
        ];
        if let Some(data) = self.data() {
            let text = if kind.may_contain_binary() && has_binary(&data) {
                BASE64.encode(value::to_vec(&data)?)
            } else {
                json::to_json(&data)
            };
            fields.push(("data", text));
        }
        Ok(fields)
    }

    /// Reads a stream entry's fields (names and values as Redis returns
    /// them; unknown fields are ignored, a repeated one counts last).
    pub fn from_fields<K: AsRef<[u8]>, V: AsRef<[u8]>>(
        fields: &[(K, V)],
    ) -> Result<ClusterMessage, MessageError> {
        let get = |name: &str| {
            fields
                .iter()
                .rev()
                .find(|(key, _)| key.as_ref() == name.as_bytes())
                .map(|(_, value)| value.as_ref())
        };
        let text = |name: &'static str| {
            get(name)
                .and_then(|bytes| core::str::from_utf8(bytes).ok())
                .ok_or(MessageError::Field(name))
        };
        let uid = String::from(text("uid")?);
        let nsp = String::from(text("nsp")?);
        // `parseInt(type, 10)` of a decimal number.
        let number = text("type")?
            .parse::<i64>()
            .map_err(|_| MessageError::Field("type"))?;
        let kind = ClusterType::from_number(number).ok_or(MessageError::UnknownType(number))?;
        let data = match get("data") {
            None | Some([]) => None,
            Some(bytes) => Some(read_data(bytes)?),
        };
        let body = body(kind, &uid, data.as_ref())?;
        Ok(ClusterMessage { uid, nsp, body })
    }
}

/// The whole message as one pub/sub payload, as `@socket.io/redis-adapter`'s
/// sharded adapter (`createShardedAdapter`) publishes it: the object
/// `{type, data, uid, nsp}` (socket.io-adapter sets `uid` and `nsp` after
/// `type` and `data`) as `JSON.stringify`, or as notepack MessagePack when
/// it holds a buffer and its type may carry one. Readers tell the two apart
/// as the reference does: JSON when the first byte is `{`.
impl ClusterMessage {
    /// The payload, in the reference's key order.
    pub fn to_payload(&self) -> Result<Vec<u8>, TooLarge> {
        let kind = self.kind();
        let data = self.data();
        let binary = kind.may_contain_binary() && data.as_ref().is_some_and(has_binary);
        let mut entries = vec![entry("type", Value::Int(kind as i64))];
        entries.extend(data.map(|data| entry("data", data)));
        entries.push(entry("uid", Value::str(self.uid.as_str())));
        entries.push(entry("nsp", Value::str(self.nsp.as_str())));
        let whole = Value::Map(entries);
        if binary {
            value::to_vec(&whole)
        } else {
            Ok(json::to_json(&whole).into_bytes())
        }
    }

    /// Reads a payload (JSON or MessagePack); anything that is not a
    /// message of a known type with its fields is an error.
    pub fn from_payload(payload: &[u8]) -> Result<ClusterMessage, MessageError> {
        if payload.len() > MAX_DATA_LEN {
            return Err(MessageError::Field(""));
        }
        let whole = if payload.first() == Some(&b'{') {
            let text = core::str::from_utf8(payload).map_err(|_| MessageError::Field(""))?;
            json::from_json(text).map_err(MessageError::Json)?
        } else {
            value::decode(&Bytes::copy_from_slice(payload)).map_err(MessageError::MsgPack)?
        };
        whole.as_map().ok_or(MessageError::Field(""))?;
        let uid = string(&whole, "uid")?;
        let nsp = string(&whole, "nsp")?;
        let number = whole
            .get("type")
            .and_then(Value::as_i64)
            .ok_or(MessageError::Field("type"))?;
        let kind = ClusterType::from_number(number).ok_or(MessageError::UnknownType(number))?;
        let data = match whole.get("data") {
            None | Some(Value::Nil) => None,
            Some(data) => Some(data),
        };
        let body = body(kind, &uid, data)?;
        Ok(ClusterMessage { uid, nsp, body })
    }
}

/// `data` as the reference reads it: JSON when it starts with `{`, else
/// base64 MessagePack.
fn read_data(bytes: &[u8]) -> Result<Value, MessageError> {
    if bytes.len() > MAX_DATA_LEN {
        return Err(MessageError::Field("data"));
    }
    if bytes.first() == Some(&b'{') {
        let text = String::from_utf8_lossy(bytes);
        return json::from_json(&text).map_err(MessageError::Json);
    }
    let raw = BASE64
        .decode(bytes)
        .map_err(|_| MessageError::Field("data"))?;
    value::decode(&Bytes::from(raw)).map_err(MessageError::MsgPack)
}

fn body(kind: ClusterType, uid: &str, data: Option<&Value>) -> Result<ClusterBody, MessageError> {
    let uid = String::from(uid);
    let data = match kind {
        ClusterType::InitialHeartbeat => return Ok(ClusterBody::InitialHeartbeat),
        ClusterType::Heartbeat => return Ok(ClusterBody::Heartbeat),
        ClusterType::AdapterClose => return Ok(ClusterBody::AdapterClose),
        _ => data.ok_or(MessageError::Field("data"))?,
    };
    data.as_map().ok_or(MessageError::Field("data"))?;
    let opts = || Targets::from_value(field(data, "opts")?);
    let request_id = || string(data, "requestId");
    let request = |request| Ok(ClusterBody::Request(request));
    let response = |response| Ok(ClusterBody::Response(response));
    match kind {
        ClusterType::Broadcast => {
            let packet = AdapterPacket::from_value(field(data, "packet")?)?;
            match data.get("requestId") {
                None | Some(Value::Nil) => Ok(ClusterBody::Broadcast {
                    packet,
                    opts: opts()?,
                }),
                Some(_) => request(Request::Broadcast {
                    uid,
                    request_id: request_id()?,
                    packet,
                    opts: opts()?,
                }),
            }
        }
        ClusterType::SocketsJoin => request(Request::RemoteJoin {
            uid,
            opts: opts()?,
            rooms: string_list(data, "rooms")?,
        }),
        ClusterType::SocketsLeave => request(Request::RemoteLeave {
            uid,
            opts: opts()?,
            rooms: string_list(data, "rooms")?,
        }),
        ClusterType::DisconnectSockets => request(Request::RemoteDisconnect {
            uid,
            opts: opts()?,
            close: matches!(data.get("close"), Some(Value::Bool(true))),
        }),
        ClusterType::FetchSockets => request(Request::RemoteFetch {
            uid,
            request_id: request_id()?,
            opts: opts()?,
        }),
        ClusterType::ServerSideEmit => request(Request::ServerSideEmit {
            uid,
            request_id: match data.get("requestId") {
                None | Some(Value::Nil) => None,
                Some(_) => Some(request_id()?),
            },
            data: field(data, "packet")?
                .as_array()
                .ok_or(MessageError::Field("packet"))?
                .to_vec(),
        }),
        ClusterType::FetchSocketsResponse => response(Response::RemoteFetch {
            request_id: request_id()?,
            sockets: field(data, "sockets")?
                .as_array()
                .ok_or(MessageError::Field("sockets"))?
                .iter()
                .map(FetchedSocket::from_value)
                .collect::<Result<_, _>>()?,
        }),
        ClusterType::ServerSideEmitResponse => response(Response::ServerSideEmit {
            request_id: request_id()?,
            data: data.get("packet").cloned(),
        }),
        ClusterType::BroadcastClientCount => response(Response::BroadcastClientCount {
            request_id: request_id()?,
            client_count: int_field(data, "clientCount")?,
        }),
        ClusterType::BroadcastAck => response(Response::BroadcastAck {
            request_id: request_id()?,
            packet: data.get("packet").cloned(),
        }),
        ClusterType::InitialHeartbeat => Ok(ClusterBody::InitialHeartbeat),
        ClusterType::Heartbeat => Ok(ClusterBody::Heartbeat),
        ClusterType::AdapterClose => Ok(ClusterBody::AdapterClose),
    }
}

/// socket.io-adapter's `hasBinary`: a buffer anywhere inside.
pub fn has_binary(value: &Value) -> bool {
    match value {
        Value::Bin(_) => true,
        Value::Array(items) => items.iter().any(has_binary),
        Value::Map(entries) => entries.iter().any(|(_, value)| has_binary(value)),
        _ => false,
    }
}
