//! [`SocketIo`]: the server handle an application holds.

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use core::future::Future;
use futures_lite::io::{AsyncRead, AsyncWrite};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::ack::AckError;
use super::answer::ServerSideAck;
use super::bus::Bus;
use super::cluster::ClusterError;
use super::conn::{FallbackSlot, HttpExchange};
use super::error::EmitError;
use super::group::{Groups, GROUPS_PER_CPU};
use super::namespace::{ConnectContext, ConnectError, Namespace, Registry};
use super::operators::BroadcastOperator;
use super::remote::RemoteSocket;
use super::runtime::Runtime;
use super::shared::Shared;
use super::socket::Socket;
use sio_core::engine::{Shard, MAX_SHARDS};
use sio_core::server::{Config, Server};
use sio_core::wire::http;

/// The operating system's random source failed: session ids cannot be
/// made unguessable, so no server is built.
#[derive(Debug, Clone)]
pub struct RandomSourceError(getrandom::Error);

impl std::fmt::Display for RandomSourceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the OS random source failed ({})", self.0)
    }
}

impl std::error::Error for RandomSourceError {}

/// A seed from `fill` (the OS source, or a test's).
pub(crate) fn seed_from(
    fill: impl FnOnce(&mut [u8]) -> Result<(), getrandom::Error>,
) -> Result<[u8; 32], RandomSourceError> {
    let mut seed = [0u8; 32];
    fill(&mut seed).map_err(RandomSourceError)?;
    Ok(seed)
}

/// How many shards a server runs for `Config::shards` (0: as many as the
/// connection groups its WebSockets run in, 16 per CPU this process may
/// use, at most 64). Each shard's WebSockets run in a group of their own
/// (`group.rs`), so a shard is fed by one task at a time.
fn shard_count(configured: usize) -> usize {
    let count = match configured {
        0 => GROUPS_PER_CPU * std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    count.clamp(1, MAX_SHARDS)
}

/// The seed, or a panic at construction (startup, never a peer's input).
fn expect_seed(seed: Result<[u8; 32], RandomSourceError>) -> [u8; 32] {
    match seed {
        Ok(seed) => seed,
        Err(error) => std::panic!(
            "cannot seed session ids: {error}; use SocketIo::try_with_runtime to handle it"
        ),
    }
}

/// A Socket.IO server: namespaces, handlers, and the operations Node's
/// `io` object offers. Cloning shares it. The runtime crates build it
/// (`sio_tokio::new(config)`, `sio_smol::new`, `sio_async_std::new`) and
/// serve it.
#[derive(Clone)]
pub struct SocketIo {
    pub(crate) shared: Arc<Shared>,
    main: Namespace,
    /// What a standalone server answers to other paths than the endpoint's.
    fallback: FallbackSlot,
    /// The groups its WebSockets run in (`group`).
    groups: Arc<Groups>,
}

impl std::fmt::Debug for SocketIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketIo").finish_non_exhaustive()
    }
}

impl SocketIo {
    /// A server on `runtime`. Session and socket ids come from a seed drawn
    /// from the operating system's random source.
    ///
    /// # Panics
    ///
    /// If that source fails (ids would be guessable otherwise); see
    /// [`SocketIo::try_with_runtime`].
    pub fn with_runtime<R: Runtime>(runtime: R, config: Config) -> SocketIo {
        let seed = expect_seed(seed_from(getrandom::fill));
        SocketIo::with_seed(runtime, config, seed)
    }

    /// [`SocketIo::with_runtime`], or an error if the operating system's
    /// random source fails.
    pub fn try_with_runtime<R: Runtime>(
        runtime: R,
        config: Config,
    ) -> Result<SocketIo, RandomSourceError> {
        let seed = seed_from(getrandom::fill)?;
        Ok(SocketIo::with_seed(runtime, config, seed))
    }

    fn with_seed<R: Runtime>(runtime: R, config: Config, seed: [u8; 32]) -> SocketIo {
        let count = shard_count(config.shards);
        let mut config = config;
        if let Some(recovery) = config.connection_state_recovery.as_mut() {
            // Every shard logs every broadcast: the bound is the server's,
            // shared out, so shards hold no more than one server would.
            recovery.max_bytes /= count;
        }
        let servers = (0..count)
            .map(|index| {
                // Each shard its own key: ChaCha streams under different
                // keys are independent (shard 0 keeps the seed as given).
                let mut seed = seed;
                seed[31] ^= index as u8;
                let mut server = Server::new(config.clone(), seed);
                if let Some(shard) = Shard::new(index, count) {
                    server.set_shard(shard);
                }
                server
            })
            .collect();
        let shared = Shared::new(Arc::new(runtime), servers, Box::new(Registry::default()));
        // The main namespace always exists, as in Node.
        let main = Namespace::existing(&shared, "/");
        SocketIo {
            shared,
            main,
            fallback: Arc::new(RwLock::new(None)),
            groups: Arc::default(),
        }
    }

