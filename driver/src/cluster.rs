//! The cluster adapter: this node speaks the reference Redis adapter's
//! protocol (`@socket.io/redis-adapter` 8.x, [`sio_core::adapter`]) over a
//! [`Bus`], so sio servers and Node socket.io servers share broadcasts,
//! requests and responses.
//!
//! - Every namespace subscribes as `RedisAdapter` does: the pattern
//!   `{key}#{nsp}#*`, the request channel, the response channel and this
//!   node's specific response channel. On a sharded bus
//!   ([`Bus::sharded`](super::bus::Bus::sharded)) it speaks the cluster
//!   messages of the streams wire on the sharded adapter's channels
//!   instead (`sharded.rs`).
//! - Bus events arrive through a bounded queue and are handled by one task,
//!   in order; publishes leave through another queue and are handed to
//!   the bus in the order this node made them, without waiting for each
//!   answer (a bounded number in flight).
//! - Requests wait in [`PendingRequests`] (sans-IO) against the driver's
//!   clock; every request completes or times out.
//!
//! Locking: the cluster's own lock is never held while the server state
//! lock is taken (the state lock may be held while taking this one).
//!
//! Floor: cluster, above socket and shared, below remote. Its answers to
//! other nodes (`answer.rs`) and its dispatch of server-side emits
//! (`namespace.rs`) are `impl Cluster` blocks on the floors above.

use crate::meter;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use async_channel::{Receiver, Sender};
use bytes::Bytes;

use super::bus::{BusError, BusEvent};
use super::shared::Shared;
use super::sync::lock;
pub(crate) use super::wire::Wire;
use super::wire::{publish_loop, Outgoing, Then};
use crate::clock::Clock;
use sio_core::adapter::{
    read_incoming, rearms_heartbeat, uid_from_random, AdapterPacket, BroadcastMessage, ChannelKind,
    Channels, ClusterBody, ClusterMessage, FetchedSocket, Finished, Heartbeats, Incoming, Nodes,
    PendingRequests, Request, RequestType, Response, RoomChannels, ShardedChannels,
    SubscriptionMode, Targets, Value,
};
use sio_core::time::Instant;

/// Bus events waiting for the handler task; beyond this they are dropped
/// (the node cannot keep up; the bus itself buffers too).
const EVENT_QUEUE: usize = 65_536;
/// Publishes waiting for the bus.
const PUBLISH_QUEUE: usize = 65_536;

/// Why a cluster-wide operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClusterError {
    /// The bus could not count the nodes or publish.
    Bus(BusError),
    /// Not every node answered in time: the reference adapter's message
    /// (`timeout reached while waiting for fetchSockets response`,
    /// `timeout reached: only 1 responses received out of 2`).
    Timeout(String),
    /// A response did not decode as the requested type.
    Decode(String),
    /// The arguments do not serialize.
    Encode(String),
    /// The server was dropped while waiting.
    Closed,
}

impl std::fmt::Display for ClusterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClusterError::Bus(e) => write!(f, "cluster bus: {e}"),
            ClusterError::Timeout(message) => f.write_str(message),
            ClusterError::Decode(e) => write!(f, "cannot decode a response: {e}"),
            ClusterError::Encode(e) => write!(f, "arguments do not serialize: {e}"),
            ClusterError::Closed => f.write_str("server closed"),
        }
    }
}

impl std::error::Error for ClusterError {}

pub(super) struct ClusterState {
    /// Namespaces subscribed to.
    pub(super) namespaces: HashSet<Arc<str>>,
    pub(super) requests: PendingRequests,
    /// Who waits for each pending request.
    waiters: HashMap<String, Sender<Finished>>,
    /// The other nodes heard on the stream (the streams wire only).
    pub(super) nodes: Nodes,
    /// Each namespace's room channels (the sharded wire only).
    pub(super) rooms: HashMap<Arc<str>, RoomChannels>,
    /// How many of this server's shards have each room, by namespace then
    /// room (the sharded wire only): its channel is wanted from the first
    /// shard's create to the last shard's delete.
    pub(super) room_shards: HashMap<Arc<str>, HashMap<Box<str>, usize>>,
    /// When each namespace heartbeats next (the streams wire only).
    pub(super) heartbeats: Heartbeats,
}

