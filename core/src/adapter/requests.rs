//! One node's outstanding cluster requests, as the reference adapter keeps
//! them (`requests` and `ackRequests` of `RedisAdapter`): each waits for one
//! response per other node (or, for a broadcast with acks, for every node's
//! client count and then every client's ack) until its deadline.
//!
//! Sans-IO: the caller counts the nodes (`PUBSUB NUMSUB`, minus itself),
//! brings `now`, and sleeps until [`PendingRequests::next_deadline`].

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::message::{RequestType, Response};
use crate::time::Instant;

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every expected response arrived.
    Complete,
    /// The deadline passed first: `received` of `expected` responses
    /// arrived (for a broadcast with acks: client acks, and the clients
    /// the nodes that reported announced).
    TimedOut {
        /// Responses that arrived.
        received: usize,
        /// Responses expected.
        expected: usize,
    },
}

/// A request that completed or timed out.
#[derive(Debug, Clone, PartialEq)]
pub struct Finished {
    /// The request id.
    pub request_id: String,
    /// The request's type.
    pub kind: RequestType,
    /// The responses, in arrival order (for a broadcast with acks: the
    /// `BROADCAST_ACK` ones).
    pub responses: Vec<Response>,
    /// How it ended.
    pub outcome: Outcome,
}

impl Finished {
    /// The reference's error message for a timeout; `None` when complete.
    pub fn error(&self) -> Option<String> {
        let Outcome::TimedOut { received, expected } = self.outcome else {
            return None;
        };
        let waited_for = match self.kind {
            RequestType::ServerSideEmit => {
                return Some(format!(
                    "timeout reached: only {received} responses received out of {expected}"
                ))
            }
            // socket.io's BroadcastOperator words the ack timeout this way.
            RequestType::Broadcast
            | RequestType::BroadcastClientCount
            | RequestType::BroadcastAck => {
                return Some(String::from("operation has timed out"));
            }
            RequestType::Sockets => "sockets",
            RequestType::AllRooms => "allRooms",
            RequestType::RemoteJoin => "remoteJoin",
            RequestType::RemoteLeave => "remoteLeave",
            RequestType::RemoteDisconnect => "remoteDisconnect",
            RequestType::RemoteFetch => "fetchSockets",
        };
        Some(format!(
            "timeout reached while waiting for {waited_for} response"
        ))
    }
}

/// What [`PendingRequests::feed`] did with a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fed {
    /// Counted.
    Accepted,
    /// No request pending here has that id.
    UnknownRequest,
    /// The response does not answer a request of that type.
    WrongKind,
    /// The request already has every response it expected.
    Surplus,
}

/// Why a request cannot be registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegisterError {
    /// A request with this id is already pending.
    DuplicateId,
    /// Responses and broadcast acks are not requests.
    NotARequest,
}

#[derive(Debug)]
enum Tally {
    /// One response per other node.
    PerNode {
        expected: usize,
        responses: Vec<Response>,
    },
    /// A broadcast with acks: each other node reports its client count,
    /// then each of those clients' acks arrives.
    Acks {
        nodes: usize,
        nodes_reported: usize,
        clients: usize,
        acks: Vec<Response>,
    },
}

impl Tally {
    fn complete(&self) -> bool {
        match self {
            Tally::PerNode {
                expected,
                responses,
            } => responses.len() >= *expected,
            Tally::Acks {
                nodes,
                nodes_reported,
                clients,
                acks,
            } => nodes_reported >= nodes && acks.len() >= *clients,
        }
    }

    fn counts(&self) -> (usize, usize) {
        match self {
            Tally::PerNode {
                expected,
                responses,
            } => (responses.len(), *expected),
            Tally::Acks { clients, acks, .. } => (acks.len(), *clients),
        }
    }

    fn into_responses(self) -> Vec<Response> {
        match self {
            Tally::PerNode { responses, .. } => responses,
            Tally::Acks { acks, .. } => acks,
        }
    }
}

/// The most acks of a broadcast kept beyond the client counts reported so
/// far, while some node has not reported its count yet.
const MAX_EARLY_ACKS: usize = 65_536;

#[derive(Debug)]
struct Pending {
    kind: RequestType,
    deadline: Instant,
    tally: Tally,
    /// The nodes (uids) that have not answered yet, when known (the
    /// streams wire): one that leaves is no longer waited for.
    waiting_on: Option<BTreeSet<String>>,
}

