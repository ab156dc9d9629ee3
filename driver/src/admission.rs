//! What happens to a request before the core takes it: the application's
//! `allow_request` verdict (bounded by the body timeout), the headers its
//! hooks add to the answer, and the hand-over of the request or its
//! refusal. The connection code (`conn`) runs these for both servers.
//!
//! Floor: the bottom one, between `conn` (which imports it) and
//! `endpoint`, `hooks` (which it imports).

use std::net::SocketAddr;
use std::sync::Arc;

use core::future::Future;

use crate::endpoint::{Endpoint, Layer, ServerMachine};
use crate::hooks::{ExtraHeaders, Forbidden, RequestInfo};
use crate::runtime::BoxFuture;
use sio_core::engine::ConnId;
use sio_core::wire::http::Request;

/// The verdict on `request` (allowed when nobody is asked) and the headers
/// its answer gets; `None` if `gone` (the client left) completes first.
pub(crate) async fn admit<M: ServerMachine>(
    endpoint: &Endpoint<M>,
    request: &Request,
    peer: Option<SocketAddr>,
    gone: impl Future<Output = ()>,
) -> Option<(Result<(), Forbidden>, ExtraHeaders)> {
    let verdict = match verdict(endpoint, request, peer) {
        Some(check) => {
            futures_lite::future::or(async { Some(check.await) }, async {
                gone.await;
                None
            })
            .await?
        }
        None => Ok(()),
    };
    let extra = extra_headers(endpoint, request, peer, &verdict);
    Some((verdict, extra))
}

/// The application's `allow_request` verdict on `request`, if it has a
/// check and the request is a handshake that passed the engine's own
/// checks (as Node asks it). Bounded: a verdict not given within the
/// body timeout (`engine.body_timeout`) refuses the request.
fn verdict<M: ServerMachine>(
    endpoint: &Endpoint<M>,
    request: &Request,
    peer: Option<SocketAddr>,
) -> Option<BoxFuture<Result<(), Forbidden>>> {
    let check = endpoint.hooks.allow_request()?;
    if !endpoint.read(|server| server.is_checked_handshake(request)) {
        return None;
    }
    let pending = check(RequestInfo::of(request, peer));
    let deadline = endpoint.host().clock().now_std() + endpoint.http_timeouts.body;
    let runtime = endpoint.host().runtime().clone();
    Some(Box::pin(futures_lite::future::or(pending, async move {
        runtime.sleep_until(deadline).await;
        tracing::warn!("allow_request gave no verdict within the body timeout; refusing");
        Err(Forbidden::new())
    })))
}

/// What the headers hooks add to the answer to `request`: nothing for a
/// request the application refused (its hooks are not asked).
fn extra_headers<M: ServerMachine>(
    endpoint: &Endpoint<M>,
    request: &Request,
    peer: Option<SocketAddr>,
    verdict: &Result<(), Forbidden>,
) -> ExtraHeaders {
    match verdict {
        Ok(()) => endpoint.hooks.response_headers(request, peer),
        Err(_) => ExtraHeaders::default(),
    }
}

/// Gives the core `request`, or its refusal when the verdict refused it.
pub(crate) fn hand_over<L: Layer>(
    shared: &Arc<L>,
    conn: ConnId,
    request: Request,
    peer: Option<SocketAddr>,
    verdict: Result<(), Forbidden>,
) {
    shared.process_conn(conn, |server, now| match verdict {
        Ok(()) => server.handle_request_from(now, conn, request, peer),
        Err(refusal) => server.forbid(now, conn, &request, refusal.message()),
    });
}