    /// Joins a cluster through `bus` (sio-redis's Redis bus, say), as npm
    /// `@socket.io/redis-adapter` does: broadcasts, `fetch_sockets`,
    /// `sockets_join` / `sockets_leave` / `disconnect_sockets`, server-side
    /// emits and broadcasts with acks reach every node, sio or Node, on
    /// that bus; `local()` keeps an operation on this node. Call it once,
    /// right after construction:
    ///
    /// ```no_run
    /// # fn join(config: sio_driver::Config, bus: impl sio_driver::Bus, runtime: impl sio_driver::Runtime) {
    /// let io = sio_driver::SocketIo::with_runtime(runtime, config).with_adapter(bus);
    /// # }
    /// ```
    ///
    /// (`sio_tokio::new(config).with_adapter(bus)` on a runtime crate.)
    ///
    /// The node's uid is random; the channel key prefix and the requests
    /// timeout come from the bus ([`Bus::key`], [`Bus::requests_timeout`]).
    /// Each namespace subscribes to its channels as it is created.
    pub fn with_adapter(self, bus: impl Bus) -> SocketIo {
        super::cluster::attach(
            &self.shared,
            super::cluster::Wire::PubSub(std::sync::Arc::new(bus)),
        );
        self
    }

    /// Joins a cluster through a shared stream, as npm
    /// `@socket.io/redis-streams-adapter` does (sio-redis's
    /// `RedisStreamsAdapter`): the same operations as
    /// [`with_adapter`](Self::with_adapter), in socket.io-adapter's cluster
    /// protocol, with nodes counted by their heartbeats. Call it once,
    /// right after construction, instead of `with_adapter`.
    pub fn with_stream_adapter(self, log: impl super::bus::StreamBus) -> SocketIo {
        super::cluster::attach(
            &self.shared,
            super::cluster::Wire::Stream(std::sync::Arc::new(log)),
        );
        self
    }

    /// Whether a cluster adapter is attached and its bus is connected.
    /// While the bus is down, local delivery goes on and messages to and
    /// from the other nodes are lost; the bus reconnects on its own.
    pub fn adapter_connected(&self) -> bool {
        self.shared
            .cluster()
            .is_some_and(|cluster| cluster.connected())
    }

    /// This node's uid in the cluster (six characters, as the reference
    /// makes them), when an adapter is attached.
    pub fn adapter_uid(&self) -> Option<String> {
        self.shared
            .cluster()
            .map(|cluster| cluster.uid().to_owned())
    }

    /// The namespace `name` (created on first use). Names start with `/`.
    pub fn of(&self, name: &str) -> Result<Namespace, EmitError> {
        Namespace::get_or_create(&self.shared, name)
    }

    /// A dynamic parent namespace: any namespace a client asks for and
    /// `predicate` admits is created on demand and gets this parent's
    /// middleware and connection handlers (Node's `io.of(regex or function)`).
    pub fn of_dynamic<P>(&self, predicate: P) -> Namespace
    where
        P: Fn(&str) -> bool + Send + Sync + 'static,
    {
        Namespace::dynamic(&self.shared, Arc::new(predicate))
    }

    fn main(&self) -> &Namespace {
        &self.main
    }

