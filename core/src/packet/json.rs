//! [`RawJson`]: JSON text kept exactly as it came, so arguments are
//! re-emitted byte for byte (key order included) and never re-encoded.

use alloc::vec::Vec;
use bytestring::ByteString;

use super::PacketError;

/// Compact JSON text, checked to be one JSON value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RawJson(ByteString);

impl RawJson {
    /// Checks that `text` is exactly one JSON value (surrounding whitespace allowed).
    pub fn parse(text: ByteString) -> Result<RawJson, PacketError> {
        let _ = text;
        todo!()
    }

    /// Serializes `value` compactly.
    pub fn from_serialize<T: serde::Serialize + ?Sized>(
        value: &T,
    ) -> Result<RawJson, serde_json::Error> {
        let _ = value;
        todo!()
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text of each element when the value is an array, `None` otherwise.
    /// Slices point into this value; nothing is copied.
    pub fn array_elements(&self) -> Option<Vec<&str>> {
        todo!()
    }

    /// For `["name", ...]`: the event name.
    pub fn event_name(&self) -> Option<alloc::borrow::Cow<'_, str>> {
        todo!()
    }

    /// The underlying shared string.
    pub fn into_inner(self) -> ByteString {
        self.0
    }
}
