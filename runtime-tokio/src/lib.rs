//! sio-tokio: a Socket.IO server on tokio.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! let io = sio_tokio::new(sio_tokio::Config::default());
//! io.on_connection(|socket| async move {
//!     socket.on("chat", |socket, msg: String, ack| async move {
//!         let _ = socket.broadcast().emit("chat", &msg);
//!         let _ = ack.send(&"ok");
//!     });
//! });
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! sio_tokio::serve(listener, io).await
//! # }
//! ```
//!
//! Everything but the accept loop, the timer and the spawner is shared with
//! the other runtime crates (`sio_driver`): moving an application to
//! sio-smol means changing this crate's name in its imports.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::time::Instant;

use tokio::net::TcpListener;
use tokio_util::compat::TokioAsyncReadCompatExt;

pub use sio_driver::*;

mod tower;
pub use crate::tower::{
    layer, EngineIoLayer, EngineIoService, Mountable, NotFound, SioBody, SocketIoLayer,
    SocketIoService,
};

/// tokio as a [`Runtime`]: tasks and timers on the tokio runtime it was
/// made in, so the server's handles work from any thread (a plain thread
/// calling `socket.disconnect()` included).
#[derive(Debug, Clone)]
pub struct Tokio {
    handle: tokio::runtime::Handle,
}

impl Tokio {
    /// The runtime this is called in. Panics outside a tokio runtime.
    pub fn current() -> Self {
        Tokio {
            handle: tokio::runtime::Handle::current(),
        }
    }

    /// A given runtime.
    pub fn with_handle(handle: tokio::runtime::Handle) -> Self {
        Tokio { handle }
    }
}

impl Runtime for Tokio {
    fn spawn(&self, future: BoxFuture<()>) {
        self.handle.spawn(future);
    }

    fn instance(&self) -> u64 {
        // Each test of `#[tokio::test]` has its own runtime: its client
        // managers must not be shared with another's.
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        self.handle.id().hash(&mut hasher);
        hasher.finish()
    }

    fn now(&self) -> Instant {
        // tokio's clock, so that a paused test runtime moves the driver too.
        tokio::time::Instant::now().into_std()
    }

    fn timer(&self, deadline: Instant) -> Box<dyn Timer> {
        // Made inside the runtime's context, whatever thread asks.
        let _context = self.handle.enter();
        Box::new(TokioTimer(Box::pin(tokio::time::sleep_until(
            deadline.into(),
        ))))
    }
}

/// A tokio `Sleep`, reset in place.
struct TokioTimer(std::pin::Pin<Box<tokio::time::Sleep>>);

impl Timer for TokioTimer {
    fn reset(&mut self, deadline: Instant) {
        self.0.as_mut().reset(deadline.into());
    }

    fn poll_fire(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        std::future::Future::poll(self.0.as_mut(), cx)
    }
}

impl Connector for Tokio {
    type Stream = tokio_util::compat::Compat<tokio::net::TcpStream>;

    fn connect(&self, host: &str, port: u16) -> BoxFuture<std::io::Result<Self::Stream>> {
        let host = host.to_owned();
        Box::pin(async move {
            let stream = tokio::net::TcpStream::connect((host.as_str(), port)).await?;
            let _ = stream.set_nodelay(true);
            Ok(stream.compat())
        })
    }
}

/// The Socket.IO client on this runtime: long-polling with the upgrade to
/// WebSocket, `http`/`ws` or (feature `tls`, on by default) `https`/`wss`
/// URLs such as `https://host[:port][/namespace][?query]`.
pub mod client {
    use super::*;

    /// A socket on `url`'s namespace, not connected yet: register its
    /// handlers, then call [`ClientSocket::connect`].
    pub fn socket(url: &str, config: ClientConfig) -> Result<ClientSocket, UrlError> {
        client_socket(Tokio::current(), url, config)
    }

