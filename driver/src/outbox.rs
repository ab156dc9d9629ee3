//! A connection's outbox: the outputs the core produced for it, waiting for
//! the task that writes them. One sender (the routing table's entry), one
//! receiver (the connection's task).
//!
//! An unbounded async channel would do, but it costs every idle connection
//! a lock-free queue block of 31 slots and three cache-padded heads; this
//! is one inline slot and a deque for bursts behind a mutex, and one waker.
//! An idle connection's outbox is a single allocation.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};

use super::sync::lock;
use sio_core::engine::Io;

/// Outputs in order: the first inline (the usual single output needs no
/// allocation), the rest in a deque made by a burst and released when
/// drained (boxed: an idle outbox then takes one word for it, not four).
#[derive(Default)]
struct Queue {
    /// `None` only when the queue is empty.
    head: Option<Io>,
    #[allow(clippy::box_collection)]
    rest: Option<Box<VecDeque<Io>>>,
}

impl Queue {
    fn push_back(&mut self, io: Io) {
        if self.head.is_none() {
            self.head = Some(io);
        } else {
            self.rest.get_or_insert_with(Box::default).push_back(io);
        }
    }

    fn pop_front(&mut self) -> Option<Io> {
        let io = self.head.take();
        if let Some(rest) = &mut self.rest {
            self.head = rest.pop_front();
            if rest.is_empty() {
                // A burst is over: an idle connection keeps no slots.
                self.rest = None;
            }
        }
        io
    }

    fn front(&self) -> Option<&Io> {
        self.head.as_ref()
    }

    fn is_empty(&self) -> bool {
        self.head.is_none()
    }
}

struct State {
    queue: Queue,
    /// The receiver's task: woken by an abort, and by a send when
    /// `wake_on_send` (it waits for an output). One slot for both: it is
    /// one task, which re-registers whatever it still waits for.
    waker: Option<Waker>,
    wake_on_send: bool,
    sender_gone: bool,
    receiver_gone: bool,
    /// The receiver's task is in a poll that takes from the queue before
    /// it ends: a send needs no wake (which would only poll it again).
    receiver_looking: bool,
    /// An [`Io::Abort`] came: what was queued is dropped, and so is
    /// anything sent after it.
    aborted: bool,
}

/// Creates an outbox.
pub(crate) fn outbox() -> (OutboxSender, OutboxReceiver) {
    let state = Arc::new(Mutex::new(State {
        queue: Queue::default(),
        waker: None,
        wake_on_send: false,
        sender_gone: false,
        receiver_gone: false,
        receiver_looking: false,
        aborted: false,
    }));
    (
        OutboxSender {
            state: state.clone(),
        },
        OutboxReceiver { state },
    )
}

/// The routing side; dropping it closes the outbox (queued outputs are
/// still received).
pub(crate) struct OutboxSender {
    state: Arc<Mutex<State>>,
}

impl OutboxSender {
    /// Queues `io`; gives it back when the receiver is gone.
    pub(crate) fn try_send(&self, io: Io) -> Result<(), Io> {
        let waker = {
            let mut state = lock(&self.state);
            if state.receiver_gone {
                return Err(io);
            }
            if state.aborted {
                return Ok(());
            }
            if matches!(io, Io::Abort { .. }) {
                // The receiver may be blocked writing what is queued: it
                // is woken whatever it is doing, and finds only this.
                state.aborted = true;
                state.queue = Queue::default();
                state.queue.push_back(io);
                state.wake_on_send = false;
                state.waker.take()
            } else {
                state.queue.push_back(io);
                if state.receiver_looking || !state.wake_on_send {
                    None
                } else {
                    state.wake_on_send = false;
                    state.waker.take()
                }
            }
        };
        // Woken outside the lock: the receiver may run at once on another thread.
        if let Some(waker) = waker {
            waker.wake();
        }
        Ok(())
    }
}

