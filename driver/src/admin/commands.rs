//! The Admin UI's commands (the reference's feature handlers), registered
//! on an admin socket unless read-only: `emit`, `join`, `leave` and
//! `_disconnect`, each on a namespace and, when a filter is given, on the
//! sockets of that room (a socket's own id picks that socket). Unknown
//! namespaces are ignored rather than created.

use serde::ser::{SerializeTuple, Serializer};
use serde_json::Value;

use crate::io::SocketIo;
use crate::namespace::Namespace;
use crate::operators::BroadcastOperator;
use crate::payload::Payload;
use crate::socket::Socket;

/// Adds the command handlers to `admin`, an admin socket.
pub(super) fn register(io: &SocketIo, admin: &Socket) {
    for command in ["emit", "join", "leave", "_disconnect"] {
        let io = io.clone();
        admin.on_payload(command, move |_socket, payload, _ack| {
            let io = io.clone();
            async move { run(&io, &payload) }
        });
    }
}

/// The reference's argument lists (after the event name):
/// `emit(nsp, filter, ev, ...args)`, `join(nsp, room, filter?)`,
/// `leave(nsp, room, filter?)`, `_disconnect(nsp, close, filter?)`.
fn run(io: &SocketIo, payload: &Payload) {
    let Ok(items) = serde_json::from_str::<Vec<Value>>(payload.raw().as_str()) else {
        return;
    };
    let text = |i: usize| items.get(i).and_then(Value::as_str);
    let (Some(command), Some(nsp)) = (text(0), text(1)) else {
        return;
    };
    let Some(selected) = select(io, nsp, &text) else {
        tracing::debug!(%nsp, %command, "admin command for an unknown namespace ignored");
        return;
    };
    let outcome = match command {
        "emit" => {
            let (Some(event), rest) = (text(3), items.get(4..).unwrap_or(&[])) else {
                return;
            };
            selected(2).emit(event, &Spread(rest))
        }
        "join" | "leave" => {
            let Some(room) = text(2) else { return };
            let operator = selected(3);
            if command == "join" {
                operator.sockets_join(room);
            } else {
                operator.sockets_leave(room);
            }
            Ok(())
        }
        "_disconnect" => {
            let close = items.get(2).and_then(Value::as_bool).unwrap_or(false);
            selected(3).disconnect_sockets(close);
            Ok(())
        }
        _ => Ok(()),
    };
    if let Err(error) = outcome {
        tracing::debug!(%error, %command, "admin command failed");
    }
}

/// The operator for `nsp` and, given the index of the filter argument, its
/// room; `None` when the namespace does not exist.
fn select<'a>(
    io: &'a SocketIo,
    nsp: &str,
    text: impl Fn(usize) -> Option<&'a str> + 'a,
) -> Option<impl Fn(usize) -> BroadcastOperator + 'a> {
    if !io.shared.namespaces.names().iter().any(|n| &**n == nsp) {
        return None;
    }
    let namespace = Namespace::existing(&io.shared, nsp);
    Some(move |filter_at: usize| match text(filter_at) {
        Some(room) if !room.is_empty() => namespace.to(room),
        _ => namespace.operator(),
    })
}

/// Arguments spread one by one (a serde tuple), as the UI sent them.
struct Spread<'a>(&'a [Value]);

impl serde::Serialize for Spread<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut tuple = serializer.serialize_tuple(self.0.len())?;
        for item in self.0 {
            tuple.serialize_element(item)?;
        }
        tuple.end()
    }
}
