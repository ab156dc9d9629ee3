//! [`RemoteSocket`]: a socket `fetch_sockets` found, on this node or on
//! another one of the cluster (Node's `RemoteSocket`), and the conversions
//! between sio's payloads and the adapter's values.
//!
//! Floor: remote, above cluster and below operators and answer. A remote
//! socket's operations that go through a
//! [`BroadcastOperator`](crate::BroadcastOperator) live in `operators.rs`.

use std::sync::Arc;

use bytes::Bytes;
use bytestring::ByteString;
use serde::de::DeserializeOwned;

use super::handshake::Handshake;
use super::shared::Shared;
use super::socket::Socket;
use sio_core::adapter::{self, FetchedSocket, Value};
use sio_core::packet::{decode_args, ArgsError, RawJson};
use sio_core::server::BroadcastOptions;

/// A socket of the cluster, as `fetch_sockets` returns it (Node's
/// `RemoteSocket`): its id, namespace, rooms, data and handshake as they
/// were when fetched. Operations on a socket of this node act on it
/// directly; on another node's, they go through the adapter (an emit is a
/// broadcast to the room named by its id; join, leave and disconnect are
/// REMOTE_JOIN, REMOTE_LEAVE and REMOTE_DISCONNECT for that room).
#[derive(Clone)]
pub struct RemoteSocket {
    pub(super) id: String,
    pub(super) nsp: Arc<str>,
    rooms: Vec<String>,
    data: serde_json::Value,
    handshake: serde_json::Value,
    pub(super) local: Option<Socket>,
    pub(super) shared: Arc<Shared>,
}

impl std::fmt::Debug for RemoteSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteSocket")
            .field("id", &self.id)
            .field("nsp", &self.nsp)
            .field("local", &self.local.is_some())
            .finish()
    }
}

impl RemoteSocket {
    pub(crate) fn from_local(socket: Socket) -> RemoteSocket {
        RemoteSocket {
            id: socket.id().to_owned(),
            nsp: Arc::from(socket.ns()),
            rooms: socket.rooms(),
            data: socket
                .data_value()
                .unwrap_or_else(|| serde_json::Value::Object(Default::default())),
            handshake: value_to_json(&handshake_value(socket.handshake())),
            shared: socket.shared().clone(),
            local: Some(socket),
        }
    }

    pub(crate) fn from_fetched(
        shared: &Arc<Shared>,
        nsp: &Arc<str>,
        fetched: FetchedSocket,
    ) -> RemoteSocket {
        RemoteSocket {
            id: fetched.id,
            nsp: nsp.clone(),
            rooms: fetched.rooms,
            data: fetched
                .data
                .as_ref()
                .map_or(serde_json::Value::Null, value_to_json),
            handshake: value_to_json(&fetched.handshake),
            local: None,
            shared: shared.clone(),
        }
    }

    /// The socket id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The namespace's name.
    pub fn ns(&self) -> &str {
        &self.nsp
    }

    /// Its rooms when fetched (its own id among them).
    pub fn rooms(&self) -> &[String] {
        &self.rooms
    }

    /// `socket.data` when fetched, as JSON (`{}` when never set: Node's
    /// starts so, and its nodes always send it).
    pub fn data_value(&self) -> &serde_json::Value {
        &self.data
    }

    /// `socket.data` decoded as `T`; `None` when of another shape.
    pub fn data<T: DeserializeOwned>(&self) -> Option<T> {
        T::deserialize(&self.data).ok()
    }

    /// The handshake in Node's shape: `headers`, `time`, `address`,
    /// `xdomain`, `secure`, `issued`, `url`, `query`, `auth`.
    pub fn handshake(&self) -> &serde_json::Value {
        &self.handshake
    }

    /// The socket itself when it is on this node.
    pub fn local(&self) -> Option<&Socket> {
        self.local.as_ref()
    }

    /// Whether the socket is on this node.
    pub fn is_local(&self) -> bool {
        self.local.is_some()
    }
}

