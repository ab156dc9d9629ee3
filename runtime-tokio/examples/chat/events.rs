//! The chat's Socket.IO side, event for event as the Socket.IO basics guide
//! (the Node version of this app) handles them, so that a client written
//! against the Node server works unchanged; the table is in `main.rs`.
//! Shared by the chat examples of every runtime crate: it uses sio-core's
//! runtime-agnostic API only, and never sleeps or spawns.
//!
//! Every handler runs to completion without awaiting, so the events of one
//! socket are handled (and rate-limited) strictly in arrival order.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;
use serde_json::value::RawValue;
use sio_driver::{AckSender, DisconnectReason, EmitError, Payload, Socket, SocketIo};

use crate::auth::User;

/// The guide's rate limit on `message` events: more than `max_events`
/// within `window` (sliding, per socket) and the event is dropped with an
/// `error` event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub max_events: usize,
    pub window: Duration,
}

impl Default for RateLimit {
    /// The guide's: 10 `message` events per 60 s.
    fn default() -> Self {
        RateLimit {
            max_events: 10,
            window: Duration::from_secs(60),
        }
    }
}

/// What the sender gets when the rate limit drops its `message`.
const RATE_LIMIT_EXCEEDED: &str = "Rate limit exceeded";

/// Rooms clients join through `join_room` are kept apart from the
/// server's own rooms (`user:{id}`) by this prefix, invisible to clients,
/// so nobody can join another user's private room by naming it.
const CHAT_ROOM_PREFIX: &str = "room:";

/// The private room of every connection of user `user_id`.
fn user_room(user_id: &str) -> String {
    format!("user:{user_id}")
}

fn chat_room(room_id: &str) -> String {
    format!("{CHAT_ROOM_PREFIX}{room_id}")
}

/// Sends `event` to every connection (every tab, every device) of a user.
pub fn emit_to_user<T: Serialize + ?Sized>(
    io: &SocketIo,
    user_id: &str,
    event: &str,
    args: &T,
) -> Result<(), EmitError> {
    io.to(&user_room(user_id)).emit(event, args)
}

/// At most `limit` events in any `window`: the times of the events let
/// through, oldest first. Refused events do not count.
#[derive(Debug)]
pub struct RateLimiter {
    limit: usize,
    window: Duration,
    admitted: VecDeque<Instant>,
}

impl RateLimiter {
    pub fn new(limit: RateLimit) -> Self {
        RateLimiter {
            limit: limit.max_events,
            window: limit.window,
            admitted: VecDeque::with_capacity(limit.max_events.min(64)),
        }
    }

    /// Whether an event at `now` may go through; counts it if so.
    pub fn admit(&mut self, now: Instant) -> bool {
        while let Some(&oldest) = self.admitted.front() {
            if now.saturating_duration_since(oldest) < self.window {
                break;
            }
            self.admitted.pop_front();
        }
        if self.admitted.len() >= self.limit {
            return false;
        }
        self.admitted.push_back(now);
        true
    }
}

/// Why an event was not processed; the client gets it as an `error` event
/// `{ message }`.
#[derive(Debug)]
pub struct EventError(String);

impl EventError {
    fn new(message: impl Into<String>) -> Self {
        EventError(message.into())
    }
}

impl From<EmitError> for EventError {
    fn from(e: EmitError) -> Self {
        EventError(format!("could not send: {e}"))
    }
}

type EventResult = Result<(), EventError>;

/// What every handler of one socket shares.
#[derive(Clone)]
struct Session {
    io: SocketIo,
    /// Of `message` events only, as in the guide.
    limiter: Arc<Mutex<RateLimiter>>,
}

impl Session {
    fn admit(&self) -> bool {
        let mut limiter = self.limiter.lock().unwrap_or_else(|p| p.into_inner());
        limiter.admit(Instant::now())
    }
}

/// Tells the client why its event was not processed: an `error` event
/// `{ message }`, and, when it asked for an acknowledgement, the ack
/// `{ status: "error", message }` (so its callback does not wait for
/// nothing). The connection stays up.
fn report(socket: &Socket, event: &str, error: &EventError, ack: Option<AckSender>) {
    tracing::debug!(socket = socket.id(), event, error = %error.0, "event refused");
    if let Err(e) = socket.emit("error", &json!({ "message": error.0 })) {
        tracing::debug!(socket = socket.id(), %e, "could not report an error");
    }
    if let Some(ack) = ack {
        let _ = ack.send(&json!({ "status": "error", "message": error.0 }));
    }
}

