//! Connection groups: a server's WebSockets run as members of a bounded
//! number of tasks, each with a run queue of its own, so that sio and not
//! the executor decides the order in which ready connections are served.
//!
//! Why: with one task per connection, a busy tokio worker whose I/O driver
//! wakes more tasks than its local run queue holds (256) moves the rest to
//! the shared queue, which it takes from only every few dozen tasks: with
//! 1,000 clients each keeping one echo in flight, the overflowed ones wait
//! 50-90 times longer than the others (conformance/bench/NOTES.md, "Third
//! pass: fair tails"). Here the executor sees at most [`Groups::max_groups`]
//! tasks, which fit its queues; within a group, members are polled in the
//! order they were woken (an unbounded FIFO, one entry per member at
//! most), at most [`BUDGET`] per poll of the group's task, which then
//! yields to the executor (timers, handler tasks, other groups).
//!
//! Up to `max_groups` connections each get a group of their own (as a task
//! per connection, spread over the workers); past that, a new connection
//! joins the group with the fewest members. A group's task ends with its
//! last member. Bottom floor: it knows only the [`Runtime`].

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use super::runtime::{BoxFuture, Runtime};
use super::sync::lock;

/// Members a group's task polls at most per poll before yielding. Small
/// enough that one poll stays within tokio's cooperative budget (128 I/O
/// operations: an echo takes two or three), large enough to spread a task
/// poll's cost over many connections.
pub(crate) const BUDGET: usize = 32;

/// Groups per available CPU (see [`Groups::new`]).
pub(crate) const GROUPS_PER_CPU: usize = 16;

/// The most groups whatever the CPU count: tokio's local run queue holds
/// 256 tasks, and every group may be woken by one poll of the I/O driver,
/// beside the handler and timer tasks.
const MAX_GROUPS: usize = 128;

/// The groups of one server.
pub(crate) struct Groups {
    /// The groups running now, shared with their tasks (each leaves when
    /// it ends, or is dropped).
    live: Arc<Mutex<Vec<Arc<Group>>>>,
    max_groups: usize,
}

impl Default for Groups {
    /// [`GROUPS_PER_CPU`] groups for each CPU this process may run on, at
    /// least that many and at most [`MAX_GROUPS`].
    fn default() -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        Groups::new((cpus * GROUPS_PER_CPU).clamp(GROUPS_PER_CPU, MAX_GROUPS))
    }
}

impl Groups {
    /// Groups of which at most `max_groups` run at once (at least 1).
    pub(crate) fn new(max_groups: usize) -> Self {
        Groups {
            live: Arc::default(),
            max_groups: max_groups.max(1),
        }
    }

    /// Runs `member` in a group: a new one (its task spawned on `runtime`)
    /// while there are fewer than `max_groups`, else the one with the
    /// fewest members.
    pub(crate) fn spawn(&self, runtime: &dyn Runtime, member: BoxFuture<()>) {
        self.spawn_keyed(runtime, None, member)
    }

    /// Runs `member` in the group of `key` (a server shard's: the
    /// connections of one shard then feed it from one task, so its state
    /// stays in one worker's cache and no other group contends for its
    /// lock), made when it has none. Keys are not bounded by `max_groups`.
    pub(crate) fn spawn_in(&self, runtime: &dyn Runtime, key: usize, member: BoxFuture<()>) {
        self.spawn_keyed(runtime, Some(key), member)
    }

    fn spawn_keyed(&self, runtime: &dyn Runtime, key: Option<usize>, member: BoxFuture<()>) {
        // Joins happen under the registry's lock, and a group leaves it
        // under the same lock only when it has no member: no member joins
        // a group whose task has ended.
        let mut live = lock(&self.live);
        let chosen = match key {
            Some(_) => live.iter().find(|group| group.key == key),
            None if live.len() >= self.max_groups => live
                .iter()
                .filter(|group| group.key.is_none())
                .min_by_key(|group| group.members.load(Ordering::Relaxed)),
            None => None,
        };
        match chosen {
            Some(group) => group.join(member),
            None => {
                let group = Arc::new(Group {
                    key,
                    ..Group::default()
                });
                group.join(member);
                live.push(group.clone());
                drop(live);
                runtime.spawn(Box::pin(GroupTask {
                    group,
                    live: self.live.clone(),
                    table: Vec::new(),
                    free: Vec::new(),
                    batch: Vec::new(),
                }));
            }
        }
    }

    /// How many groups run now.
    #[cfg(test)]
    fn len(&self) -> usize {
        lock(&self.live).len()
    }
}

