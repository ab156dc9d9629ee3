//! How the HTTP targets read their input: a byte for the piece sizes, a
//! byte for the limits, then the bytes to parse, fed in pieces.

use sio_core::wire::http::Limits;

/// The input of one run.
pub struct HttpInput<'a> {
    /// Two piece sizes (1 to 16) from the first byte's nibbles, alternating.
    pub sizes: [usize; 2],
    /// From the second byte: see [`limits_from`].
    pub limits: Limits,
    /// The bytes to parse.
    pub bytes: &'a [u8],
}

impl<'a> HttpInput<'a> {
    /// `None` for inputs shorter than the two seed bytes.
    pub fn read(data: &'a [u8]) -> Option<HttpInput<'a>> {
        let (&split_seed, rest) = data.split_first()?;
        let (&limit_seed, bytes) = rest.split_first()?;
        Some(HttpInput {
            sizes: [
                usize::from(split_seed & 0x0f) + 1,
                usize::from(split_seed >> 4) + 1,
            ],
            limits: limits_from(limit_seed),
            bytes,
        })
    }
}

/// Default limits or tight ones, so the limit paths are reached too.
fn limits_from(seed: u8) -> Limits {
    if seed & 1 == 0 {
        return Limits::default();
    }
    Limits {
        max_headers: usize::from(seed >> 5),
        max_head_bytes: usize::from(seed) * 2,
        max_body_bytes: usize::from(seed >> 1),
    }
}

/// `input` cut in pieces of `sizes` (cycled; at least one byte each).
pub fn pieces<'a>(input: &'a [u8], sizes: &'a [usize]) -> impl Iterator<Item = &'a [u8]> + 'a {
    let mut rest = input;
    let mut sizes = sizes.iter().copied().cycle();
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let size = sizes.next().unwrap_or(rest.len()).clamp(1, rest.len());
        let (piece, tail) = rest.split_at(size);
        rest = tail;
        Some(piece)
    })
}
