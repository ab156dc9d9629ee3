//! The little a runtime must give the driver: spawn a task and sleep until
//! an instant. Sockets come in as futures-io streams, so each runtime crate
//! only adapts its own listener and stream types.

use core::future::Future;
use core::pin::Pin;
use std::time::Instant as StdInstant;

/// A boxed, sendable future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// An executor and a timer source.
pub trait Runtime: Send + Sync + 'static {
    /// Runs `future` to completion in the background.
    fn spawn(&self, future: BoxFuture<()>);

    /// A future that completes at `deadline` (at once if it has passed).
    fn sleep_until(&self, deadline: StdInstant) -> BoxFuture<()>;
}

/// A byte stream to a server: what a [`Connector`] opens.
pub trait ClientStream:
    futures_lite::AsyncRead + futures_lite::AsyncWrite + Unpin + Send + 'static
{
}

impl<S> ClientStream for S where
    S: futures_lite::AsyncRead + futures_lite::AsyncWrite + Unpin + Send + 'static
{
}

/// Opens TCP connections for the client ([`ClientSocket`](super::ClientSocket)).
/// Each runtime crate implements it on its [`Runtime`] type.
pub trait Connector: Send + Sync + 'static {
    /// The runtime's TCP stream, as futures-io.
    type Stream: ClientStream;

    /// Opens a TCP connection to `host:port`.
    fn connect(&self, host: &str, port: u16) -> BoxFuture<std::io::Result<Self::Stream>>;
}
