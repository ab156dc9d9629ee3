//! The permessage-deflate codec (RFC 7692 section 7): raw DEFLATE per
//! message, the `00 00 FF FF` tail of a sync flush stripped by the sender
//! and put back by the receiver, the LZ77 window kept across messages
//! unless the negotiation said "no context takeover".
//!
//! Why here, in the sans-IO core, and not as a transform in the driver: the
//! frame decoder must know the RSV1 bit of a message's first frame before
//! it checks UTF-8 or sizes, and the handshake that negotiates the
//! parameters is answered here; a driver-side transform would parse every
//! frame twice. `miniz_oxide` is pure Rust, `no_std` + `alloc` and forbids
//! `unsafe`, so the core keeps its embedded build.
//!
//! Inflating is hostile input: the output is produced in bounded chunks and
//! the message fails with [`InflateError::TooLarge`] as soon as it passes
//! the caller's bound (a deflate bomb costs at most that bound plus one
//! chunk), never after.

use alloc::boxed::Box;
use bytes::{Bytes, BytesMut};
use miniz_oxide::deflate::core::{create_comp_flags_from_zip_params, CompressorOxide};
use miniz_oxide::inflate::stream::InflateState;
use miniz_oxide::{DataFormat, MZError, MZFlush, MZStatus};

use super::frame::{encode_frame, OpCode};

/// The bit of a message's first frame that says it is compressed.
pub const RSV1: u8 = 0x40;

/// What a sync flush ends with; stripped from every compressed message.
pub const TAIL: [u8; 4] = [0x00, 0x00, 0xFF, 0xFF];

/// Bytes of output produced per inflate step: the most a message may pass
/// its bound by before it is refused.
const INFLATE_CHUNK: usize = 16 * 1024;

/// Why a compressed message could not be inflated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InflateError {
    /// Not valid DEFLATE data (close 1007, as `ws` does).
    Corrupt,
    /// The inflated message would pass the bound (close 1009).
    TooLarge,
}

/// Compresses the messages one end sends.
pub struct Deflater {
    compressor: Box<CompressorOxide>,
    /// Start every message with an empty window (the peer asked for
    /// `*_no_context_takeover` of this end).
    no_context_takeover: bool,
}

impl core::fmt::Debug for Deflater {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Deflater")
            .field("no_context_takeover", &self.no_context_takeover)
            .finish()
    }
}

impl Deflater {
    /// A compressor at zlib `level` (0-9; 6 is zlib's default and Node's)
    /// with a 32 KiB window (15 window bits, the only size it writes).
    pub fn new(level: u8, no_context_takeover: bool) -> Self {
        // Negative window bits: raw DEFLATE, no zlib header.
        let flags = create_comp_flags_from_zip_params(i32::from(level.min(9)), -15, 0);
        Deflater {
            compressor: Box::new(CompressorOxide::new(flags)),
            no_context_takeover,
        }
    }

    /// Appends the compressed form of the whole message `input` to `out`,
    /// without the sync-flush tail (RFC 7692 section 7.2.1).
    pub fn compress(&mut self, input: &[u8], out: &mut BytesMut) {
        let start = out.len();
        let mut rest = input;
        loop {
            // Compressed data is rarely larger than its input plus a little.
            let room = rest.len().clamp(64, 64 * 1024);
            let filled = out.len();
            out.resize(filled + room, 0);
            let result = miniz_oxide::deflate::stream::deflate(
                &mut self.compressor,
                rest,
                &mut out[filled..],
                MZFlush::Sync,
            );
            out.truncate(filled + result.bytes_written);
            rest = rest.get(result.bytes_consumed..).unwrap_or_default();
            let out_full = result.bytes_written == room;
            // Done when the input is in and the flush did not run out of room;
            // an error (not expected with these parameters) ends it too.
            if result.status.is_err() || (rest.is_empty() && !out_full) {
                break;
            }
        }
        if out[start..].ends_with(&TAIL) {
            out.truncate(out.len() - TAIL.len());
        }
        if self.no_context_takeover {
            self.compressor.reset();
        }
    }
}

