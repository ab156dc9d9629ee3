//! The adapter's link to a Redis Cluster: one cluster connection (the redis
//! crate's, over RESP3) publishes, asks and subscribes; the messages come
//! back as pushes, handed to the driver as they arrive.
//!
//! The cluster connection reconnects to lost nodes and subscribes again on
//! its own. What it does not tell is when that is done: a lost node
//! connection (a `Disconnection` push) is reported as `Down`, then the
//! background task pings every master with backoff, subscribes again to
//! everything remembered (idempotent in Redis) and reports `Up`.

use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use bytes::Bytes;
use futures_lite::FutureExt;
use redis::aio::{AsyncPushSender, SendError};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{
    MultipleNodeRoutingInfo, ResponsePolicy, Route, RoutingInfo, SingleNodeRoutingInfo, Slot,
    SlotAddr,
};
use redis::{Msg, PushInfo, PushKind};
use sio_driver::{BusError, BusEvent, BusSink};

use crate::error::bus_error;
use crate::link::{add_new, Options};
use crate::runtime::Runtime;

/// Shard channels the server dropped, waiting to be subscribed again;
/// beyond this many the task resubscribes everything instead.
const DROPPED_QUEUE: usize = 1024;

/// What the pushes and the adapter share: where messages go, and where a
/// lost node connection is signalled.
struct Pushes {
    sink: OnceLock<BusSink>,
    /// One pending loss is enough: the task reconnects everything.
    lost: async_channel::Sender<BusError>,
    /// Shard channels a server unsubscribed this node from: when their
    /// slot moves to another master (resharding), Redis drops the shard
    /// channel's subscribers, and the redis crate forgets them.
    dropped: async_channel::Sender<Vec<u8>>,
}

impl AsyncPushSender for Pushes {
    fn send(&self, info: PushInfo) -> Result<(), SendError> {
        match info.kind {
            PushKind::Message | PushKind::PMessage | PushKind::SMessage => {
                if let (Some(sink), Some(message)) = (self.sink.get(), Msg::from_push_info(info)) {
                    if let Some(event) = message_event(&message) {
                        sink(event);
                    }
                }
            }
            PushKind::SUnsubscribe => {
                // Also the confirmation of this node's own SUNSUBSCRIBE: the
                // task only subscribes again to what is still remembered.
                if let Some(redis::Value::BulkString(channel)) = info.data.first() {
                    if self.dropped.try_send(channel.clone()).is_err() {
                        let _ = self
                            .lost
                            .try_send(BusError("many shard channels dropped at once".into()));
                    }
                }
            }
            PushKind::Disconnection => {
                let _ = self.lost.try_send(BusError(
                    "lost the connection to a Redis Cluster node".into(),
                ));
            }
            _ => {}
        }
        Ok(())
    }
}

/// One message as the driver takes it; `None` (and a warning) for a
/// channel that is not UTF-8 or a payload that is not bytes.
pub(crate) fn message_event(message: &Msg) -> Option<BusEvent> {
    let Some(channel) = message
        .get_channel::<Vec<u8>>()
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
    else {
        tracing::warn!("sio-redis: dropped a message on a channel that is not UTF-8");
        return None;
    };
    match message.get_payload::<Vec<u8>>() {
        Ok(payload) => Some(BusEvent::Message {
            channel,
            payload: Bytes::from(payload),
        }),
        Err(err) => {
            tracing::warn!(%channel, error = %err, "sio-redis: dropped a message without bytes");
            None
        }
    }
}

/// What is subscribed (kept for the resubscription after a loss).
#[derive(Default)]
struct Subscribed {
    channels: Vec<String>,
    patterns: Vec<String>,
    reported_down: bool,
}

/// The adapter's link to a cluster.
pub(crate) struct ClusterLink {
    connection: ClusterConnection,
    pushes: Arc<Pushes>,
    /// The shard channels servers dropped (see [`Pushes::dropped`]).
    dropped: async_channel::Receiver<Vec<u8>>,
    pub(crate) options: Options,
    pub(crate) rt: Runtime,
    state: Mutex<Subscribed>,
}

