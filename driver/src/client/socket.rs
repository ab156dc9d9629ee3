//! The socket handles: one per namespace, with its handlers, emits and acks.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use bytes::Bytes;
use core::future::Future;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::ack::{await_ack, AckError, AckReply};
use crate::jobs::{start_in_order, JobQueue};
use crate::listener::{CatchAll, Direction};
use crate::payload::Payload;
use crate::runtime::BoxFuture;
use crate::sync::lock;
use crate::EmitError;
use sio_core::client::{ClientError, DisconnectReason, EmitOptions};
use sio_core::packet::{encode_args, RawJson};

use super::auth::{AuthProvider, SocketAuth};
use super::manager::{ClientManager, ConnectErrorInfo, Job, SocketSink};

// ----- the socket -----

pub(super) type EventHandler =
    Arc<dyn Fn(ClientSocket, Payload, ClientAckSender) -> Option<BoxFuture<()>> + Send + Sync>;
pub(super) type AnyHandler = Arc<dyn Fn(ClientSocket, Payload) -> BoxFuture<()> + Send + Sync>;
type ConnectHandler = Arc<dyn Fn(ClientSocket) -> BoxFuture<()> + Send + Sync>;
type ConnectErrorHandler =
    Arc<dyn Fn(ClientSocket, ConnectErrorInfo) -> BoxFuture<()> + Send + Sync>;
type DisconnectHandler = Arc<dyn Fn(ClientSocket, DisconnectReason) -> BoxFuture<()> + Send + Sync>;

/// The socket's handlers; `client::listeners` registers and removes the
/// catch-all ones and the `once` handlers.
#[derive(Default)]
pub(super) struct Handlers {
    /// Event name -> handler, and whether it runs once.
    pub(super) events: HashMap<String, (EventHandler, bool)>,
    /// The catch-all handlers, incoming and outgoing.
    pub(super) any: CatchAll<AnyHandler>,
    connect: Vec<ConnectHandler>,
    connect_error: Vec<ConnectErrorHandler>,
    disconnect: Vec<DisconnectHandler>,
}

impl Drop for SocketInner {
    fn drop(&mut self) {
        // Leave the namespace, from a task: this may run while the
        // manager's lock is held (a route dropping the last handle).
        let manager = self.manager.clone();
        let nsp = std::mem::take(&mut self.nsp);
        let runtime = manager.inner.runtime.clone();
        runtime.spawn(Box::pin(async move {
            // A new socket for the namespace since then keeps it.
            if manager.inner.socket(&nsp).is_none() {
                let _ = manager.process(|client, now| client.disconnect(now, &nsp));
            }
        }));
    }
}

pub(super) struct SocketInner {
    pub(super) manager: ClientManager,
    nsp: String,
    auth: SocketAuth,
    sid: Mutex<Option<String>>,
    connected: AtomicBool,
    recovered: AtomicBool,
    pub(super) handlers: Mutex<Handlers>,
    jobs: JobQueue<Job>,
}

/// The client's socket in one namespace (socket.io-client's `Socket`).
/// Cloning shares it.
#[derive(Clone)]
pub struct ClientSocket {
    pub(super) inner: Arc<SocketInner>,
}

impl std::fmt::Debug for ClientSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientSocket")
            .field("nsp", &self.inner.nsp)
            .field("id", &self.id())
            .finish()
    }
}

impl ClientSocket {
    pub(super) fn new(manager: ClientManager, nsp: &str, auth: SocketAuth) -> Self {
        ClientSocket {
            inner: Arc::new(SocketInner {
                manager,
                nsp: nsp.to_owned(),
                auth,
                sid: Mutex::new(None),
                connected: AtomicBool::new(false),
                recovered: AtomicBool::new(false),
                handlers: Mutex::new(Handlers::default()),
                jobs: JobQueue::default(),
            }),
        }
    }

    /// Whether the last connection got the previous session back from a
    /// server with connection state recovery on (socket.io-client's
    /// `recovered`): the same id, and the events missed meanwhile.
    pub fn recovered(&self) -> bool {
        self.inner.recovered.load(Ordering::Acquire)
    }

    /// The connection this socket shares with the other namespaces'.
    pub fn manager(&self) -> &ClientManager {
        &self.inner.manager
    }

    /// The socket of another namespace on the same connection.
    pub fn of(&self, nsp: &str, auth: Option<RawJson>) -> ClientSocket {
        self.inner.manager.socket_with(nsp, auth.into())
    }

    /// The namespace.
    pub fn nsp(&self) -> &str {
        &self.inner.nsp
    }

    /// The socket id the server gave, while connected.
    pub fn id(&self) -> Option<String> {
        lock(&self.inner.sid).clone()
    }

