//! [`RedisAdapter`]: the [`Bus`] on a real Redis, and its builder.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_lite::FutureExt;
use sio_core::adapter::{SubscriptionMode, DEFAULT_KEY};
use sio_driver::{BoxFuture, Bus, BusError, BusSink, DEFAULT_REQUESTS_TIMEOUT};

use crate::backend::Backend;
use crate::cluster_link::ClusterLink;
use crate::error::ConnectError;
use crate::link::{Link, Options};
use crate::publisher::Publisher;
use crate::reply::numsub_count;
use crate::runtime::Runtime;
use crate::source::Source;

/// How long one Redis command (or opening a connection) may take by default.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(2);
/// The first wait before reconnecting again after a failed attempt.
pub const DEFAULT_BACKOFF_FIRST: Duration = Duration::from_millis(100);
/// The longest wait between two reconnection attempts.
pub const DEFAULT_BACKOFF_MAX: Duration = Duration::from_secs(5);

/// A [`Bus`] on Redis publish/subscribe, as `@socket.io/redis-adapter` uses
/// it: one connection publishes and asks `PUBSUB NUMSUB`, one subscribes.
/// Publishes are queued when [`Bus::publish`] is called and sent in that
/// order, pipelined, without waiting for one answer before the next.
///
/// Redis lost while running: the driver gets `BusEvent::Down` once,
/// publishing fails at once, subscribing fails at once but is remembered, the adapter reconnects with exponential backoff,
/// subscribes again to everything, then reports `BusEvent::Up`. Dropping the
/// adapter stops its background task and closes both connections.
pub struct RedisAdapter {
    link: Backend,
    /// Queues publishes in call order; dropped with the adapter, which
    /// ends the publisher task once what was queued is sent.
    publisher: Publisher,
    /// Dropped with the adapter: that ends the background task.
    _stop: async_channel::Sender<()>,
}

impl std::fmt::Debug for RedisAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisAdapter")
            .field("key", &self.link.options().key)
            .field("cluster", &self.link.is_cluster())
            .field("sharded", &self.link.options().sharded)
            .field("runtime", &self.link.rt())
            .finish_non_exhaustive()
    }
}

/// The options of a [`RedisAdapter`], then [`connect`](Self::connect).
#[derive(Debug, Clone)]
pub struct RedisAdapterBuilder {
    target: Target,
    options: Options,
    /// PEM certificates of the CA(s) a `rediss://` server must chain to.
    ca: Option<Vec<u8>>,
}

/// Where the adapter connects (the streams adapter's builder too).
#[derive(Debug, Clone)]
pub(crate) enum Target {
    Single(String),
    /// A Redis Cluster, found from these nodes.
    Cluster(Vec<String>),
    /// The same, with sharded pub/sub.
    Sharded(Vec<String>),
    /// The master named `master` by these Sentinels.
    Sentinel {
        sentinels: Vec<String>,
        master: String,
    },
}

impl RedisAdapter {
    /// Connects to the Redis at `url` (`redis://host:port/db`) with the
    /// default options. Fails if Redis is unreachable.
    pub async fn connect(url: &str) -> Result<Self, ConnectError> {
        Self::builder(url).connect().await
    }

    /// The options, starting from the reference adapter's defaults.
    pub fn builder(url: impl Into<String>) -> RedisAdapterBuilder {
        RedisAdapterBuilder::new(Target::Single(url.into()))
    }

    /// The options for a Redis Cluster found from `nodes` (URLs of some of
    /// its masters, `redis://` or `rediss://`), as the reference adapter on
    /// a cluster client: the same channels and messages, `PUBLISH` (every
    /// node of a cluster forwards it to every other) and `PUBSUB NUMSUB`
    /// summed over the nodes.
    pub fn cluster<S: Into<String>>(nodes: impl IntoIterator<Item = S>) -> RedisAdapterBuilder {
        RedisAdapterBuilder::new(Target::Cluster(nodes.into_iter().map(Into::into).collect()))
    }

    /// The options for the sharded adapter on a Redis 7 Cluster found from
    /// `nodes`, as `createShardedAdapter` of `@socket.io/redis-adapter`:
    /// `SPUBLISH`/`SSUBSCRIBE` on `{key}#{nsp}#` (every message),
    /// `{key}#{nsp}#{uid}#` (responses to node `uid`) and, as
    /// [`subscription_mode`](RedisAdapterBuilder::subscription_mode) says,
    /// `{key}#{nsp}#{room}#` per room; each channel lives on its slot's
    /// master only, so a message costs one node instead of every node.
    /// Nodes are counted with `PUBSUB SHARDNUMSUB` on the namespace's
    /// channel. A single Redis has no use for it (and the redis crate's
    /// single-server connections have no sharded subscription): use
    /// [`builder`](Self::builder) there.
    pub fn sharded<S: Into<String>>(nodes: impl IntoIterator<Item = S>) -> RedisAdapterBuilder {
        let mut builder =
            RedisAdapterBuilder::new(Target::Sharded(nodes.into_iter().map(Into::into).collect()));
        builder.options.sharded = Some(SubscriptionMode::default());
        builder
    }
}

