//! The demo application the sessions talk to, written on the core's API
//! alone (no driver): what the recording server ran and what the firmware
//! replays, so the recorded client's inputs make sense to both.
//!
//! | client emits | the server |
//! |---|---|
//! | CONNECT with auth `{"token":"s3cret"}` | accepts, then emits `welcome` with the socket id (another token: CONNECT_ERROR `bad token`) |
//! | `echo`, any arguments, with an ack | acks them back as received (binary included) |
//! | `join` `room`, with an ack | joins the room, acks `["joined", room]` |
//! | `to-room` `room`, `text` | emits `room-msg` `room`, `text` to everyone in the room |
//! | `ask` | emits `question` `1`, `2` with an ack; on the answer emits `answer` with its arguments |
//! | `bye` | disconnects the socket |

use alloc::collections::BTreeSet;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::time::Duration;

use bytes::Bytes;
use bytestring::ByteString;
use serde::Deserialize;
use sio_core::packet::RawJson;
use sio_core::server::{BroadcastOptions, Config, Event, Server, SocketId};
use sio_core::time::Instant;

/// The token a client must send in its CONNECT's auth.
pub const TOKEN: &str = "s3cret";
/// How long the server waits for the client's answer to `question`.
const QUESTION_TIMEOUT: Duration = Duration::from_secs(5);

/// The server's options: Node's defaults but a short heartbeat, so that a
/// recorded session sees pings and pongs within a second.
pub fn config() -> Config {
    let mut config = Config::default();
    config.engine.ping_interval = Duration::from_millis(300);
    config.engine.ping_timeout = Duration::from_millis(200);
    config
}

#[derive(Deserialize)]
struct Auth {
    token: String,
}

/// What the application keeps between events.
#[derive(Default)]
pub struct App {
    /// Sockets that asked a question, by the ack id of the question.
    questions: BTreeSet<(SocketId, u64)>,
    /// Client events handled (for the instructions-per-event figure).
    pub events: u64,
    /// Sockets connected so far.
    pub connected: u64,
    /// The socket connected last.
    pub last_socket: Option<SocketId>,
}

impl App {
    /// Acts on one event of the core.
    pub fn handle(&mut self, server: &mut Server, now: Instant, event: Event) {
        match event {
            Event::ConnectRequest { request, auth, .. } => {
                let token = auth.and_then(|a| serde_json::from_str::<Auth>(a.as_str()).ok());
                if token.is_some_and(|a| a.token == TOKEN) {
                    let _ = server.accept(now, request);
                } else {
                    let _ = server.reject(now, request, "bad token", None);
                }
            }
            Event::Connected { socket, .. } => {
                self.connected += 1;
                self.last_socket = Some(socket);
                let sid = server.socket_sid(socket).unwrap_or_default();
                let welcome = json(&("welcome", sid));
                let _ = server.emit(now, socket, welcome, Vec::new(), None);
            }
            Event::Event {
                socket,
                data,
                attachments,
                ack,
            } => {
                self.events += 1;
                self.on_event(server, now, socket, data, attachments, ack);
            }
            Event::Ack {
                socket,
                id,
                data,
                attachments,
            } if self.questions.remove(&(socket, id)) => {
                let answer = prepend("answer", &data);
                let _ = server.emit(now, socket, answer, attachments, None);
            }
            Event::AckTimeout { socket, id } => {
                self.questions.remove(&(socket, id));
            }
            Event::Disconnect { socket, .. } => {
                self.questions.retain(|(s, _)| *s != socket);
            }
            _ => {}
        }
    }

    fn on_event(
        &mut self,
        server: &mut Server,
        now: Instant,
        socket: SocketId,
        data: RawJson,
        attachments: Vec<Bytes>,
        ack: Option<u64>,
    ) {
        let args = data.array_elements().unwrap_or_default();
        let text = |i: usize| {
            args.get(i)
                .and_then(|a| serde_json::from_str::<String>(a).ok())
        };
        match data.event_name().as_deref() {
            Some("echo") => {
                if let (Some(id), Some(tail)) = (ack, data.array_tail()) {
                    let _ = server.ack(now, socket, id, tail, attachments);
                }
            }
            Some("join") => {
                if let (Some(room), Some(id)) = (text(1), ack) {
                    if server.join(socket, &room).is_ok() {
                        let _ = server.ack(now, socket, id, json(&("joined", room)), Vec::new());
                    }
                }
            }
            Some("to-room") => {
                if let (Some(room), Some(said)) = (text(1), text(2)) {
                    let Some(nsp) = server.socket_nsp(socket).map(String::from) else {
                        return;
                    };
                    let to = BroadcastOptions {
                        rooms: vec![ByteString::from(room.as_str())],
                        ..BroadcastOptions::default()
                    };
                    let msg = json(&("room-msg", room, said));
                    server.broadcast(now, &nsp, &to, msg, Vec::new());
                }
            }
            Some("ask") => {
                let question = json(&("question", 1, 2));
                let sent = server.emit(now, socket, question, Vec::new(), Some(QUESTION_TIMEOUT));
                if let Ok(Some(id)) = sent {
                    self.questions.insert((socket, id));
                }
            }
            Some("bye") => {
                let _ = server.disconnect(now, socket);
            }
            _ => {}
        }
    }
}

/// A JSON array of `value`'s elements (a tuple).
fn json<T: serde::Serialize>(value: &T) -> RawJson {
    let text = serde_json::to_string(value).unwrap_or_else(|_| String::from("[]"));
    RawJson::from_trusted(ByteString::from(text))
}

/// `[a, b]` -> `["name", a, b]`.
fn prepend(name: &str, args: &RawJson) -> RawJson {
    let elements = args.array_elements().unwrap_or_default();
    let mut text = String::from("[\"");
    text.push_str(name);
    text.push('"');
    for element in elements {
        text.push(',');
        text.push_str(element);
    }
    text.push(']');
    RawJson::from_trusted(ByteString::from(text))
}
