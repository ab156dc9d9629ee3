//! [`Socket`]: one client in one namespace, as the application sees it.
//!
//! Handlers run the way Node runs them: each event's handler is started in
//! arrival order and runs synchronously until its first await before the
//! next one starts (so the connection handler's `on(...)` registrations are
//! in place before the first event is looked up); what remains after an
//! await runs as its own task, so a slow handler delays nobody.
//!
//! Floor: socket, above shared and below cluster. The shared state's socket
//! map and event routing (`Shared::route_event`, the `Layer` impl) live here;
//! the operators a socket starts (`Socket::to`, ...) live in `operators.rs`,
//! `Socket::namespace` in `namespace.rs`; a socket reaches its namespace's
//! connection handlers through [`ConnectionHandlers`].

use std::any::Any;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use bytestring::ByteString;
use core::future::Future;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::ack::{AckError, AckReply};
use super::error::EmitError;
use super::extensions::Extensions;
use super::handshake::Handshake;
use super::jobs::{start_now, JobQueue};
use super::payload::Payload;
use super::runtime::BoxFuture;
use super::shared::Shared;
use super::sync::lock;
use crate::endpoint::{Endpoint, Layer};
use crate::listener::Direction;
use crate::meter;
use crate::observe::{EngineView, Observed};
use sio_core::engine::{shard_of_number, Transport};
use sio_core::packet::{element_name, encode_args, RawJson};
use sio_core::server::{BroadcastOptions, DisconnectReason, Event, Server, ServerError, SocketId};

mod emitter;
mod listeners;
mod middleware;
pub use emitter::{AckSender, SocketEmitter};
pub use listeners::PacketError;
use listeners::{AnyHandler, EventHandler, Handlers};

/// A namespace's connection handler (the namespace floor registers them).
pub(crate) type ConnectionHandler = Arc<dyn Fn(Socket) -> BoxFuture<()> + Send + Sync>;

/// Where a socket finds its namespace's connection handlers when its
/// `Connect` job runs: the namespace floor's handlers, seen from here.
pub(crate) trait ConnectionHandlers: Send + Sync {
    /// The connection handlers registered now, in order.
    fn connection_handlers(&self) -> Vec<ConnectionHandler>;
}

/// Work for the socket's handlers, in arrival order.
pub(crate) enum Job {
    Connect,
    Event {
        data: RawJson,
        attachments: Vec<Bytes>,
        ack: Option<u64>,
    },
    Disconnect(DisconnectReason, Vec<String>),
    /// Its connection moved to this transport.
    Upgrade(Transport),
}

struct Inner {
    id: SocketId,
    /// The core's own text of the id, shared rather than copied.
    sid: ByteString,
    nsp: Arc<str>,
    shared: Arc<Shared>,
    handshake: Handshake,
    extensions: Extensions,
    /// Its namespace's connection handlers.
    connection: Arc<dyn ConnectionHandlers>,
    handlers: Mutex<Handlers>,
    jobs: JobQueue<Job>,
    connected: AtomicBool,
    /// The rooms it was in when it disconnected (boxed slice: empty, it
    /// costs an idle socket no allocation and two words, not three).
    rooms_at_disconnect: Mutex<Box<[String]>>,
    /// Node's `socket.data`: what other nodes see through `fetch_sockets`.
    /// Boxed: most sockets never set it, and a JSON value is four words.
    data: Mutex<Option<Box<serde_json::Value>>>,
    /// It got a kept session back (connection state recovery).
    recovered: AtomicBool,
    /// The transport last seen, for [`Socket::transport`] once it is gone.
    last_transport: Mutex<Transport>,
}

/// One client connected to one namespace. Cloning shares it.
#[derive(Clone)]
pub struct Socket {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("id", &self.inner.sid)
            .field("nsp", &self.inner.nsp)
            .finish()
    }
}

