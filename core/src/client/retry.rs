//! socket.io-client's `retries` queue of one namespace: with the option on,
//! every emit that is not volatile waits in this queue and only its head is
//! out at a time, asking the server for an ack (a fresh ack id per attempt).
//! An attempt that times out (or whose connection is lost, when it has a
//! timeout) is sent again until it has been tried `retries + 1` times; then
//! it is dropped and the application's ack gets the error. An ack for the
//! head's attempt delivers it: the application's ack gets the data and the
//! next packet goes out. So each packet arrives in order, at least once,
//! and is acknowledged to the application once.

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::time::Duration;

use bytes::Bytes;

use crate::packet::RawJson;

/// The ids the application sees for queued emits count from here, apart
/// from the ack ids on the wire (which every attempt takes anew).
pub(crate) const QUEUED_ID_BASE: u64 = 1 << 63;

/// One emit in the queue (the reference's `QueuedPacket`).
#[derive(Debug)]
pub(crate) struct Queued {
    /// The reference's `id` (`_queueSeq`).
    pub(crate) seq: u64,
    pub(crate) data: RawJson,
    pub(crate) attachments: Vec<Bytes>,
    /// How long each attempt waits for its ack (`timeout()` or `ackTimeout`).
    pub(crate) timeout: Option<Duration>,
    /// Whether the application waits for the ack.
    pub(crate) wants_ack: bool,
    pub(crate) try_count: u32,
    /// Sent and not settled (the reference's `pending`): only a forced
    /// drain (on connect) sends it again.
    pub(crate) pending: bool,
    /// The wire ack id of the attempt whose answer counts.
    pub(crate) live: Option<u64>,
}

impl Queued {
    /// The id the application knows this emit by.
    pub(crate) fn user_id(&self) -> u64 {
        QUEUED_ID_BASE | self.seq
    }
}

/// How an attempt ended without an ack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// Its ack deadline passed.
    TimedOut,
    /// Its connection was lost.
    Disconnected,
}

/// What became of the head after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AfterFailure {
    /// Tried `retries + 1` times: dropped; the application hears `failure`
    /// under this id if it waits.
    Dropped { user_id: Option<u64> },
    /// To be sent again.
    Retry,
    /// Not an attempt that counts (no timeout, connection lost): it stays
    /// pending and goes again on the next connect.
    Kept,
}

/// The queue of one namespace.
#[derive(Debug, Default)]
pub(crate) struct RetryQueue {
    queue: VecDeque<Queued>,
    next_seq: u64,
}

impl RetryQueue {
    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }

    /// Appends an emit; returns the id the application waits on, if any.
    pub(crate) fn push(
        &mut self,
        data: RawJson,
        attachments: Vec<Bytes>,
        timeout: Option<Duration>,
        wants_ack: bool,
    ) -> Option<u64> {
        let queued = Queued {
            seq: self.next_seq & !QUEUED_ID_BASE,
            data,
            attachments,
            timeout,
            wants_ack,
            try_count: 0,
            pending: false,
            live: None,
        };
        self.next_seq = self.next_seq.wrapping_add(1);
        let id = queued.wants_ack.then(|| queued.user_id());
        self.queue.push_back(queued);
        id
    }

    /// The head, when it is to be sent now (the reference's `_drainQueue`):
    /// not pending, or `force`d.
    pub(crate) fn head_to_send(&mut self, force: bool) -> Option<&mut Queued> {
        self.queue.front_mut().filter(|head| force || !head.pending)
    }

    /// Whether wire ack id `id` is the head's live attempt.
    pub(crate) fn is_live(&self, id: u64) -> bool {
        self.queue.front().is_some_and(|head| head.live == Some(id))
    }

    /// The head's live attempt was acknowledged: it leaves the queue.
    pub(crate) fn acked(&mut self, id: u64) -> Option<Queued> {
        if !self.is_live(id) {
            return None;
        }
        self.queue.pop_front()
    }

    /// The head's live attempt `id` ended without an ack.
    pub(crate) fn failed(
        &mut self,
        id: u64,
        failure: Failure,
        retries: u32,
    ) -> Option<AfterFailure> {
        let head = self
            .queue
            .front_mut()
            .filter(|head| head.live == Some(id))?;
        head.live = None;
        // The reference only hears of a lost connection through acks that
        // take an error, i.e. those with a timeout.
        if failure == Failure::Disconnected && head.timeout.is_none() {
            return Some(AfterFailure::Kept);
        }
        if head.try_count > retries {
            let user_id = head.wants_ack.then(|| head.user_id());
            self.queue.pop_front();
            return Some(AfterFailure::Dropped { user_id });
        }
        head.pending = false;
        Some(AfterFailure::Retry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytestring::ByteString;

    fn data() -> RawJson {
        RawJson::parse(ByteString::from_static("[\"e\"]")).unwrap()
    }

    fn send(queue: &mut RetryQueue, force: bool, wire: u64) -> bool {
        let Some(head) = queue.head_to_send(force) else {
            return false;
        };
        head.pending = true;
        head.try_count += 1;
        head.live = Some(wire);
        true
    }

    #[test]
    fn tries_retries_plus_one_times_then_drops() {
        let mut queue = RetryQueue::default();
        let id = queue.push(data(), Vec::new(), Some(Duration::from_millis(50)), true);
        assert_eq!(id, Some(QUEUED_ID_BASE));
        assert!(send(&mut queue, false, 0));
        assert!(
            !send(&mut queue, false, 9),
            "pending: only a forced drain resends"
        );
        assert_eq!(queue.failed(7, Failure::TimedOut, 1), None);
        assert_eq!(
            queue.failed(0, Failure::TimedOut, 1),
            Some(AfterFailure::Retry)
        );
        assert!(send(&mut queue, false, 1));
        assert_eq!(
            queue.failed(1, Failure::TimedOut, 1),
            Some(AfterFailure::Dropped { user_id: id })
        );
        assert_eq!(queue.len(), 0);
    }

    #[test]
    fn only_the_live_attempt_counts_and_order_holds() {
        let mut queue = RetryQueue::default();
        assert_eq!(queue.push(data(), Vec::new(), None, false), None);
        let second = queue.push(data(), Vec::new(), None, true);
        assert_eq!(second, Some(QUEUED_ID_BASE | 1));
        assert!(send(&mut queue, false, 0));
        // Lost connection, no timeout: kept pending, resent when forced.
        assert_eq!(
            queue.failed(0, Failure::Disconnected, 3),
            Some(AfterFailure::Kept)
        );
        assert!(!send(&mut queue, false, 1));
        assert!(send(&mut queue, true, 1));
        assert!(queue.acked(0).is_none());
        assert_eq!(queue.acked(1).map(|q| q.seq), Some(0));
        assert!(send(&mut queue, false, 2));
        assert_eq!(queue.acked(2).map(|q| q.user_id()), second);
        assert_eq!(queue.len(), 0);
    }
}
