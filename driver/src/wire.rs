//! How this node reaches the other nodes of its cluster ([`Wire`]), and
//! the loop that hands its messages to the bus in the order it made them.
//!
//! Floor: wire, on the bottom floor beside bus (the cluster above spawns
//! the loop and queues into it).

use std::collections::VecDeque;
use std::sync::Arc;

use async_channel::Receiver;
use bytes::Bytes;
use futures_lite::FutureExt;

use super::bus::{Bus, BusError, StreamBus};
use super::meter;
use super::runtime::BoxFuture;

/// Publishes handed to the bus and not yet answered; at this many the
/// publish loop waits for the oldest answer before handing over more.
const PUBLISHES_IN_FLIGHT: usize = 1024;

/// How this node reaches the others.
#[derive(Clone)]
pub(crate) enum Wire {
    /// `@socket.io/redis-adapter`'s channels over publish/subscribe: its
    /// classic adapter, or its sharded one when [`Bus::sharded`] says so.
    PubSub(Arc<dyn Bus>),
    /// socket.io-adapter's cluster messages on a shared stream
    /// (`@socket.io/redis-streams-adapter`), nodes counted by heartbeats.
    Stream(Arc<dyn StreamBus>),
}

/// What runs once an append is stored (with its id) or failed (`None`).
pub(crate) type Then = Box<dyn FnOnce(Option<String>) + Send>;

/// One message on its way to the bus.
pub(crate) enum Outgoing {
    /// `PUBLISH channel payload`.
    Publish(String, Bytes),
    /// An entry appended to the stream, and what to do once it is stored.
    Append(Vec<(String, String)>, Option<Then>),
}

impl Outgoing {
    /// What to name in a log line.
    fn name(&self) -> &str {
        match self {
            Outgoing::Publish(channel, _) => channel,
            Outgoing::Append(..) => "the stream",
        }
    }
}

/// What the publish loop does next.
enum Step {
    /// A message to publish, or the outbox closed.
    Queued(Result<Outgoing, async_channel::RecvError>),
    /// The oldest publish in flight ended (with the entry id, on a stream).
    Done(Result<Option<String>, BusError>),
}

/// One publish handed to the bus: what to log, its outcome, what to run then.
type InFlight = (
    String,
    BoxFuture<Result<Option<String>, BusError>>,
    Option<Then>,
);

/// Hands messages to the bus in outbox order without waiting for each
/// answer ([`Bus::publish`] fixes the order at the call), with at most
/// [`PUBLISHES_IN_FLIGHT`] unanswered; failures are logged. Outcomes are
/// taken in order, so each one's follow-up runs in publish order.
pub(crate) async fn publish_loop(wire: Wire, outgoing: Receiver<Outgoing>) {
    let mut in_flight: VecDeque<InFlight> = VecDeque::new();
    loop {
        let full = in_flight.len() >= PUBLISHES_IN_FLIGHT;
        let step = match in_flight.front_mut() {
            None => Step::Queued(outgoing.recv().await),
            Some((_, outcome, _)) if full => Step::Done(outcome.await),
            Some((_, outcome, _)) => {
                async { Step::Queued(outgoing.recv().await) }
                    .or(async { Step::Done(outcome.await) })
                    .await
            }
        };
        match step {
            Step::Queued(Ok(message)) => {
                let name = message.name().to_owned();
                let (outcome, then): (BoxFuture<_>, _) = match (&wire, message) {
                    (Wire::PubSub(bus), Outgoing::Publish(channel, payload)) => {
                        let published = bus.publish(channel, payload);
                        (
                            Box::pin(async move { published.await.map(|()| None) }),
                            None,
                        )
                    }
                    (Wire::Stream(log), Outgoing::Append(fields, then)) => {
                        let appended = log.append(fields);
                        (Box::pin(async move { appended.await.map(Some) }), then)
                    }
                    (_, Outgoing::Append(_, then)) => (
                        Box::pin(async { Err(BusError("a message for another wire".into())) }),
                        then,
                    ),
                    _ => (
                        Box::pin(async { Err(BusError("a message for another wire".into())) }),
                        None,
                    ),
                };
                in_flight.push_back((name, outcome, then));
            }
            Step::Queued(Err(_)) => break,
            Step::Done(result) => {
                if let Some(flight) = in_flight.pop_front() {
                    finish(flight, result);
                }
            }
        }
    }
    // The server is gone: what was handed over still goes; report it.
    for (channel, outcome, then) in in_flight {
        let result = outcome.await;
        finish((channel, Box::pin(async { Ok(None) }), then), result);
    }
}

/// Logs a publish's outcome and runs its follow-up.
fn finish((channel, _, then): InFlight, result: Result<Option<String>, BusError>) {
    match &result {
        Ok(_) => meter::adapter_published(),
        Err(error) => {
            meter::adapter_error("publish");
            tracing::warn!(%channel, %error, "cluster publish failed; message lost");
        }
    }
    if let Some(then) = then {
        then(result.ok().flatten());
    }
}
