//! Moving bytes between a connection and the core: HTTP/1.1 requests with
//! keep-alive and pipelining (one at a time, in order), held polling
//! requests (watching for the client to go away), and WebSocket.

use std::cell::RefCell;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};

use bytes::BytesMut;
use futures_lite::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

mod websocket;

use super::admission::{admit, hand_over};
use super::endpoint::{Endpoint, Layer, ServerMachine};
use super::group::Groups;
use super::outbox::OutboxReceiver;
use super::runtime::{BoxFuture, Timer};
use sio_core::engine::{ConnId, Io};
use sio_core::time::Instant;
use sio_core::wire::http::{ConnDeadline, Expiry, Request, RequestParser, Response};
use websocket::websocket;

/// Bytes read from a socket at once.
const READ_CHUNK: usize = 4096;

/// Reads a WebSocket's task makes in one poll at most.
const READS_PER_POLL: usize = 32;

/// Answers a standalone server's requests that are not for the Socket.IO
/// endpoint (see [`SocketIo::set_fallback`](super::SocketIo::set_fallback)).
pub(crate) type Fallback = dyn Fn(&Request) -> Response + Send + Sync + 'static;

/// The fallback every clone of a `SocketIo` shares; set at any time.
pub(crate) type FallbackSlot = Arc<RwLock<Option<Arc<Fallback>>>>;

/// The answer to a request for another path than the endpoint's: the
/// application's fallback, else 404.
fn answer_elsewhere(fallback: &FallbackSlot, request: &Request) -> Response {
    // Cloned out, so the handler runs without the lock held.
    let handler = match fallback.read() {
        Ok(slot) => slot.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    };
    let Some(handler) = handler else {
        return Response::new(404).with_body("text/plain; charset=utf-8", "Not Found");
    };
    let response = handler(request);
    // A 1xx would leave the client waiting for a final answer that never comes.
    if response.status < 200 {
        tracing::warn!(
            status = response.status,
            "the fallback answered with an interim status; sending 500"
        );
        return Response::new(500).with_body("text/plain; charset=utf-8", "Internal Server Error");
    }
    response
}

/// How an HTTP request handed in by another HTTP stack was answered.
#[derive(Debug)]
#[non_exhaustive]
pub enum HttpExchange {
    /// Send this response; the exchange is over.
    Response(Response),
    /// Send this `101` response, then give the upgraded connection to
    /// [`WebSocketUpgrade::serve`].
    Upgrade(Response, WebSocketUpgrade),
    /// The server dropped the request without an answer (it is shutting down).
    Dropped,
    /// A request refused for its body's size: send this response (413),
    /// then drop the [`ResponseWritten`], which tells the server so: only
    /// then does the session the request was for fail (and its held poll
    /// get its close packet), so that the client reads the 413 first, as
    /// from the standalone server.
    Refused(Response, ResponseWritten),
}

/// Dropped once the response it came with is written (see
/// [`HttpExchange::Refused`]).
pub struct ResponseWritten {
    _guard: Box<dyn Send + Sync>,
}

impl std::fmt::Debug for ResponseWritten {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseWritten").finish_non_exhaustive()
    }
}

/// A request the core turned into a WebSocket, waiting for its stream
/// (for either server: [`SocketIo`](super::SocketIo) or
/// `EngineIo`).
pub struct WebSocketUpgrade {
    pending: Box<dyn PendingUpgrade>,
}

impl WebSocketUpgrade {
    /// Runs the WebSocket over `stream` (whose first bytes may already be
    /// in `initial`) until it closes.
    pub async fn serve<S>(self, stream: S, initial: &[u8])
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        self.pending.serve(Box::new(stream), initial).await;
    }
}

impl std::fmt::Debug for WebSocketUpgrade {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocketUpgrade")
            .field("conn", &self.pending.conn())
            .finish()
    }
}

/// An upgraded stream from another HTTP stack, boxed: one type whatever
/// the stack.
trait UpgradedStream: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> UpgradedStream for T {}

/// What [`WebSocketUpgrade`] holds, for any server layer.
trait PendingUpgrade: Send {
    fn conn(&self) -> ConnId;
    fn serve(self: Box<Self>, stream: Box<dyn UpgradedStream>, initial: &[u8]) -> BoxFuture<()>;
}

/// The connection a WebSocket upgrade will run on.
struct Upgrading<L: Layer> {
    shared: Arc<L>,
    conn: ConnId,
    outputs: OutboxReceiver,
    /// Dropped unserved, it still tells the core the connection is gone.
    guard: ConnGuard<L>,
}

