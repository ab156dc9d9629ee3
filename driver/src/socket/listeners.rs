//! A socket's handler registry: event handlers (with `once` and `off`),
//! catch-all handlers for incoming and outgoing events, disconnect
//! handlers, and the per-packet middleware (Node's `socket.use`) with the
//! `error` handlers its refusals reach.
//!
//! Rust closures cannot be compared the way Node compares functions, so
//! catch-all registrations return a [`ListenerId`] that `off_any*` takes;
//! `off(event)` removes the event's handler (a socket holds one per event).

use std::sync::Arc;

use core::future::Future;
use serde::de::DeserializeOwned;

use super::{AckSender, Socket};
use crate::listener::{CatchAll, Direction, ListenerId};
use crate::payload::Payload;
use crate::runtime::BoxFuture;
use crate::sync::lock;
use sio_core::engine::Transport;
use sio_core::server::DisconnectReason;

pub(super) type EventHandler =
    Arc<dyn Fn(Socket, Payload, AckSender) -> Option<BoxFuture<()>> + Send + Sync>;
pub(super) type AnyHandler = Arc<dyn Fn(Socket, Payload) -> BoxFuture<()> + Send + Sync>;
pub(super) type DisconnectHandler =
    Arc<dyn Fn(Socket, DisconnectReason) -> BoxFuture<()> + Send + Sync>;
pub(super) type UpgradeHandler = Arc<dyn Fn(Socket, Transport) -> BoxFuture<()> + Send + Sync>;
pub(super) type PacketMiddleware =
    Arc<dyn Fn(Socket, Payload) -> BoxFuture<Result<(), PacketError>> + Send + Sync>;
pub(super) type ErrorHandler = Arc<dyn Fn(Socket, PacketError) -> BoxFuture<()> + Send + Sync>;

/// Why a packet middleware stopped a packet (Node's `next(err)`): its
/// message reaches the socket's [`Socket::on_error`] handlers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketError {
    message: String,
}

impl PacketError {
    /// An error with `message`.
    pub fn new(message: impl Into<String>) -> Self {
        PacketError {
            message: message.into(),
        }
    }

    /// Its message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl std::fmt::Display for PacketError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PacketError {}

#[derive(Default)]
pub(super) struct Handlers {
    pub(super) events: EventHandlers,
    pub(super) disconnect: Vec<DisconnectHandler>,
    /// The kinds few sockets register, made on the first: an idle socket
    /// without them carries one pointer instead of six empty vectors.
    pub(super) rare: Option<Box<RareHandlers>>,
}

/// The handlers of [`Handlers::rare`].
#[derive(Default)]
pub(super) struct RareHandlers {
    /// The catch-all handlers, incoming and outgoing.
    pub(super) any: CatchAll<AnyHandler>,
    /// Node's "disconnecting" handlers, run before the "disconnect" ones.
    pub(super) disconnecting: Vec<DisconnectHandler>,
    pub(super) upgrade: Vec<UpgradeHandler>,
    pub(super) middleware: Vec<PacketMiddleware>,
    pub(super) error: Vec<ErrorHandler>,
}

impl Handlers {
    /// The rare handlers, made on first use (to register one).
    pub(super) fn rare_mut(&mut self) -> &mut RareHandlers {
        self.rare.get_or_insert_with(Box::default)
    }

    /// A copy of the rare handlers `list` picks: empty, with nothing
    /// allocated, when none was ever registered.
    pub(super) fn rare_list<T: Clone>(
        &self,
        list: impl FnOnce(&RareHandlers) -> &Vec<T>,
    ) -> Vec<T> {
        self.rare.as_deref().map(list).cloned().unwrap_or_default()
    }

    /// The catch-all handlers of `direction`.
    pub(super) fn any(&self, direction: Direction) -> Vec<AnyHandler> {
        self.rare
            .as_ref()
            .map(|rare| rare.any.handlers(direction))
            .unwrap_or_default()
    }
}

/// Event name -> handler, and whether it runs once. A socket registers a
/// handful: a vector holds them in a fraction of a hash table's room, and
/// a scan over a few names costs no more than hashing one.
#[derive(Default)]
pub(super) struct EventHandlers(Vec<(Box<str>, EventHandler, bool)>);

impl EventHandlers {
    /// Registers `handler`, replacing an earlier one for the same event.
    fn insert(&mut self, event: &str, handler: EventHandler, once: bool) {
        match self.0.iter_mut().find(|(name, _, _)| **name == *event) {
            Some(slot) => {
                slot.1 = handler;
                slot.2 = once;
            }
            None => {
                self.0.reserve_exact(1);
                self.0.push((event.into(), handler, once));
            }
        }
    }

