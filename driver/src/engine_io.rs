//! Engine.IO alone (Node's `engine.io` package): sessions that exchange
//! text and binary messages over long-polling, WebSocket and the upgrade,
//! with no Socket.IO packets on top. The core's [`EngineServer`] runs on
//! the same endpoint, connection code and options (`Config`, the
//! `engine` part of the Socket.IO config) as the Socket.IO server.
//!
//! ```no_run
//! # use sio_driver::engine_io::{Config, EngineIo, Message};
//! # fn demo(runtime: impl sio_driver::Runtime) {
//! // On a runtime crate: sio_tokio::engine_io::new(config), then
//! // sio_tokio::engine_io::serve(listener, server).
//! let mut config = Config::default();
//! config.path = "/engine.io/".into(); // engine.io-client's default
//! let server = EngineIo::with_runtime(runtime, config);
//! server.on_connection(|socket| async move {
//!     socket.on_message(|socket, message| async move {
//!         let _ = socket.send(&message); // echo
//!     });
//!     socket.on_close(|_socket, reason| async move { println!("closed: {}", reason.as_str()) });
//! });
//! # }
//! ```
//!
//! Handlers run as the Socket.IO server's do: a session's in arrival
//! order, each synchronously until its first await (a WebSocket's on the
//! task that read the message), never under the lock.
//!
//! Floor: a handle module beside the Socket.IO ones, on `endpoint`, `conn`
//! and `jobs`; nothing below imports it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::task::Context;
use std::time::Duration;

use core::future::Future;
use futures_lite::io::{AsyncRead, AsyncWrite};
use hashbrown::HashMap;

use crate::conn::{Fallback, FallbackSlot};
use crate::endpoint::{Endpoint, Layer};
use crate::group::Groups;
use crate::host::{start_timers, Host, Hosted};
use crate::jobs::{start_now, JobQueue};
use crate::runtime::{BoxFuture, Runtime};
use crate::sync::lock;
use sio_core::engine::{EngineEvent, EngineServer, Packet, SessionId};
use sio_core::wire::http;

pub use sio_core::engine::{
    CloseReason, Config, EngineError, HandshakeInfo, OutMessage, Transport,
};

pub use crate::client::{engine_client, EngineClient, EngineClientEvent};
pub use crate::message::Message;
pub use sio_core::client::{DisconnectReason as ClientCloseReason, SendError};
pub use sio_core::engine::OpenPacket;

type ConnectionHandler = Arc<dyn Fn(EngineSocket) -> BoxFuture<()> + Send + Sync>;
type MessageHandler = Arc<dyn Fn(EngineSocket, Message) -> BoxFuture<()> + Send + Sync>;
type CloseHandler = Arc<dyn Fn(EngineSocket, CloseReason) -> BoxFuture<()> + Send + Sync>;

/// An Engine.IO server: Node's `engine.io` `Server`. Cloning shares it.
/// The runtime crates build it (`sio_tokio::engine_io::new(config)`) and
/// serve it (`sio_tokio::engine_io::serve(listener, server)`).
#[derive(Clone)]
pub struct EngineIo {
    shared: Arc<EngineShared>,
    fallback: FallbackSlot,
    /// The groups its WebSockets run in (`group`).
    groups: Arc<Groups>,
}

impl std::fmt::Debug for EngineIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineIo").finish_non_exhaustive()
    }
}

impl EngineIo {
    /// A server on `runtime`; session ids come from a seed drawn from the
    /// operating system's random source.
    ///
    /// # Panics
    ///
    /// If that source fails (ids would be guessable otherwise); see
    /// [`EngineIo::try_with_runtime`].
    pub fn with_runtime<R: Runtime>(runtime: R, config: Config) -> EngineIo {
        match EngineIo::try_with_runtime(runtime, config) {
            Ok(server) => server,
            Err(error) => std::panic!(
                "cannot seed session ids: {error}; use EngineIo::try_with_runtime to handle it"
            ),
        }
    }

