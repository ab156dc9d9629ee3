//! The chat's Socket.IO side: what each event does, the per-socket rate
//! limit, and turning handler failures into `error` events. Shared by the
//! chat examples of every runtime crate: it uses sio-core's
//! runtime-agnostic API only, and never sleeps or spawns.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sio_driver::{AckSender, DisconnectReason, EmitError, Socket, SocketIo};

use crate::auth::User;

/// Events a socket may send per [`RATE_WINDOW`], over all chat events.
const RATE_LIMIT: usize = 10;
const RATE_WINDOW: Duration = Duration::from_secs(60);
/// Longest room id and room message a client may send (in characters).
const MAX_ROOM_ID_CHARS: usize = 64;
const MAX_MESSAGE_CHARS: usize = 2_000;
/// Rooms clients join through `join_room` are kept apart from the
/// server's own rooms (`user:{id}`) by this prefix, so nobody can join
/// another user's private room.
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
/// through, oldest first.
#[derive(Debug)]
pub struct RateLimiter {
    limit: usize,
    window: Duration,
    admitted: VecDeque<Instant>,
}

impl RateLimiter {
    pub fn new(limit: usize, window: Duration) -> Self {
        RateLimiter {
            limit,
            window,
            admitted: VecDeque::with_capacity(limit),
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

/// Why an event was not processed; the client gets it as an `error` event.
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
    user: User,
    limiter: Arc<Mutex<RateLimiter>>,
}

impl Session {
    fn admit(&self) -> bool {
        let mut limiter = self.limiter.lock().unwrap_or_else(|p| p.into_inner());
        limiter.admit(Instant::now())
    }
}

/// Tells the client why its event was not processed.
fn report(socket: &Socket, event: &str, error: &EventError) {
    tracing::debug!(socket = socket.id(), event, error = %error.0, "event refused");
    if let Err(e) = socket.emit("error", &json!({ "message": error.0 })) {
        tracing::debug!(socket = socket.id(), %e, "could not report an error");
    }
}

/// Registers `handler` for `event` behind the rate limit, with the
/// arguments decoded as `T` by hand so that a payload of the wrong shape
/// is answered with an `error` event instead of being dropped unseen.
fn register<T, F, Fut>(socket: &Socket, session: &Session, event: &'static str, handler: F)
where
    T: DeserializeOwned + Send + 'static,
    F: Fn(Session, Socket, T, AckSender) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = EventResult> + Send + 'static,
{
    let session = session.clone();
    socket.on_payload(event, move |socket, payload, ack| {
        // Checked before the first await: events are counted in arrival order.
        let work = if !session.admit() {
            Err(EventError::new("Rate limit exceeded"))
        } else {
            payload
                .decode::<T>()
                .map_err(|e| EventError::new(format!("invalid payload for '{event}': {e}")))
                .map(|args| handler(session.clone(), socket.clone(), args, ack))
        };
        async move {
            let outcome = match work {
                Ok(running) => running.await,
                Err(refused) => Err(refused),
            };
            if let Err(error) = outcome {
                report(&socket, event, &error);
            }
        }
    });
}

/// `{ roomId }`
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RoomRequest {
    room_id: String,
}

/// `{ roomId, message }`
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RoomMessage {
    room_id: String,
    message: String,
}

/// `{ message }` (any JSON)
#[derive(Deserialize)]
struct ChatMessage {
    message: Value,
}

/// What the room's members receive about a message or announcement.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RoomMessageOut<'a> {
    socket_id: &'a str,
    user_id: &'a str,
    name: &'a str,
    message: &'a str,
    room_id: &'a str,
}

/// `{ userId, name, roomId }` for `user_joined` / `user_left`.
fn membership(user: &User, room_id: &str) -> Value {
    json!({ "userId": user.id, "name": user.name, "roomId": room_id })
}

fn checked_room_id(room_id: &str) -> Result<&str, EventError> {
    if room_id.is_empty() || room_id.chars().count() > MAX_ROOM_ID_CHARS {
        return Err(EventError::new(format!(
            "roomId must have 1 to {MAX_ROOM_ID_CHARS} characters"
        )));
    }
    Ok(room_id)
}

fn checked_message(message: &str) -> Result<&str, EventError> {
    if message.chars().count() > MAX_MESSAGE_CHARS {
        return Err(EventError::new(format!(
            "message longer than {MAX_MESSAGE_CHARS} characters"
        )));
    }
    Ok(message)
}

/// The checked chat room of `room_id`, which the socket must be in.
fn joined_room(socket: &Socket, room_id: &str) -> Result<String, EventError> {
    let room = chat_room(checked_room_id(room_id)?);
    if !socket.rooms().contains(&room) {
        return Err(EventError::new(format!("join room '{room_id}' first")));
    }
    Ok(room)
}

/// Answers the client's callback, if it passed one.
fn acknowledge(ack: AckSender, reply: &Value) -> EventResult {
    ack.send(reply).map_err(EventError::from)
}

/// `message`: answered to the sender alone with `response`.
async fn on_message(
    session: Session,
    socket: Socket,
    message: Value,
    _ack: AckSender,
) -> EventResult {
    socket.emit(
        "response",
        &json!({ "echo": message, "from": session.user.name }),
    )?;
    Ok(())
}

/// `broadcast`: to everyone but the sender.
async fn on_broadcast(
    session: Session,
    socket: Socket,
    message: Value,
    _ack: AckSender,
) -> EventResult {
    let out = json!({ "userId": session.user.id, "name": session.user.name, "message": message });
    socket.broadcast().emit("broadcast", &out)?;
    Ok(())
}

/// `announce`: to everyone, the sender included, as `announcement`.
async fn on_announce(
    session: Session,
    _socket: Socket,
    message: Value,
    _ack: AckSender,
) -> EventResult {
    let out = json!({ "userId": session.user.id, "name": session.user.name, "message": message });
    session.io.emit("announcement", &out)?;
    Ok(())
}

/// `chat`: `{ message }`, acknowledged with `{ status: "ok", echo: message }`.
async fn on_chat(
    _session: Session,
    _socket: Socket,
    chat: ChatMessage,
    ack: AckSender,
) -> EventResult {
    acknowledge(ack, &json!({ "status": "ok", "echo": chat.message }))
}

/// `join_room`: joins, then `user_joined` to the room (the joiner included).
async fn on_join_room(
    session: Session,
    socket: Socket,
    request: RoomRequest,
    ack: AckSender,
) -> EventResult {
    let room_id = checked_room_id(&request.room_id)?;
    socket.join(&chat_room(room_id))?;
    tracing::info!(user = %session.user.id, room = %room_id, "joined room");
    session
        .io
        .to(&chat_room(room_id))
        .emit("user_joined", &membership(&session.user, room_id))?;
    acknowledge(ack, &json!({ "status": "ok", "roomId": room_id }))
}

/// `leave_room`: leaves, then `user_left` to those still in the room.
async fn on_leave_room(
    session: Session,
    socket: Socket,
    request: RoomRequest,
    ack: AckSender,
) -> EventResult {
    let room = joined_room(&socket, &request.room_id)?;
    socket.leave(&room)?;
    tracing::info!(user = %session.user.id, room = %request.room_id, "left room");
    session
        .io
        .to(&room)
        .emit("user_left", &membership(&session.user, &request.room_id))?;
    acknowledge(ack, &json!({ "status": "ok", "roomId": request.room_id }))
}

/// `room_message`: `message` to the room but the sender.
async fn on_room_message(
    session: Session,
    socket: Socket,
    request: RoomMessage,
    ack: AckSender,
) -> EventResult {
    let room = joined_room(&socket, &request.room_id)?;
    let out = RoomMessageOut {
        socket_id: socket.id(),
        user_id: &session.user.id,
        name: &session.user.name,
        message: checked_message(&request.message)?,
        room_id: &request.room_id,
    };
    socket.to(&room).emit("message", &out)?;
    acknowledge(ack, &json!({ "status": "ok" }))
}

/// `room_announce`: `room_announcement` to the whole room, the sender included.
async fn on_room_announce(
    session: Session,
    socket: Socket,
    request: RoomMessage,
    ack: AckSender,
) -> EventResult {
    let room = joined_room(&socket, &request.room_id)?;
    let out = RoomMessageOut {
        socket_id: socket.id(),
        user_id: &session.user.id,
        name: &session.user.name,
        message: checked_message(&request.message)?,
        room_id: &request.room_id,
    };
    session.io.to(&room).emit("room_announcement", &out)?;
    acknowledge(ack, &json!({ "status": "ok" }))
}

/// Tells the rooms a socket was in that its user left them.
fn announce_departure(io: &SocketIo, user: &User, rooms: &[String]) {
    for room in rooms {
        if let Some(room_id) = room.strip_prefix(CHAT_ROOM_PREFIX) {
            let _ = io.to(room).emit("user_left", &membership(user, room_id));
        }
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

/// Sets up a socket the auth middleware admitted: its handlers first
/// (before the first await, so no event finds them missing), then the
/// welcome, which counts the user's connections over the whole cluster.
pub async fn on_connection(io: SocketIo, socket: Socket) {
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
    let session = Session {
        io: io.clone(),
        user: user.clone(),
        limiter: Arc::new(Mutex::new(RateLimiter::new(RATE_LIMIT, RATE_WINDOW))),
    };
    register(&socket, &session, "message", on_message);
    register(&socket, &session, "broadcast", on_broadcast);
    register(&socket, &session, "announce", on_announce);
    register(&socket, &session, "chat", on_chat);
    register(&socket, &session, "join_room", on_join_room);
    register(&socket, &session, "leave_room", on_leave_room);
    register(&socket, &session, "room_message", on_room_message);
    register(&socket, &session, "room_announce", on_room_announce);

    let (io_for_welcome, user_for_welcome) = (io.clone(), user.clone());
    socket.on_disconnect(move |socket, reason: DisconnectReason| {
        let io = io.clone();
        let user = user.clone();
        async move {
            tracing::info!(socket = socket.id(), user = %user.id, reason = reason.as_str(), "disconnected");
            announce_departure(&io, &user, &socket.rooms());
        }
    });
    welcome(io_for_welcome, socket, user_for_welcome).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_refuses_the_eleventh_event_in_a_minute() {
        let start = Instant::now();
        let mut limiter = RateLimiter::new(10, Duration::from_secs(60));
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
        let mut limiter = RateLimiter::new(1, Duration::from_secs(60));
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
}
