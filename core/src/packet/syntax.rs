//! The JSON syntax check behind [`RawJson::parse`](super::RawJson::parse):
//! one pass over the bytes, no value built, no allocation unless arrays
//! and objects nest deeper than 64.
//!
//! It accepts exactly what `serde_json` accepts when it skips a value
//! (RFC 8259 text, numbers of any size, `\u` escapes of lone surrogates,
//! any nesting depth), which `JSON.parse` accepts too: the tests compare
//! the two on generated input.

use alloc::vec::Vec;

/// Where the one JSON value of `text` starts and ends (whitespace around
/// it skipped); `None` when `text` is anything else.
pub(crate) fn value_span(text: &str) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    let start = skip_ws(bytes, 0);
    let end = skip_value(bytes, start)?;
    (skip_ws(bytes, end) == bytes.len()).then_some((start, end))
}

/// The containers open around the scan, innermost last: one bit each
/// (set for an object), the first 64 levels without allocation.
struct Nesting {
    bits: u64,
    depth: usize,
    deeper: Vec<bool>,
}

impl Nesting {
    fn push(&mut self, object: bool) {
        if self.depth < 64 {
            let bit = 1u64 << self.depth;
            if object {
                self.bits |= bit;
            } else {
                self.bits &= !bit;
            }
        } else {
            self.deeper.push(object);
        }
        self.depth += 1;
    }

    /// Whether the innermost container is an object; `None` at the top.
    fn innermost(&self) -> Option<bool> {
        let index = self.depth.checked_sub(1)?;
        if index < 64 {
            Some(self.bits & (1u64 << index) != 0)
        } else {
            self.deeper.last().copied()
        }
    }

    fn pop(&mut self) {
        if self.depth > 64 {
            self.deeper.pop();
        }
        self.depth = self.depth.saturating_sub(1);
    }
}

/// The end of the value starting at `pos` (no whitespace before it).
fn skip_value(bytes: &[u8], mut pos: usize) -> Option<usize> {
    let mut nesting = Nesting {
        bits: 0,
        depth: 0,
        deeper: Vec::new(),
    };
    loop {
        // A value starts at `pos`.
        match *bytes.get(pos)? {
            b'[' => {
                pos = skip_ws(bytes, pos + 1);
                if bytes.get(pos) == Some(&b']') {
                    pos += 1;
                } else {
                    nesting.push(false);
                    continue;
                }
            }
            b'{' => {
                pos = skip_ws(bytes, pos + 1);
                if bytes.get(pos) == Some(&b'}') {
                    pos += 1;
                } else {
                    nesting.push(true);
                    pos = skip_key(bytes, pos)?;
                    continue;
                }
            }
            b'"' => pos = skip_string(bytes, pos)?,
            b't' => pos = skip_literal(bytes, pos, b"true")?,
            b'f' => pos = skip_literal(bytes, pos, b"false")?,
            b'n' => pos = skip_literal(bytes, pos, b"null")?,
            b'-' | b'0'..=b'9' => pos = skip_number(bytes, pos)?,
            _ => return None,
        }
        // A value ended at `pos`: a separator or the ends of containers follow.
        loop {
            let Some(object) = nesting.innermost() else {
                return Some(pos);
            };
            pos = skip_ws(bytes, pos);
            match *bytes.get(pos)? {
                b',' => {
                    pos = skip_ws(bytes, pos + 1);
                    if object {
                        pos = skip_key(bytes, pos)?;
                    }
                    break;
                }
                b']' if !object => {}
                b'}' if object => {}
                _ => return None,
            }
            pos += 1;
            nesting.pop();
        }
    }
}

/// `"key"` and `:` with the whitespace after them: where the value starts.
fn skip_key(bytes: &[u8], pos: usize) -> Option<usize> {
    if bytes.get(pos) != Some(&b'"') {
        return None;
    }
    let pos = skip_ws(bytes, skip_string(bytes, pos)?);
    if bytes.get(pos) != Some(&b':') {
        return None;
    }
    Some(skip_ws(bytes, pos + 1))
}

