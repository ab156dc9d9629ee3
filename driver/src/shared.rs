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
use std::sync::{Arc, Mutex, OnceLock};

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
use sio_core::packet::RawJson;
use sio_core::server::{ConnectRequestId, Server, SocketId};
use sio_core::time::Instant;

/// Shared by every handle of one server.
pub(crate) struct Shared {
    pub(crate) runtime: Arc<dyn Runtime>,
    pub(crate) clock: Clock,
    /// The core server on its host, with the connection table.
    pub(crate) endpoint: Endpoint<Server>,
    /// Sockets known to the application, by core id: the socket floor's
    /// state of each, erased here (see `socket.rs`, which reads it back).
    pub(crate) sockets: Mutex<HashMap<SocketId, Arc<dyn Any + Send + Sync>>>,
    /// Senders waiting for acks, per socket then ack id.
    pub(crate) acks: Mutex<HashMap<SocketId, HashMap<u64, Sender<AckReply>>>>,
    /// The namespace floor's registry, seen from here.
    pub(crate) namespaces: Box<dyn Namespaces>,
    pub(crate) http_limits: sio_core::wire::http::Limits,
    /// The cluster this server joined, if an adapter is attached: an
    /// `Arc<Cluster>`, erased here (`Shared::cluster` in `cluster.rs`).
    pub(crate) cluster: OnceLock<Box<dyn Any + Send + Sync>>,
    /// How a socket's emits go through that cluster, when they do.
    pub(crate) logged_emits: OnceLock<Arc<dyn LoggedEmits>>,
    /// The engine totals last given to the metrics recorder.
    pub(crate) meter: EngineMeter,
    /// The Admin UI's instrumentation, once attached.
    pub(crate) observer: OnceLock<Observer>,
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
    pub(crate) fn new(
        runtime: Arc<dyn Runtime>,
        server: Server,
        namespaces: Box<dyn Namespaces>,
    ) -> Arc<Self> {
        let config = server.engine().config().clone();
        let endpoint = Endpoint::new(runtime.clone(), server, &config);
        let shared = Arc::new(Shared {
            clock: endpoint.host.clock().clone(),
            runtime,
            http_limits: endpoint.http_limits,
            endpoint,
            sockets: Mutex::new(HashMap::new()),
            acks: Mutex::new(HashMap::new()),
            namespaces,
            cluster: OnceLock::new(),
            logged_emits: OnceLock::new(),
            meter: EngineMeter::default(),
            observer: OnceLock::new(),
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

    pub(crate) fn settle_ack(&self, socket: SocketId, id: u64, reply: AckReply) {
        let mut acks = lock(&self.acks);
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
        lock(&self.acks).entry(socket).or_default().insert(id, tx);
        meter::acks_pending(1.0);
    }

    /// Drops every ack waiter of `socket` (it left): they learn it is gone.
    pub(crate) fn drop_acks(&self, socket: SocketId) {
        if let Some(waiting) = lock(&self.acks).remove(&socket) {
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
