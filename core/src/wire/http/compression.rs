//! Compression of response bodies (`Content-Encoding: gzip` or `deflate`)
//! the way engine.io compresses polling responses (`httpCompression`):
//! bodies of at least the threshold, in the coding the request's
//! `Accept-Encoding` prefers among gzip and deflate (as the `accepts`
//! package ranks them), no `Vary` header.
//!
//! The DEFLATE itself is `miniz_oxide` (see [`crate::wire::ws::deflate`]
//! for why it lives in the core); the gzip wrapper (RFC 1952) is written
//! here, its CRC-32 by `crc32fast`.

use alloc::vec::Vec;

/// engine.io's `httpCompression` options, with its defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpCompression {
    /// Bodies shorter than this many bytes are sent as they are (1,024).
    pub threshold: usize,
    /// zlib compression level, 0-9 (6, zlib's default, as in Node).
    pub level: u8,
}

impl Default for HttpCompression {
    fn default() -> Self {
        HttpCompression {
            threshold: 1024,
            level: 6,
        }
    }
}

/// A content coding the server writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentCoding {
    /// RFC 1952 gzip.
    Gzip,
    /// RFC 1950 zlib (what HTTP calls `deflate`).
    Deflate,
}

impl ContentCoding {
    /// The `Content-Encoding` token.
    pub fn as_str(self) -> &'static str {
        match self {
            ContentCoding::Gzip => "gzip",
            ContentCoding::Deflate => "deflate",
        }
    }

    /// `body` encoded at zlib `level`.
    pub fn encode(self, body: &[u8], level: u8) -> Vec<u8> {
        let level = level.min(9);
        match self {
            ContentCoding::Deflate => miniz_oxide::deflate::compress_to_vec_zlib(body, level),
            ContentCoding::Gzip => gzip(body, level),
        }
    }
}

/// The gzip member holding `body`: header, raw DEFLATE, CRC-32 and size.
fn gzip(body: &[u8], level: u8) -> Vec<u8> {
    let deflated = miniz_oxide::deflate::compress_to_vec(body, level);
    let mut out = Vec::with_capacity(deflated.len() + 18);
    // Magic, method 8 (deflate), no flags, no mtime, no extra flags, OS 3
    // (Unix), as zlib writes it on Node's platforms.
    out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
    out.extend_from_slice(&deflated);
    out.extend_from_slice(&crc32fast::hash(body).to_le_bytes());
    // ISIZE is the length modulo 2^32 (RFC 1952 section 2.3.1).
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out
}

/// The coding to answer with, given the request's `Accept-Encoding` lines
/// (`None` without any): the one with the highest q-value, an exact token
/// beating `*`, then the one listed first in the header, then gzip before
/// deflate (the order engine.io asks `accepts` about them). q=0 refuses.
pub fn negotiate<'a>(accept_encoding: impl Iterator<Item = &'a str>) -> Option<ContentCoding> {
    // Per coding: (q in thousandths, exact match, position in the header).
    let mut best: [Option<(u16, bool, usize)>; 2] = [None, None];
    let mut position = 0;
    for line in accept_encoding {
        for item in line.split(',') {
            let mut parts = item.split(';');
            let token = parts.next().unwrap_or_default().trim();
            if token.is_empty() {
                continue;
            }
            let q = parts.find_map(quality).unwrap_or(1000);
            for (slot, coding) in [ContentCoding::Gzip, ContentCoding::Deflate]
                .iter()
                .enumerate()
            {
                let exact = token.eq_ignore_ascii_case(coding.as_str());
                if !exact && token != "*" {
                    continue;
                }
                // The most specific match, then the highest q, then the first.
                let better = match best[slot] {
                    None => true,
                    Some((was_q, was_exact, _)) => (exact, q) > (was_exact, was_q),
                };
                if better {
                    best[slot] = Some((q, exact, position));
                }
            }
            position += 1;
        }
    }
    let rank = |slot: usize| best[slot].filter(|(q, _, _)| *q > 0);
    match (rank(0), rank(1)) {
        (None, None) => None,
        (Some(_), None) => Some(ContentCoding::Gzip),
        (None, Some(_)) => Some(ContentCoding::Deflate),
        (Some(gzip), Some(deflate)) => {
            // Higher q, then exact over `*`, then earlier in the header; gzip on a tie.
            let key = |(q, exact, at): (u16, bool, usize)| (q, exact, core::cmp::Reverse(at));
            if key(deflate) > key(gzip) {
                Some(ContentCoding::Deflate)
            } else {
                Some(ContentCoding::Gzip)
            }
        }
    }
}

