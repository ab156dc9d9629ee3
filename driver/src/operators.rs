//! [`BroadcastOperator`]: `to` / `except` / `volatile` / `local` /
//! `timeout`, then `emit`, `emit_with_ack` or a server-wide operation on the
//! sockets it selects. With a cluster adapter, each goes to the other nodes
//! too (unless `local`), as the reference adapter sends it.
//!
//! Floor: operators, beside answer (above remote, cluster, socket and shared,
//! below namespace and io). It holds the operators of the lower types too:
//! `impl Socket` (`to`, `within`, `except`, `broadcast`) and `impl
//! RemoteSocket` (`emit`, `join`, `leave`, `disconnect`).

use std::sync::Arc;
use std::time::Duration;

use bytestring::ByteString;
use core::future::Future;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::ack::{await_ack, AckError, AckReply};
use super::cluster::{Cluster, ClusterError, Waiting};
use super::error::EmitError;
use super::remote::{args_value, decode_value, RemoteSocket};
use super::shared::Shared;
use super::socket::{with_compress, Socket};
use super::streams::LoggedBroadcast;
use sio_core::adapter::{Flag, Response, Targets};
use sio_core::packet::encode_args;
use sio_core::server::{BroadcastOptions, Server, SharedEncoding, SocketId};
use sio_core::time::Instant;

/// Selects sockets of one namespace (or of every child of a dynamic one).
#[derive(Clone)]
pub struct BroadcastOperator {
    shared: Arc<Shared>,
    namespaces: Vec<Arc<str>>,
    opts: BroadcastOptions,
    timeout: Option<Duration>,
    /// `local()`: this node only.
    local: bool,
    /// `compress(false)`: never permessage-deflate.
    compress: bool,
}

