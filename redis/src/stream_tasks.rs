//! The streams adapter's two tasks: the appender (`XADD`s queued in call
//! order, sent as pipelines, retried in order across an outage) and the
//! reader (`XREAD BLOCK` from the last id seen, which is what lets a node
//! catch up after losing Redis for a while), each on a connection of its
//! own to the [`StreamTarget`] (a reopened one asks Sentinel again).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use redis::{RedisError, Value};
use sio_driver::{BusError, BusEvent, BusSink};

use crate::error::bus_error;
use crate::reply::{range_entries, xread_entries};
use crate::runtime::Runtime;
use crate::stream_link::{StreamConn, StreamTarget};

/// Entries queued and not yet stored; beyond this `append` fails at once.
pub(crate) const APPEND_QUEUE: usize = 65_536;
/// The most `XADD`s in one pipeline.
const MAX_BATCH: usize = 512;

/// The streams adapter's settings.
#[derive(Debug, Clone)]
pub(crate) struct StreamOptions {
    pub(crate) stream_name: String,
    pub(crate) max_len: usize,
    pub(crate) read_count: usize,
    pub(crate) block_time: Duration,
    pub(crate) requests_timeout: Duration,
    pub(crate) heartbeat_interval: Duration,
    pub(crate) heartbeat_timeout: Duration,
    pub(crate) command_timeout: Duration,
    pub(crate) backoff: (Duration, Duration),
}

/// One queued entry and where its id goes.
pub(crate) struct Append {
    pub(crate) fields: Vec<(String, String)>,
    pub(crate) done: async_channel::Sender<Result<String, BusError>>,
}

/// Whether `err` means the connection is gone (not a refused command).
fn connection_lost(err: &RedisError) -> bool {
    err.is_unrecoverable_error()
        || err.is_io_error()
        || err.is_connection_dropped()
        || err.is_connection_refusal()
        || err.is_timeout()
}

/// Opens one connection to `target` whose replies may take `extra`
/// longer than a command (the reader's `XREAD` blocks).
pub(crate) async fn open(
    target: &StreamTarget,
    options: &StreamOptions,
    rt: Runtime,
    extra: Duration,
) -> Result<StreamConn, BusError> {
    target.open(options.command_timeout, rt, extra).await
}

/// Opens a connection again and again, with backoff, until one opens.
async fn reopen(
    target: &StreamTarget,
    options: &StreamOptions,
    rt: Runtime,
    extra: Duration,
) -> StreamConn {
    let (first, longest) = options.backoff;
    let mut delay = first;
    loop {
        match open(target, options, rt, extra).await {
            Ok(connection) => return connection,
            Err(error) => {
                tracing::info!(%error, retry_in = ?delay, "sio-redis: Redis still unreachable");
            }
        }
        rt.sleep(delay).await;
        delay = delay.saturating_mul(2).min(longest);
    }
}

/// The stream's newest id (`XREVRANGE <stream> + - COUNT 1`), `0-0` when
/// it is empty or missing: reading starts after it.
pub(crate) async fn last_id(
    mut connection: StreamConn,
    options: &StreamOptions,
    rt: Runtime,
) -> Result<(StreamConn, String), BusError> {
    let mut command = redis::cmd("XREVRANGE");
    command
        .arg(&options.stream_name)
        .arg("+")
        .arg("-")
        .arg("COUNT")
        .arg(1);
    let reply = rt
        .timeout(
            options.command_timeout,
            command.query_async::<Value>(&mut connection),
        )
        .await
        .ok_or_else(|| BusError("XREVRANGE: no answer from Redis".into()))?
        .map_err(|err| bus_error("XREVRANGE", &err))?;
    let entries =
        range_entries(&reply).ok_or_else(|| BusError(format!("XREVRANGE: odd reply {reply:?}")))?;
    let id = entries
        .into_iter()
        .next()
        .map_or_else(|| String::from("0-0"), |(id, _)| id);
    Ok((connection, id))
}

/// Stores what is queued, in order, one pipeline at a time; a lost
/// connection is reopened and the same pipeline sent again.
pub(crate) async fn append_loop(
    target: Arc<StreamTarget>,
    options: Arc<StreamOptions>,
    rt: Runtime,
    mut connection: StreamConn,
    queued: async_channel::Receiver<Append>,
) {
    let mut batch: Vec<Append> = Vec::with_capacity(MAX_BATCH);
    while let Ok(first) = queued.recv().await {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match queued.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let mut pipeline = redis::pipe();
        for append in &batch {
            let command = pipeline
                .cmd("XADD")
                .arg(&options.stream_name)
                .arg("MAXLEN")
                .arg("~")
                .arg(options.max_len)
                .arg("*");
            for (name, value) in &append.fields {
                command.arg(name).arg(value);
            }
        }
        let outcome = loop {
            let sent = rt
                .timeout(
                    options.command_timeout,
                    pipeline.query_async::<Vec<Value>>(&mut connection),
                )
                .await;
            match sent {
                Some(Ok(replies)) => break Ok(replies),
                Some(Err(err)) if !connection_lost(&err) => break Err(bus_error("XADD", &err)),
                Some(Err(err)) => {
                    tracing::warn!(error = %err, "sio-redis: XADD failed; retrying once reconnected");
                }
                None => tracing::warn!("sio-redis: XADD not answered; retrying once reconnected"),
            }
            connection = reopen(&target, &options, rt, Duration::ZERO).await;
        };
        match outcome {
            Ok(replies) => {
                for (append, reply) in batch.drain(..).zip(replies) {
                    let id = match reply {
                        Value::BulkString(id) => String::from_utf8(id)
                            .map_err(|_| BusError("XADD: an id that is not UTF-8".into())),
                        other => Err(BusError(format!("XADD: odd reply {other:?}"))),
                    };
                    // The caller may have dropped its future: nobody to tell.
                    let _ = append.done.try_send(id);
                }
                // Replies short of the batch: those entries' callers hear of it.
                for append in batch.drain(..) {
                    let _ = append
                        .done
                        .try_send(Err(BusError("XADD: fewer replies than commands".into())));
                }
            }
            Err(error) => {
                for append in batch.drain(..) {
                    let _ = append.done.try_send(Err(error.clone()));
                }
            }
        }
    }
}