impl<L: Layer> PendingUpgrade for Upgrading<L> {
    fn conn(&self) -> ConnId {
        self.conn
    }

    fn serve(self: Box<Self>, stream: Box<dyn UpgradedStream>, initial: &[u8]) -> BoxFuture<()> {
        let Upgrading {
            shared,
            conn,
            outputs,
            guard,
        } = *self;
        if !initial.is_empty() {
            // Bytes that came with the upgrade request (rare).
            shared.process_conn(conn, |server, now| {
                server.handle_ws_data(now, conn, initial)
            });
        }
        Box::pin(websocket(shared, conn, outputs, stream, guard))
    }
}

impl<L: Layer> std::fmt::Debug for ConnGuard<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ConnGuard").field(&self.conn).finish()
    }
}

/// Tells the core a connection is gone when the task serving it ends, even
/// by cancellation (a tower future dropped when its client disconnects).
struct ConnGuard<L: Layer> {
    shared: Arc<L>,
    conn: ConnId,
}

impl<L: Layer> ConnGuard<L> {
    fn new(shared: Arc<L>, conn: ConnId) -> Self {
        ConnGuard { shared, conn }
    }
}

impl<L: Layer> Drop for ConnGuard<L> {
    fn drop(&mut self) {
        self.shared.close_conn(self.conn);
    }
}

/// One request from another HTTP stack: hands it to the core and waits for
/// its answer (a held poll may wait long).
pub(crate) async fn exchange<L: Layer>(
    shared: Arc<L>,
    request: Request,
    peer: Option<SocketAddr>,
) -> HttpExchange {
    if refused_at_shutdown(shared.endpoint(), &request) {
        return HttpExchange::Response(shutting_down());
    }
    let (conn, outputs) = shared
        .endpoint()
        .open_conn(shared.endpoint().shard_for(&request));
    let guard = ConnGuard::new(shared.clone(), conn);
    // The tower future is dropped if its client goes away meanwhile.
    let gone = std::future::pending();
    let Some((verdict, extra)) = admit(shared.endpoint(), &request, peer, gone).await else {
        return HttpExchange::Dropped;
    };
    hand_over(&shared, conn, request, peer, verdict);
    match outputs.recv().await {
        // A refused POST: the core fails its session once this is written.
        Ok(Io::Respond { response, .. }) if response.status == 413 => HttpExchange::Refused(
            *response,
            ResponseWritten {
                _guard: Box::new(guard),
            },
        ),
        Ok(Io::Respond { mut response, .. }) => {
            extra.apply(&mut response);
            HttpExchange::Response(*response)
        }
        Ok(Io::Upgrade { mut response, .. }) => HttpExchange::Upgrade(
            {
                extra.apply(&mut response);
                *response
            },
            WebSocketUpgrade {
                pending: Box::new(Upgrading {
                    shared,
                    conn,
                    outputs,
                    guard,
                }),
            },
        ),
        _ => HttpExchange::Dropped,
    }
}