/// This node's sockets of `nsp` that `opts` selects, as REMOTE_FETCH
/// answers them.
pub(crate) fn local_fetched(
    shared: &Shared,
    nsp: &str,
    opts: &BroadcastOptions,
) -> Vec<FetchedSocket> {
    let mut selected: Vec<_> = shared
        .read_all(|server| server.matching_sockets(nsp, opts))
        .into_iter()
        .flatten()
        .collect();
    selected.sort_unstable();
    selected
        .into_iter()
        .filter_map(|id| shared.socket(id))
        .map(|socket| FetchedSocket {
            id: socket.id().to_owned(),
            handshake: handshake_value(socket.handshake()),
            rooms: socket.rooms(),
            // Node's `socket.data` starts as `{}`.
            data: Some(
                socket
                    .data_value()
                    .as_ref()
                    .map_or(Value::Map(Vec::new()), json_to_value),
            ),
        })
        .collect()
}

/// The handshake as Node's `socket.handshake` serializes: headers, time,
/// address, xdomain, secure, issued, url, query, auth.
pub(crate) fn handshake_value(handshake: &Handshake) -> Value {
    let mut headers: Vec<(String, Value)> = Vec::new();
    for header in handshake.headers() {
        match headers.iter_mut().find(|(name, _)| *name == header.name) {
            // Node joins repeated headers with ", ".
            Some((_, Value::Str(value))) => {
                value.push_str(", ");
                value.push_str(&header.value);
            }
            _ => headers.push((header.name.clone(), Value::str(header.value.as_str()))),
        }
    }
    let issued = i64::try_from(handshake.issued_millis()).unwrap_or(i64::MAX);
    let mut query: Vec<(String, Value)> = Vec::new();
    if let Some((_, text)) = handshake.url().split_once('?') {
        for (key, value) in sio_core::wire::http::query_pairs(text) {
            let value = Value::str(value.into_owned());
            match query.iter_mut().find(|(name, _)| **name == *key) {
                Some((_, Value::Array(values))) => values.push(value),
                Some((_, first)) => {
                    let earlier = std::mem::replace(first, Value::Nil);
                    *first = Value::Array(vec![earlier, value]);
                }
                None => query.push((key.into_owned(), value)),
            }
        }
    }
    let auth = handshake
        .auth_raw()
        .and_then(|raw| adapter::from_json(raw.as_str()).ok())
        .unwrap_or(Value::Map(Vec::new()));
    let mut entries = vec![
        ("headers".to_owned(), Value::Map(headers)),
        (
            "time".to_owned(),
            Value::Str(adapter::js_date_string(issued)),
        ),
    ];
    if let Some(address) = handshake.address() {
        entries.push(("address".to_owned(), Value::Str(address.ip().to_string())));
    }
    entries.extend([
        (
            "xdomain".to_owned(),
            Value::Bool(handshake.header("origin").is_some()),
        ),
        ("secure".to_owned(), Value::Bool(false)),
        ("issued".to_owned(), Value::Int(issued)),
        ("url".to_owned(), Value::str(handshake.url())),
        ("query".to_owned(), Value::Map(query)),
        ("auth".to_owned(), auth),
    ]);
    Value::Map(entries)
}

/// An adapter value as JSON (buffers as Node's `{"type":"Buffer",...}`).
pub(crate) fn value_to_json(value: &Value) -> serde_json::Value {
    serde_json::from_str(&adapter::to_json(value)).unwrap_or(serde_json::Value::Null)
}

/// JSON as an adapter value.
pub(crate) fn json_to_value(json: &serde_json::Value) -> Value {
    serde_json::to_string(json)
        .ok()
        .and_then(|text| adapter::from_json(&text).ok())
        .unwrap_or(Value::Nil)
}

/// Encoded arguments (`[...]` with placeholders) as one array value,
/// buffers in place.
pub(crate) fn args_value(data: &RawJson, attachments: &[Bytes]) -> Option<Value> {
    adapter::from_packet_json(data.as_str(), attachments).ok()
}

/// The first of encoded arguments, as the reference forwards acks.
pub(crate) fn first_arg(data: &RawJson, attachments: &[Bytes]) -> Option<Value> {
    match args_value(data, attachments)? {
        Value::Array(items) => items.into_iter().next(),
        _ => None,
    }
}

/// Decodes one value (an ack's argument, `null` when absent) as `R`.
pub(crate) fn decode_value<R: DeserializeOwned>(value: Option<&Value>) -> Result<R, ArgsError> {
    let (text, attachments) = adapter::to_packet_json(value.unwrap_or(&Value::Nil));
    let data = RawJson::from_trusted(ByteString::from(format!("[{text}]")));
    decode_args(&data, false, &attachments)
}
