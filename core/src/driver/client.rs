//! The Socket.IO client on any runtime: socket.io-client's `Manager` and
//! `Socket`, as async handles over the sans-IO [`Client`](crate::client::Client).
//!
//! ```text
//! let socket = sio_tokio::client::socket("http://127.0.0.1:3000", ClientConfig::default())?;
//! socket.on_connect(|socket| async move { let _ = socket.emit("hello", &"world"); });
//! socket.on("news", |_socket, text: String, ack| async move { let _ = ack.send(&"thanks"); });
//! socket.connect();
//! let admin = socket.manager().socket("/admin", None); // same connection
//! admin.connect();
//! ```
//!
//! One [`ClientManager`] owns the core client behind a lock held only to
//! feed one input and route its outputs (as the server driver does), one
//! timer task drives its deadlines, and one task per TCP connection moves
//! bytes both ways. Handlers run like the server's: in arrival order, each
//! synchronously until its first await, the rest as its own task; never
//! under the lock.
//!
//! The sockets own their manager: keep a [`ClientSocket`] (or a clone) for
//! as long as the client should run. When the last handle of a manager's
//! sockets is dropped, its connection closes and its tasks end.
//!
//! Transports: HTTP long-polling with the upgrade to WebSocket (the
//! default), or either alone (`ClientConfig::engine.transports`). URLs are
//! `http`, `https`, `ws` or `wss` ([`client_url`](super::client_url)); TLS
//! (feature `tls`) wraps the connector's streams with rustls.

// The crate is no_std; this module is std-only (feature `driver`).
use std::prelude::rust_2021::*;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use bytes::Bytes;
use bytestring::ByteString;
use core::future::Future;
use event_listener::Event as Notify;
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::ack::{await_ack, AckError, AckReply};
#[cfg(feature = "tls")]
use super::client_tls::Tls;
use super::client_url::{parse_url, UrlError};
use super::jobs::{start_in_order, JobQueue};
use super::runtime::{BoxFuture, Connector, Runtime};
use super::shared::lock;
use super::socket::Payload;
use super::EmitError;
use crate::client::{
    Client, ClientError, ClientEvent, Config as CoreConfig, ConnId, DisconnectReason, EmitOptions,
    Output, Transport,
};
use crate::packet::{encode_args, ArgsError, RawJson};
use crate::time::{Instant, StdClock};

/// Bytes read from the connection at once.
const READ_CHUNK: usize = 16 * 1024;

/// Options of a client: the core client's, plus the first namespace's auth.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ClientConfig {
    /// Reconnection, timeouts and limits (socket.io-client's defaults).
    /// `host` is set from the URL.
    pub engine: CoreConfig,
    /// The auth payload of the URL's namespace (a JSON object).
    pub auth: Option<RawJson>,
    /// The rustls config of `https`/`wss` connections; `None` trusts
    /// Mozilla's roots (webpki-roots). See [`tls_config_with_roots`](super::tls_config_with_roots).
    #[cfg(feature = "tls")]
    pub tls: Option<Arc<futures_rustls::rustls::ClientConfig>>,
}

impl ClientConfig {
    /// Sets the auth payload of the URL's namespace (it must serialize to
    /// a JSON object).
    pub fn with_auth<T: Serialize + ?Sized>(mut self, auth: &T) -> Result<Self, ArgsError> {
        self.auth = Some(auth_json(auth)?);
        Ok(self)
    }

    /// Uses `tls` for `https`/`wss` connections (custom roots, client
    /// certificates, ...).
    #[cfg(feature = "tls")]
    pub fn with_tls(mut self, tls: Arc<futures_rustls::rustls::ClientConfig>) -> Self {
        self.tls = Some(tls);
        self
    }
}