impl ClusterLink {
    /// Connects to the cluster (`builder` with its nodes and TLS); `Err`
    /// if no node answers.
    pub(crate) async fn connect(
        builder: redis::cluster::ClusterClientBuilder,
        options: Options,
        rt: Runtime,
    ) -> Result<(Arc<Self>, async_channel::Receiver<BusError>), BusError> {
        let (lost, lost_rx) = async_channel::bounded(1);
        let (dropped, dropped_rx) = async_channel::bounded(DROPPED_QUEUE);
        let pushes = Arc::new(Pushes {
            sink: OnceLock::new(),
            lost,
            dropped,
        });
        let client: ClusterClient = builder
            .use_protocol(redis::ProtocolVersion::RESP3)
            .connection_timeout(options.command_timeout)
            .response_timeout(options.command_timeout)
            .push_sender(SharedPushes(pushes.clone()))
            .build()
            .map_err(|err| bus_error("the cluster's nodes", &err))?;
        let connection = match rt
            .timeout(options.command_timeout, client.get_async_connection())
            .await
        {
            Some(Ok(connection)) => connection,
            Some(Err(err)) => return Err(bus_error("connecting to the cluster", &err)),
            None => {
                return Err(BusError(format!(
                    "connecting to the cluster: no answer in {:?}",
                    options.command_timeout
                )))
            }
        };
        let link = Arc::new(Self {
            connection,
            pushes,
            dropped: dropped_rx,
            options,
            rt,
            state: Mutex::new(Subscribed::default()),
        });
        // Every master answers before the adapter says it is up.
        link.ping_all().await?;
        // A disconnection seen while connecting is not a loss.
        while lost_rx.try_recv().is_ok() {}
        Ok((link, lost_rx))
    }

