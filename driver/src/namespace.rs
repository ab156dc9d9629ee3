//! Namespaces as the application sees them: connection handlers,
//! middleware (whose outcome becomes the core's connect verdict), and
//! dynamic namespaces created by a predicate.
//!
//! Floor: namespace, below io only. It implements the traits the floors
//! below define for it ([`Namespaces`], [`ConnectionHandlers`]) and holds
//! `Socket::namespace` and the cluster's dispatch of server-side emits.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bytestring::ByteString;
use core::future::Future;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::ack::AckError;
use super::answer::ServerSideAck;
use super::cluster::{Cluster, ClusterError};
use super::error::EmitError;
use super::extensions::Extensions;
use super::handshake::Handshake;
use super::operators::BroadcastOperator;
use super::payload::Payload;
use super::remote::{args_value, decode_value, RemoteSocket};
use super::runtime::BoxFuture;
use super::shared::{Namespaces, Shared};
use super::socket::{ConnectionHandler, ConnectionHandlers, Socket};
use super::sync::lock;
use sio_core::adapter::Value;
use sio_core::packet::{encode_args, RawJson};
use sio_core::server::{BroadcastOptions, ConnectRequestId};

type Middleware = Arc<dyn Fn(ConnectContext) -> BoxFuture<Result<(), ConnectError>> + Send + Sync>;
type Predicate = Arc<dyn Fn(&str) -> bool + Send + Sync>;
pub(crate) type ServerSideHandler =
    Arc<dyn Fn(Payload, ServerSideAck) -> Option<BoxFuture<()>> + Send + Sync>;

/// A refusal from middleware: the client's `connect_error` gets `message`
/// and `data`.
#[derive(Debug, Clone)]
pub struct ConnectError {
    message: String,
    data: Option<RawJson>,
}

impl ConnectError {
    /// A refusal with `message` (the client's `err.message`).
    pub fn new(message: impl Into<String>) -> Self {
        ConnectError {
            message: message.into(),
            data: None,
        }
    }