/// `auth` as JSON text.
pub fn auth_json<T: Serialize + ?Sized>(auth: &T) -> Result<RawJson, ArgsError> {
    let text = serde_json::to_string(auth).map_err(|e| ArgsError::Serialize(e.to_string()))?;
    RawJson::parse(ByteString::from(text)).map_err(|e| ArgsError::Serialize(format!("{e:?}")))
}

/// A socket on `url`'s namespace (not connected yet: register handlers,
/// then [`ClientSocket::connect`]), on `runtime`. The runtime crates wrap
/// this as `client::socket(url, config)`.
pub fn client_socket<R: Runtime + Connector>(
    runtime: R,
    url: &str,
    config: ClientConfig,
) -> Result<ClientSocket, UrlError> {
    let target = parse_url(url)?;
    let mut engine = config.engine;
    engine.host = target.host_header;
    if !target.query.is_empty() {
        // As the JS client: the URL's query replaces the `query` option.
        engine.query = target.query;
    }
    let dial = Dial {
        host: target.host,
        port: target.port,
        #[cfg(feature = "tls")]
        tls: None,
    };
    let dial = match target.secure {
        false => dial,
        #[cfg(feature = "tls")]
        true => Dial {
            tls: Some(Tls::new(config.tls, &dial.host).map_err(|reason| UrlError {
                url: url.to_owned(),
                reason,
            })?),
            ..dial
        },
        #[cfg(not(feature = "tls"))]
        true => {
            return Err(UrlError {
                url: url.to_owned(),
                reason: "https and wss need the `tls` feature",
            })
        }
    };
    let manager = ClientManager::start(runtime, engine, dial);
    Ok(manager.socket(&target.nsp, config.auth))
}

/// Where the manager's connections go.
#[derive(Clone)]
struct Dial {
    host: String,
    port: u16,
    #[cfg(feature = "tls")]
    tls: Option<Tls>,
}

// ----- the manager -----

type OpenFn = dyn Fn(Weak<ManagerInner>, ConnId, async_channel::Receiver<ConnCommand>) -> BoxFuture<()>
    + Send
    + Sync;

struct State {
    client: Client,
    deadline: Option<Instant>,
}

struct ManagerInner {
    runtime: Arc<dyn Runtime>,
    clock: StdClock,
    state: Mutex<State>,
    deadline_changed: Notify,
    /// Opens a connection and pumps it (the connector, type-erased).
    open: Box<OpenFn>,
    /// Bytes to write, per connection; dropping the sender closes it
    /// after what is queued.
    conns: Mutex<HashMap<ConnId, async_channel::Sender<ConnCommand>>>,
    /// Why the last connection could not be opened (TCP or TLS), for the
    /// sockets' `connect_error`.
    last_io_error: Mutex<Option<String>>,
    /// Weak: the sockets own the manager, not the other way round, so
    /// dropping every handle closes the connection and ends the tasks.
    sockets: Mutex<HashMap<String, Weak<SocketInner>>>,
    acks: Mutex<HashMap<(String, u64), async_channel::Sender<AckReply>>>,
    handlers: Mutex<Vec<ManagerHandler>>,
    jobs: JobQueue<ManagerEvent>,
}

/// What happens to the connection: socket.io-client's manager events.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ManagerEvent {
    /// The Engine.IO connection is open (`open`).
    Open,
    /// A connection attempt failed before it opened (`error`).
    Error(&'static str),
    /// The open connection was lost or closed (`close`).
    Close(DisconnectReason),
    /// A reconnection attempt starts, numbered from 1 (`reconnect_attempt`).
    ReconnectAttempt(u32),
    /// A reconnection attempt succeeded (`reconnect`).
    Reconnect(u32),
    /// Every allowed attempt failed (`reconnect_failed`).
    ReconnectFailed,
    /// The connection moved from long-polling to a WebSocket (the engine's
    /// `upgrade`).
    Upgrade,
}

type ManagerHandler = Arc<dyn Fn(ClientManager, ManagerEvent) -> BoxFuture<()> + Send + Sync>;