/// One node of a cluster: its uid, its bus and its pending requests.
pub(crate) struct Cluster {
    pub(super) wire: Wire,
    /// On a sharded bus, its subscription mode: then the wire speaks
    /// socket.io-adapter's cluster messages on the sharded channels.
    sharded: Option<SubscriptionMode>,
    uid: String,
    key: String,
    pub(super) timeout: Duration,
    connected: AtomicBool,
    /// Left the cluster (ADAPTER_CLOSE sent): nothing more goes out or is
    /// handled.
    pub(super) closed: AtomicBool,
    /// The server's clock (heartbeats are timed on it).
    pub(super) clock: Clock,
    /// Sessions being written to the store (leaving waits for them).
    pub(super) persisting: Arc<AtomicUsize>,
    pub(super) state: Mutex<ClusterState>,
    outbox: Sender<Outgoing>,
    /// Wakes the room subscription task (the sharded wire only).
    pub(super) rooms_changed: Sender<()>,
    /// Request ids when the OS has no random source.
    fallback_ids: AtomicU64,
}

fn random_uid(fallback: &AtomicU64) -> String {
    let mut random = [0u8; 6];
    if getrandom::fill(&mut random).is_err() {
        let n = fallback.fetch_add(1, Ordering::Relaxed);
        random.copy_from_slice(&n.to_le_bytes()[..6]);
    }
    uid_from_random(&random)
}

/// Joins `shared`'s server to the cluster on `wire`; called once, at construction.
pub(crate) fn attach(shared: &Arc<Shared>, wire: Wire) {
    let (outbox, outgoing) = async_channel::bounded(PUBLISH_QUEUE);
    let fallback_ids = AtomicU64::new(1);
    let (key, timeout, heartbeat_timeout, heartbeat_interval) = match &wire {
        Wire::PubSub(bus) => (
            bus.key().to_owned(),
            bus.requests_timeout(),
            Duration::ZERO,
            Duration::ZERO,
        ),
        Wire::Stream(log) => (
            String::from(sio_core::adapter::DEFAULT_KEY),
            log.requests_timeout(),
            log.heartbeat_timeout(),
            // Never a zero interval: the heartbeat loop would not wait.
            log.heartbeat_interval().max(Duration::from_millis(1)),
        ),
    };
    let (rooms_changed, room_changes) = async_channel::bounded(1);
    let cluster = Arc::new(Cluster {
        uid: random_uid(&fallback_ids),
        key,
        timeout,
        wire: wire.clone(),
        sharded: match &wire {
            Wire::PubSub(bus) => bus.sharded(),
            Wire::Stream(_) => None,
        },
        connected: AtomicBool::new(true),
        closed: AtomicBool::new(false),
        clock: shared.clock.clone(),
        persisting: Arc::new(AtomicUsize::new(0)),
        state: Mutex::new(ClusterState {
            namespaces: HashSet::new(),
            requests: PendingRequests::new(),
            waiters: HashMap::new(),
            nodes: Nodes::new(heartbeat_timeout),
            rooms: HashMap::new(),
            room_shards: HashMap::new(),
            heartbeats: Heartbeats::new(heartbeat_interval),
        }),
        outbox,
        rooms_changed,
        fallback_ids,
    });
    if shared.cluster.set(Box::new(cluster.clone())).is_err() {
        tracing::warn!("a cluster adapter is already attached; the second one is ignored");
        return;
    }
    if let Wire::Stream(_) = wire {
        // Sessions and offsets live in Redis, as with Node's cluster adapter.
        shared.process_all(|server, _| server.use_external_recovery_store());
        // A socket's emits go through the stream too (`streams.rs`).
        let _ = shared.logged_emits.set(cluster.clone());
    }
    tracing::info!(uid = %cluster.uid, key = %cluster.key, "joining the cluster");
    let (events, incoming) = async_channel::bounded(EVENT_QUEUE);
    let sink: super::bus::BusSink = Arc::new(move |event| {
        if events.try_send(event).is_err() {
            tracing::warn!("cluster bus event dropped: the node is not keeping up");
        }
    });
    match &wire {
        Wire::PubSub(bus) => {
            bus.start(sink);
            if cluster
                .sharded
                .is_some_and(|mode| mode != SubscriptionMode::Static)
            {
                // Rooms come and go with channels of their own.
                shared.process_all(|server, _| server.set_room_events(true));
                shared.spawn(Cluster::room_subscriptions(
                    Arc::downgrade(shared),
                    bus.clone(),
                    room_changes,
                ));
            }
        }
        Wire::Stream(log) => {
            log.start(sink);
            shared.spawn(Cluster::heartbeat_loop(
                Arc::downgrade(shared),
                heartbeat_interval,
            ));
        }
    }
    shared.spawn(publish_loop(wire, outgoing));
    shared.spawn(event_loop(Arc::downgrade(shared), incoming));
    for nsp in shared.namespaces.names() {
        cluster.add_namespace(shared, &nsp);
    }
}

