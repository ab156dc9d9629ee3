//! A tower [`Layer`] that mounts a Socket.IO endpoint into any tower-based
//! HTTP application (axum, hyper, tonic's router...): requests for the
//! endpoint's path go to sio, everything else to the inner service, on
//! the same port. Node's `new Server(httpServer)`, in Rust. An Engine.IO
//! server mounts the same way ([`engine_io::layer`](crate::engine_io::layer),
//! Node's `engine.io` `attach`): the layer is generic over [`Mountable`].
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use axum::{routing::get, Router};
//! let io = sio_tokio::new(sio_tokio::Config::default());
//! io.on_connection(|socket| async move {
//!     let _ = socket.emit("hello", &"world");
//! });
//! let app = Router::new()
//!     .route("/", get(|| async { "hello from axum" }))
//!     .layer(sio_tokio::layer(io));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app).await
//! # }
//! ```
//!
//! WebSocket upgrades need an HTTP/1.1 server with upgrades enabled
//! (`axum::serve` and hyper-util's auto builder with `serve_connection_with_upgrades` do).
//!
//! HTTP timeouts belong to the server the layer is mounted in: the
//! `headers_timeout`, `body_timeout` and `keep_alive_timeout` of
//! [`Config`](crate::Config) (and `close_timeout`'s bound on a response
//! write) apply only to [`serve`](crate::serve). Mounted here, bound slow
//! clients with that server's settings: hyper's
//! `http1::Builder::header_read_timeout` (it needs a timer, such as
//! hyper-util's `TokioTimer`; recent hyper versions also start it while a
//! keep-alive connection is idle), tower-http's
//! `RequestBodyTimeoutLayer` for bodies, or a reverse proxy's own
//! timeouts. A whole-request timeout (tower-http's `TimeoutLayer`) must
//! exceed the ping interval (25 s by default), which is how long a
//! polling GET is held.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderName, HeaderValue, StatusCode};
use http_body::{Body, Frame, SizeHint};
use http_body_util::{BodyExt, Limited};
use hyper_util::rt::TokioIo;
use sio_core::wire::http as wire;
use tokio_util::compat::TokioAsyncReadCompatExt;
use tower_layer::Layer;
use tower_service::Service;

use crate::engine_io::EngineIo;
use crate::{BoxFuture, HttpExchange, ResponseWritten, SocketIo};

/// A server the layer mounts: [`SocketIo`] or [`EngineIo`] (sealed).
pub trait Mountable: Clone + Send + Sync + 'static + sealed::Sealed {
    /// Whether a request for `path` (without query) is for this server.
    fn matches_path(&self, path: &str) -> bool;
    /// Most bytes one request body may hold.
    fn max_body(&self) -> usize;
    /// Hands one request to the server.
    fn exchange(&self, request: wire::Request, peer: Option<SocketAddr>)
        -> BoxFuture<HttpExchange>;
    /// Hands the head of a request whose body was over [`Mountable::max_body`].
    fn exchange_too_large(&self, head: wire::Request) -> BoxFuture<HttpExchange>;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::SocketIo {}
    impl Sealed for crate::engine_io::EngineIo {}
}

impl Mountable for SocketIo {
    fn matches_path(&self, path: &str) -> bool {
        SocketIo::matches_path(self, path)
    }

    fn max_body(&self) -> usize {
        self.config_max_body()
    }

    fn exchange(
        &self,
        request: wire::Request,
        peer: Option<SocketAddr>,
    ) -> BoxFuture<HttpExchange> {
        let io = self.clone();
        Box::pin(async move { io.handle_http(request, peer).await })
    }

    fn exchange_too_large(&self, head: wire::Request) -> BoxFuture<HttpExchange> {
        let io = self.clone();
        Box::pin(async move { io.handle_http_too_large(head).await })
    }
}

impl Mountable for EngineIo {
    fn matches_path(&self, path: &str) -> bool {
        EngineIo::matches_path(self, path)
    }

    fn max_body(&self) -> usize {
        self.config_max_body()
    }

    fn exchange(
        &self,
        request: wire::Request,
        peer: Option<SocketAddr>,
    ) -> BoxFuture<HttpExchange> {
        let server = self.clone();
        Box::pin(async move { server.handle_http(request, peer).await })
    }

