//! The driver's own error for emits and the other socket commands.

use sio_core::packet::ArgsError;
use sio_core::server::ServerError;

/// Why an emit (or join, leave, disconnect) could not be done.
#[derive(Debug)]
#[non_exhaustive]
pub enum EmitError {
    /// The arguments do not serialize.
    Args(ArgsError),
    /// The socket has disconnected.
    Disconnected,
    /// The socket already waits for as many acks as the server allows.
    TooManyPendingAcks,
    /// A namespace name must start with `/`.
    InvalidNamespace,
    /// The client already buffers as many emits as its config allows.
    BufferFull,
}

impl std::fmt::Display for EmitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EmitError::Args(e) => write!(f, "arguments do not serialize: {e}"),
            EmitError::Disconnected => f.write_str("socket has been disconnected"),
            EmitError::TooManyPendingAcks => f.write_str("too many pending acks"),
            EmitError::InvalidNamespace => f.write_str("namespace names start with '/'"),
            EmitError::BufferFull => f.write_str("too many buffered emits"),
        }
    }
}

impl std::error::Error for EmitError {}

impl From<ArgsError> for EmitError {
    fn from(e: ArgsError) -> Self {
        EmitError::Args(e)
    }
}

impl From<ServerError> for EmitError {
    fn from(e: ServerError) -> Self {
        match e {
            ServerError::TooManyPendingAcks => EmitError::TooManyPendingAcks,
            ServerError::InvalidNamespace => EmitError::InvalidNamespace,
            _ => EmitError::Disconnected,
        }
    }
}
