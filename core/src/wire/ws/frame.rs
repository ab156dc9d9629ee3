//! The RFC 6455 frame codec: incremental decoding of masked client frames
//! (or unmasked server frames, for a client) into whole messages, and frame
//! encoding. Control frames may arrive between the fragments of a message
//! and are returned at once.

use alloc::boxed::Box;
use alloc::string::String;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use bytestring::ByteString;

use super::deflate::{InflateError, Inflater, RSV1};

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

impl OpCode {
    /// The opcode of the low nibble of a frame's first byte, or the
    /// reserved value itself as the error.
    fn from_bits(bits: u8) -> Result<Self, u8> {
        match bits {
            0x0 => Ok(OpCode::Continuation),
            0x1 => Ok(OpCode::Text),
            0x2 => Ok(OpCode::Binary),
            0x8 => Ok(OpCode::Close),
            0x9 => Ok(OpCode::Ping),
            0xA => Ok(OpCode::Pong),
            other => Err(other),
        }
    }

    /// Close, ping and pong: short, never fragmented, allowed mid-message.
    pub(crate) fn is_control(self) -> bool {
        (self as u8) & 0x8 != 0
    }
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
    /// RSV bits set without a negotiated extension (or RSV1 anywhere but
    /// on the first frame of a message, with permessage-deflate).
    ReservedBits,
    /// A compressed message that is not valid DEFLATE data.
    BadCompression,
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
    /// A close frame with a one-byte body (reported as code 0) or a code
    /// that may not be sent.
    InvalidCloseCode(u16),
    /// A 64-bit length with the high bit set, or a length not in its
    /// shortest form is tolerated; only the former is an error.
    BadLength,
}

impl WsError {
    /// The close code to send: 1002 protocol error, 1007 bad UTF-8, 1009 too big.
    pub fn close_code(&self) -> u16 {
        match self {
            WsError::InvalidUtf8 | WsError::BadCompression => 1007,
            WsError::MessageTooLarge => 1009,
            _ => 1002,
        }
    }
}

/// Largest payload of a close, ping or pong frame.
const MAX_CONTROL_PAYLOAD: u64 = 125;

/// What a frame header says, once all of it has arrived.
#[derive(Debug, Clone, Copy)]
struct FrameHeader {
    fin: bool,
    opcode: OpCode,
    /// RSV1 on a message's first frame: permessage-deflate data.
    compressed: bool,
    mask: Option<[u8; 4]>,
    /// Bytes of header, extended length and mask key.
    header_len: usize,
    /// Header and payload.
    frame_len: usize,
}

/// A text or binary message whose final fragment has not arrived yet.
#[derive(Debug)]
struct PartialMessage {
    /// `Some` (with the UTF-8 state across fragments) for a text message.
    utf8: Option<Utf8Validator>,
    /// Whether its fragments are DEFLATE data, inflated as they come (so
    /// only each frame, and what it inflates to, is bounded: no compressed
    /// fragment is kept).
    compressed: bool,
    data: BytesMut,
}

/// Incremental frame decoder for one connection.
#[derive(Debug)]
pub struct Decoder {
    role: Role,
    limits: Limits,
    buf: BytesMut,
    /// Boxed: only a fragmented or compressed message has one, and every
    /// WebSocket of a server carries the field.
    partial: Option<Box<PartialMessage>>,
    /// The error that ended the stream; repeated by every later poll.
    failed: Option<WsError>,
    /// With permessage-deflate negotiated: inflates compressed messages
    /// (boxed: most decoders have none).
    inflater: Option<Box<Inflater>>,
}

impl Decoder {
    /// A decoder for the given end, enforcing `limits`.
    pub fn new(role: Role, limits: Limits) -> Self {
        Decoder {
            role,
            limits,
            buf: BytesMut::new(),
            partial: None,
            failed: None,
            inflater: None,
        }
    }

    /// A decoder that also reads permessage-deflate messages (RSV1), which
    /// `inflater` inflates, within the same `limits` once inflated.
    pub fn with_inflater(role: Role, limits: Limits, inflater: Inflater) -> Self {
        let mut decoder = Decoder::new(role, limits);
        decoder.set_inflater(inflater);
        decoder
    }

