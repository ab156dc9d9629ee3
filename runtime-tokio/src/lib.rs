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
//! the other runtime crates (`sio_core::driver`): moving an application to
//! sio-smol means changing this crate's name in its imports.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::time::Instant;

use tokio::net::TcpListener;
use tokio_util::compat::TokioAsyncReadCompatExt;

pub use sio_core::driver::*;

mod tower;
pub use crate::tower::{layer, NotFound, SioBody, SocketIoLayer, SocketIoService};

/// tokio as a [`Runtime`]: tasks on the current tokio runtime, tokio timers.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tokio;

impl Runtime for Tokio {
    fn spawn(&self, future: BoxFuture<()>) {
        tokio::spawn(future);
    }

    fn sleep_until(&self, deadline: Instant) -> BoxFuture<()> {
        Box::pin(tokio::time::sleep_until(deadline.into()))
    }
}

/// A server on tokio. Call it inside a tokio runtime (it starts the timer task).
pub fn new(config: Config) -> SocketIo {
    SocketIo::with_runtime(Tokio, config)
}

/// Accepts connections on `listener` and serves each on its own task, until
/// accepting fails.
pub async fn serve(listener: TcpListener, io: SocketIo) -> std::io::Result<()> {
    loop {
        let (stream, peer) = listener.accept().await?;
        // Small packets go out at once (pongs, acks).
        let _ = stream.set_nodelay(true);
        let io = io.clone();
        tokio::spawn(async move {
            io.serve_connection(stream.compat(), Some(peer)).await;
        });
    }
}