/// A handler: synchronous, so it runs whole before the socket's next event.
/// It takes the ack out of its slot when it answers; a failure is reported
/// through what is left there.
type Handler = fn(&Session, &Socket, &Payload, &mut Option<AckSender>) -> EventResult;

/// Registers `handler` for `event`; its failure becomes an `error` event.
fn register(socket: &Socket, session: &Session, event: &'static str, handler: Handler) {
    let session = session.clone();
    socket.on_payload(event, move |socket, payload, ack| {
        let mut ack = Some(ack);
        if let Err(error) = handler(&session, &socket, &payload, &mut ack) {
            report(&socket, event, &error, ack);
        }
        std::future::ready(())
    });
}

/// The first argument's JSON text exactly as the client sent it (so data
/// relayed "unchanged" keeps its key order and number spelling), or `None`
/// when it sent none (Node's `data` is then `undefined`, which JSON leaves
/// out). Binary attachments are refused: the example speaks JSON.
fn raw_argument(payload: &Payload, event: &str) -> Result<Option<Box<RawValue>>, EventError> {
    if !payload.attachments().is_empty() {
        return Err(EventError::new(format!(
            "invalid payload for '{event}': binary data is not supported"
        )));
    }
    match payload.args().first_element() {
        Some(Some(text)) => RawValue::from_string(text.to_owned())
            .map(Some)
            .map_err(|e| EventError::new(format!("invalid payload for '{event}': {e}"))),
        _ => Ok(None),
    }
}

/// The first argument as `T` (a missing one reads as `null`), or the
/// reason it is not one.
fn argument<T: DeserializeOwned>(
    payload: &Payload,
    event: &str,
    wanted: &str,
) -> Result<T, EventError> {
    let raw = raw_argument(payload, event)?;
    serde_json::from_str(raw.as_deref().map_or("null", RawValue::get)).map_err(|e| {
        EventError::new(format!(
            "invalid payload for '{event}': expected {wanted} ({e})"
        ))
    })
}

/// The first argument, or `null` when there is none (what Node's
/// `emit(event, undefined)` sends).
fn data_or_null(payload: &Payload, event: &str) -> Result<Box<RawValue>, EventError> {
    // The default RawValue is `null`.
    Ok(raw_argument(payload, event)?.unwrap_or_default())
}

/// A room id: a non-empty string.
fn room_id(payload: &Payload, event: &str) -> Result<String, EventError> {
    let room_id: String = argument(payload, event, "a room id string")?;
    if room_id.is_empty() {
        return Err(EventError::new(format!(
            "invalid payload for '{event}': the room id is empty"
        )));
    }
    Ok(room_id)
}

/// Answers the client's ack request, if it made one.
fn answer<T: Serialize + ?Sized>(ack: &mut Option<AckSender>, reply: &T) -> EventResult {
    match ack.take() {
        Some(ack) => ack.send(reply).map_err(EventError::from),
        None => Ok(()),
    }
}

/// `{ message }` of `chat`.
#[derive(Deserialize)]
struct ChatIn {
    message: Box<RawValue>,
}

/// `{ roomId, message }` of `room_message` and `room_announce`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RoomMessageIn {
    room_id: String,
    message: Box<RawValue>,
}

/// `{ message: "Message received", data }`.
#[derive(Serialize)]
struct Response<'a> {
    message: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a RawValue>,
}

/// `{ status: "ok", echo }`.
#[derive(Serialize)]
struct ChatResponse<'a> {
    status: &'static str,
    echo: &'a RawValue,
}

/// `{ socketId, roomId }`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UserJoined<'a> {
    socket_id: &'a str,
    room_id: &'a str,
}

/// `{ socketId }`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UserLeft<'a> {
    socket_id: &'a str,
}

/// `{ socketId, message }`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RoomMessageOut<'a> {
    socket_id: &'a str,
    message: &'a RawValue,
}

/// `message`, any data: `response` `{ message: "Message received", data }`
/// to the sender; more than the rate limit allows gets `error` instead.
fn on_message(
    session: &Session,
    socket: &Socket,
    payload: &Payload,
    _ack: &mut Option<AckSender>,
) -> EventResult {
    if !session.admit() {
        return Err(EventError::new(RATE_LIMIT_EXCEEDED));
    }
    let data = raw_argument(payload, "message")?;
    let response = Response {
        message: "Message received",
        data: data.as_deref(),
    };
    socket.emit("response", &response)?;
    Ok(())
}

/// `broadcast`, any data: `message` with it unchanged to everyone else.
fn on_broadcast(
    _: &Session,
    socket: &Socket,
    payload: &Payload,
    _ack: &mut Option<AckSender>,
) -> EventResult {
    let data = data_or_null(payload, "broadcast")?;
    socket.broadcast().emit("message", &data)?;
    Ok(())
}