/// One connection to a server, shared by the sockets of its namespaces
/// (socket.io-client's `Manager`). Cloning shares it.
#[derive(Clone)]
pub struct ClientManager {
    inner: Arc<ManagerInner>,
}

impl std::fmt::Debug for ClientManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientManager").finish_non_exhaustive()
    }
}

impl ClientManager {
    /// A manager for `host:port` on `runtime`; nothing is opened until a
    /// socket connects.
    pub fn new<R: Runtime + Connector>(
        runtime: R,
        config: CoreConfig,
        host: String,
        port: u16,
    ) -> Self {
        let dial = Dial {
            host,
            port,
            #[cfg(feature = "tls")]
            tls: None,
        };
        Self::start(runtime, config, dial)
    }

    fn start<R: Runtime + Connector>(runtime: R, config: CoreConfig, dial: Dial) -> Self {
        let runtime = Arc::new(runtime);
        let connector = runtime.clone();
        let open: Box<OpenFn> = Box::new(move |manager, conn, writes| {
            let timer = connector.clone() as Arc<dyn Runtime>;
            let connector = connector.clone();
            let dial = dial.clone();
            Box::pin(async move {
                let stream = connector.connect(&dial.host, dial.port).await;
                #[cfg(feature = "tls")]
                if let Some(tls) = &dial.tls {
                    let stream = match stream {
                        Ok(stream) => tls.wrap(stream).await,
                        Err(error) => Err(error),
                    };
                    return pump(manager, conn, stream, writes, timer).await;
                }
                pump(manager, conn, stream, writes, timer).await;
            })
        });
        let inner = Arc::new(ManagerInner {
            runtime: runtime as Arc<dyn Runtime>,
            clock: StdClock::new(),
            state: Mutex::new(State {
                client: Client::new(config, random_seed()),
                deadline: None,
            }),
            deadline_changed: Notify::new(),
            open,
            conns: Mutex::new(HashMap::new()),
            last_io_error: Mutex::new(None),
            sockets: Mutex::new(HashMap::new()),
            acks: Mutex::new(HashMap::new()),
            handlers: Mutex::new(Vec::new()),
            jobs: JobQueue::default(),
        });
        let timers = Arc::downgrade(&inner);
        inner.runtime.spawn(Box::pin(timer_loop(timers)));
        ClientManager { inner }
    }

    /// The socket of namespace `nsp` (made on first use; `auth` counts
    /// only then). Not connected until [`ClientSocket::connect`].
    pub fn socket(&self, nsp: &str, auth: Option<RawJson>) -> ClientSocket {
        let mut sockets = lock(&self.inner.sockets);
        if let Some(inner) = sockets.get(nsp).and_then(Weak::upgrade) {
            return ClientSocket { inner };
        }
        let socket = ClientSocket::new(self.clone(), nsp, auth);
        sockets.insert(nsp.to_owned(), Arc::downgrade(&socket.inner));
        drop(sockets);
        // Known to the core from now on: emits before `connect` buffer.
        if let Err(error) = self.process(|client, _| client.add_namespace(nsp)) {
            tracing::warn!(nsp = %nsp, %error, "invalid client namespace");
        }
        socket
    }

    /// Closes the connection and stops reconnecting; the sockets hear
    /// "forced close" (socket.io-client's `manager.disconnect()`).
    pub fn close(&self) {
        self.process(|client, now| client.close(now));
    }