    /// Adds `data` (the client's `err.data`); it is left out if it does not serialize.
    pub fn with_data<T: Serialize + ?Sized>(mut self, data: &T) -> Self {
        self.data = RawJson::from_serialize(data).ok();
        self
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConnectError {}

/// What middleware sees of a connection asking to join a namespace.
#[derive(Debug, Clone)]
pub struct ConnectContext {
    nsp: Arc<str>,
    handshake: Arc<Handshake>,
    extensions: Extensions,
}

impl ConnectContext {
    /// The namespace asked for.
    pub fn ns(&self) -> &str {
        &self.nsp
    }

    /// The handshake: auth payload, query, headers, address, time.
    pub fn handshake(&self) -> &Handshake {
        &self.handshake
    }

    /// Typed values to hand to the socket once accepted, read back with
    /// [`Socket::extensions`](super::Socket::extensions). They stay in this
    /// process and are not Node's `socket.data`: that is
    /// [`Socket::set_data`](super::Socket::set_data), what `fetch_sockets`
    /// reports.
    pub fn extensions(&self) -> &Extensions {
        &self.extensions
    }
}

/// The handlers of one namespace (or of every child of a dynamic one).
#[derive(Default)]
pub(crate) struct NsHandlers {
    connection: RwLock<Vec<ConnectionHandler>>,
    middleware: RwLock<Vec<Middleware>>,
    /// For a dynamic parent: the names of the namespaces it created.
    children: Mutex<Vec<Arc<str>>>,
    /// Handlers of server-side emits from other nodes, by event.
    server_side: RwLock<HashMap<String, ServerSideHandler>>,
}

#[derive(Default)]
struct RegistryInner {
    by_name: HashMap<Arc<str>, Arc<NsHandlers>>,
    dynamic: Vec<(Predicate, Arc<NsHandlers>)>,
}

/// Every namespace's handlers.
#[derive(Default)]
pub(crate) struct Registry {
    inner: RwLock<RegistryInner>,
}

impl Registry {
    fn handlers(&self, nsp: &str) -> Option<Arc<NsHandlers>> {
        self.inner
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .by_name
            .get(nsp)
            .cloned()
    }

    fn get_or_insert(&self, nsp: &str) -> Arc<NsHandlers> {
        let mut inner = self.inner.write().unwrap_or_else(|p| p.into_inner());
        inner.by_name.entry(Arc::from(nsp)).or_default().clone()
    }

    /// Every namespace's name.
    pub(crate) fn names(&self) -> Vec<Arc<str>> {
        let inner = self.inner.read().unwrap_or_else(|p| p.into_inner());
        inner.by_name.keys().cloned().collect()
    }

    pub(crate) fn server_side_handler(&self, nsp: &str, event: &str) -> Option<ServerSideHandler> {
        self.handlers(nsp)?
            .server_side
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(event)
            .cloned()
    }

    fn matching_parent(&self, nsp: &str) -> Option<Arc<NsHandlers>> {
        let inner = self.inner.read().unwrap_or_else(|p| p.into_inner());
        inner
            .dynamic
            .iter()
            .find(|(predicate, _)| predicate(nsp))
            .map(|(_, handlers)| handlers.clone())
    }
}

impl ConnectionHandlers for NsHandlers {
    fn connection_handlers(&self) -> Vec<ConnectionHandler> {
        self.connection
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl Namespaces for Registry {
    fn start_connect(
        &self,
        shared: &Arc<Shared>,
        request: ConnectRequestId,
        nsp: ByteString,
        handshake: Handshake,
        dynamic: bool,
        skip_middleware: bool,
    ) {
        start_connect(shared, request, nsp, handshake, dynamic, skip_middleware)
    }

    fn restore_session(
        &self,
        shared: &Arc<Shared>,
        request: ConnectRequestId,
        nsp: ByteString,
        pid: String,
        offset: String,
    ) {
        match shared.cluster() {
            Some(cluster) => cluster.restore_session(shared, request, nsp, pid, offset),
            // Sharded, with the local store: the session is in another
            // shard's store, if anywhere.
            None => {
                let shared = shared.clone();
                shared.clone().spawn(async move {
                    shared.restore_across_shards(request, &nsp, &pid, &offset);
                });
            }
        }
    }

    fn persist_session(
        &self,
        shared: &Arc<Shared>,
        session: sio_core::server::PersistedSession,
        ttl: std::time::Duration,
    ) {
        if let Some(cluster) = shared.cluster() {
            cluster.persist_session(shared, session, ttl);
        }
    }

    fn names(&self) -> Vec<Arc<str>> {
        Registry::names(self)
    }

    fn room_changed(
        &self,
        shared: &Arc<Shared>,
        nsp: &str,
        room: &str,
        created: bool,
        private: bool,
    ) {
        if let Some(cluster) = shared.cluster() {
            cluster.room_changed(nsp, room, created, private);
        }
    }

    fn removed(&self, nsp: &str) {
        let mut inner = self.inner.write().unwrap_or_else(|p| p.into_inner());
        let Some(handlers) = inner.by_name.get(nsp).cloned() else {
            return;
        };
        // Only a child: its entry is its parent's handlers.
        let is_child = inner
            .dynamic
            .iter()
            .any(|(_, parent)| Arc::ptr_eq(parent, &handlers));
        if is_child {
            inner.by_name.remove(nsp);
            lock(&handlers.children).retain(|child| &**child != nsp);
        }
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// The registry the shared state keeps for this floor.
impl Shared {
    pub(crate) fn registry(&self) -> &Registry {
        self.namespaces
            .as_any()
            .downcast_ref()
            .expect("the shared state's namespaces are a Registry")
    }
}

/// Runs the middleware of `nsp` for a connect request (unless a recovered
/// session skips it), then gives the core its verdict. Called while routing
/// (state lock held): it only spawns.
fn start_connect(
    shared: &Arc<Shared>,
    request: ConnectRequestId,
    nsp: ByteString,
    handshake: Handshake,
    dynamic: bool,
    skip_middleware: bool,
) {
    let shared = shared.clone();
    let task_shared = shared.clone();
    shared.spawn(async move {
        let shared = task_shared;
        let nsp: Arc<str> = Arc::from(&*nsp);
        // A dynamic namespace's predicate is user code: it runs here, off the lock.
        let (handlers, dynamic) = if dynamic {
            (shared.registry().matching_parent(&nsp), true)
        } else {
            match shared.registry().handlers(&nsp) {
                Some(handlers) => (Some(handlers), false),
                // An emptied child removed since the request came: made again.
                None => (shared.registry().matching_parent(&nsp), true),
            }
        };
        let Some(handlers) = handlers else {
            shared.process_request(request, |server, now| {
                let _ = server.reject(now, request, "Invalid namespace", None);
            });
            return;
        };
        let context = ConnectContext {
            nsp: nsp.clone(),
            handshake: Arc::new(handshake),
            extensions: Extensions::default(),
        };
        let middleware = if skip_middleware {
            Vec::new()
        } else {
            handlers.middleware.read().unwrap_or_else(|p| p.into_inner()).clone()
        };
        for step in middleware {
            if let Err(refusal) = step(context.clone()).await {
                tracing::debug!(nsp = %nsp, reason = %refusal.message, "connection refused by middleware");
                shared.process_request(request, |server, now| {
                    let _ = server.reject(now, request, &refusal.message, refusal.data);
                });
                return;
            }
        }
        let registry_shared = shared.clone();
        shared.process_request(request, |server, now| {
            let Ok(id) = server.accept(now, request) else {
                // The client left while middleware ran.
                return;
            };
            let sid = server.socket_sid_shared(id).cloned().unwrap_or_default();
            // A recovered socket brings its `socket.data` back.
            let recovered = server.socket_recovered(id);
            let data = server
                .socket_data(id)
                .and_then(|raw| serde_json::from_str(raw.as_str()).ok());
            let handshake = Arc::try_unwrap(context.handshake).unwrap_or_else(|shared| (*shared).clone());
            // The handlers the registry holds under the name: the socket's
            // `Connect` job runs their connection handlers.
            let connection = if dynamic {
                let mut inner = registry_shared.registry().inner.write().unwrap_or_else(|p| p.into_inner());
                let entry = inner.by_name.entry(nsp.clone()).or_insert_with(|| handlers.clone()).clone();
                lock(&handlers.children).push(nsp.clone());
                drop(inner);
                if let Some(cluster) = registry_shared.cluster() {
                    cluster.add_namespace(&registry_shared, &nsp);
                }
                entry
            } else {
                handlers.clone()
            };
            let socket = Socket::new(
                registry_shared.clone(),
                id,
                sid,
                nsp.clone(),
                handshake,
                context.extensions,
                connection,
            );
            socket.restore(recovered, data);
            // Known before its Connected event is routed, in this same drain.
            registry_shared.insert_socket(socket);
        });
    });
}

/// A namespace, or a dynamic parent standing for every namespace its
/// predicate admits.
#[derive(Clone)]
pub struct Namespace {
    shared: Arc<Shared>,
    name: Arc<str>,
    handlers: Arc<NsHandlers>,
    dynamic: bool,
}

impl std::fmt::Debug for Namespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Namespace")
            .field("name", &self.name)
            .field("dynamic", &self.dynamic)
            .finish()
    }
}

impl Namespace {
    pub(crate) fn get_or_create(shared: &Arc<Shared>, name: &str) -> Result<Namespace, EmitError> {
        for added in shared.process_all(|server, _| server.add_namespace(name)) {
            added?;
        }
        if let Some(cluster) = shared.cluster() {
            cluster.add_namespace(shared, name);
        }
        Ok(Namespace {
            shared: shared.clone(),
            name: Arc::from(name),
            handlers: shared.registry().get_or_insert(name),
            dynamic: false,
        })
    }

    /// A namespace the core already has (`/` from the start, or a socket's own).
    pub(crate) fn existing(shared: &Arc<Shared>, name: &str) -> Namespace {
        Namespace {
            shared: shared.clone(),
            name: Arc::from(name),
            handlers: shared.registry().get_or_insert(name),
            dynamic: false,
        }
    }

    pub(crate) fn dynamic(shared: &Arc<Shared>, predicate: Predicate) -> Namespace {
        let handlers = Arc::new(NsHandlers::default());
        shared
            .registry()
            .inner
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .dynamic
            .push((predicate, handlers.clone()));
        shared.process_all(|server, _| server.set_dynamic_namespaces(true));
        Namespace {
            shared: shared.clone(),
            name: Arc::from("(dynamic)"),
            handlers,
            dynamic: true,
        }
    }

    /// The name (for a dynamic parent, `(dynamic)`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Calls `handler` with every socket that joins (after the middleware accepted it).
    pub fn on_connection<F, Fut>(&self, handler: F)
    where
        F: Fn(Socket) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.handlers
            .connection
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push(Arc::new(move |socket| Box::pin(handler(socket))));
    }

    /// Adds a middleware step: every connect request runs the steps in
    /// order; the first `Err` refuses it with a `connect_error`.
    pub fn use_middleware<F, Fut>(&self, middleware: F)
    where
        F: Fn(ConnectContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), ConnectError>> + Send + 'static,
    {
        self.handlers
            .middleware
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push(Arc::new(move |context| Box::pin(middleware(context))));
    }

    pub(crate) fn operator(&self) -> BroadcastOperator {
        let namespaces = if self.dynamic {
            lock(&self.handlers.children).clone()
        } else {
            vec![self.name.clone()]
        };
        BroadcastOperator::new(self.shared.clone(), namespaces, BroadcastOptions::default())
    }

    /// To the sockets in `room`.
    pub fn to(&self, room: &str) -> BroadcastOperator {
        self.operator().to(room)
    }

    /// Same as [`Namespace::to`] (Node's `in`).
    pub fn within(&self, room: &str) -> BroadcastOperator {
        self.operator().to(room)
    }

    /// To every socket but those in `room`.
    pub fn except(&self, room: &str) -> BroadcastOperator {
        self.operator().except(room)
    }

    /// Emits that may be dropped for busy transports.
    pub fn volatile(&self) -> BroadcastOperator {
        self.operator().volatile()
    }

    /// Broadcasts sent without permessage-deflate when `compress` is
    /// false (Node's `nsp.compress(false)`).
    pub fn compress(&self, compress: bool) -> BroadcastOperator {
        self.operator().compress(compress)
    }

    /// Only this server's sockets.
    pub fn local(&self) -> BroadcastOperator {
        self.operator().local()
    }

    /// The deadline for `emit_with_ack`.
    pub fn timeout(&self, timeout: Duration) -> BroadcastOperator {
        self.operator().timeout(timeout)
    }

    /// Sends `event` to every socket of the namespace.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, args: &T) -> Result<(), EmitError> {
        self.operator().emit(event, args)
    }

    /// Sends `event` to every socket and collects their acknowledgements.
    pub fn emit_with_ack<T: Serialize + ?Sized, R: serde::de::DeserializeOwned + Send + 'static>(
        &self,
        event: &str,
        args: &T,
    ) -> impl Future<Output = Result<Vec<R>, AckError>> + Send + 'static {
        self.operator().emit_with_ack(event, args)
    }

