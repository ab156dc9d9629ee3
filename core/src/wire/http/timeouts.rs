//! The deadlines of one HTTP/1.1 server connection, sans-IO: the driver
//! reports what happened (bytes parsed, request complete, response started
//! and written) with the time, asks for the one current deadline, sleeps
//! until it, and asks what to do once it passed.
//!
//! The phases and their bounds follow Node's HTTP server:
//!
//! | phase | counted from | bound | when it passes |
//! |---|---|---|---|
//! | first request's head | the accept | `headers` | 408, close |
//! | idle keep-alive | end of the last response | `keep_alive` | close silently |
//! | head | first byte of the request | `headers` | 408, close |
//! | body | end of the head | `body` | 408, close |
//! | request handed over | — | none (the application answers) | — |
//! | writing a response | its first byte | `write` | close silently |
//!
//! A fresh connection that sends nothing gets `headers`, not the tighter
//! `keep_alive`, as in Node: a peer can hold a connection that long anyway
//! by trickling a head, so the tighter bound would buy nothing, and a
//! browser's preconnected socket may wait a while for its first request.

use core::time::Duration;

use super::Response;
use crate::time::Instant;

/// How long each phase of a server connection may last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// A whole request head, from its first byte (from the accept for a
    /// connection's first request).
    pub headers: Duration,
    /// A whole request body, from the end of its head.
    pub body: Duration,
    /// An idle keep-alive connection, from the end of the last response
    /// to the first byte of the next request.
    pub keep_alive: Duration,
    /// Writing one response (a client that does not read it loses the
    /// connection).
    pub write: Duration,
}

impl Default for Timeouts {
    /// Node's `headersTimeout` and `keepAliveTimeout`; 30 s for a body
    /// and for a write.
    fn default() -> Self {
        Timeouts {
            headers: Duration::from_secs(60),
            body: Duration::from_secs(30),
            keep_alive: Duration::from_secs(5),
            write: Duration::from_secs(30),
        }
    }
}

/// How far the parser is into the next request
/// ([`RequestParser::stage`](super::RequestParser::stage)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stage {
    /// Nothing of a request is buffered.
    Idle,
    /// Part of a head is buffered.
    Head,
    /// The head is parsed; its body is not complete.
    Body,
}

/// What to do with a connection whose deadline passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Expiry {
    /// Close it without a word: idle, or not reading what it was sent.
    Close,
    /// Answer [`Expiry::response`] (408) as its last response, then close.
    RequestTimeout,
}

