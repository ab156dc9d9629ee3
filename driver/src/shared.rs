//! The state every handle of a Socket.IO server shares: the core
//! [`Server`] on its endpoint (the host's lock and drain loop, the
//! connection table), the sockets and the pending acks. The routing of its
//! events is on the socket floor (`socket.rs`).
//!
//! Locking rule: the state lock is held while an input is handled and its
//! outputs are routed, so bytes and events leave in the order the core
//! produced them. Routing never runs user code and never takes the state
//! lock again: it only sends on channels, updates maps and spawns tasks.
//! Locks are taken in one order: the state, then the connection table,
//! then an outbox.
//!
//! Floor: shared sits below socket and above the bottom floor (endpoint,
//! host, outbox, ...). It names nothing above it: the socket map holds each
//! socket's state erased (read back in `socket.rs`), the registry is a
//! [`Namespaces`] trait object the namespace floor implements, and the
//! cluster is kept erased (`Shared::cluster` lives in `cluster.rs`), its
//! part in a socket's emit a [`LoggedEmits`] trait object (`streams.rs`).

use std::any::Any;
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use async_channel::Sender;
use bytes::Bytes;
use bytestring::ByteString;
// Keyed by our own ids, looked up for every input and output: foldhash
// (hashbrown's default) instead of std's SipHash.
use hashbrown::HashMap;

use super::ack::AckReply;
use super::handshake::Handshake;
use super::runtime::Runtime;
use crate::clock::Clock;
use crate::endpoint::{Endpoint, Layer};
use crate::host::{start_timers, Hosted};
use crate::meter::{self, EngineMeter};
use crate::observe::{Observed, Observer};
use crate::sync::lock;
use sio_core::engine::{shard_of_number, EngineStats};
use sio_core::packet::RawJson;
use sio_core::server::{BroadcastOptions, ConnectRequestId, Server, SocketId};
use sio_core::time::Instant;

/// Shared by every handle of one server.
pub(crate) struct Shared {
    pub(crate) runtime: Arc<dyn Runtime>,
    pub(crate) clock: Clock,
    /// The core server on its host, with the connection table.
    pub(crate) endpoint: Endpoint<Server>,
    /// Per shard: its sockets and the acks they wait for.
    books: Box<[Books]>,
    /// Taken shared by every broadcast's pass over the shards, and alone
    /// by a kept session moving between shards, so that each broadcast is
    /// wholly before or wholly after the move (it is then logged in the
    /// old shard's store, or in the new one's after the move, never in
    /// neither nor both). One uncontended read lock per broadcast, none
    /// per message.
    broadcast_gate: RwLock<()>,
    /// The namespace floor's registry, seen from here.
    pub(crate) namespaces: Box<dyn Namespaces>,
    pub(crate) http_limits: sio_core::wire::http::Limits,
    /// The cluster this server joined, if an adapter is attached: an
    /// `Arc<Cluster>`, erased here (`Shared::cluster` in `cluster.rs`).
    pub(crate) cluster: OnceLock<Box<dyn Any + Send + Sync>>,
    /// How a socket's emits go through that cluster, when they do.
    pub(crate) logged_emits: OnceLock<Arc<dyn LoggedEmits>>,
    /// The Admin UI's instrumentation, once attached.
    pub(crate) observer: OnceLock<Observer>,
}

/// What the driver keeps of one shard's sockets, beside the shard: only
/// inputs of that shard's sessions touch it.
#[derive(Default)]
pub(crate) struct Books {
    /// Sockets known to the application, by core id: the socket floor's
    /// state of each, erased here (see `socket.rs`, which reads it back).
    pub(crate) sockets: Mutex<HashMap<SocketId, Arc<dyn Any + Send + Sync>>>,
    /// Senders waiting for acks, per socket then ack id.
    acks: Mutex<HashMap<SocketId, HashMap<u64, Sender<AckReply>>>>,
    /// The shard's engine totals last given to the metrics recorder.
    pub(crate) meter: EngineMeter,
}