impl RedisAdapter {
    /// The options for the master that Redis Sentinel names: `sentinels`
    /// are URLs of some Sentinels (`redis://host:26379`), `master` the
    /// name they monitor it under. The adapter asks them on every
    /// connection and reconnection, so after a failover (Sentinel closes
    /// the clients of the old master) it follows the new one. A `tls_ca`
    /// applies to the master, not to the Sentinels.
    pub fn sentinel<S: Into<String>>(
        sentinels: impl IntoIterator<Item = S>,
        master: impl Into<String>,
    ) -> RedisAdapterBuilder {
        RedisAdapterBuilder::new(Target::Sentinel {
            sentinels: sentinels.into_iter().map(Into::into).collect(),
            master: master.into(),
        })
    }
}

impl RedisAdapterBuilder {
    fn new(target: Target) -> Self {
        Self {
            target,
            options: Options {
                key: DEFAULT_KEY.into(),
                requests_timeout: DEFAULT_REQUESTS_TIMEOUT,
                command_timeout: DEFAULT_COMMAND_TIMEOUT,
                backoff: (DEFAULT_BACKOFF_FIRST, DEFAULT_BACKOFF_MAX),
                sharded: None,
            },
            ca: None,
        }
    }

    /// Trusts only the CA certificates in `pem` (PEM, one or more) for a
    /// `rediss://` URL, instead of the system's roots: for a Redis whose
    /// certificate a private CA signed. Needs the `tls` feature; a server
    /// whose certificate does not chain to them is refused at `connect`.
    #[cfg(feature = "tls")]
    pub fn tls_ca(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.ca = Some(pem.into());
        self
    }

    /// The channel key prefix (the reference adapter's `key`, default
    /// `"socket.io"`). Every node of a cluster must use the same.
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.options.key = key.into();
        self
    }

    /// Which rooms get a channel of their own on the sharded adapter (the
    /// reference's `subscriptionMode`, default
    /// [`Dynamic`](SubscriptionMode::Dynamic): every room but the sockets'
    /// own; `Static`: none; `DynamicPrivate`: every room). Every node of a
    /// cluster should use the same. Only [`RedisAdapter::sharded`] has one:
    /// the other adapters ignore it.
    pub fn subscription_mode(mut self, mode: SubscriptionMode) -> Self {
        if self.options.sharded.is_some() {
            self.options.sharded = Some(mode);
        }
        self
    }

    /// How long a cluster request waits for every node (the reference
    /// adapter's `requestsTimeout`, default 5000 ms).
    pub fn requests_timeout(mut self, timeout: Duration) -> Self {
        self.options.requests_timeout = timeout;
        self
    }

    /// How long one Redis command or connection attempt may take before it
    /// counts as failed (default 2 s).
    pub fn command_timeout(mut self, timeout: Duration) -> Self {
        self.options.command_timeout = timeout;
        self
    }

    /// The wait after the first failed reconnection attempt, doubled after
    /// each failure up to `longest` (default 100 ms to 5 s).
    pub fn reconnect_backoff(mut self, first: Duration, longest: Duration) -> Self {
        self.options.backoff = (first, longest.max(first));
        self
    }

    /// Opens the connections and starts the background task on the
    /// caller's runtime. Fails if Redis is unreachable.
    pub async fn connect(self) -> Result<RedisAdapter, ConnectError> {
        let rt = Runtime::detect().ok_or(ConnectError::NoRuntime)?;
        #[cfg(feature = "tls")]
        crate::tls::install_provider();
        let (stop, stopped) = async_channel::bounded::<()>(1);
        let stopped = async move {
            let _ = stopped.recv().await;
        };
        let link = match self.target {
            Target::Single(url) => {
                let source = Source::Fixed(single_client(&url, self.ca)?);
                Backend::Single(single_link(source, self.options, rt, stopped).await?)
            }
            Target::Sentinel { sentinels, master } => {
                let source = sentinel_source(&sentinels, &master, self.ca)?;
                Backend::Single(single_link(source, self.options, rt, stopped).await?)
            }
            Target::Cluster(nodes) | Target::Sharded(nodes) => {
                let builder = cluster_client(&nodes, self.ca)?;
                let (link, lost) = ClusterLink::connect(builder, self.options, rt)
                    .await
                    .map_err(ConnectError::unreachable)?;
                rt.spawn(link.clone().run(lost).or(stopped));
                Backend::Cluster(link)
            }
        };
        let (publisher, sending) = Publisher::new(link.clone());
        rt.spawn(sending);
        Ok(RedisAdapter {
            link,
            publisher,
            _stop: stop,
        })
    }
}

