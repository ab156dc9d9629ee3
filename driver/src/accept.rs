//! The accept loop every runtime crate's `serve` runs: a failed accept
//! (out of file descriptors, a connection reset before it was taken) is
//! logged and retried after a short back-off; only the listener's own
//! death ends the loop.

use core::future::Future;
use std::io;
use std::time::{Duration, Instant as StdInstant};

use super::runtime::Runtime;

/// The first pause after a failed accept.
const FIRST_PAUSE: Duration = Duration::from_millis(10);
/// The longest pause while accepts keep failing.
const MAX_PAUSE: Duration = Duration::from_secs(1);
/// At most one log line per this while accepts keep failing.
const LOG_EVERY: Duration = Duration::from_secs(5);

/// Accepts with `accept` and hands each connection to `serve`, for as
/// long as the listener lives. Errors that concern one connection or a
/// passing shortage (`EMFILE`, `ENFILE`, `ENOBUFS`, `ENOMEM`,
/// `ECONNABORTED`, `ECONNRESET`, `EINTR`, ...) are logged and retried
/// after a pause of 10 ms, doubling up to 1 s while they go on (a free
/// descriptor is then taken within a second); a success resets it. The
/// loop returns only the errors that mean the listener itself is unusable
/// (`EBADF`, `ENOTSOCK`, `EINVAL`, `EOPNOTSUPP`). For runtime crates:
/// `serve` is this with the runtime's listener and spawner.
pub async fn accept_loop<R, A, F, C>(
    runtime: &R,
    mut accept: A,
    mut serve: impl FnMut(C),
) -> io::Result<()>
where
    R: Runtime + ?Sized,
    A: FnMut() -> F,
    F: Future<Output = io::Result<C>>,
{
    let mut pause = Backoff::default();
    let mut failures = Failures::default();
    loop {
        match accept().await {
            Ok(conn) => {
                failures.recovered();
                pause.reset();
                serve(conn);
            }
            Err(error) if listener_is_dead(&error) => {
                tracing::error!(%error, "the listener failed; no more connections are accepted");
                return Err(error);
            }
            Err(error) => {
                failures.log(&error);
                let until = StdInstant::now() + pause.next();
                runtime.sleep_until(until).await;
            }
        }
    }
}

/// Whether an accept error means the listener is gone (else it is about
/// one connection, or a shortage that passes).
fn listener_is_dead(error: &io::Error) -> bool {
    #[cfg(unix)]
    const DEAD: &[i32] = &[libc::EBADF, libc::ENOTSOCK, libc::EINVAL, libc::EOPNOTSUPP];
    // WSAEBADF, WSAEINVAL, WSAENOTSOCK, WSAEOPNOTSUPP.
    #[cfg(windows)]
    const DEAD: &[i32] = &[10009, 10022, 10038, 10045];
    #[cfg(not(any(unix, windows)))]
    const DEAD: &[i32] = &[];
    match error.raw_os_error() {
        Some(code) => DEAD.contains(&code),
        None => error.kind() == io::ErrorKind::InvalidInput,
    }
}

/// The pause after each failure of a run: 10 ms, doubling, at most 1 s.
#[derive(Debug)]
struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { next: FIRST_PAUSE }
    }
}

impl Backoff {
    fn next(&mut self) -> Duration {
        let pause = self.next;
        self.next = (pause * 2).min(MAX_PAUSE);
        pause
    }

    fn reset(&mut self) {
        self.next = FIRST_PAUSE;
    }
}

/// A run of failed accepts, logged at its start, then at most once per
/// [`LOG_EVERY`], and at its end: a server out of descriptors does not
/// flood its log.
#[derive(Debug, Default)]
struct Failures {
    /// Failures in this run.
    count: u64,
    /// Failures since the last line.
    unlogged: u64,
    last_log: Option<StdInstant>,
}