    /// Every socket of the namespace, over the whole cluster (see
    /// [`BroadcastOperator::fetch_sockets`]).
    pub fn fetch_sockets(
        &self,
    ) -> impl Future<Output = Result<Vec<RemoteSocket>, ClusterError>> + Send + 'static {
        self.operator().fetch_sockets()
    }

    /// Sends `event` with `args` to the other nodes of the cluster (Node's
    /// `serverSideEmit`); their [`Namespace::on_server_side_emit`] handlers
    /// get it. This node's do not. Without an adapter it does nothing.
    pub fn server_side_emit<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<(), EmitError> {
        let Some(cluster) = self.shared.cluster() else {
            return Ok(());
        };
        let data = server_side_data(event, args)?;
        for nsp in self.operator().namespaces() {
            cluster.server_side_emit(nsp, data.clone());
        }
        Ok(())
    }

    /// Like [`Namespace::server_side_emit`], and collects one answer per
    /// other node, decoded as `R` (Node's `serverSideEmitWithAck`). A node
    /// that does not answer within the adapter's `requests_timeout` makes
    /// it fail with the reference's message (`timeout reached: only 1
    /// responses received out of 2`). Without an adapter, or with no other
    /// node, it resolves at once with no answers.
    pub fn server_side_emit_with_ack<
        T: Serialize + ?Sized,
        R: DeserializeOwned + Send + 'static,
    >(
        &self,
        event: &str,
        args: &T,
    ) -> impl Future<Output = Result<Vec<R>, ClusterError>> + Send + 'static {
        let cluster = self.shared.cluster().cloned();
        let shared = self.shared.clone();
        let namespaces = self.operator().namespaces().to_vec();
        let data = server_side_data(event, args);
        async move {
            let data = data.map_err(|e| ClusterError::Encode(e.to_string()))?;
            let Some(cluster) = cluster else {
                return Ok(Vec::new());
            };
            let mut answers = Vec::new();
            for nsp in namespaces {
                for answer in cluster
                    .server_side_emit_with_ack(&shared, &nsp, data.clone())
                    .await?
                {
                    let answer = decode_value(answer.as_ref())
                        .map_err(|e| ClusterError::Decode(e.to_string()))?;
                    answers.push(answer);
                }
            }
            Ok(answers)
        }
    }

    /// Calls `handler` for every server-side emit of `event` from another
    /// node, with the arguments decoded as `T` (a tuple for several) and a
    /// [`ServerSideAck`] to answer when the sender waits for one. Emits
    /// whose arguments do not decode are logged and dropped. A later
    /// registration for the same event replaces the earlier one.
    pub fn on_server_side_emit<T, F, Fut>(&self, event: &str, handler: F)
    where
        T: DeserializeOwned + Send + 'static,
        F: Fn(T, ServerSideAck) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let name = event.to_owned();
        let erased: ServerSideHandler = Arc::new(move |payload: Payload, ack| {
            match payload.decode::<T>() {
                Ok(args) => Some(Box::pin(handler(args, ack)) as BoxFuture<()>),
                Err(error) => {
                    tracing::warn!(event = %name, %error, "server-side emit arguments do not decode; dropped");
                    None
                }
            }
        });
        self.handlers
            .server_side
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(event.to_owned(), erased);
    }

    /// Makes every socket join `room`.
    pub fn sockets_join(&self, room: &str) {
        self.operator().sockets_join(room)
    }

    /// Makes every socket leave `room`.
    pub fn sockets_leave(&self, room: &str) {
        self.operator().sockets_leave(room)
    }

    /// Disconnects every socket; with `close`, closes their connections too.
    pub fn disconnect_sockets(&self, close: bool) {
        self.operator().disconnect_sockets(close)
    }
}