/// The requests this node waits on, by request id.
#[derive(Debug, Default)]
pub struct PendingRequests {
    pending: BTreeMap<String, Pending>,
}

impl PendingRequests {
    /// No request pending.
    pub fn new() -> PendingRequests {
        PendingRequests::default()
    }

    /// Waits for `other_nodes` answers to request `request_id` of type
    /// `kind` until `deadline`. For [`RequestType::Broadcast`] the answers
    /// are each node's client count, then that many acks. With no other
    /// node the request completes at the next [`PendingRequests::poll`].
    pub fn register(
        &mut self,
        request_id: &str,
        kind: RequestType,
        other_nodes: usize,
        deadline: Instant,
    ) -> Result<(), RegisterError> {
        if self.pending.contains_key(request_id) {
            return Err(RegisterError::DuplicateId);
        }
        let tally = match kind {
            RequestType::BroadcastClientCount | RequestType::BroadcastAck => {
                return Err(RegisterError::NotARequest)
            }
            RequestType::Broadcast => Tally::Acks {
                nodes: other_nodes,
                nodes_reported: 0,
                clients: 0,
                acks: Vec::new(),
            },
            _ => Tally::PerNode {
                expected: other_nodes,
                responses: Vec::new(),
            },
        };
        self.pending.insert(
            String::from(request_id),
            Pending {
                kind,
                deadline,
                tally,
                waiting_on: None,
            },
        );
        Ok(())
    }

    /// [`PendingRequests::register`] waiting for one answer from each of
    /// the nodes `uids` (socket.io-adapter's `missingUids`): feed their
    /// answers with [`PendingRequests::feed_from`]; a node that leaves
    /// ([`PendingRequests::node_left`]) is no longer waited for. Not for a
    /// broadcast with acks (whose clients' acks Node waits for anyway).
    pub fn register_nodes(
        &mut self,
        request_id: &str,
        kind: RequestType,
        uids: BTreeSet<String>,
        deadline: Instant,
    ) -> Result<(), RegisterError> {
        self.register(request_id, kind, uids.len(), deadline)?;
        if let Some(pending) = self.pending.get_mut(request_id) {
            if let Tally::PerNode { .. } = pending.tally {
                pending.waiting_on = Some(uids);
            }
        }
        Ok(())
    }

    /// [`PendingRequests::feed`] of a response from node `uid`.
    pub fn feed_from(&mut self, uid: &str, response: Response) -> Fed {
        if let Some(waiting_on) = self
            .pending
            .get_mut(response.request_id())
            .and_then(|pending| pending.waiting_on.as_mut())
        {
            waiting_on.remove(uid);
        }
        self.feed(response)
    }

    /// Node `uid` left the cluster (ADAPTER_CLOSE): the requests still
    /// waiting for its answer expect one fewer, and may complete now.
    pub fn node_left(&mut self, uid: &str) {
        for pending in self.pending.values_mut() {
            let left = pending
                .waiting_on
                .as_mut()
                .is_some_and(|waiting_on| waiting_on.remove(uid));
            if let (true, Tally::PerNode { expected, .. }) = (left, &mut pending.tally) {
                *expected = expected.saturating_sub(1);
            }
        }
    }

    /// Sets how many other nodes request `request_id` waits for, when the
    /// count (`PUBSUB NUMSUB`) arrives after the request went out, as for a
    /// broadcast with acks. Returns whether the request is pending.
    pub fn set_other_nodes(&mut self, request_id: &str, other_nodes: usize) -> bool {
        let Some(pending) = self.pending.get_mut(request_id) else {
            return false;
        };
        match &mut pending.tally {
            Tally::PerNode { expected, .. } => *expected = other_nodes,
            Tally::Acks { nodes, .. } => *nodes = other_nodes,
        }
        true
    }

    /// The type of pending request `request_id` (what
    /// [`Response::decode`] needs to read an untyped response).
    pub fn kind_of(&self, request_id: &str) -> Option<RequestType> {
        self.pending.get(request_id).map(|pending| pending.kind)
    }