impl Failures {
    fn log(&mut self, error: &io::Error) {
        self.count += 1;
        self.unlogged += 1;
        let now = StdInstant::now();
        if self
            .last_log
            .is_some_and(|last| now.duration_since(last) < LOG_EVERY)
        {
            return;
        }
        tracing::warn!(
            %error,
            failures = self.unlogged,
            "accepting a connection failed; retrying (out of file descriptors? raise `ulimit -n`)"
        );
        self.last_log = Some(now);
        self.unlogged = 0;
    }

    fn recovered(&mut self) {
        if self.count > 0 {
            tracing::info!(failures = self.count, "accepting connections again");
            *self = Failures::default();
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::runtime::BoxFuture;
    use std::collections::VecDeque;
    use std::sync::{Arc, Mutex};

    /// A runtime whose sleeps end at once and are counted.
    #[derive(Default)]
    struct Sleeps(Arc<Mutex<u32>>);

    impl Runtime for Sleeps {
        fn spawn(&self, _future: BoxFuture<()>) {
            unreachable!("the accept loop spawns nothing itself");
        }

        fn sleep_until(&self, _deadline: StdInstant) -> BoxFuture<()> {
            *self.0.lock().unwrap() += 1;
            Box::pin(async {})
        }
    }

    fn os(code: i32) -> io::Error {
        io::Error::from_raw_os_error(code)
    }

    #[test]
    fn transient_errors_are_retried_until_the_listener_dies() {
        let mut script: VecDeque<io::Result<u32>> = VecDeque::from([
            Err(os(libc::EMFILE)),
            Err(os(libc::EMFILE)),
            Err(os(libc::ENFILE)),
            Ok(1),
            Err(os(libc::ECONNABORTED)),
            Err(os(libc::ECONNRESET)),
            Err(os(libc::ENOBUFS)),
            Err(os(libc::ENOMEM)),
            Err(os(libc::EINTR)),
            Err(os(libc::EPERM)),
            Err(io::Error::other("a runtime's own error")),
            Ok(2),
            Ok(3),
            Err(os(libc::EBADF)),
            Ok(4),
        ]);
        let runtime = Sleeps::default();
        let mut served = Vec::new();
        let result = futures_lite::future::block_on(accept_loop(
            &runtime,
            || {
                let next = script.pop_front().expect("the loop stopped at EBADF");
                async move { next }
            },
            |conn| served.push(conn),
        ));
        assert_eq!(result.unwrap_err().raw_os_error(), Some(libc::EBADF));
        assert_eq!(served, [1, 2, 3]);
        assert_eq!(
            *runtime.0.lock().unwrap(),
            10,
            "one pause per transient error"
        );
        assert_eq!(script.len(), 1);
    }

    #[test]
    fn only_the_listener_dying_is_fatal() {
        for code in [libc::EBADF, libc::ENOTSOCK, libc::EINVAL, libc::EOPNOTSUPP] {
            assert!(listener_is_dead(&os(code)), "{code}");
        }
        for code in [
            libc::EMFILE,
            libc::ENFILE,
            libc::ENOBUFS,
            libc::ENOMEM,
            libc::ECONNABORTED,
            libc::ECONNRESET,
            libc::EINTR,
            libc::EAGAIN,
            libc::EPROTO,
            libc::EPERM,
            libc::ETIMEDOUT,
        ] {
            assert!(!listener_is_dead(&os(code)), "{code}");
        }
        assert!(listener_is_dead(&io::ErrorKind::InvalidInput.into()));
        assert!(!listener_is_dead(&io::ErrorKind::ConnectionAborted.into()));
    }

    #[test]
    fn pauses_double_to_a_second_and_reset() {
        let mut pause = Backoff::default();
        let ms: Vec<u128> = (0..10).map(|_| pause.next().as_millis()).collect();
        assert_eq!(ms, [10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000]);
        pause.reset();
        assert_eq!(pause.next(), FIRST_PAUSE);
    }
}