/// Handles bus events in arrival order until the server is dropped.
async fn event_loop(shared: Weak<Shared>, incoming: Receiver<BusEvent>) {
    while let Ok(event) = incoming.recv().await {
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let Some(cluster) = shared.cluster().cloned() else {
            return;
        };
        match event {
            BusEvent::Message { channel, payload } => {
                meter::adapter_received();
                match cluster.sharded {
                    Some(_) => cluster.handle_sharded(&shared, &channel, &payload),
                    None => cluster.handle_message(&shared, &channel, &payload),
                }
            }
            BusEvent::Down(error) => {
                meter::adapter_error("down");
                cluster.connected.store(false, Ordering::Release);
                tracing::warn!(%error, "cluster bus down; local delivery goes on");
            }
            BusEvent::Up => {
                cluster.connected.store(true, Ordering::Release);
                tracing::info!("cluster bus up again");
            }
            BusEvent::Entry { id, fields } => {
                meter::adapter_received();
                cluster.handle_entry(&shared, &id, &fields);
            }
        }
    }
}

/// The cluster the shared state keeps for this floor.
impl Shared {
    /// The cluster, when an adapter is attached.
    pub(crate) fn cluster(&self) -> Option<&Arc<Cluster>> {
        self.cluster.get().map(|cluster| {
            cluster
                .downcast_ref::<Arc<Cluster>>()
                .expect("the shared state's cluster is a Cluster")
        })
    }
}

impl Cluster {
    /// This node's uid.
    pub(crate) fn uid(&self) -> &str {
        &self.uid
    }

    /// Whether the bus is connected.
    pub(crate) fn connected(&self) -> bool {
        self.connected.load(Ordering::Acquire)
    }

    /// How long requests wait (`requestsTimeout`).
    pub(crate) fn requests_timeout(&self) -> Duration {
        self.timeout
    }

    pub(super) fn channels(&self, nsp: &str) -> Channels {
        Channels::new(&self.key, nsp, &self.uid)
    }

    /// `nsp`'s channels on the sharded wire (`None` on the others).
    pub(super) fn sharded_channels(&self, nsp: &str) -> Option<ShardedChannels> {
        self.sharded
            .map(|mode| ShardedChannels::new(&self.key, nsp, &self.uid, mode))
    }

    fn new_id(&self) -> String {
        random_uid(&self.fallback_ids)
    }

    /// Subscribes namespace `nsp`'s channels, once. Only locks this
    /// cluster's state and spawns: safe under the state lock.
    pub(crate) fn add_namespace(&self, shared: &Shared, nsp: &str) {
        if !lock(&self.state).namespaces.insert(Arc::from(nsp)) {
            return;
        }
        let bus = match &self.wire {
            Wire::PubSub(bus) => bus.clone(),
            Wire::Stream(_) => {
                // The reference's `init()`: the others answer with a heartbeat.
                self.append(&ClusterMessage {
                    uid: self.uid.clone(),
                    nsp: nsp.to_owned(),
                    body: ClusterBody::InitialHeartbeat,
                });
                return;
            }
        };
        // The sharded adapter's constructor: the namespace's channel and
        // its own response channel; the classic one's: a pattern and three.
        let (exact, patterns) = match self.sharded_channels(nsp) {
            Some(sharded) => (
                vec![sharded.namespace().into(), sharded.response().into()],
                Vec::new(),
            ),
            None => {
                let channels = self.channels(nsp);
                let exact = vec![
                    channels.request().to_owned(),
                    channels.response().to_owned(),
                    channels.specific_response().to_owned(),
                ];
                (exact, vec![channels.broadcast_pattern()])
            }
        };
        let nsp = nsp.to_owned();
        shared.spawn(async move {
            if let Err(error) = bus.subscribe(exact, patterns).await {
                tracing::warn!(%nsp, %error, "cluster subscribe failed");
            }
        });
    }

