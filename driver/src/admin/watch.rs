//! Turns what the server observed into the reference's live messages on
//! the admin namespace: `socket_connected`, `socket_updated` (transport
//! and data), `socket_disconnected` (then `room_left` for each of its
//! rooms, as Node's adapter reports), `room_joined`, `room_left` and, in development
//! mode, `event_received` and `event_sent` (not for the admin namespace's
//! own sockets, as in the reference).

use std::sync::{Arc, Weak};

use async_channel::Receiver;
use bytes::Bytes;
use serde_json::{json, Value};
use sio_core::packet::RawJson;

use super::serialize::{self, iso_date};
use crate::namespace::Namespace;
use crate::observe::Observed;
use crate::remote::{args_value, value_to_json};
use crate::shared::Shared;

/// Forwards observations until the server (and so the channel) is gone.
pub(super) async fn run(shared: Weak<Shared>, admin_nsp: Arc<str>, observed: Receiver<Observed>) {
    while let Ok(observation) = observed.recv().await {
        let Some(shared) = shared.upgrade() else {
            return;
        };
        forward(&shared, &admin_nsp, observation);
    }
}

fn forward(shared: &Arc<Shared>, admin_nsp: &str, observation: Observed) {
    let admin = Namespace::existing(shared, admin_nsp);
    let now = iso_date(shared.clock.wall_clock());
    let sent = match observation {
        Observed::Connected { socket, at_connect } => match shared.socket(socket) {
            Some(socket) => {
                let serialized = serialize::socket_as(&socket, &at_connect);
                admin.emit("socket_connected", &(serialized, now))
            }
            // Gone already: its disconnect follows.
            None => Ok(()),
        },
        Observed::Disconnected { nsp, sid, reason } => {
            admin.emit("socket_disconnected", &(&*nsp, &*sid, reason, now))
        }
        Observed::RoomJoined { nsp, sid, room } => {
            admin.emit("room_joined", &(&*nsp, &*room, &*sid, now))
        }
        Observed::RoomLeft { nsp, sid, room } => {
            admin.emit("room_left", &(&*nsp, &*room, &*sid, now))
        }
        Observed::DataUpdated { nsp, sid, mut data } => {
            if let Value::Object(map) = &mut data {
                map.remove("_admin");
            }
            admin.emit(
                "socket_updated",
                &json!({ "id": &*sid, "nsp": &*nsp, "data": data }),
            )
        }
        Observed::Upgraded { nsp, sid } => admin.emit(
            "socket_updated",
            &json!({ "id": &*sid, "nsp": &*nsp, "transport": "websocket" }),
        ),
        Observed::EventIn {
            nsp,
            sid,
            data,
            attachments,
        } if &*nsp != admin_nsp => admin.emit(
            "event_received",
            &(&*nsp, &*sid, args(&data, &attachments), now),
        ),
        Observed::EventOut {
            nsp,
            sid,
            data,
            attachments,
        } if &*nsp != admin_nsp => admin.emit(
            "event_sent",
            &(&*nsp, &*sid, args(&data, &attachments), now),
        ),
        Observed::EventIn { .. } | Observed::EventOut { .. } => Ok(()),
    };
    if let Err(error) = sent {
        tracing::debug!(%error, "admin: an update could not be sent");
    }
}

/// `["event", ...args]` as JSON (buffers as Node's `{type: "Buffer"}`).
fn args(data: &RawJson, attachments: &[Bytes]) -> Value {
    args_value(data, attachments).map_or(Value::Null, |value| value_to_json(&value))
}
