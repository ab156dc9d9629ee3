//! Answers to the other nodes: their broadcasts delivered here, their
//! requests answered as the reference adapter (`RedisAdapter#onrequest`)
//! answers them, and [`ServerSideAck`] for their server-side emits.
//!
//! Floor: answer, beside operators (above remote and cluster, below
//! namespace).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use bytestring::ByteString;

use super::ack::AckReply;
use super::cluster::Cluster;
use super::remote::{self, first_arg};
use super::shared::Shared;
use sio_core::adapter::{AdapterPacket, BroadcastMessage, Request, Response, Targets};
use sio_core::packet::PacketType;
use sio_core::server::{BroadcastOptions, SharedEncoding};

impl Cluster {
    /// Answers a request from another node as the reference adapter does.
    pub(super) fn answer(self: &Arc<Self>, shared: &Arc<Shared>, nsp: &str, request: Request) {
        // Who asked: on the sharded wire, the answer goes to its channel.
        let from = request.uid().to_owned();
        let from = from.as_str();
        match request {
            Request::Sockets {
                request_id, rooms, ..
            } => {
                let opts = Targets {
                    rooms,
                    ..Targets::default()
                };
                let sockets = local_sids(shared, nsp, &opts);
                self.respond(
                    nsp,
                    from,
                    &Response::Sockets {
                        request_id,
                        sockets,
                    },
                );
            }
            Request::AllRooms { request_id, .. } => {
                let rooms = local_rooms(shared, nsp);
                self.respond(nsp, from, &Response::AllRooms { request_id, rooms });
            }
            Request::RemoteJoin { opts, rooms, .. } => {
                shared.on_matching(nsp, &options(&opts), |server, _, id| {
                    for room in &rooms {
                        let _ = server.join(id, room);
                    }
                });
            }
            Request::RemoteLeave { opts, rooms, .. } => {
                shared.on_matching(nsp, &options(&opts), |server, _, id| {
                    for room in &rooms {
                        let _ = server.leave(id, room);
                    }
                });
            }
            Request::RemoteDisconnect { opts, close, .. } => {
                shared.on_matching(nsp, &options(&opts), |server, now, id| {
                    let _ = if close {
                        server.disconnect_session(now, id)
                    } else {
                        server.disconnect(now, id)
                    };
                });
            }
            Request::RemoteFetch {
                request_id, opts, ..
            } => {
                let sockets = remote::local_fetched(shared, nsp, &options(&opts));
                self.respond(
                    nsp,
                    from,
                    &Response::RemoteFetch {
                        request_id,
                        sockets,
                    },
                );
            }
            Request::ServerSideEmit {
                request_id, data, ..
            } => self.dispatch_server_side(shared, nsp, from, request_id, data),
            Request::Broadcast {
                request_id,
                packet,
                opts,
                ..
            } => self.answer_broadcast(shared, nsp, from, request_id, packet, opts),
            // Requests this node does not know: the asker times out, as with Node.
            _ => {}
        }
    }

    fn answer_broadcast(
        self: &Arc<Self>,
        shared: &Arc<Shared>,
        nsp: &str,
        from: &str,
        request_id: String,
        packet: AdapterPacket,
        opts: Targets,
    ) {
        let sio = packet.to_packet();
        let Some(data) = sio.data else {
            tracing::warn!(%nsp, "broadcast request without data dropped");
            return;
        };
        let timeout = opts
            .timeout()
            .and_then(|ms| u64::try_from(ms).ok())
            .map_or(self.timeout, Duration::from_millis);
        let broadcast_opts = options(&opts);
        let mut waiting = Vec::new();
        shared.broadcast_all(|server, now| {
            let (data, attachments) = (data.clone(), sio.attachments.clone());
            for (socket, id) in
                server.broadcast_with_ack(now, nsp, &broadcast_opts, data, attachments, timeout)
            {
                let (tx, rx) = async_channel::bounded(1);
                shared.expect_ack(socket, id, tx);
                waiting.push(rx);
            }
        });
        self.respond(
            nsp,
            from,
            &Response::BroadcastClientCount {
                request_id: request_id.clone(),
                client_count: i64::try_from(waiting.len()).unwrap_or(i64::MAX),
            },
        );
        for rx in waiting {
            let cluster = self.clone();
            let (nsp, from) = (nsp.to_owned(), from.to_owned());
            let request_id = request_id.clone();
            shared.spawn(async move {
                if let Ok(AckReply::Data { data, attachments }) = rx.recv().await {
                    let packet = first_arg(&data, &attachments);
                    let ack = Response::BroadcastAck { request_id, packet };
                    cluster.respond(&nsp, &from, &ack);
                }
            });
        }
    }
}

