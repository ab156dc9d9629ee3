//! The other nodes of a cluster as `ClusterAdapterWithHeartbeat` counts
//! them: every node heartbeats on the stream, and a node not heard from
//! within the heartbeat timeout is gone. Counted per namespace, since the
//! reference gives each namespace's adapter its own uid.
//!
//! Sans-IO: the caller brings `now`; nothing expires on its own, a count
//! only sees the nodes heard from recently enough.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use core::time::Duration;

use super::message::EMITTER_UID;
use crate::time::Instant;

/// The most nodes remembered; past it, silent ones are forgotten first and
/// a new uid is ignored (a stream writer inventing uids cannot grow it).
pub const MAX_NODES: usize = 4096;

/// Nodes heard from, by namespace and uid, with when.
#[derive(Debug)]
pub struct Nodes {
    last_seen: BTreeMap<(String, String), Instant>,
    timeout: Duration,
}

impl Nodes {
    /// No node known; nodes silent for longer than `timeout` do not count.
    pub fn new(timeout: Duration) -> Nodes {
        Nodes {
            last_seen: BTreeMap::new(),
            timeout,
        }
    }

    fn alive(&self, seen: Instant, now: Instant) -> bool {
        now.saturating_duration_since(seen) <= self.timeout
    }

    /// Node `uid` of namespace `nsp` was heard from at `now` (the emitter's
    /// messages are not a node's).
    pub fn heard(&mut self, nsp: &str, uid: &str, now: Instant) {
        if uid == EMITTER_UID {
            return;
        }
        let key = (String::from(nsp), String::from(uid));
        if let Some(seen) = self.last_seen.get_mut(&key) {
            *seen = now;
            return;
        }
        if self.last_seen.len() >= MAX_NODES {
            let timeout = self.timeout;
            self.last_seen
                .retain(|_, seen| now.saturating_duration_since(*seen) <= timeout);
            if self.last_seen.len() >= MAX_NODES {
                return;
            }
        }
        self.last_seen.insert(key, now);
    }

    /// Node `uid` left namespace `nsp` (ADAPTER_CLOSE).
    pub fn remove(&mut self, nsp: &str, uid: &str) {
        self.last_seen
            .remove(&(String::from(nsp), String::from(uid)));
    }

    /// The other nodes (uids) that serve `nsp` at `now`.
    pub fn uids(&self, nsp: &str, now: Instant) -> BTreeSet<String> {
        self.last_seen
            .iter()
            .filter(|((name, _), seen)| name == nsp && self.alive(**seen, now))
            .map(|((_, uid), _)| uid.clone())
            .collect()
    }

    /// How many other nodes serve `nsp` at `now`.
    pub fn count(&self, nsp: &str, now: Instant) -> usize {
        self.last_seen
            .iter()
            .filter(|((name, _), seen)| name == nsp && self.alive(**seen, now))
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUT: Duration = Duration::from_secs(10);

    fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    #[test]
    fn counts_nodes_heard_within_the_timeout_per_namespace() {
        let mut nodes = Nodes::new(TIMEOUT);
        nodes.heard("/", "a", at(0));
        nodes.heard("/", "b", at(5_000));
        nodes.heard("/chat", "a", at(5_000));
        assert_eq!(nodes.count("/", at(5_000)), 2);
        assert_eq!(nodes.count("/chat", at(5_000)), 1);
        let alive: alloc::vec::Vec<String> = nodes.uids("/", at(5_000)).into_iter().collect();
        assert_eq!(alive, ["a", "b"]);
        // a is silent on "/" past the timeout; b is not.
        assert_eq!(nodes.count("/", at(10_001)), 1);
        nodes.heard("/", "a", at(10_002));
        assert_eq!(nodes.count("/", at(10_002)), 2);
        assert_eq!(nodes.count("/", at(20_003)), 0);
    }

    #[test]
    fn close_removes_and_the_emitter_never_counts() {
        let mut nodes = Nodes::new(TIMEOUT);
        nodes.heard("/", "a", at(0));
        nodes.heard("/", EMITTER_UID, at(0));
        assert_eq!(nodes.count("/", at(0)), 1);
        nodes.remove("/", "a");
        assert_eq!(nodes.count("/", at(0)), 0);
    }

    #[test]
    fn invented_uids_are_bounded_and_stale_ones_make_room() {
        let mut nodes = Nodes::new(TIMEOUT);
        for i in 0..MAX_NODES + 10 {
            nodes.heard("/", &alloc::format!("{i}"), at(0));
        }
        assert_eq!(nodes.count("/", at(0)), MAX_NODES);
        // Once they are stale, a new node gets in.
        nodes.heard("/", "late", at(20_000));
        assert_eq!(nodes.count("/", at(20_000)), 1);
    }
}
