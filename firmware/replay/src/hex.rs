//! Lowercase hex, the transcripts' encoding of bytes.

use alloc::vec::Vec;
use core::fmt;

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Writes `bytes` as lowercase hex.
pub fn write(out: &mut impl fmt::Write, bytes: &[u8]) -> fmt::Result {
    for byte in bytes {
        out.write_char(char::from(DIGITS[usize::from(byte >> 4)]))?;
        out.write_char(char::from(DIGITS[usize::from(byte & 15)]))?;
    }
    Ok(())
}

/// The bytes of `text`, or `None` when it is not an even run of hex digits.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    let text = text.as_bytes();
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.chunks(2)
        .map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?))
        .collect()
}

fn nibble(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trip() {
        let bytes: alloc::vec::Vec<u8> = (0..=255).collect();
        let mut text = alloc::string::String::new();
        super::write(&mut text, &bytes).unwrap();
        assert_eq!(super::decode(&text), Some(bytes));
        assert_eq!(super::decode("abc"), None);
        assert_eq!(super::decode("zz"), None);
    }
}