    /// Counts `response` for its request.
    pub fn feed(&mut self, response: Response) -> Fed {
        let Some(pending) = self.pending.get_mut(response.request_id()) else {
            return Fed::UnknownRequest;
        };
        match (&mut pending.tally, pending.kind, &response) {
            (
                Tally::Acks {
                    nodes_reported,
                    clients,
                    ..
                },
                _,
                Response::BroadcastClientCount { client_count, .. },
            ) => {
                *nodes_reported = nodes_reported.saturating_add(1);
                // A negative count is a peer's nonsense: nothing to wait for.
                let count = usize::try_from(*client_count).unwrap_or(0);
                *clients = clients.saturating_add(count);
                Fed::Accepted
            }
            (
                Tally::Acks {
                    nodes,
                    nodes_reported,
                    clients,
                    acks,
                },
                _,
                Response::BroadcastAck { .. },
            ) => {
                // Each node publishes its count before its clients' acks,
                // but on a Redis Cluster they may cross different nodes
                // and arrive the other way round: while a node has not
                // reported, an ack may be ahead of its count (as Node's
                // tally allows), up to a bound.
                let counts_pending = nodes_reported < nodes && acks.len() < MAX_EARLY_ACKS;
                if acks.len() >= *clients && !counts_pending {
                    return Fed::Surplus;
                }
                acks.push(response);
                Fed::Accepted
            }
            (Tally::Acks { .. }, _, _) => Fed::WrongKind,
            (
                Tally::PerNode {
                    expected,
                    responses,
                },
                kind,
                _,
            ) => {
                if !answers(kind, &response) {
                    return Fed::WrongKind;
                }
                if responses.len() >= *expected {
                    return Fed::Surplus;
                }
                responses.push(response);
                Fed::Accepted
            }
        }
    }

    /// A request that completed, else one whose deadline passed by `now`;
    /// it is no longer pending. Call until `None`.
    pub fn poll(&mut self, now: Instant) -> Option<Finished> {
        let (id, timed_out) = self
            .pending
            .iter()
            .find(|(_, pending)| pending.tally.complete())
            .map(|(id, _)| (id.clone(), false))
            .or_else(|| {
                self.pending
                    .iter()
                    .find(|(_, pending)| pending.deadline <= now)
                    .map(|(id, _)| (id.clone(), true))
            })?;
        let pending = self.pending.remove(&id)?;
        let outcome = if timed_out {
            let (received, expected) = pending.tally.counts();
            Outcome::TimedOut { received, expected }
        } else {
            Outcome::Complete
        };
        Some(Finished {
            request_id: id,
            kind: pending.kind,
            responses: pending.tally.into_responses(),
            outcome,
        })
    }

    /// The earliest deadline of a pending request.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.pending.values().map(|pending| pending.deadline).min()
    }

    /// Forgets request `request_id` (its waiter gave up).
    pub fn cancel(&mut self, request_id: &str) -> bool {
        self.pending.remove(request_id).is_some()
    }

    /// How many requests are pending.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Whether no request is pending.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}

