//! [`BroadcastOperator`]: `to` / `except` / `volatile` / `local` /
//! `timeout`, then `emit`, `emit_with_ack` or a server-wide operation on the
//! sockets it selects.

// The crate is no_std; this module is std-only (feature `driver`).
use std::prelude::rust_2021::*;

use std::sync::Arc;
use std::time::Duration;

use core::future::Future;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::ack::{await_ack, AckError, AckReply};
use super::shared::Shared;
use super::socket::Socket;
use super::EmitError;
use crate::packet::encode_args;
use crate::server::{BroadcastOptions, SocketId};

/// Selects sockets of one namespace (or of every child of a dynamic one).
#[derive(Clone)]
pub struct BroadcastOperator {
    shared: Arc<Shared>,
    namespaces: Vec<Arc<str>>,
    opts: BroadcastOptions,
    timeout: Option<Duration>,
}

impl std::fmt::Debug for BroadcastOperator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BroadcastOperator")
            .field("namespaces", &self.namespaces)
            .field("opts", &self.opts)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl BroadcastOperator {
    pub(crate) fn new(
        shared: Arc<Shared>,
        namespaces: Vec<Arc<str>>,
        opts: BroadcastOptions,
    ) -> Self {
        BroadcastOperator {
            shared,
            namespaces,
            opts,
            timeout: None,
        }
    }

    /// Also to the sockets in `room` (rooms add up).
    pub fn to(mut self, room: &str) -> Self {
        self.opts.rooms.push(room.into());
        self
    }

    /// Same as [`BroadcastOperator::to`] (Node's `in`).
    pub fn within(self, room: &str) -> Self {
        self.to(room)
    }

    /// Leaves out the sockets in `room`.
    pub fn except(mut self, room: &str) -> Self {
        self.opts.except.push(room.into());
        self
    }

    /// Drops the packet for sockets whose transport cannot take it now.
    pub fn volatile(mut self) -> Self {
        self.opts.volatile = true;
        self
    }

    /// Only this server's sockets. With no adapter every broadcast is
    /// local; the flag keeps code right once a cluster adapter is plugged in.
    pub fn local(self) -> Self {
        self
    }

    /// The deadline for [`BroadcastOperator::emit_with_ack`].
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Sends `event` with `args` to every selected socket; encoded once.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, args: &T) -> Result<(), EmitError> {
        let (data, attachments) = encode_args(Some(event), args)?;
        for nsp in &self.namespaces {
            let (data, attachments) = (data.clone(), attachments.clone());
            self.shared
                .process(|server, now| server.broadcast(now, nsp, &self.opts, data, attachments));
        }
        Ok(())
    }

    /// Sends `event` and collects every selected socket's acknowledgement,
    /// decoded as `R`. Sockets that disconnect meanwhile are left out; the
    /// deadline (none unless [`BroadcastOperator::timeout`] is set) passing
    /// first is an error, as in Node.
    pub fn emit_with_ack<T: Serialize + ?Sized, R: DeserializeOwned + Send + 'static>(
        &self,
        event: &str,
        args: &T,
    ) -> impl Future<Output = Result<Vec<R>, AckError>> + Send + 'static {
        let waiting = self.start_acks(event, args);
        async move {
            let mut replies = Vec::new();
            for rx in waiting? {
                match await_ack::<R>(rx).await {
                    Ok(reply) => replies.push(reply),
                    Err(AckError::Disconnected) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(replies)
        }
    }

    fn start_acks<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<Vec<async_channel::Receiver<AckReply>>, AckError> {
        let (data, attachments) = encode_args(Some(event), args).map_err(EmitError::from)?;
        let timeout = self.timeout.unwrap_or(Duration::MAX);
        let mut waiting = Vec::new();
        for nsp in &self.namespaces {
            let (data, attachments) = (data.clone(), attachments.clone());
            let shared = &self.shared;
            self.shared.process(|server, now| {
                for (socket, id) in
                    server.broadcast_with_ack(now, nsp, &self.opts, data, attachments, timeout)
                {
                    let (tx, rx) = async_channel::bounded(1);
                    shared.expect_ack(socket, id, tx);
                    waiting.push(rx);
                }
            });
        }
        Ok(waiting)
    }

    fn selected(&self) -> Vec<(Arc<str>, SocketId)> {
        self.shared.read(|server| {
            self.namespaces
                .iter()
                .flat_map(|nsp| {
                    server
                        .matching_sockets(nsp, &self.opts)
                        .into_iter()
                        .map(move |id| (nsp.clone(), id))
                })
                .collect()
        })
    }

    /// The selected sockets (Node's `fetchSockets`).
    pub fn fetch_sockets(&self) -> Vec<Socket> {
        self.selected()
            .into_iter()
            .filter_map(|(_, id)| self.shared.socket(id))
            .collect()
    }

    /// Makes every selected socket join `room`.
    pub fn sockets_join(&self, room: &str) {
        let selected = self.selected();
        self.shared.process(|server, _| {
            for (_, id) in selected {
                // A socket gone since the selection has nothing to join.
                let _ = server.join(id, room);
            }
        });
    }

    /// Makes every selected socket leave `room`.
    pub fn sockets_leave(&self, room: &str) {
        let selected = self.selected();
        self.shared.process(|server, _| {
            for (_, id) in selected {
                let _ = server.leave(id, room);
            }
        });
    }

    /// Disconnects every selected socket; with `close`, also closes their
    /// connections (Node's `disconnectSockets(true)`).
    pub fn disconnect_sockets(&self, close: bool) {
        let selected = self.selected();
        self.shared.process(|server, now| {
            for (_, id) in selected {
                let _ = if close {
                    server.disconnect_session(now, id)
                } else {
                    server.disconnect(now, id)
                };
            }
        });
    }
}