/// `announce`, any data: `announcement` with it unchanged to everyone.
fn on_announce(
    session: &Session,
    _: &Socket,
    payload: &Payload,
    _ack: &mut Option<AckSender>,
) -> EventResult {
    let data = data_or_null(payload, "announce")?;
    session.io.emit("announcement", &data)?;
    Ok(())
}

/// `chat`, `{ message }`: `chat_response` `{ status: "ok", echo }` to the
/// sender, and the same object as the ack when it asked for one.
fn on_chat(
    _: &Session,
    socket: &Socket,
    payload: &Payload,
    ack: &mut Option<AckSender>,
) -> EventResult {
    let chat: ChatIn = argument(payload, "chat", "{ message }")?;
    let reply = ChatResponse {
        status: "ok",
        echo: &chat.message,
    };
    socket.emit("chat_response", &reply)?;
    answer(ack, &reply)?;
    Ok(())
}

/// `join_room`, a room id: joins it, `user_joined` `{ socketId, roomId }`
/// to the others in the room (and the ack `{ status: "ok", roomId }`).
fn on_join_room(
    _: &Session,
    socket: &Socket,
    payload: &Payload,
    ack: &mut Option<AckSender>,
) -> EventResult {
    let room_id = room_id(payload, "join_room")?;
    let room = chat_room(&room_id);
    socket.join(&room)?;
    tracing::info!(socket = socket.id(), room = %room_id, "joined room");
    let joined = UserJoined {
        socket_id: socket.id(),
        room_id: &room_id,
    };
    socket.to(&room).emit("user_joined", &joined)?;
    answer(ack, &json!({ "status": "ok", "roomId": room_id }))?;
    Ok(())
}

/// `leave_room`, a room id: leaves it, `user_left` `{ socketId }` to the
/// others in the room (and the ack `{ status: "ok", roomId }`).
fn on_leave_room(
    _: &Session,
    socket: &Socket,
    payload: &Payload,
    ack: &mut Option<AckSender>,
) -> EventResult {
    let room_id = room_id(payload, "leave_room")?;
    let room = chat_room(&room_id);
    socket.leave(&room)?;
    tracing::info!(socket = socket.id(), room = %room_id, "left room");
    let left = UserLeft {
        socket_id: socket.id(),
    };
    socket.to(&room).emit("user_left", &left)?;
    answer(ack, &json!({ "status": "ok", "roomId": room_id }))?;
    Ok(())
}

/// `room_message`, `{ roomId, message }`: `message` `{ socketId, message }`
/// to the room but the sender (and the ack `{ status: "ok" }`).
fn on_room_message(
    _: &Session,
    socket: &Socket,
    payload: &Payload,
    ack: &mut Option<AckSender>,
) -> EventResult {
    let request: RoomMessageIn = argument(payload, "room_message", "{ roomId, message }")?;
    let out = RoomMessageOut {
        socket_id: socket.id(),
        message: &request.message,
    };
    socket
        .to(&chat_room(&request.room_id))
        .emit("message", &out)?;
    answer(ack, &json!({ "status": "ok" }))?;
    Ok(())
}

/// `room_announce`, `{ roomId, message }`: `announcement`
/// `{ socketId, message }` to the whole room, the sender included (and the
/// ack `{ status: "ok" }`).
fn on_room_announce(
    session: &Session,
    socket: &Socket,
    payload: &Payload,
    ack: &mut Option<AckSender>,
) -> EventResult {
    let request: RoomMessageIn = argument(payload, "room_announce", "{ roomId, message }")?;
    let out = RoomMessageOut {
        socket_id: socket.id(),
        message: &request.message,
    };
    session
        .io
        .to(&chat_room(&request.room_id))
        .emit("announcement", &out)?;
    answer(ack, &json!({ "status": "ok" }))?;
    Ok(())
}

/// Tells the chat rooms a socket was in that it left them, as
/// `leave_room` would.
fn announce_departure(io: &SocketIo, socket_id: &str, rooms: &[String]) {
    for room in rooms.iter().filter(|r| r.starts_with(CHAT_ROOM_PREFIX)) {
        let _ = io.to(room).emit("user_left", &UserLeft { socket_id });
    }
}

