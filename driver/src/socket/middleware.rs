//! Per-packet middleware (Node's `socket.use`): an event goes through the
//! socket's middlewares in order; the first error drops it and reaches the
//! socket's `error` handlers, as Node's `next(err)` does.

use core::task::Poll;

use super::listeners::PacketMiddleware;
use super::{AckSender, JobFutures, Socket};
use crate::jobs::start_now;
use crate::payload::Payload;
use crate::runtime::BoxFuture;
use crate::sync::lock;

impl Socket {
    /// Runs `middleware` over `payload`, then the event's handlers (looked
    /// up only then, as Node does). Handlers start the way they do without
    /// middleware: each runs until its first await within this poll, the
    /// rest on a task of its own, so events that every middleware passes
    /// at once keep their order and a slow handler delays nobody.
    pub(super) async fn through_middleware(
        self,
        middleware: Vec<PacketMiddleware>,
        payload: Payload,
        ack: Option<u64>,
    ) {
        for each in middleware {
            if let Err(error) = each(self.clone(), payload.clone()).await {
                let handlers = lock(&self.inner.handlers).rare_list(|rare| &rare.error);
                if handlers.is_empty() {
                    tracing::warn!(socket = self.id(), %error, "packet refused by a middleware, and no error handler");
                }
                let futures: Vec<BoxFuture<()>> = handlers
                    .iter()
                    .map(|handler| handler(self.clone(), error.clone()))
                    .collect();
                self.start_now(futures, None).await;
                return;
            }
        }
        let (data, attachments) = payload.into_parts();
        let (any, handler, payload) = self.dispatch(data, attachments);
        let collected = any
            .iter()
            .map(|each| each(self.clone(), payload.clone()))
            .collect();
        let last =
            handler.and_then(|h| h(self.clone(), payload, AckSender::new(self.clone(), ack)));
        self.start_now(collected, last).await;
    }

    /// Starts `collected`, then `last`, within the current poll.
    async fn start_now(&self, collected: Vec<BoxFuture<()>>, last: Option<BoxFuture<()>>) {
        let mut futures = Some(JobFutures {
            collected: collected.into_iter(),
            single: last,
        });
        std::future::poll_fn(|cx| {
            if let Some(futures) = futures.take() {
                start_now(&*self.inner.shared.runtime, cx, futures);
            }
            Poll::Ready(())
        })
        .await
    }
}