/// Whether `response` is an answer to a request of type `kind`.
fn answers(kind: RequestType, response: &Response) -> bool {
    matches!(
        (kind, response),
        (RequestType::Sockets, Response::Sockets { .. })
            | (RequestType::AllRooms, Response::AllRooms { .. })
            | (RequestType::RemoteFetch, Response::RemoteFetch { .. })
            | (RequestType::ServerSideEmit, Response::ServerSideEmit { .. })
            | (
                RequestType::RemoteJoin | RequestType::RemoteLeave | RequestType::RemoteDisconnect,
                Response::Done { .. }
            )
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::Value;
    use alloc::vec;

    fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    fn rooms(id: &str, rooms: &[&str]) -> Response {
        Response::AllRooms {
            request_id: id.into(),
            rooms: rooms.iter().map(|r| String::from(*r)).collect(),
        }
    }

    /// A node's count of clients a broadcast `id` reached.
    fn count(id: &str, n: i64) -> Response {
        Response::BroadcastClientCount {
            request_id: id.into(),
            client_count: n,
        }
    }

    /// A client's ack of broadcast `id`.
    fn ack(id: &str, packet: Option<Value>) -> Response {
        Response::BroadcastAck {
            request_id: id.into(),
            packet,
        }
    }

    #[test]
    fn completes_when_every_node_answered() {
        let mut requests = PendingRequests::new();
        requests
            .register("r1", RequestType::AllRooms, 2, at(5000))
            .unwrap();
        assert_eq!(requests.kind_of("r1"), Some(RequestType::AllRooms));
        assert_eq!(requests.feed(rooms("r1", &["a"])), Fed::Accepted);
        assert_eq!(requests.poll(at(10)), None);
        assert_eq!(requests.feed(rooms("r1", &["b"])), Fed::Accepted);
        let done = requests.poll(at(20)).unwrap();
        assert_eq!(done.outcome, Outcome::Complete);
        assert_eq!(done.error(), None);
        assert_eq!(
            done.responses,
            vec![rooms("r1", &["a"]), rooms("r1", &["b"])]
        );
        assert!(requests.is_empty());
        assert_eq!(requests.poll(at(9999)), None);
    }

    #[test]
    fn no_other_node_completes_at_once() {
        let mut requests = PendingRequests::new();
        requests
            .register("r1", RequestType::ServerSideEmit, 0, at(5000))
            .unwrap();
        let done = requests.poll(at(0)).unwrap();
        assert_eq!((done.outcome, done.responses.len()), (Outcome::Complete, 0));
    }

    #[test]
    fn times_out_with_the_reference_messages() {
        let mut requests = PendingRequests::new();
        requests
            .register("sse", RequestType::ServerSideEmit, 3, at(5000))
            .unwrap();
        requests
            .register("fetch", RequestType::RemoteFetch, 1, at(6000))
            .unwrap();
        requests
            .register("rooms", RequestType::AllRooms, 1, at(7000))
            .unwrap();
        requests
            .register("sockets", RequestType::Sockets, 1, at(7000))
            .unwrap();
        requests
            .register("bcast", RequestType::Broadcast, 1, at(8000))
            .unwrap();
        let ack = Response::ServerSideEmit {
            request_id: "sse".into(),
            data: Some(Value::Int(1)),
        };
        assert_eq!(requests.feed(ack.clone()), Fed::Accepted);
        assert_eq!(requests.next_deadline(), Some(at(5000)));
        assert_eq!(requests.poll(at(4999)), None);

        let sse = requests.poll(at(5000)).unwrap();
        assert_eq!(
            sse.outcome,
            Outcome::TimedOut {
                received: 1,
                expected: 3
            }
        );
        assert_eq!(
            sse.error().unwrap(),
            "timeout reached: only 1 responses received out of 3"
        );
        assert_eq!(sse.responses, vec![ack]);
        assert_eq!(requests.next_deadline(), Some(at(6000)));

        let mut errors = Vec::new();
        while let Some(done) = requests.poll(at(8000)) {
            errors.push((done.request_id.clone(), done.error().unwrap()));
        }
        assert_eq!(
            errors,
            vec![
                ("bcast".into(), "operation has timed out".into()),
                (
                    "fetch".into(),
                    "timeout reached while waiting for fetchSockets response".into()
                ),
                (
                    "rooms".into(),
                    "timeout reached while waiting for allRooms response".into()
                ),
                (
                    "sockets".into(),
                    "timeout reached while waiting for sockets response".into()
                ),
            ]
        );
        assert_eq!(requests.next_deadline(), None);
    }

    #[test]
    fn ignores_unknown_ids_wrong_kinds_and_surplus() {
        let mut requests = PendingRequests::new();
        requests
            .register("r1", RequestType::AllRooms, 1, at(100))
            .unwrap();
        assert_eq!(requests.feed(rooms("nope", &[])), Fed::UnknownRequest);
        let wrong = Response::Sockets {
            request_id: "r1".into(),
            sockets: vec![],
        };
        assert_eq!(requests.feed(wrong), Fed::WrongKind);
        let count = Response::BroadcastClientCount {
            request_id: "r1".into(),
            client_count: 3,
        };
        assert_eq!(requests.feed(count), Fed::WrongKind);
        assert_eq!(requests.feed(rooms("r1", &["x"])), Fed::Accepted);
        assert_eq!(requests.feed(rooms("r1", &["y"])), Fed::Surplus);
        assert_eq!(
            requests.register("r1", RequestType::AllRooms, 1, at(100)),
            Err(RegisterError::DuplicateId)
        );
        assert_eq!(
            requests.register("r2", RequestType::BroadcastAck, 1, at(100)),
            Err(RegisterError::NotARequest)
        );
        let done = requests.poll(at(0)).unwrap();
        assert_eq!(done.responses, vec![rooms("r1", &["x"])]);
    }

    #[test]
    fn broadcast_acks_wait_for_every_count_then_every_ack() {
        let mut requests = PendingRequests::new();
        requests
            .register("b", RequestType::Broadcast, 2, at(1000))
            .unwrap();
        let count = |n| count("b", n);
        let ack = |n| ack("b", Some(Value::Int(n)));
        assert_eq!(requests.feed(count(2)), Fed::Accepted);
        assert_eq!(requests.feed(ack(1)), Fed::Accepted);
        assert_eq!(requests.feed(ack(2)), Fed::Accepted);
        // One node still has to report.
        assert_eq!(requests.poll(at(10)), None);
        assert_eq!(requests.feed(count(-5)), Fed::Accepted);
        let done = requests.poll(at(10)).unwrap();
        assert_eq!(done.outcome, Outcome::Complete);
        assert_eq!(done.responses, vec![ack(1), ack(2)]);
    }

    /// On a Redis Cluster a node's acks can arrive before its count.
    #[test]
    fn broadcast_acks_ahead_of_their_count_are_kept() {
        let mut requests = PendingRequests::new();
        requests
            .register("b", RequestType::Broadcast, 2, at(1000))
            .unwrap();
        let count = |n| count("b", n);
        let ack = |n| ack("b", Some(Value::Int(n)));
        assert_eq!(requests.feed(count(1)), Fed::Accepted);
        assert_eq!(requests.feed(ack(1)), Fed::Accepted);
        // The second node's ack, then its count.
        assert_eq!(requests.feed(ack(2)), Fed::Accepted);
        assert_eq!(requests.poll(at(10)), None);
        assert_eq!(requests.feed(count(1)), Fed::Accepted);
        let done = requests.poll(at(10)).unwrap();
        assert_eq!(done.outcome, Outcome::Complete);
        assert_eq!(done.responses, vec![ack(1), ack(2)]);
    }

    #[test]
    fn acks_beyond_every_count_are_surplus_and_early_ones_bounded() {
        let mut requests = PendingRequests::new();
        requests
            .register("b", RequestType::Broadcast, 1, at(1000))
            .unwrap();
        let early = || ack("b", None);
        for _ in 0..MAX_EARLY_ACKS {
            assert_eq!(requests.feed(early()), Fed::Accepted);
        }
        assert_eq!(requests.feed(early()), Fed::Surplus);
        let mut requests = PendingRequests::new();
        requests
            .register("c", RequestType::Broadcast, 1, at(1000))
            .unwrap();
        let _ = requests.feed(count("c", 1));
        let late = || ack("c", None);
        assert_eq!(requests.feed(late()), Fed::Accepted);
        assert_eq!(requests.feed(late()), Fed::Surplus);
    }

    #[test]
    fn broadcast_acks_time_out_with_what_arrived() {
        let mut requests = PendingRequests::new();
        requests
            .register("b", RequestType::Broadcast, 1, at(1000))
            .unwrap();
        let _ = requests.feed(count("b", 2));
        let _ = requests.feed(ack("b", None));
        let done = requests.poll(at(1000)).unwrap();
        assert_eq!(
            done.outcome,
            Outcome::TimedOut {
                received: 1,
                expected: 2
            }
        );
        assert_eq!(done.responses.len(), 1);
        assert!(!requests.cancel("b"));
    }

    #[test]
    fn node_count_set_after_registering() {
        let mut requests = PendingRequests::new();
        requests
            .register("b", RequestType::Broadcast, usize::MAX, at(1000))
            .unwrap();
        let _ = requests.feed(count("b", 0));
        assert_eq!(requests.poll(at(0)), None);
        assert!(requests.set_other_nodes("b", 1));
        assert_eq!(requests.poll(at(0)).unwrap().outcome, Outcome::Complete);
        assert!(!requests.set_other_nodes("b", 1));
    }

    #[test]
    fn a_node_that_leaves_is_no_longer_waited_for() {
        let mut requests = PendingRequests::new();
        let uids = ["a", "b", "c"].map(String::from).into_iter().collect();
        let deadline = Instant::from_millis(5_000);
        requests
            .register_nodes("r1", RequestType::ServerSideEmit, uids, deadline)
            .unwrap();
        let answer = || Response::ServerSideEmit {
            request_id: "r1".into(),
            data: None,
        };
        assert_eq!(requests.feed_from("a", answer()), Fed::Accepted);
        // b answered before it left: its answer stays counted.
        assert_eq!(requests.feed_from("b", answer()), Fed::Accepted);
        requests.node_left("b");
        // A node the request never waited for changes nothing.
        requests.node_left("z");
        assert!(requests.poll(Instant::from_millis(0)).is_none());
        requests.node_left("c");
        let finished = requests.poll(Instant::from_millis(0)).expect("complete");
        assert_eq!(finished.outcome, Outcome::Complete);
        assert_eq!(finished.responses.len(), 2);
    }
}