    /// From now on, reads permessage-deflate messages with `inflater`
    /// (a client learns it was agreed once the `101` is read).
    pub fn set_inflater(&mut self, inflater: Inflater) {
        self.inflater = Some(Box::new(inflater));
    }

    /// Append bytes read from the connection. Call [`Decoder::poll_message`]
    /// until it returns `Ok(None)` after every feed: the limits are checked
    /// there, as soon as a frame header is complete, before its payload is
    /// waited for.
    pub fn feed(&mut self, data: &[u8]) {
        // After an error nothing more will be read; do not hold the bytes.
        if self.failed.is_none() {
            self.buf.extend_from_slice(data);
        }
    }

    /// The next whole message or control frame; `Ok(None)` when more
    /// bytes are needed. After an error the decoder is not usable further
    /// (every later call returns the same error).
    pub fn poll_message(&mut self) -> Result<Option<Message>, WsError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        let result = self.decode_next();
        if let Err(err) = &result {
            self.failed = Some(err.clone());
            self.buf = BytesMut::new();
            self.partial = None;
        }
        result
    }

    /// Whether the decoder holds no partial frame or message, so dropping its
    /// buffers loses nothing (an idle connection should hold no memory).
    pub fn is_idle(&self) -> bool {
        self.buf.is_empty() && self.partial.is_none()
    }

    /// Decodes frames until one completes a message or a control frame,
    /// or the buffer runs out.
    fn decode_next(&mut self) -> Result<Option<Message>, WsError> {
        loop {
            let Some(header) = self.parse_header()? else {
                return Ok(None);
            };
            if self.buf.len() < header.frame_len {
                // No reserving ahead for the announced length: memory grows
                // only with bytes that actually arrive.
                return Ok(None);
            }
            let payload = self.take_payload(&header);
            if let Some(message) = self.handle_frame(&header, payload)? {
                return Ok(Some(message));
            }
        }
    }

    /// Splits the frame off the buffer and unmasks its payload in place.
    fn take_payload(&mut self, header: &FrameHeader) -> BytesMut {
        let mut frame = self.buf.split_to(header.frame_len);
        frame.advance(header.header_len);
        if let Some(key) = header.mask {
            apply_mask(&mut frame, key);
        }
        if self.buf.is_empty() {
            // Drop this connection's share of the read allocation: an idle
            // decoder holds no memory.
            self.buf = BytesMut::new();
        }
        frame
    }

    /// The header at the front of the buffer once all of it is there.
    /// Every check the header allows is done as soon as its bytes are in,
    /// so an oversized or invalid frame fails before its payload is read.
    fn parse_header(&self) -> Result<Option<FrameHeader>, WsError> {
        let [first, second, ..] = self.buf[..] else {
            return Ok(None);
        };
        let fin = first & 0x80 != 0;
        let opcode = OpCode::from_bits(first & 0x0F).map_err(WsError::UnknownOpcode)?;
        let compressed = first & RSV1 != 0;
        let starts_message = matches!(opcode, OpCode::Text | OpCode::Binary);
        if first & 0x30 != 0 || (compressed && !(starts_message && self.inflater.is_some())) {
            return Err(WsError::ReservedBits);
        }
        let masked = second & 0x80 != 0;
        match (self.role, masked) {
            (Role::Server, false) => return Err(WsError::UnmaskedFrame),
            (Role::Client, true) => return Err(WsError::MaskedFrame),
            _ => {}
        }
        self.check_sequence(fin, opcode)?;
        let Some((payload_len, len_bytes)) = read_length(second & 0x7F, &self.buf[2..])? else {
            return Ok(None);
        };
        let payload_len = self.check_payload_len(opcode, payload_len)?;
        let key_start = 2 + len_bytes;
        let (mask, header_len) = if masked {
            let Some(key) = self.buf.get(key_start..key_start + 4) else {
                return Ok(None);
            };
            (Some([key[0], key[1], key[2], key[3]]), key_start + 4)
        } else {
            (None, key_start)
        };
        Ok(Some(FrameHeader {
            fin,
            opcode,
            compressed,
            mask,
            header_len,
            // Overflows only with a limit near usize::MAX.
            frame_len: header_len
                .checked_add(payload_len)
                .ok_or(WsError::MessageTooLarge)?,
        }))
    }

    /// The rules on fragmentation: control frames whole, continuations only
    /// inside a message, new messages only outside one.
    fn check_sequence(&self, fin: bool, opcode: OpCode) -> Result<(), WsError> {
        match opcode {
            op if op.is_control() && !fin => Err(WsError::FragmentedControlFrame),
            OpCode::Continuation if self.partial.is_none() => Err(WsError::UnexpectedContinuation),
            OpCode::Text | OpCode::Binary if self.partial.is_some() => {
                Err(WsError::ExpectedContinuation)
            }
            _ => Ok(()),
        }
    }

    /// The payload length, if this frame may carry that many bytes.
    fn check_payload_len(&self, opcode: OpCode, payload_len: u64) -> Result<usize, WsError> {
        if opcode.is_control() {
            if payload_len > MAX_CONTROL_PAYLOAD {
                return Err(WsError::ControlFrameTooLong);
            }
            // At most 125: fits any usize.
            return usize::try_from(payload_len).map_err(|_| WsError::ControlFrameTooLong);
        }
        let already = self
            .partial
            .as_ref()
            .filter(|p| !p.compressed)
            .map_or(0, |p| p.data.len());
        let payload_len = usize::try_from(payload_len).map_err(|_| WsError::MessageTooLarge)?;
        match already.checked_add(payload_len) {
            Some(total) if total <= self.limits.max_message_bytes => Ok(payload_len),
            _ => Err(WsError::MessageTooLarge),
        }
    }

    /// Turns a complete frame into a message, or folds it into the
    /// message being assembled (`Ok(None)`).
    fn handle_frame(
        &mut self,
        header: &FrameHeader,
        payload: BytesMut,
    ) -> Result<Option<Message>, WsError> {
        match header.opcode {
            OpCode::Ping => Ok(Some(Message::Ping(payload.freeze()))),
            OpCode::Pong => Ok(Some(Message::Pong(payload.freeze()))),
            OpCode::Close => parse_close(&payload).map(|close| Some(Message::Close(close))),
            OpCode::Text if header.fin && !header.compressed => {
                text_message(payload.freeze()).map(Some)
            }
            OpCode::Binary if header.fin && !header.compressed => {
                Ok(Some(Message::Binary(payload.freeze())))
            }
            OpCode::Text | OpCode::Binary => {
                self.start_message(header.opcode, header.compressed, &payload)?;
                if header.fin {
                    return self.finish_message();
                }
                Ok(None)
            }
            OpCode::Continuation => self.continue_message(header.fin, &payload),
        }
    }

    /// The first fragment of a message.
    fn start_message(
        &mut self,
        opcode: OpCode,
        compressed: bool,
        payload: &[u8],
    ) -> Result<(), WsError> {
        let mut partial = PartialMessage {
            utf8: (opcode == OpCode::Text).then(Utf8Validator::default),
            compressed,
            data: BytesMut::new(),
        };
        let max = self.limits.max_message_bytes;
        partial.append(payload, self.inflater.as_deref_mut(), max)?;
        self.partial = Some(Box::new(partial));
        Ok(())
    }

    /// The message being assembled, now that its last fragment is in.
    fn finish_message(&mut self) -> Result<Option<Message>, WsError> {
        let Some(mut partial) = self.partial.take() else {
            return Err(WsError::UnexpectedContinuation);
        };
        if partial.compressed {
            let inflater = self.inflater.as_deref_mut().ok_or(WsError::ReservedBits)?;
            let before = partial.data.len();
            inflater
                .finish(&mut partial.data, self.limits.max_message_bytes)
                .map_err(inflate_error)?;
            if let Some(utf8) = &mut partial.utf8 {
                utf8.feed(&partial.data[before..])?;
            }
        }
        (*partial).finish().map(Some)
    }

    /// A continuation fragment; the message when it is the last.
    fn continue_message(&mut self, fin: bool, payload: &[u8]) -> Result<Option<Message>, WsError> {
        let partial = self
            .partial
            .as_mut()
            .ok_or(WsError::UnexpectedContinuation)?;
        partial.append(
            payload,
            self.inflater.as_deref_mut(),
            self.limits.max_message_bytes,
        )?;
        if !fin {
            return Ok(None);
        }
        self.finish_message()
    }
}