fn skip_ws(bytes: &[u8], mut pos: usize) -> usize {
    while matches!(bytes.get(pos), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        pos += 1;
    }
    pos
}

fn skip_literal(bytes: &[u8], pos: usize, literal: &[u8]) -> Option<usize> {
    let end = pos.checked_add(literal.len())?;
    (bytes.get(pos..end)? == literal).then_some(end)
}

fn skip_digits(bytes: &[u8], mut pos: usize) -> usize {
    while matches!(bytes.get(pos), Some(b'0'..=b'9')) {
        pos += 1;
    }
    pos
}

/// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, of any length.
fn skip_number(bytes: &[u8], mut pos: usize) -> Option<usize> {
    if bytes.get(pos) == Some(&b'-') {
        pos += 1;
    }
    pos = match *bytes.get(pos)? {
        // One leading zero, not followed by digits.
        b'0' if matches!(bytes.get(pos + 1), Some(b'0'..=b'9')) => return None,
        b'0' => pos + 1,
        b'1'..=b'9' => skip_digits(bytes, pos + 1),
        _ => return None,
    };
    if bytes.get(pos) == Some(&b'.') {
        let end = skip_digits(bytes, pos + 1);
        if end == pos + 1 {
            return None;
        }
        pos = end;
    }
    if matches!(bytes.get(pos), Some(b'e' | b'E')) {
        pos += 1;
        if matches!(bytes.get(pos), Some(b'+' | b'-')) {
            pos += 1;
        }
        let end = skip_digits(bytes, pos);
        if end == pos {
            return None;
        }
        pos = end;
    }
    Some(pos)
}

/// Bytes a string literal ends at or must look closer at: the quote, the
/// backslash and control characters.
fn is_special(byte: u8) -> bool {
    byte == b'"' || byte == b'\\' || byte < 0x20
}

/// A high bit set in each byte of `word` (little-endian) that may be
/// special; the lowest one set is exactly the first special byte (the
/// borrows that cause false marks only run upwards from a true one).
fn special_bytes(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let zero_in = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
    let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGHS;
    zero_in(word ^ (ONES * u64::from(b'"')))
        | zero_in(word ^ (ONES * u64::from(b'\\')))
        | below_space
}