/// Why a compressed body could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// A coding other than gzip, deflate or identity.
    UnknownCoding,
    /// Not a valid gzip member or zlib stream (or its check failed).
    Corrupt,
    /// It decodes to more than the bound.
    TooLarge,
}

/// The body of a response with `Content-Encoding: content_encoding`
/// (`None`: none), decoded to at most `max` bytes: a small body may not
/// inflate into unbounded memory.
pub fn decode(
    content_encoding: Option<&str>,
    body: &[u8],
    max: usize,
) -> Result<Vec<u8>, DecodeError> {
    let coding = content_encoding.map(str::trim).unwrap_or("identity");
    let inflated = if coding.eq_ignore_ascii_case("identity") {
        return if body.len() <= max {
            Ok(body.to_vec())
        } else {
            Err(DecodeError::TooLarge)
        };
    } else if coding.eq_ignore_ascii_case("gzip") {
        let (deflated, crc, size) = gzip_parts(body).ok_or(DecodeError::Corrupt)?;
        let out = miniz_oxide::inflate::decompress_to_vec_with_limit(deflated, max)
            .map_err(inflate_error)?;
        if crc32fast::hash(&out) != crc || out.len() as u32 != size {
            return Err(DecodeError::Corrupt);
        }
        out
    } else if coding.eq_ignore_ascii_case("deflate") {
        miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(body, max).map_err(inflate_error)?
    } else {
        return Err(DecodeError::UnknownCoding);
    };
    Ok(inflated)
}

fn inflate_error(error: miniz_oxide::inflate::DecompressError) -> DecodeError {
    match error.status {
        miniz_oxide::inflate::TINFLStatus::HasMoreOutput => DecodeError::TooLarge,
        _ => DecodeError::Corrupt,
    }
}

/// A single gzip member's DEFLATE data, CRC-32 and size (RFC 1952
/// section 2.3), its optional header fields skipped.
fn gzip_parts(member: &[u8]) -> Option<(&[u8], u32, u32)> {
    const FHCRC: u8 = 0x02;
    const FEXTRA: u8 = 0x04;
    const FNAME: u8 = 0x08;
    const FCOMMENT: u8 = 0x10;
    let (header, _) = member.split_first_chunk::<10>()?;
    if header[..3] != [0x1f, 0x8b, 8] || header[3] & 0xE0 != 0 {
        return None;
    }
    let flags = header[3];
    let mut at = 10;
    if flags & FEXTRA != 0 {
        let len = member.get(at..at + 2)?;
        at += 2 + usize::from(u16::from_le_bytes([len[0], len[1]]));
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            at += member.get(at..)?.iter().position(|&b| b == 0)? + 1;
        }
    }
    if flags & FHCRC != 0 {
        at += 2;
    }
    let trailer_at = member.len().checked_sub(8)?;
    let deflated = member.get(at..trailer_at)?;
    let trailer = &member[trailer_at..];
    let crc = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
    let size = u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]);
    Some((deflated, crc, size))
}

/// A `q=` parameter in thousandths; malformed ones count as absent.
fn quality(param: &str) -> Option<u16> {
    let (name, value) = param.split_once('=')?;
    if !name.trim().eq_ignore_ascii_case("q") {
        return None;
    }
    let value = value.trim();
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    let whole: u16 = match whole {
        "0" => 0,
        "1" => 1,
        _ => return None,
    };
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = fraction
        .bytes()
        .chain(core::iter::repeat(b'0'))
        .take(3)
        .fold(0u16, |acc, digit| acc * 10 + u16::from(digit - b'0'));
    let q = whole * 1000 + thousandths;
    (q <= 1000).then_some(q)
}

#[cfg(test)]
mod tests {
    use super::*;
    use miniz_oxide::inflate::{decompress_to_vec, decompress_to_vec_zlib};
    use proptest::prelude::*;

