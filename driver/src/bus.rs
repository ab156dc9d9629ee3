//! The publish/subscribe bus that joins server nodes into one cluster.
//!
//! The driver speaks the reference Redis adapter's protocol (channel names,
//! messages, requests and responses: [`sio_core::adapter`]); a bus only moves
//! bytes. `sio-redis` implements it on a real Redis, for every runtime.
//! A bus is attached with [`SocketIo::with_adapter`](super::SocketIo).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::runtime::BoxFuture;
use sio_core::adapter::SubscriptionMode;

/// The reference adapter's default `requestsTimeout`.
pub const DEFAULT_REQUESTS_TIMEOUT: Duration = Duration::from_millis(5000);

/// What a bus reports to the node it serves.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum BusEvent {
    /// A message published on a channel this node subscribed to, exactly
    /// or through a pattern. `channel` is the channel it was published on.
    Message {
        /// The channel the message was published on.
        channel: String,
        /// The bytes as published.
        payload: Bytes,
    },
    /// The bus lost its connection: messages published meanwhile are lost,
    /// local delivery goes on. The bus reconnects on its own.
    Down(BusError),
    /// The bus is connected again and has subscribed again to everything.
    Up,
    /// An entry read from the cluster's stream (a [`StreamBus`]), in
    /// stream order: its id and its fields as Redis returned them.
    Entry {
        /// The stream id (`<ms>-<seq>`).
        id: String,
        /// The entry's field names and values, in order.
        fields: Vec<(Bytes, Bytes)>,
    },
}

/// Where a bus delivers its events, in arrival order. It never blocks.
pub type BusSink = Arc<dyn Fn(BusEvent) + Send + Sync>;

/// A bus failure: Redis unreachable, a command refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusError(pub String);

impl std::fmt::Display for BusError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BusError {}

/// One stream entry: its id and its fields, in order.
pub type StreamEntry = (String, Vec<(Bytes, Bytes)>);

/// The reference streams adapter's default `heartbeatInterval`.
pub const DEFAULT_HEARTBEAT_INTERVAL: Duration = Duration::from_millis(5000);
/// The reference streams adapter's default `heartbeatTimeout`.
pub const DEFAULT_HEARTBEAT_TIMEOUT: Duration = Duration::from_millis(10_000);

/// A shared append-only log (a Redis stream, as
/// `@socket.io/redis-streams-adapter` uses it): every node appends its
/// messages and reads everyone's, its own included, in one order. The
/// driver speaks socket.io-adapter's cluster protocol over it
/// ([`sio_core::adapter::ClusterMessage`]); the log only stores fields.
/// `sio-redis`'s `RedisStreamsAdapter` implements it.
pub trait StreamBus: Send + Sync + 'static {
    /// Starts delivering [`BusEvent::Entry`] (every entry appended from
    /// now on, in log order), `Down` and `Up` to `sink`. Called once.
    fn start(&self, sink: BusSink);

    /// Appends an entry with `fields` (`XADD`). As with
    /// [`Bus::publish`], the order is fixed by the call; the future gives
    /// the entry's id once stored.
    fn append(&self, fields: Vec<(String, String)>) -> BoxFuture<Result<String, BusError>>;

    /// Entries from `start` to `end` (ids, or `-` / `+`), at most `count`
    /// (`XRANGE`): what connection state recovery reads back.
    fn range(
        &self,
        start: String,
        end: String,
        count: usize,
    ) -> BoxFuture<Result<Vec<StreamEntry>, BusError>> {
        let _ = (start, end, count);
        Box::pin(async { Err(BusError("this stream bus cannot read ranges".into())) })
    }

    /// Keeps `value` under `key` for `ttl` (`SET key value PX ttl`): a
    /// session for connection state recovery.
    fn persist_session(
        &self,
        key: String,
        value: String,
        ttl: Duration,
    ) -> BoxFuture<Result<(), BusError>> {
        let _ = (key, value, ttl);
        Box::pin(async { Err(BusError("this stream bus keeps no sessions".into())) })
    }

    /// Takes the value under `key` out (`GET` and `DEL` at once): a session
    /// is restored once at most.
    fn take_session(&self, key: String) -> BoxFuture<Result<Option<Bytes>, BusError>> {
        let _ = key;
        Box::pin(async { Err(BusError("this stream bus keeps no sessions".into())) })
    }

    /// How long a cluster request waits for every node to answer.
    fn requests_timeout(&self) -> Duration {
        DEFAULT_REQUESTS_TIMEOUT
    }

    /// How often this node says it is alive (`heartbeatInterval`).
    fn heartbeat_interval(&self) -> Duration {
        DEFAULT_HEARTBEAT_INTERVAL
    }

    /// How long a silent node still counts (`heartbeatTimeout`).
    fn heartbeat_timeout(&self) -> Duration {
        DEFAULT_HEARTBEAT_TIMEOUT
    }
}

