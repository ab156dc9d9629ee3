//! The RFC 6455 frame codec: incremental decoding of masked client frames
//! (or unmasked server frames, for a client) into whole messages, and frame
//! encoding. Control frames may arrive between the fragments of a message
//! and are returned at once.

use alloc::string::String;
use bytes::{Bytes, BytesMut};
use bytestring::ByteString;

/// Frame opcodes (RFC 6455 section 5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum OpCode {
    /// Continuation of a fragmented message.
    Continuation = 0x0,
    /// First frame of a text message.
    Text = 0x1,
    /// First frame of a binary message.
    Binary = 0x2,
    /// Close.
    Close = 0x8,
    /// Ping.
    Ping = 0x9,
    /// Pong.
    Pong = 0xA,
}

/// Which end of the connection this codec serves: a server reads masked
/// frames and writes unmasked ones, a client the opposite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The server end.
    Server,
    /// The client end.
    Client,
}

/// Bounds on what the peer may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most bytes in one message, summed over its fragments (close 1009 past it).
    pub max_message_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: 1_000_000,
        }
    }
}

/// The body of a close frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseFrame {
    /// Status code (RFC 6455 section 7.4).
    pub code: u16,
    /// UTF-8 reason, at most 123 bytes.
    pub reason: String,
}

/// A whole message, or a control frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A text message, UTF-8 checked.
    Text(ByteString),
    /// A binary message.
    Binary(Bytes),
    /// A ping with its payload (answer with a pong carrying it).
    Ping(Bytes),
    /// A pong.
    Pong(Bytes),
    /// A close, with its code and reason when the frame had a body.
    Close(Option<CloseFrame>),
}

/// A protocol violation by the peer. The connection must be closed with
/// [`WsError::close_code`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WsError {
    /// A client frame without a mask (server role).
    UnmaskedFrame,
    /// A server frame with a mask (client role).
    MaskedFrame,
    /// RSV bits set without a negotiated extension.
    ReservedBits,
    /// An opcode RFC 6455 reserves.
    UnknownOpcode(u8),
    /// A control frame with more than 125 bytes of payload.
    ControlFrameTooLong,
    /// A control frame without FIN.
    FragmentedControlFrame,
    /// A continuation frame with no message to continue.
    UnexpectedContinuation,
    /// A new text or binary frame while a fragmented message is unfinished.
    ExpectedContinuation,
    /// A text message or close reason that is not UTF-8.
    InvalidUtf8,
    /// A message over [`Limits::max_message_bytes`].
    MessageTooLarge,
    /// A close frame with a one-byte body or a code that may not be sent.
    InvalidCloseCode(u16),
    /// A 64-bit length with the high bit set, or a length not in its
    /// shortest form is tolerated; only the former is an error.
    BadLength,
}

impl WsError {
    /// The close code to send: 1002 protocol error, 1007 bad UTF-8, 1009 too big.
    pub fn close_code(&self) -> u16 {
        todo!()
    }
}

/// Incremental frame decoder for one connection.
#[derive(Debug)]
pub struct Decoder {
    role: Role,
    limits: Limits,
    buf: BytesMut,
}

impl Decoder {
    /// A decoder for the given end, enforcing `limits`.
    pub fn new(role: Role, limits: Limits) -> Self {
        Decoder {
            role,
            limits,
            buf: BytesMut::new(),
        }
    }

    /// Append bytes read from the connection.
    pub fn feed(&mut self, data: &[u8]) {
        let _ = data;
        todo!()
    }

    /// The next whole message or control frame; `Ok(None)` when more
    /// bytes are needed. After an error the decoder is not usable further.
    pub fn poll_message(&mut self) -> Result<Option<Message>, WsError> {
        let _ = (&self.role, &self.limits);
        todo!()
    }

    /// Whether the decoder holds no partial frame or message, so dropping its
    /// buffers loses nothing (an idle connection should hold no memory).
    pub fn is_idle(&self) -> bool {
        todo!()
    }
}

/// Appends one frame to `out`. `mask` must be `Some` for a client and
/// `None` for a server.
pub fn encode_frame(
    out: &mut BytesMut,
    fin: bool,
    opcode: OpCode,
    payload: &[u8],
    mask: Option<[u8; 4]>,
) {
    let _ = (out, fin, opcode, payload, mask);
    todo!()
}

/// One unfragmented, unmasked (server) frame holding `payload`.
pub fn server_frame(opcode: OpCode, payload: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(payload.len() + 10);
    encode_frame(&mut out, true, opcode, payload, None);
    out.freeze()
}

/// The body of a close frame: the code in network order, then the reason.
pub fn close_payload(code: u16, reason: &str) -> BytesMut {
    let _ = (code, reason);
    todo!()
}