/// Answers a [`server-side emit`](super::SocketIo::server_side_emit_with_ack)
/// from another node: the first argument sent goes back to it. Dropping it
/// unanswered sends nothing (that node then times out, as with Node).
#[derive(Clone)]
pub struct ServerSideAck {
    /// The cluster, the namespace, the asking node and its request id.
    pub(super) reply: Option<(Arc<Cluster>, Arc<str>, String, String)>,
}

impl std::fmt::Debug for ServerSideAck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerSideAck")
            .field("requested", &self.reply.is_some())
            .finish()
    }
}

impl ServerSideAck {
    /// Whether the sending node waits for an answer.
    pub fn is_requested(&self) -> bool {
        self.reply.is_some()
    }

    /// Answers with `arg` (one value: only the first argument crosses, as
    /// in the reference adapter). Without a request it does nothing.
    pub fn send<T: serde::Serialize + ?Sized>(self, arg: &T) -> Result<(), super::EmitError> {
        let Some((cluster, nsp, from, request_id)) = self.reply else {
            return Ok(());
        };
        let (data, attachments) = sio_core::packet::encode_args(None, &(arg,))?;
        let data = first_arg(&data, &attachments);
        cluster.respond(&nsp, &from, &Response::ServerSideEmit { request_id, data });
        Ok(())
    }
}

/// Targets from another node as local broadcast options.
pub(super) fn options(opts: &Targets) -> BroadcastOptions {
    BroadcastOptions {
        rooms: opts
            .rooms
            .iter()
            .map(|r| ByteString::from(r.as_str()))
            .collect(),
        except: opts
            .except
            .iter()
            .map(|r| ByteString::from(r.as_str()))
            .collect(),
        except_sockets: Vec::new(),
        volatile: opts.volatile(),
    }
}

impl Cluster {
    /// Delivers another node's broadcast to this node's sockets.
    pub(super) fn deliver_broadcast(
        &self,
        shared: &Arc<Shared>,
        nsp: &str,
        message: &BroadcastMessage,
        offset: Option<&str>,
    ) {
        if message.packet.kind != PacketType::Event {
            tracing::warn!(%nsp, kind = ?message.packet.kind, "cluster broadcast of a non-event packet dropped");
            return;
        }
        let packet = message.packet.to_packet();
        let Some(data) = packet.data else {
            tracing::warn!(%nsp, "cluster broadcast without data dropped");
            return;
        };
        let opts = options(&message.opts);
        let mut encoding = SharedEncoding::default();
        shared.broadcast_all(|server, now| {
            let (data, attachments) = (data.clone(), packet.attachments.clone());
            match offset {
                Some(offset) => {
                    server.broadcast_at_offset(now, nsp, &opts, data, attachments, offset)
                }
                None => server.broadcast_shared(now, nsp, &opts, data, attachments, &mut encoding),
            }
        });
    }
}

fn local_sids(shared: &Shared, nsp: &str, opts: &Targets) -> Vec<String> {
    let options = options(opts);
    shared
        .read_all(|server| {
            server
                .matching_sockets(nsp, &options)
                .into_iter()
                .filter_map(|id| server.socket_sid(id).map(str::to_owned))
                .collect::<Vec<_>>()
        })
        .into_iter()
        .flatten()
        .collect()
}

/// Every room of `nsp` on this node (socket ids included, as Node's).
fn local_rooms(shared: &Shared, nsp: &str) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut rooms = Vec::new();
    shared.read_all(|server| {
        for id in server.namespace_sockets(nsp) {
            for room in server.rooms(id).into_iter().flatten() {
                if seen.insert(room.to_owned()) {
                    rooms.push(room.to_owned());
                }
            }
        }
    });
    rooms
}