impl PartialMessage {
    /// Adds a fragment (inflated first if the message is compressed),
    /// checking text as it comes.
    fn append(
        &mut self,
        fragment: &[u8],
        inflater: Option<&mut Inflater>,
        max: usize,
    ) -> Result<(), WsError> {
        if !self.compressed {
            if let Some(utf8) = &mut self.utf8 {
                utf8.feed(fragment)?;
            }
            self.data.extend_from_slice(fragment);
            return Ok(());
        }
        let inflater = inflater.ok_or(WsError::ReservedBits)?;
        let before = self.data.len();
        inflater
            .feed(fragment, &mut self.data, max)
            .map_err(inflate_error)?;
        if let Some(utf8) = &mut self.utf8 {
            utf8.feed(&self.data[before..])?;
        }
        Ok(())
    }

    /// The whole message after its final fragment.
    fn finish(self) -> Result<Message, WsError> {
        match self.utf8 {
            Some(utf8) if !utf8.is_complete() => Err(WsError::InvalidUtf8),
            Some(_) => text_message(self.data.freeze()),
            None => Ok(Message::Binary(self.data.freeze())),
        }
    }
}

/// The close reason for a message that could not be inflated.
fn inflate_error(error: InflateError) -> WsError {
    match error {
        InflateError::Corrupt => WsError::BadCompression,
        InflateError::TooLarge => WsError::MessageTooLarge,
    }
}