/// The namespaces' registry (namespace floor), as the floors below it use
/// it: it starts connect requests and names the namespaces.
pub(crate) trait Namespaces: Send + Sync + 'static {
    /// Runs the middleware of `nsp` for a connect request, then gives the
    /// core its verdict. Called while routing (state lock held): it only
    /// spawns.
    fn start_connect(
        &self,
        shared: &Arc<Shared>,
        request: ConnectRequestId,
        nsp: ByteString,
        handshake: Handshake,
        dynamic: bool,
        skip_middleware: bool,
    );

    /// With an external recovery store: looks the session `pid` up across
    /// the cluster and answers the core. Called while routing: only spawns.
    fn restore_session(
        &self,
        shared: &Arc<Shared>,
        request: ConnectRequestId,
        nsp: ByteString,
        pid: String,
        offset: String,
    );

    /// With an external recovery store: keeps `session` there for `ttl`.
    /// Called while routing: only spawns.
    fn persist_session(
        &self,
        shared: &Arc<Shared>,
        session: sio_core::server::PersistedSession,
        ttl: std::time::Duration,
    );

    /// Every namespace's name.
    fn names(&self) -> Vec<Arc<str>>;

    /// The core's room index created (`created`) or deleted `room` of
    /// `nsp` (`private`: a socket's own id). Called while routing: it only
    /// queues (the sharded cluster wire subscribes a channel per room).
    fn room_changed(
        &self,
        shared: &Arc<Shared>,
        nsp: &str,
        room: &str,
        created: bool,
        private: bool,
    );

    /// The core removed `nsp`, a dynamic parent's emptied child
    /// (`cleanup_empty_child_namespaces`): forget it. Called while
    /// routing: it only updates the registry.
    fn removed(&self, nsp: &str);

    /// The registry itself, for the namespace floor.
    fn as_any(&self) -> &dyn Any;
}

/// The cluster floor's part in a socket's emit. With connection state
/// recovery on the streams adapter, Node's `socket.emit` is a broadcast
/// to the socket's own room through the adapter: stored on the stream
/// first, so that it gets an offset (the entry id) and a client that comes
/// back through another node gets it too.
pub(crate) trait LoggedEmits: Send + Sync + 'static {
    /// Takes the emit of `data` (with `attachments`) to socket `sid` of
    /// `nsp` when the cluster logs it: the socket gets it once stored,
    /// with its offset. `false`: not logged, the caller emits it.
    fn emit_logged(
        &self,
        shared: &Arc<Shared>,
        nsp: &str,
        sid: &str,
        data: &RawJson,
        attachments: &[Bytes],
        compress: bool,
    ) -> bool;
}

impl Shared {
    /// A server over `servers`, one per shard, each already told its
    /// shard ([`Server::set_shard`]).
    pub(crate) fn new(
        runtime: Arc<dyn Runtime>,
        servers: Vec<Server>,
        namespaces: Box<dyn Namespaces>,
    ) -> Arc<Self> {
        let config = servers[0].engine().config().clone();
        let books = servers.iter().map(|_| Books::default()).collect();
        let endpoint = Endpoint::new(runtime.clone(), servers, &config);
        let shared = Arc::new(Shared {
            clock: endpoint.host().clock().clone(),
            runtime,
            http_limits: endpoint.http_limits,
            endpoint,
            books,
            broadcast_gate: RwLock::new(()),
            namespaces,
            cluster: OnceLock::new(),
            logged_emits: OnceLock::new(),
            observer: OnceLock::new(),
        });
        start_timers(&shared);
        shared
    }

    /// How many shards the server runs.
    pub(crate) fn shard_count(&self) -> usize {
        self.books.len()
    }

    /// The shard of `socket`.
    pub(crate) fn shard_of_socket(&self, socket: SocketId) -> usize {
        shard_of_number(socket.session_number(), self.books.len())
    }

