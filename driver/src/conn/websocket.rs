//! A running WebSocket (the connection floor's, `conn`): one hand-written
//! future per connection that reads frames into the core and writes what
//! the core transmits, with the outbox's backpressure.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Buf;
use futures_lite::io::{AsyncRead, AsyncWrite};

use super::{poll_read_shared, ConnGuard, READS_PER_POLL};
use crate::endpoint::{Layer, ServerMachine};
use crate::outbox::OutboxReceiver;
use sio_core::engine::{ConnId, Io};

/// Runs a WebSocket: what the client sends goes to the core, what the core
/// transmits goes out, and the core hears when everything sent is written.
/// One hand-written state machine over the whole stream: an idle
/// connection's task holds the stream, its outbox and little else.
pub(super) fn websocket<L: Layer, S>(
    shared: Arc<L>,
    conn: ConnId,
    outputs: OutboxReceiver,
    stream: S,
    guard: ConnGuard<L>,
) -> impl core::future::Future<Output = ()> + Send
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    debug_assert!(Arc::ptr_eq(&shared, &guard.shared) && conn == guard.conn);
    drop(shared);
    let mut pump = WsPump {
        stream,
        // Dropped after the stream, before the outbox: the core hears the
        // connection is gone once it is closed.
        guard,
        outputs,
        writing: None,
        unflushed: false,
        written: (0, 0),
        closing: false,
    };
    std::future::poll_fn(move |cx| pump.poll(cx))
}

/// The state of a running WebSocket: every idle connection holds one, so
/// nothing twice (the guard's server and connection id serve it too).
struct WsPump<L: Layer, S> {
    stream: S,
    guard: ConnGuard<L>,
    outputs: OutboxReceiver,
    /// What is left to write of the frame being written.
    writing: Option<bytes::Bytes>,
    /// Written since the last flush.
    unflushed: bool,
    /// Frames and bytes written since the core was last told.
    written: (usize, usize),
    /// The core asked to close: flushing and closing the stream.
    closing: bool,
}