impl Socket {
    pub(crate) fn new(
        shared: Arc<Shared>,
        id: SocketId,
        sid: ByteString,
        nsp: Arc<str>,
        handshake: Handshake,
        extensions: Extensions,
        connection: Arc<dyn ConnectionHandlers>,
    ) -> Self {
        let handshake_transport = handshake.transport();
        Socket {
            inner: Arc::new(Inner {
                id,
                sid,
                nsp,
                shared,
                handshake,
                extensions,
                connection,
                handlers: Mutex::new(Handlers::default()),
                jobs: JobQueue::default(),
                connected: AtomicBool::new(true),
                rooms_at_disconnect: Mutex::new(Box::default()),
                data: Mutex::new(None),
                recovered: AtomicBool::new(false),
                last_transport: Mutex::new(handshake_transport),
            }),
        }
    }

    /// The socket id the client sees (`socket.id`).
    pub fn id(&self) -> &str {
        &self.inner.sid
    }

    pub(crate) fn core_id(&self) -> SocketId {
        self.inner.id
    }

    /// The namespace's name, shared.
    pub(crate) fn nsp(&self) -> &Arc<str> {
        &self.inner.nsp
    }

    /// The namespace's name.
    pub fn ns(&self) -> &str {
        &self.inner.nsp
    }

    /// What the connection started with: auth payload, query, headers, address, time.
    pub fn handshake(&self) -> &Handshake {
        &self.inner.handshake
    }

    /// Per-socket data, shared with the middleware that accepted it.
    pub fn extensions(&self) -> &Extensions {
        &self.inner.extensions
    }

    /// Sets `socket.data`: any serializable value, kept as JSON, which
    /// `fetch_sockets` shows, on this node and on the others, and which a
    /// recovered socket gets back.
    pub fn set_data<T: Serialize + ?Sized>(&self, data: &T) -> Result<(), serde_json::Error> {
        let value = serde_json::to_value(data)?;
        if self.inner.shared.observer.get().is_some() {
            self.inner.shared.observe(|| Observed::DataUpdated {
                nsp: self.inner.nsp.as_ref().into(),
                sid: (&*self.inner.sid).into(),
                data: value.clone(),
            });
        }
        let raw = RawJson::from_serialize(&value)?;
        *lock(&self.inner.data) = Some(Box::new(value));
        let id = self.inner.id;
        // The core keeps a copy only for recovery.
        self.inner.shared.process_socket(id, |server, _| {
            if server.recovery().is_some() {
                let _ = server.set_socket_data(id, Some(raw));
            }
        });
        Ok(())
    }

    /// Whether this socket got its session back after a short disconnection
    /// (connection state recovery): its old id, rooms and data, and the
    /// events it missed, which went out before its CONNECT reply.
    pub fn recovered(&self) -> bool {
        self.inner.recovered.load(Ordering::Relaxed)
    }

    /// Sets what a recovered socket brought back, before it is known.
    pub(crate) fn restore(&self, recovered: bool, data: Option<serde_json::Value>) {
        self.inner.recovered.store(recovered, Ordering::Relaxed);
        if data.is_some() {
            *lock(&self.inner.data) = data.map(Box::new);
        }
    }

    /// `socket.data` decoded as `T`; `None` when unset or of another shape.
    pub fn data<T: DeserializeOwned>(&self) -> Option<T> {
        let data = lock(&self.inner.data);
        T::deserialize(&**data.as_ref()?).ok()
    }

    /// `socket.data` as JSON, if set.
    pub fn data_value(&self) -> Option<serde_json::Value> {
        lock(&self.inner.data).as_deref().cloned()
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.inner.shared
    }

    /// Whether the socket is still connected.
    pub fn connected(&self) -> bool {
        self.inner.connected.load(Ordering::Acquire)
    }

