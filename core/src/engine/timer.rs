//! Session timers: a small table of deadlines per session and one
//! server-wide min-heap of `(deadline, session, kind)` entries.
//!
//! Cancelling or re-arming a timer only changes the session's table; the old
//! heap entry stays behind and is skipped when it reaches the top (an entry
//! is live only while its session still holds that exact deadline for that
//! kind). [`TimerHeap::needs_purge`] bounds how many stale entries pile up.

use alloc::collections::BinaryHeap;
use core::cmp::Reverse;
use core::time::Duration;

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

/// One session's deadlines, by kind: nanoseconds since the epoch, `UNARMED`
/// for none (8 bytes a deadline where `Option<Instant>` takes 16; every
/// session carries this table).
#[derive(Debug, Clone)]
pub(crate) struct SessionTimers {
    deadlines: [u64; KINDS],
}

/// A deadline not armed.
const UNARMED: u64 = u64::MAX;

impl Default for SessionTimers {
    fn default() -> Self {
        SessionTimers {
            deadlines: [UNARMED; KINDS],
        }
    }
}

impl SessionTimers {
    /// The deadline of `kind`, if armed.
    pub(crate) fn get(&self, kind: TimerKind) -> Option<Instant> {
        match self.deadlines[kind as usize] {
            UNARMED => None,
            nanos => Some(instant(nanos)),
        }
    }

    /// Arms (`Some`) or cancels (`None`) `kind`. A deadline over 584 years
    /// from the epoch is kept as the latest one that fits.
    pub(crate) fn set(&mut self, kind: TimerKind, deadline: Option<Instant>) {
        self.deadlines[kind as usize] = match deadline {
            Some(at) => nanos(at),
            None => UNARMED,
        };
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

/// `at` as kept: nanoseconds since the epoch, the latest that fits for an
/// instant over 584 years from it (`UNARMED` is never one).
fn nanos(at: Instant) -> u64 {
    u64::try_from(at.since_epoch().as_nanos())
        .unwrap_or(UNARMED - 1)
        .min(UNARMED - 1)
}

fn instant(nanos: u64) -> Instant {
    Instant::from_duration(Duration::from_nanos(nanos))
}

/// Bits of a packed heap entry's key that hold the session number (the
/// other two hold the kind). Session numbers count handshakes from zero:
/// 2^62 of them is out of reach.
const SESSION_BITS: u32 = 62;
const SESSION_MASK: u64 = (1 << SESSION_BITS) - 1;

/// A [`TimerEntry`] as the heap keeps it, 16 bytes rather than 32 (every
/// session has one or two, and the heap's spare capacity as many again):
/// the deadline in nanoseconds, then the session number and kind in one
/// word. Ordered as the entry is: by deadline, session, kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct PackedEntry {
    at: u64,
    key: u64,
}

impl PackedEntry {
    fn pack(entry: TimerEntry) -> Self {
        debug_assert!(entry.session <= SESSION_MASK);
        PackedEntry {
            at: nanos(entry.at),
            key: ((entry.session & SESSION_MASK) << 2) | entry.kind as u64,
        }
    }

    fn unpack(self) -> TimerEntry {
        let kind = match self.key & 3 {
            0 => TimerKind::Ping,
            1 => TimerKind::PongDeadline,
            2 => TimerKind::Upgrade,
            _ => TimerKind::Linger,
        };
        TimerEntry {
            at: instant(self.at),
            session: self.key >> 2,
            kind,
        }
    }
}

/// The server-wide heap, earliest deadline on top.
#[derive(Debug, Default)]
pub(crate) struct TimerHeap {
    heap: BinaryHeap<Reverse<PackedEntry>>,
}

impl TimerHeap {
    /// Adds an entry. Its deadline is kept as a session's table keeps it
    /// (see [`SessionTimers::set`]), so the two still agree.
    pub(crate) fn push(&mut self, entry: TimerEntry) {
        self.heap.push(Reverse(PackedEntry::pack(entry)));
    }

    /// The earliest entry, live or stale.
    pub(crate) fn peek(&self) -> Option<TimerEntry> {
        self.heap.peek().map(|entry| entry.0.unpack())
    }

    /// Removes the earliest entry.
    pub(crate) fn pop(&mut self) -> Option<TimerEntry> {
        self.heap.pop().map(|entry| entry.0.unpack())
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
        self.heap.retain(|entry| is_live(&entry.0.unpack()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_deadlines_round_trip() {
        let mut timers = SessionTimers::default();
        assert_eq!(timers.get(TimerKind::Ping), None);
        let at = Instant::from_duration(Duration::new(12, 345_678_901));
        timers.set(TimerKind::Ping, Some(at));
        timers.set(TimerKind::Linger, Some(Instant::ZERO));
        assert_eq!(timers.get(TimerKind::Ping), Some(at));
        assert_eq!(timers.get(TimerKind::Linger), Some(Instant::ZERO));
        assert_eq!(timers.get(TimerKind::Upgrade), None);
        timers.set(TimerKind::Ping, None);
        assert_eq!(timers.get(TimerKind::Ping), None);
        // Past 584 years: kept armed, at the latest instant that fits.
        let far = Instant::ZERO + Duration::MAX;
        timers.set(TimerKind::PongDeadline, Some(far));
        let kept = timers.get(TimerKind::PongDeadline);
        assert!(kept.is_some_and(|k| k < far && k > at));
    }

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
    fn packed_entries_keep_their_fields_and_order() {
        let mut heap = TimerHeap::default();
        let far = Instant::ZERO + Duration::MAX;
        let entries = [
            (Instant::from_millis(5), SESSION_MASK, TimerKind::Linger),
            (Instant::from_millis(5), 3, TimerKind::Upgrade),
            (Instant::from_millis(5), 3, TimerKind::Ping),
            (Instant::from_millis(1), 9, TimerKind::PongDeadline),
            (far, 0, TimerKind::Ping),
        ];
        for (at, session, kind) in entries {
            heap.push(TimerEntry { at, session, kind });
        }
        let popped: alloc::vec::Vec<_> = core::iter::from_fn(|| heap.pop())
            .map(|e| (e.at, e.session, e.kind))
            .collect();
        // A deadline past what fits comes back as the session's table keeps it.
        let mut kept = SessionTimers::default();
        kept.set(TimerKind::Ping, Some(far));
        let far_kept = kept.get(TimerKind::Ping).unwrap();
        assert_eq!(
            popped,
            [
                (Instant::from_millis(1), 9, TimerKind::PongDeadline),
                (Instant::from_millis(5), 3, TimerKind::Ping),
                (Instant::from_millis(5), 3, TimerKind::Upgrade),
                (Instant::from_millis(5), SESSION_MASK, TimerKind::Linger),
                (far_kept, 0, TimerKind::Ping),
            ]
        );
        assert_eq!(core::mem::size_of::<PackedEntry>(), 16);
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
