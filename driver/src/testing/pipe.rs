//! In-memory connections: a duplex byte pipe with a bounded buffer each
//! way, as futures-io `AsyncRead + AsyncWrite`.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

/// The buffer of each direction of a [`pipe`] unless said otherwise.
pub const DEFAULT_CAPACITY: usize = 64 * 1024;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One direction: bytes written by one end, read by the other.
#[derive(Debug)]
struct Direction {
    buf: VecDeque<u8>,
    capacity: usize,
    /// The writer shut down (or went away): EOF once `buf` is read.
    write_closed: bool,
    /// The reader went away: writes fail.
    read_closed: bool,
    /// Broken (an abort): reads and writes fail at once.
    reset: bool,
    /// Held: the reader sees nothing until released (a stalled network).
    held: bool,
    reader: Option<Waker>,
    writer: Option<Waker>,
}

impl Direction {
    fn new(capacity: usize) -> Arc<Mutex<Direction>> {
        Arc::new(Mutex::new(Direction {
            buf: VecDeque::new(),
            capacity: capacity.max(1),
            write_closed: false,
            read_closed: false,
            reset: false,
            held: false,
            reader: None,
            writer: None,
        }))
    }

    fn wake_all(&mut self) -> [Option<Waker>; 2] {
        [self.reader.take(), self.writer.take()]
    }
}

fn wake(wakers: [Option<Waker>; 2]) {
    for waker in wakers.into_iter().flatten() {
        waker.wake();
    }
}

/// Two connected [`PipeEnd`]s: what one writes, the other reads. Each
/// direction buffers at most `capacity` bytes; a writer facing a full
/// buffer waits (backpressure) until the reader takes some.
pub fn pipe(capacity: usize) -> (PipeEnd, PipeEnd) {
    let a_to_b = Direction::new(capacity);
    let b_to_a = Direction::new(capacity);
    (
        PipeEnd {
            read: b_to_a.clone(),
            write: a_to_b.clone(),
        },
        PipeEnd {
            read: a_to_b,
            write: b_to_a,
        },
    )
}

/// One end of a [`pipe`]: futures-io `AsyncRead + AsyncWrite`, and
/// synchronous reads and writes for a test that speaks the wire itself.
///
/// `poll_close` shuts down writing only (the peer reads EOF, as a TCP
/// `shutdown(Write)`); dropping the end closes both ways (the peer reads
/// EOF and its writes fail with `BrokenPipe`).
#[derive(Debug)]
pub struct PipeEnd {
    read: Arc<Mutex<Direction>>,
    write: Arc<Mutex<Direction>>,
}

impl PipeEnd {
    /// A handle that can break this connection from outside.
    pub fn control(&self) -> PipeControl {
        PipeControl {
            a: self.read.clone(),
            b: self.write.clone(),
        }
    }

    /// Takes every byte buffered for this end now (without waiting;
    /// nothing while the pipe is held).
    pub fn read_now(&mut self) -> Vec<u8> {
        let mut dir = lock(&self.read);
        if dir.held {
            return Vec::new();
        }
        let bytes: Vec<u8> = dir.buf.drain(..).collect();
        let writer = dir.writer.take();
        drop(dir);
        if let Some(waker) = writer {
            waker.wake();
        }
        bytes
    }

    /// Whether the peer has shut down writing (or the pipe broke) and
    /// every byte it wrote has been read.
    pub fn at_eof(&self) -> bool {
        let dir = lock(&self.read);
        dir.reset || (!dir.held && dir.write_closed && dir.buf.is_empty())
    }

    /// How many bytes wait for this end to read them.
    pub fn readable(&self) -> usize {
        lock(&self.read).buf.len()
    }

    /// How many bytes this end wrote that the peer has not read yet.
    pub fn unread_by_peer(&self) -> usize {
        lock(&self.write).buf.len()
    }