/// A text message from bytes not yet known to be UTF-8.
fn text_message(payload: Bytes) -> Result<Message, WsError> {
    ByteString::try_from(payload)
        .map(Message::Text)
        .map_err(|_| WsError::InvalidUtf8)
}

/// The payload length and how many extended-length bytes carried it, from
/// the 7-bit length field and the bytes after the first two; `None` when
/// the extended length has not fully arrived.
fn read_length(len7: u8, rest: &[u8]) -> Result<Option<(u64, usize)>, WsError> {
    match len7 {
        126 => Ok(rest
            .get(..2)
            .map(|b| (u64::from(u16::from_be_bytes([b[0], b[1]])), 2))),
        127 => {
            let Some(b) = rest.get(..8) else {
                return Ok(None);
            };
            let len = u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
            if len >> 63 != 0 {
                return Err(WsError::BadLength);
            }
            Ok(Some((len, 8)))
        }
        short => Ok(Some((u64::from(short), 0))),
    }
}

/// The body of a close frame: nothing, or a code that may be sent and a
/// UTF-8 reason.
fn parse_close(payload: &[u8]) -> Result<Option<CloseFrame>, WsError> {
    let (code, reason) = match payload {
        [] => return Ok(None),
        [_] => return Err(WsError::InvalidCloseCode(0)),
        [hi, lo, reason @ ..] => (u16::from_be_bytes([*hi, *lo]), reason),
    };
    if !is_sendable_close_code(code) {
        return Err(WsError::InvalidCloseCode(code));
    }
    let reason = core::str::from_utf8(reason).map_err(|_| WsError::InvalidUtf8)?;
    Ok(Some(CloseFrame {
        code,
        reason: String::from(reason),
    }))
}

/// Codes an endpoint may put in a close frame (RFC 6455 section 7.4 and
/// the IANA registry): 1004-1006 and 1015 are reserved or only reported
/// locally, 1016-2999 unassigned, 3000-4999 for libraries and applications.
fn is_sendable_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// UTF-8 checking across fragment boundaries: a character may start in
/// one fragment and end in the next.
#[derive(Debug, Default, Clone, Copy)]
struct Utf8Validator {
    /// The start of a character cut off by the end of the last fragment.
    pending: [u8; 4],
    pending_len: usize,
}

