//! When this node heartbeats on the stream, as `ClusterAdapterWithHeartbeat`
//! does: one timer per namespace, (re)armed by every message the node sends
//! through `publish()` (a heartbeat among them), so a heartbeat goes out
//! only after `heartbeatInterval` without one. Broadcasts, room changes,
//! disconnects and responses go out another way in Node
//! (`publishAndReturnOffset`, `publishResponse`) and do not rearm it.
//!
//! Sans-IO: the caller brings `now` and sleeps until [`Heartbeats::next_due`].

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

use super::message::{ClusterBody, Request};
use crate::time::Instant;

/// Whether sending `body` rearms the heartbeat timer (Node's `publish()`:
/// INITIAL_HEARTBEAT, HEARTBEAT, ADAPTER_CLOSE, FETCH_SOCKETS,
/// SERVER_SIDE_EMIT, a BROADCAST with acks).
pub fn rearms_heartbeat(body: &ClusterBody) -> bool {
    match body {
        ClusterBody::InitialHeartbeat | ClusterBody::Heartbeat | ClusterBody::AdapterClose => true,
        ClusterBody::Request(request) => matches!(
            request,
            Request::RemoteFetch { .. }
                | Request::ServerSideEmit { .. }
                | Request::Broadcast { .. }
        ),
        ClusterBody::Broadcast { .. } | ClusterBody::Response(_) => false,
    }
}

/// Each namespace's heartbeat timer: when its node last sent a message
/// that rearms it.
#[derive(Debug)]
pub struct Heartbeats {
    interval: Duration,
    armed: BTreeMap<String, Instant>,
}

impl Heartbeats {
    /// No namespace yet; heartbeats `interval` after the last rearm.
    pub fn new(interval: Duration) -> Heartbeats {
        Heartbeats {
            interval,
            armed: BTreeMap::new(),
        }
    }

    /// This node sent a message of `nsp` that rearms its timer, at `now`.
    pub fn rearm(&mut self, nsp: &str, now: Instant) {
        match self.armed.get_mut(nsp) {
            Some(at) => *at = now,
            None => {
                self.armed.insert(String::from(nsp), now);
            }
        }
    }

    /// `nsp` sends nothing any more (its adapter closed).
    pub fn stop(&mut self, nsp: &str) {
        self.armed.remove(nsp);
    }

    /// When the next heartbeat is due, if any namespace is armed.
    pub fn next_due(&self) -> Option<Instant> {
        self.armed.values().min().map(|at| *at + self.interval)
    }

    /// The namespaces whose heartbeat is due at `now`; each is rearmed at
    /// `now`, as sending the heartbeat does.
    pub fn due(&mut self, now: Instant) -> Vec<String> {
        let mut due = Vec::new();
        for (nsp, at) in self.armed.iter_mut() {
            if *at + self.interval <= now {
                *at = now;
                due.push(nsp.clone());
            }
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::{AdapterPacket, Response, Targets, Value};
    use alloc::vec;

    const INTERVAL: Duration = Duration::from_secs(5);

    fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    #[test]
    fn a_heartbeat_goes_out_an_interval_after_the_last_rearm_only() {
        let mut beats = Heartbeats::new(INTERVAL);
        assert_eq!(beats.next_due(), None);
        beats.rearm("/", at(0));
        beats.rearm("/chat", at(1_000));
        assert_eq!(beats.next_due(), Some(at(5_000)));
        assert!(beats.due(at(4_999)).is_empty());
        // A request on "/" at 3 s pushes its heartbeat to 8 s.
        beats.rearm("/", at(3_000));
        assert_eq!(beats.next_due(), Some(at(6_000)));
        assert_eq!(beats.due(at(6_000)), vec![String::from("/chat")]);
        assert_eq!(beats.next_due(), Some(at(8_000)));
        assert_eq!(beats.due(at(8_000)), vec![String::from("/")]);
        // Late wake-ups send each due heartbeat once.
        assert_eq!(beats.due(at(20_000)).len(), 2);
        assert!(beats.due(at(20_000)).is_empty());
        beats.stop("/");
        beats.stop("/chat");
        assert_eq!(beats.next_due(), None);
    }

    #[test]
    fn broadcasts_room_changes_and_responses_do_not_rearm() {
        let targets = Targets {
            rooms: vec![],
            except: vec![],
            flags: None,
        };
        let packet = AdapterPacket::event("/", Value::Array(vec![Value::str("ev")]));
        assert!(rearms_heartbeat(&ClusterBody::Heartbeat));
        assert!(rearms_heartbeat(&ClusterBody::AdapterClose));
        assert!(!rearms_heartbeat(&ClusterBody::Broadcast {
            packet: packet.clone(),
            opts: targets.clone(),
        }));
        let join = Request::RemoteJoin {
            uid: "u".into(),
            opts: targets.clone(),
            rooms: vec!["r".into()],
        };
        assert!(!rearms_heartbeat(&ClusterBody::Request(join)));
        let fetch = Request::RemoteFetch {
            uid: "u".into(),
            request_id: "1".into(),
            opts: targets.clone(),
        };
        assert!(rearms_heartbeat(&ClusterBody::Request(fetch)));
        let response = Response::ServerSideEmit {
            request_id: "1".into(),
            data: None,
        };
        assert!(!rearms_heartbeat(&ClusterBody::Response(response)));
    }
}