    /// Calls `handler` for every [`ManagerEvent`], in order
    /// (`socket.io.on("reconnect", ..)` and the like).
    pub fn on_event<F, Fut>(&self, handler: F)
    where
        F: Fn(ClientManager, ManagerEvent) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        lock(&self.inner.handlers).push(Arc::new(move |m, e| Box::pin(handler(m, e))));
    }

    async fn run_jobs(self) {
        while let Some(event) = self.inner.jobs.next() {
            start_in_order(&*self.inner.runtime, self.futures_for(&event)).await;
        }
    }

    fn futures_for(&self, event: &ManagerEvent) -> Vec<BoxFuture<()>> {
        let handlers = lock(&self.inner.handlers).clone();
        handlers
            .iter()
            .map(|handler| handler(self.clone(), event.clone()))
            .collect()
    }

    /// The transport of the current connection (attempt), as the engine's
    /// `transport.name`.
    pub fn transport(&self) -> Option<Transport> {
        lock(&self.inner.state).client.transport()
    }

    /// The Engine.IO session id while connected.
    pub fn engine_id(&self) -> Option<String> {
        lock(&self.inner.state)
            .client
            .engine_sid()
            .map(str::to_owned)
    }

    fn process<R>(&self, f: impl FnOnce(&mut Client, Instant) -> R) -> R {
        self.inner.process(f)
    }
}

impl Drop for ManagerInner {
    fn drop(&mut self) {
        // The timer task waits on this; it ends when it finds us gone.
        self.deadline_changed.notify(usize::MAX);
    }
}

impl ManagerInner {
    /// Feeds one input or command to the core and routes what it produced.
    fn process<R>(self: &Arc<Self>, f: impl FnOnce(&mut Client, Instant) -> R) -> R {
        let mut state = lock(&self.state);
        let now = self.clock.now();
        let result = f(&mut state.client, now);
        self.drain(&mut state);
        result
    }

    fn drain(self: &Arc<Self>, state: &mut State) {
        loop {
            match state.client.poll_output() {
                Output::Connect { conn } => self.open_conn(conn),
                Output::Transmit { conn, data } => {
                    if let Some(tx) = lock(&self.conns).get(&conn) {
                        let _ = tx.try_send(ConnCommand::Write(data));
                    }
                }
                Output::Linger { conn, grace } => {
                    if let Some(tx) = lock(&self.conns).remove(&conn) {
                        let _ = tx.try_send(ConnCommand::Linger(grace));
                    }
                }
                Output::Close { conn } => {
                    lock(&self.conns).remove(&conn);
                }
                Output::Event(ClientEvent::OpenError { message }) => {
                    self.open_failed(&state.client, message)
                }
                Output::Event(event) => self.route_event(event),
                Output::Timeout(deadline) => {
                    if state.deadline != deadline {
                        state.deadline = deadline;
                        self.deadline_changed.notify(usize::MAX);
                    }
                    return;
                }
            }
        }
    }

    fn open_conn(self: &Arc<Self>, conn: ConnId) {
        // Unbounded: the core bounds what it produces.
        let (tx, rx) = async_channel::unbounded();
        lock(&self.conns).insert(conn, tx);
        let pump = (self.open)(Arc::downgrade(self), conn, rx);
        self.runtime.spawn(pump);
    }

    fn socket(&self, nsp: &str) -> Option<ClientSocket> {
        let inner = lock(&self.sockets).get(nsp)?.upgrade()?;
        Some(ClientSocket { inner })
    }

    /// Queues a manager event for its handlers; starts their runner when idle.
    fn push_manager_event(self: &Arc<Self>, event: ManagerEvent) {
        if self.jobs.push(event) {
            let manager = ClientManager {
                inner: self.clone(),
            };
            self.runtime.spawn(Box::pin(manager.run_jobs()));
        }
    }