    fn exchange_too_large(&self, head: wire::Request) -> BoxFuture<HttpExchange> {
        let server = self.clone();
        Box::pin(async move { server.handle_http_too_large(head).await })
    }
}

/// Builds the [`SocketIoLayer`] for `io`.
pub fn layer(io: SocketIo) -> SocketIoLayer {
    SocketIoLayer { io }
}

/// Wraps a service so that the Socket.IO (or, with `T` = [`EngineIo`],
/// Engine.IO) endpoint is served in front of it.
#[derive(Debug, Clone)]
pub struct SocketIoLayer<T = SocketIo> {
    io: T,
}

/// The layer of an Engine.IO server ([`engine_io::layer`](crate::engine_io::layer)).
pub type EngineIoLayer = SocketIoLayer<EngineIo>;

/// An Engine.IO server in front of `S`.
pub type EngineIoService<S> = SocketIoService<S, EngineIo>;

impl<T: Mountable> SocketIoLayer<T> {
    /// The layer for `server` (either server).
    pub fn new(server: T) -> Self {
        SocketIoLayer { io: server }
    }
}

impl<S, T: Clone> Layer<S> for SocketIoLayer<T> {
    type Service = SocketIoService<S, T>;

    fn layer(&self, inner: S) -> Self::Service {
        SocketIoService {
            io: self.io.clone(),
            inner,
        }
    }
}

/// The Socket.IO (or Engine.IO) endpoint in front of `S`.
#[derive(Debug, Clone)]
pub struct SocketIoService<S, T = SocketIo> {
    io: T,
    inner: S,
}

impl<S, T> SocketIoService<S, T> {
    /// The endpoint alone, answering 404 to every other path.
    pub fn standalone(io: T) -> SocketIoService<NotFound, T> {
        SocketIoService {
            io,
            inner: NotFound,
        }
    }
}

impl<S, T, ReqBody, ResBody> Service<http::Request<ReqBody>> for SocketIoService<S, T>
where
    T: Mountable,
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
    ReqBody: Body + Send + 'static,
    ReqBody::Data: Send,
    ReqBody::Error: std::error::Error + Send + Sync + 'static,
{
    type Response = http::Response<SioBody<ResBody>>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        if self.io.matches_path(request.uri().path()) {
            let io = self.io.clone();
            Box::pin(async move { Ok(serve_request(io, request).await) })
        } else {
            let inner = self.inner.call(request);
            Box::pin(async move { inner.await.map(|response| response.map(SioBody::Inner)) })
        }
    }
}

async fn serve_request<T: Mountable, ReqBody, ResBody>(
    io: T,
    mut request: http::Request<ReqBody>,
) -> http::Response<SioBody<ResBody>>
where
    ReqBody: Body + Send + 'static,
    ReqBody::Data: Send,
    ReqBody::Error: std::error::Error + Send + Sync + 'static,
{
    let wants_upgrade = request.headers().contains_key(http::header::UPGRADE);
    let on_upgrade = wants_upgrade.then(|| hyper::upgrade::on(&mut request));
    let peer = request.extensions().get::<SocketAddr>().copied();
    let limit = io.max_body();
    let (parts, body) = request.into_parts();
    let body = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        // Limited reports an oversized body as its own error type; the
        // server answers it as the standalone server does.
        Err(error) if error.is::<http_body_util::LengthLimitError>() => {
            let head = core_request(&parts, Bytes::new());
            return match io.exchange_too_large(head).await {
                HttpExchange::Refused(response, written) => refused(response, written),
                _ => plain(StatusCode::PAYLOAD_TOO_LARGE),
            };
        }
        Err(_) => return plain(StatusCode::BAD_REQUEST),
    };
    let core_request = core_request(&parts, body);
    match io.exchange(core_request, peer).await {
        HttpExchange::Response(response) => to_http(response),
        HttpExchange::Refused(response, written) => refused(response, written),
        HttpExchange::Upgrade(response, upgrade) => {
            let Some(on_upgrade) = on_upgrade else {
                return plain(StatusCode::BAD_REQUEST);
            };
            tokio::spawn(async move {
                match on_upgrade.await {
                    // hyper hands over any bytes it read past the request first.
                    Ok(upgraded) => upgrade.serve(TokioIo::new(upgraded).compat(), &[]).await,
                    Err(error) => tracing::debug!(%error, "WebSocket upgrade failed"),
                }
            });
            to_http(response)
        }
        _ => plain(StatusCode::SERVICE_UNAVAILABLE),
    }
}