/// The sending half of permessage-deflate on one connection: which
/// messages to compress, and the frames that carry them.
#[derive(Debug)]
pub struct PerMessageDeflate {
    deflater: Deflater,
    /// Messages shorter than this go out uncompressed (RFC 7692 allows
    /// either, message by message).
    threshold: usize,
}

impl PerMessageDeflate {
    /// Compresses messages of at least `threshold` bytes at `level`.
    pub fn new(threshold: usize, level: u8, no_context_takeover: bool) -> Self {
        PerMessageDeflate {
            deflater: Deflater::new(level, no_context_takeover),
            threshold,
        }
    }

    /// Appends one frame carrying the text or binary message `payload`,
    /// compressed (RSV1 set) if it reaches the threshold.
    pub fn encode(
        &mut self,
        out: &mut BytesMut,
        opcode: OpCode,
        payload: &[u8],
        mask: Option<[u8; 4]>,
    ) {
        if payload.len() < self.threshold || opcode.is_control() {
            encode_frame(out, true, opcode, payload, mask);
            return;
        }
        let mut compressed = BytesMut::with_capacity(payload.len() / 2 + 64);
        self.deflater.compress(payload, &mut compressed);
        let start = out.len();
        encode_frame(out, true, opcode, &compressed, mask);
        out[start] |= RSV1;
    }

    /// A ready-made unmasked frame (as the server's queues hold them),
    /// compressed if it is a whole text or binary message that reaches
    /// the threshold; any other frame is returned as it is.
    pub fn server_frame(&mut self, frame: Bytes) -> Bytes {
        let Some((opcode, payload_at)) = whole_data_frame(&frame) else {
            return frame;
        };
        let payload = &frame[payload_at..];
        if payload.len() < self.threshold {
            return frame;
        }
        let mut out = BytesMut::with_capacity(payload.len() / 2 + 64);
        self.encode(&mut out, opcode, payload, None);
        out.freeze()
    }
}

/// The opcode and payload offset of an unmasked, unfragmented text or
/// binary frame without RSV bits that `frame` holds exactly.
fn whole_data_frame(frame: &[u8]) -> Option<(OpCode, usize)> {
    let [first, second, ..] = *frame else {
        return None;
    };
    let opcode = match first {
        0x81 => OpCode::Text,
        0x82 => OpCode::Binary,
        _ => return None,
    };
    let (len, at) = match second {
        126 => (
            u64::from(u16::from_be_bytes([*frame.get(2)?, *frame.get(3)?])),
            4,
        ),
        127 => {
            let bytes: [u8; 8] = frame.get(2..10)?.try_into().ok()?;
            (u64::from_be_bytes(bytes), 10)
        }
        short if short < 126 => (u64::from(short), 2),
        // Masked: not a server frame.
        _ => return None,
    };
    (frame.len() as u64 == len + at as u64).then_some((opcode, at))
}

/// Inflates the messages one end receives, fragment by fragment.
pub struct Inflater {
    state: Box<InflateState>,
    /// The peer starts every message with an empty window.
    no_context_takeover: bool,
    /// Bytes this message has inflated to so far.
    produced: usize,
}

impl core::fmt::Debug for Inflater {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Inflater")
            .field("no_context_takeover", &self.no_context_takeover)
            .field("produced", &self.produced)
            .finish()
    }
}

impl Inflater {
    /// A decompressor; it reads any window size (up to 15 bits).
    pub fn new(no_context_takeover: bool) -> Self {
        Inflater {
            state: InflateState::new_boxed(DataFormat::Raw),
            no_context_takeover,
            produced: 0,
        }
    }