    /// An attempt failed before it opened: the manager's `error`, and
    /// `connect_error` on every socket still waiting to connect (as
    /// socket.io-client's sockets hear their manager's errors), with the
    /// I/O error (an untrusted certificate, a refused connection) as the
    /// `description` of its data. Reconnection goes on.
    fn open_failed(self: &Arc<Self>, client: &Client, message: &'static str) {
        let description = lock(&self.last_io_error).take();
        let data = description.and_then(|description| {
            let mut map = std::collections::BTreeMap::new();
            map.insert("description", description);
            auth_json(&map).ok()
        });
        let waiting: Vec<ClientSocket> = lock(&self.sockets)
            .values()
            .filter_map(Weak::upgrade)
            .map(|inner| ClientSocket { inner })
            .filter(|s| !s.connected() && client.is_active(s.nsp()))
            .collect();
        for socket in waiting {
            socket.push_job(Job::ConnectError(ConnectErrorInfo {
                message: message.to_owned(),
                data: data.clone(),
            }));
        }
        self.push_manager_event(ManagerEvent::Error(message));
    }

    fn route_event(self: &Arc<Self>, event: ClientEvent) {
        match event {
            ClientEvent::Connected { nsp, sid } => {
                if let Some(s) = self.socket(&nsp) {
                    *lock(&s.inner.sid) = Some(sid.to_string());
                    s.inner.connected.store(true, Ordering::Release);
                    s.push_job(Job::Connect);
                }
            }
            ClientEvent::ConnectError { nsp, message, data } => {
                if let Some(s) = self.socket(&nsp) {
                    s.push_job(Job::ConnectError(ConnectErrorInfo { message, data }));
                }
            }
            ClientEvent::Disconnected { nsp, reason } => {
                if let Some(s) = self.socket(&nsp) {
                    *lock(&s.inner.sid) = None;
                    s.inner.connected.store(false, Ordering::Release);
                    s.push_job(Job::Disconnect(reason));
                }
            }
            ClientEvent::Event {
                nsp,
                data,
                attachments,
                ack,
            } => {
                if let Some(s) = self.socket(&nsp) {
                    s.push_job(Job::Event {
                        payload: Payload::new(data, attachments),
                        ack,
                    });
                }
            }
            ClientEvent::Ack {
                nsp,
                id,
                data,
                attachments,
            } => self.settle_ack(&nsp, id, Some(AckReply::Data { data, attachments })),
            ClientEvent::AckTimeout { nsp, id } => {
                self.settle_ack(&nsp, id, Some(AckReply::Timeout))
            }
            ClientEvent::AckCancelled { nsp, id } => self.settle_ack(&nsp, id, None),
            ClientEvent::Open { .. } => self.push_manager_event(ManagerEvent::Open),
            ClientEvent::OpenError { message } => {
                self.push_manager_event(ManagerEvent::Error(message))
            }
            ClientEvent::Closed { reason } => self.push_manager_event(ManagerEvent::Close(reason)),
            ClientEvent::Reconnecting { attempt } => {
                self.push_manager_event(ManagerEvent::ReconnectAttempt(attempt))
            }
            ClientEvent::Reconnected { attempt } => {
                self.push_manager_event(ManagerEvent::Reconnect(attempt))
            }
            ClientEvent::ReconnectFailed => self.push_manager_event(ManagerEvent::ReconnectFailed),
            ClientEvent::Upgraded => self.push_manager_event(ManagerEvent::Upgrade),
        }
    }

    /// Answers one waiter; `None` drops it ("disconnected").
    fn settle_ack(&self, nsp: &str, id: u64, reply: Option<AckReply>) {
        let waiter = lock(&self.acks).remove(&(nsp.to_owned(), id));
        if let (Some(tx), Some(reply)) = (waiter, reply) {
            let _ = tx.try_send(reply);
        }
    }
}

fn random_seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    if getrandom::fill(&mut seed).is_err() {
        tracing::warn!("no OS random source; WebSocket keys are predictable");
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        seed[..16].copy_from_slice(&t.as_nanos().to_le_bytes());
    }
    seed
}

/// What the core asks of one connection's pump.
enum ConnCommand {
    /// Write these bytes.
    Write(Bytes),
    /// Stop reporting to the core; close once the server answers (any
    /// byte, or its close) or after the grace period (`Output::Linger`).
    Linger(Duration),
}

