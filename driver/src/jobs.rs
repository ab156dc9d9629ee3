//! Handlers run the way Node runs them: work is taken in arrival order, and
//! each handler runs synchronously until its first await before the next
//! starts; what remains after an await runs as its own task. One piece for
//! the server's sockets and the client's sockets and manager.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::task::Context;

use super::runtime::{BoxFuture, Runtime};
use super::sync::lock;

/// Work waiting for one owner's handlers, and whether a runner takes it.
pub(crate) struct JobQueue<J> {
    state: Mutex<(VecDeque<J>, bool)>,
}

impl<J> Default for JobQueue<J> {
    fn default() -> Self {
        JobQueue {
            state: Mutex::new((VecDeque::new(), false)),
        }
    }
}

impl<J> JobQueue<J> {
    /// Queues `job`; true when no runner is active, so the caller must start one.
    pub(crate) fn push(&self, job: J) -> bool {
        let mut state = lock(&self.state);
        state.0.push_back(job);
        !std::mem::replace(&mut state.1, true)
    }

    /// Queues `job` behind the active runner; when none is active, hands
    /// `job` back instead (no queue memory for it): the caller becomes the
    /// runner and runs it before whatever [`JobQueue::next`] gives.
    pub(crate) fn push_or_take(&self, job: J) -> Option<J> {
        let mut state = lock(&self.state);
        if std::mem::replace(&mut state.1, true) {
            state.0.push_back(job);
            None
        } else {
            Some(job)
        }
    }

    /// The next job for the active runner; `None` ends the runner (and an
    /// idle owner keeps no queue memory).
    pub(crate) fn next(&self) -> Option<J> {
        let mut state = lock(&self.state);
        let job = state.0.pop_front();
        if job.is_none() {
            state.1 = false;
            state.0 = VecDeque::new();
        }
        job
    }
}

/// Runs the synchronous part of each handler future now, in order, and
/// spawns what is left of it.
pub(crate) async fn start_in_order(
    runtime: &dyn Runtime,
    futures: impl IntoIterator<Item = BoxFuture<()>>,
) {
    for mut future in futures {
        if futures_lite::future::poll_once(&mut future).await.is_none() {
            runtime.spawn(future);
        }
    }
}

/// [`start_in_order`] within the caller's poll: each future is polled once
/// with `cx` (as `poll_once` would) and what is left of it is spawned.
pub(crate) fn start_now(
    runtime: &dyn Runtime,
    cx: &mut Context<'_>,
    futures: impl IntoIterator<Item = BoxFuture<()>>,
) {
    for mut future in futures {
        if future.as_mut().poll(cx).is_pending() {
            runtime.spawn(future);
        }
    }
}