    /// Inflates the next piece of the current message into `out`. The
    /// message's inflated size, over all its pieces, may not pass `max`.
    pub fn feed(
        &mut self,
        input: &[u8],
        out: &mut BytesMut,
        max: usize,
    ) -> Result<(), InflateError> {
        let mut rest = input;
        loop {
            // One byte of room past the bound tells "exactly max" from "more".
            let allowed = max.saturating_sub(self.produced).saturating_add(1);
            let room = allowed.min(INFLATE_CHUNK);
            let filled = out.len();
            out.resize(filled + room, 0);
            let result = miniz_oxide::inflate::stream::inflate(
                &mut self.state,
                rest,
                &mut out[filled..],
                MZFlush::None,
            );
            out.truncate(filled + result.bytes_written);
            self.produced = self.produced.saturating_add(result.bytes_written);
            if self.produced > max {
                return Err(InflateError::TooLarge);
            }
            rest = rest.get(result.bytes_consumed..).unwrap_or_default();
            let stuck = result.bytes_consumed == 0 && result.bytes_written == 0;
            match result.status {
                // No progress with input left: never loop on it.
                Ok(MZStatus::Ok) if stuck && !rest.is_empty() => return Err(InflateError::Corrupt),
                Ok(MZStatus::StreamEnd) => {
                    // A final block: the peer's stream is over; whatever
                    // follows in this message must be a new stream.
                    self.state.reset(DataFormat::Raw);
                    if rest.is_empty() {
                        return Ok(());
                    }
                }
                Ok(_) => {
                    if rest.is_empty() && result.bytes_written < room {
                        return Ok(());
                    }
                }
                // No progress possible: all input is in, nothing more to write.
                Err(MZError::Buf) if rest.is_empty() => return Ok(()),
                Err(_) => return Err(InflateError::Corrupt),
            }
        }
    }

    /// Ends the current message: inflates the tail the sender stripped,
    /// and forgets the window if the peer does not keep it.
    pub fn finish(&mut self, out: &mut BytesMut, max: usize) -> Result<(), InflateError> {
        let result = self.feed(&TAIL, out, max);
        self.produced = 0;
        if self.no_context_takeover || result.is_err() {
            self.state.reset(DataFormat::Raw);
        }
        result
    }

