//! The two connections to Redis (a multiplexed one that publishes and asks,
//! a subscriber one that receives), and the background task that forwards
//! messages to the driver and reconnects when Redis is lost.

use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use futures_lite::{FutureExt, StreamExt};
use redis::aio::{MultiplexedConnection, PubSubSink, PubSubStream};
use redis::{AsyncConnectionConfig, Msg};
use sio_core::adapter::SubscriptionMode;
use sio_driver::{BusError, BusEvent, BusSink};

use crate::error::bus_error;
use crate::runtime::Runtime;
use crate::source::Source;

/// The adapter's settings.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) key: String,
    pub(crate) requests_timeout: Duration,
    /// How long one Redis command (or connecting) may take.
    pub(crate) command_timeout: Duration,
    /// The first and the longest wait between two reconnection attempts.
    pub(crate) backoff: (Duration, Duration),
    /// On a cluster: sharded pub/sub (`SPUBLISH`, `SSUBSCRIBE`) with the
    /// sharded adapter's protocol in this subscription mode.
    pub(crate) sharded: Option<SubscriptionMode>,
}

/// What the adapter and its background task share.
pub(crate) struct Link {
    source: Source,
    pub(crate) options: Options,
    pub(crate) rt: Runtime,
    sink: OnceLock<BusSink>,
    state: Mutex<State>,
    /// A publish that found the connection dead tells the task here.
    lost: async_channel::Sender<BusError>,
}

/// The connections while up, and what to subscribe to again after a loss.
struct State {
    /// Bumped on every reconnection, so a failure seen on an old
    /// connection does not tear down the new one.
    generation: u64,
    publisher: Option<MultiplexedConnection>,
    subscriber: Option<PubSubSink>,
    /// Only grow (the bus has no unsubscribe), in subscription order.
    channels: Vec<String>,
    patterns: Vec<String>,
    /// `Down` was reported and `Up` not yet: each loss is reported once.
    /// Down and Up are emitted under the state lock, so the driver sees
    /// them in the order the connections changed.
    reported_down: bool,
}

/// Why the forwarding stopped.
enum Next {
    Message(Option<Msg>),
    Lost(Result<BusError, async_channel::RecvError>),
}

fn down() -> BusError {
    BusError("Redis connection is down".into())
}

pub(crate) fn add_new(remembered: &mut Vec<String>, asked: &[String]) {
    for name in asked {
        if !remembered.contains(name) {
            remembered.push(name.clone());
        }
    }
}