    /// Whether the namespace is connected.
    pub fn connected(&self) -> bool {
        self.inner.connected.load(Ordering::Acquire)
    }

    /// Whether the socket still wants to be connected (connected, or
    /// (re)connecting): socket.io-client's `active`.
    pub fn active(&self) -> bool {
        let nsp = &self.inner.nsp;
        self.inner
            .manager
            .process(|client, _| client.is_active(nsp))
    }

    /// Joins the namespace, opening the connection if needed
    /// (socket.io-client's `socket.connect()`); `on_connect` or
    /// `on_connect_error` handlers follow.
    pub fn connect(&self) {
        let nsp = &self.inner.nsp;
        let auth = self.inner.auth.clone();
        let result = self.inner.manager.process(|client, now| {
            client.open(now);
            match auth {
                SocketAuth::None => client.connect(now, nsp, None),
                SocketAuth::Fixed(auth) => client.connect(now, nsp, Some(auth)),
                SocketAuth::Provider(_) => client.connect_asking_auth(now, nsp),
            }
        });
        if let Err(error) = result {
            tracing::warn!(nsp = %nsp, %error, "client socket cannot connect");
        }
    }

    /// Leaves the namespace: DISCONNECT to the server; the connection stays
    /// for the manager's other sockets (the last one closes it). Dropping
    /// every handle of a socket does the same.
    pub fn disconnect(&self) {
        let nsp = &self.inner.nsp;
        let _ = self
            .inner
            .manager
            .process(|client, now| client.disconnect(now, nsp));
    }

    /// Calls `handler` for every `event` from the server, with the
    /// arguments decoded as `T` (a tuple for several, `Bytes` for binary)
    /// and a [`ClientAckSender`]. Events that do not decode are logged and
    /// dropped.
    pub fn on<T, F, Fut>(&self, event: &str, handler: F)
    where
        T: DeserializeOwned + Send + 'static,
        F: Fn(ClientSocket, T, ClientAckSender) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let erased = typed(event, handler);
        lock(&self.inner.handlers)
            .events
            .insert(event.to_owned(), (erased, false));
    }

    /// Like [`ClientSocket::on`], for the next `event` only
    /// (socket.io-client's `once`).
    pub fn once<T, F, Fut>(&self, event: &str, handler: F)
    where
        T: DeserializeOwned + Send + 'static,
        F: Fn(ClientSocket, T, ClientAckSender) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let erased = typed(event, handler);
        lock(&self.inner.handlers)
            .events
            .insert(event.to_owned(), (erased, true));
    }

    /// Calls `handler` each time the namespace connects (reconnections too).
    pub fn on_connect<F, Fut>(&self, handler: F)
    where
        F: Fn(ClientSocket) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        lock(&self.inner.handlers)
            .connect
            .push(Arc::new(move |s| Box::pin(handler(s))));
    }

    /// Calls `handler` when the server refuses the namespace (the socket
    /// is not retried: call [`ClientSocket::connect`] again).
    pub fn on_connect_error<F, Fut>(&self, handler: F)
    where
        F: Fn(ClientSocket, ConnectErrorInfo) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        lock(&self.inner.handlers)
            .connect_error
            .push(Arc::new(move |s, e| Box::pin(handler(s, e))));
    }

    /// Calls `handler` each time the namespace disconnects, with the reason.
    pub fn on_disconnect<F, Fut>(&self, handler: F)
    where
        F: Fn(ClientSocket, DisconnectReason) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        lock(&self.inner.handlers)
            .disconnect
            .push(Arc::new(move |s, r| Box::pin(handler(s, r))));
    }

    /// Sends `event` with `args` (a tuple for several, `()` for none).
    /// While the socket is not connected (before [`ClientSocket::connect`],
    /// while connecting or reconnecting, after a disconnect) it is
    /// buffered and sent in order once the socket connects, as
    /// socket.io-client does; volatile emits are dropped instead. With the
    /// `retries` option, every emit waits its turn and is retried until
    /// acknowledged.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, args: &T) -> Result<(), EmitError> {
        self.emitter().emit(event, args)
    }

    /// Sends `event` and waits for the server's ack, decoded as `R`,
    /// without a deadline (see [`ClientSocket::timeout`]).
    pub fn emit_with_ack<T: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        event: &str,
        args: &T,
    ) -> impl Future<Output = Result<R, AckError>> + Send + 'static {
        self.emitter().emit_with_ack(event, args)
    }

    /// Emits with an ack deadline: `socket.timeout(d).emit_with_ack(..)`.
    pub fn timeout(&self, timeout: Duration) -> ClientEmitter {
        self.emitter().timeout(timeout)
    }

    /// Emits that are dropped instead of buffered while not connected.
    pub fn volatile(&self) -> ClientEmitter {
        self.emitter().volatile()
    }

    fn emitter(&self) -> ClientEmitter {
        ClientEmitter {
            socket: self.clone(),
            options: EmitOptions::new(),
        }
    }

    fn send_ack(&self, id: u64, data: RawJson, attachments: Vec<Bytes>) -> Result<(), EmitError> {
        let nsp = &self.inner.nsp;
        self.inner
            .manager
            .process(|client, now| client.ack(now, nsp, id, data, attachments))
            .map_err(emit_error)
    }

    pub(super) fn push_job(&self, job: Job) {
        if self.inner.jobs.push(job) {
            let socket = self.clone();
            self.inner
                .manager
                .inner
                .runtime
                .spawn(Box::pin(socket.run_jobs()));
        }
    }

    async fn run_jobs(self) {
        while let Some(job) = self.inner.jobs.next() {
            start_in_order(&*self.inner.manager.inner.runtime, self.futures_for(job)).await;
        }
    }

    fn futures_for(&self, job: Job) -> Vec<BoxFuture<()>> {
        let mut handlers = lock(&self.inner.handlers);
        match job {
            Job::Connect => {
                let list = handlers.connect.clone();
                drop(handlers);
                list.iter().map(|h| h(self.clone())).collect()
            }
            Job::ConnectError(info) => {
                let list = handlers.connect_error.clone();
                drop(handlers);
                list.iter().map(|h| h(self.clone(), info.clone())).collect()
            }
            Job::Disconnect(reason) => {
                let list = handlers.disconnect.clone();
                drop(handlers);
                list.iter().map(|h| h(self.clone(), reason)).collect()
            }
            Job::Event { payload, ack } => {
                let any: Vec<AnyHandler> = handlers.any.handlers(Direction::Incoming);
                let handler = payload
                    .event()
                    .and_then(|name| take_handler(&mut handlers.events, &name));
                drop(handlers);
                let mut futures: Vec<BoxFuture<()>> = any
                    .iter()
                    .map(|h| h(self.clone(), payload.clone()))
                    .collect();
                if let Some(handler) = handler {
                    let sender = ClientAckSender {
                        socket: self.clone(),
                        id: ack,
                    };
                    futures.extend(handler(self.clone(), payload, sender));
                }
                futures
            }
        }
    }
}

