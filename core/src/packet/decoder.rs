//! Incremental decoding: a binary packet's text arrives first, then one
//! binary message per attachment; the packet is returned once it is whole.

use bytes::Bytes;
use bytestring::ByteString;

use super::{Packet, PacketError};

/// Bounds on attachments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most attachments one packet may announce.
    pub max_attachments: usize,
    /// Most bytes all attachments of one packet may hold together.
    pub max_attachment_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_attachments: 10,
            max_attachment_bytes: 1_000_000,
        }
    }
}

/// Decoder for one Engine.IO connection.
#[derive(Debug)]
pub struct Decoder {
    limits: Limits,
    pending: Option<Packet>,
}

impl Decoder {
    /// A decoder enforcing `limits`.
    pub fn new(limits: Limits) -> Self {
        Decoder {
            limits,
            pending: None,
        }
    }

    /// Decodes a text message. `Ok(None)`: a binary packet now waits for
    /// its attachments.
    pub fn decode_text(&mut self, text: ByteString) -> Result<Option<Packet>, PacketError> {
        let _ = (text, &self.limits);
        todo!()
    }

    /// Takes one attachment; returns the packet when it was the last.
    pub fn decode_binary(&mut self, data: Bytes) -> Result<Option<Packet>, PacketError> {
        let _ = data;
        todo!()
    }

    /// Whether a binary packet is waiting for attachments.
    pub fn is_reconstructing(&self) -> bool {
        self.pending.is_some()
    }
}
