//! The state every handle of a Socket.IO server shares: the core
//! [`Server`] on its endpoint (the host's lock and drain loop, the
//! connection table), the routing of its events, the sockets and the
//! pending acks.
//!
//! Locking rule: the state lock is held while an input is handled and its
//! outputs are routed, so bytes and events leave in the order the core
//! produced them. Routing never runs user code and never takes the state
//! lock again: it only sends on channels, updates maps and spawns tasks.
//! Locks are taken in one order: the state, then the connection table,
//! then an outbox.

use std::sync::{Arc, Mutex, OnceLock};
use std::task::Context;

use async_channel::Sender;
// Keyed by our own ids, looked up for every input and output: foldhash
// (hashbrown's default) instead of std's SipHash.
use hashbrown::HashMap;

use super::ack::AckReply;
use super::cluster::Cluster;
use super::handshake::Handshake;
use super::namespace::Registry;
use super::outbox::OutboxReceiver;
use super::runtime::Runtime;
use super::socket::{Job, Ready, Socket};
use crate::clock::Clock;
use crate::endpoint::{Endpoint, Layer};
use crate::host::{start_timers, Hosted};
use crate::sync::lock;
use sio_core::engine::ConnId;
use sio_core::server::{DisconnectReason, Event, Server, SocketId};
use sio_core::time::Instant;

/// Shared by every handle of one server.
pub(crate) struct Shared {
    pub(crate) runtime: Arc<dyn Runtime>,
    pub(crate) clock: Clock,
    /// The core server on its host, with the connection table.
    endpoint: Endpoint<Server>,
    /// Sockets known to the application, by core id.
    sockets: Mutex<HashMap<SocketId, Socket>>,
    /// Senders waiting for acks, per socket then ack id.
    acks: Mutex<HashMap<SocketId, HashMap<u64, Sender<AckReply>>>>,
    pub(crate) registry: Registry,
    pub(crate) http_limits: sio_core::wire::http::Limits,
    /// The cluster this server joined, if an adapter is attached.
    pub(crate) cluster: OnceLock<Arc<Cluster>>,
}

impl Shared {
    pub(crate) fn new(runtime: Arc<dyn Runtime>, server: Server) -> Arc<Self> {
        let config = server.engine().config().clone();
        let endpoint = Endpoint::new(runtime.clone(), server, &config);
        let shared = Arc::new(Shared {
            clock: endpoint.host.clock().clone(),
            runtime,
            http_limits: endpoint.http_limits,
            endpoint,
            sockets: Mutex::new(HashMap::new()),
            acks: Mutex::new(HashMap::new()),
            registry: Registry::default(),
            cluster: OnceLock::new(),
        });
        start_timers(&shared);
        shared
    }

    /// Feeds one input (or command) to the core and routes everything it
    /// produced. `f` gets the server and the current time. Handlers it
    /// woke run on tasks of their own.
    pub(crate) fn process<R>(self: &Arc<Self>, f: impl FnOnce(&mut Server, Instant) -> R) -> R {
        Layer::process(self, f)
    }

    /// Reads the server under the lock: no input, nothing to route.
    pub(crate) fn read<R>(&self, f: impl FnOnce(&Server) -> R) -> R {
        self.endpoint.read(f)
    }

    fn route_event(self: &Arc<Self>, server: &Server, event: Event, ready: &mut Vec<Ready>) {
        match event {
            Event::ConnectRequest {
                request,
                session,
                nsp,
                auth,
                dynamic,
            } => {
                let handshake = server
                    .engine()
                    .handshake(session)
                    .map(|info| Handshake::new(info, auth.clone(), &self.clock));
                // No handshake: the session closed under the request; the core drops it.
                if let Some(handshake) = handshake {
                    super::namespace::start_connect(self, request, nsp, handshake, dynamic);
                }
            }
            Event::Connected { socket, .. } => {
                if let Some(s) = lock(&self.sockets).get(&socket) {
                    tracing::debug!(socket = s.id(), nsp = s.ns(), "socket connected");
                    s.push_job(Job::Connect, ready);
                }
            }
            Event::Event {
                socket,
                data,
                attachments,
                ack,
            } => {
                if let Some(s) = lock(&self.sockets).get(&socket) {
                    s.push_job(
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
            Event::AckTimeout { socket, id } => self.settle_ack(socket, id, AckReply::Timeout),
            Event::Disconnect {
                socket,
                reason,
                rooms,
                ..
            } => {
                // Dropping the senders tells every waiter the socket is gone.
                lock(&self.acks).remove(&socket);
                if let Some(s) = lock(&self.sockets).remove(&socket) {
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
            _ => {}
        }
    }

    fn settle_ack(&self, socket: SocketId, id: u64, reply: AckReply) {
        let mut acks = lock(&self.acks);
        if let Some(waiting) = acks.get_mut(&socket) {
            if let Some(tx) = waiting.remove(&id) {
                let _ = tx.try_send(reply);
            }
            if waiting.is_empty() {
                acks.remove(&socket);
            }
        }
    }

    /// Registers a waiter for ack `id` of `socket`. Call it inside the
    /// [`Shared::process`] closure that emitted, before outputs are routed.
    pub(crate) fn expect_ack(&self, socket: SocketId, id: u64, tx: Sender<AckReply>) {
        lock(&self.acks).entry(socket).or_default().insert(id, tx);
    }

    /// Makes `socket` known before its `Connected` event is routed.
    pub(crate) fn insert_socket(&self, socket: Socket) {
        lock(&self.sockets).insert(socket.core_id(), socket);
    }

    /// The application's handle of a core socket, if it is still connected.
    pub(crate) fn socket(&self, id: SocketId) -> Option<Socket> {
        lock(&self.sockets).get(&id).cloned()
    }

    /// A fresh connection id with the channel its outputs arrive on.
    pub(crate) fn open_conn(&self) -> (ConnId, OutboxReceiver) {
        self.endpoint.open_conn()
    }

    /// How many connections are registered.
    pub(crate) fn open_conn_count(&self) -> usize {
        self.endpoint.open_conn_count()
    }

    pub(crate) fn begin_shutdown(&self) {
        self.endpoint.begin_shutdown()
    }

    /// The cluster, when an adapter is attached.
    pub(crate) fn cluster(&self) -> Option<&Arc<Cluster>> {
        self.cluster.get()
    }

    /// Spawns a future on the runtime.
    pub(crate) fn spawn(&self, future: impl core::future::Future<Output = ()> + Send + 'static) {
        self.runtime.spawn(Box::pin(future));
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

    fn run_now(ready: Ready, cx: &mut Context<'_>) {
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

impl Hosted for Shared {
    type Machine = Server;

    fn host(&self) -> &crate::host::Host<Server> {
        &self.endpoint.host
    }

    fn on_timeout(self: &Arc<Self>) {
        self.process(|server, now| server.handle_timeout(now));
    }

    /// After shutdown, once every socket and connection is gone.
    fn timers_done(&self) -> bool {
        self.endpoint.is_shutting_down()
            && lock(&self.sockets).is_empty()
            && self.endpoint.open_conn_count() == 0
    }
}
