//! Typed argument decoding: arbitrary text as packet data, with a few
//! attachments. Nothing may panic; whatever decodes into a binary-holding
//! struct must re-encode and decode to the same value.
//!
//! Input layout: one byte whose low 2 bits say how many attachments
//! (1 to 3 bytes each, taken from the end of the input), then the text
//! (decoded lossily).
#![no_main]

use std::fmt;

use bytes::Bytes;
use bytestring::ByteString;
use libfuzzer_sys::fuzz_target;
use serde::de::{SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use sio_core::packet::{decode_args, encode_args, RawJson};

/// Binary through `serialize_bytes` / `deserialize_byte_buf`, like `Bytes`.
#[derive(Debug, Clone, PartialEq)]
struct Bin(Bytes);

impl Serialize for Bin {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Bin {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_byte_buf(BinVisitor)
    }
}

struct BinVisitor;

impl<'de> Visitor<'de> for BinVisitor {
    type Value = Bin;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("bytes")
    }
    fn visit_bytes<E>(self, v: &[u8]) -> Result<Bin, E> {
        Ok(Bin(Bytes::copy_from_slice(v)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Bin, A::Error> {
        let mut bytes = Vec::new();
        while let Some(byte) = seq.next_element::<u8>()? {
            bytes.push(byte);
        }
        Ok(Bin(bytes.into()))
    }
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
enum Kind {
    A,
    B(u8),
    C { x: bool, data: Bin },
}

/// No floats: serde_json's default float parsing may be 1 ULP off, which
/// would fail the round trip for reasons that are not ours.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Small {
    #[serde(default)]
    name: String,
    #[serde(default)]
    count: Option<i64>,
    #[serde(default)]
    data: Option<Bin>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    kind: Option<Kind>,
}

type Typed = (Option<Small>, Option<Bin>, Option<Vec<Kind>>);

fn split(input: &[u8]) -> (String, Vec<Bytes>) {
    let Some((&config, mut rest)) = input.split_first() else {
        return (String::new(), Vec::new());
    };
    let mut attachments = Vec::new();
    for _ in 0..(config & 3) {
        let len = rest.len().min(usize::from((config >> 2) & 3) + 1);
        let (head, tail) = rest.split_at(rest.len() - len);
        attachments.push(Bytes::copy_from_slice(tail));
        rest = head;
    }
    (String::from_utf8_lossy(rest).into_owned(), attachments)
}

fuzz_target!(|input: &[u8]| {
    let (text, attachments) = split(input);
    let Ok(data) = RawJson::parse(ByteString::from(text)) else {
        return;
    };
    if data.array_elements().is_none() {
        return;
    }
    for skip_event in [false, true] {
        let _ = decode_args::<Value>(&data, skip_event, &attachments);
        let _ = decode_args::<(Value, Value)>(&data, skip_event, &attachments);
        let _ = decode_args::<()>(&data, skip_event, &attachments);
        if let Ok(typed) = decode_args::<Typed>(&data, skip_event, &attachments) {
            let (again, again_attachments) =
                encode_args(None, &typed).expect("decoded values re-encode");
            assert_eq!(
                decode_args::<Typed>(&again, false, &again_attachments),
                Ok(typed)
            );
        }
    }
});