/// `handler` with its arguments decoded as `T`; undecodable ones are logged and dropped.
fn typed<T, F, Fut>(event: &str, handler: F) -> EventHandler
where
    T: DeserializeOwned + Send + 'static,
    F: Fn(ClientSocket, T, ClientAckSender) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let name = event.to_owned();
    Arc::new(
        move |socket, payload: Payload, ack| match payload.decode::<T>() {
            Ok(args) => Some(Box::pin(handler(socket, args, ack)) as BoxFuture<()>),
            Err(error) => {
                tracing::warn!(event = %name, %error, "event arguments do not decode; dropped");
                None
            }
        },
    )
}

/// The handler of `event`; a `once` handler is removed as it is taken.
fn take_handler(
    events: &mut HashMap<String, (EventHandler, bool)>,
    event: &str,
) -> Option<EventHandler> {
    match events.get(event)? {
        (_, true) => events.remove(event).map(|(handler, _)| handler),
        (handler, false) => Some(handler.clone()),
    }
}

fn emit_error(error: ClientError) -> EmitError {
    match error {
        ClientError::TooManyPendingAcks => EmitError::TooManyPendingAcks,
        ClientError::InvalidNamespace => EmitError::InvalidNamespace,
        ClientError::BufferFull => EmitError::BufferFull,
        _ => EmitError::Disconnected,
    }
}

/// Emits with options: `socket.timeout(d)`, `socket.volatile()`.
#[derive(Debug, Clone)]
pub struct ClientEmitter {
    socket: ClientSocket,
    options: EmitOptions,
}