/// `["event", ...args]` as adapter values.
fn server_side_data<T: Serialize + ?Sized>(event: &str, args: &T) -> Result<Vec<Value>, EmitError> {
    let (data, attachments) = encode_args(Some(event), args)?;
    match args_value(&data, &attachments) {
        Some(Value::Array(items)) => Ok(items),
        // encode_args writes an array with valid placeholders.
        _ => Ok(vec![Value::str(event)]),
    }
}

/// The socket's way up to its namespace (the socket's module sits below).
impl Socket {
    /// The socket's namespace (Node's `socket.nsp`):
    /// `socket.namespace().to(room).emit(..)` reaches the whole room, this
    /// socket included.
    pub fn namespace(&self) -> Namespace {
        Namespace::existing(self.shared(), self.ns())
    }
}

/// Server-side emits from other nodes reach this floor's handlers.
impl Cluster {
    pub(super) fn dispatch_server_side(
        self: &Arc<Self>,
        shared: &Arc<Shared>,
        nsp: &str,
        from: &str,
        request_id: Option<String>,
        data: Vec<Value>,
    ) {
        let (text, attachments) = sio_core::adapter::to_packet_json(&Value::Array(data));
        let payload = Payload::new(RawJson::from_trusted(ByteString::from(text)), attachments);
        let Some(event) = payload.event() else {
            tracing::warn!(%nsp, "server-side emit without an event name dropped");
            return;
        };
        let Some(handler) = shared.registry().server_side_handler(nsp, &event) else {
            tracing::debug!(%nsp, %event, "no handler for a server-side emit");
            return;
        };
        let ack = ServerSideAck {
            reply: request_id
                .map(|request_id| (self.clone(), Arc::from(nsp), from.to_owned(), request_id)),
        };
        // User code: called here, with no lock held.
        if let Some(future) = handler(payload, ack) {
            shared.spawn(future);
        }
    }
}