/// The core's view of a request: its head and `body`.
fn core_request(parts: &http::request::Parts, body: Bytes) -> wire::Request {
    wire::Request {
        method: method(&parts.method),
        target: parts
            .uri
            .path_and_query()
            .map(|pq| pq.as_str().to_owned())
            .unwrap_or_else(|| parts.uri.path().to_owned()),
        headers: parts
            .headers
            .iter()
            .map(|(name, value)| wire::Header {
                name: name.as_str().to_owned(),
                value: String::from_utf8_lossy(value.as_bytes()).trim().to_owned(),
            })
            .collect(),
        body,
        keep_alive: true,
    }
}

/// A refused request's response, whose body holds `written` until hyper is
/// done with it: the session fails after the 413 is out, not before.
fn refused<B>(response: wire::Response, written: ResponseWritten) -> http::Response<SioBody<B>> {
    to_http(response).map(|body| match body {
        SioBody::Full(bytes) => SioBody::Refused(bytes, Some(written)),
        other => other,
    })
}

fn method(method: &http::Method) -> wire::Method {
    match *method {
        http::Method::GET => wire::Method::Get,
        http::Method::POST => wire::Method::Post,
        http::Method::PUT => wire::Method::Put,
        http::Method::OPTIONS => wire::Method::Options,
        http::Method::HEAD => wire::Method::Head,
        http::Method::DELETE => wire::Method::Delete,
        ref other => wire::Method::Other(other.as_str().to_owned()),
    }
}

fn to_http<B>(response: wire::Response) -> http::Response<SioBody<B>> {
    let mut out = http::Response::new(SioBody::Full(Some(response.body)));
    *out.status_mut() =
        StatusCode::from_u16(response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = out.headers_mut();
    for (name, value) in response.headers {
        // The core writes valid header lines; anything else is skipped, not sent broken.
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            headers.append(name, value);
        }
    }
    out
}

fn plain<B>(status: StatusCode) -> http::Response<SioBody<B>> {
    let mut out = http::Response::new(SioBody::Full(None));
    *out.status_mut() = status;
    out
}

/// The response body: sio's own bytes, or the inner service's body.
#[derive(Debug)]
pub enum SioBody<B> {
    /// A whole body from sio (taken once it is sent).
    Full(Option<Bytes>),
    /// The inner service's body.
    Inner(B),
    /// A refused request's answer; what it holds is dropped when the body
    /// is done, which lets the server fail the session.
    Refused(Option<Bytes>, Option<ResponseWritten>),
}

impl<B> Body for SioBody<B>
where
    B: Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        match self.get_mut() {
            SioBody::Full(bytes) => Poll::Ready(
                bytes
                    .take()
                    .filter(|b| !b.is_empty())
                    .map(|b| Ok(Frame::data(b))),
            ),
            SioBody::Inner(inner) => Pin::new(inner).poll_frame(cx),
            SioBody::Refused(bytes, written) => {
                let frame = bytes.take().filter(|b| !b.is_empty());
                if frame.is_none() {
                    written.take();
                }
                Poll::Ready(frame.map(|b| Ok(Frame::data(b))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            SioBody::Full(bytes) | SioBody::Refused(bytes, _) => {
                bytes.as_ref().is_none_or(|b| b.is_empty())
            }
            SioBody::Inner(inner) => inner.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            SioBody::Full(bytes) | SioBody::Refused(bytes, _) => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
            SioBody::Inner(inner) => inner.size_hint(),
        }
    }
}

/// The inner service of [`SocketIoService::standalone`]: 404 for everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NotFound;

impl<R> Service<http::Request<R>> for NotFound {
    type Response = http::Response<SioBody<http_body_util::Empty<Bytes>>>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _request: http::Request<R>) -> Self::Future {
        std::future::ready(Ok(plain(StatusCode::NOT_FOUND)))
    }
}