/// Serves one connection accepted by a runtime's listener.
pub(crate) async fn serve<L: Layer, S>(
    shared: Arc<L>,
    fallback: FallbackSlot,
    groups: Arc<Groups>,
    mut stream: S,
    peer: Option<SocketAddr>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let endpoint = shared.endpoint();
    let mut parser = RequestParser::new(endpoint.http_limits);
    let mut timer = HttpTimer::new(endpoint);
    loop {
        let request = match next_request(endpoint, &mut stream, &mut parser, &mut timer).await {
            Ok(Some(request)) => request,
            Ok(None) => return,
            Err(response) => {
                // A body over the limit, refused unread: for the endpoint,
                // the core answers, and the session it was for fails once
                // the answer is written (the guard dropped after it).
                let answered = match parser.take_refused_head() {
                    Some((head, arrived)) if endpoint.read(|server| server.matches(&head)) => {
                        drain_refused_body(endpoint, &mut stream, &head, arrived).await;
                        answer_too_large(&shared, head).await
                    }
                    _ => None,
                };
                let (response, guard) = match answered {
                    Some((response, guard)) => (response, Some(guard)),
                    None => (response, None),
                };
                write_response(endpoint, &mut stream, &mut timer, &response, false).await;
                drop(guard);
                return;
            }
        };
        let keep_alive = request.keep_alive;
        if !endpoint.read(|server| server.matches(&request)) {
            let response = answer_elsewhere(&fallback, &request);
            if !write_response(endpoint, &mut stream, &mut timer, &response, keep_alive).await
                || !keep_alive
            {
                return;
            }
            continue;
        }
        if refused_at_shutdown(endpoint, &request) {
            write_response(endpoint, &mut stream, &mut timer, &shutting_down(), false).await;
            return;
        }
        let (conn, outputs) = endpoint.open_conn(endpoint.shard_for(&request));
        let guard = ConnGuard::new(shared.clone(), conn);
        let gone = async {
            watch_for_close(&mut stream, &mut parser).await;
        };
        let Some((verdict, extra)) = admit(endpoint, &request, peer, gone).await else {
            return;
        };
        hand_over(&shared, conn, request, peer, verdict);
        // No request deadline while the core holds the request: it answers
        // a held poll within the ping interval.
        let answer = futures_lite::future::or(
            async { outputs.recv().await.ok() },
            watch_for_close(&mut stream, &mut parser),
        )
        .await;
        match answer {
            Some(Io::Respond { mut response, .. }) => {
                extra.apply(&mut response);
                // A refused upgrade request closes its connection, as `ws` does.
                let keep_alive = keep_alive && response.header("connection") != Some("close");
                // The core hears the request is gone once its answer is
                // written (a refused POST's session fails only then).
                let written =
                    write_response(endpoint, &mut stream, &mut timer, &response, keep_alive).await;
                drop(guard);
                if !written || !keep_alive {
                    return;
                }
            }
            Some(Io::Upgrade { mut response, .. }) => {
                extra.apply(&mut response);
                // The 101 and what the core queued behind it (the open
                // packet) leave in one write.
                let mut out = BytesMut::with_capacity(512);
                response.encode(&mut out);
                let sent = outputs.take_transmits(&mut out);
                if !write_within(endpoint, &mut stream, &mut timer, &out).await {
                    return;
                }
                drop(out);
                if sent > 0 {
                    shared.process_conn(conn, |server, now| server.handle_flushed(now, conn));
                }
                // Nothing of the HTTP side stays with the WebSocket: it
                // runs on a task of its own, sized for it alone (this
                // task's state is sized for every HTTP step too).
                let initial = parser.take_buffered();
                drop((parser, timer, response));
                if !initial.is_empty() {
                    // Bytes that came with the upgrade request (rare):
                    // their handlers run on tasks of their own.
                    shared.process_conn(conn, |server, now| {
                        server.handle_ws_data(now, conn, &initial)
                    });
                }
                drop(initial);
                // In a connection group, not a task of its own: sio's
                // run queue decides which ready WebSocket goes next.
                let runtime = endpoint.host().runtime().clone();
                let shards = endpoint.shard_count();
                let shard = endpoint.shard_of_conn(conn);
                let socket = Box::pin(websocket(shared, conn, outputs, stream, guard));
                match shards {
                    1 => groups.spawn(runtime.as_ref(), socket),
                    // A shard's WebSockets in one group: its inputs come
                    // from one task, so no other group contends for its lock.
                    _ => groups.spawn_in(runtime.as_ref(), shard, socket),
                }
                return;
            }
            // The client went away (or the server dropped the request).
            _ => return,
        }
    }
}