impl Utf8Validator {
    /// Checks the next fragment; fails at the first invalid sequence.
    fn feed(&mut self, mut input: &[u8]) -> Result<(), WsError> {
        if self.pending_len > 0 {
            input = self.complete_pending(input)?;
            if self.pending_len > 0 {
                // The whole fragment went into the still unfinished character.
                return Ok(());
            }
        }
        match core::str::from_utf8(input) {
            Ok(_) => Ok(()),
            Err(err) if err.error_len().is_some() => Err(WsError::InvalidUtf8),
            // The fragment ends inside a character that may still be valid.
            Err(err) => self.keep_pending(input.get(err.valid_up_to()..).unwrap_or_default()),
        }
    }

    /// Whether the text so far ends on a character boundary.
    fn is_complete(&self) -> bool {
        self.pending_len == 0
    }

    /// Finishes the cut-off character with the start of `input`; the rest
    /// of `input`.
    fn complete_pending<'a>(&mut self, input: &'a [u8]) -> Result<&'a [u8], WsError> {
        let width = utf8_width(self.pending[0]);
        let wanted = width.saturating_sub(self.pending_len);
        let taken = wanted.min(input.len());
        let (head, rest) = input.split_at(taken);
        let mut char_bytes = self.pending;
        char_bytes[self.pending_len..self.pending_len + taken].copy_from_slice(head);
        let candidate = &char_bytes[..self.pending_len + taken];
        match core::str::from_utf8(candidate) {
            Ok(_) => {
                self.pending_len = 0;
                Ok(rest)
            }
            // Still a valid prefix: wait for the next fragment.
            Err(err) if err.error_len().is_none() && taken < wanted => {
                self.keep_pending(candidate)?;
                Ok(rest)
            }
            Err(_) => Err(WsError::InvalidUtf8),
        }
    }

    /// Remembers the start of a character (a valid prefix, 1-3 bytes).
    fn keep_pending(&mut self, prefix: &[u8]) -> Result<(), WsError> {
        let slot = self
            .pending
            .get_mut(..prefix.len())
            .ok_or(WsError::InvalidUtf8)?;
        slot.copy_from_slice(prefix);
        self.pending_len = prefix.len();
        Ok(())
    }
}