    /// Sends `event` with `args` (a tuple for several arguments, `()` for
    /// none). With connection state recovery on, an emit to a socket that
    /// has disconnected is kept for it (to its own room, as Node does), in
    /// case it comes back. On the streams adapter it is stored on the
    /// stream first (a broadcast to its own room, as Node's): the socket
    /// gets it once stored, and a client that comes back through another
    /// node gets it too.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, args: &T) -> Result<(), EmitError> {
        let (data, attachments) = encode_args(Some(event), args)?;
        self.emit_raw(data, attachments)
    }

    /// Sends a packet whose data is `data` (the whole array, event name
    /// first) with `attachments` for its placeholders, unchanged.
    pub fn emit_raw(&self, data: RawJson, attachments: Vec<Bytes>) -> Result<(), EmitError> {
        self.emit_raw_compressed(data, attachments, true)
    }

    /// [`Socket::emit_raw`], with permessage-deflate allowed or not.
    pub(crate) fn emit_raw_compressed(
        &self,
        data: RawJson,
        attachments: Vec<Bytes>,
        compress: bool,
    ) -> Result<(), EmitError> {
        self.observe_out(&data, &attachments);
        let id = self.inner.id;
        let (sid, nsp) = (&self.inner.sid, &self.inner.nsp);
        let shared = &self.inner.shared;
        if let Some(logged) = shared.logged_emits.get() {
            if logged.emit_logged(shared, nsp, sid, &data, &attachments, compress) {
                return Ok(());
            }
        }
        self.inner
            .shared
            .process_socket(id, |server, now| {
                with_compress(server, compress, |server| {
                    match server.emit(now, id, data.clone(), attachments.clone(), None) {
                        Err(ServerError::UnknownSocket) if server.recovery().is_some() => {
                            let opts = BroadcastOptions {
                                rooms: vec![sid.clone()],
                                ..Default::default()
                            };
                            server.broadcast(now, nsp, &opts, data, attachments);
                            Ok(None)
                        }
                        other => other,
                    }
                })
            })
            .map(|_| ())
            .map_err(EmitError::from)
    }

    /// Tells an observer that wants events about one emitted to this socket.
    /// Also starts the outgoing catch-all handlers with it.
    pub(crate) fn observe_out(&self, data: &RawJson, attachments: &[Bytes]) {
        self.notify_outgoing(|| Payload::new(data.clone(), attachments.to_vec()));
        let shared = &self.inner.shared;
        if shared.observes_events() {
            shared.observe(|| Observed::EventOut {
                nsp: self.inner.nsp.as_ref().into(),
                sid: (&*self.inner.sid).into(),
                data: data.clone(),
                attachments: attachments.to_vec(),
            });
        }
    }

    /// Sends `event` and waits for the client's acknowledgement, decoded as
    /// `R`, without a deadline (see [`Socket::timeout`]).
    pub fn emit_with_ack<T: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        event: &str,
        args: &T,
    ) -> impl Future<Output = Result<R, AckError>> + Send + 'static {
        self.emitter().emit_with_ack(event, args)
    }

    /// Emits with an acknowledgement deadline: `socket.timeout(d).emit_with_ack(...)`.
    pub fn timeout(&self, timeout: Duration) -> SocketEmitter {
        SocketEmitter {
            timeout: Some(timeout),
            ..self.emitter()
        }
    }

    /// Emits sent without permessage-deflate when `compress` is false,
    /// whatever their size (Node's `socket.compress(false)`; on by default).
    pub fn compress(&self, compress: bool) -> SocketEmitter {
        SocketEmitter {
            compress,
            ..self.emitter()
        }
    }

    /// Emits that may be dropped when the transport cannot take them now.
    pub fn volatile(&self) -> SocketEmitter {
        SocketEmitter {
            volatile: true,
            ..self.emitter()
        }
    }

    fn emitter(&self) -> SocketEmitter {
        SocketEmitter {
            socket: self.clone(),
            timeout: None,
            volatile: false,
            compress: true,
        }
    }

    /// Joins `room`.
    pub fn join(&self, room: &str) -> Result<(), EmitError> {
        let id = self.inner.id;
        self.inner
            .shared
            .process_socket(id, |server, _| server.join(id, room))
            .map_err(EmitError::from)
    }

    /// Leaves `room`.
    pub fn leave(&self, room: &str) -> Result<(), EmitError> {
        let id = self.inner.id;
        self.inner
            .shared
            .process_socket(id, |server, _| server.leave(id, room))
            .map_err(EmitError::from)
    }

    /// The transport its connection uses now (Node's
    /// `socket.conn.transport.name`): the handshake's, then WebSocket
    /// once the connection upgraded ([`Socket::on_upgrade`]); once the
    /// socket has disconnected, the last one.
    pub fn transport(&self) -> Transport {
        let id = self.inner.id;
        let now = self.inner.shared.read_socket(id, |server| {
            let session = server.socket_session(id)?;
            server.engine().transport(session)
        });
        let mut last = lock(&self.inner.last_transport);
        match now {
            Some(transport) => {
                *last = transport;
                transport
            }
            None => *last,
        }
    }

    /// The rooms the socket is in (its own id among them); once it has
    /// disconnected, the rooms it was in then.
    pub fn rooms(&self) -> Vec<String> {
        if !self.connected() {
            return lock(&self.inner.rooms_at_disconnect).to_vec();
        }
        let id = self.inner.id;
        self.inner.shared.read_socket(id, |server| {
            server
                .rooms(id)
                .map(|rooms| rooms.map(str::to_owned).collect())
                .unwrap_or_default()
        })
    }

    /// Leaves the namespace ("server namespace disconnect"); the connection stays.
    pub fn disconnect(&self) -> Result<(), EmitError> {
        let id = self.inner.id;
        self.inner
            .shared
            .process_socket(id, |server, now| server.disconnect(now, id))
            .map_err(EmitError::from)
    }

    /// Disconnects every socket of this client's connection and closes it
    /// (Node's `disconnect(true)`).
    pub fn disconnect_connection(&self) -> Result<(), EmitError> {
        let id = self.inner.id;
        self.inner
            .shared
            .process_socket(id, |server, now| server.disconnect_session(now, id))
            .map_err(EmitError::from)
    }

    pub(crate) fn send_ack<T: Serialize + ?Sized>(
        &self,
        ack_id: u64,
        args: &T,
    ) -> Result<(), EmitError> {
        let (data, attachments) = encode_args(None, args)?;
        self.send_ack_raw(ack_id, data, attachments)
    }

    pub(crate) fn send_ack_raw(
        &self,
        ack_id: u64,
        data: RawJson,
        attachments: Vec<Bytes>,
    ) -> Result<(), EmitError> {
        let id = self.inner.id;
        self.inner
            .shared
            .process_socket(id, |server, now| {
                server.ack(now, id, ack_id, data, attachments)
            })
            .map_err(EmitError::from)
    }

    pub(crate) fn mark_disconnected(&self) {
        self.inner.connected.store(false, Ordering::Release);
    }

    /// A socket's state as the shared map holds it (erased there: the
    /// shared state sits below this floor).
    fn inner_of(entry: &Arc<dyn Any + Send + Sync>) -> &Inner {
        (**entry)
            .downcast_ref::<Inner>()
            .expect("the socket map holds sockets")
    }

    /// The socket a map entry holds, taken out of the map.
    fn of_owned_entry(entry: Arc<dyn Any + Send + Sync>) -> Socket {
        Socket {
            inner: entry
                .downcast::<Inner>()
                .unwrap_or_else(|_| unreachable!("the socket map holds sockets")),
        }
    }

    /// [`Socket::push_job`] on a map entry: the socket is cloned out of it
    /// only when it becomes ready, as `push_job` clones it.
    fn push_entry_job(entry: &Arc<dyn Any + Send + Sync>, job: Job, ready: &mut Vec<Ready>) {
        if let Some(first) = Self::inner_of(entry).jobs.push_or_take(job) {
            ready.push(Ready {
                socket: Self::of_owned_entry(entry.clone()),
                first,
            });
        }
    }

    /// Queues work for the handlers; when no runner is active, the socket
    /// and the job go to `ready` and whoever took the lock starts a runner
    /// with them after releasing it. Called with the state lock held, so it
    /// only queues.
    pub(crate) fn push_job(&self, job: Job, ready: &mut Vec<Ready>) {
        if let Some(first) = self.inner.jobs.push_or_take(job) {
            ready.push(Ready {
                socket: self.clone(),
                first,
            });
        }
    }

    /// Runs `first`, then the queued jobs until none is left, within the
    /// caller's poll: each handler runs until its first await with `cx`,
    /// and what is left of it is spawned. A connection's task calls this
    /// (through [`Ready::run_now`]), so its state holds nothing of it.
    fn run_jobs_now(&self, first: Job, cx: &mut core::task::Context<'_>) {
        let mut job = Some(first);
        while let Some(current) = job.take().or_else(|| self.inner.jobs.next()) {
            // The usual event has one handler and no catch-all ones: its
            // future is not collected.
            let (collected, single) = self.futures_of(current);
            start_now(
                &*self.inner.shared.runtime,
                cx,
                JobFutures {
                    collected: collected.into_iter(),
                    single,
                },
            );
        }
    }

    /// A job's handler futures, in order: (collected, one more). An event's
    /// catch-all handlers are collected and its own handler comes last, so
    /// the usual event (no catch-all handler) collects nothing.
    fn futures_of(&self, job: Job) -> (Vec<BoxFuture<()>>, Option<BoxFuture<()>>) {
        match job {
            Job::Connect => (
                self.inner
                    .connection
                    .connection_handlers()
                    .into_iter()
                    .map(|handler| handler(self.clone()))
                    .collect(),
                None,
            ),
            Job::Event {
                data,
                attachments,
                ack,
            } => {
                let middleware = lock(&self.inner.handlers).rare_list(|rare| &rare.middleware);
                if !middleware.is_empty() {
                    let payload = Payload::new(data, attachments);
                    let future = self.clone().through_middleware(middleware, payload, ack);
                    return (Vec::new(), Some(Box::pin(future)));
                }
                let (any, handler, payload) = self.dispatch(data, attachments);
                let collected = any
                    .iter()
                    .map(|h| h(self.clone(), payload.clone()))
                    .collect();
                let last = handler.and_then(|handler| {
                    handler(self.clone(), payload, AckSender::new(self.clone(), ack))
                });
                (collected, last)
            }
            Job::Disconnect(reason, rooms) => {
                *lock(&self.inner.rooms_at_disconnect) = rooms.into_boxed_slice();
                // Handlers are dropped with the socket's last job: nothing can call them again.
                let handlers = std::mem::take(&mut *lock(&self.inner.handlers));
                // The "disconnecting" ones first: each runs to its first
                // await before any "disconnect" one starts, as in Node.
                let futures = handlers
                    .rare
                    .iter()
                    .flat_map(|rare| rare.disconnecting.iter())
                    .chain(handlers.disconnect.iter())
                    .map(|h| h(self.clone(), reason))
                    .collect();
                (futures, None)
            }
            Job::Upgrade(transport) => {
                let upgrade = lock(&self.inner.handlers).rare_list(|rare| &rare.upgrade);
                let futures = upgrade.iter().map(|h| h(self.clone(), transport)).collect();
                (futures, None)
            }
        }
    }

    /// The catch-all handlers and the handler of the event `data` names,
    /// with the event's payload (one scan of the name for both).
    fn dispatch(
        &self,
        data: RawJson,
        attachments: Vec<Bytes>,
    ) -> (Vec<AnyHandler>, Option<EventHandler>, Payload) {
        let split = data.split_first();
        let name = split.and_then(|(first, _)| first).and_then(element_name);
        let rest_at = split.map(|(_, rest_at)| rest_at);
        let mut handlers = lock(&self.inner.handlers);
        let handler = name.and_then(|name| handlers.events.take(name.as_ref()));
        let any = handlers.any(Direction::Incoming);
        drop(handlers);
        let payload = Payload::scanned(data, attachments, rest_at);
        (any, handler, payload)
    }
}