    /// [`EngineIo::with_runtime`], or an error if the operating system's
    /// random source fails.
    pub fn try_with_runtime<R: Runtime>(
        runtime: R,
        config: Config,
    ) -> Result<EngineIo, crate::RandomSourceError> {
        let seed = crate::io::seed_from(getrandom::fill)?;
        let endpoint = Endpoint::new(
            Arc::new(runtime),
            // One shard: the bare Engine.IO API stays on one lock.
            vec![EngineServer::new(config.clone(), seed)],
            &config,
        );
        let shared = Arc::new(EngineShared {
            endpoint,
            sessions: Mutex::new(HashMap::new()),
            on_connection: RwLock::new(Vec::new()),
        });
        start_timers(&shared);
        Ok(EngineIo {
            shared,
            fallback: Arc::new(RwLock::new(None)),
            groups: Arc::default(),
        })
    }

    /// Calls `handler` with every new session (`server.on("connection")`).
    /// Register the session's handlers in it: they see every message.
    pub fn on_connection<F, Fut>(&self, handler: F)
    where
        F: Fn(EngineSocket) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handler: ConnectionHandler = Arc::new(move |socket| Box::pin(handler(socket)));
        write(&self.shared.on_connection).push(handler);
    }

    /// The engine's hooks (Node's `allowRequest` option and the
    /// `initial_headers`, `headers` and `connection_error` events).
    pub fn hooks(&self) -> crate::EngineHooks<'_> {
        crate::EngineHooks(&self.shared.endpoint.hooks)
    }

    /// How many sessions are open (`server.clientsCount`).
    pub fn session_count(&self) -> usize {
        self.shared.endpoint.read(EngineServer::session_count)
    }

    /// The endpoint's path (the config's `path`).
    pub fn path(&self) -> String {
        self.shared
            .endpoint
            .read(|server| server.config().path.clone())
    }

    /// Whether a request for `path` (without query) is for this server.
    pub fn matches_path(&self, path: &str) -> bool {
        self.shared
            .endpoint
            .read(|server| server.matches_path(path))
    }

    /// Most bytes one HTTP request body may hold (`max_http_buffer_size`).
    pub fn config_max_body(&self) -> usize {
        self.shared.endpoint.http_limits.max_body_bytes
    }

    /// Handles one HTTP request that arrived through another HTTP stack
    /// (a tower service, say), as [`SocketIo::handle_http`](crate::SocketIo::handle_http).
    pub async fn handle_http(
        &self,
        request: http::Request,
        peer: Option<SocketAddr>,
    ) -> crate::HttpExchange {
        crate::conn::exchange(self.shared.clone(), request, peer).await
    }

    /// Handles a request whose body another HTTP stack refused for being
    /// over [`config_max_body`](Self::config_max_body) (`head`: the request
    /// without its body): [`crate::HttpExchange::Refused`] with the 413, as the
    /// standalone server answers it (a polling POST's session then fails).
    pub async fn handle_http_too_large(&self, head: http::Request) -> crate::HttpExchange {
        crate::conn::exchange_too_large(self.shared.clone(), head).await
    }

    /// Serves one accepted connection (HTTP/1.1 with keep-alive, and the
    /// WebSocket it may become) until it closes; other paths get the
    /// [fallback](EngineIo::set_fallback) or 404. Runtime crates call this
    /// for every connection their listener accepts.
    pub async fn serve_connection<S>(&self, stream: S, peer: Option<SocketAddr>)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        crate::conn::serve(
            self.shared.clone(),
            self.fallback.clone(),
            self.groups.clone(),
            stream,
            peer,
        )
        .await
    }

    /// What a standalone server answers for other paths than the
    /// endpoint's, as [`SocketIo::set_fallback`](crate::SocketIo::set_fallback).
    pub fn set_fallback<F>(&self, fallback: F)
    where
        F: Fn(&http::Request) -> http::Response + Send + Sync + 'static,
    {
        let fallback: Arc<Fallback> = Arc::new(fallback);
        match self.fallback.write() {
            Ok(mut slot) => *slot = Some(fallback),
            Err(poisoned) => *poisoned.into_inner() = Some(fallback),
        }
    }

    /// Closes every session with "server shutting down" and takes no new
    /// one; returns once every connection has been told (or after a second).
    pub async fn shutdown(&self) {
        let endpoint = &self.shared.endpoint;
        endpoint.begin_shutdown();
        let sessions: Vec<SessionId> = lock(&self.shared.sessions).keys().copied().collect();
        self.shared.process_on(0, |server, now| {
            for session in sessions {
                let _ = server.close(now, session, CloseReason::ServerShutdown);
            }
        });
        let clock = endpoint.host().clock();
        for _ in 0..100 {
            if endpoint.open_conn_count() == 0 {
                return;
            }
            let until = clock.now_std() + Duration::from_millis(10);
            endpoint.host().runtime().sleep_until(until).await;
        }
    }
}

