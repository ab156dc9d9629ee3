//! The client socket's listener API beyond `on` (socket.io-client's
//! `off`, `prependAny`, `offAny`, `onAnyOutgoing`, ...): catch-all
//! registrations return a [`ListenerId`] that `off_any*` takes, since Rust
//! closures cannot be compared the way JavaScript compares functions.
//! Floor: beside `client::socket`, above it.

use std::sync::Arc;

use bytes::Bytes;
use core::future::Future;

use super::socket::{AnyHandler, ClientSocket};
use crate::listener::{Direction, ListenerId};
use crate::payload::Payload;
use crate::sync::lock;
use sio_core::packet::RawJson;

fn erase_any<F, Fut>(handler: F) -> AnyHandler
where
    F: Fn(ClientSocket, Payload) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    Arc::new(move |s, p| Box::pin(handler(s, p)))
}

impl ClientSocket {
    /// Removes the handler of `event` (a socket holds one per event);
    /// whether there was one.
    pub fn off(&self, event: &str) -> bool {
        lock(&self.inner.handlers).events.remove(event).is_some()
    }

    /// Calls `handler` for every event from the server, before its own
    /// handler (`onAny`); [`ClientSocket::off_any`] takes the id back.
    pub fn on_any<F, Fut>(&self, handler: F) -> ListenerId
    where
        F: Fn(ClientSocket, Payload) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        lock(&self.inner.handlers)
            .any
            .add(Direction::Incoming, erase_any(handler), false)
    }

    /// Like [`ClientSocket::on_any`], before those registered so far (`prependAny`).
    pub fn prepend_any<F, Fut>(&self, handler: F) -> ListenerId
    where
        F: Fn(ClientSocket, Payload) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        lock(&self.inner.handlers)
            .any
            .add(Direction::Incoming, erase_any(handler), true)
    }

    /// Removes the catch-all handler `id` (`offAny(listener)`); whether it was there.
    pub fn off_any(&self, id: ListenerId) -> bool {
        lock(&self.inner.handlers)
            .any
            .remove(Direction::Incoming, id)
    }

    /// Removes every catch-all handler (`offAny()`).
    pub fn off_all_any(&self) {
        lock(&self.inner.handlers).any.clear(Direction::Incoming);
    }

    /// Calls `handler` with every event this socket emits (`onAnyOutgoing`),
    /// as `emit` is called: a buffered emit is seen then, not when it is
    /// flushed after connecting as socket.io-client does. The closure runs
    /// at once, its future on a task of its own.
    pub fn on_any_outgoing<F, Fut>(&self, handler: F) -> ListenerId
    where
        F: Fn(ClientSocket, Payload) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        lock(&self.inner.handlers)
            .any
            .add(Direction::Outgoing, erase_any(handler), false)
    }

    /// Like [`ClientSocket::on_any_outgoing`], before those registered so
    /// far (`prependAnyOutgoing`).
    pub fn prepend_any_outgoing<F, Fut>(&self, handler: F) -> ListenerId
    where
        F: Fn(ClientSocket, Payload) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        lock(&self.inner.handlers)
            .any
            .add(Direction::Outgoing, erase_any(handler), true)
    }

    /// Removes the outgoing catch-all handler `id` (`offAnyOutgoing(listener)`).
    pub fn off_any_outgoing(&self, id: ListenerId) -> bool {
        lock(&self.inner.handlers)
            .any
            .remove(Direction::Outgoing, id)
    }

    /// Removes every outgoing catch-all handler (`offAnyOutgoing()`).
    pub fn off_all_any_outgoing(&self) {
        lock(&self.inner.handlers).any.clear(Direction::Outgoing);
    }

    /// Starts the outgoing catch-all handlers with an event being emitted.
    pub(super) fn notify_outgoing(&self, data: &RawJson, attachments: &[Bytes]) {
        let listeners = lock(&self.inner.handlers).any.handlers(Direction::Outgoing);
        if listeners.is_empty() {
            return;
        }
        let payload = Payload::new(data.clone(), attachments.to_vec());
        let runtime = &self.inner.manager.inner.runtime;
        for listener in listeners {
            runtime.spawn(listener(self.clone(), payload.clone()));
        }
    }
}