/// Runs `f` on `server`, its messages uncompressed unless `compress`.
pub(crate) fn with_compress<T>(
    server: &mut Server,
    compress: bool,
    f: impl FnOnce(&mut Server) -> T,
) -> T {
    if compress {
        f(server)
    } else {
        server.without_compression(f)
    }
}

/// A socket whose handlers must start (no runner was active), with the
/// job that made it ready: it goes first, the queue's jobs after it.
pub(crate) struct Ready {
    socket: Socket,
    first: Job,
}

impl Ready {
    /// Runs the jobs within the caller's poll (see [`Socket::run_jobs_now`]).
    pub(crate) fn run_now(self, cx: &mut core::task::Context<'_>) {
        self.socket.run_jobs_now(self.first, cx);
    }

    /// Runs the jobs on a task of their own.
    pub(crate) fn spawn(self) {
        let shared = self.socket.inner.shared.clone();
        let mut ready = Some(self);
        shared.spawn(std::future::poll_fn(move |cx| {
            if let Some(Ready { socket, first }) = ready.take() {
                socket.run_jobs_now(first, cx);
            }
            core::task::Poll::Ready(())
        }));
    }
}

/// The futures of one job, in order: the collected ones, then one more.
struct JobFutures {
    collected: std::vec::IntoIter<BoxFuture<()>>,
    single: Option<BoxFuture<()>>,
}