/// One group: its members' ready queue and the arrivals its task has not
/// taken yet.
#[derive(Default)]
struct Group {
    /// The key it serves ([`Groups::spawn_in`]), if any.
    key: Option<usize>,
    queue: Mutex<Queue>,
    /// Members, arrivals included: the least-loaded choice reads it, and
    /// the task ends when it falls to zero.
    members: AtomicUsize,
}

#[derive(Default)]
struct Queue {
    /// Members woken and not yet polled, in the order they were woken
    /// (each at most once: see [`MemberWaker`]).
    ready: VecDeque<usize>,
    /// Members not yet in the task's table.
    arrivals: Vec<BoxFuture<()>>,
    /// The group task's waker.
    waker: Option<Waker>,
    /// Whether the task was woken since it last looked at the queue: one
    /// wake per batch of members, not one per member.
    woken: bool,
}

impl Group {
    fn join(&self, member: BoxFuture<()>) {
        self.members.fetch_add(1, Ordering::Relaxed);
        let mut queue = lock(&self.queue);
        queue.arrivals.push(member);
        Group::wake_task(queue);
    }

    /// Queues `slot` and wakes the group's task (once per batch).
    fn ready(&self, slot: usize) {
        let mut queue = lock(&self.queue);
        queue.ready.push_back(slot);
        Group::wake_task(queue);
    }

    fn wake_task(mut queue: std::sync::MutexGuard<'_, Queue>) {
        if std::mem::replace(&mut queue.woken, true) {
            return;
        }
        let waker = queue.waker.clone();
        // Woken outside the lock: the executor may poll the task at once
        // on another thread.
        drop(queue);
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// A member's waker: queues the member on its group, once until the group
/// polls it again.
struct MemberWaker {
    group: Arc<Group>,
    slot: usize,
    queued: AtomicBool,
}

impl Wake for MemberWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.queued.swap(true, Ordering::AcqRel) {
            self.group.ready(self.slot);
        }
    }
}

/// A member in its group's table.
struct Member {
    future: BoxFuture<()>,
    /// Made once, so I/O sources that keep the last waker see the same one
    /// on every poll (`Waker::will_wake`) and do not clone it again.
    waker: Waker,
    flag: Arc<MemberWaker>,
}

/// The task of one group: polls its members in the order they were woken.
struct GroupTask {
    group: Arc<Group>,
    live: Arc<Mutex<Vec<Arc<Group>>>>,
    /// Members by slot; freed slots are reused.
    table: Vec<Option<Member>>,
    free: Vec<usize>,
    /// The slots taken from the queue for this poll.
    batch: Vec<usize>,
}

impl Future for GroupTask {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let more = this.take_batch(cx);
        let mut batch = std::mem::take(&mut this.batch);
        for slot in batch.drain(..) {
            this.poll_member(slot);
        }
        this.batch = batch;
        if this.group.members.load(Ordering::Relaxed) == 0 && this.leave() {
            return Poll::Ready(());
        }
        if more {
            // Over budget with members still ready: let the executor run
            // its other tasks (timers, handlers, other groups), then come
            // back. The queue keeps the members' order meanwhile.
            lock(&this.group.queue).woken = true;
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }
}

impl GroupTask {
    /// Takes the arrivals into the table and up to [`BUDGET`] ready
    /// members into the batch, and leaves the task's waker; true when more
    /// members are ready than the batch holds.
    fn take_batch(&mut self, cx: &mut Context<'_>) -> bool {
        let mut queue = lock(&self.group.queue);
        queue.woken = false;
        if !queue
            .waker
            .as_ref()
            .is_some_and(|waker| waker.will_wake(cx.waker()))
        {
            queue.waker = Some(cx.waker().clone());
        }
        let queue = &mut *queue;
        for future in queue.arrivals.drain(..) {
            // A new member is polled first within its batch's order.
            let slot = self.free.pop().unwrap_or(self.table.len());
            let flag = Arc::new(MemberWaker {
                group: self.group.clone(),
                slot,
                queued: AtomicBool::new(true),
            });
            let member = Member {
                future,
                waker: Waker::from(flag.clone()),
                flag,
            };
            match self.table.get_mut(slot) {
                Some(entry) => *entry = Some(member),
                None => self.table.push(Some(member)),
            }
            queue.ready.push_back(slot);
        }
        let n = queue.ready.len().min(BUDGET);
        self.batch.extend(queue.ready.drain(..n));
        !queue.ready.is_empty()
    }