impl Link {
    /// Connects both connections; `Err` if Redis is unreachable.
    pub(crate) async fn connect(
        source: Source,
        options: Options,
        rt: Runtime,
    ) -> Result<(Arc<Self>, PubSubStream, async_channel::Receiver<BusError>), BusError> {
        let (lost, lost_rx) = async_channel::unbounded();
        let link = Arc::new(Self {
            source,
            options,
            rt,
            sink: OnceLock::new(),
            state: Mutex::new(State {
                generation: 0,
                publisher: None,
                subscriber: None,
                channels: Vec::new(),
                patterns: Vec::new(),
                reported_down: false,
            }),
            lost,
        });
        let stream = link.open().await?;
        Ok((link, stream, lost_rx))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn start(&self, sink: BusSink) {
        if self.sink.set(sink).is_err() {
            tracing::warn!("sio-redis: Bus::start called twice; the first sink stays");
            return;
        }
        // Redis lost before the driver started listening (a Down emitted
        // then went nowhere): say so now.
        let mut state = self.lock();
        if state.publisher.is_none() {
            state.reported_down = true;
            self.emit(BusEvent::Down(down()));
        }
    }

    /// Emits `Down` unless this loss was reported already. Under the lock.
    fn report_down(&self, state: &mut State, why: BusError) {
        if !state.reported_down {
            state.reported_down = true;
            tracing::warn!(error = %why, "sio-redis: lost Redis; reconnecting");
            self.emit(BusEvent::Down(why));
        }
    }

    fn emit(&self, event: BusEvent) {
        if let Some(sink) = self.sink.get() {
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
        crate::error::bounded(self.rt, limit, what, "Redis", future).await
    }

    /// Opens both connections, subscribes to everything remembered and
    /// installs them (and reports `Up` after a `Down`). Returns the
    /// subscriber's message stream.
    async fn open(&self) -> Result<PubSubStream, BusError> {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.options.command_timeout))
            .set_response_timeout(Some(self.options.command_timeout));
        let client = match self
            .rt
            .timeout(self.options.command_timeout, self.source.client())
            .await
        {
            Some(client) => client?,
            None => return Err(BusError("Sentinel did not answer in time".into())),
        };
        let publisher = self
            .bounded(
                "connecting the publisher",
                client.get_multiplexed_async_connection_with_config(&config),
            )
            .await?;
        let pubsub = self
            .bounded("connecting the subscriber", client.get_async_pubsub())
            .await?;
        let (mut subscriber, stream) = pubsub.split();
        // Subscribe to what is remembered until nothing new came in
        // meanwhile, then install under the same lock.
        let (mut channels_done, mut patterns_done) = (0, 0);
        loop {
            let (channels, patterns) = {
                let mut state = self.lock();
                if state.channels.len() == channels_done && state.patterns.len() == patterns_done {
                    state.generation = state.generation.wrapping_add(1);
                    state.publisher = Some(publisher);
                    state.subscriber = Some(subscriber);
                    if state.reported_down {
                        state.reported_down = false;
                        tracing::info!("sio-redis: reconnected to Redis and subscribed again");
                        self.emit(BusEvent::Up);
                    }
                    return Ok(stream);
                }
                (
                    state
                        .channels
                        .get(channels_done..)
                        .unwrap_or_default()
                        .to_vec(),
                    state
                        .patterns
                        .get(patterns_done..)
                        .unwrap_or_default()
                        .to_vec(),
                )
            };
            self.subscribe_on(&mut subscriber, &channels, &patterns)
                .await?;
            channels_done += channels.len();
            patterns_done += patterns.len();
        }
    }

    async fn subscribe_on(
        &self,
        subscriber: &mut PubSubSink,
        channels: &[String],
        patterns: &[String],
    ) -> Result<(), BusError> {
        if !channels.is_empty() {
            self.bounded("SUBSCRIBE", subscriber.subscribe(channels))
                .await?;
        }
        if !patterns.is_empty() {
            self.bounded("PSUBSCRIBE", subscriber.psubscribe(patterns))
                .await?;
        }
        Ok(())
    }

    /// Remembers the subscriptions (kept across reconnects) and makes them
    /// now; while Redis is down they are made on reconnection and this
    /// returns an error.
    pub(crate) async fn subscribe(
        &self,
        channels: Vec<String>,
        patterns: Vec<String>,
    ) -> Result<(), BusError> {
        let subscriber = {
            let mut state = self.lock();
            add_new(&mut state.channels, &channels);
            add_new(&mut state.patterns, &patterns);
            state.subscriber.clone()
        };
        let mut subscriber = subscriber.ok_or_else(|| {
            BusError("Redis connection is down; subscribing again on reconnection".into())
        })?;
        self.subscribe_on(&mut subscriber, &channels, &patterns)
            .await
    }

    /// The publisher connection and its generation, or an error at once
    /// while down.
    fn publisher(&self) -> Result<(MultiplexedConnection, u64), BusError> {
        let state = self.lock();
        let publisher = state.publisher.clone().ok_or_else(down)?;
        Ok((publisher, state.generation))
    }

    /// Runs one command on the publisher connection; a connection failure
    /// is reported to the background task, which reconnects.
    pub(crate) async fn command(
        &self,
        what: &str,
        command: redis::Cmd,
    ) -> Result<redis::Value, BusError> {
        let (mut publisher, generation) = self.publisher()?;
        let outcome = self
            .rt
            .timeout(
                self.options.command_timeout,
                command.query_async::<redis::Value>(&mut publisher),
            )
            .await;
        self.outcome(what, generation, outcome)
    }