impl Iterator for JobFutures {
    type Item = BoxFuture<()>;

    fn next(&mut self) -> Option<BoxFuture<()>> {
        self.collected.next().or_else(|| self.single.take())
    }
}

/// The shared state's socket map and event routing, on this floor: the
/// map holds each socket's state erased, which only this module reads.
impl Shared {
    fn route_event(self: &Arc<Self>, server: &Server, event: Event, ready: &mut Vec<Ready>) {
        match event {
            Event::ConnectRequest {
                request,
                session,
                nsp,
                auth,
                dynamic,
                recovering,
            } => {
                let skip_middleware = recovering
                    && server
                        .recovery()
                        .is_some_and(|store| store.config().skip_middlewares);
                let handshake = server
                    .engine()
                    .handshake_shared(session)
                    .map(|info| Handshake::new(info, auth.clone(), &self.clock));
                // No handshake: the session closed under the request; the core drops it.
                if let Some(handshake) = handshake {
                    self.namespaces.start_connect(
                        self,
                        request,
                        nsp,
                        handshake,
                        dynamic,
                        skip_middleware,
                    );
                }
            }
            Event::RestoreRequest {
                request,
                nsp,
                pid,
                offset,
            } => self
                .namespaces
                .restore_session(self, request, nsp, pid, offset),
            Event::PersistSession { session } => {
                if let Some(store) = server.recovery() {
                    let ttl = store.config().max_disconnection_duration;
                    self.namespaces.persist_session(self, session, ttl);
                }
            }
            Event::Connected {
                socket, recovered, ..
            } => {
                if let Some(s) = lock(&self.books_of(socket).sockets).get(&socket) {
                    let inner = Socket::inner_of(s);
                    tracing::debug!(socket = &*inner.sid, nsp = &*inner.nsp, "socket connected");
                    meter::socket_connected(&inner.nsp);
                    if recovered {
                        meter::recovery_hit();
                    }
                    self.observe(|| Observed::Connected {
                        socket,
                        at_connect: EngineView::of(server, socket),
                    });
                    Socket::push_entry_job(s, Job::Connect, ready);
                }
            }
            Event::Event {
                socket,
                data,
                attachments,
                ack,
            } => {
                if let Some(s) = lock(&self.books_of(socket).sockets).get(&socket) {
                    if self.observes_events() {
                        let inner = Socket::inner_of(s);
                        self.observe(|| Observed::EventIn {
                            nsp: inner.nsp.as_ref().into(),
                            sid: (&*inner.sid).into(),
                            data: data.clone(),
                            attachments: attachments.clone(),
                        });
                    }
                    Socket::push_entry_job(
                        s,
                        Job::Event {
                            data,
                            attachments,
                            ack,
                        },
                        ready,
                    );
                }
            }
            Event::Ack {
                socket,
                id,
                data,
                attachments,
            } => self.settle_ack(socket, id, AckReply::Data { data, attachments }),
            Event::AckTimeout { socket, id } => {
                meter::ack_timed_out();
                self.settle_ack(socket, id, AckReply::Timeout)
            }
            Event::Disconnect {
                socket,
                reason,
                rooms,
                nsp,
            } => {
                // Dropping the senders tells every waiter the socket is gone.
                self.drop_acks(socket);
                if let Some(s) = lock(&self.books_of(socket).sockets).remove(&socket) {
                    let s = Socket::of_owned_entry(s);
                    meter::socket_disconnected(&nsp, reason.as_str());
                    if let Some(observer) = self.observer.get() {
                        observer.disconnected(&nsp, s.id(), reason.as_str(), &rooms);
                    }
                    if matches!(
                        reason,
                        DisconnectReason::ParseError | DisconnectReason::TransportError
                    ) {
                        // The peer broke the protocol (or its transport failed).
                        tracing::info!(
                            socket = s.id(),
                            nsp = s.ns(),
                            reason = reason.as_str(),
                            "socket disconnected by a protocol error"
                        );
                    } else {
                        tracing::debug!(
                            socket = s.id(),
                            nsp = s.ns(),
                            reason = reason.as_str(),
                            "socket disconnected"
                        );
                    }
                    s.mark_disconnected();
                    s.push_job(
                        Job::Disconnect(reason, rooms.iter().map(|r| r.to_string()).collect()),
                        ready,
                    );
                }
            }
            Event::ConnectionError(error) => {
                self.endpoint.hooks.report(&self.runtime, &error);
            }
            Event::NamespaceRemoved { nsp } => {
                tracing::debug!(nsp = &*nsp, "empty child namespace removed");
                self.child_namespace_removed(nsp);
            }
            Event::Upgraded { session } => {
                {
                    let shard = shard_of_number(session.as_u64(), self.shard_count());
                    let sockets = lock(&self.books(shard).sockets);
                    for socket in server.session_sockets(session) {
                        if let Some(s) = sockets.get(&socket) {
                            Socket::push_entry_job(s, Job::Upgrade(Transport::WebSocket), ready);
                        }
                    }
                }
                if let Some(observer) = self.observer.get() {
                    observer.core_event(server, Event::Upgraded { session });
                }
            }
            Event::RoomCreated { nsp, room, private } => self
                .namespaces
                .room_changed(self, &nsp, &room, true, private),
            Event::RoomDeleted { nsp, room } => self
                .namespaces
                .room_changed(self, &nsp, &room, false, false),
            event @ (Event::RoomJoined { .. } | Event::RoomLeft { .. }) => {
                if let Some(observer) = self.observer.get() {
                    observer.core_event(server, event);
                }
            }
            _ => {}
        }
    }