    /// Queues `message` for the bus.
    fn queue(&self, message: Outgoing) {
        if self.outbox.try_send(message).is_err() {
            meter::adapter_error("queue_full");
            tracing::warn!("cluster publish queue full; message dropped");
        }
    }

    /// Queues `payload` for `channel`.
    fn publish(&self, channel: String, payload: Vec<u8>) {
        self.queue(Outgoing::Publish(channel, payload.into()));
    }

    /// Queues `message` for the stream.
    pub(super) fn append(&self, message: &ClusterMessage) {
        self.append_then(message, None);
    }

    /// Whether this node speaks socket.io-adapter's cluster messages (on
    /// the stream or on sharded channels).
    fn cluster_messages(&self) -> bool {
        self.sharded.is_some() || matches!(self.wire, Wire::Stream(_))
    }

    /// Queues a cluster message: on the stream, or on its sharded channel
    /// (`to`: the node a response goes to).
    fn send_cluster(&self, message: &ClusterMessage, to: Option<&str>) {
        let Some(channels) = self.sharded_channels(&message.nsp) else {
            return self.append(message);
        };
        let channel = match to {
            Some(uid) => channels.response_to(uid),
            None => channels.for_message(message),
        };
        match message.to_payload() {
            Ok(payload) => self.publish(channel, payload),
            Err(error) => tracing::warn!(%error, "cluster message too large; not sent"),
        }
    }

    /// Queues `message` for the stream; `then` runs once it is stored
    /// (with its id), in append order, or at once if it cannot be queued.
    pub(super) fn append_then(&self, message: &ClusterMessage, then: Option<Then>) {
        if self.closed.load(Ordering::Acquire) {
            if let Some(then) = then {
                then(None);
            }
            return;
        }
        if rearms_heartbeat(&message.body) {
            lock(&self.state)
                .heartbeats
                .rearm(&message.nsp, self.clock.now());
        }
        let fields = match message.to_fields() {
            Ok(fields) => fields
                .into_iter()
                .map(|(name, value)| (name.to_owned(), value))
                .collect(),
            Err(error) => {
                tracing::warn!(%error, "cluster message too large; not sent");
                if let Some(then) = then {
                    then(None);
                }
                return;
            }
        };
        if let Err(async_channel::TrySendError::Full(Outgoing::Append(_, then))) =
            self.outbox.try_send(Outgoing::Append(fields, then))
        {
            meter::adapter_error("queue_full");
            tracing::warn!("cluster publish queue full; message dropped");
            if let Some(then) = then {
                then(None);
            }
        }
    }

    /// Whether broadcasts carry offsets from the stream (recovery across
    /// nodes): then a broadcast reaches this node's sockets only once it
    /// is stored, as in Node's cluster adapter.
    pub(crate) fn offsets_from_stream(&self, shared: &Shared) -> bool {
        matches!(self.wire, Wire::Stream(_))
            && shared.read(|server| server.external_recovery_store())
    }

    /// Publishes a broadcast on the stream, then runs `deliver` with the
    /// entry's id (the offset), in publish order.
    pub(crate) fn publish_broadcast_then(
        &self,
        nsp: &str,
        data: Value,
        opts: Targets,
        deliver: Then,
    ) {
        let message = ClusterMessage {
            uid: self.uid.clone(),
            nsp: nsp.to_owned(),
            body: ClusterBody::Broadcast {
                packet: AdapterPacket::event(nsp, data),
                opts,
            },
        };
        self.append_then(&message, Some(deliver));
    }

    fn publish_request(&self, nsp: &str, request: &Request) {
        if self.cluster_messages() {
            match ClusterMessage::request(nsp, request.clone()) {
                Ok(message) => self.send_cluster(&message, None),
                Err(_) => {
                    tracing::debug!(kind = ?request.kind(), "no such request on the streams adapter")
                }
            }
            return;
        }
        match request.encode() {
            Ok(bytes) => self.publish(self.channels(nsp).request().to_owned(), bytes),
            Err(error) => tracing::warn!(%error, "cluster request too large; not sent"),
        }
    }

