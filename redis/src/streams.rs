//! [`RedisStreamsAdapter`]: the driver's [`StreamBus`] on a Redis stream,
//! as `@socket.io/redis-streams-adapter` 0.2 uses it, and its builder.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use futures_lite::FutureExt;
use sio_driver::{
    BoxFuture, BusError, BusSink, StreamBus, StreamEntry, DEFAULT_HEARTBEAT_INTERVAL,
    DEFAULT_HEARTBEAT_TIMEOUT, DEFAULT_REQUESTS_TIMEOUT,
};

use crate::adapter::{
    cluster_client, sentinel_source, single_client, Target, DEFAULT_BACKOFF_FIRST,
    DEFAULT_BACKOFF_MAX, DEFAULT_COMMAND_TIMEOUT,
};
use crate::error::ConnectError;
use crate::reply::range_entries;
use crate::runtime::Runtime;
use crate::source::Source;
use crate::stream_link::StreamTarget;
use crate::stream_tasks::{self, Append, Commands, Reader, StreamOptions};

/// The reference's default stream name.
pub const DEFAULT_STREAM_NAME: &str = "socket.io";
/// The reference's default `maxLen`: the stream keeps about this many
/// entries (`XADD ... MAXLEN ~`), the window a node can catch up on.
pub const DEFAULT_MAX_LEN: usize = 10_000;
/// The reference's default `readCount`: entries per `XREAD`.
pub const DEFAULT_READ_COUNT: usize = 100;
/// How long one `XREAD` blocks for new entries.
pub const DEFAULT_BLOCK_TIME: Duration = Duration::from_millis(5000);

/// A [`StreamBus`] on a Redis stream: one connection appends (`XADD
/// <stream> MAXLEN ~ <max_len> * uid .. nsp .. type .. data ..`,
/// pipelined, in call order), one reads (`XREAD COUNT .. BLOCK ..
/// STREAMS <stream> <last id>`).
///
/// Redis lost: the reader reports `Down`, reconnects with backoff and
/// reads on from the last id it saw (entries appended meanwhile that the
/// stream still keeps are delivered, in order), then reports `Up`;
/// appends wait and are retried, in order, once Redis is back (a bounded
/// queue: past it `append` fails at once). Dropping the adapter stops
/// both tasks.
pub struct RedisStreamsAdapter {
    options: Arc<StreamOptions>,
    appends: async_channel::Sender<Append>,
    reader: Arc<Reader>,
    commands: Arc<Commands>,
    /// Dropped with the adapter: that ends the reader task.
    _stop: async_channel::Sender<()>,
}

impl std::fmt::Debug for RedisStreamsAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStreamsAdapter")
            .field("stream", &self.options.stream_name)
            .finish_non_exhaustive()
    }
}

/// The options of a [`RedisStreamsAdapter`], then [`connect`](Self::connect).
#[derive(Debug, Clone)]
pub struct RedisStreamsAdapterBuilder {
    target: Target,
    options: StreamOptions,
    /// The private CA a `rediss://` server's certificate must chain to.
    ca: Option<Vec<u8>>,
}

impl RedisStreamsAdapter {
    /// Connects to the Redis at `url` with the reference's defaults.
    pub async fn connect(url: &str) -> Result<Self, ConnectError> {
        Self::builder(url).connect().await
    }

    /// The options, starting from the reference adapter's defaults.
    pub fn builder(url: impl Into<String>) -> RedisStreamsAdapterBuilder {
        RedisStreamsAdapterBuilder::new(Target::Single(url.into()))
    }

    /// The options for a Redis Cluster found from `nodes` (URLs of some of
    /// its masters), as the reference adapter on a cluster client: the
    /// stream is one key, on the master of its slot, and every node of the
    /// socket.io cluster reads and appends there; sessions go to their
    /// own keys' masters.
    pub fn cluster<S: Into<String>>(
        nodes: impl IntoIterator<Item = S>,
    ) -> RedisStreamsAdapterBuilder {
        RedisStreamsAdapterBuilder::new(Target::Cluster(
            nodes.into_iter().map(Into::into).collect(),
        ))
    }

    /// The options for the master that Redis Sentinel names (`sentinels`:
    /// URLs of some Sentinels; `master`: the name they monitor it under),
    /// asked on every connection and reconnection: after a failover the
    /// reader goes on from the last id it saw on the new master, and the
    /// appends waiting meanwhile go there. A `tls_ca` applies to the
    /// master, not to the Sentinels.
    pub fn sentinel<S: Into<String>>(
        sentinels: impl IntoIterator<Item = S>,
        master: impl Into<String>,
    ) -> RedisStreamsAdapterBuilder {
        RedisStreamsAdapterBuilder::new(Target::Sentinel {
            sentinels: sentinels.into_iter().map(Into::into).collect(),
            master: master.into(),
        })
    }
}