    fn pick(header: &str) -> Option<&'static str> {
        negotiate([header].into_iter()).map(ContentCoding::as_str)
    }

    #[test]
    fn choice_order() {
        assert_eq!(negotiate(core::iter::empty()), None);
        assert_eq!(pick(""), None);
        assert_eq!(pick("identity"), None);
        assert_eq!(pick("br"), None);
        // Browsers and Node's fetch.
        assert_eq!(pick("gzip, deflate, br, zstd"), Some("gzip"));
        assert_eq!(pick("gzip, deflate"), Some("gzip"));
        assert_eq!(pick("deflate, gzip"), Some("deflate"));
        assert_eq!(pick("deflate"), Some("deflate"));
        assert_eq!(pick("gzip;q=0.5, deflate"), Some("deflate"));
        assert_eq!(pick("gzip;q=0, deflate;q=0"), None);
        assert_eq!(pick("*"), Some("gzip"));
        assert_eq!(pick("*;q=0.1, deflate;q=0.1"), Some("deflate"));
        assert_eq!(pick("GZIP;Q=1.000"), Some("gzip"));
        assert_eq!(pick("*, gzip;q=0"), Some("deflate"));
        assert_eq!(pick("gzip;q=0.1, deflate;q=0.5, gzip;q=0.9"), Some("gzip"));
        assert_eq!(
            negotiate(["br", "deflate"].into_iter()),
            Some(ContentCoding::Deflate)
        );
    }

    #[test]
    fn bad_q_values_count_as_absent() {
        assert_eq!(quality("q=2"), None);
        assert_eq!(quality("q=0.0001"), None);
        assert_eq!(quality("q=1.5"), None);
        assert_eq!(quality("q=0.25"), Some(250));
        assert_eq!(quality("level=1"), None);
    }

    #[test]
    fn gzip_member_layout() {
        let body = b"hello hello hello hello";
        let encoded = ContentCoding::Gzip.encode(body, 6);
        assert_eq!(&encoded[..3], &[0x1f, 0x8b, 8]);
        let n = encoded.len();
        assert_eq!(&encoded[n - 4..], &(body.len() as u32).to_le_bytes());
        assert_eq!(&encoded[n - 8..n - 4], &crc32fast::hash(body).to_le_bytes());
        // The CRC-32 of RFC 1952 (the check value of "123456789").
        assert_eq!(crc32fast::hash(b"123456789"), 0xCBF4_3926);
        assert_eq!(decompress_to_vec(&encoded[10..n - 8]).unwrap(), body);
    }

    #[test]
    fn decoding_is_bounded_and_checked() {
        let body = alloc::vec![b'x'; 100_000];
        for coding in [ContentCoding::Gzip, ContentCoding::Deflate] {
            let encoded = coding.encode(&body, 6);
            assert_eq!(
                decode(Some(coding.as_str()), &encoded, 100_000).unwrap(),
                body
            );
            assert_eq!(
                decode(Some(coding.as_str()), &encoded, 99_999),
                Err(DecodeError::TooLarge)
            );
            let mut broken = encoded.clone();
            let n = broken.len();
            broken[n - 5] ^= 1;
            assert_eq!(
                decode(Some(coding.as_str()), &broken, 200_000),
                Err(DecodeError::Corrupt)
            );
        }
        assert_eq!(decode(None, b"abc", 3).unwrap(), b"abc");
        assert_eq!(
            decode(Some("identity"), b"abc", 2),
            Err(DecodeError::TooLarge)
        );
        assert_eq!(
            decode(Some("br"), b"abc", 10),
            Err(DecodeError::UnknownCoding)
        );
        assert_eq!(
            decode(Some("gzip"), b"\x1f\x8b", 10),
            Err(DecodeError::Corrupt)
        );
        // A member with a file name, as the gzip tool writes it.
        let plain = ContentCoding::Gzip.encode(b"named", 6);
        let mut named = plain[..10].to_vec();
        named[3] = 0x08;
        named.extend_from_slice(b"file.txt\0");
        named.extend_from_slice(&plain[10..]);
        assert_eq!(decode(Some("gzip"), &named, 10).unwrap(), b"named");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        #[test]
        fn decode_never_panics(body in proptest::collection::vec(any::<u8>(), 0..300), max in 0usize..2000) {
            for coding in ["gzip", "deflate"] {
                if let Ok(out) = decode(Some(coding), &body, max) {
                    prop_assert!(out.len() <= max);
                }
            }
        }

        #[test]
        fn both_codings_round_trip(body in proptest::collection::vec(any::<u8>(), 0..5000), level in 0u8..=9) {
            let zlib = ContentCoding::Deflate.encode(&body, level);
            prop_assert_eq!(decompress_to_vec_zlib(&zlib).unwrap(), body.clone());
            let gzip = ContentCoding::Gzip.encode(&body, level);
            let n = gzip.len();
            prop_assert_eq!(decompress_to_vec(&gzip[10..n - 8]).unwrap(), body.clone());
            prop_assert_eq!(&gzip[n - 8..n - 4], &crc32fast::hash(&body).to_le_bytes()[..]);
        }

        #[test]
        fn negotiation_never_panics(header in ".{0,200}") {
            let _ = negotiate([header.as_str()].into_iter());
        }
    }
}
