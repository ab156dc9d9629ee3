//! Responses to requests (`{requestId, ...}`), and the sockets a
//! REMOTE_FETCH response lists.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use bytes::Bytes;

use super::{
    decode_value, encode_value, entry, field, int_field, str_list, string, string_list, Format,
    MessageError, RequestType,
};
use crate::msgpack::{TooLarge, Value};

/// One socket in a REMOTE_FETCH response.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchedSocket {
    /// The socket id.
    pub id: String,
    /// The handshake (headers, time, address, xdomain, secure, issued,
    /// url, query, auth), as the node has it.
    pub handshake: Value,
    /// Its rooms (its own id first).
    pub rooms: Vec<String>,
    /// `socket.data`, when not undefined.
    pub data: Option<Value>,
}

impl FetchedSocket {
    pub(super) fn to_value(&self) -> Value {
        let mut entries = vec![
            entry("id", Value::Str(self.id.clone())),
            entry("handshake", self.handshake.clone()),
            entry("rooms", str_list(&self.rooms)),
        ];
        if let Some(data) = &self.data {
            entries.push(entry("data", data.clone()));
        }
        Value::Map(entries)
    }

    pub(super) fn from_value(map: &Value) -> Result<FetchedSocket, MessageError> {
        map.as_map().ok_or(MessageError::Field("sockets"))?;
        Ok(FetchedSocket {
            id: string(map, "id")?,
            handshake: field(map, "handshake")?.clone(),
            rooms: string_list(map, "rooms")?,
            data: map.get("data").cloned(),
        })
    }
}

/// A response to a request, on [`crate::adapter::Channels::response`] (or the
/// requester's specific channel, see [`crate::adapter::Channels::response_for`]).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Response {
    /// To SOCKETS: socket ids.
    Sockets {
        /// Request id.
        request_id: String,
        /// Socket ids.
        sockets: Vec<String>,
    },
    /// To ALL_ROOMS: the node's rooms.
    AllRooms {
        /// Request id.
        request_id: String,
        /// Rooms.
        rooms: Vec<String>,
    },
    /// To a per-socket REMOTE_JOIN / REMOTE_LEAVE / REMOTE_DISCONNECT of
    /// older versions: done.
    Done {
        /// Request id.
        request_id: String,
    },
    /// To REMOTE_FETCH: the node's matching sockets.
    RemoteFetch {
        /// Request id.
        request_id: String,
        /// Sockets.
        sockets: Vec<FetchedSocket>,
    },
    /// To SERVER_SIDE_EMIT: the node's acknowledgement (its first argument).
    ServerSideEmit {
        /// Request id.
        request_id: String,
        /// The argument, when not undefined.
        data: Option<Value>,
    },
    /// To BROADCAST: how many of the node's clients got the packet.
    BroadcastClientCount {
        /// Request id.
        request_id: String,
        /// Clients reached.
        client_count: i64,
    },
    /// To BROADCAST: one client's acknowledgement (its first argument,
    /// buffers kept: MessagePack).
    BroadcastAck {
        /// Request id.
        request_id: String,
        /// The argument, when not undefined.
        packet: Option<Value>,
    },
}

impl Response {
    /// The id of the request this answers.
    pub fn request_id(&self) -> &str {
        match self {
            Response::Sockets { request_id, .. }
            | Response::AllRooms { request_id, .. }
            | Response::Done { request_id }
            | Response::RemoteFetch { request_id, .. }
            | Response::ServerSideEmit { request_id, .. }
            | Response::BroadcastClientCount { request_id, .. }
            | Response::BroadcastAck { request_id, .. } => request_id,
        }
    }

    /// The format the reference writes this response in.
    pub fn format(&self) -> Format {
        match self {
            Response::BroadcastAck { .. } => Format::MsgPack,
            _ => Format::Json,
        }
    }

