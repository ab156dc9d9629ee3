//! The publisher: `PUBLISH` (the sharded adapter: `SPUBLISH`) commands
//! queued in call order and written to Redis by one task, pipelined.
//!
//! [`Bus::publish`](sio_driver::Bus::publish) must fix the order when
//! it is called. The redis crate's multiplexed connection only queues a
//! command when its future is first polled, so concurrent command futures
//! have no defined order; here the call queues the message at once and the
//! task sends whatever has queued up as one pipeline, one pipeline at a
//! time. A busy node thus sends many messages per round trip, in order.
//! The pipeline's outcome is every message's: should Redis refuse one
//! command, the whole batch reports the error.

use bytes::Bytes;
use sio_driver::{BoxFuture, BusError};

use redis::cluster_routing::Slot;

use crate::backend::Backend;

/// Messages queued and not yet sent; beyond this `publish` fails at once.
const QUEUE: usize = 65_536;
/// The most `PUBLISH` (`SPUBLISH`) commands sent in one pipeline.
const MAX_BATCH: usize = 512;

/// One queued message and where its outcome goes.
struct Publish {
    channel: String,
    payload: Bytes,
    done: async_channel::Sender<Result<(), BusError>>,
}

/// The adapter's end of the queue; dropping it ends the task once the
/// queue is empty.
pub(crate) struct Publisher {
    queue: async_channel::Sender<Publish>,
}

impl Publisher {
    /// The queue, and the task that empties it (to spawn).
    pub(crate) fn new(link: Backend) -> (Self, impl std::future::Future<Output = ()>) {
        let (queue, queued) = async_channel::bounded(QUEUE);
        (Self { queue }, run(link, queued))
    }

    /// Queues `payload` for `channel` now; the future reports the outcome.
    pub(crate) fn publish(
        &self,
        channel: String,
        payload: Bytes,
    ) -> BoxFuture<Result<(), BusError>> {
        let (done, outcome) = async_channel::bounded(1);
        let queued = self.queue.try_send(Publish {
            channel,
            payload,
            done,
        });
        Box::pin(async move {
            match queued {
                Ok(()) => outcome
                    .recv()
                    .await
                    .unwrap_or_else(|_| Err(BusError("the publisher task stopped".into()))),
                Err(async_channel::TrySendError::Full(_)) => Err(BusError(format!(
                    "PUBLISH: {QUEUE} messages already wait for Redis"
                ))),
                Err(async_channel::TrySendError::Closed(_)) => {
                    Err(BusError("the publisher task stopped".into()))
                }
            }
        })
    }
}

/// Sends what is queued, in order, one pipeline at a time, until the
/// adapter is dropped and the queue is empty.
async fn run(link: Backend, queued: async_channel::Receiver<Publish>) {
    let mut batch: Vec<Publish> = Vec::with_capacity(MAX_BATCH);
    while let Ok(first) = queued.recv().await {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match queued.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let outcomes = match link.options().sharded {
            None => {
                // On a cluster every PUBLISH goes to one node (the master
                // of the key prefix's slot), so they stay in call order.
                let all: Vec<&Publish> = batch.iter().collect();
                let outcome = send(&link, "PUBLISH", &link.options().key, &all).await;
                vec![outcome; batch.len()]
            }
            Some(_) => send_sharded(&link, &batch).await,
        };
        for (publish, outcome) in batch.drain(..).zip(outcomes) {
            // The caller may have dropped its future: nobody to tell.
            let _ = publish.done.try_send(outcome);
        }
    }
}

/// Sends `batch` as one pipeline of `command`s to the node of `key`.
async fn send(
    link: &Backend,
    command: &str,
    key: &str,
    batch: &[&Publish],
) -> Result<(), BusError> {
    let mut pipeline = redis::pipe();
    for publish in batch {
        pipeline
            .cmd(command)
            .arg(&publish.channel)
            .arg(publish.payload.as_ref());
    }
    let replies = link.pipeline(command, key, pipeline).await?;
    if replies.len() == batch.len() {
        Ok(())
    } else {
        Err(BusError(format!(
            "{command}: {} replies to {} commands",
            replies.len(),
            batch.len()
        )))
    }
}

/// `SPUBLISH`es `batch`: a shard channel lives on its slot's master, so
/// the batch goes as one pipeline per slot, in call order within each (one
/// channel's messages keep their order; the reference promises no order
/// across channels either). The outcomes, in `batch` order.
async fn send_sharded(link: &Backend, batch: &[Publish]) -> Vec<Result<(), BusError>> {
    let slots: Vec<Slot> = batch
        .iter()
        .map(|publish| Slot::for_key(&publish.channel))
        .collect();
    let mut outcomes: Vec<Option<Result<(), BusError>>> = vec![None; batch.len()];
    for first in 0..batch.len() {
        if outcomes[first].is_some() {
            continue;
        }
        let members: Vec<usize> = (first..batch.len())
            .filter(|&i| slots[i] == slots[first] && outcomes[i].is_none())
            .collect();
        let group: Vec<&Publish> = members.iter().map(|&i| &batch[i]).collect();
        let outcome = send(link, "SPUBLISH", &group[0].channel, &group).await;
        for i in members {
            outcomes[i] = Some(outcome.clone());
        }
    }
    outcomes
        .into_iter()
        .map(|outcome| outcome.unwrap_or_else(|| Err(BusError("SPUBLISH: not sent".into()))))
        .collect()
}
