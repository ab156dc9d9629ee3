//! The one id generator of the server: Engine.IO session ids and Socket.IO
//! socket ids alike are 15 random bytes from a ChaCha20 stream seeded by the
//! caller, written as 20 characters of URL-safe base64 (`-` and `_`), the
//! shape of the reference server's ids (its `base64id`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use bytestring::ByteString;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

use super::shard::Shard;

/// Random bytes per id (the reference's `base64id` uses 15).
pub(crate) const ID_BYTES: usize = 15;

/// Characters per id: 15 bytes in unpadded base64.
const ID_CHARS: usize = 20;

/// Draws ids from a seeded stream.
pub(crate) struct IdGenerator {
    rng: ChaCha20Rng,
}

impl IdGenerator {
    /// A generator for `seed`.
    pub(crate) fn new(seed: [u8; 32]) -> Self {
        IdGenerator {
            rng: ChaCha20Rng::from_seed(seed),
        }
    }

    /// A seed for another generator, drawn from this one's stream (so
    /// the two never hand out ids from the same bytes).
    pub(crate) fn fork_seed(&mut self) -> [u8; 32] {
        let mut seed = [0u8; 32];
        self.rng.fill_bytes(&mut seed);
        seed
    }

    /// The next id. Its text and the count of its clones share one
    /// allocation: an id is always cloned (a session's into its handshake,
    /// a socket's into its own room), and text made as a `String` would
    /// take a second allocation at the first clone.
    pub(crate) fn next_id(&mut self) -> ByteString {
        self.next_id_in(Shard::ONE)
    }

    /// The next id, its first character naming `shard` (session ids).
    pub(crate) fn next_id_in(&mut self, shard: Shard) -> ByteString {
        let mut raw = [0u8; ID_BYTES];
        self.rng.fill_bytes(&mut raw);
        shard.stamp(&mut raw);
        let mut text = [0u8; ID_CHARS];
        match URL_SAFE_NO_PAD.encode_slice(raw, &mut text) {
            Ok(ID_CHARS) => ByteString::try_from(bytes::Bytes::from_owner(text))
                .unwrap_or_else(|_| ByteString::from(URL_SAFE_NO_PAD.encode(raw))),
            _ => ByteString::from(URL_SAFE_NO_PAD.encode(raw)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twenty_url_safe_chars_and_deterministic() {
        let mut a = IdGenerator::new([7; 32]);
        let mut b = IdGenerator::new([7; 32]);
        let first = a.next_id();
        assert_eq!(first.len(), 20);
        assert!(first
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        assert_eq!(first, b.next_id());
        assert_ne!(first, a.next_id());
    }
}