/// Tells every connection of the user about the new one.
async fn welcome(io: SocketIo, socket: Socket, user: User) {
    let connections = match io.to(&user_room(&user.id)).fetch_sockets().await {
        Ok(sockets) => sockets.len(),
        Err(e) => {
            tracing::warn!(socket = socket.id(), %e, "could not count the user's connections");
            1
        }
    };
    let welcome = json!({
        "socketId": socket.id(),
        "userId": user.id,
        "name": user.name,
        "connections": connections,
    });
    if let Err(e) = emit_to_user(&io, &user.id, "welcome", &welcome) {
        tracing::warn!(socket = socket.id(), %e, "could not welcome");
    }
}

/// Sets up a socket the auth middleware admitted: its room `user:{id}`,
/// its `socket.data`, its handlers (before the first await, so no event
/// finds them missing), then the welcome, which counts the user's
/// connections over the whole cluster.
pub async fn on_connection(io: SocketIo, socket: Socket, limit: RateLimit) {
    let Some(user) = socket.extensions().get::<User>() else {
        // Only the middleware admits sockets, and it always stores the user.
        tracing::error!(socket = socket.id(), "socket without a user; disconnecting");
        let _ = socket.disconnect();
        return;
    };
    tracing::info!(socket = socket.id(), user = %user.id, name = %user.name, "connected");
    if let Err(e) = socket.join(&user_room(&user.id)) {
        tracing::warn!(socket = socket.id(), %e, "could not join the user's room");
    }
    // Node's `socket.data`: what `fetch_sockets` reports, on every node.
    if let Err(e) = socket.set_data(&json!({ "userId": user.id, "name": user.name })) {
        tracing::warn!(socket = socket.id(), %e, "could not set the socket's data");
    }
    let session = Session {
        io: io.clone(),
        limiter: Arc::new(Mutex::new(RateLimiter::new(limit))),
    };
    register(&socket, &session, "message", on_message);
    register(&socket, &session, "broadcast", on_broadcast);
    register(&socket, &session, "announce", on_announce);
    register(&socket, &session, "chat", on_chat);
    register(&socket, &session, "join_room", on_join_room);
    register(&socket, &session, "leave_room", on_leave_room);
    register(&socket, &session, "room_message", on_room_message);
    register(&socket, &session, "room_announce", on_room_announce);

    let (io_for_welcome, user_id) = (io.clone(), user.id.clone());
    socket.on_disconnect(move |socket, reason: DisconnectReason| {
        let io = io.clone();
        let user_id = user_id.clone();
        async move {
            tracing::info!(socket = socket.id(), user = %user_id, reason = reason.as_str(), "disconnected");
            announce_departure(&io, socket.id(), &socket.rooms());
        }
    });
    welcome(io_for_welcome, socket, user).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_refuses_the_eleventh_event_in_a_minute() {
        let start = Instant::now();
        let mut limiter = RateLimiter::new(RateLimit::default());
        for i in 0..10 {
            assert!(limiter.admit(start + Duration::from_secs(i)), "event {i}");
        }
        assert!(!limiter.admit(start + Duration::from_secs(30)));
        // The first event leaves the window a minute after it came.
        assert!(!limiter.admit(start + Duration::from_millis(59_999)));
        assert!(limiter.admit(start + Duration::from_secs(60)));
        assert!(!limiter.admit(start + Duration::from_secs(60)));
    }

    #[test]
    fn refused_events_do_not_count() {
        let start = Instant::now();
        let mut limiter = RateLimiter::new(RateLimit {
            max_events: 1,
            window: Duration::from_secs(60),
        });
        assert!(limiter.admit(start));
        for s in 1..60 {
            assert!(!limiter.admit(start + Duration::from_secs(s)));
        }
        assert!(limiter.admit(start + Duration::from_secs(60)));
    }

    #[test]
    fn chat_rooms_cannot_name_user_rooms() {
        assert_eq!(chat_room("user:ada"), "room:user:ada");
        assert_ne!(chat_room("x"), user_room("x"));
    }

    #[test]
    fn payloads_keep_the_guides_key_order() {
        let data = RawValue::from_string(r#"{"z":1.50,"a":"\u0001"}"#.to_owned()).unwrap();
        let response = Response {
            message: "Message received",
            data: Some(&data),
        };
        assert_eq!(
            serde_json::to_string(&response).unwrap(),
            r#"{"message":"Message received","data":{"z":1.50,"a":"\u0001"}}"#
        );
        let absent = Response {
            message: "Message received",
            data: None,
        };
        assert_eq!(
            serde_json::to_string(&absent).unwrap(),
            r#"{"message":"Message received"}"#
        );
        let joined = UserJoined {
            socket_id: "s1",
            room_id: "r",
        };
        assert_eq!(
            serde_json::to_string(&joined).unwrap(),
            r#"{"socketId":"s1","roomId":"r"}"#
        );
    }
}
