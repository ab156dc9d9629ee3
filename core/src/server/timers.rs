//! The server-wide timer heap: connect deadlines of sessions and ack
//! deadlines of sockets. Entries are never removed when their reason goes
//! away (an ack settles, a session connects); they are skipped when they
//! surface, and the heap is compacted when stale entries pile up, so its
//! size stays proportional to the live timers.

use super::sessions::Sessions;
use super::socket::SocketId;
use super::types::{DisconnectReason, Event};
use super::Server;
use crate::engine::{CloseReason, SessionId};
use crate::packet::{self, Parser};
use crate::time::Instant;
use alloc::collections::BinaryHeap;
use core::cmp::Reverse;

/// What a deadline is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum TimerKey {
    /// The session must have joined a namespace by then.
    Connect(SessionId),
    /// The ack `id` of the socket is due by then.
    Ack(SocketId, u64),
}

/// Fewest entries before compaction is considered at all.
const MIN_COMPACT_LEN: usize = 64;

/// A min-heap of deadlines with lazy invalidation.
#[derive(Debug)]
pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<(Instant, TimerKey)>>,
    /// Compact when the heap reaches this many entries.
    compact_at: usize,
}

impl Timers {
    pub(crate) fn new() -> Self {
        Timers {
            heap: BinaryHeap::new(),
            compact_at: MIN_COMPACT_LEN,
        }
    }

    /// Adds a deadline. `is_live` tells whether an entry still matters; it
    /// is used to drop stale entries when the heap has grown.
    pub(crate) fn push(
        &mut self,
        deadline: Instant,
        key: TimerKey,
        is_live: impl Fn(Instant, TimerKey) -> bool,
    ) {
        if self.heap.len() >= self.compact_at {
            self.heap.retain(|Reverse((at, k))| is_live(*at, *k));
            // Amortized: the next compaction waits until the heap doubles.
            self.compact_at = MIN_COMPACT_LEN.max(self.heap.len().saturating_mul(2));
        }
        self.heap.push(Reverse((deadline, key)));
    }

    /// The earliest live deadline (stale entries on top are dropped).
    pub(crate) fn next(&mut self, is_live: impl Fn(Instant, TimerKey) -> bool) -> Option<Instant> {
        while let Some(Reverse((at, key))) = self.heap.peek().copied() {
            if is_live(at, key) {
                return Some(at);
            }
            self.heap.pop();
        }
        None
    }

    /// Takes the earliest live entry due at or before `now`.
    pub(crate) fn pop_due(
        &mut self,
        now: Instant,
        is_live: impl Fn(Instant, TimerKey) -> bool,
    ) -> Option<TimerKey> {
        let at = self.next(&is_live)?;
        if at > now {
            return None;
        }
        self.heap.pop().map(|Reverse((_, key))| key)
    }

    /// How many entries the heap holds, stale ones included.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }
}

/// Connect and ack deadlines.
impl<P: Parser> Server<P> {
    pub(super) fn fire(&mut self, key: TimerKey) {
        match key {
            TimerKey::Connect(session) => {
                self.close_session(
                    session,
                    DisconnectReason::ForcedServerClose,
                    CloseReason::ForcedClose,
                );
            }
            TimerKey::Ack(socket, id) => {
                if let Some(state) = self.sessions.socket_mut(socket) {
                    if state.acks.remove(&id).is_some() {
                        self.events.push_back(Event::AckTimeout { socket, id });
                    }
                }
            }
        }
    }

    pub(super) fn add_pending_ack(&mut self, socket: SocketId, id: u64, deadline: Instant) {
        if let Some(state) = self.sessions.socket_mut(socket) {
            state.acks.insert(id, deadline);
            self.push_timer(deadline, TimerKey::Ack(socket, id));
        }
    }

    pub(super) fn push_timer(&mut self, deadline: Instant, key: TimerKey) {
        let sessions = &self.sessions;
        self.timers
            .push(deadline, key, |at, key| timer_is_live(sessions, at, key));
    }

    pub(super) fn next_deadline(&mut self) -> Option<Instant> {
        let sessions = &self.sessions;
        let timer = self.timers.next(|at, key| timer_is_live(sessions, at, key));
        let expiry = self.recovery.as_ref().and_then(|store| store.next_expiry());
        match (timer, expiry) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// Whether a timer entry still stands for something.
pub(super) fn timer_is_live<D>(sessions: &Sessions<D>, at: Instant, key: TimerKey) -> bool
where
    D: packet::PacketDecoder,
{
    match key {
        TimerKey::Connect(session) => sessions
            .get(session)
            .is_some_and(|sess| sess.connect_deadline() == Some(at)),
        TimerKey::Ack(socket, id) => sessions
            .socket(socket)
            .is_some_and(|state| state.ack_due_at(id, at)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_deadline_order_and_skips_stale() {
        let mut timers = Timers::new();
        let live = |_: Instant, k: TimerKey| k != TimerKey::Ack(SocketId(1), 1);
        timers.push(
            Instant::from_millis(30),
            TimerKey::Ack(SocketId(2), 0),
            live,
        );
        timers.push(
            Instant::from_millis(10),
            TimerKey::Ack(SocketId(1), 1),
            live,
        );
        timers.push(
            Instant::from_millis(20),
            TimerKey::Connect(SessionId(5)),
            live,
        );
        assert_eq!(timers.next(live), Some(Instant::from_millis(20)));
        assert_eq!(timers.pop_due(Instant::from_millis(19), live), None);
        assert_eq!(
            timers.pop_due(Instant::from_millis(20), live),
            Some(TimerKey::Connect(SessionId(5)))
        );
        assert_eq!(timers.pop_due(Instant::from_millis(29), live), None);
        assert_eq!(
            timers.pop_due(Instant::from_millis(30), live),
            Some(TimerKey::Ack(SocketId(2), 0))
        );
        assert_eq!(timers.next(live), None);
    }

    #[test]
    fn stale_entries_do_not_accumulate() {
        let mut timers = Timers::new();
        let dead = |_: Instant, _: TimerKey| false;
        for i in 0..10_000u64 {
            timers.push(Instant::from_millis(i), TimerKey::Ack(SocketId(0), i), dead);
        }
        assert!(timers.len() <= MIN_COMPACT_LEN + 1, "{}", timers.len());
    }
}
