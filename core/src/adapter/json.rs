//! [`Value`] as JSON: how the reference adapter's `JSON.stringify`
//! requests look, and how a broadcast's data maps to a Socket.IO packet's
//! JSON text with `{"_placeholder":true,"num":N}` for each buffer.

use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::fmt;

use bytes::Bytes;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use super::value::Value;

/// How buffers are written.
#[derive(Clone, Copy)]
enum Buffers<'a> {
    /// As `JSON.stringify` writes a Node `Buffer`: `{"type":"Buffer","data":[...]}`.
    Node,
    /// As Socket.IO placeholders, collecting the buffers in order.
    Placeholders(&'a RefCell<Vec<Bytes>>),
}

struct Json<'a> {
    value: &'a Value,
    buffers: Buffers<'a>,
}

impl Json<'_> {
    fn child<'b>(&'b self, value: &'b Value) -> Json<'b> {
        Json {
            value,
            buffers: self.buffers,
        }
    }
}

impl Serialize for Json<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.value {
            // `JSON.stringify` has no form for a Date's extension here; it
            // never reaches a JSON request in practice.
            Value::Nil | Value::Ext(..) => serializer.serialize_unit(),
            Value::Bool(flag) => serializer.serialize_bool(*flag),
            Value::Int(int) => serializer.serialize_i64(*int),
            Value::Float(number) => match Value::number(*number) {
                Value::Int(int) => serializer.serialize_i64(int),
                // serde_json writes NaN and infinities as null, as JSON.stringify.
                _ => serializer.serialize_f64(*number),
            },
            Value::Str(text) => serializer.serialize_str(text),
            Value::Bin(data) => self.serialize_buffer(data, serializer),
            Value::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&self.child(item))?;
                }
                seq.end()
            }
            Value::Map(entries) => {
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (key, item) in entries {
                    map.serialize_entry(key, &self.child(item))?;
                }
                map.end()
            }
        }
    }
}

impl Json<'_> {
    fn serialize_buffer<S: Serializer>(
        &self,
        data: &Bytes,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match self.buffers {
            Buffers::Node => {
                let mut map = serializer.serialize_map(Some(2))?;
                map.serialize_entry("type", "Buffer")?;
                map.serialize_entry("data", &data[..])?;
                map.end()
            }
            Buffers::Placeholders(collected) => {
                let num = {
                    let mut collected = collected.borrow_mut();
                    collected.push(data.clone());
                    collected.len() - 1
                };
                let mut map = serializer.serialize_map(Some(2))?;
                map.serialize_entry("_placeholder", &true)?;
                map.serialize_entry("num", &num)?;
                map.end()
            }
        }
    }
}

/// `value` as `JSON.stringify` writes it (buffers as `{"type":"Buffer","data":[...]}`).
pub fn to_json(value: &Value) -> String {
    let json = Json {
        value,
        buffers: Buffers::Node,
    };
    // Serializing into a String cannot fail: keys are strings, no I/O.
    serde_json::to_string(&json).unwrap_or_default()
}

/// `value` as a Socket.IO packet's JSON text, each buffer replaced by a
/// placeholder, with the buffers in placeholder order.
pub fn to_packet_json(value: &Value) -> (String, Vec<Bytes>) {
    let collected = RefCell::new(Vec::new());
    let json = Json {
        value,
        buffers: Buffers::Placeholders(&collected),
    };
    let text = serde_json::to_string(&json).unwrap_or_default();
    (text, collected.into_inner())
}

/// Why JSON text is not an adapter value; the peer's fault.
#[derive(Debug)]
#[non_exhaustive]
pub enum JsonError {
    /// Not JSON.
    Syntax(serde_json::Error),
    /// A placeholder whose `num` names no attachment.
    BadPlaceholder,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsonError::Syntax(err) => write!(f, "invalid JSON: {err}"),
            JsonError::BadPlaceholder => f.write_str("placeholder for a missing attachment"),
        }
    }
}

impl PartialEq for JsonError {
    fn eq(&self, other: &JsonError) -> bool {
        match (self, other) {
            (JsonError::Syntax(a), JsonError::Syntax(b)) => {
                a.line() == b.line() && a.column() == b.column() && a.classify() == b.classify()
            }
            (JsonError::BadPlaceholder, JsonError::BadPlaceholder) => true,
            _ => false,
        }
    }
}

/// Parses JSON text into a value, keeping object keys in their order.
pub fn from_json(text: &str) -> Result<Value, JsonError> {
    serde_json::from_str(text).map_err(JsonError::Syntax)
}

/// Parses a Socket.IO packet's JSON text, putting `attachments` back in
/// place of their placeholders (as socket.io-parser reconstructs them).
pub fn from_packet_json(text: &str, attachments: &[Bytes]) -> Result<Value, JsonError> {
    let mut value = from_json(text)?;
    fill_placeholders(&mut value, attachments)?;
    Ok(value)
}

fn fill_placeholders(value: &mut Value, attachments: &[Bytes]) -> Result<(), JsonError> {
    if let Some(num) = placeholder_num(value) {
        let data = usize::try_from(num)
            .ok()
            .and_then(|num| attachments.get(num))
            .ok_or(JsonError::BadPlaceholder)?;
        *value = Value::Bin(data.clone());
        return Ok(());
    }
    match value {
        Value::Array(items) => items
            .iter_mut()
            .try_for_each(|item| fill_placeholders(item, attachments)),
        Value::Map(entries) => entries
            .iter_mut()
            .try_for_each(|(_, item)| fill_placeholders(item, attachments)),
        _ => Ok(()),
    }
}

/// The `num` of a `{"_placeholder":true,"num":N}` object.
fn placeholder_num(value: &Value) -> Option<i64> {
    match value.get("_placeholder") {
        Some(Value::Bool(true)) => value.get("num")?.as_i64(),
        _ => None,
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Nil)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Nil)
    }

    fn visit_bool<E: de::Error>(self, flag: bool) -> Result<Value, E> {
        Ok(Value::Bool(flag))
    }

    fn visit_i64<E: de::Error>(self, int: i64) -> Result<Value, E> {
        Ok(Value::Int(int))
    }

    fn visit_u64<E: de::Error>(self, int: u64) -> Result<Value, E> {
        // JSON.parse reads it as a double; beyond i64 so do we.
        Ok(i64::try_from(int).map_or(Value::Float(int as f64), Value::Int))
    }

    fn visit_f64<E: de::Error>(self, number: f64) -> Result<Value, E> {
        Ok(Value::number(number))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Value, E> {
        Ok(Value::Str(text.into()))
    }

    fn visit_string<E: de::Error>(self, text: String) -> Result<Value, E> {
        Ok(Value::Str(text))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        // Duplicate keys stay (in order); lookups take the last one, as
        // JSON.parse does. Deduplicating here would cost quadratic time.
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry::<String, Value>()? {
            entries.push(entry);
        }
        Ok(Value::Map(entries))
    }
}