    /// Polls the member in `slot` (if any: a waker of a member gone may
    /// still fire); a member that ends or panics leaves the table.
    fn poll_member(&mut self, slot: usize) {
        let Some(Some(member)) = self.table.get_mut(slot) else {
            return;
        };
        // Cleared before the poll: a wake during it queues the member again.
        member.flag.queued.store(false, Ordering::Release);
        let mut cx = Context::from_waker(&member.waker);
        let future = &mut member.future;
        // A panic (in a user's handler, run within the connection's poll)
        // ends that connection only, as it would end its own task.
        let done = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            future.as_mut().poll(&mut cx).is_ready()
        }))
        .unwrap_or(true);
        if done {
            if let Some(entry) = self.table.get_mut(slot) {
                *entry = None;
            }
            self.free.push(slot);
            self.group.members.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Leaves the registry if the group has no member (none can join
    /// while its lock is held); true when it left.
    fn leave(&mut self) -> bool {
        let mut live = lock(&self.live);
        if self.group.members.load(Ordering::Relaxed) != 0 {
            return false;
        }
        live.retain(|group| !Arc::ptr_eq(group, &self.group));
        true
    }
}

impl Drop for GroupTask {
    /// A task dropped unfinished (its runtime shut down) takes its group
    /// out of the registry, so no connection joins a group nobody polls.
    fn drop(&mut self) {
        let mut live = lock(&self.live);
        live.retain(|group| !Arc::ptr_eq(group, &self.group));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;
    use std::time::Instant as StdInstant;

    /// A runtime that keeps what it spawns, for the test to poll.
    #[derive(Default)]
    struct Spawned(Mutex<Vec<BoxFuture<()>>>);

    impl Runtime for Arc<Spawned> {
        fn spawn(&self, future: BoxFuture<()>) {
            lock(&self.0).push(future);
        }

        fn now(&self) -> StdInstant {
            StdInstant::now()
        }

        fn timer(&self, _deadline: StdInstant) -> Box<dyn crate::runtime::Timer> {
            unreachable!("groups set no timers")
        }
    }

    /// Counts the wakes of the group task.
    #[derive(Default)]
    struct CountWakes(AtomicU32);

    impl Wake for CountWakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// A member that, each time it is polled, writes its name to `log`,
    /// leaves its waker in `wakers` and stays pending until `done` holds
    /// its name.
    fn member(
        name: u32,
        log: &Arc<Mutex<Vec<u32>>>,
        wakers: &Arc<Mutex<Vec<Option<Waker>>>>,
        done: &Arc<Mutex<Vec<u32>>>,
    ) -> BoxFuture<()> {
        let (log, wakers, done) = (log.clone(), wakers.clone(), done.clone());
        Box::pin(std::future::poll_fn(move |cx| {
            lock(&log).push(name);
            let mut wakers = lock(&wakers);
            let index = name as usize;
            if wakers.len() <= index {
                wakers.resize(index + 1, None);
            }
            wakers[index] = Some(cx.waker().clone());
            if lock(&done).contains(&name) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        }))
    }

    struct Bench {
        runtime: Arc<Spawned>,
        log: Arc<Mutex<Vec<u32>>>,
        wakers: Arc<Mutex<Vec<Option<Waker>>>>,
        done: Arc<Mutex<Vec<u32>>>,
        task_wakes: Arc<CountWakes>,
    }

    impl Bench {
        fn new() -> Self {
            Bench {
                runtime: Arc::default(),
                log: Arc::default(),
                wakers: Arc::default(),
                done: Arc::default(),
                task_wakes: Arc::default(),
            }
        }

        fn join(&self, groups: &Groups, name: u32) {
            let member = member(name, &self.log, &self.wakers, &self.done);
            groups.spawn(&self.runtime, member);
        }

        /// Polls spawned group `index` once; true when it ended.
        fn poll_group(&self, index: usize) -> bool {
            let waker = Waker::from(self.task_wakes.clone());
            let mut cx = Context::from_waker(&waker);
            lock(&self.runtime.0)[index]
                .as_mut()
                .poll(&mut cx)
                .is_ready()
        }

        fn wake(&self, name: u32) {
            let waker = lock(&self.wakers)[name as usize].clone().unwrap();
            waker.wake();
        }

        fn take_log(&self) -> Vec<u32> {
            std::mem::take(&mut *lock(&self.log))
        }
    }

    #[test]
    fn members_are_polled_in_the_order_they_were_woken_once_each() {
        let bench = Bench::new();
        let groups = Groups::new(1);
        for name in 0..5 {
            bench.join(&groups, name);
        }
        assert_eq!(lock(&bench.runtime.0).len(), 1, "one group, one task");
        assert!(!bench.poll_group(0));
        assert_eq!(bench.take_log(), [0, 1, 2, 3, 4], "arrivals in order");
        for name in [3, 1, 3, 4, 1, 0] {
            bench.wake(name);
        }
        // One wake of the group's task for the whole batch.
        let before = bench.task_wakes.0.load(Ordering::SeqCst);
        assert!(!bench.poll_group(0));
        assert_eq!(
            bench.take_log(),
            [3, 1, 4, 0],
            "a member woken twice runs once"
        );
        assert!(before >= 1);
        assert!(!bench.poll_group(0));
        assert_eq!(bench.take_log(), Vec::<u32>::new(), "nothing ready");
    }

    #[test]
    fn a_poll_takes_at_most_the_budget_and_yields() {
        let bench = Bench::new();
        let groups = Groups::new(1);
        let n = (BUDGET * 2 + 3) as u32;
        for name in 0..n {
            bench.join(&groups, name);
        }
        let wakes = bench.task_wakes.0.load(Ordering::SeqCst);
        assert!(!bench.poll_group(0));
        assert_eq!(bench.take_log(), (0..BUDGET as u32).collect::<Vec<_>>());
        assert_eq!(
            bench.task_wakes.0.load(Ordering::SeqCst),
            wakes + 1,
            "the task woke itself to come back"
        );
        // A member woken now goes behind the ones still waiting.
        bench.wake(0);
        assert!(!bench.poll_group(0));
        assert!(!bench.poll_group(0));
        let mut expected: Vec<u32> = (BUDGET as u32..n).collect();
        expected.push(0);
        assert_eq!(bench.take_log(), expected);
    }

    #[test]
    fn groups_fill_up_to_the_most_then_the_least_loaded_takes_the_next() {
        let bench = Bench::new();
        let groups = Groups::new(3);
        for name in 0..3 {
            bench.join(&groups, name);
        }
        assert_eq!(groups.len(), 3, "one group each while there is room");
        // Member 0 ends: its group (the first) is the least loaded, but
        // alive until its task sees it.
        lock(&bench.done).push(0);
        assert!(bench.poll_group(0), "the group ended with its last member");
        assert_eq!(groups.len(), 2);
        for name in 3..8 {
            bench.join(&groups, name);
        }
        assert_eq!(lock(&bench.runtime.0).len(), 4, "one new group, then joins");
        assert_eq!(groups.len(), 3);
        let counts: Vec<usize> = lock(&groups.live)
            .iter()
            .map(|group| group.members.load(Ordering::SeqCst))
            .collect();
        assert_eq!(counts.iter().sum::<usize>(), 7);
        assert!(counts.iter().max().unwrap() - counts.iter().min().unwrap() <= 1);
    }

    #[test]
    fn a_panicking_member_ends_alone() {
        let bench = Bench::new();
        let groups = Groups::new(1);
        bench.join(&groups, 0);
        groups.spawn(
            &bench.runtime,
            Box::pin(std::future::poll_fn(|_| panic!("a handler's panic"))),
        );
        bench.join(&groups, 2);
        assert!(!bench.poll_group(0));
        assert_eq!(bench.take_log(), [0, 2]);
        bench.wake(2);
        assert!(!bench.poll_group(0));
        assert_eq!(bench.take_log(), [2]);
        assert_eq!(lock(&groups.live)[0].members.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn keyed_members_share_their_keys_group_whatever_the_count() {
        let bench = Bench::new();
        let groups = Groups::new(1);
        for (name, key) in [(0, 5), (1, 7), (2, 5), (3, 7), (4, 5)] {
            let member = member(name, &bench.log, &bench.wakers, &bench.done);
            groups.spawn_in(&bench.runtime, key, member);
        }
        assert_eq!(lock(&bench.runtime.0).len(), 2, "one task per key");
        let mut by_key: Vec<(Option<usize>, usize)> = lock(&groups.live)
            .iter()
            .map(|group| (group.key, group.members.load(Ordering::SeqCst)))
            .collect();
        by_key.sort();
        assert_eq!(by_key, [(Some(5), 3), (Some(7), 2)]);
    }

    #[test]
    fn a_dropped_group_task_leaves_the_registry() {
        let bench = Bench::new();
        let groups = Groups::new(1);
        bench.join(&groups, 0);
        assert_eq!(groups.len(), 1);
        lock(&bench.runtime.0).clear();
        assert_eq!(groups.len(), 0);
        bench.join(&groups, 1);
        assert_eq!(lock(&bench.runtime.0).len(), 1, "a new group, polled");
    }
}