impl std::fmt::Debug for BroadcastOperator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BroadcastOperator")
            .field("namespaces", &self.namespaces)
            .field("opts", &self.opts)
            .field("timeout", &self.timeout)
            .field("local", &self.local)
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
            local: false,
            compress: true,
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

    /// With `false`, the packet goes out without permessage-deflate on
    /// every WebSocket, whatever its size (Node's `compress(false)`; on by
    /// default). Other nodes of a cluster compress as they decide.
    pub fn compress(mut self, compress: bool) -> Self {
        self.compress = compress;
        self
    }

    /// Only this server's sockets: nothing goes to the other nodes of the
    /// cluster. Without an adapter every operation is local anyway.
    pub fn local(mut self) -> Self {
        self.local = true;
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
        let remote = self
            .cluster()
            .and_then(|cluster| Some((cluster, args_value(&data, &attachments)?)));
        if let Some((cluster, value)) = &remote {
            if !self.opts.volatile && cluster.offsets_from_stream(&self.shared) {
                // Delivered here once stored, with the stream id as offset.
                let targets = self.targets(Some(self.flags(None)));
                for nsp in &self.namespaces {
                    let broadcast = LoggedBroadcast {
                        nsp: nsp.to_string(),
                        opts: self.opts.clone(),
                        data: data.clone(),
                        attachments: attachments.clone(),
                        compress: self.compress,
                    };
                    cluster.log_then_deliver(
                        &self.shared,
                        value.clone(),
                        targets.clone(),
                        broadcast,
                    );
                }
                return Ok(());
            }
        }
        for nsp in &self.namespaces {
            // Encoded once, by the first shard with recipients.
            let mut encoding = SharedEncoding::default();
            self.shared.broadcast_all(|server, now| {
                let (data, attachments) = (data.clone(), attachments.clone());
                with_compress(server, self.compress, |server| {
                    server.broadcast_shared(now, nsp, &self.opts, data, attachments, &mut encoding)
                })
            });
        }
        if let Some((cluster, value)) = remote {
            let targets = self.targets(Some(self.flags(None)));
            for nsp in &self.namespaces {
                cluster.publish_broadcast(nsp, value.clone(), targets.clone());
            }
        }
        Ok(())
    }

    /// The cluster, unless this operator is `local`.
    fn cluster(&self) -> Option<Arc<Cluster>> {
        match self.local {
            true => None,
            false => self.shared.cluster().cloned(),
        }
    }

    /// The flags the reference writes: `volatile`, then `timeout`.
    fn flags(&self, timeout: Option<Duration>) -> Vec<Flag> {
        let mut flags = Vec::new();
        if self.opts.volatile {
            flags.push(Flag::Volatile(true));
        }
        if let Some(timeout) = timeout {
            flags.push(Flag::Timeout(
                i64::try_from(timeout.as_millis()).unwrap_or(i64::MAX),
            ));
        }
        flags
    }

    /// The selection as the other nodes read it: rooms and except rooms
    /// once each, in the order given (Node keeps them in Sets), and an
    /// excepted socket (the sender of `socket.broadcast`) as the room named
    /// by its id.
    fn targets(&self, flags: Option<Vec<Flag>>) -> Targets {
        let sids: Vec<String> = self
            .opts
            .except_sockets
            .iter()
            .filter_map(|&id| {
                self.shared
                    .read_socket(id, |server| server.socket_sid(id).map(str::to_owned))
            })
            .collect();
        let except = self.opts.except.iter().map(|r| r.to_string()).chain(sids);
        Targets {
            rooms: distinct(self.opts.rooms.iter().map(|r| r.to_string())),
            except: distinct(except),
            flags,
        }
    }

    /// Sends `event` and collects every selected socket's acknowledgement,
    /// decoded as `R`. Sockets that disconnect meanwhile are left out; the
    /// deadline (none unless [`BroadcastOperator::timeout`] is set) passing
    /// first is an error, as in Node.
    ///
    /// With a cluster adapter the other nodes' sockets are asked too (the
    /// reference's BROADCAST request); their acks carry the first argument
    /// only, as the reference forwards them. Their deadline is the
    /// `timeout`, or the adapter's `requests_timeout` when none is set.
    pub fn emit_with_ack<T: Serialize + ?Sized, R: DeserializeOwned + Send + 'static>(
        &self,
        event: &str,
        args: &T,
    ) -> impl Future<Output = Result<Vec<R>, AckError>> + Send + 'static {
        let waiting = self.start_acks(event, args);
        let remote = self.start_remote_acks(event, args);
        async move {
            let mut replies = Vec::new();
            for rx in waiting? {
                match await_ack::<R>(rx).await {
                    Ok(reply) => replies.push(reply),
                    Err(AckError::Disconnected) => {}
                    Err(e) => return Err(e),
                }
            }
            for waiting in remote {
                let finished = waiting.finish().await.ok_or(AckError::Disconnected)?;
                if finished.error().is_some() {
                    return Err(AckError::Timeout);
                }
                for response in &finished.responses {
                    if let Response::BroadcastAck { packet, .. } = response {
                        replies.push(decode_value(packet.as_ref()).map_err(AckError::Decode)?);
                    }
                }
            }
            Ok(replies)
        }
    }

    fn start_remote_acks<T: Serialize + ?Sized>(&self, event: &str, args: &T) -> Vec<Waiting> {
        let Some(cluster) = self.cluster() else {
            return Vec::new();
        };
        let Some(value) = encode_args(Some(event), args)
            .ok()
            .and_then(|(data, attachments)| args_value(&data, &attachments))
        else {
            return Vec::new();
        };
        let timeout = self.timeout.unwrap_or(cluster.requests_timeout());
        let targets = self.targets(Some(self.flags(Some(timeout))));
        self.namespaces
            .iter()
            .map(|nsp| {
                cluster.start_broadcast_with_ack(
                    &self.shared,
                    nsp,
                    value.clone(),
                    targets.clone(),
                    timeout,
                )
            })
            .collect()
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
            let shared = &self.shared;
            self.shared.broadcast_all(|server, now| {
                let (data, attachments) = (data.clone(), attachments.clone());
                let sent = with_compress(server, self.compress, |server| {
                    server.broadcast_with_ack(now, nsp, &self.opts, data, attachments, timeout)
                });
                for (socket, id) in sent {
                    let (tx, rx) = async_channel::bounded(1);
                    shared.expect_ack(socket, id, tx);
                    waiting.push(rx);
                }
            });
        }
        Ok(waiting)
    }

    /// The namespaces it selects in.
    pub(crate) fn namespaces(&self) -> &[Arc<str>] {
        &self.namespaces
    }

    /// The selected sockets, namespace by namespace, each namespace's in
    /// id order over every shard (session order, then join order).
    fn selected(&self) -> Vec<(Arc<str>, SocketId)> {
        let mut selected = Vec::new();
        for nsp in &self.namespaces {
            let mut ids: Vec<SocketId> = self
                .shared
                .read_all(|server| server.matching_sockets(nsp, &self.opts))
                .into_iter()
                .flatten()
                .collect();
            ids.sort_unstable();
            selected.extend(ids.into_iter().map(|id| (nsp.clone(), id)));
        }
        selected
    }

    /// Runs `f` on each selected socket, in its shard (each shard selects
    /// its own and acts on them under one lock).
    fn on_selected(&self, mut f: impl FnMut(&mut Server, Instant, SocketId)) {
        for nsp in &self.namespaces {
            self.shared.on_matching(nsp, &self.opts, &mut f);
        }
    }

    /// The selected sockets of the whole cluster (Node's `fetchSockets`):
    /// this node's at once, then those the other nodes report (a
    /// REMOTE_FETCH request, when the adapter counts other nodes and the
    /// operator is not `local`). Fails when the bus fails or a node does
    /// not answer within the adapter's `requests_timeout`.
    pub fn fetch_sockets(
        &self,
    ) -> impl Future<Output = Result<Vec<RemoteSocket>, ClusterError>> + Send + 'static {
        let local: Vec<RemoteSocket> = self
            .selected()
            .into_iter()
            .filter_map(|(_, id)| self.shared.socket(id))
            .map(RemoteSocket::from_local)
            .collect();
        let remote = self.cluster().map(|cluster| {
            (
                cluster,
                self.shared.clone(),
                self.namespaces.clone(),
                self.targets(None),
            )
        });
        async move {
            let mut sockets = local;
            if let Some((cluster, shared, namespaces, targets)) = remote {
                for nsp in namespaces {
                    let fetched = cluster
                        .fetch_sockets(&shared, &nsp, targets.clone())
                        .await?;
                    sockets.extend(
                        fetched
                            .into_iter()
                            .map(|socket| RemoteSocket::from_fetched(&shared, &nsp, socket)),
                    );
                }
            }
            Ok(sockets)
        }
    }

    /// Makes every selected socket join `room`; with a cluster adapter, on
    /// every node (REMOTE_JOIN, which no node answers).
    pub fn sockets_join(&self, room: &str) {
        self.on_selected(|server, _, id| {
            let _ = server.join(id, room);
        });
        if let Some(cluster) = self.cluster() {
            for nsp in &self.namespaces {
                cluster.remote_join(nsp, self.targets(None), vec![room.to_owned()]);
            }
        }
    }

    /// Makes every selected socket leave `room`; with a cluster adapter, on
    /// every node (REMOTE_LEAVE).
    pub fn sockets_leave(&self, room: &str) {
        self.on_selected(|server, _, id| {
            let _ = server.leave(id, room);
        });
        if let Some(cluster) = self.cluster() {
            for nsp in &self.namespaces {
                cluster.remote_leave(nsp, self.targets(None), vec![room.to_owned()]);
            }
        }
    }

    /// Disconnects every selected socket; with `close`, also closes their
    /// connections (Node's `disconnectSockets(true)`). With a cluster
    /// adapter, on every node (REMOTE_DISCONNECT).
    pub fn disconnect_sockets(&self, close: bool) {
        if let Some(cluster) = self.cluster() {
            for nsp in &self.namespaces {
                cluster.remote_disconnect(nsp, self.targets(None), close);
            }
        }
        self.on_selected(|server, now, id| {
            let _ = if close {
                server.disconnect_session(now, id)
            } else {
                server.disconnect(now, id)
            };
        });
    }
}