    /// [`Namespace::on_connection`] of `/`.
    pub fn on_connection<F, Fut>(&self, handler: F)
    where
        F: Fn(Socket) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.main().on_connection(handler)
    }

    /// [`Namespace::use_middleware`] of `/`.
    pub fn use_middleware<F, Fut>(&self, middleware: F)
    where
        F: Fn(ConnectContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), ConnectError>> + Send + 'static,
    {
        self.main().use_middleware(middleware)
    }

    /// To the sockets of `/` in `room`.
    pub fn to(&self, room: &str) -> BroadcastOperator {
        self.main().to(room)
    }

    /// Same as [`SocketIo::to`].
    pub fn within(&self, room: &str) -> BroadcastOperator {
        self.main().within(room)
    }

    /// To every socket of `/` but those in `room`.
    pub fn except(&self, room: &str) -> BroadcastOperator {
        self.main().except(room)
    }

    /// Volatile emits to `/`.
    pub fn volatile(&self) -> BroadcastOperator {
        self.main().volatile()
    }

    /// Broadcasts to `/` sent without permessage-deflate when `compress`
    /// is false (Node's `io.compress(false)`).
    pub fn compress(&self, compress: bool) -> BroadcastOperator {
        self.main().compress(compress)
    }

    /// Only this server's sockets of `/`.
    pub fn local(&self) -> BroadcastOperator {
        self.main().local()
    }

    /// Ack deadline for emits to `/`.
    pub fn timeout(&self, timeout: Duration) -> BroadcastOperator {
        self.main().timeout(timeout)
    }

    /// Sends `event` to every socket of `/`.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, args: &T) -> Result<(), EmitError> {
        self.main().emit(event, args)
    }

    /// Sends `event` to every socket of `/` and collects their acknowledgements.
    pub fn emit_with_ack<T: Serialize + ?Sized, R: serde::de::DeserializeOwned + Send + 'static>(
        &self,
        event: &str,
        args: &T,
    ) -> impl Future<Output = Result<Vec<R>, AckError>> + Send + 'static {
        self.main().emit_with_ack(event, args)
    }

    /// Every socket of `/`, over the whole cluster (see
    /// [`BroadcastOperator::fetch_sockets`]).
    pub fn fetch_sockets(
        &self,
    ) -> impl Future<Output = Result<Vec<RemoteSocket>, ClusterError>> + Send + 'static {
        self.main().fetch_sockets()
    }

    /// [`Namespace::server_side_emit`] of `/`.
    pub fn server_side_emit<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<(), EmitError> {
        self.main().server_side_emit(event, args)
    }

    /// [`Namespace::server_side_emit_with_ack`] of `/`.
    pub fn server_side_emit_with_ack<
        T: Serialize + ?Sized,
        R: DeserializeOwned + Send + 'static,
    >(
        &self,
        event: &str,
        args: &T,
    ) -> impl Future<Output = Result<Vec<R>, ClusterError>> + Send + 'static {
        self.main().server_side_emit_with_ack(event, args)
    }

    /// [`Namespace::on_server_side_emit`] of `/`.
    pub fn on_server_side_emit<T, F, Fut>(&self, event: &str, handler: F)
    where
        T: DeserializeOwned + Send + 'static,
        F: Fn(T, ServerSideAck) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.main().on_server_side_emit(event, handler)
    }

    /// Makes every socket of `/` join `room`.
    pub fn sockets_join(&self, room: &str) {
        self.main().sockets_join(room)
    }

    /// Makes every socket of `/` leave `room`.
    pub fn sockets_leave(&self, room: &str) {
        self.main().sockets_leave(room)
    }

    /// Disconnects every socket of `/`.
    pub fn disconnect_sockets(&self, close: bool) {
        self.main().disconnect_sockets(close)
    }

    /// How many sockets are connected, over every namespace.
    pub fn socket_count(&self) -> usize {
        self.shared
            .read_all(|server| server.socket_count())
            .into_iter()
            .sum()
    }

    /// Disconnects everyone with "server shutting down" and stops taking
    /// new sessions; returns once every connection has been told. On the
    /// streams adapter the node then leaves the cluster as Node's
    /// `io.close()` does (ADAPTER_CLOSE: the other nodes stop counting it
    /// at once) and sends nothing more to it.
    pub async fn shutdown(&self) {
        self.shared.begin_shutdown();
        self.shared.process_all(|server, now| server.shutdown(now));
        if let Some(cluster) = self.shared.cluster().cloned() {
            cluster.leave(&self.shared).await;
        }
        // Let connection tasks write the close packets they were handed.
        for _ in 0..100 {
            if self.shared.open_conn_count() == 0 {
                return;
            }
            self.shared
                .runtime
                .sleep_until(self.shared.clock.now_std() + Duration::from_millis(10))
                .await;
        }
    }

    /// Serves one accepted connection (HTTP/1.1 with keep-alive, and the
    /// WebSocket it may become) until it closes. Runtime crates call this
    /// for every connection their listener accepts. Requests for other
    /// paths than the endpoint's get the [fallback](SocketIo::set_fallback),
    /// or 404 without one.
    pub async fn serve_connection<S>(&self, stream: S, peer: Option<SocketAddr>)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        super::conn::serve(
            self.shared.clone(),
            self.fallback.clone(),
            self.groups.clone(),
            stream,
            peer,
        )
        .await
    }

    /// Answers the requests a standalone server (`serve` of a runtime
    /// crate, or [`SocketIo::serve_connection`]) gets for other paths than
    /// the Socket.IO endpoint, instead of `404 Not Found`: a few small
    /// routes on the same port, such as a static page or a token route.
    ///
    /// `fallback` runs on the connection's task, synchronously, with the
    /// whole request (its body is bounded by `max_http_buffer_size`); it
    /// must answer quickly and must not block. Keep-alive works as for the
    /// endpoint's requests (`Connection: close` is added when the request
    /// asked for it). A `1xx` answer is replaced by `500`.
    ///
    /// It is not a web framework: no async handlers, no streaming bodies,
    /// no WebSocket of its own. Applications with real routing mount the
    /// server in their HTTP stack instead (sio-tokio's tower layer, which
    /// hands other requests to the inner service and never calls this).
    /// Setting it again replaces it, also for connections already open;
    /// every clone of this handle shares it.
    ///
    /// ```no_run
    /// # fn setup(io: &sio_driver::SocketIo) {
    /// use sio_core::wire::http::Response;
    /// io.set_fallback(|request| match request.path() {
    ///     "/" => Response::new(200).with_body("text/html; charset=utf-8", "<h1>hi</h1>"),
    ///     _ => Response::new(404).with_body("text/plain; charset=utf-8", "Not Found"),
    /// });
    /// # }
    /// ```
    pub fn set_fallback<F>(&self, fallback: F)
    where
        F: Fn(&http::Request) -> http::Response + Send + Sync + 'static,
    {
        let fallback: Arc<super::conn::Fallback> = Arc::new(fallback);
        match self.fallback.write() {
            Ok(mut slot) => *slot = Some(fallback),
            Err(poisoned) => *poisoned.into_inner() = Some(fallback),
        }
    }

    /// The names of the namespaces that exist now: the main one, those
    /// made with [`SocketIo::of`], and the children of dynamic ones
    /// (Node's `io._nsps` keys).
    pub fn namespace_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .shared
            .namespaces
            .names()
            .iter()
            .map(|name| name.to_string())
            .collect();
        names.sort();
        names
    }

    /// The engine's hooks (Node's `allowRequest` and `io.engine.on(...)`:
    /// `initial_headers`, `headers`, `connection_error`).
    pub fn engine(&self) -> crate::EngineHooks<'_> {
        crate::EngineHooks(&self.shared.endpoint.hooks)
    }

    /// Most bytes one HTTP request body may hold (`max_http_buffer_size`).
    pub fn config_max_body(&self) -> usize {
        self.shared.http_limits.max_body_bytes
    }

    /// The endpoint's path (`/socket.io/` unless configured otherwise).
    pub fn path(&self) -> String {
        self.shared
            .read(|server| server.engine().config().path.clone())
    }

    /// Whether a request for `path` (without query) is for this server.
    pub fn matches_path(&self, path: &str) -> bool {
        self.shared
            .read(|server| server.engine().matches_path(path))
    }

    /// Whether `request` is for this server's endpoint (its path).
    pub fn matches(&self, request: &http::Request) -> bool {
        self.shared.read(|server| server.matches(request))
    }

    /// Handles one HTTP request that arrived through another HTTP stack
    /// (a tower service, say); see [`HttpExchange`].
    pub async fn handle_http(
        &self,
        request: http::Request,
        peer: Option<SocketAddr>,
    ) -> HttpExchange {
        super::conn::exchange(self.shared.clone(), request, peer).await
    }

    /// Handles a request whose body another HTTP stack refused for being
    /// over [`config_max_body`](Self::config_max_body) (`head`: the request
    /// without its body): [`HttpExchange::Refused`] with the 413, as the
    /// standalone server answers it (a polling POST's session then fails).
    pub async fn handle_http_too_large(&self, head: http::Request) -> HttpExchange {
        super::conn::exchange_too_large(self.shared.clone(), head).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_comes_from_the_source() {
        let seed = seed_from(|buf| {
            buf.fill(7);
            Ok(())
        });
        assert_eq!(seed.unwrap(), [7; 32]);
    }

    #[test]
    fn a_failing_source_is_an_error_not_a_clock_seed() {
        let error = seed_from(|_| Err(getrandom::Error::UNSUPPORTED)).unwrap_err();
        assert!(error.to_string().contains("random source failed"));
    }

    #[test]
    #[should_panic(expected = "cannot seed session ids")]
    fn the_infallible_constructor_panics_on_a_failing_source() {
        expect_seed(seed_from(|_| Err(getrandom::Error::UNEXPECTED)));
    }
}