/// A publish/subscribe bus with Redis semantics: every subscriber of a
/// channel (or of a pattern matching it, Redis glob rules) gets each message
/// published on it once, in publish order per publisher (the order of the
/// [`publish`](Bus::publish) calls).
pub trait Bus: Send + Sync + 'static {
    /// Starts delivering events to `sink`. Called once, before anything
    /// else; messages that arrive before it are dropped.
    fn start(&self, sink: BusSink);

    /// Subscribes to the exact `channels` and the glob `patterns`
    /// (`SUBSCRIBE`, `PSUBSCRIBE`; `SSUBSCRIBE` on a sharded bus). Called
    /// once per namespace, and on a sharded bus once per room channel as
    /// rooms appear; a bus keeps its subscriptions across reconnects.
    /// Resolves when Redis confirmed.
    ///
    /// While the bus is down, it remembers the subscription, makes it when
    /// it reconnects (before reporting [`BusEvent::Up`]), and returns an
    /// error at once: the subscription is not lost, only late.
    fn subscribe(
        &self,
        channels: Vec<String>,
        patterns: Vec<String>,
    ) -> BoxFuture<Result<(), BusError>>;

    /// Unsubscribes from the exact `channels` (`UNSUBSCRIBE`, or
    /// `SUNSUBSCRIBE` on a sharded bus) and forgets them: a bus that
    /// reconnects does not subscribe to them again. The sharded wire calls
    /// it when a room is deleted; the default refuses.
    fn unsubscribe(&self, channels: Vec<String>) -> BoxFuture<Result<(), BusError>> {
        let _ = channels;
        Box::pin(async { Err(BusError("this bus cannot unsubscribe".into())) })
    }

    /// `Some(mode)` for a bus on Redis sharded pub/sub (`SPUBLISH`,
    /// `SSUBSCRIBE`, `PUBSUB SHARDNUMSUB` for [`publish`](Bus::publish),
    /// [`subscribe`](Bus::subscribe) and
    /// [`subscriber_count`](Bus::subscriber_count)): the driver then
    /// speaks the protocol of `@socket.io/redis-adapter`'s
    /// `createShardedAdapter` (socket.io-adapter's cluster messages on
    /// [`ShardedChannels`](sio_core::adapter::ShardedChannels)), with a
    /// channel per room as `mode` says. `None` (the default): the classic
    /// adapter's protocol.
    fn sharded(&self) -> Option<SubscriptionMode> {
        None
    }

    /// Publishes `payload` on `channel` (`PUBLISH`).
    ///
    /// The order is fixed by the call: an implementation queues the message
    /// before it returns, so messages go to Redis in the order `publish` was
    /// called, whether or not (and in whatever order) the returned futures
    /// are polled. The future only reports the outcome, once Redis answered
    /// (or at once when the bus is down or its queue is full); dropping it
    /// does not cancel the publish. The driver keeps a bounded number of
    /// publishes in flight and does not wait for each answer before the next.
    fn publish(&self, channel: String, payload: Bytes) -> BoxFuture<Result<(), BusError>>;

    /// How many clients subscribe to `channel` (`PUBSUB NUMSUB`): the
    /// reference adapter counts nodes this way, on the request channel.
    fn subscriber_count(&self, channel: String) -> BoxFuture<Result<usize, BusError>>;

    /// The channel key prefix (the reference adapter's `key` option).
    fn key(&self) -> &str {
        sio_core::adapter::DEFAULT_KEY
    }

    /// How long a cluster request waits for every node to answer (the
    /// reference adapter's `requestsTimeout`).
    fn requests_timeout(&self) -> Duration {
        DEFAULT_REQUESTS_TIMEOUT
    }
}
