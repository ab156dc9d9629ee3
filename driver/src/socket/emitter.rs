//! What a socket's emits hand back: [`SocketEmitter`] (`socket.timeout(d)`,
//! `socket.volatile()`) and [`AckSender`], the answer to a client's ack
//! request. A child of `socket`, on its floor: it reads the socket's state.

use std::time::Duration;

use bytes::Bytes;
use core::future::Future;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{with_compress, Socket};
use crate::ack::{await_ack, AckError};
use crate::error::EmitError;
use sio_core::packet::{encode_args, RawJson};
use sio_core::server::{BroadcastOptions, ServerError};

/// Emits to one socket with options: `socket.timeout(d)`, `socket.volatile()`.
#[derive(Debug, Clone)]
pub struct SocketEmitter {
    pub(super) socket: Socket,
    pub(super) timeout: Option<Duration>,
    pub(super) volatile: bool,
    /// False: never permessage-deflate (Node's `compress(false)`).
    pub(super) compress: bool,
}

impl SocketEmitter {
    /// Sets the acknowledgement deadline.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// With `false`, sends without permessage-deflate, whatever the size
    /// (Node's `compress(false)`).
    pub fn compress(mut self, compress: bool) -> Self {
        self.compress = compress;
        self
    }

    /// Drops the emit when the transport cannot take it now.
    pub fn volatile(mut self) -> Self {
        self.volatile = true;
        self
    }

    /// Sends `event` with `args`.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, args: &T) -> Result<(), EmitError> {
        let (data, attachments) = encode_args(Some(event), args)?;
        if !self.volatile {
            return self
                .socket
                .emit_raw_compressed(data, attachments, self.compress);
        }
        // A volatile emit to one socket is a volatile broadcast to its own room.
        let inner = &self.socket.inner;
        let opts = BroadcastOptions {
            rooms: vec![inner.sid.clone()],
            volatile: true,
            ..BroadcastOptions::default()
        };
        let nsp = inner.nsp.clone();
        let compress = self.compress;
        // The socket lives in its session's shard only.
        inner.shared.process_socket(inner.id, |server, now| {
            with_compress(server, compress, |server| {
                server.broadcast(now, &nsp, &opts, data, attachments)
            })
        });
        Ok(())
    }

    /// Sends `event` and waits for the acknowledgement, decoded as `R`.
    pub fn emit_with_ack<T: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        event: &str,
        args: &T,
    ) -> impl Future<Output = Result<R, AckError>> + Send + 'static {
        let started = self.start_ack(event, args);
        async move { await_ack(started?).await }
    }

    fn start_ack<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<async_channel::Receiver<crate::ack::AckReply>, AckError> {
        let (data, attachments) = encode_args(Some(event), args).map_err(EmitError::from)?;
        self.socket.observe_out(&data, &attachments);
        let inner = &self.socket.inner;
        let (tx, rx) = async_channel::bounded(1);
        // "No deadline" is a deadline that never comes.
        let timeout = self.timeout.unwrap_or(Duration::MAX);
        let shared = inner.shared.clone();
        let id = inner.id;
        inner
            .shared
            .process_socket(id, |server, now| {
                let ack = with_compress(server, self.compress, |server| {
                    server.emit(now, id, data, attachments, Some(timeout))
                })?;
                if let Some(ack) = ack {
                    shared.expect_ack(id, ack, tx);
                }
                Ok::<_, ServerError>(())
            })
            .map_err(EmitError::from)?;
        Ok(rx)
    }
}

/// Answers the client's ack request of one event. Dropping it unanswered
/// sends nothing, as when a Node handler never calls its callback.
#[derive(Debug)]
pub struct AckSender {
    socket: Socket,
    id: Option<u64>,
}

impl AckSender {
    pub(crate) fn new(socket: Socket, id: Option<u64>) -> Self {
        AckSender { socket, id }
    }

    /// Whether the client asked for an acknowledgement.
    pub fn is_requested(&self) -> bool {
        self.id.is_some()
    }

    /// Sends the acknowledgement with `args` (a tuple for several
    /// arguments, `()` for none). Without a request it does nothing.
    pub fn send<T: Serialize + ?Sized>(self, args: &T) -> Result<(), EmitError> {
        let Some(id) = self.id else { return Ok(()) };
        self.socket.send_ack(id, args)
    }

    /// Sends the acknowledgement with `args` (a JSON array, e.g.
    /// [`Payload::args`](crate::Payload::args)) and its attachments, unchanged.
    pub fn send_raw(self, args: RawJson, attachments: Vec<Bytes>) -> Result<(), EmitError> {
        let Some(id) = self.id else { return Ok(()) };
        self.socket.send_ack_raw(id, args, attachments)
    }
}