impl<L: Layer, S: AsyncRead + AsyncWrite + Unpin> WsPump<L, S> {
    /// `Ready` once the connection is over.
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if !self.closing && self.poll_read_side(cx).is_ready() {
            return Poll::Ready(());
        }
        let poll = self.poll_write_side(cx);
        // One report per poll, however many frames it wrote.
        if self.written != (0, 0) {
            let (frames, bytes) = core::mem::take(&mut self.written);
            self.guard
                .shared
                .endpoint()
                .report_written(self.guard.conn, frames, bytes);
        }
        poll
    }

    /// Blocked on the socket: `Ready` if the core aborted the connection
    /// meanwhile (its peer does not read), which drops it at once.
    fn blocked(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.outputs.poll_aborted(cx) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    /// Reads, hands the bytes to the core and starts the handlers they
    /// woke, all within this poll: no read buffer and no handler state
    /// stays between reads. The handlers start here, on the connection's
    /// own task: no spawn, no hop to another thread before an ack is
    /// written. `Ready` when the peer closed.
    fn poll_read_side(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        // What a read queues is written by the writing side, polled right
        // after: no wake for it (a wake would only queue this task on the
        // runtime again). Set on the first read with data: a poll woken
        // only to write (a broadcast) reads nothing and skips the two locks.
        let mut looking = false;
        // The thread's list, so no connection keeps one between polls.
        let mut ready = L::take_ready_list();
        let mut reads = 0;
        let poll = loop {
            if reads == READS_PER_POLL {
                // A client that never stops sending: let the writing side
                // and the runtime's other tasks run, then come back.
                cx.waker().wake_by_ref();
                break Poll::Pending;
            }
            reads += 1;
            let feed = Feed {
                shared: &self.guard.shared,
                conn: self.guard.conn,
                outputs: &self.outputs,
                looking: &mut looking,
                ready: &mut ready,
            };
            match read_and_feed(cx, &mut self.stream, feed) {
                Poll::Pending => break Poll::Pending,
                Poll::Ready(false) => break Poll::Ready(()),
                Poll::Ready(true) => {
                    for ready in ready.drain(..) {
                        L::run_now(ready, cx);
                    }
                }
            }
        };
        L::put_ready_list(ready);
        if looking {
            self.outputs.set_looking(false);
        }
        poll
    }

    /// Writes everything queued, then flushes and tells the core once.
    /// `Ready` when the connection is over (closed, or a write failed).
    fn poll_write_side(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        // The last output taken in this poll emptied the outbox, with this
        // task's waker left in it: no need to look again before the flush.
        // Only within one poll (a wake in between has been spent on it).
        let mut emptied = false;
        loop {
            if self.closing {
                if Pin::new(&mut self.stream).poll_flush(cx).is_pending() {
                    return self.blocked(cx);
                }
                return match Pin::new(&mut self.stream).poll_close(cx) {
                    Poll::Pending => self.blocked(cx),
                    Poll::Ready(_) => Poll::Ready(()),
                };
            }
            if let Some(rest) = &mut self.writing {
                match Pin::new(&mut self.stream).poll_write(cx, rest) {
                    Poll::Pending => return self.blocked(cx),
                    Poll::Ready(Ok(0) | Err(_)) => return Poll::Ready(()),
                    Poll::Ready(Ok(n)) => {
                        let n = n.min(rest.len());
                        rest.advance(n);
                        self.written.1 += n;
                        if rest.is_empty() {
                            self.written.0 += 1;
                            self.writing = None;
                            self.unflushed = true;
                        }
                    }
                }
                continue;
            }
            let next = if core::mem::take(&mut emptied) {
                Poll::Pending
            } else {
                self.outputs.poll_recv_last(cx)
            };
            match next {
                Poll::Ready(Ok((io, last))) => {
                    emptied = last;
                    match frame_of(io) {
                        Frame::Data(data) => self.writing = Some(data),
                        Frame::Close => self.closing = true,
                        Frame::Abort => return Poll::Ready(()),
                        Frame::Nothing => {}
                    }
                }
                Poll::Ready(Err(_)) => return Poll::Ready(()),
                Poll::Pending if self.unflushed => {
                    match Pin::new(&mut self.stream).poll_flush(cx) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(Err(_)) => return Poll::Ready(()),
                        Poll::Ready(Ok(())) => {
                            self.unflushed = false;
                            // The outbox was found empty with this task's
                            // waker in it: what comes now wakes it.
                            return Poll::Pending;
                        }
                    }
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// What a WebSocket writes for one output.
enum Frame {
    Data(bytes::Bytes),
    Close,
    /// Drop the connection now, written or not.
    Abort,
    Nothing,
}

fn frame_of(io: Io) -> Frame {
    match io {
        Io::Transmit { data, .. } => Frame::Data(data),
        Io::Close { .. } => Frame::Close,
        Io::Abort { .. } => Frame::Abort,
        Io::Respond { .. } | Io::Upgrade { .. } => Frame::Nothing,
        _ => Frame::Nothing,
    }
}

/// Where [`read_and_feed`] hands what it read.
struct Feed<'a, L: Layer> {
    shared: &'a Arc<L>,
    conn: ConnId,
    outputs: &'a OutboxReceiver,
    /// Whether the outbox was told the task is looking (set before the
    /// first feed of a poll).
    looking: &'a mut bool,
    ready: &'a mut Vec<L::Ready>,
}

/// Reads what the socket has into the thread's buffer and hands it to the
/// core; `Ready(false)` once the peer closed or the read failed.
fn read_and_feed<L: Layer, R>(cx: &mut Context<'_>, reader: &mut R, feed: Feed<'_, L>) -> Poll<bool>
where
    R: AsyncRead + Unpin,
{
    poll_read_shared(cx, reader, |data| {
        if !*feed.looking {
            feed.outputs.set_looking(true);
            *feed.looking = true;
        }
        let conn = feed.conn;
        let shard = feed.shared.endpoint().shard_of_conn(conn);
        feed.shared.process_into(shard, feed.ready, |server, now| {
            server.handle_ws_data(now, conn, data)
        });
    })
}