/// Events read before the driver started listening, kept for it; past
/// this many the oldest go (a driver that never starts cannot grow it).
const EARLY_EVENTS: usize = 10_000;

/// What the reader task shares with the adapter.
pub(crate) struct Reader {
    pub(crate) target: Arc<StreamTarget>,
    pub(crate) options: Arc<StreamOptions>,
    pub(crate) rt: Runtime,
    pub(crate) sink: OnceLock<BusSink>,
    /// What was read before [`Reader::start`]; its lock also orders
    /// those events before the later ones.
    pub(crate) early: std::sync::Mutex<std::collections::VecDeque<BusEvent>>,
}

impl Reader {
    fn early(&self) -> std::sync::MutexGuard<'_, std::collections::VecDeque<BusEvent>> {
        self.early
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts delivering to `sink`, what was read before first: the
    /// entries appended between `connect` and now are not lost.
    pub(crate) fn start(&self, sink: BusSink) -> bool {
        let mut early = self.early();
        if self.sink.set(sink).is_err() {
            return false;
        }
        if let Some(sink) = self.sink.get() {
            for event in early.drain(..) {
                sink(event);
            }
        }
        true
    }

    fn emit(&self, event: BusEvent) {
        let mut early = self.early();
        match self.sink.get() {
            Some(sink) => {
                drop(early);
                sink(event);
            }
            None => {
                if early.len() >= EARLY_EVENTS {
                    early.pop_front();
                }
                early.push_back(event);
            }
        }
    }

    /// Reads the stream after `last_id` forever: every entry goes to the
    /// driver in order; a lost connection is reported (`Down`), reopened
    /// with backoff, and reading goes on after the last id seen (`Up`).
    pub(crate) async fn run(self: Arc<Self>, mut connection: StreamConn, last_id: String) {
        let options = &self.options;
        let mut last_id = last_id;
        let block_ms = u64::try_from(options.block_time.as_millis()).unwrap_or(u64::MAX);
        loop {
            let mut command = redis::cmd("XREAD");
            command
                .arg("COUNT")
                .arg(options.read_count)
                .arg("BLOCK")
                .arg(block_ms)
                .arg("STREAMS")
                .arg(&options.stream_name)
                .arg(&last_id);
            let read = self
                .rt
                .timeout(
                    options.command_timeout + options.block_time,
                    command.query_async::<Value>(&mut connection),
                )
                .await;
            let why = match read {
                Some(Ok(reply)) => {
                    match xread_entries(&reply) {
                        Some(entries) => {
                            for (id, fields) in entries {
                                last_id.clone_from(&id);
                                self.emit(BusEvent::Entry { id, fields });
                            }
                        }
                        None => tracing::warn!(?reply, "sio-redis: odd XREAD reply"),
                    }
                    continue;
                }
                Some(Err(err)) if !connection_lost(&err) => {
                    // A refused read (the key is not a stream, say): try
                    // again later rather than spin.
                    tracing::warn!(error = %err, "sio-redis: XREAD refused");
                    self.rt.sleep(options.backoff.1).await;
                    continue;
                }
                Some(Err(err)) => bus_error("XREAD", &err),
                None => BusError("XREAD: no answer from Redis".into()),
            };
            tracing::warn!(error = %why, %last_id, "sio-redis: lost Redis; reading on from the last id once reconnected");
            self.emit(BusEvent::Down(why));
            connection = reopen(&self.target, options, self.rt, options.block_time).await;
            tracing::info!(%last_id, "sio-redis: reconnected to Redis; reading the stream on");
            self.emit(BusEvent::Up);
        }
    }
}

/// The connection for one-off commands (sessions, ranges), opened again
/// on the next command after it is lost.
pub(crate) struct Commands {
    pub(crate) target: Arc<StreamTarget>,
    pub(crate) options: Arc<StreamOptions>,
    pub(crate) rt: Runtime,
    pub(crate) connection: std::sync::Mutex<Option<StreamConn>>,
}

impl Commands {
    fn take(&self) -> Option<StreamConn> {
        self.connection
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn put(&self, connection: Option<StreamConn>) {
        *self
            .connection
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = connection;
    }

    /// Runs `pipeline` (one command or an atomic few) and returns its replies.
    pub(crate) async fn run(
        &self,
        what: &str,
        pipeline: redis::Pipeline,
    ) -> Result<Vec<Value>, BusError> {
        let mut connection = match self.take() {
            Some(connection) => connection,
            None => {
                let connection = open(&self.target, &self.options, self.rt, Duration::ZERO).await?;
                self.put(Some(connection.clone()));
                connection
            }
        };
        let sent = self
            .rt
            .timeout(
                self.options.command_timeout,
                pipeline.query_async::<Vec<Value>>(&mut connection),
            )
            .await;
        match sent {
            Some(Ok(replies)) => Ok(replies),
            Some(Err(err)) => {
                if connection_lost(&err) {
                    self.put(None);
                }
                Err(bus_error(what, &err))
            }
            None => {
                self.put(None);
                Err(BusError(format!("{what}: no answer from Redis")))
            }
        }
    }
}
