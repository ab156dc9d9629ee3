//! Typed arguments: any `serde` value, binary (`serialize_bytes`, which is
//! what `bytes::Bytes` and `serde_bytes` use) at any depth, to a packet's
//! JSON data plus attachments ([`encode_args`]), and back ([`decode_args`]).
//!
//! Arguments whose text cannot hold a placeholder (no `_placeholder` and no
//! `\u` escape, which could spell the key) are deserialized by serde_json
//! straight from their text; the others are first parsed into a small tree
//! (`node::Node`) that borrows the text's unescaped strings and keeps object
//! keys in order and duplicated, and read from it with serde_json's rules
//! for a `&Value` (numbers, enums, numeric map keys), placeholders aside.
//!
//! The encoder is in `encode`; the decoder in `decode` (the top level and
//! each argument) and `node` (the tree for arguments that may hold
//! placeholders).

mod decode;
mod encode;
mod node;

pub use decode::decode_args;
pub use encode::encode_args;

use alloc::string::{String, ToString};
use core::fmt::{self, Display};

use serde::{de, ser};

/// Why arguments could not be encoded or decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ArgsError {
    /// The value's `Serialize` impl failed, or produced what JSON cannot
    /// hold: a map key that is not a string, char, bool or number, a
    /// non-finite float key, a malformed raw JSON value. The message is
    /// serde_json's where serde_json has one.
    Serialize(String),
    /// The arguments do not fit the target type; the message is serde's or
    /// serde_json's.
    Deserialize(String),
    /// A placeholder whose `num` is not the index of an attachment.
    BadPlaceholder,
    /// The data is not a JSON array.
    NotAnArray,
    /// Asked to skip the event name of an empty array.
    NoEventName,
}

impl Display for ArgsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgsError::Serialize(message) => write!(f, "cannot serialize arguments: {message}"),
            ArgsError::Deserialize(message) => {
                write!(f, "cannot deserialize arguments: {message}")
            }
            ArgsError::BadPlaceholder => f.write_str("placeholder without its attachment"),
            ArgsError::NotAnArray => f.write_str("packet data is not an array"),
            ArgsError::NoEventName => f.write_str("packet data has no event name"),
        }
    }
}

// serde's `StdError` is `std::error::Error` under the `std` feature, and
// its own (or core's) error trait without it.
impl ser::StdError for ArgsError {}

impl ser::Error for ArgsError {
    fn custom<T: Display>(message: T) -> Self {
        ArgsError::Serialize(message.to_string())
    }
}

impl de::Error for ArgsError {
    fn custom<T: Display>(message: T) -> Self {
        ArgsError::Deserialize(message.to_string())
    }
}

pub(super) fn json_error(error: serde_json::Error) -> ArgsError {
    ArgsError::Deserialize(error.to_string())
}

/// Whether some object key in `text` could decode to `_placeholder`: only
/// a `\u` escape can spell one of its characters.
pub(super) fn may_hold_placeholder(text: &str) -> bool {
    text.contains("_placeholder") || text.contains("\\u")
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeMap;
    use alloc::vec;
    use alloc::vec::Vec;
    use serde::Serialize;

    fn encode_one<T: Serialize + ?Sized>(value: &T) -> String {
        let (data, attachments) = encode_args(None, &(value,)).unwrap();
        assert!(attachments.is_empty());
        let text = data.as_str();
        text[1..text.len() - 1].into()
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let mut all = String::new();
        for c in (0u32..0x800).filter_map(char::from_u32) {
            all.push(c);
            assert_eq!(encode_one(&c), serde_json::to_string(&c).unwrap(), "{c:?}");
        }
        all.push_str("\u{ffff}\u{10ffff}\u{1f600}");
        assert_eq!(encode_one(&all), serde_json::to_string(&all).unwrap());
    }

    #[test]
    fn floats_are_formatted_as_serde_json_formats_them() {
        for f in [
            0.0,
            -0.0,
            1.0,
            0.1,
            1e20,
            1e21,
            1.5e-7,
            f64::MAX,
            f64::MIN_POSITIVE,
            5e-324,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ] {
            assert_eq!(encode_one(&f), serde_json::to_string(&f).unwrap(), "{f}");
            let g = f as f32;
            assert_eq!(encode_one(&g), serde_json::to_string(&g).unwrap(), "{g}");
        }
    }

    #[test]
    fn map_keys_follow_serde_json() {
        let mut map = BTreeMap::new();
        map.insert(1.5f64.to_bits(), 'x');
        let keys: Vec<(String, u8)> = vec![("a\"b".into(), 1)];
        let by_char: BTreeMap<char, u8> = [('k', 1)].into();
        let by_bool: BTreeMap<bool, u8> = [(true, 1), (false, 2)].into();
        let by_int: BTreeMap<i128, u8> = [(-5, 1), (i128::MAX, 2)].into();
        let keys: BTreeMap<String, u8> = keys.into_iter().collect();
        assert_eq!(encode_one(&keys), serde_json::to_string(&keys).unwrap());
        assert_eq!(
            encode_one(&by_char),
            serde_json::to_string(&by_char).unwrap()
        );
        assert_eq!(
            encode_one(&by_bool),
            serde_json::to_string(&by_bool).unwrap()
        );
        assert_eq!(encode_one(&by_int), serde_json::to_string(&by_int).unwrap());
        assert_eq!(encode_one(&map), serde_json::to_string(&map).unwrap());
    }

    #[test]
    fn placeholder_detection_is_conservative() {
        assert!(!may_hold_placeholder("[{\"placeholder\":true,\"num\":0}]"));
        assert!(may_hold_placeholder("{\"_placeholder\":true}"));
        assert!(may_hold_placeholder("{\"\\u005fplaceholder\":true}"));
    }
}