/// The link to one Redis (found through `source`), its task spawned.
async fn single_link(
    source: Source,
    options: Options,
    rt: Runtime,
    stopped: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<Arc<Link>, ConnectError> {
    let (link, stream, lost) = Link::connect(source, options, rt)
        .await
        .map_err(ConnectError::unreachable)?;
    rt.spawn(link.clone().run(stream, lost).or(stopped));
    Ok(link)
}

/// The client of a single Redis, trusting `ca` when given.
pub(crate) fn single_client(url: &str, ca: Option<Vec<u8>>) -> Result<redis::Client, ConnectError> {
    let invalid = |err: redis::RedisError| ConnectError::InvalidUrl(err.to_string());
    match ca {
        #[cfg(feature = "tls")]
        Some(ca) => {
            redis::Client::build_with_tls(url, crate::tls::certificates(ca)).map_err(invalid)
        }
        _ => redis::Client::open(url).map_err(invalid),
    }
}

/// The Sentinels that name the master, whose certificate `ca` checks.
pub(crate) fn sentinel_source(
    sentinels: &[String],
    master: &str,
    ca: Option<Vec<u8>>,
) -> Result<Source, ConnectError> {
    use redis::IntoConnectionInfo;
    let invalid = |err: redis::RedisError| ConnectError::InvalidUrl(err.to_string());
    if sentinels.is_empty() {
        return Err(ConnectError::InvalidUrl("no Sentinel given".into()));
    }
    let addresses = sentinels
        .iter()
        .map(|url| Ok(url.as_str().into_connection_info()?.addr().clone()))
        .collect::<Result<Vec<_>, redis::RedisError>>()
        .map_err(invalid)?;
    let builder = redis::sentinel::SentinelClientBuilder::new(
        addresses,
        master,
        redis::sentinel::SentinelServerType::Master,
    )
    .map_err(invalid)?;
    let builder = match ca {
        #[cfg(feature = "tls")]
        Some(ca) => builder
            .set_client_to_redis_tls_mode(redis::TlsMode::Secure)
            .set_client_to_redis_certificates(crate::tls::certificates(ca)),
        _ => builder,
    };
    let client = builder.build().map_err(invalid)?;
    Ok(Source::Sentinel(async_lock::Mutex::new(client)))
}

/// The client builder of a cluster, trusting `ca` when given.
pub(crate) fn cluster_client(
    nodes: &[String],
    ca: Option<Vec<u8>>,
) -> Result<redis::cluster::ClusterClientBuilder, ConnectError> {
    if nodes.is_empty() {
        return Err(ConnectError::InvalidUrl("no cluster node given".into()));
    }
    for node in nodes {
        redis::parse_redis_url(node)
            .ok_or_else(|| ConnectError::InvalidUrl(format!("not a Redis URL: {node}")))?;
    }
    let builder = redis::cluster::ClusterClientBuilder::new(nodes.to_vec());
    match ca {
        #[cfg(feature = "tls")]
        Some(ca) => Ok(builder.certs(crate::tls::certificates(ca))),
        _ => Ok(builder),
    }
}

impl Bus for RedisAdapter {
    fn start(&self, sink: BusSink) {
        self.link.start(sink);
    }

    fn subscribe(
        &self,
        channels: Vec<String>,
        patterns: Vec<String>,
    ) -> BoxFuture<Result<(), BusError>> {
        let link = self.link.clone();
        Box::pin(async move { link.subscribe(channels, patterns).await })
    }

    fn unsubscribe(&self, channels: Vec<String>) -> BoxFuture<Result<(), BusError>> {
        let link = self.link.clone();
        Box::pin(async move { link.unsubscribe(channels).await })
    }

    fn sharded(&self) -> Option<SubscriptionMode> {
        self.link.options().sharded
    }

    /// Queues the message before returning (so call order is publish
    /// order); one task sends the queue as pipelines.
    fn publish(&self, channel: String, payload: Bytes) -> BoxFuture<Result<(), BusError>> {
        self.publisher.publish(channel, payload)
    }

    fn subscriber_count(&self, channel: String) -> BoxFuture<Result<usize, BusError>> {
        let link = self.link.clone();
        Box::pin(async move {
            // Summed over the nodes by the redis crate on a cluster (a
            // shard channel's subscribers are all on its slot's master).
            let which = match link.options().sharded {
                Some(_) => "SHARDNUMSUB",
                None => "NUMSUB",
            };
            let mut command = redis::cmd("PUBSUB");
            command.arg(which).arg(&channel);
            let reply = link.command("PUBSUB NUMSUB", command).await?;
            numsub_count(&reply)
                .ok_or_else(|| BusError(format!("PUBSUB {which} {channel}: odd reply {reply:?}")))
        })
    }

    fn key(&self) -> &str {
        &self.link.options().key
    }

    fn requests_timeout(&self) -> Duration {
        self.link.options().requests_timeout
    }
}