/// `items` without repeats, first occurrences kept in order.
fn distinct(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    items.filter(|item| seen.insert(item.clone())).collect()
}

/// The operators a socket starts (they live on this floor: the socket's
/// module sits below the operators).
impl Socket {
    /// To every socket in `room` but this one.
    pub fn to(&self, room: &str) -> BroadcastOperator {
        self.broadcast().to(room)
    }

    /// Same as [`Socket::to`].
    pub fn within(&self, room: &str) -> BroadcastOperator {
        self.to(room)
    }

    /// To every socket of the namespace but this one and those in `room`.
    pub fn except(&self, room: &str) -> BroadcastOperator {
        self.broadcast().except(room)
    }

    /// To every socket of the namespace but this one.
    pub fn broadcast(&self) -> BroadcastOperator {
        BroadcastOperator::new(
            self.shared().clone(),
            vec![self.nsp().clone()],
            BroadcastOptions {
                except_sockets: vec![self.core_id()],
                ..BroadcastOptions::default()
            },
        )
    }
}

/// A fetched socket's operations on another node go through an operator.
impl RemoteSocket {
    fn operator(&self) -> BroadcastOperator {
        BroadcastOperator::new(
            self.shared.clone(),
            vec![self.nsp.clone()],
            BroadcastOptions {
                rooms: vec![ByteString::from(self.id.as_str())],
                ..BroadcastOptions::default()
            },
        )
    }

    /// Sends `event` with `args` to the socket.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, args: &T) -> Result<(), EmitError> {
        match &self.local {
            Some(socket) => socket.emit(event, args),
            None => self.operator().emit(event, args),
        }
    }

    /// Makes the socket join `room`.
    pub fn join(&self, room: &str) -> Result<(), EmitError> {
        match &self.local {
            Some(socket) => socket.join(room),
            None => {
                self.operator().sockets_join(room);
                Ok(())
            }
        }
    }

    /// Makes the socket leave `room`.
    pub fn leave(&self, room: &str) -> Result<(), EmitError> {
        match &self.local {
            Some(socket) => socket.leave(room),
            None => {
                self.operator().sockets_leave(room);
                Ok(())
            }
        }
    }

    /// Disconnects the socket; with `close`, closes its connection too.
    pub fn disconnect(&self, close: bool) -> Result<(), EmitError> {
        match (&self.local, close) {
            (Some(socket), false) => socket.disconnect(),
            (Some(socket), true) => socket.disconnect_connection(),
            (None, _) => {
                self.operator().disconnect_sockets(close);
                Ok(())
            }
        }
    }
}