    /// The shard of connect request `request`.
    pub(crate) fn shard_of_request(&self, request: ConnectRequestId) -> usize {
        shard_of_number(request.as_u64(), self.books.len())
    }

    /// The books of shard `shard`.
    pub(crate) fn books(&self, shard: usize) -> &Books {
        &self.books[shard % self.books.len()]
    }

    /// The books of `socket`'s shard.
    pub(crate) fn books_of(&self, socket: SocketId) -> &Books {
        self.books(self.shard_of_socket(socket))
    }

    /// Feeds one input (or command) to shard `shard` and routes everything
    /// it produced. `f` gets the server and the current time. Handlers it
    /// woke run on tasks of their own.
    pub(crate) fn process_on<R>(
        self: &Arc<Self>,
        shard: usize,
        f: impl FnOnce(&mut Server, Instant) -> R,
    ) -> R {
        Layer::process_on(self, shard, f)
    }

    /// [`Shared::process_on`] for the shard of `socket`.
    pub(crate) fn process_socket<R>(
        self: &Arc<Self>,
        socket: SocketId,
        f: impl FnOnce(&mut Server, Instant) -> R,
    ) -> R {
        self.process_on(self.shard_of_socket(socket), f)
    }

    /// [`Shared::process_on`] for the shard of connect request `request`.
    pub(crate) fn process_request<R>(
        self: &Arc<Self>,
        request: ConnectRequestId,
        f: impl FnOnce(&mut Server, Instant) -> R,
    ) -> R {
        self.process_on(self.shard_of_request(request), f)
    }

    /// [`Shared::process_on`] on every shard in turn, one lock at a time:
    /// what concerns every session (a broadcast, a namespace added).
    pub(crate) fn process_all<R>(
        self: &Arc<Self>,
        f: impl FnMut(&mut Server, Instant) -> R,
    ) -> Vec<R> {
        Layer::process_all(self, f)
    }

    /// Runs `f` on each socket of `nsp` that `opts` selects, in its shard:
    /// each shard selects its own and acts on them under one lock.
    pub(crate) fn on_matching(
        self: &Arc<Self>,
        nsp: &str,
        opts: &BroadcastOptions,
        mut f: impl FnMut(&mut Server, Instant, SocketId),
    ) {
        self.process_all(|server, now| {
            for id in server.matching_sockets(nsp, opts) {
                f(server, now, id);
            }
        });
    }

    /// A broadcast (or any operation on every socket that may log a
    /// packet): [`Shared::process_all`] under the broadcast gate.
    pub(crate) fn broadcast_all<R>(
        self: &Arc<Self>,
        f: impl FnMut(&mut Server, Instant) -> R,
    ) -> Vec<R> {
        let _gate = self
            .broadcast_gate
            .read()
            .unwrap_or_else(|p| p.into_inner());
        self.process_all(f)
    }

    /// With recovery on the local store and more than one shard: finds the
    /// kept session `pid` in another shard than the one connect request
    /// `request` waits in, and answers the request with it (or with
    /// nothing). Runs on a task: it takes shard locks one at a time, with
    /// broadcasts held off meanwhile.
    pub(crate) fn restore_across_shards(
        self: &Arc<Self>,
        request: ConnectRequestId,
        nsp: &str,
        pid: &str,
        offset: &str,
    ) {
        let home = self.shard_of_request(request);
        let _gate = self
            .broadcast_gate
            .write()
            .unwrap_or_else(|p| p.into_inner());
        let found = (0..self.shard_count())
            .filter(|&shard| shard != home)
            .find_map(|shard| {
                self.process_on(shard, |server, now| {
                    server.take_kept_session(now, nsp, pid, offset)
                })
            });
        let _ = self.process_on(home, |server, now| {
            server.answer_restore(now, request, found)
        });
    }

