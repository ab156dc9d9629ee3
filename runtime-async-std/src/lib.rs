//! sio-async-std: a Socket.IO server on async-std.
//!
//! async-std is discontinued upstream; its authors point to smol, and
//! [sio-smol](https://docs.rs/sio-smol) is the recommended successor (the
//! same API: change the crate name in your imports). This crate stays as
//! the thinnest adapter for applications that still run async-std: tasks
//! go to async-std's spawner, and since async-std runs on async-io's
//! reactor, like smol, the timer and the accept loop are sio-smol's.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! let io = sio_async_std::new(sio_async_std::Config::default());
//! io.on_connection(|socket| async move {
//!     socket.on("chat", |socket, msg: String, ack| async move {
//!         let _ = socket.broadcast().emit("chat", &msg);
//!         let _ = ack.send(&"ok");
//!     });
//! });
//! let listener = async_std::net::TcpListener::bind("127.0.0.1:3000").await?;
//! sio_async_std::serve(listener, io).await
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::time::Instant;

use async_std::net::TcpListener;

pub use sio_driver::*;

/// async-std as a [`Runtime`]: its task spawner, async-io timers.
#[derive(Debug, Clone, Copy, Default)]
pub struct AsyncStd;

impl Runtime for AsyncStd {
    fn spawn(&self, future: BoxFuture<()>) {
        async_std::task::spawn(future);
    }

    fn now(&self) -> Instant {
        Instant::now()
    }

    fn timer(&self, deadline: Instant) -> Box<dyn Timer> {
        sio_smol::Smol.timer(deadline)
    }
}

impl Connector for AsyncStd {
    type Stream = async_std::net::TcpStream;

    fn connect(&self, host: &str, port: u16) -> BoxFuture<std::io::Result<Self::Stream>> {
        let host = host.to_owned();
        Box::pin(async move {
            let stream = async_std::net::TcpStream::connect((host.as_str(), port)).await?;
            let _ = stream.set_nodelay(true);
            Ok(stream)
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
        client_socket(AsyncStd, url, config)
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
pub mod engine_io {
    use super::AsyncStd;
    use async_std::net::TcpListener;
    pub use sio_driver::engine_io::*;

    /// An Engine.IO server on async-std.
    pub fn new(config: Config) -> EngineIo {
        EngineIo::with_runtime(AsyncStd, config)
    }

    /// Accepts connections on `listener` and serves each on its own
    /// async-std task, as [`serve`](super::serve) does for Socket.IO.
    pub async fn serve(listener: TcpListener, server: EngineIo) -> std::io::Result<()> {
        let listener = std::net::TcpListener::try_from(listener)?;
        sio_smol::serve_with(&AsyncStd, listener.try_into()?, server).await
    }

    /// An Engine.IO client of `url` (`http`/`ws`, or with TLS `https`/`wss`;
    /// the URL's path, when it has one, is the Engine.IO path, e.g.
    /// `http://host:3000/engine.io/`), not connected yet: register its
    /// handlers, then call [`EngineClient::connect`].
    pub fn client(
        url: &str,
        config: sio_driver::ClientConfig,
    ) -> Result<EngineClient, sio_driver::UrlError> {
        engine_client(AsyncStd, url, config)
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

/// A server on async-std.
pub fn new(config: Config) -> SocketIo {
    SocketIo::with_runtime(AsyncStd, config)
}

/// Accepts connections on `listener` and serves each on its own async-std
/// task. Failed accepts (out of file descriptors and the like) are logged
/// and retried after a short pause; it returns only when the listener
/// itself is unusable (see [`accept_loop`]).
pub async fn serve(listener: TcpListener, io: SocketIo) -> std::io::Result<()> {
    // The socket leaves async-std's handle and joins smol's on the same
    // async-io reactor.
    let listener = std::net::TcpListener::try_from(listener)?;
    sio_smol::serve_with(&AsyncStd, listener.try_into()?, io).await
}