    /// Answers node `to`'s request.
    pub(super) fn respond(&self, nsp: &str, to: &str, response: &Response) {
        if self.cluster_messages() {
            if let Ok(message) = ClusterMessage::response(&self.uid, nsp, response.clone()) {
                self.send_cluster(&message, Some(to));
            }
            return;
        }
        match response.encode() {
            Ok(bytes) => self.publish(self.channels(nsp).response().to_owned(), bytes),
            Err(error) => tracing::warn!(%error, "cluster response too large; not sent"),
        }
    }

    // ----- outgoing -----

    /// Publishes a broadcast of `data` (`["event", ...args]`) to the
    /// other nodes, on the room's channel when there is exactly one room.
    pub(crate) fn publish_broadcast(&self, nsp: &str, data: Value, opts: Targets) {
        if self.cluster_messages() {
            let message = ClusterMessage {
                uid: self.uid.clone(),
                nsp: nsp.to_owned(),
                body: ClusterBody::Broadcast {
                    packet: AdapterPacket::event(nsp, data),
                    opts,
                },
            };
            return self.send_cluster(&message, None);
        }
        let channel = self
            .channels(nsp)
            .for_rooms(opts.rooms.iter().map(String::as_str));
        let message = BroadcastMessage {
            uid: self.uid.clone(),
            packet: AdapterPacket::event(nsp, data),
            opts,
        };
        match message.encode() {
            Ok(bytes) => self.publish(channel, bytes),
            Err(error) => tracing::warn!(%error, "cluster broadcast too large; not sent"),
        }
    }

    /// REMOTE_JOIN: the sockets `opts` selects on the other nodes join `rooms`.
    pub(crate) fn remote_join(&self, nsp: &str, opts: Targets, rooms: Vec<String>) {
        let uid = self.uid.clone();
        self.publish_request(nsp, &Request::RemoteJoin { uid, opts, rooms });
    }

    /// REMOTE_LEAVE.
    pub(crate) fn remote_leave(&self, nsp: &str, opts: Targets, rooms: Vec<String>) {
        let uid = self.uid.clone();
        self.publish_request(nsp, &Request::RemoteLeave { uid, opts, rooms });
    }

    /// REMOTE_DISCONNECT.
    pub(crate) fn remote_disconnect(&self, nsp: &str, opts: Targets, close: bool) {
        let uid = self.uid.clone();
        self.publish_request(nsp, &Request::RemoteDisconnect { uid, opts, close });
    }

    /// SERVER_SIDE_EMIT without ack.
    pub(crate) fn server_side_emit(&self, nsp: &str, data: Vec<Value>) {
        let uid = self.uid.clone();
        let request = Request::ServerSideEmit {
            uid,
            request_id: None,
            data,
        };
        self.publish_request(nsp, &request);
    }

    /// How many other nodes serve `nsp` (`PUBSUB NUMSUB` on its request
    /// channel, minus this node). A bus that does not answer within the
    /// requests timeout is an error: requests never hang.
    async fn other_nodes(&self, shared: &Shared, nsp: &str) -> Result<usize, BusError> {
        let (bus, channel) = match (&self.wire, self.sharded_channels(nsp)) {
            // `PUBSUB SHARDNUMSUB` on the namespace's channel.
            (Wire::PubSub(bus), Some(sharded)) => (bus, sharded.namespace().to_owned()),
            (Wire::PubSub(bus), None) => (bus, self.channels(nsp).request().to_owned()),
            (Wire::Stream(_), _) => {
                return Ok(lock(&self.state).nodes.count(nsp, shared.clock.now()));
            }
        };
        let deadline = shared.clock.to_std(shared.clock.now() + self.timeout);
        let sleep = shared.runtime.sleep_until(deadline);
        let count = futures_lite::future::or(bus.subscriber_count(channel), async {
            sleep.await;
            Err(BusError(String::from("no answer to PUBSUB NUMSUB in time")))
        })
        .await?;
        Ok(count.saturating_sub(1))
    }