impl ClientEmitter {
    /// Sets the ack deadline.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.options = self.options.with_ack(timeout);
        self
    }

    /// Drops the emit instead of buffering it while not connected.
    pub fn volatile(mut self) -> Self {
        self.options = self.options.volatile();
        self
    }

    /// Sends `event` with `args`.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, args: &T) -> Result<(), EmitError> {
        let (data, attachments) = encode_args(Some(event), args)?;
        self.socket.notify_outgoing(&data, &attachments);
        // A plain emit asks for no ack, whatever the deadline set.
        let mut options = self.options;
        options.ack_timeout = None;
        let nsp = &self.socket.inner.nsp;
        self.socket
            .inner
            .manager
            .process(|client, now| client.emit(now, nsp, data, attachments, options))
            .map(|_| ())
            .map_err(emit_error)
    }

    /// Sends `event` and waits for the server's ack, decoded as `R`.
    pub fn emit_with_ack<T: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        event: &str,
        args: &T,
    ) -> impl Future<Output = Result<R, AckError>> + Send + 'static {
        let started = self.start_ack(event, args);
        async move { await_ack(started?).await }
    }

    fn start_ack<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<async_channel::Receiver<AckReply>, AckError> {
        let (data, attachments) = encode_args(Some(event), args).map_err(EmitError::from)?;
        self.socket.notify_outgoing(&data, &attachments);
        let (tx, rx) = async_channel::bounded(1);
        // "No deadline" is a deadline that never comes.
        let options = self
            .options
            .with_ack(self.options.ack_timeout.unwrap_or(Duration::MAX));
        let nsp = &self.socket.inner.nsp;
        let manager = &self.socket.inner.manager.inner;
        manager
            .process(|client, now| {
                let id = client.emit(now, nsp, data, attachments, options)?;
                if let Some(id) = id {
                    // Registered before the outputs are routed: a cancel finds it.
                    lock(&manager.acks).insert((nsp.clone(), id), tx);
                }
                Ok::<_, ClientError>(())
            })
            .map_err(|e| AckError::Emit(emit_error(e)))?;
        Ok(rx)
    }
}

/// Answers the server's ack request of one event. Dropping it unanswered
/// sends nothing.
#[derive(Debug)]
pub struct ClientAckSender {
    socket: ClientSocket,
    id: Option<u64>,
}

impl ClientAckSender {
    /// Whether the server asked for an ack.
    pub fn is_requested(&self) -> bool {
        self.id.is_some()
    }

    /// Sends the ack with `args` (a tuple for several, `()` for none).
    /// Without a request it does nothing.
    pub fn send<T: Serialize + ?Sized>(self, args: &T) -> Result<(), EmitError> {
        let Some(id) = self.id else { return Ok(()) };
        let (data, attachments) = encode_args(None, args)?;
        self.socket.send_ack(id, data, attachments)
    }

    /// Sends the ack with `args` (a JSON array) and its attachments, unchanged.
    pub fn send_raw(self, args: RawJson, attachments: Vec<Bytes>) -> Result<(), EmitError> {
        let Some(id) = self.id else { return Ok(()) };
        self.socket.send_ack(id, args, attachments)
    }
}

impl ClientManager {
    /// The socket of namespace `nsp` (made on first use; `auth` counts
    /// only then). Not connected until [`ClientSocket::connect`].
    pub fn socket(&self, nsp: &str, auth: Option<RawJson>) -> ClientSocket {
        self.socket_with(nsp, auth.into())
    }

    /// The socket of namespace `nsp` (made on first use; `auth` counts
    /// only then), whose auth `auth` gives before every connection
    /// attempt (socket.io-client's `auth` as a function).
    pub fn socket_with_auth_fn(&self, nsp: &str, auth: AuthProvider) -> ClientSocket {
        self.socket_with(nsp, SocketAuth::Provider(auth))
    }

    pub(super) fn socket_with(&self, nsp: &str, auth: SocketAuth) -> ClientSocket {
        let mut sockets = lock(&self.inner.sockets);
        let existing = sockets.get(nsp).and_then(Weak::upgrade);
        if let Some(inner) = existing.and_then(|s| s.into_any().downcast::<SocketInner>().ok()) {
            return ClientSocket { inner };
        }
        let socket = ClientSocket::new(self.clone(), nsp, auth);
        let sink: Arc<dyn SocketSink> = socket.inner.clone();
        sockets.insert(nsp.to_owned(), Arc::downgrade(&sink));
        drop(sockets);
        // Known to the core from now on: emits before `connect` buffer.
        if let Err(error) = self.process(|client, _| client.add_namespace(nsp)) {
            tracing::warn!(nsp = %nsp, %error, "invalid client namespace");
        }
        socket
    }
}

impl SocketSink for SocketInner {
    fn nsp(&self) -> &str {
        &self.nsp
    }

    fn connected(&self) -> bool {
        self.connected.load(Ordering::Acquire)
    }

    fn auth_provider(&self) -> Option<AuthProvider> {
        match &self.auth {
            SocketAuth::Provider(provider) => Some(provider.clone()),
            _ => None,
        }
    }

    fn set_sid(&self, sid: Option<String>) {
        self.connected.store(sid.is_some(), Ordering::Release);
        *lock(&self.sid) = sid;
    }

    fn set_recovered(&self, recovered: bool) {
        self.recovered.store(recovered, Ordering::Release);
    }

    fn push_job(self: Arc<Self>, job: Job) {
        ClientSocket { inner: self }.push_job(job);
    }

    fn into_any(self: Arc<Self>) -> Arc<dyn std::any::Any + Send + Sync> {
        self
    }
}
