//! The server-wide timer heap: connect deadlines of sessions and ack
//! deadlines of sockets. Entries are never removed when their reason goes
//! away (an ack settles, a session connects); they are skipped when they
//! surface, and the heap is compacted when stale entries pile up, so its
//! size stays proportional to the live timers.

use alloc::collections::BinaryHeap;
use core::cmp::Reverse;

use super::socket::SocketId;
use crate::engine::SessionId;
use crate::time::Instant;

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