/// One Engine.IO session (Node's engine.io `Socket`). Cloning shares it.
#[derive(Clone)]
pub struct EngineSocket {
    inner: Arc<SessionInner>,
}

struct SessionInner {
    shared: Arc<EngineShared>,
    session: SessionId,
    handshake: HandshakeInfo,
    closed: AtomicBool,
    handlers: Mutex<Handlers>,
    jobs: JobQueue<Job>,
}

#[derive(Default)]
struct Handlers {
    message: Vec<MessageHandler>,
    close: Vec<CloseHandler>,
}

impl std::fmt::Debug for EngineSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineSocket")
            .field("id", &self.id())
            .finish_non_exhaustive()
    }
}

impl EngineSocket {
    /// The session id the client sees (`socket.id`).
    pub fn id(&self) -> &str {
        &self.inner.handshake.sid
    }

    /// What the opening request carried: URL, headers, peer, transport.
    pub fn handshake(&self) -> &HandshakeInfo {
        &self.inner.handshake
    }

    /// The transport in use now (`None` once closed).
    pub fn transport(&self) -> Option<Transport> {
        let session = self.inner.session;
        self.inner
            .shared
            .endpoint
            .read(|server| server.transport(session))
    }

    /// Whether the session is still open.
    pub fn is_open(&self) -> bool {
        !self.inner.closed.load(Ordering::Acquire)
    }

    /// Calls `handler` with every message, in order (`socket.on("message")`).
    pub fn on_message<F, Fut>(&self, handler: F)
    where
        F: Fn(EngineSocket, Message) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handler: MessageHandler = Arc::new(move |s, m| Box::pin(handler(s, m)));
        lock(&self.inner.handlers).message.push(handler);
    }

    /// Calls `handler` once the session closes, with why (`socket.on("close")`).
    pub fn on_close<F, Fut>(&self, handler: F)
    where
        F: Fn(EngineSocket, CloseReason) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handler: CloseHandler = Arc::new(move |s, r| Box::pin(handler(s, r)));
        lock(&self.inner.handlers).close.push(handler);
    }

    /// Sends `message`.
    pub fn send(&self, message: &Message) -> Result<(), EngineError> {
        match message {
            Message::Text(text) => self.send_text(text),
            Message::Binary(data) => self.send_binary(data),
        }
    }

    /// Sends a text message.
    pub fn send_text(&self, text: &str) -> Result<(), EngineError> {
        self.send_prepared(&OutMessage::text(text))
    }

    /// Sends a binary message.
    pub fn send_binary(&self, data: &[u8]) -> Result<(), EngineError> {
        self.send_prepared(&OutMessage::binary(data))
    }

    /// Sends a message encoded once for any number of sessions (a
    /// broadcast shares its bytes: cloning an [`OutMessage`] copies none).
    pub fn send_prepared(&self, message: &OutMessage) -> Result<(), EngineError> {
        let session = self.inner.session;
        self.inner
            .shared
            .process_on(0, |server, _| server.send(session, message))
    }

    /// Closes the session from the server ("forced close"): what is queued
    /// is sent first (`socket.close()`).
    pub fn close(&self) {
        let session = self.inner.session;
        self.inner.shared.process_on(0, |server, now| {
            let _ = server.close(now, session, CloseReason::ForcedClose);
        });
    }

    fn push_job(&self, job: Job, ready: &mut Vec<Ready>) {
        if let Some(first) = self.inner.jobs.push_or_take(job) {
            ready.push(Ready {
                socket: self.clone(),
                first,
            });
        }
    }

    /// Runs `first`, then the queued jobs, within the caller's poll.
    fn run_jobs_now(&self, first: Job, cx: &mut Context<'_>) {
        let runtime = self.inner.shared.endpoint.host().runtime().clone();
        let mut job = Some(first);
        while let Some(current) = job.take().or_else(|| self.inner.jobs.next()) {
            start_now(&*runtime, cx, self.futures_of(current));
        }
    }

    fn futures_of(&self, job: Job) -> Vec<BoxFuture<()>> {
        match job {
            Job::Open => read(&self.inner.shared.on_connection)
                .iter()
                .map(|h| h(self.clone()))
                .collect(),
            Job::Message(message) => {
                let handlers = lock(&self.inner.handlers).message.clone();
                handlers
                    .iter()
                    .map(|h| h(self.clone(), message.clone()))
                    .collect()
            }
            Job::Close(reason) => {
                // Nothing can call the handlers again: they go with the last job.
                let handlers = std::mem::take(&mut *lock(&self.inner.handlers));
                handlers
                    .close
                    .iter()
                    .map(|h| h(self.clone(), reason))
                    .collect()
            }
        }
    }
}

