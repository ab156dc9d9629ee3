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
pub use crate::tower::{layer, NotFound, SioBody, SocketIoLayer, SocketIoService};

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

    fn sleep_until(&self, deadline: Instant) -> BoxFuture<()> {
        // Made when first polled, inside the runtime's context.
        Box::pin(async move { tokio::time::sleep_until(deadline.into()).await })
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
    let listener = &listener;
    accept_loop(
        &Tokio::current(),
        move || listener.accept(),
        |(stream, peer)| {
            // Small packets go out at once (pongs, acks).
            let _ = stream.set_nodelay(true);
            let io = io.clone();
            tokio::spawn(async move {
                io.serve_connection(stream.compat(), Some(peer)).await;
            });
        },
    )
    .await
}