/// Reads and drops the rest of a body refused for its size, as Node reads
/// a body until it passes the limit: the client then finishes sending and
/// reads the 413 as the answer to its POST (closing on a body half sent
/// would reset the connection under it). Only up to the limit and one
/// read chunk past it, within the body deadline; a larger or chunked body
/// is not waited for.
async fn drain_refused_body<M: ServerMachine, S>(
    endpoint: &Endpoint<M>,
    stream: &mut S,
    head: &Request,
    arrived: usize,
) where
    S: AsyncRead + Unpin,
{
    let Some(length) = head
        .header("content-length")
        .and_then(|v| v.trim().parse::<usize>().ok())
    else {
        return;
    };
    if length > endpoint.http_limits.max_body_bytes + 64 * 1024 {
        return;
    }
    let mut left = length.saturating_sub(arrived);
    let drain = async {
        let mut buf = [0u8; 4096];
        while left > 0 {
            match futures_lite::AsyncReadExt::read(stream, &mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    };
    let deadline = endpoint.host().clock().now_std() + endpoint.http_timeouts.body;
    futures_lite::future::or(drain, endpoint.host().runtime().sleep_until(deadline)).await;
}

/// The core's answer to a request whose body was refused for its size;
/// the guard tells the core when the answer is written.
async fn answer_too_large<L: Layer>(
    shared: &Arc<L>,
    head: Request,
) -> Option<(Response, ConnGuard<L>)> {
    let (conn, outputs) = shared
        .endpoint()
        .open_conn(shared.endpoint().shard_for(&head));
    let guard = ConnGuard::new(shared.clone(), conn);
    shared.process_conn(conn, |server, now| {
        server.handle_request_too_large(now, conn, head)
    });
    match outputs.recv().await {
        Ok(Io::Respond { response, .. }) => Some((*response, guard)),
        _ => None,
    }
}

/// A request from another HTTP stack whose body that stack refused for its
/// size (`head` without the body): the core's 413, held as the standalone
/// server holds it.
pub(crate) async fn exchange_too_large<L: Layer>(shared: Arc<L>, head: Request) -> HttpExchange {
    match answer_too_large(&shared, head).await {
        Some((response, guard)) => HttpExchange::Refused(
            response,
            ResponseWritten {
                _guard: Box::new(guard),
            },
        ),
        None => HttpExchange::Dropped,
    }
}

/// After `shutdown` no session opens any more (Node closes its HTTP server);
/// requests of existing sessions still get their last packets.
fn refused_at_shutdown<M: ServerMachine>(shared: &Endpoint<M>, request: &Request) -> bool {
    shared.is_shutting_down() && request.query_param("sid").is_none()
}

fn shutting_down() -> Response {
    Response::new(503).with_body("text/plain; charset=utf-8", "Server shutting down")
}

/// A connection's HTTP deadline (the core's [`ConnDeadline`]) and the one
/// runtime timer armed for it: made at the first deadline, moved when the
/// deadline moves (not per read), kept while there is none.
struct HttpTimer {
    deadline: ConnDeadline,
    /// The timer and the deadline it is armed for (`None`: spent).
    alarm: Option<(Option<Instant>, Box<dyn Timer>)>,
}

impl HttpTimer {
    fn new<M: ServerMachine>(shared: &Endpoint<M>) -> Self {
        HttpTimer {
            deadline: ConnDeadline::new(shared.http_timeouts, shared.host().clock().now()),
            alarm: None,
        }
    }

    fn request_complete(&mut self) {
        self.deadline.request_complete();
    }

    /// `Ready` with what to do once the current deadline passed; never
    /// while there is none.
    fn poll_expired<M: ServerMachine>(
        &mut self,
        cx: &mut Context<'_>,
        shared: &Endpoint<M>,
    ) -> Poll<Expiry> {
        let clock = shared.host().clock();
        loop {
            let Some(at) = self.deadline.deadline() else {
                return Poll::Pending;
            };
            let alarm = match &mut self.alarm {
                Some((armed, alarm)) => {
                    if *armed != Some(at) {
                        alarm.reset(clock.to_std(at));
                        *armed = Some(at);
                    }
                    alarm
                }
                slot => {
                    let timer = shared.host().runtime().timer(clock.to_std(at));
                    &mut slot.insert((Some(at), timer)).1
                }
            };
            if alarm.poll_fire(cx).is_pending() {
                return Poll::Pending;
            }
            // Fired: armed again only for a new deadline.
            if let Some((armed, _)) = &mut self.alarm {
                *armed = None;
            }
            if let Some(expiry) = self.deadline.expired(clock.now()) {
                return Poll::Ready(expiry);
            }
        }
    }
}

/// Reads until the parser has a whole request, within the connection's
/// deadline. `Ok(None)`: the connection is over (closed by the peer, or
/// idle too long); `Err`: the error response to send before closing.
async fn next_request<M: ServerMachine, S>(
    shared: &Endpoint<M>,
    stream: &mut S,
    parser: &mut RequestParser,
    timer: &mut HttpTimer,
) -> Result<Option<Request>, Response>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    loop {
        match parser.poll_request() {
            Ok(Some(request)) => {
                timer.request_complete();
                return Ok(Some(request));
            }
            Ok(None) => {}
            Err(error) => {
                tracing::debug!(%error, "malformed HTTP request");
                return Err(Response::new(error.status())
                    .with_body("text/plain; charset=utf-8", error.to_string()));
            }
        }
        timer
            .deadline
            .parsed(shared.host().clock().now(), parser.stage());
        if parser.take_expect_continue() {
            let mut write = core::pin::pin!(stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n"));
            let written = std::future::poll_fn(|cx| match write.as_mut().poll(cx) {
                Poll::Ready(result) => Poll::Ready(Ok(result.is_ok())),
                Poll::Pending => timer.poll_expired(cx, shared).map(Err),
            })
            .await;
            match written {
                Ok(true) => {}
                Ok(false) => return Ok(None),
                Err(expiry) => return timed_out(expiry),
            }
        }
        let read = std::future::poll_fn(|cx| match poll_feed(cx, stream, parser) {
            Poll::Ready(more) => Poll::Ready(Ok(more)),
            Poll::Pending => timer.poll_expired(cx, shared).map(Err),
        })
        .await;
        match read {
            Ok(true) => {}
            Ok(false) => return Ok(None),
            Err(expiry) => return timed_out(expiry),
        }
    }
}

/// What [`next_request`] returns for a passed deadline.
fn timed_out(expiry: Expiry) -> Result<Option<Request>, Response> {
    tracing::debug!(?expiry, "HTTP connection timed out");
    match expiry.response() {
        Some(response) => Err(response),
        None => Ok(None),
    }
}

/// While a request is held, reads what the client sends (pipelined bytes
/// are kept for later) and returns `None` when it closes the connection.
async fn watch_for_close<S>(stream: &mut S, parser: &mut RequestParser) -> Option<Io>
where
    S: AsyncRead + Unpin,
{
    loop {
        if !std::future::poll_fn(|cx| poll_feed(cx, stream, parser)).await {
            return None;
        }
        // A client pipelining without bound while its poll is held gets no
        // more buffer than one request may use.
        if parser.buffered_len() > READ_CHUNK + 64 * 1024 + 1_000_000 {
            return None;
        }
    }
}

/// Reads what the socket has into the thread's buffer and feeds it to
/// `parser` in the same poll, so an idle connection keeps no read buffer.
/// `Ready(false)` once the peer closed or the read failed.
fn poll_feed<S>(cx: &mut Context<'_>, stream: &mut S, parser: &mut RequestParser) -> Poll<bool>
where
    S: AsyncRead + Unpin,
{
    poll_read_shared(cx, stream, |data| parser.feed(data))
}

/// Reads what `reader` has into the thread's one read buffer and hands the
/// bytes to `take` within the same poll: no connection keeps a buffer
/// between reads. `Ready(false)` once the peer closed or the read failed.
fn poll_read_shared<R>(cx: &mut Context<'_>, reader: &mut R, take: impl FnOnce(&[u8])) -> Poll<bool>
where
    R: AsyncRead + Unpin,
{
    READ_BUFFER.with(|cell| {
        // Taken by a read already under way on this thread (not expected:
        // what `take` does polls no connection): a buffer of its own.
        let mut own = Vec::new();
        let mut borrowed = cell.try_borrow_mut();
        let buf = match borrowed.as_deref_mut() {
            Ok(buf) => buf,
            Err(_) => &mut own,
        };
        if buf.len() < READ_CHUNK {
            buf.resize(READ_CHUNK, 0);
        }
        match Pin::new(reader).poll_read(cx, buf) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(0) | Err(_)) => Poll::Ready(false),
            Poll::Ready(Ok(n)) => {
                take(buf.get(..n).unwrap_or(&[]));
                Poll::Ready(true)
            }
        }
    })
}

/// Writes `response` within the write timeout; `false` when the
/// connection is to be dropped (the write failed or timed out).
async fn write_response<M: ServerMachine, S>(
    shared: &Endpoint<M>,
    stream: &mut S,
    timer: &mut HttpTimer,
    response: &Response,
    keep_alive: bool,
) -> bool
where
    S: AsyncWrite + Unpin,
{
    let mut out = BytesMut::with_capacity(256 + response.body.len());
    if keep_alive || response.status == 101 {
        response.encode(&mut out);
    } else {
        response
            .clone()
            .with_header("Connection", "close")
            .encode(&mut out);
    }
    write_within(shared, stream, timer, &out).await
}

/// Writes and flushes `bytes`, giving up at the write deadline (a client
/// that does not read must not hold the connection); `false` when the
/// connection is to be dropped.
async fn write_within<M: ServerMachine, S>(
    shared: &Endpoint<M>,
    stream: &mut S,
    timer: &mut HttpTimer,
    bytes: &[u8],
) -> bool
where
    S: AsyncWrite + Unpin,
{
    timer.deadline.response_started(shared.host().clock().now());
    let mut write = core::pin::pin!(async {
        stream.write_all(bytes).await?;
        stream.flush().await
    });
    let written = std::future::poll_fn(|cx| match write.as_mut().poll(cx) {
        Poll::Ready(result) => Poll::Ready(result.is_ok()),
        Poll::Pending => timer.poll_expired(cx, shared).map(|_| {
            tracing::debug!("the client did not read its response in time; dropping it");
            false
        }),
    })
    .await;
    if written {
        timer.deadline.response_written(shared.host().clock().now());
    }
    written
}

std::thread_local! {
    /// The one read buffer of a thread's WebSockets: a read and the core's
    /// handling of it happen in one poll, so no connection keeps a buffer.
    static READ_BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}