    /// Makes `socket` known before its `Connected` event is routed.
    pub(crate) fn insert_socket(&self, socket: Socket) {
        let id = socket.core_id();
        lock(&self.books_of(id).sockets).insert(id, socket.inner);
    }

    /// How many sockets each namespace has (those with none are absent).
    pub(crate) fn sockets_per_namespace(&self) -> hashbrown::HashMap<Arc<str>, usize> {
        let mut counts = hashbrown::HashMap::new();
        for shard in 0..self.shard_count() {
            for entry in lock(&self.books(shard).sockets).values() {
                *counts
                    .entry(Socket::inner_of(entry).nsp.clone())
                    .or_insert(0) += 1;
            }
        }
        counts
    }

    /// The application's handle of a core socket, if it is still connected.
    pub(crate) fn socket(&self, id: SocketId) -> Option<Socket> {
        lock(&self.books_of(id).sockets)
            .get(&id)
            .map(|entry| Socket::of_owned_entry(entry.clone()))
    }
}

impl Layer for Shared {
    type Machine = Server;
    type Ready = Ready;

    fn endpoint(&self) -> &Endpoint<Server> {
        &self.endpoint
    }

    fn route_event(self: &Arc<Self>, server: &Server, event: Event, ready: &mut Vec<Ready>) {
        Shared::route_event(self, server, event, ready)
    }

    fn drained(&self, server: &Server) {
        let meter = &self.books(server.shard().index()).meter;
        meter.report(server.engine().stats());
        if let Some(store) = server.recovery() {
            meter.report_recovery_misses(store.misses());
        }
    }

    fn run_now(ready: Ready, cx: &mut core::task::Context<'_>) {
        ready.run_now(cx)
    }

    fn spawn_ready(ready: Ready) {
        ready.spawn()
    }

    fn take_ready_list() -> Vec<Ready> {
        READY.take()
    }

    fn put_ready_list(list: Vec<Ready>) {
        READY.set(list)
    }
}

std::thread_local! {
    /// The sockets a WebSocket read made ready, while its task runs them
    /// (taken out while in use: a nested use gets a list of its own).
    static READY: std::cell::Cell<Vec<Ready>> = const { std::cell::Cell::new(Vec::new()) };
}