    /// Sends `pipeline` on the publisher connection and returns its
    /// replies, as [`command`](Self::command) does for one command.
    pub(crate) async fn pipeline(
        &self,
        what: &str,
        pipeline: &redis::Pipeline,
    ) -> Result<Vec<redis::Value>, BusError> {
        let (mut publisher, generation) = self.publisher()?;
        let outcome = self
            .rt
            .timeout(
                self.options.command_timeout,
                pipeline.query_async::<Vec<redis::Value>>(&mut publisher),
            )
            .await;
        self.outcome(what, generation, outcome)
    }

    /// A command's result (`None`: timed out); a connection failure tears
    /// down `generation`'s connections.
    fn outcome<T>(
        &self,
        what: &str,
        generation: u64,
        outcome: Option<redis::RedisResult<T>>,
    ) -> Result<T, BusError> {
        match outcome {
            Some(Ok(value)) => Ok(value),
            Some(Err(err)) => {
                let error = bus_error(what, &err);
                if err.is_unrecoverable_error()
                    || err.is_io_error()
                    || err.is_connection_dropped()
                    || err.is_timeout()
                {
                    self.lost_at(generation, error.clone());
                }
                Err(error)
            }
            None => {
                let error = BusError(format!(
                    "{what}: no answer from Redis in {:?}",
                    self.options.command_timeout
                ));
                self.lost_at(generation, error.clone());
                Err(error)
            }
        }
    }

    /// Tears down the connections of `generation` (if still current) and
    /// wakes the task to reconnect.
    fn lost_at(&self, generation: u64, error: BusError) {
        let mut state = self.lock();
        if state.generation == generation && state.publisher.is_some() {
            state.publisher = None;
            state.subscriber = None;
            let _ = self.lost.try_send(error);
        }
    }

    /// The background task: forwards messages, and on a loss reports
    /// `Down`, reconnects with backoff, reports `Up`. Runs until dropped.
    pub(crate) async fn run(
        self: Arc<Self>,
        mut stream: PubSubStream,
        lost: async_channel::Receiver<BusError>,
    ) {
        loop {
            let why = self.forward(&mut stream, &lost).await;
            {
                let mut state = self.lock();
                state.publisher = None;
                state.subscriber = None;
                self.report_down(&mut state, why);
            }
            // Losses reported before the teardown are this same loss.
            while lost.try_recv().is_ok() {}
            drop(stream);
            stream = self.reconnect().await;
        }
    }

    async fn forward(
        &self,
        stream: &mut PubSubStream,
        lost: &async_channel::Receiver<BusError>,
    ) -> BusError {
        loop {
            let next = async { Next::Message(stream.next().await) }
                .or(async { Next::Lost(lost.recv().await) })
                .await;
            match next {
                Next::Message(Some(message)) => self.deliver(&message),
                Next::Message(None) => {
                    return BusError("the connection to Redis closed".into());
                }
                Next::Lost(Ok(error)) => return error,
                Next::Lost(Err(_)) => return down(),
            }
        }
    }

    /// Hands one message to the driver; drops what is not a message on a
    /// UTF-8 channel with bytes (never a panic on what Redis sends).
    fn deliver(&self, message: &Msg) {
        let channel = match message
            .get_channel::<Vec<u8>>()
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
        {
            Some(channel) => channel,
            None => {
                tracing::warn!("sio-redis: dropped a message on a channel that is not UTF-8");
                return;
            }
        };
        let payload = match message.get_payload::<Vec<u8>>() {
            Ok(payload) => Bytes::from(payload),
            Err(err) => {
                tracing::warn!(%channel, error = %err, "sio-redis: dropped a message without bytes");
                return;
            }
        };
        self.emit(BusEvent::Message { channel, payload });
    }

    async fn reconnect(&self) -> PubSubStream {
        let (first, longest) = self.options.backoff;
        let mut delay = first;
        let mut attempt: u32 = 0;
        loop {
            attempt = attempt.saturating_add(1);
            match self.open().await {
                Ok(stream) => return stream,
                Err(error) => {
                    tracing::info!(attempt, %error, retry_in = ?delay, "sio-redis: Redis still unreachable");
                }
            }
            self.rt.sleep(delay).await;
            delay = delay.saturating_mul(2).min(longest);
        }
    }
}