    fn lock(&self) -> MutexGuard<'_, Subscribed> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn start(&self, sink: BusSink) {
        if self.pushes.sink.set(sink).is_err() {
            tracing::warn!("sio-redis: Bus::start called twice; the first sink stays");
        }
    }

    fn emit(&self, event: BusEvent) {
        if let Some(sink) = self.pushes.sink.get() {
            sink(event);
        }
    }

    /// `future`'s result, or a timeout error after the command timeout.
    async fn bounded<T>(
        &self,
        what: &str,
        future: impl std::future::Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, BusError> {
        let limit = self.options.command_timeout;
        crate::error::bounded(self.rt, limit, what, "the cluster", future).await
    }

    async fn ping_all(&self) -> Result<(), BusError> {
        let route = RoutingInfo::MultiNode((
            MultipleNodeRoutingInfo::AllMasters,
            Some(ResponsePolicy::AllSucceeded),
        ));
        let mut connection = self.connection.clone();
        self.bounded("PING", connection.route_command(redis::cmd("PING"), route))
            .await
            .map(drop)
    }

    /// Subscribes (exact and pattern) and remembers it; the cluster
    /// connection keeps the subscriptions across its reconnections.
    pub(crate) async fn subscribe(
        &self,
        channels: Vec<String>,
        patterns: Vec<String>,
    ) -> Result<(), BusError> {
        {
            let mut state = self.lock();
            add_new(&mut state.channels, &channels);
            add_new(&mut state.patterns, &patterns);
        }
        self.subscribe_now(&channels, &patterns).await
    }

    /// Unsubscribes and forgets `channels` (a reconnection does not
    /// subscribe to them again).
    pub(crate) async fn unsubscribe(&self, channels: Vec<String>) -> Result<(), BusError> {
        self.lock()
            .channels
            .retain(|known| !channels.contains(known));
        let mut connection = self.connection.clone();
        for channel in &channels {
            if self.options.sharded.is_some() {
                self.bounded("SUNSUBSCRIBE", connection.sunsubscribe(channel))
                    .await?;
            } else {
                self.bounded("UNSUBSCRIBE", connection.unsubscribe(channel))
                    .await?;
            }
        }
        Ok(())
    }

    async fn subscribe_now(
        &self,
        channels: &[String],
        patterns: &[String],
    ) -> Result<(), BusError> {
        let mut connection = self.connection.clone();
        if self.options.sharded.is_some() {
            // One command per channel: each goes to its own slot's master.
            for channel in channels {
                self.bounded("SSUBSCRIBE", connection.ssubscribe(channel))
                    .await?;
            }
            return Ok(());
        }
        // Patterns first, as the reference adapter does: once a node is
        // counted on the request channel, it has its broadcast pattern.
        if !patterns.is_empty() {
            self.bounded("PSUBSCRIBE", connection.psubscribe(patterns))
                .await?;
        }
        if !channels.is_empty() {
            self.bounded("SUBSCRIBE", connection.subscribe(channels))
                .await?;
        }
        Ok(())
    }

    /// Runs one command where the redis crate routes it (`PUBSUB NUMSUB`
    /// goes to every node and the counts are summed).
    pub(crate) async fn command(
        &self,
        what: &str,
        command: redis::Cmd,
    ) -> Result<redis::Value, BusError> {
        let mut connection = self.connection.clone();
        self.bounded(what, command.query_async::<redis::Value>(&mut connection))
            .await
    }

    /// Sends `pipeline` to the master of `key`'s slot: one node for every
    /// publish keeps them in call order (Redis Cluster forwards `PUBLISH`
    /// to every node).
    pub(crate) async fn pipeline_to(
        &self,
        what: &str,
        key: &str,
        pipeline: redis::Pipeline,
    ) -> Result<Vec<redis::Value>, BusError> {
        let count = pipeline.len();
        let route = SingleNodeRoutingInfo::SpecificNode(Route::with_slot(
            Slot::for_key(key),
            SlotAddr::Master,
        ));
        let mut connection = self.connection.clone();
        self.bounded(what, connection.route_pipeline(pipeline, 0, count, route))
            .await
    }

    /// The background task: on a lost node connection reports `Down`,
    /// then waits (with backoff) until every master answers, subscribes
    /// again and reports `Up`; subscribes again to each shard channel a
    /// server dropped while this node still wants it (its slot moved to
    /// another master). Runs until dropped.
    pub(crate) async fn run(self: Arc<Self>, lost: async_channel::Receiver<BusError>) {
        loop {
            let why = match async { lost.recv().await.map_or(Wake::Closed, Wake::Lost) }
                .or(async {
                    self.dropped
                        .recv()
                        .await
                        .map_or(Wake::Closed, Wake::Dropped)
                })
                .await
            {
                Wake::Dropped(channel) => {
                    self.subscribe_again(channel).await;
                    continue;
                }
                Wake::Lost(why) => why,
                Wake::Closed => return,
            };
            {
                let mut state = self.lock();
                if !state.reported_down {
                    state.reported_down = true;
                    tracing::warn!(error = %why, "sio-redis: lost a Redis Cluster node; reconnecting");
                    self.emit(BusEvent::Down(why));
                }
            }
            self.recover().await;
            while lost.try_recv().is_ok() {}
        }
    }

    /// SSUBSCRIBEs `channel` again if this node still wants it; the redis
    /// crate follows the slot to its new master (`MOVED`). A failure is
    /// handled as a lost node: everything is subscribed again.
    async fn subscribe_again(&self, channel: Vec<u8>) {
        let Ok(channel) = String::from_utf8(channel) else {
            return;
        };
        if self.options.sharded.is_none() || !self.lock().channels.contains(&channel) {
            return;
        }
        tracing::info!(%channel, "sio-redis: a shard channel was dropped (resharding?); subscribing again");
        let mut connection = self.connection.clone();
        if let Err(error) = self
            .bounded("SSUBSCRIBE", connection.ssubscribe(&channel))
            .await
        {
            let _ = self.pushes.lost.try_send(error);
        }
    }

    async fn recover(&self) {
        let (first, longest) = self.options.backoff;
        let mut delay = first;
        loop {
            let outcome = async {
                self.ping_all().await?;
                let (channels, patterns) = {
                    let state = self.lock();
                    (state.channels.clone(), state.patterns.clone())
                };
                self.subscribe_now(&channels, &patterns).await
            }
            .await;
            match outcome {
                Ok(()) => {
                    let mut state = self.lock();
                    state.reported_down = false;
                    tracing::info!("sio-redis: the Redis Cluster answers again");
                    self.emit(BusEvent::Up);
                    return;
                }
                Err(error) => {
                    tracing::info!(%error, retry_in = ?delay, "sio-redis: Redis Cluster still unreachable");
                }
            }
            self.rt.sleep(delay).await;
            delay = delay.saturating_mul(2).min(longest);
        }
    }
}

/// What woke the background task.
enum Wake {
    Lost(BusError),
    Dropped(Vec<u8>),
    Closed,
}

/// The push sender handed to the redis crate (it wants an owned sender).
struct SharedPushes(Arc<Pushes>);

impl AsyncPushSender for SharedPushes {
    fn send(&self, info: PushInfo) -> Result<(), SendError> {
        self.0.send(info)
    }
}