impl RedisStreamsAdapterBuilder {
    fn new(target: Target) -> Self {
        RedisStreamsAdapterBuilder {
            target,
            options: StreamOptions {
                stream_name: DEFAULT_STREAM_NAME.into(),
                max_len: DEFAULT_MAX_LEN,
                read_count: DEFAULT_READ_COUNT,
                block_time: DEFAULT_BLOCK_TIME,
                requests_timeout: DEFAULT_REQUESTS_TIMEOUT,
                heartbeat_interval: DEFAULT_HEARTBEAT_INTERVAL,
                heartbeat_timeout: DEFAULT_HEARTBEAT_TIMEOUT,
                command_timeout: DEFAULT_COMMAND_TIMEOUT,
                backoff: (DEFAULT_BACKOFF_FIRST, DEFAULT_BACKOFF_MAX),
            },
            ca: None,
        }
    }
}

impl RedisStreamsAdapterBuilder {
    /// Trusts only the CA certificates in `pem` (PEM) for a `rediss://`
    /// URL, as [`RedisAdapterBuilder::tls_ca`](crate::RedisAdapterBuilder::tls_ca)
    /// does. Needs the `tls` feature.
    #[cfg(feature = "tls")]
    pub fn tls_ca(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.ca = Some(pem.into());
        self
    }

    /// The stream's name (the reference's `streamName`, default
    /// `"socket.io"`). Every node of a cluster must use the same.
    pub fn stream_name(mut self, name: impl Into<String>) -> Self {
        self.options.stream_name = name.into();
        self
    }

    /// About how many entries the stream keeps (`maxLen`, default 10,000):
    /// a node cut off from Redis catches up on what it missed only while
    /// the stream still holds it.
    pub fn max_len(mut self, max_len: usize) -> Self {
        self.options.max_len = max_len.max(1);
        self
    }

    /// Entries read per `XREAD` (`readCount`, default 100).
    pub fn read_count(mut self, count: usize) -> Self {
        self.options.read_count = count.max(1);
        self
    }

    /// How long one `XREAD` waits for new entries (default 5 s).
    pub fn block_time(mut self, block: Duration) -> Self {
        self.options.block_time = block.max(Duration::from_millis(1));
        self
    }

    /// How long a cluster request waits for every node
    /// (`requestsTimeout`, default 5000 ms).
    pub fn requests_timeout(mut self, timeout: Duration) -> Self {
        self.options.requests_timeout = timeout;
        self
    }

    /// `heartbeatInterval` (default 5000 ms) and `heartbeatTimeout`
    /// (default 10,000 ms): a node silent for longer is not counted.
    pub fn heartbeat(mut self, interval: Duration, timeout: Duration) -> Self {
        self.options.heartbeat_interval = interval;
        self.options.heartbeat_timeout = timeout;
        self
    }

    /// How long one Redis command or connection attempt may take (default 2 s).
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

