//! Acknowledgements of our own emits: the replies that come back, and the
//! errors of waiting for them. (The sender handed to event handlers is
//! the socket's: `AckSender` in `socket`.)

use bytes::Bytes;
use serde::de::DeserializeOwned;

use super::error::EmitError;
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