/// How a pump's reading and writing ended.
enum PumpEnd {
    /// Closed (by the core, a write error, or the manager gone).
    Closed,
    /// Asked to linger for at most this long.
    Linger(Duration),
}

/// Moves the bytes of one connection: reads go to the core, the core's
/// transmits go out; ends when either side is done, and tells the core.
async fn pump<S: super::runtime::ClientStream>(
    manager: Weak<ManagerInner>,
    conn: ConnId,
    stream: std::io::Result<S>,
    writes: async_channel::Receiver<ConnCommand>,
    timer: Arc<dyn Runtime>,
) {
    let stream = match stream {
        Ok(stream) => stream,
        Err(error) => {
            tracing::debug!(%error, "client connection failed");
            if let Some(m) = manager.upgrade() {
                // Read by the `OpenError` this close may bring, right now;
                // never left for a later, unrelated one.
                *lock(&m.last_io_error) = Some(error.to_string());
                closed(&manager, conn);
                lock(&m.last_io_error).take();
            }
            return;
        }
    };
    let Some(m) = manager.upgrade() else { return };
    m.process(|client, now| client.handle_connected(now, conn));
    drop(m);
    let (mut reader, mut writer) = futures_lite::io::split(stream);
    let mut buf = vec![0u8; READ_CHUNK];
    let read_side = async {
        loop {
            let n = match reader.read(&mut buf).await {
                Ok(0) | Err(_) => return PumpEnd::Closed,
                Ok(n) => n,
            };
            let Some(m) = manager.upgrade() else {
                return PumpEnd::Closed;
            };
            let data = buf.get(..n).unwrap_or_default();
            m.process(|client, now| client.handle_data(now, conn, data));
        }
    };
    let write_side = async {
        while let Ok(command) = writes.recv().await {
            match command {
                ConnCommand::Write(data) => {
                    if writer.write_all(&data).await.is_err() || writer.flush().await.is_err() {
                        return PumpEnd::Closed;
                    }
                }
                ConnCommand::Linger(grace) => return PumpEnd::Linger(grace),
            }
        }
        // The core closed it: what it queued is written.
        let _ = writer.close().await;
        PumpEnd::Closed
    };
    match futures_lite::future::or(read_side, write_side).await {
        PumpEnd::Closed => closed(&manager, conn),
        PumpEnd::Linger(grace) => {
            // The core has forgotten this connection: nothing is reported.
            let answered = async {
                let _ = reader.read(&mut buf).await;
            };
            let deadline = std::time::Instant::now() + grace;
            futures_lite::future::or(answered, timer.sleep_until(deadline)).await;
        }
    }
}

fn closed(manager: &Weak<ManagerInner>, conn: ConnId) {
    if let Some(m) = manager.upgrade() {
        lock(&m.conns).remove(&conn);
        m.process(|client, now| client.handle_closed(now, conn));
    }
}

/// Sleeps until the core's next deadline (or until it changes) and calls
/// `handle_timeout`.
async fn timer_loop(manager: Weak<ManagerInner>) {
    loop {
        let Some(m) = manager.upgrade() else { return };
        let changed = m.deadline_changed.listen();
        let deadline = lock(&m.state).deadline;
        let runtime = m.runtime.clone();
        let clock = m.clock;
        drop(m);
        match deadline {
            None => changed.await,
            Some(at) => {
                let sleep = runtime.sleep_until(clock.to_std(at));
                futures_lite::future::or(sleep, changed).await;
            }
        }
        let Some(m) = manager.upgrade() else { return };
        let due = lock(&m.state)
            .deadline
            .is_some_and(|at| at <= m.clock.now());
        if due {
            m.process(|client, now| client.handle_timeout(now));
        }
    }
}

// ----- the socket -----

/// Why the server refused a namespace (CONNECT_ERROR).
#[derive(Debug, Clone)]
pub struct ConnectErrorInfo {
    /// The error's message (Node's `err.message`).
    pub message: String,
    /// The error's `data`, when the server sent some.
    pub data: Option<RawJson>,
}

