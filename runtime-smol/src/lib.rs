//! sio-smol: a Socket.IO server on smol.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! let io = sio_smol::new(sio_smol::Config::default());
//! io.on_connection(|socket| async move {
//!     socket.on("chat", |socket, msg: String, ack| async move {
//!         let _ = socket.broadcast().emit("chat", &msg);
//!         let _ = ack.send(&"ok");
//!     });
//! });
//! let listener = smol::net::TcpListener::bind("127.0.0.1:3000").await?;
//! sio_smol::serve(listener, io).await
//! # }
//! // smol::block_on(run())
//! ```
//!
//! Tasks go to smol's global executor (`smol::spawn`), which runs on its own
//! threads: the server works whether the application drives its main
//! future with `smol::block_on` or anything else. Everything but the accept
//! loop, the timer and the spawner is shared with the other runtime crates
//! (`sio_driver`).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::time::Instant;

use smol::net::TcpListener;

pub use sio_driver::*;

/// smol as a [`Runtime`]: tasks on smol's global executor, async-io timers.
#[derive(Debug, Clone, Copy, Default)]
pub struct Smol;

impl Runtime for Smol {
    fn spawn(&self, future: BoxFuture<()>) {
        smol::spawn(future).detach();
    }

    fn now(&self) -> Instant {
        Instant::now()
    }

    fn timer(&self, deadline: Instant) -> Box<dyn Timer> {
        Box::new(SmolTimer(smol::Timer::at(deadline)))
    }
}

/// An async-io timer, moved with `set_at` (sio-async-std uses it too).
pub struct SmolTimer(smol::Timer);

impl Timer for SmolTimer {
    fn reset(&mut self, deadline: Instant) {
        self.0.set_at(deadline);
    }

    fn poll_fire(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        std::future::Future::poll(std::pin::Pin::new(&mut self.0), cx).map(|_| ())
    }
}

impl Connector for Smol {
    type Stream = smol::net::TcpStream;

    fn connect(&self, host: &str, port: u16) -> BoxFuture<std::io::Result<Self::Stream>> {
        let host = host.to_owned();
        Box::pin(async move {
            let stream = smol::net::TcpStream::connect((host.as_str(), port)).await?;
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
        client_socket(Smol, url, config)
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
    use super::Smol;
    pub use sio_driver::engine_io::*;
    use smol::net::TcpListener;

    /// An Engine.IO server on smol.
    pub fn new(config: Config) -> EngineIo {
        EngineIo::with_runtime(Smol, config)
    }

    /// Accepts connections on `listener` and serves each on its own task,
    /// as [`serve`](super::serve) does for Socket.IO.
    pub async fn serve(listener: TcpListener, server: EngineIo) -> std::io::Result<()> {
        super::serve_with(&Smol, listener, server).await
    }

    /// An Engine.IO client of `url` (`http`/`ws`, or with TLS `https`/`wss`;
    /// the URL's path, when it has one, is the Engine.IO path, e.g.
    /// `http://host:3000/engine.io/`), not connected yet: register its
    /// handlers, then call [`EngineClient::connect`].
    pub fn client(
        url: &str,
        config: sio_driver::ClientConfig,
    ) -> Result<EngineClient, sio_driver::UrlError> {
        engine_client(Smol, url, config)
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

/// A server on smol.
pub fn new(config: Config) -> SocketIo {
    SocketIo::with_runtime(Smol, config)
}

/// Accepts connections on `listener` and serves each on its own task.
///
/// A failed accept does not end it: running out of file descriptors
/// (`EMFILE`), a connection reset before it was taken and the like are
/// logged (through `tracing`) and retried after a short pause (10 ms,
/// growing to 1 s while they go on), as Node's server does. It returns
/// only when the listener itself is unusable (see [`accept_loop`]).
pub async fn serve(listener: TcpListener, io: SocketIo) -> std::io::Result<()> {
    serve_with(&Smol, listener, io).await
}

/// [`serve`] (or [`engine_io::serve`]) with the connection tasks spawned on
/// `runtime`: for adapters of other runtimes built on async-io's reactor
/// (sio-async-std), whose listeners convert into smol's.
pub async fn serve_with<T: ServeConnection>(
    runtime: &impl Runtime,
    listener: TcpListener,
    server: T,
) -> std::io::Result<()> {
    let listener = &listener;
    accept_loop(
        runtime,
        move || listener.accept(),
        |(stream, peer): (smol::net::TcpStream, _)| {
            // Small packets go out at once (pongs, acks).
            let _ = stream.set_nodelay(true);
            runtime.spawn(server.serve(stream, Some(peer)));
        },
    )
    .await
}