    /// The handler of `event`; a `once` handler is removed as it is taken.
    pub(super) fn take(&mut self, event: &str) -> Option<EventHandler> {
        let at = self.0.iter().position(|(name, _, _)| **name == *event)?;
        if self.0[at].2 {
            return Some(self.0.remove(at).1);
        }
        Some(self.0[at].1.clone())
    }

    fn remove(&mut self, event: &str) -> bool {
        let before = self.0.len();
        self.0.retain(|(name, _, _)| **name != *event);
        self.0.len() != before
    }
}

/// `handler` with its arguments decoded as `T`; undecodable ones are logged and dropped.
fn typed<T, F, Fut>(event: &str, handler: F) -> EventHandler
where
    T: DeserializeOwned + Send + 'static,
    F: Fn(Socket, T, AckSender) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let name = event.to_owned();
    Arc::new(
        move |socket: Socket, payload: Payload, ack: AckSender| match payload.decode::<T>() {
            Ok(args) => Some(Box::pin(handler(socket, args, ack)) as BoxFuture<()>),
            Err(error) => {
                tracing::warn!(socket = socket.id(), event = %name, %error, "event arguments do not decode; dropped");
                None
            }
        },
    )
}

fn erase_any<F, Fut>(handler: F) -> AnyHandler
where
    F: Fn(Socket, Payload) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    Arc::new(move |s, p| Box::pin(handler(s, p)))
}