impl ConnectErrorInfo {
    /// The `data` decoded as `T`.
    pub fn data<T: DeserializeOwned>(&self) -> Option<T> {
        serde_json::from_str(self.data.as_ref()?.as_str()).ok()
    }
}

enum Job {
    Connect,
    ConnectError(ConnectErrorInfo),
    Disconnect(DisconnectReason),
    Event { payload: Payload, ack: Option<u64> },
}

type EventHandler =
    Arc<dyn Fn(ClientSocket, Payload, ClientAckSender) -> Option<BoxFuture<()>> + Send + Sync>;
type AnyHandler = Arc<dyn Fn(ClientSocket, Payload) -> BoxFuture<()> + Send + Sync>;
type ConnectHandler = Arc<dyn Fn(ClientSocket) -> BoxFuture<()> + Send + Sync>;
type ConnectErrorHandler =
    Arc<dyn Fn(ClientSocket, ConnectErrorInfo) -> BoxFuture<()> + Send + Sync>;
type DisconnectHandler = Arc<dyn Fn(ClientSocket, DisconnectReason) -> BoxFuture<()> + Send + Sync>;

#[derive(Default)]
struct Handlers {
    events: HashMap<String, EventHandler>,
    any: Vec<AnyHandler>,
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

struct SocketInner {
    manager: ClientManager,
    nsp: String,
    auth: Option<RawJson>,
    sid: Mutex<Option<String>>,
    connected: AtomicBool,
    handlers: Mutex<Handlers>,
    jobs: JobQueue<Job>,
}

/// The client's socket in one namespace (socket.io-client's `Socket`).
/// Cloning shares it.
#[derive(Clone)]
pub struct ClientSocket {
    inner: Arc<SocketInner>,
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
    fn new(manager: ClientManager, nsp: &str, auth: Option<RawJson>) -> Self {
        ClientSocket {
            inner: Arc::new(SocketInner {
                manager,
                nsp: nsp.to_owned(),
                auth,
                sid: Mutex::new(None),
                connected: AtomicBool::new(false),
                handlers: Mutex::new(Handlers::default()),
                jobs: JobQueue::default(),
            }),
        }
    }

    /// The connection this socket shares with the other namespaces'.
    pub fn manager(&self) -> &ClientManager {
        &self.inner.manager
    }

    /// The socket of another namespace on the same connection.
    pub fn of(&self, nsp: &str, auth: Option<RawJson>) -> ClientSocket {
        self.inner.manager.socket(nsp, auth)
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
            client.connect(now, nsp, auth)
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
        let name = event.to_owned();
        let erased: EventHandler = Arc::new(move |socket, payload: Payload, ack| {
            match payload.decode::<T>() {
                Ok(args) => Some(Box::pin(handler(socket, args, ack)) as BoxFuture<()>),
                Err(error) => {
                    tracing::warn!(event = %name, %error, "event arguments do not decode; dropped");
                    None
                }
            }
        });
        lock(&self.inner.handlers)
            .events
            .insert(event.to_owned(), erased);
    }

    /// Calls `handler` for every event from the server, before its own handler.
    pub fn on_any<F, Fut>(&self, handler: F)
    where
        F: Fn(ClientSocket, Payload) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        lock(&self.inner.handlers)
            .any
            .push(Arc::new(move |s, p| Box::pin(handler(s, p))));
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

    fn push_job(&self, job: Job) {
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
        let handlers = lock(&self.inner.handlers);
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
                let any = handlers.any.clone();
                let handler = payload
                    .event()
                    .and_then(|name| handlers.events.get(&name).cloned());
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
        self.options = EmitOptions {
            ack_timeout: Some(timeout),
            ..self.options
        };
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
        let options = EmitOptions {
            ack_timeout: None,
            ..self.options
        };
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