    /// A shard removed `nsp`, an emptied dynamic child: the registry
    /// forgets it once no shard has it (checked on a task: routing holds
    /// a shard's lock and takes no other).
    pub(crate) fn child_namespace_removed(self: &Arc<Self>, nsp: ByteString) {
        if self.shard_count() == 1 {
            self.namespaces.removed(&nsp);
            return;
        }
        let shared = self.clone();
        self.spawn(async move {
            let kept = shared.read_all(|server| server.has_namespace(&nsp));
            if !kept.into_iter().any(|has| has) {
                shared.namespaces.removed(&nsp);
            }
        });
    }

    /// Reads the first shard under its lock: what every shard has alike
    /// (config, namespaces' names, recovery mode).
    pub(crate) fn read<R>(&self, f: impl FnOnce(&Server) -> R) -> R {
        self.endpoint.read(f)
    }

    /// Reads the shard of `socket` under its lock.
    pub(crate) fn read_socket<R>(&self, socket: SocketId, f: impl FnOnce(&Server) -> R) -> R {
        self.endpoint.read_on(self.shard_of_socket(socket), f)
    }

    /// The engine's totals over every shard, and how many sessions are open.
    pub(crate) fn engine_stats(&self) -> (EngineStats, usize) {
        let mut total = EngineStats::default();
        let mut sessions = 0;
        for (stats, open) in self.read_all(|server| {
            let engine = server.engine();
            (*engine.stats(), engine.session_count())
        }) {
            total.add(&stats);
            sessions += open;
        }
        (total, sessions)
    }

    /// Reads every shard in turn, one lock at a time.
    pub(crate) fn read_all<R>(&self, f: impl FnMut(&Server) -> R) -> Vec<R> {
        self.endpoint.read_all(f)
    }

    pub(crate) fn settle_ack(&self, socket: SocketId, id: u64, reply: AckReply) {
        let mut acks = lock(&self.books_of(socket).acks);
        if let Some(waiting) = acks.get_mut(&socket) {
            if let Some(tx) = waiting.remove(&id) {
                meter::acks_pending(-1.0);
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
        lock(&self.books_of(socket).acks)
            .entry(socket)
            .or_default()
            .insert(id, tx);
        meter::acks_pending(1.0);
    }

    /// Drops every ack waiter of `socket` (it left): they learn it is gone.
    pub(crate) fn drop_acks(&self, socket: SocketId) {
        if let Some(waiting) = lock(&self.books_of(socket).acks).remove(&socket) {
            meter::acks_pending(-(waiting.len() as f64));
        }
    }

    /// Tells the observer, if one is attached.
    pub(crate) fn observe(&self, observed: impl FnOnce() -> Observed) {
        if let Some(observer) = self.observer.get() {
            observer.tell(observed());
        }
    }

    /// Whether an observer wants every event in and out.
    pub(crate) fn observes_events(&self) -> bool {
        self.observer.get().is_some_and(|o| o.events)
    }

    /// How many connections are registered.
    pub(crate) fn open_conn_count(&self) -> usize {
        self.endpoint.open_conn_count()
    }

    pub(crate) fn begin_shutdown(&self) {
        self.endpoint.begin_shutdown()
    }

    /// Spawns a future on the runtime.
    pub(crate) fn spawn(&self, future: impl core::future::Future<Output = ()> + Send + 'static) {
        self.runtime.spawn(Box::pin(future));
    }
}

impl Hosted for Shared {
    type Machine = Server;

    fn shard_count(&self) -> usize {
        self.endpoint.shard_count()
    }

    fn host(&self, shard: usize) -> &crate::host::Host<Server> {
        &self.endpoint.shard(shard).host
    }

    fn on_timeout(self: &Arc<Self>, shard: usize) {
        self.process_on(shard, |server, now| server.handle_timeout(now));
    }

    /// After shutdown, once every socket and connection is gone.
    fn timers_done(&self) -> bool {
        self.endpoint.is_shutting_down()
            && self.books.iter().all(|b| lock(&b.sockets).is_empty())
            && self.endpoint.open_conn_count() == 0
    }
}
