//! The little a runtime must give the driver: spawn a task, tell the time,
//! and timers. Sockets come in as futures-io streams, so each runtime crate
//! only adapts its own listener and stream types.
//!
//! The driver reads time only through [`Runtime::now`] and
//! [`Runtime::wall_clock`] and waits only on [`Runtime::timer`], so a test
//! runtime can run the whole driver on virtual time.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::time::{Instant as StdInstant, SystemTime};

/// A boxed, sendable future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// An executor, a clock and a timer source.
pub trait Runtime: Send + Sync + 'static {
    /// Runs `future` to completion in the background.
    fn spawn(&self, future: BoxFuture<()>);

    /// The runtime's monotonic clock: the driver's only source of time.
    fn now(&self) -> StdInstant;

    /// The wall clock, for what users read as a date (a handshake's
    /// `issued`); the system's unless a test runtime says otherwise.
    fn wall_clock(&self) -> SystemTime {
        SystemTime::now()
    }

    /// Which instance of its type this runtime is: client sockets share a
    /// manager (as socket.io-client's `io()` does) only on one instance,
    /// since a manager's tasks live on the runtime that made it. Runtimes
    /// with one executor per process keep the default.
    fn instance(&self) -> u64 {
        0
    }

    /// A timer that fires at `deadline` (at once if it has passed), and
    /// can be moved with [`Timer::reset`]: a task waiting on deadlines
    /// that change keeps one timer.
    fn timer(&self, deadline: StdInstant) -> Box<dyn Timer>;

    /// A future that completes at `deadline`: a one-shot [`Runtime::timer`].
    fn sleep_until(&self, deadline: StdInstant) -> BoxFuture<()> {
        let mut timer = self.timer(deadline);
        Box::pin(std::future::poll_fn(move |cx| timer.poll_fire(cx)))
    }
}

/// A resettable timer of a [`Runtime`].
pub trait Timer: Send {
    /// Moves the deadline; the timer fires (again) at `deadline`.
    fn reset(&mut self, deadline: StdInstant);

    /// `Ready` once the deadline has passed; otherwise the task of `cx` is
    /// woken when it does.
    fn poll_fire(&mut self, cx: &mut Context<'_>) -> Poll<()>;
}

/// A [`Timer`] as a future that completes when it fires.
pub(crate) fn fired(timer: &mut dyn Timer) -> impl Future<Output = ()> + '_ {
    std::future::poll_fn(move |cx| timer.poll_fire(cx))
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