impl Expiry {
    /// The response to send before closing, if any. It carries no
    /// `Connection` header: the sender marks it as the last.
    pub fn response(self) -> Option<Response> {
        match self {
            Expiry::Close => None,
            Expiry::RequestTimeout => {
                Some(Response::new(408).with_body("text/plain; charset=utf-8", "Request Timeout"))
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for the first byte of a request after a response.
    Idle { since: Instant },
    /// Waiting for the rest of a head (or, on a fresh connection, its start).
    Head { since: Instant },
    /// Waiting for the rest of a body.
    Body { since: Instant },
    /// The request is with the application: no deadline.
    Handed,
    /// Writing a response.
    Writing { since: Instant },
}

/// The current deadline of one server connection.
#[derive(Debug, Clone)]
pub struct ConnDeadline {
    timeouts: Timeouts,
    phase: Phase,
}

impl ConnDeadline {
    /// A connection accepted at `accepted`: its first head is due
    /// `headers` later.
    pub fn new(timeouts: Timeouts, accepted: Instant) -> Self {
        ConnDeadline {
            timeouts,
            phase: Phase::Head { since: accepted },
        }
    }

    /// After the parser was fed (and asked for a request that is not
    /// complete yet): where it is now. Starts the head clock at the first
    /// byte after a response and the body clock at the end of the head.
    pub fn parsed(&mut self, now: Instant, stage: Stage) {
        self.phase = match (self.phase, stage) {
            (Phase::Idle { .. } | Phase::Handed | Phase::Writing { .. }, Stage::Head) => {
                Phase::Head { since: now }
            }
            (Phase::Body { .. }, Stage::Body) => self.phase,
            (_, Stage::Body) => Phase::Body { since: now },
            (Phase::Handed | Phase::Writing { .. }, Stage::Idle) => Phase::Idle { since: now },
            // Still idle, or a head still due (a fresh connection).
            (phase, _) => phase,
        };
    }

    /// A whole request was parsed and handed over: no deadline until its
    /// response starts.
    pub fn request_complete(&mut self) {
        self.phase = Phase::Handed;
    }

    /// A response (or an interim one such as the `101`) starts to be
    /// written at `now`.
    pub fn response_started(&mut self, now: Instant) {
        self.phase = Phase::Writing { since: now };
    }

    /// The response is written: the connection is idle from `now` (call
    /// [`ConnDeadline::parsed`] next if bytes of the next request are
    /// already buffered).
    pub fn response_written(&mut self, now: Instant) {
        self.phase = Phase::Idle { since: now };
    }

    /// When the current phase runs out; `None` while the request is with
    /// the application.
    pub fn deadline(&self) -> Option<Instant> {
        let t = self.timeouts;
        match self.phase {
            Phase::Idle { since } => Some(since + t.keep_alive),
            Phase::Head { since } => Some(since + t.headers),
            Phase::Body { since } => Some(since + t.body),
            Phase::Handed => None,
            Phase::Writing { since } => Some(since + t.write),
        }
    }

    /// What to do at `now`: `None` while the deadline is ahead (it passes
    /// at the deadline itself).
    pub fn expired(&self, now: Instant) -> Option<Expiry> {
        if now < self.deadline()? {
            return None;
        }
        Some(match self.phase {
            Phase::Head { .. } | Phase::Body { .. } => Expiry::RequestTimeout,
            Phase::Idle { .. } | Phase::Handed | Phase::Writing { .. } => Expiry::Close,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Timeouts = Timeouts {
        headers: Duration::from_millis(600),
        body: Duration::from_millis(300),
        keep_alive: Duration::from_millis(50),
        write: Duration::from_millis(1000),
    };

    fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    /// Each side of a deadline, a nanosecond apart.
    fn assert_passes_at(d: &ConnDeadline, deadline: Instant, expiry: Expiry) {
        assert_eq!(d.deadline(), Some(deadline));
        let before = Instant::from_duration(deadline.since_epoch() - Duration::from_nanos(1));
        assert_eq!(d.expired(before), None);
        assert_eq!(d.expired(deadline), Some(expiry));
        assert_eq!(
            d.expired(deadline + Duration::from_secs(3600)),
            Some(expiry)
        );
    }

    #[test]
    fn a_silent_fresh_connection_gets_408_at_the_headers_timeout() {
        let mut d = ConnDeadline::new(T, at(100));
        assert_passes_at(&d, at(700), Expiry::RequestTimeout);
        // Nothing arriving changes nothing.
        d.parsed(at(400), Stage::Idle);
        assert_passes_at(&d, at(700), Expiry::RequestTimeout);
        // The first head's clock started at the accept, not at its first byte.
        d.parsed(at(500), Stage::Head);
        assert_passes_at(&d, at(700), Expiry::RequestTimeout);
    }

    #[test]
    fn idle_keep_alive_closes_silently_and_a_byte_starts_the_head_clock() {
        let mut d = ConnDeadline::new(T, at(0));
        d.request_complete();
        assert_eq!(d.deadline(), None);
        assert_eq!(d.expired(at(1_000_000)), None);
        d.response_started(at(10));
        assert_passes_at(&d, at(1010), Expiry::Close);
        d.response_written(at(20));
        assert_passes_at(&d, at(70), Expiry::Close);
        d.parsed(at(30), Stage::Idle);
        assert_passes_at(&d, at(70), Expiry::Close);
        d.parsed(at(69), Stage::Head);
        assert_passes_at(&d, at(669), Expiry::RequestTimeout);
        // More of the same head moves nothing.
        d.parsed(at(300), Stage::Head);
        assert_passes_at(&d, at(669), Expiry::RequestTimeout);
    }

    #[test]
    fn the_body_clock_starts_at_the_end_of_the_head() {
        let mut d = ConnDeadline::new(T, at(0));
        d.parsed(at(200), Stage::Body);
        assert_passes_at(&d, at(500), Expiry::RequestTimeout);
        d.parsed(at(450), Stage::Body);
        assert_passes_at(&d, at(500), Expiry::RequestTimeout);
        d.request_complete();
        assert_eq!(d.deadline(), None);
    }

    #[test]
    fn pipelined_bytes_start_the_head_clock_when_the_response_is_written() {
        let mut d = ConnDeadline::new(T, at(0));
        d.request_complete();
        d.response_started(at(5));
        d.response_written(at(10));
        d.parsed(at(10), Stage::Head);
        assert_passes_at(&d, at(610), Expiry::RequestTimeout);
        // A whole pipelined head: the body clock.
        let mut d = ConnDeadline::new(T, at(0));
        d.request_complete();
        d.response_written(at(10));
        d.parsed(at(10), Stage::Body);
        assert_passes_at(&d, at(310), Expiry::RequestTimeout);
    }

    #[test]
    fn far_deadlines_saturate() {
        let forever = Timeouts {
            headers: Duration::MAX,
            ..T
        };
        let d = ConnDeadline::new(forever, at(5));
        let never = Instant::from_duration(Duration::MAX);
        assert_eq!(d.deadline(), Some(never));
        assert_eq!(d.expired(at(u64::MAX)), None);
    }

    #[test]
    fn expiry_answers() {
        assert_eq!(Expiry::Close.response(), None);
        let r = Expiry::RequestTimeout.response().unwrap();
        assert_eq!(r.status, 408);
        assert_eq!(r.header("connection"), None);
    }

    /// Any sequence of events at any times, against the phase table
    /// written as a model: the deadline is the start of the current phase
    /// plus its bound, exact to the nanosecond.
    #[test]
    fn deadline_follows_the_phase_table() {
        use proptest::prelude::*;
        #[derive(Clone, Copy, PartialEq, Debug)]
        enum M {
            Idle,
            Head,
            Body,
            Handed,
            Writing,
        }
        let event = (0u8..6, 0u64..2000);
        proptest!(|(events in proptest::collection::vec(event, 0..40))| {
            let mut d = ConnDeadline::new(T, at(0));
            let (mut m, mut start, mut clock) = (M::Head, 0u64, 0u64);
            for (kind, step) in events {
                clock += step;
                let now = clock;
                let next = match kind {
                    0 => { d.parsed(at(now), Stage::Idle); match m { M::Handed | M::Writing => M::Idle, _ => m } }
                    1 => { d.parsed(at(now), Stage::Head); match m { M::Idle | M::Handed | M::Writing => M::Head, _ => m } }
                    2 => { d.parsed(at(now), Stage::Body); M::Body }
                    3 => { d.request_complete(); M::Handed }
                    4 => { d.response_started(at(now)); M::Writing }
                    _ => { d.response_written(at(now)); M::Idle }
                };
                let restarts = next != m || matches!(kind, 4 | 5);
                if restarts { start = now; }
                m = next;
                let (bound, expiry) = match m {
                    M::Idle => (T.keep_alive, Expiry::Close),
                    M::Head => (T.headers, Expiry::RequestTimeout),
                    M::Body => (T.body, Expiry::RequestTimeout),
                    M::Writing => (T.write, Expiry::Close),
                    M::Handed => {
                        prop_assert_eq!(d.deadline(), None);
                        prop_assert_eq!(d.expired(at(now + 1_000_000)), None);
                        continue;
                    }
                };
                let deadline = at(start) + bound;
                prop_assert_eq!(d.deadline(), Some(deadline));
                prop_assert_eq!(d.expired(deadline), Some(expiry));
                let before = Instant::from_duration(deadline.since_epoch() - Duration::from_nanos(1));
                prop_assert_eq!(d.expired(before), None);
            }
        });
    }
}