    /// Inflates a whole message (all its fragments joined) into fresh bytes.
    pub fn inflate_message(&mut self, input: &[u8], max: usize) -> Result<BytesMut, InflateError> {
        let mut out = BytesMut::new();
        let fed = self.feed(input, &mut out, max);
        match fed {
            Ok(()) => self.finish(&mut out, max).map(|()| out),
            Err(err) => {
                self.produced = 0;
                self.state.reset(DataFormat::Raw);
                Err(err)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ws::frame::{Decoder, Limits, Message, Role, WsError};
    use alloc::vec::Vec;
    use proptest::prelude::*;

    fn compress(deflater: &mut Deflater, input: &[u8]) -> Vec<u8> {
        let mut out = BytesMut::new();
        deflater.compress(input, &mut out);
        out.to_vec()
    }

    #[test]
    fn rfc_7692_sample_hello() {
        // Section 7.2.3.1: "Hello" compressed, no context takeover.
        let sample = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
        let mut inflater = Inflater::new(true);
        assert_eq!(
            &inflater.inflate_message(&sample, 100).unwrap()[..],
            b"Hello"
        );
        // Section 7.2.3.2: the second "Hello" referring to the first.
        let mut inflater = Inflater::new(false);
        assert_eq!(
            &inflater.inflate_message(&sample, 100).unwrap()[..],
            b"Hello"
        );
        let second = [0xf2, 0x00, 0x11, 0x00, 0x00];
        assert_eq!(
            &inflater.inflate_message(&second, 100).unwrap()[..],
            b"Hello"
        );
    }

    #[test]
    fn rfc_7692_final_block_sample() {
        // Section 7.2.3.4 ("Hello" with BFINAL set), then another message.
        let sample = [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00];
        let mut inflater = Inflater::new(false);
        assert_eq!(
            &inflater.inflate_message(&sample, 100).unwrap()[..],
            b"Hello"
        );
        assert_eq!(
            &inflater.inflate_message(&sample, 100).unwrap()[..],
            b"Hello"
        );
    }

    #[test]
    fn tail_is_stripped_and_context_shrinks_repeats() {
        let text = b"{\"event\":\"chat message\",\"payload\":\"the same thing again\"}";
        let mut deflater = Deflater::new(6, false);
        let first = compress(&mut deflater, text);
        let second = compress(&mut deflater, text);
        assert!(!first.ends_with(&TAIL));
        assert!(
            second.len() < first.len() / 2,
            "{} vs {}",
            second.len(),
            first.len()
        );
        let mut fresh = Deflater::new(6, true);
        assert_eq!(compress(&mut fresh, text), first);
        assert_eq!(compress(&mut fresh, text), first);
    }

    #[test]
    fn deflate_bomb_is_refused_at_the_bound() {
        let zeros = alloc::vec![0u8; 10_000_000];
        let bomb = compress(&mut Deflater::new(9, true), &zeros);
        assert!(bomb.len() < 20_000);
        let mut inflater = Inflater::new(false);
        let mut out = BytesMut::new();
        assert_eq!(
            inflater.feed(&bomb, &mut out, 1_000_000),
            Err(InflateError::TooLarge)
        );
        assert!(out.len() <= 1_000_000 + 1, "{}", out.len());
        // Exactly at the bound is fine.
        let exact = compress(&mut Deflater::new(6, true), &zeros[..1000]);
        let mut inflater = Inflater::new(true);
        assert_eq!(inflater.inflate_message(&exact, 1000).unwrap().len(), 1000);
        assert_eq!(
            inflater.inflate_message(&exact, 999),
            Err(InflateError::TooLarge)
        );
        // And the inflater is usable again after a refusal.
        assert_eq!(inflater.inflate_message(&exact, 1000).unwrap().len(), 1000);
    }

    #[test]
    fn garbage_is_corrupt() {
        let mut inflater = Inflater::new(false);
        // Block type 3 is reserved.
        assert_eq!(
            inflater.inflate_message(&[0xff, 0xff, 0xff], 1000),
            Err(InflateError::Corrupt)
        );
    }

    fn masked(first: u8, payload: &[u8]) -> BytesMut {
        let mut out = BytesMut::new();
        encode_frame(&mut out, true, OpCode::Binary, payload, Some([9, 8, 7, 6]));
        out[0] = first;
        out
    }

    fn server_decoder(max: usize) -> Decoder {
        let limits = Limits {
            max_message_bytes: max,
        };
        Decoder::with_inflater(Role::Server, limits, Inflater::new(false))
    }

    #[test]
    fn decoder_inflates_fragmented_compressed_text() {
        let text = "h\u{e9}llo ".repeat(300);
        let mut sender = PerMessageDeflate::new(0, 6, false);
        let mut one = BytesMut::new();
        sender.encode(&mut one, OpCode::Text, text.as_bytes(), None);
        assert_eq!(one[0], 0x80 | RSV1 | 0x1);
        let compressed = whole_payload(&one);
        // Cut into three fragments: RSV1 only on the first.
        let (a, rest) = compressed.split_at(compressed.len() / 3);
        let (b, c) = rest.split_at(rest.len() / 2);
        let mut decoder = server_decoder(1_000_000);
        decoder.feed(&masked(RSV1 | 0x1, a));
        decoder.feed(&masked(0x00, b));
        decoder.feed(&masked(0x80, c));
        assert_eq!(
            decoder.poll_message(),
            Ok(Some(Message::Text(text.as_str().into())))
        );
        // Then an uncompressed message on the same connection.
        decoder.feed(&masked(0x82, b"raw"));
        assert_eq!(
            decoder.poll_message(),
            Ok(Some(Message::Binary(Bytes::from_static(b"raw"))))
        );
    }

    #[test]
    fn decoder_refuses_bombs_bad_data_and_stray_rsv1() {
        let mut sender = PerMessageDeflate::new(0, 9, true);
        let mut bomb = BytesMut::new();
        sender.encode(
            &mut bomb,
            OpCode::Binary,
            &alloc::vec![0u8; 5_000_000],
            None,
        );
        let mut decoder = server_decoder(1_000_000);
        decoder.feed(&masked(0x80 | RSV1 | 0x2, whole_payload(&bomb)));
        assert_eq!(decoder.poll_message(), Err(WsError::MessageTooLarge));
        assert_eq!(WsError::MessageTooLarge.close_code(), 1009);

        let mut decoder = server_decoder(1000);
        decoder.feed(&masked(0x80 | RSV1 | 0x2, &[0xff, 0xff]));
        assert_eq!(decoder.poll_message(), Err(WsError::BadCompression));
        assert_eq!(WsError::BadCompression.close_code(), 1007);

        // Without the extension, RSV1 is a protocol error.
        let mut plain = Decoder::new(Role::Server, Limits::default());
        plain.feed(&masked(0x80 | RSV1 | 0x2, &[0x02, 0x00]));
        assert_eq!(plain.poll_message(), Err(WsError::ReservedBits));
        // With it, RSV1 on a continuation or a control frame is one too.
        let mut decoder = server_decoder(1000);
        decoder.feed(&masked(RSV1 | 0x2, &[]));
        decoder.feed(&masked(0x80 | RSV1, &[]));
        assert_eq!(decoder.poll_message(), Err(WsError::ReservedBits));
        let mut decoder = server_decoder(1000);
        decoder.feed(&masked(0x80 | RSV1 | 0x9, &[]));
        assert_eq!(decoder.poll_message(), Err(WsError::ReservedBits));
    }

    #[test]
    fn compressed_text_must_inflate_to_utf8() {
        let mut sender = PerMessageDeflate::new(0, 6, false);
        let mut frame = BytesMut::new();
        sender.encode(&mut frame, OpCode::Text, b"ok \xff", None);
        let mut decoder = server_decoder(1000);
        decoder.feed(&masked(0x80 | RSV1 | 0x1, whole_payload(&frame)));
        assert_eq!(decoder.poll_message(), Err(WsError::InvalidUtf8));
    }

    #[test]
    fn server_frames_are_compressed_past_the_threshold_only() {
        let mut codec = PerMessageDeflate::new(100, 6, false);
        let small = crate::wire::ws::frame::server_frame(OpCode::Text, &[b'a'; 99]);
        assert_eq!(codec.server_frame(small.clone()), small);
        let close = crate::wire::ws::frame::server_frame(OpCode::Close, &[3, 232]);
        assert_eq!(codec.server_frame(close.clone()), close);
        // One client for both: the second message refers to the first.
        let mut client =
            Decoder::with_inflater(Role::Client, Limits::default(), Inflater::new(false));
        for len in [100, 70_000] {
            let big = crate::wire::ws::frame::server_frame(OpCode::Binary, &alloc::vec![7u8; len]);
            let sent = codec.server_frame(big);
            assert_eq!(sent[0], 0x80 | RSV1 | 0x2);
            assert!(sent.len() < len);
            client.feed(&sent);
            let got = client.poll_message();
            assert!(
                got == Ok(Some(Message::Binary(alloc::vec![7u8; len].into()))),
                "length {len}"
            );
        }
    }

    /// The payload of one unmasked frame.
    fn whole_payload(frame: &[u8]) -> &[u8] {
        let mut copy = frame.to_vec();
        copy[0] &= !RSV1;
        let (_, at) = whole_data_frame(&copy).expect("a whole frame");
        &frame[at..]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Messages compressed in order, each cut at arbitrary points into
        /// fragments, inflate back to themselves, with or without context
        /// takeover.
        #[test]
        fn round_trip_from_arbitrary_splits(
            messages in proptest::collection::vec(
                (proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), any::<u8>()], 0..3000),
                 proptest::collection::vec(any::<prop::sample::Index>(), 0..5)),
                1..6),
            no_context_takeover in any::<bool>(),
            level in 0u8..=9,
        ) {
            let mut deflater = Deflater::new(level, no_context_takeover);
            let mut inflater = Inflater::new(no_context_takeover);
            for (message, cuts) in &messages {
                let compressed = compress(&mut deflater, message);
                let mut points: Vec<usize> = cuts.iter().map(|c| c.index(compressed.len() + 1)).collect();
                points.sort_unstable();
                let mut out = BytesMut::new();
                let mut at = 0;
                for point in points.into_iter().chain([compressed.len()]) {
                    inflater.feed(&compressed[at..point], &mut out, message.len()).unwrap();
                    at = point;
                }
                inflater.finish(&mut out, message.len()).unwrap();
                prop_assert_eq!(&out[..], &message[..]);
            }
        }

        /// Arbitrary bytes never panic and never inflate past the bound.
        #[test]
        fn arbitrary_input_stays_bounded(input in proptest::collection::vec(any::<u8>(), 0..2000), max in 0usize..5000) {
            let mut inflater = Inflater::new(false);
            if let Ok(out) = inflater.inflate_message(&input, max) {
                prop_assert!(out.len() <= max);
            }
        }
    }
}