/// What a session's handlers hear, in order.
enum Job {
    Open,
    Message(Message),
    Close(CloseReason),
}

/// A session whose handlers must start, with the job that made it ready.
struct Ready {
    socket: EngineSocket,
    first: Job,
}

/// Shared by every handle of one Engine.IO server.
struct EngineShared {
    endpoint: Endpoint<EngineServer>,
    /// Open sessions; each is removed at its close.
    sessions: Mutex<HashMap<SessionId, EngineSocket>>,
    on_connection: RwLock<Vec<ConnectionHandler>>,
}

impl Layer for EngineShared {
    type Machine = EngineServer;
    type Ready = Ready;

    fn endpoint(&self) -> &Endpoint<EngineServer> {
        &self.endpoint
    }

    fn route_event(
        self: &Arc<Self>,
        server: &EngineServer,
        event: EngineEvent,
        ready: &mut Vec<Ready>,
    ) {
        match event {
            EngineEvent::Opened { session } => {
                let Some(handshake) = server.handshake(session).cloned() else {
                    return;
                };
                let socket = EngineSocket {
                    inner: Arc::new(SessionInner {
                        shared: self.clone(),
                        session,
                        handshake,
                        closed: AtomicBool::new(false),
                        handlers: Mutex::new(Handlers::default()),
                        jobs: JobQueue::default(),
                    }),
                };
                lock(&self.sessions).insert(session, socket.clone());
                socket.push_job(Job::Open, ready);
            }
            EngineEvent::Message { session, packet } => {
                let message = match packet {
                    Packet::Message(text) => Message::Text(text.to_string()),
                    Packet::Binary(data) => Message::Binary(data),
                    _ => return,
                };
                if let Some(socket) = lock(&self.sessions).get(&session) {
                    socket.push_job(Job::Message(message), ready);
                }
            }
            EngineEvent::Closed { session, reason } => {
                if let Some(socket) = lock(&self.sessions).remove(&session) {
                    tracing::debug!(
                        sid = socket.id(),
                        reason = reason.as_str(),
                        "session closed"
                    );
                    socket.inner.closed.store(true, Ordering::Release);
                    socket.push_job(Job::Close(reason), ready);
                }
            }
            EngineEvent::ConnectionError(error) => {
                let endpoint = &self.endpoint;
                endpoint.hooks.report(endpoint.host().runtime(), &error);
            }
            _ => {}
        }
    }

    fn run_now(ready: Ready, cx: &mut Context<'_>) {
        ready.socket.run_jobs_now(ready.first, cx);
    }

    fn spawn_ready(ready: Ready) {
        let runtime = ready.socket.inner.shared.endpoint.host().runtime().clone();
        let mut ready = Some(ready);
        runtime.spawn(Box::pin(std::future::poll_fn(move |cx| {
            if let Some(Ready { socket, first }) = ready.take() {
                socket.run_jobs_now(first, cx);
            }
            core::task::Poll::Ready(())
        })));
    }

    fn take_ready_list() -> Vec<Ready> {
        READY.take()
    }

    fn put_ready_list(list: Vec<Ready>) {
        READY.set(list)
    }
}

std::thread_local! {
    /// The sessions a WebSocket read made ready, while its task runs them.
    static READY: std::cell::Cell<Vec<Ready>> = const { std::cell::Cell::new(Vec::new()) };
}

impl Hosted for EngineShared {
    type Machine = EngineServer;

    fn host(&self, _shard: usize) -> &Host<EngineServer> {
        self.endpoint.host()
    }

    fn on_timeout(self: &Arc<Self>, _shard: usize) {
        self.process_on(0, |server, now| server.handle_timeout(now));
    }

    fn timers_done(&self) -> bool {
        self.endpoint.is_shutting_down()
            && lock(&self.sessions).is_empty()
            && self.endpoint.open_conn_count() == 0
    }
}

fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|poisoned| poisoned.into_inner())
}