/// How many bytes the character led by `lead` takes (for a valid lead byte).
fn utf8_width(lead: u8) -> usize {
    match lead {
        0x00..=0x7F => 1,
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

/// XORs `data` with the 4-byte masking `key` (RFC 6455 section 5.3),
/// starting at key byte 0. Eight bytes per step.
pub fn apply_mask(data: &mut [u8], key: [u8; 4]) {
    let key_word = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
    let mut chunks = data.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        chunk.copy_from_slice(&(u64::from_ne_bytes(word) ^ key_word).to_ne_bytes());
    }
    // The tail starts at a multiple of 8, so at key byte 0 again.
    for (byte, key_byte) in chunks.into_remainder().iter_mut().zip(key.iter().cycle()) {
        *byte ^= key_byte;
    }
}

/// The longest header of an unmasked (server) frame: two bytes and a
/// 64-bit length.
pub const MAX_SERVER_HEADER_LEN: usize = 10;

/// Appends the header of one frame carrying `payload_len` bytes (RFC 6455
/// section 5.2, the length in its shortest form), with the masking key if
/// `mask` is `Some`. The payload (masked with that key) must follow; an
/// unmasked payload can be written straight after the header, so a server
/// frame is built in one buffer without copying its payload twice.
pub fn put_frame_header(
    out: &mut BytesMut,
    fin: bool,
    opcode: OpCode,
    payload_len: usize,
    mask: Option<[u8; 4]>,
) {
    let fin_bit = if fin { 0x80 } else { 0 };
    out.put_u8(fin_bit | opcode as u8);
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    // Shortest form, as RFC 6455 section 5.2 requires.
    match payload_len {
        len @ 0..=125 => out.put_u8(mask_bit | len as u8),
        len @ 126..=0xFFFF => {
            out.put_u8(mask_bit | 126);
            out.put_u16(len as u16);
        }
        len => {
            out.put_u8(mask_bit | 127);
            out.put_u64(len as u64);
        }
    }
    if let Some(key) = mask {
        out.put_slice(&key);
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
    out.reserve(payload.len() + 14);
    put_frame_header(out, fin, opcode, payload.len(), mask);
    let payload_start = out.len();
    out.put_slice(payload);
    if let Some(key) = mask {
        apply_mask(&mut out[payload_start..], key);
    }
}

/// One unfragmented, unmasked (server) frame holding `payload`.
pub fn server_frame(opcode: OpCode, payload: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(payload.len() + MAX_SERVER_HEADER_LEN);
    encode_frame(&mut out, true, opcode, payload, None);
    out.freeze()
}

/// The body of a close frame: the code in network order, then the reason.
pub fn close_payload(code: u16, reason: &str) -> BytesMut {
    let mut out = BytesMut::with_capacity(2 + reason.len());
    out.put_u16(code);
    out.put_slice(reason.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn masked_frame(fin: bool, opcode: OpCode, payload: &[u8]) -> BytesMut {
        let mut out = BytesMut::new();
        encode_frame(
            &mut out,
            fin,
            opcode,
            payload,
            Some([0x37, 0xFA, 0x21, 0x3D]),
        );
        out
    }

    #[test]
    fn header_then_payload_is_the_encoded_frame() {
        for len in [0, 1, 125, 126, 127, 0xFFFF, 0x1_0000] {
            let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let mut encoded = BytesMut::new();
            encode_frame(&mut encoded, true, OpCode::Binary, &payload, None);
            let mut built = BytesMut::new();
            put_frame_header(&mut built, true, OpCode::Binary, len, None);
            assert!(built.len() <= MAX_SERVER_HEADER_LEN);
            built.extend_from_slice(&payload);
            assert_eq!(built, encoded, "length {len}");
        }
    }

    #[test]
    fn mask_matches_bytewise_xor_for_every_length() {
        let key = [0x01, 0x80, 0xFE, 0x5A];
        for len in 0..40 {
            let original: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            let mut fast = original.clone();
            apply_mask(&mut fast, key);
            let slow: Vec<u8> = original
                .iter()
                .enumerate()
                .map(|(i, b)| b ^ key[i % 4])
                .collect();
            assert_eq!(fast, slow, "length {len}");
        }
    }

    #[test]
    fn idle_decoder_releases_its_buffer() {
        let mut decoder = Decoder::new(Role::Server, Limits::default());
        let frame = masked_frame(true, OpCode::Binary, &[7; 3000]);
        decoder.feed(&frame[..100]);
        assert_eq!(decoder.poll_message(), Ok(None));
        assert!(!decoder.is_idle());
        assert!(decoder.buf.capacity() > 0);
        decoder.feed(&frame[100..]);
        assert_eq!(
            decoder.poll_message(),
            Ok(Some(Message::Binary(Bytes::from(alloc::vec![7; 3000]))))
        );
        assert!(decoder.is_idle());
        assert_eq!(decoder.buf.capacity(), 0);
    }

    #[test]
    fn unfragmented_payload_is_not_copied() {
        let mut decoder = Decoder::new(Role::Server, Limits::default());
        let mut frame = masked_frame(true, OpCode::Binary, &[1; 64]);
        frame.extend_from_slice(&masked_frame(true, OpCode::Ping, b"p"));
        decoder.feed(&frame);
        let buffer_start = decoder.buf.as_ptr() as usize;
        let Ok(Some(Message::Binary(payload))) = decoder.poll_message() else {
            panic!("expected a binary message");
        };
        // The payload sits right after the 2-byte header and 4-byte key.
        assert_eq!(payload.as_ptr() as usize, buffer_start + 6);
    }

    #[test]
    fn fragment_buffer_released_after_message() {
        let mut decoder = Decoder::new(Role::Server, Limits::default());
        decoder.feed(&masked_frame(false, OpCode::Text, b"ab"));
        assert_eq!(decoder.poll_message(), Ok(None));
        assert!(!decoder.is_idle());
        assert_eq!(decoder.buf.capacity(), 0);
        decoder.feed(&masked_frame(true, OpCode::Continuation, b"c"));
        assert_eq!(
            decoder.poll_message(),
            Ok(Some(Message::Text("abc".into())))
        );
        assert!(decoder.is_idle());
        assert!(decoder.partial.is_none());
    }

    #[test]
    fn oversized_header_fails_before_payload_arrives() {
        let mut decoder = Decoder::new(
            Role::Client,
            Limits {
                max_message_bytes: 10,
            },
        );
        decoder.feed(&[0x82, 126, 0x00]);
        assert_eq!(decoder.poll_message(), Ok(None));
        decoder.feed(&[11]);
        assert_eq!(decoder.poll_message(), Err(WsError::MessageTooLarge));
        // Later bytes are dropped, the error repeats.
        decoder.feed(&[0; 100]);
        assert_eq!(decoder.buf.capacity(), 0);
        assert_eq!(decoder.poll_message(), Err(WsError::MessageTooLarge));
    }

    #[test]
    fn huge_length_with_unbounded_limit_just_waits() {
        let mut decoder = Decoder::new(
            Role::Client,
            Limits {
                max_message_bytes: usize::MAX,
            },
        );
        decoder.feed(&[
            0x82, 127, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2,
        ]);
        assert_eq!(decoder.poll_message(), Ok(None));
        assert_eq!(decoder.buf.len(), 12);
    }

    #[test]
    fn utf8_validator_across_every_cut() {
        let text = "a\u{e9}\u{20ac}\u{1F600}z".as_bytes();
        for cut_a in 0..=text.len() {
            for cut_b in cut_a..=text.len() {
                let mut validator = Utf8Validator::default();
                for part in [&text[..cut_a], &text[cut_a..cut_b], &text[cut_b..]] {
                    assert_eq!(validator.feed(part), Ok(()), "cuts {cut_a} {cut_b}");
                }
                assert!(validator.is_complete());
            }
        }
    }

    #[test]
    fn utf8_validator_fails_at_the_first_bad_byte() {
        // A surrogate (ED A0 80) split after its first byte fails on the second.
        let mut validator = Utf8Validator::default();
        assert_eq!(validator.feed(b"ok\xED"), Ok(()));
        assert_eq!(validator.feed(b"\xA0"), Err(WsError::InvalidUtf8));
        // A 4-byte character fed one byte at a time, then cut short.
        let mut validator = Utf8Validator::default();
        for byte in [0xF0, 0x9F, 0x98] {
            assert_eq!(validator.feed(&[byte]), Ok(()));
            assert!(!validator.is_complete());
        }
        assert_eq!(validator.feed(b"\x80"), Ok(()));
        assert!(validator.is_complete());
        // Over the top of Unicode.
        let mut validator = Utf8Validator::default();
        assert_eq!(validator.feed(b"\xF4"), Ok(()));
        assert_eq!(validator.feed(b"\x90"), Err(WsError::InvalidUtf8));
        // A completed character followed by garbage in the same fragment.
        let mut validator = Utf8Validator::default();
        assert_eq!(validator.feed(b"\xC3"), Ok(()));
        assert_eq!(validator.feed(b"\xA9\xFF"), Err(WsError::InvalidUtf8));
    }

    #[test]
    fn close_codes() {
        for code in [1000, 1001, 1002, 1003, 1007, 1010, 1011, 1014, 3000, 4999] {
            assert!(is_sendable_close_code(code), "{code}");
        }
        for code in [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, u16::MAX] {
            assert!(!is_sendable_close_code(code), "{code}");
        }
    }

    #[test]
    fn close_code_of_errors() {
        assert_eq!(WsError::InvalidUtf8.close_code(), 1007);
        assert_eq!(WsError::MessageTooLarge.close_code(), 1009);
        assert_eq!(WsError::UnmaskedFrame.close_code(), 1002);
        assert_eq!(WsError::InvalidCloseCode(5).close_code(), 1002);
        assert_eq!(WsError::BadLength.close_code(), 1002);
    }
}