    /// Registers request `request_id` and the waiter for its end.
    fn register(
        self: &Arc<Self>,
        shared: &Arc<Shared>,
        request_id: String,
        kind: RequestType,
        other_nodes: Others,
        timeout: Duration,
    ) -> Waiting {
        let deadline = shared.clock.now() + timeout;
        let (tx, rx) = async_channel::bounded(1);
        {
            let mut state = lock(&self.state);
            // Ids are random; a clash only loses this request's responses.
            let _ = match other_nodes {
                Others::Count(count) => state.requests.register(&request_id, kind, count, deadline),
                Others::Uids(uids) => {
                    state
                        .requests
                        .register_nodes(&request_id, kind, uids, deadline)
                }
            };
            state.waiters.insert(request_id.clone(), tx);
        }
        Waiting {
            cluster: self.clone(),
            shared: Arc::downgrade(shared),
            request_id,
            rx,
            deadline,
        }
    }

    /// Asks the other nodes, waits for all of them (or the timeout) and
    /// returns their responses. With no other node, no request goes out.
    async fn request(
        self: &Arc<Self>,
        shared: &Arc<Shared>,
        nsp: &str,
        kind: RequestType,
        make: impl FnOnce(String, String) -> Request,
    ) -> Result<Vec<Response>, ClusterError> {
        if self.cluster_messages() && matches!(kind, RequestType::Sockets | RequestType::AllRooms) {
            // The cluster adapter has no such request: this node's answer only.
            return Ok(Vec::new());
        }
        let others = match self.wire {
            // Node's `missingUids`: a node that leaves meanwhile is not waited for.
            Wire::Stream(_) => Others::Uids(lock(&self.state).nodes.uids(nsp, shared.clock.now())),
            Wire::PubSub(_) => Others::Count(
                self.other_nodes(shared, nsp)
                    .await
                    .map_err(ClusterError::Bus)?,
            ),
        };
        if matches!(&others, Others::Count(0)) || matches!(&others, Others::Uids(u) if u.is_empty())
        {
            return Ok(Vec::new());
        }
        let request_id = self.new_id();
        let waiting = self.register(shared, request_id.clone(), kind, others, self.timeout);
        self.publish_request(nsp, &make(self.uid.clone(), request_id));
        let finished = waiting.finish().await.ok_or(ClusterError::Closed)?;
        match finished.error() {
            Some(message) => Err(ClusterError::Timeout(message)),
            None => Ok(finished.responses),
        }
    }

    /// REMOTE_FETCH: the sockets `opts` selects on the other nodes.
    pub(crate) async fn fetch_sockets(
        self: &Arc<Self>,
        shared: &Arc<Shared>,
        nsp: &str,
        opts: Targets,
    ) -> Result<Vec<FetchedSocket>, ClusterError> {
        let responses = self
            .request(shared, nsp, RequestType::RemoteFetch, |uid, request_id| {
                Request::RemoteFetch {
                    uid,
                    request_id,
                    opts,
                }
            })
            .await?;
        Ok(responses
            .into_iter()
            .flat_map(|response| match response {
                Response::RemoteFetch { sockets, .. } => sockets,
                _ => Vec::new(),
            })
            .collect())
    }

    /// SERVER_SIDE_EMIT with ack: one answer per other node.
    pub(crate) async fn server_side_emit_with_ack(
        self: &Arc<Self>,
        shared: &Arc<Shared>,
        nsp: &str,
        data: Vec<Value>,
    ) -> Result<Vec<Option<Value>>, ClusterError> {
        let responses = self
            .request(
                shared,
                nsp,
                RequestType::ServerSideEmit,
                |uid, request_id| Request::ServerSideEmit {
                    uid,
                    request_id: Some(request_id),
                    data,
                },
            )
            .await?;
        Ok(responses
            .into_iter()
            .filter_map(|response| match response {
                Response::ServerSideEmit { data, .. } => Some(data),
                _ => None,
            })
            .collect())
    }

