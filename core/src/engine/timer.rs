//! Session timers: a small table of deadlines per session and one
//! server-wide min-heap of `(deadline, session, kind)` entries.
//!
//! Cancelling or re-arming a timer only changes the session's table; the old
//! heap entry stays behind and is skipped when it reaches the top (an entry
//! is live only while its session still holds that exact deadline for that
//! kind). [`TimerHeap::needs_purge`] bounds how many stale entries pile up.

use alloc::collections::BinaryHeap;
use core::cmp::Reverse;

use crate::time::Instant;

/// The timers a session can have running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum TimerKind {
    /// Send the next ping.
    Ping = 0,
    /// The pong for the last ping is due.
    PongDeadline = 1,
    /// The client must finish its upgrade by then.
    Upgrade = 2,
    /// A closed polling session waits this long for the GET that takes its
    /// close packet, then is dropped.
    Linger = 3,
}

const KINDS: usize = 4;

/// One session's deadlines, by kind.
#[derive(Debug, Clone, Default)]
pub(crate) struct SessionTimers {
    deadlines: [Option<Instant>; KINDS],
}

impl SessionTimers {
    /// The deadline of `kind`, if armed.
    pub(crate) fn get(&self, kind: TimerKind) -> Option<Instant> {
        self.deadlines[kind as usize]
    }

    /// Arms (`Some`) or cancels (`None`) `kind`.
    pub(crate) fn set(&mut self, kind: TimerKind, deadline: Option<Instant>) {
        self.deadlines[kind as usize] = deadline;
    }
}

/// One heap entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct TimerEntry {
    /// When it fires.
    pub(crate) at: Instant,
    /// The session's number.
    pub(crate) session: u64,
    /// Which timer.
    pub(crate) kind: TimerKind,
}

/// The server-wide heap, earliest deadline on top.
#[derive(Debug, Default)]
pub(crate) struct TimerHeap {
    heap: BinaryHeap<Reverse<TimerEntry>>,
}

impl TimerHeap {
    /// Adds an entry.
    pub(crate) fn push(&mut self, entry: TimerEntry) {
        self.heap.push(Reverse(entry));
    }

    /// The earliest entry, live or stale.
    pub(crate) fn peek(&self) -> Option<TimerEntry> {
        self.heap.peek().map(|entry| entry.0)
    }

    /// Removes the earliest entry.
    pub(crate) fn pop(&mut self) -> Option<TimerEntry> {
        self.heap.pop().map(|entry| entry.0)
    }

    /// How many entries, stale ones included.
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether stale entries outnumber what `sessions` sessions can hold
    /// live (each has at most one entry per kind) by enough to purge. The
    /// slack makes purging amortised O(1) per push.
    pub(crate) fn needs_purge(&self, sessions: usize) -> bool {
        self.heap.len() > sessions.saturating_mul(2 * KINDS).saturating_add(64)
    }

    /// Keeps only the entries `is_live` accepts.
    pub(crate) fn retain(&mut self, mut is_live: impl FnMut(&TimerEntry) -> bool) {
        self.heap.retain(|entry| is_live(&entry.0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_first_and_purge_bound() {
        let mut heap = TimerHeap::default();
        for (ms, kind) in [(30, TimerKind::Ping), (10, TimerKind::Upgrade)] {
            heap.push(TimerEntry {
                at: Instant::from_millis(ms),
                session: 1,
                kind,
            });
        }
        assert_eq!(heap.peek().map(|e| e.at), Some(Instant::from_millis(10)));
        assert_eq!(heap.pop().map(|e| e.kind), Some(TimerKind::Upgrade));
        assert!(!heap.needs_purge(0));
        for ms in 0..70 {
            heap.push(TimerEntry {
                at: Instant::from_millis(ms),
                session: 2,
                kind: TimerKind::Ping,
            });
        }
        assert!(heap.needs_purge(0));
        heap.retain(|e| e.session == 1);
        assert_eq!(heap.len(), 1);
    }

    #[test]
    fn table_arms_and_cancels() {
        let mut timers = SessionTimers::default();
        timers.set(TimerKind::PongDeadline, Some(Instant::from_millis(5)));
        assert_eq!(
            timers.get(TimerKind::PongDeadline),
            Some(Instant::from_millis(5))
        );
        assert_eq!(timers.get(TimerKind::Ping), None);
        timers.set(TimerKind::PongDeadline, None);
        assert_eq!(timers.get(TimerKind::PongDeadline), None);
    }
}