    /// Opens the connections, finds the stream's last id (reading starts
    /// after it) and starts the tasks on the caller's runtime. Fails if
    /// Redis is unreachable.
    pub async fn connect(self) -> Result<RedisStreamsAdapter, ConnectError> {
        let rt = Runtime::detect().ok_or(ConnectError::NoRuntime)?;
        #[cfg(feature = "tls")]
        crate::tls::install_provider();
        let target = Arc::new(match self.target {
            Target::Single(url) => {
                StreamTarget::Single(Source::Fixed(single_client(&url, self.ca)?))
            }
            Target::Sentinel { sentinels, master } => {
                StreamTarget::Single(sentinel_source(&sentinels, &master, self.ca)?)
            }
            // The streams builder never makes `Sharded` (a pub/sub mode);
            // its nodes would name a cluster all the same.
            Target::Cluster(nodes) | Target::Sharded(nodes) => StreamTarget::Cluster(
                cluster_client(&nodes, self.ca)?
                    .build()
                    .map_err(|err| ConnectError::InvalidUrl(err.to_string()))?,
            ),
        });
        let options = Arc::new(self.options);
        let writer = stream_tasks::open(&target, &options, rt, Duration::ZERO)
            .await
            .map_err(|err| ConnectError::Unreachable(err.0))?;
        let reading = stream_tasks::open(&target, &options, rt, options.block_time)
            .await
            .map_err(|err| ConnectError::Unreachable(err.0))?;
        let (reading, last_id) = stream_tasks::last_id(reading, &options, rt)
            .await
            .map_err(|err| ConnectError::Unreachable(err.0))?;
        let commands = Arc::new(Commands {
            target: target.clone(),
            options: options.clone(),
            rt,
            connection: std::sync::Mutex::new(None),
        });
        let reader = Arc::new(Reader {
            target: target.clone(),
            options: options.clone(),
            rt,
            sink: OnceLock::new(),
            early: std::sync::Mutex::new(std::collections::VecDeque::new()),
        });
        let (stop, stopped) = async_channel::bounded::<()>(1);
        let task = reader.clone().run(reading, last_id);
        rt.spawn(task.or(async move {
            let _ = stopped.recv().await;
        }));
        let (appends, queued) = async_channel::bounded(stream_tasks::APPEND_QUEUE);
        rt.spawn(stream_tasks::append_loop(
            target,
            options.clone(),
            rt,
            writer,
            queued,
        ));
        Ok(RedisStreamsAdapter {
            options,
            appends,
            reader,
            commands,
            _stop: stop,
        })
    }
}

impl StreamBus for RedisStreamsAdapter {
    fn start(&self, sink: BusSink) {
        if !self.reader.start(sink) {
            tracing::warn!("sio-redis: StreamBus::start called twice; the first sink stays");
        }
    }

    /// Queues the entry before returning (call order is stream order).
    fn append(&self, fields: Vec<(String, String)>) -> BoxFuture<Result<String, BusError>> {
        let (done, outcome) = async_channel::bounded(1);
        let queued = self.appends.try_send(Append { fields, done });
        Box::pin(async move {
            match queued {
                Ok(()) => outcome
                    .recv()
                    .await
                    .unwrap_or_else(|_| Err(BusError("the append task stopped".into()))),
                Err(async_channel::TrySendError::Full(_)) => Err(BusError(format!(
                    "XADD: {} entries already wait for Redis",
                    stream_tasks::APPEND_QUEUE
                ))),
                Err(async_channel::TrySendError::Closed(_)) => {
                    Err(BusError("the append task stopped".into()))
                }
            }
        })
    }

    fn range(
        &self,
        start: String,
        end: String,
        count: usize,
    ) -> BoxFuture<Result<Vec<StreamEntry>, BusError>> {
        let commands = self.commands.clone();
        Box::pin(async move {
            let mut pipeline = redis::pipe();
            pipeline
                .cmd("XRANGE")
                .arg(&commands.options.stream_name)
                .arg(&start)
                .arg(&end)
                .arg("COUNT")
                .arg(count);
            let replies = commands.run("XRANGE", pipeline).await?;
            replies
                .first()
                .and_then(range_entries)
                .ok_or_else(|| BusError("XRANGE: odd reply".into()))
        })
    }

    fn persist_session(
        &self,
        key: String,
        value: String,
        ttl: Duration,
    ) -> BoxFuture<Result<(), BusError>> {
        let commands = self.commands.clone();
        Box::pin(async move {
            let mut pipeline = redis::pipe();
            let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
            pipeline.cmd("SET").arg(&key).arg(&value).arg("PX").arg(ms);
            commands.run("SET", pipeline).await.map(|_| ())
        })
    }

    /// `GET` and `DEL` in one transaction, as the reference does (GETDEL
    /// needs Redis 6.2).
    fn take_session(&self, key: String) -> BoxFuture<Result<Option<Bytes>, BusError>> {
        let commands = self.commands.clone();
        Box::pin(async move {
            let mut pipeline = redis::pipe();
            pipeline.atomic().cmd("GET").arg(&key).cmd("DEL").arg(&key);
            let replies = commands.run("GET/DEL", pipeline).await?;
            match replies.first() {
                Some(redis::Value::BulkString(bytes)) => Ok(Some(Bytes::copy_from_slice(bytes))),
                Some(redis::Value::Nil) => Ok(None),
                other => Err(BusError(format!("GET: odd reply {other:?}"))),
            }
        })
    }

    fn requests_timeout(&self) -> Duration {
        self.options.requests_timeout
    }

    fn heartbeat_interval(&self) -> Duration {
        self.options.heartbeat_interval
    }

    fn heartbeat_timeout(&self) -> Duration {
        self.options.heartbeat_timeout
    }
}
