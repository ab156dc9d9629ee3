//! Acknowledgements: the sender handed to event handlers, and the replies
//! that come back for our own emits.

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::socket::Socket;
use super::EmitError;
use sio_core::packet::{decode_args, ArgsError, RawJson};

/// What came back for an emit that wanted an ack.
#[derive(Debug)]
pub(crate) enum AckReply {
    Data {
        data: RawJson,
        attachments: Vec<Bytes>,
    },
    Timeout,
}

/// Why no acknowledgement arrived (or why it could not be read).
#[derive(Debug)]
#[non_exhaustive]
pub enum AckError {
    /// The deadline set with `timeout()` passed first.
    Timeout,
    /// The socket disconnected first.
    Disconnected,
    /// The ack's arguments do not decode as the requested type.
    Decode(ArgsError),
    /// The emit itself failed.
    Emit(EmitError),
}

impl std::fmt::Display for AckError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AckError::Timeout => f.write_str("operation has timed out"),
            AckError::Disconnected => f.write_str("socket has been disconnected"),
            AckError::Decode(e) => write!(f, "cannot decode the ack: {e}"),
            AckError::Emit(e) => write!(f, "cannot emit: {e}"),
        }
    }
}

impl std::error::Error for AckError {}

impl From<EmitError> for AckError {
    fn from(e: EmitError) -> Self {
        AckError::Emit(e)
    }
}

/// Waits for one ack and decodes it as `T` (a tuple for several arguments).
pub(crate) async fn await_ack<T: DeserializeOwned>(
    rx: async_channel::Receiver<AckReply>,
) -> Result<T, AckError> {
    match rx.recv().await {
        Ok(AckReply::Data { data, attachments }) => {
            decode_args(&data, false, &attachments).map_err(AckError::Decode)
        }
        Ok(AckReply::Timeout) => Err(AckError::Timeout),
        Err(_) => Err(AckError::Disconnected),
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
    /// [`Payload::args`](super::Payload::args)) and its attachments, unchanged.
    pub fn send_raw(self, args: RawJson, attachments: Vec<Bytes>) -> Result<(), EmitError> {
        let Some(id) = self.id else { return Ok(()) };
        self.socket.send_ack_raw(id, args, attachments)
    }
}