/// The end of the string literal whose quote is at `pos`: no control
/// characters, escapes from the JSON set (`\u` with four hex digits). The
/// text is `str`, so what lies between is valid UTF-8 already.
fn skip_string(bytes: &[u8], pos: usize) -> Option<usize> {
    let mut pos = pos + 1;
    loop {
        // Eight bytes at a time, straight to the first special one.
        while let Some(chunk) = bytes.get(pos..pos + 8) {
            let special = special_bytes(u64::from_le_bytes(chunk.try_into().ok()?));
            if special != 0 {
                pos += (special.trailing_zeros() / 8) as usize;
                break;
            }
            pos += 8;
        }
        let byte = *bytes.get(pos)?;
        if !is_special(byte) {
            pos += 1;
            continue;
        }
        match byte {
            b'"' => return Some(pos + 1),
            b'\\' => {
                pos = match *bytes.get(pos + 1)? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => pos + 2,
                    b'u' => {
                        let hex = bytes.get(pos + 2..pos + 6)?;
                        if !hex.iter().all(u8::is_ascii_hexdigit) {
                            return None;
                        }
                        pos + 6
                    }
                    _ => return None,
                }
            }
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;
    use alloc::vec;
    use proptest::prelude::*;
    use serde_json::value::RawValue;

    fn reference(text: &str) -> Option<(usize, usize)> {
        let value: &RawValue = serde_json::from_str(text).ok()?;
        let start = value.get().as_ptr() as usize - text.as_ptr() as usize;
        Some((start, start + value.get().len()))
    }

    #[test]
    fn agrees_with_serde_json_on_chosen_cases() {
        let cases = [
            "",
            " ",
            "1",
            " 1 ",
            "-",
            "-0",
            "-01",
            "01",
            "0",
            "0.",
            "0.5",
            ".5",
            "1e",
            "1e+",
            "1E-5",
            "1e400",
            "+1",
            "1.5e3x",
            "true",
            "tru",
            "truex",
            "nul",
            "null",
            "false ",
            "\"\"",
            "\"a",
            "\"\\\"",
            "\"\\u12\"",
            "\"\\u12g4\"",
            "\"\\ud800\"",
            "\"\\uDFFF\"",
            "\"\\x\"",
            "\"\u{1}\"",
            "\"\u{7f}\"",
            "\"\t\"",
            "\"é\"",
            "[]",
            "[ ]",
            "[,]",
            "[1,]",
            "[,1]",
            "[1 2]",
            "[1,2]",
            "[[]]",
            "[[]",
            "[]]",
            "{}",
            "{ }",
            "{\"a\"}",
            "{\"a\":}",
            "{\"a\":1,}",
            "{\"a\":1}",
            "{\"a\" : [1, {\"b\":null}] }",
            "{1:2}",
            "{\"a\":1 \"b\":2}",
            "[1]x",
            "1 2",
            "[\"0123456789abcdef\\\"0123456789\"]",
            "[\"0123456789abcdef\u{1f}\"]",
            "\"01234567\"",
            "\"0123456\\\\\"",
            "[{]",
            "[}",
            "{]",
            "\u{a0}1",
            "1\u{b}",
        ];
        for text in cases {
            assert_eq!(value_span(text), reference(text), "{text:?}");
        }
    }

    #[test]
    fn deep_nesting_is_iterative() {
        let depth = 100_000;
        let mut text = String::new();
        text.extend(core::iter::repeat_n("[{\"a\":", depth));
        text.push('1');
        text.extend(core::iter::repeat_n("}]", depth));
        assert_eq!(value_span(&text), Some((0, text.len())));
        text.pop();
        assert_eq!(value_span(&text), None);
        // A closing bracket of the wrong kind past 64 levels.
        let mut text = String::new();
        text.extend(core::iter::repeat_n('[', 70));
        text.push('{');
        text.extend(core::iter::repeat_n(']', 71));
        assert_eq!(value_span(&text), None);
    }

    /// Text made of JSON's own pieces, so most of it is close to valid.
    fn jsonish() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("["),
            Just("]"),
            Just("{"),
            Just("}"),
            Just(","),
            Just(":"),
            Just(" "),
            Just("\n"),
            Just("\""),
            Just("\\"),
            Just("\\u"),
            Just("00e9"),
            Just("d83d"),
            Just("abcdefgh"),
            Just("true"),
            Just("false"),
            Just("null"),
            Just("0"),
            Just("12"),
            Just("-"),
            Just("."),
            Just("e"),
            Just("+"),
            Just("\u{1}"),
            Just("é"),
            Just("x"),
            Just("\"k\":"),
            Just("\"text with space\""),
        ];
        proptest::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5_000))]
        #[test]
        fn agrees_with_serde_json(text in jsonish()) {
            prop_assert_eq!(value_span(&text), reference(&text), "{:?}", text);
        }
    }

    proptest! {
        #[test]
        fn special_bytes_finds_the_first_special_byte(word in any::<[u8; 8]>()) {
            let first = word.iter().position(|&b| is_special(b));
            let special = special_bytes(u64::from_le_bytes(word));
            let found = (special != 0).then(|| (special.trailing_zeros() / 8) as usize);
            prop_assert_eq!(found, first);
        }

        #[test]
        fn agrees_with_serde_json_on_any_text(text in any::<String>()) {
            prop_assert_eq!(value_span(&text), reference(&text), "{:?}", text);
        }

        #[test]
        fn accepts_what_serde_json_writes(value in any::<Vec<(String, Option<f64>, bool)>>()) {
            let text = serde_json::to_string(&value).unwrap();
            prop_assert_eq!(value_span(&text), Some((0, text.len())));
        }
    }
}