impl Socket {
    /// Calls `handler` for every `event` from the client, with the
    /// arguments decoded as `T` (a tuple for several, `Bytes` anywhere for
    /// binary) and an [`AckSender`]. Events whose arguments do not decode as
    /// `T` are logged and dropped. A later registration for the same event
    /// replaces the earlier one.
    pub fn on<T, F, Fut>(&self, event: &str, handler: F)
    where
        T: DeserializeOwned + Send + 'static,
        F: Fn(Socket, T, AckSender) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let erased = typed(event, handler);
        lock(&self.inner.handlers)
            .events
            .insert(event, erased, false);
    }

    /// Like [`Socket::on`], for the next `event` only (Node's `once`): the
    /// handler is removed as that event arrives.
    pub fn once<T, F, Fut>(&self, event: &str, handler: F)
    where
        T: DeserializeOwned + Send + 'static,
        F: Fn(Socket, T, AckSender) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let erased = typed(event, handler);
        lock(&self.inner.handlers)
            .events
            .insert(event, erased, true);
    }

    /// Removes the handler of `event` (Node's `off(event)` /
    /// `removeAllListeners(event)`: a socket holds one per event); whether
    /// there was one.
    pub fn off(&self, event: &str) -> bool {
        lock(&self.inner.handlers).events.remove(event)
    }

    /// Like [`Socket::on`], with the arguments undecoded: exactly as sent,
    /// for relaying or echoing them unchanged.
    pub fn on_payload<F, Fut>(&self, event: &str, handler: F)
    where
        F: Fn(Socket, Payload, AckSender) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let erased: EventHandler =
            Arc::new(move |socket: Socket, payload: Payload, ack: AckSender| {
                Some(Box::pin(handler(socket, payload, ack)) as BoxFuture<()>)
            });
        lock(&self.inner.handlers)
            .events
            .insert(event, erased, false);
    }

    /// Calls `handler` for every event from the client, before its own
    /// handler (Node's `onAny`); [`Socket::off_any`] takes the id back.
    pub fn on_any<F, Fut>(&self, handler: F) -> ListenerId
    where
        F: Fn(Socket, Payload) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        lock(&self.inner.handlers).rare_mut().any.add(
            Direction::Incoming,
            erase_any(handler),
            false,
        )
    }

    /// Like [`Socket::on_any`], called before the catch-all handlers
    /// registered so far (Node's `prependAny`).
    pub fn prepend_any<F, Fut>(&self, handler: F) -> ListenerId
    where
        F: Fn(Socket, Payload) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        lock(&self.inner.handlers)
            .rare_mut()
            .any
            .add(Direction::Incoming, erase_any(handler), true)
    }

    /// Removes the catch-all handler `id` (Node's `offAny(listener)`);
    /// whether it was there.
    pub fn off_any(&self, id: ListenerId) -> bool {
        lock(&self.inner.handlers)
            .rare_mut()
            .any
            .remove(Direction::Incoming, id)
    }

    /// Removes every catch-all handler (Node's `offAny()`).
    pub fn off_all_any(&self) {
        lock(&self.inner.handlers)
            .rare_mut()
            .any
            .clear(Direction::Incoming);
    }

    /// Calls `handler` with every event this socket emits to its client
    /// (`emit`, `emit_with_ack`, `timeout(..)`, `volatile()`; not
    /// broadcasts), as it is sent (Node's `onAnyOutgoing`).
    pub fn on_any_outgoing<F, Fut>(&self, handler: F) -> ListenerId
    where
        F: Fn(Socket, Payload) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        lock(&self.inner.handlers).rare_mut().any.add(
            Direction::Outgoing,
            erase_any(handler),
            false,
        )
    }

    /// Like [`Socket::on_any_outgoing`], before those registered so far
    /// (Node's `prependAnyOutgoing`).
    pub fn prepend_any_outgoing<F, Fut>(&self, handler: F) -> ListenerId
    where
        F: Fn(Socket, Payload) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        lock(&self.inner.handlers)
            .rare_mut()
            .any
            .add(Direction::Outgoing, erase_any(handler), true)
    }

    /// Removes the outgoing catch-all handler `id` (Node's
    /// `offAnyOutgoing(listener)`); whether it was there.
    pub fn off_any_outgoing(&self, id: ListenerId) -> bool {
        lock(&self.inner.handlers)
            .rare_mut()
            .any
            .remove(Direction::Outgoing, id)
    }

    /// Removes every outgoing catch-all handler (Node's `offAnyOutgoing()`).
    pub fn off_all_any_outgoing(&self) {
        lock(&self.inner.handlers)
            .rare_mut()
            .any
            .clear(Direction::Outgoing);
    }

    /// Calls `handler` once when the socket disconnects, with the reason.
    /// [`Socket::rooms`] still answers with the rooms it was in (Node's
    /// "disconnecting" stage), though it has left them.
    pub fn on_disconnect<F, Fut>(&self, handler: F)
    where
        F: Fn(Socket, DisconnectReason) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        lock(&self.inner.handlers)
            .disconnect
            .push(Arc::new(move |s, r| Box::pin(handler(s, r))));
    }

    /// Calls `handler` once when the socket disconnects, before every
    /// [`Socket::on_disconnect`] handler (Node's `socket.on("disconnecting")`):
    /// each starts, and runs to its first await, before any of those. In
    /// it [`Socket::rooms`] lists the rooms the socket was in. Unlike in
    /// Node, the socket has already left them: a broadcast to them from
    /// here no longer reaches it, and emits to it fail.
    pub fn on_disconnecting<F, Fut>(&self, handler: F)
    where
        F: Fn(Socket, DisconnectReason) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        lock(&self.inner.handlers)
            .rare_mut()
            .disconnecting
            .push(Arc::new(move |s, r| Box::pin(handler(s, r))));
    }

    /// Calls `handler` when the socket's connection moves to another
    /// transport, with that transport: WebSocket, after an upgrade from
    /// long-polling (Node's `socket.conn.on("upgrade", transport => ...)`).
    /// [`Socket::transport`] tells the transport at any time.
    pub fn on_upgrade<F, Fut>(&self, handler: F)
    where
        F: Fn(Socket, Transport) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        lock(&self.inner.handlers)
            .rare_mut()
            .upgrade
            .push(Arc::new(move |s, t| Box::pin(handler(s, t))));
    }

    /// Adds a per-packet middleware (Node's `socket.use`): every event from
    /// the client goes through the middlewares in registration order
    /// before any handler sees it. `Ok(())` passes it on (Node's `next()`);
    /// an error drops the packet and reaches the [`Socket::on_error`]
    /// handlers (Node's `next(err)` and the socket's `error` event).
    pub fn use_packet<F, Fut>(&self, middleware: F)
    where
        F: Fn(Socket, Payload) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), PacketError>> + Send + 'static,
    {
        lock(&self.inner.handlers)
            .rare_mut()
            .middleware
            .push(Arc::new(move |s, p| Box::pin(middleware(s, p))));
    }

    /// Calls `handler` with the error of each packet a middleware refused
    /// (Node's `socket.on("error", ...)`).
    pub fn on_error<F, Fut>(&self, handler: F)
    where
        F: Fn(Socket, PacketError) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        lock(&self.inner.handlers)
            .rare_mut()
            .error
            .push(Arc::new(move |s, e| Box::pin(handler(s, e))));
    }

    /// Starts the outgoing catch-all handlers with an event being sent.
    pub(super) fn notify_outgoing(&self, payload: impl FnOnce() -> Payload) {
        let listeners = lock(&self.inner.handlers).any(Direction::Outgoing);
        if listeners.is_empty() {
            return;
        }
        let payload = payload();
        for listener in listeners {
            self.inner
                .shared
                .spawn(listener(self.clone(), payload.clone()));
        }
    }
}