    /// BROADCAST: publishes at once (as the reference does), then counts
    /// the nodes; the returned waiter ends with every remote ack or the
    /// timeout.
    pub(crate) fn start_broadcast_with_ack(
        self: &Arc<Self>,
        shared: &Arc<Shared>,
        nsp: &str,
        data: Value,
        opts: Targets,
        timeout: Duration,
    ) -> Waiting {
        let request_id = self.new_id();
        // Until the node count arrives, nothing completes.
        let waiting = self.register(
            shared,
            request_id.clone(),
            RequestType::Broadcast,
            Others::Count(usize::MAX),
            timeout,
        );
        let request = Request::Broadcast {
            uid: self.uid.clone(),
            request_id: request_id.clone(),
            packet: AdapterPacket::event(nsp, data),
            opts,
        };
        self.publish_request(nsp, &request);
        let cluster = self.clone();
        let counted = Arc::downgrade(shared);
        let nsp = nsp.to_owned();
        shared.spawn(async move {
            let Some(shared) = counted.upgrade() else {
                return;
            };
            // Uncounted, the request cannot complete and times out, as in
            // Node when `serverCount()` fails.
            let others = match cluster.other_nodes(&shared, &nsp).await {
                Ok(others) => others,
                Err(error) => {
                    tracing::warn!(%error, "cannot count the cluster's nodes; the broadcast's acks will time out");
                    return;
                }
            };
            let mut state = lock(&cluster.state);
            state.requests.set_other_nodes(&request_id, others);
            cluster.settle(&mut state, shared.clock.now());
        });
        waiting
    }

    /// Hands every finished request to its waiter.
    pub(super) fn settle(&self, state: &mut ClusterState, now: Instant) {
        while let Some(finished) = state.requests.poll(now) {
            if let Some(waiter) = state.waiters.remove(&finished.request_id) {
                let _ = waiter.try_send(finished);
            }
        }
    }

    fn forget(&self, request_id: &str) {
        let mut state = lock(&self.state);
        state.requests.cancel(request_id);
        state.waiters.remove(request_id);
    }

    // ----- incoming -----

    fn handle_message(self: &Arc<Self>, shared: &Arc<Shared>, channel: &str, payload: &Bytes) {
        let namespaces: Vec<Arc<str>> = lock(&self.state).namespaces.iter().cloned().collect();
        for nsp in namespaces {
            let channels = self.channels(&nsp);
            if matches!(channels.classify(channel), ChannelKind::Other) {
                continue;
            }
            let incoming = {
                let state = lock(&self.state);
                read_incoming(
                    &channels,
                    &nsp,
                    &self.uid,
                    channel,
                    payload,
                    &state.requests,
                )
            };
            match incoming {
                Err(error) => {
                    meter::adapter_error("malformed");
                    tracing::warn!(%channel, %error, "malformed cluster message dropped");
                }
                Ok(Incoming::Broadcast(message)) => {
                    self.deliver_broadcast(shared, &nsp, &message, None)
                }
                Ok(Incoming::Request(request)) => self.answer(shared, &nsp, request),
                Ok(Incoming::Response(response)) => {
                    let mut state = lock(&self.state);
                    let _ = state.requests.feed(response);
                    self.settle(&mut state, shared.clock.now());
                }
                Ok(_) => {}
            }
        }
    }
}

/// The other nodes a request waits for.
enum Others {
    /// That many answers (the pub/sub wire counts subscribers).
    Count(usize),
    /// One from each of these nodes (the streams wire knows them).
    Uids(std::collections::BTreeSet<String>),
}

/// A request's end, awaited; dropping it forgets the request.
pub(crate) struct Waiting {
    cluster: Arc<Cluster>,
    shared: Weak<Shared>,
    request_id: String,
    rx: Receiver<Finished>,
    deadline: Instant,
}

impl Waiting {
    /// Waits for the request to complete or time out; `None` when the
    /// server is gone.
    pub(crate) async fn finish(self) -> Option<Finished> {
        let mut deadline = self.deadline;
        loop {
            let (runtime, clock) = {
                let shared = self.shared.upgrade()?;
                (shared.runtime.clone(), shared.clock.clone())
            };
            let sleep = runtime.sleep_until(clock.to_std(deadline));
            let received = futures_lite::future::or(async { Some(self.rx.recv().await) }, async {
                sleep.await;
                None
            })
            .await;
            match received {
                Some(Ok(finished)) => return Some(finished),
                Some(Err(_)) => return None,
                None => {
                    let now = clock.now();
                    {
                        let mut state = lock(&self.cluster.state);
                        self.cluster.settle(&mut state, now);
                    }
                    if let Ok(finished) = self.rx.try_recv() {
                        return Some(finished);
                    }
                    // Woken a little early: look again just after.
                    deadline = now + Duration::from_millis(1);
                }
            }
        }
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.cluster.forget(&self.request_id);
    }
}