    /// The bytes, in the reference's format.
    pub fn encode(&self) -> Result<Vec<u8>, TooLarge> {
        encode_value(&self.to_value(), self.format())
    }

    /// The response as a map, keys in the reference's order.
    pub fn to_value(&self) -> Value {
        let id = entry("requestId", Value::str(self.request_id()));
        let typed = |kind: RequestType, id: (String, Value)| vec![entry("type", kind.value()), id];
        let entries = match self {
            Response::Sockets { sockets, .. } => vec![id, entry("sockets", str_list(sockets))],
            Response::AllRooms { rooms, .. } => vec![id, entry("rooms", str_list(rooms))],
            Response::Done { .. } => vec![id],
            Response::RemoteFetch { sockets, .. } => {
                let sockets = sockets.iter().map(FetchedSocket::to_value).collect();
                vec![id, entry("sockets", Value::Array(sockets))]
            }
            Response::ServerSideEmit { data, .. } => {
                let mut entries = typed(RequestType::ServerSideEmit, id);
                entries.extend(data.clone().map(|data| entry("data", data)));
                entries
            }
            Response::BroadcastClientCount { client_count, .. } => {
                let mut entries = typed(RequestType::BroadcastClientCount, id);
                entries.push(entry("clientCount", Value::Int(*client_count)));
                entries
            }
            Response::BroadcastAck { packet, .. } => {
                let mut entries = typed(RequestType::BroadcastAck, id);
                entries.extend(packet.clone().map(|packet| entry("packet", packet)));
                entries
            }
        };
        Value::Map(entries)
    }

    /// Reads a response. BROADCAST_CLIENT_COUNT and BROADCAST_ACK name
    /// their type; the others are known by their request id: `pending`
    /// gives the type of the request this node sent with that id.
    pub fn decode(
        bytes: &Bytes,
        pending: impl Fn(&str) -> Option<RequestType>,
    ) -> Result<Response, MessageError> {
        Response::from_value(&decode_value(bytes)?, pending)
    }

    /// Reads a response map (see [`Response::decode`]).
    pub fn from_value(
        map: &Value,
        pending: impl Fn(&str) -> Option<RequestType>,
    ) -> Result<Response, MessageError> {
        map.as_map().ok_or(MessageError::Field(""))?;
        let request_id = string(map, "requestId")?;
        let named = map.get("type").and_then(Value::as_i64);
        let kind = match named.and_then(RequestType::from_number) {
            Some(kind @ (RequestType::BroadcastClientCount | RequestType::BroadcastAck)) => kind,
            _ => pending(&request_id).ok_or(MessageError::UnknownRequest)?,
        };
        Ok(match kind {
            RequestType::Sockets => Response::Sockets {
                request_id,
                sockets: string_list(map, "sockets")?,
            },
            RequestType::AllRooms => Response::AllRooms {
                request_id,
                rooms: string_list(map, "rooms")?,
            },
            RequestType::RemoteJoin | RequestType::RemoteLeave | RequestType::RemoteDisconnect => {
                Response::Done { request_id }
            }
            RequestType::RemoteFetch => Response::RemoteFetch {
                request_id,
                sockets: field(map, "sockets")?
                    .as_array()
                    .ok_or(MessageError::Field("sockets"))?
                    .iter()
                    .map(FetchedSocket::from_value)
                    .collect::<Result<_, _>>()?,
            },
            RequestType::ServerSideEmit => Response::ServerSideEmit {
                request_id,
                data: map.get("data").cloned(),
            },
            RequestType::BroadcastClientCount => Response::BroadcastClientCount {
                request_id,
                client_count: int_field(map, "clientCount")?,
            },
            RequestType::BroadcastAck => Response::BroadcastAck {
                request_id,
                packet: map.get("packet").cloned(),
            },
            // A request id of ours for a BROADCAST answered without a type.
            RequestType::Broadcast => return Err(MessageError::Field("type")),
        })
    }
}
