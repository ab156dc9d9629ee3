//! Sockets and dates as the Admin UI reads them: the reference's
//! `serialize(socket, nsp)` (id, clientId, transport, nsp, data,
//! handshake without `auth`, rooms) and `new Date()` as JSON writes it.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

use crate::io::SocketIo;
use crate::namespace::Namespace;
use crate::observe::EngineView;
use crate::remote::{handshake_value, value_to_json, RemoteSocket};
use crate::socket::Socket;
use sio_core::engine::Transport;

/// Every socket of every namespace, on every node of the cluster (a
/// namespace whose nodes do not answer contributes this node's only).
pub(super) async fn all_sockets(io: &SocketIo) -> Vec<Value> {
    let mut out = Vec::new();
    for name in io.shared.namespaces.names() {
        let namespace = Namespace::existing(&io.shared, &name);
        match namespace.fetch_sockets().await {
            Ok(sockets) => out.extend(sockets.iter().map(remote_socket)),
            Err(error) => {
                tracing::warn!(nsp = &*name, %error, "admin: cannot fetch the cluster's sockets");
                let local = namespace.local().fetch_sockets().await.unwrap_or_default();
                out.extend(local.iter().map(remote_socket));
            }
        }
    }
    out
}

/// A socket `fetch_sockets` found: this node's with its engine details,
/// another node's with what its `data._admin` says (Node's nodes set it).
fn remote_socket(remote: &RemoteSocket) -> Value {
    if let Some(local) = remote.local() {
        return socket(local);
    }
    let admin = remote.data_value().get("_admin");
    let field = |name: &str| admin.and_then(|a| a.get(name)).cloned();
    shape(
        remote.id(),
        remote.ns(),
        field("clientId").unwrap_or(Value::Null),
        field("transport").unwrap_or(Value::Null),
        remote.data_value(),
        remote.handshake(),
        remote.rooms().to_vec(),
    )
}

/// One socket of this node, as it is now.
fn socket(socket: &Socket) -> Value {
    let id = socket.core_id();
    let now = socket
        .shared()
        .read_socket(id, |server| EngineView::of(server, id));
    socket_as(socket, &now)
}

/// One socket of this node, with its rooms and engine details as `view`
/// saw them.
pub(super) fn socket_as(socket: &Socket, view: &EngineView) -> Value {
    let client_id = view
        .session_id
        .as_ref()
        .map_or(Value::Null, |sid| Value::from(&sid[..sid.len().min(12)]));
    let transport = view
        .transport
        .map_or(Value::Null, |t| Value::from(transport_name(t)));
    let handshake = value_to_json(&handshake_value(socket.handshake()));
    let data = socket
        .data_value()
        .unwrap_or_else(|| Value::Object(Map::new()));
    shape(
        socket.id(),
        socket.ns(),
        client_id,
        transport,
        &data,
        &handshake,
        view.rooms.clone(),
    )
}

/// Engine.IO's names of the transports.
pub(super) fn transport_name(transport: Transport) -> &'static str {
    match transport {
        Transport::Polling => "polling",
        Transport::WebSocket => "websocket",
    }
}

fn shape(
    id: &str,
    nsp: &str,
    client_id: Value,
    transport: Value,
    data: &Value,
    handshake: &Value,
    rooms: Vec<String>,
) -> Value {
    let mut data = data.clone();
    if let Value::Object(map) = &mut data {
        map.remove("_admin");
    }
    let header = |name: &str| handshake.get("headers").and_then(|h| h.get(name)).cloned();
    // The reference trusts a proxy's headers first.
    let address = header("cf-connecting-ip")
        .or_else(|| header("x-forwarded-for"))
        .or_else(|| handshake.get("address").cloned())
        .unwrap_or(Value::Null);
    let keep = |name: &str| handshake.get(name).cloned().unwrap_or(Value::Null);
    json!({
        "id": id,
        "clientId": client_id,
        "transport": transport,
        "nsp": nsp,
        "data": data,
        "handshake": {
            "address": address,
            "headers": keep("headers"),
            "query": keep("query"),
            "issued": keep("issued"),
            "secure": keep("secure"),
            "time": keep("time"),
            "url": keep("url"),
            "xdomain": keep("xdomain"),
        },
        "rooms": rooms,
    })
}

/// `time` as `JSON.stringify(new Date())` writes it: `2026-12-07T10:40:36.123Z`.
pub(super) fn iso_date(time: SystemTime) -> String {
    let ms = time
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let (days, in_day) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    let (year, month, day) = sio_core::time::civil_from_days(i128::from(days));
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn dates_are_written_as_javascript_writes_them() {
        let at = |ms: u64| UNIX_EPOCH + Duration::from_millis(ms);
        assert_eq!(iso_date(at(0)), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso_date(at(951_782_400_000)), "2000-02-29T00:00:00.000Z");
        assert_eq!(iso_date(at(1_796_640_036_123)), "2026-12-07T10:40:36.123Z");
    }
}