    /// Writes as much of `data` as fits now; returns how much did, or the
    /// error a write would get (`BrokenPipe` once the peer is gone).
    pub fn write_now(&mut self, data: &[u8]) -> io::Result<usize> {
        let mut dir = lock(&self.write);
        if dir.reset {
            return Err(io::ErrorKind::ConnectionReset.into());
        }
        if dir.read_closed || dir.write_closed {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        let room = dir.capacity - dir.buf.len();
        let n = room.min(data.len());
        dir.buf.extend(&data[..n]);
        let reader = if n > 0 { dir.reader.take() } else { None };
        drop(dir);
        if let Some(waker) = reader {
            waker.wake();
        }
        Ok(n)
    }

    /// Shuts down writing: the peer reads EOF after what is buffered.
    pub fn shutdown_write(&mut self) {
        let mut dir = lock(&self.write);
        dir.write_closed = true;
        let wakers = dir.wake_all();
        drop(dir);
        wake(wakers);
    }
}

impl Drop for PipeEnd {
    fn drop(&mut self) {
        self.shutdown_write();
        let mut dir = lock(&self.read);
        dir.read_closed = true;
        let wakers = dir.wake_all();
        drop(dir);
        wake(wakers);
    }
}

impl futures_lite::AsyncRead for PipeEnd {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut dir = lock(&self.read);
        if dir.reset {
            return Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()));
        }
        if out.is_empty() {
            return Poll::Ready(Ok(0));
        }
        if dir.held {
            dir.reader = Some(cx.waker().clone());
            return Poll::Pending;
        }
        if dir.buf.is_empty() {
            if dir.write_closed {
                return Poll::Ready(Ok(0));
            }
            dir.reader = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let n = out.len().min(dir.buf.len());
        for (slot, byte) in out.iter_mut().zip(dir.buf.drain(..n)) {
            *slot = byte;
        }
        let writer = dir.writer.take();
        drop(dir);
        if let Some(waker) = writer {
            waker.wake();
        }
        Poll::Ready(Ok(n))
    }
}

impl futures_lite::AsyncWrite for PipeEnd {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let mut dir = lock(&self.write);
        if dir.reset {
            return Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()));
        }
        if dir.read_closed || dir.write_closed {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        if data.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let room = dir.capacity - dir.buf.len();
        if room == 0 {
            dir.writer = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let n = room.min(data.len());
        dir.buf.extend(&data[..n]);
        let reader = dir.reader.take();
        drop(dir);
        if let Some(waker) = reader {
            waker.wake();
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.shutdown_write();
        Poll::Ready(Ok(()))
    }
}

/// Breaks a pipe from outside (a network failure): see [`PipeEnd::control`].
#[derive(Debug, Clone)]
pub struct PipeControl {
    a: Arc<Mutex<Direction>>,
    b: Arc<Mutex<Direction>>,
}

impl PipeControl {
    /// Breaks both directions: pending and later reads and writes of both
    /// ends fail with `ConnectionReset`; buffered bytes are lost.
    pub fn abort(&self) {
        for dir in [&self.a, &self.b] {
            let mut dir = lock(dir);
            dir.reset = true;
            dir.buf.clear();
            let wakers = dir.wake_all();
            drop(dir);
            wake(wakers);
        }
    }

    /// Holds (or releases) both directions: while held, neither end reads
    /// anything (bytes pile up to the buffer's capacity, then writers
    /// wait), as over a network that stalled without closing.
    pub fn hold(&self, held: bool) {
        for dir in [&self.a, &self.b] {
            let mut dir = lock(dir);
            dir.held = held;
            let wakers = dir.wake_all();
            drop(dir);
            wake(wakers);
        }
    }

    /// Closes both directions cleanly, as a peer that closed its socket:
    /// both ends read EOF after what is buffered, and their writes fail
    /// with `BrokenPipe`.
    pub fn close(&self) {
        for dir in [&self.a, &self.b] {
            let mut dir = lock(dir);
            dir.write_closed = true;
            dir.read_closed = true;
            let wakers = dir.wake_all();
            drop(dir);
            wake(wakers);
        }
    }

    /// Whether both directions are over (their writer shut down or their
    /// reader went away, or the pipe broke).
    pub fn is_closed(&self) -> bool {
        [&self.a, &self.b].iter().all(|dir| {
            let dir = lock(dir);
            dir.reset || dir.write_closed || dir.read_closed
        })
    }
}