    /// A socket on `url`'s namespace, connecting at once (handlers
    /// registered after this may miss the first connect).
    pub fn connect(url: &str, config: ClientConfig) -> Result<ClientSocket, UrlError> {
        let socket = socket(url, config)?;
        socket.connect();
        Ok(socket)
    }
}

/// Engine.IO alone (Node's `engine.io` and `engine.io-client`): the
/// server, [`engine_io::new`] and [`engine_io::serve`], the shape of
/// [`new`] and [`serve`]; the client, [`engine_io::client`] (or
/// [`engine_io::connect`]).
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// use sio_tokio::engine_io::{self, Config};
/// let mut config = Config::default();
/// config.path = "/engine.io/".into(); // engine.io-client's default
/// let server = engine_io::new(config);
/// server.on_connection(|socket| async move {
///     socket.on_message(|socket, message| async move { let _ = socket.send(&message); });
/// });
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// engine_io::serve(listener, server).await
/// # }
/// ```
pub mod engine_io {
    use super::Tokio;
    pub use sio_driver::engine_io::*;
    use tokio::net::TcpListener;

    /// The tower layer that mounts `server` in front of an HTTP
    /// application (axum, hyper...), as [`layer`](super::layer) does for
    /// Socket.IO: requests for its path go to it, the rest to the app.
    pub fn layer(server: EngineIo) -> super::EngineIoLayer {
        super::EngineIoLayer::new(server)
    }

    /// An Engine.IO server on the tokio runtime this is called in.
    /// Panics outside a tokio runtime.
    pub fn new(config: Config) -> EngineIo {
        EngineIo::with_runtime(Tokio::current(), config)
    }

    /// Accepts connections on `listener` and serves each on its own task,
    /// as [`serve`](super::serve) does for Socket.IO.
    pub async fn serve(listener: TcpListener, server: EngineIo) -> std::io::Result<()> {
        super::serve_any(listener, server).await
    }

    /// An Engine.IO client of `url` (`http`/`ws`, or with TLS `https`/`wss`;
    /// the URL's path, when it has one, is the Engine.IO path, e.g.
    /// `http://host:3000/engine.io/`), not connected yet: register its
    /// handlers, then call [`EngineClient::connect`].
    pub fn client(
        url: &str,
        config: sio_driver::ClientConfig,
    ) -> Result<EngineClient, sio_driver::UrlError> {
        engine_client(Tokio::current(), url, config)
    }

    /// [`client`], connecting at once (handlers registered after this may
    /// miss the first events).
    pub fn connect(
        url: &str,
        config: sio_driver::ClientConfig,
    ) -> Result<EngineClient, sio_driver::UrlError> {
        let client = client(url, config)?;
        client.connect();
        Ok(client)
    }
}

/// A server on the tokio runtime this is called in (it starts the timer
/// task there). Panics outside a tokio runtime.
pub fn new(config: Config) -> SocketIo {
    SocketIo::with_runtime(Tokio::current(), config)
}

/// Accepts connections on `listener` and serves each on its own task.
///
/// A failed accept does not end it: running out of file descriptors
/// (`EMFILE`), a connection reset before it was taken and the like are
/// logged (through `tracing`) and retried after a short pause (10 ms,
/// growing to 1 s while they go on), as Node's server does. It returns
/// only when the listener itself is unusable (see [`accept_loop`]).
pub async fn serve(listener: TcpListener, io: SocketIo) -> std::io::Result<()> {
    serve_any(listener, io).await
}

/// The accept loop of [`serve`] and [`engine_io::serve`].
async fn serve_any<T: ServeConnection>(listener: TcpListener, server: T) -> std::io::Result<()> {
    let listener = &listener;
    accept_loop(
        &Tokio::current(),
        move || listener.accept(),
        |(stream, peer)| {
            // Small packets go out at once (pongs, acks).
            let _ = stream.set_nodelay(true);
            tokio::spawn(server.serve(stream.compat(), Some(peer)));
        },
    )
    .await
}
