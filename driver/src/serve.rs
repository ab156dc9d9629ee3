//! What a runtime crate's accept loop serves: either server of this crate.
//! Top floor: it names the server handles.

use std::net::SocketAddr;

use futures_lite::io::{AsyncRead, AsyncWrite};

use crate::engine_io::EngineIo;
use crate::io::SocketIo;
use crate::runtime::BoxFuture;

/// A server that serves the connections a runtime's listener accepts:
/// [`SocketIo`] and [`EngineIo`]. The runtime crates' `serve` functions
/// are written once over it.
pub trait ServeConnection: Clone + Send + Sync + 'static {
    /// Serves `stream` until it closes (HTTP/1.1 with keep-alive, and the
    /// WebSocket it may become).
    fn serve<S>(&self, stream: S, peer: Option<SocketAddr>) -> BoxFuture<()>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static;
}

impl ServeConnection for SocketIo {
    fn serve<S>(&self, stream: S, peer: Option<SocketAddr>) -> BoxFuture<()>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let io = self.clone();
        Box::pin(async move { io.serve_connection(stream, peer).await })
    }
}

impl ServeConnection for EngineIo {
    fn serve<S>(&self, stream: S, peer: Option<SocketAddr>) -> BoxFuture<()>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let server = self.clone();
        Box::pin(async move { server.serve_connection(stream, peer).await })
    }
}