impl Drop for OutboxSender {
    fn drop(&mut self) {
        let waker = {
            let mut state = lock(&self.state);
            state.sender_gone = true;
            state.wake_on_send = false;
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// The connection's side.
pub(crate) struct OutboxReceiver {
    state: Arc<Mutex<State>>,
}

/// The outbox is empty and its sender gone.
#[derive(Debug)]
pub(crate) struct Closed;

impl OutboxReceiver {
    /// The next output, waiting for it; `Err` once the sender is gone and
    /// everything queued was taken.
    pub(crate) async fn recv(&self) -> Result<Io, Closed> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// [`OutboxReceiver::recv`] as a poll: the task of `cx` is woken when
    /// an output comes.
    pub(crate) fn poll_recv(&self, cx: &mut std::task::Context<'_>) -> Poll<Result<Io, Closed>> {
        self.poll_take(cx, false)
            .map(|taken| taken.map(|(io, _)| io))
    }

    /// [`OutboxReceiver::poll_recv`], also saying whether that output
    /// emptied the queue, in which case the task of `cx` is now the one
    /// woken by the next send: within the same poll the caller need not
    /// look again (a wake that comes meanwhile polls it once more).
    pub(crate) fn poll_recv_last(
        &self,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<Result<(Io, bool), Closed>> {
        self.poll_take(cx, true)
    }

    /// The next output and, with `watch_last`, whether it emptied the
    /// queue (the waker of `cx` then registered); the waker is registered
    /// whenever there is no output yet.
    fn poll_take(
        &self,
        cx: &mut std::task::Context<'_>,
        watch_last: bool,
    ) -> Poll<Result<(Io, bool), Closed>> {
        let mut state = lock(&self.state);
        match take(&mut state) {
            Some(io) => {
                let last = watch_last && state.queue.is_empty() && !state.sender_gone;
                if last {
                    register(&mut state, cx);
                }
                Poll::Ready(Ok((io, last)))
            }
            None if state.sender_gone => Poll::Ready(Err(Closed)),
            None => {
                register(&mut state, cx);
                Poll::Pending
            }
        }
    }

    /// Says whether the receiving task is in a poll that will take from
    /// the queue before it ends (a connection's task while it feeds the
    /// core, before it polls its writing side); sends then wake nobody.
    pub(crate) fn set_looking(&self, looking: bool) {
        lock(&self.state).receiver_looking = looking;
    }

    /// Whether an [`Io::Abort`] came; if not, the task of `cx` is woken
    /// when one does (for a task blocked on something else, a write).
    pub(crate) fn poll_aborted(&self, cx: &std::task::Context<'_>) -> bool {
        let mut state = lock(&self.state);
        if !state.aborted {
            // Keeps `wake_on_send` as it is: a send still wakes a receiver
            // that was also waiting for one.
            set_waker(&mut state, cx);
        }
        state.aborted
    }

    /// The next output if one is queued.
    #[cfg(test)]
    pub(crate) fn try_recv(&self) -> Option<Io> {
        take(&mut lock(&self.state))
    }

    /// Appends the data of the transmits at the front of the queue to
    /// `out` (stopping at anything else); returns how many were taken.
    pub(crate) fn take_transmits(&self, out: &mut bytes::BytesMut) -> usize {
        let mut state = lock(&self.state);
        let mut taken = 0;
        while let Some(Io::Transmit { data, .. }) = state.queue.front() {
            out.extend_from_slice(data);
            taken += 1;
            take(&mut state);
        }
        taken
    }
}

impl Drop for OutboxReceiver {
    fn drop(&mut self) {
        let mut state = lock(&self.state);
        state.receiver_gone = true;
        state.queue = Queue::default();
        state.waker = None;
        state.wake_on_send = false;
    }
}

/// Makes the task of `cx` the one the next send wakes.
fn register(state: &mut State, cx: &std::task::Context<'_>) {
    set_waker(state, cx);
    state.wake_on_send = true;
}

fn set_waker(state: &mut State, cx: &std::task::Context<'_>) {
    match &mut state.waker {
        Some(waker) if waker.will_wake(cx.waker()) => {}
        slot => *slot = Some(cx.waker().clone()),
    }
}

/// Pops the oldest output; a drained queue gives back what a burst grew.
fn take(state: &mut State) -> Option<Io> {
    state.queue.pop_front()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use core::future::Future;
    use sio_core::engine::ConnId;

    fn transmit(n: u8) -> Io {
        Io::Transmit {
            conn: ConnId(1),
            data: Bytes::from(vec![n]),
        }
    }

    fn data(io: Io) -> Vec<u8> {
        match io {
            Io::Transmit { data, .. } => data.to_vec(),
            other => std::panic!("not a transmit: {other:?}"),
        }
    }

    #[test]
    fn in_order_then_closed_after_the_sender_goes() {
        let (tx, rx) = outbox();
        tx.try_send(transmit(1)).unwrap();
        tx.try_send(transmit(2)).unwrap();
        drop(tx);
        futures_lite::future::block_on(async {
            assert_eq!(data(rx.recv().await.unwrap()), [1]);
            assert_eq!(data(rx.try_recv().unwrap()), [2]);
            assert!(rx.try_recv().is_none());
            assert!(rx.recv().await.is_err());
        });
    }

    #[test]
    fn a_waiting_receiver_is_woken() {
        let (tx, rx) = outbox();
        let rx = Arc::new(rx);
        let waiting = {
            let rx = rx.clone();
            std::thread::spawn(move || futures_lite::future::block_on(rx.recv()).map(data))
        };
        tx.try_send(transmit(7)).unwrap();
        assert_eq!(waiting.join().unwrap().unwrap(), [7]);
    }

    #[test]
    fn transmits_at_the_front_are_taken_together() {
        let (tx, rx) = outbox();
        tx.try_send(transmit(1)).unwrap();
        tx.try_send(transmit(2)).unwrap();
        tx.try_send(Io::Close { conn: ConnId(1) }).unwrap();
        tx.try_send(transmit(3)).unwrap();
        let mut out = bytes::BytesMut::new();
        assert_eq!(rx.take_transmits(&mut out), 2);
        assert_eq!(&out[..], [1, 2]);
        assert!(matches!(rx.try_recv(), Some(Io::Close { .. })));
        assert_eq!(data(rx.try_recv().unwrap()), [3]);
    }

    #[test]
    fn taking_the_last_output_registers_the_waker() {
        let (tx, rx) = outbox();
        let counter = Arc::new(CountingWaker(Default::default()));
        let waker = Waker::from(counter.clone());
        let mut cx = std::task::Context::from_waker(&waker);
        tx.try_send(transmit(1)).unwrap();
        tx.try_send(transmit(2)).unwrap();
        let next = |cx: &mut std::task::Context<'_>| match rx.poll_recv_last(cx) {
            Poll::Ready(Ok((io, last))) => (data(io), last),
            other => std::panic!("not an output: {:?}", other.map(|r| r.is_ok())),
        };
        assert_eq!(next(&mut cx), (std::vec![1], false));
        assert_eq!(next(&mut cx), (std::vec![2], true));
        let wakes = || counter.0.load(std::sync::atomic::Ordering::SeqCst);
        assert_eq!(wakes(), 0);
        tx.try_send(transmit(3)).unwrap();
        assert_eq!(wakes(), 1);
        assert_eq!(next(&mut cx), (std::vec![3], true));
        // Once the sender is gone, the last output registers nothing: the
        // receiver must look again to see the end.
        tx.try_send(transmit(4)).unwrap();
        drop(tx);
        assert_eq!(wakes(), 2);
        assert_eq!(next(&mut cx), (std::vec![4], false));
        assert!(matches!(
            rx.poll_recv_last(&mut cx),
            Poll::Ready(Err(Closed))
        ));
    }

    #[test]
    fn sending_to_a_dropped_receiver_gives_the_output_back() {
        let (tx, rx) = outbox();
        drop(rx);
        assert_eq!(data(tx.try_send(transmit(3)).unwrap_err()), [3]);
    }

    #[test]
    fn a_drained_burst_releases_its_slots() {
        let (tx, rx) = outbox();
        for n in 0..100 {
            tx.try_send(transmit(n)).unwrap();
        }
        while rx.try_recv().is_some() {}
        assert!(lock(&rx.state).queue.rest.is_none());
    }

    #[test]
    fn an_abort_drops_what_is_queued_and_wakes_a_blocked_receiver() {
        let (tx, rx) = outbox();
        let counter = Arc::new(CountingWaker(Default::default()));
        let waker = Waker::from(counter.clone());
        let cx = std::task::Context::from_waker(&waker);
        tx.try_send(transmit(1)).unwrap();
        tx.try_send(transmit(2)).unwrap();
        // Blocked on a write, the receiver only watches for an abort: a
        // send does not wake it.
        assert!(!rx.poll_aborted(&cx));
        tx.try_send(transmit(9)).unwrap();
        assert_eq!(counter.0.load(std::sync::atomic::Ordering::SeqCst), 0);
        rx.set_looking(true);
        tx.try_send(Io::Abort { conn: ConnId(1) }).unwrap();
        assert_eq!(counter.0.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert!(rx.poll_aborted(&cx));
        tx.try_send(transmit(3)).unwrap();
        assert!(matches!(rx.try_recv(), Some(Io::Abort { .. })));
        assert!(rx.try_recv().is_none());
    }

    /// Counts the wakes it gets.
    struct CountingWaker(std::sync::atomic::AtomicUsize);

    impl std::task::Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    #[test]
    fn a_looking_receiver_is_not_woken_but_finds_the_output() {
        let (tx, rx) = outbox();
        let counter = Arc::new(CountingWaker(Default::default()));
        let waker = Waker::from(counter.clone());
        let mut cx = std::task::Context::from_waker(&waker);
        let mut recv = std::pin::pin!(rx.recv());
        assert!(recv.as_mut().poll(&mut cx).is_pending());
        rx.set_looking(true);
        tx.try_send(transmit(1)).unwrap();
        rx.set_looking(false);
        let wakes = || counter.0.load(std::sync::atomic::Ordering::SeqCst);
        assert_eq!(wakes(), 0);
        assert_eq!(data(rx.try_recv().unwrap()), [1]);
        // The waker is still there for the next send.
        tx.try_send(transmit(2)).unwrap();
        assert_eq!(wakes(), 1);
    }
}
