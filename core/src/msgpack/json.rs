//! [`Value`] as JSON: how the reference adapter's `JSON.stringify`
//! requests look, and how a packet's data (an adapter broadcast's, a
//! MessagePack parser's) maps to a Socket.IO packet's
//! JSON text with `{"_placeholder":true,"num":N}` for each buffer.

use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::fmt;

use bytes::Bytes;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use super::timestamp;
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
            Value::Nil => serializer.serialize_unit(),
            Value::Ext(kind, data) => self.serialize_ext(*kind, data, serializer),
            Value::Bool(flag) => serializer.serialize_bool(*flag),
            Value::Int(int) => serializer.serialize_i64(*int),
            Value::Float(number) => match Value::number(*number) {
                Value::Int(int) => serializer.serialize_i64(int),
                _ => serialize_js_number(*number, serializer),
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
    /// notepack reads the timestamp extension (-1) as a `Date`, which
    /// `JSON.stringify` writes as its ISO string (null when invalid), and
    /// any other extension as `[type, Buffer]`.
    fn serialize_ext<S: Serializer>(
        &self,
        kind: i8,
        data: &Bytes,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        if kind == -1 {
            return match timestamp::iso_string(data) {
                Some(iso) => serializer.serialize_str(&iso),
                None => serializer.serialize_unit(),
            };
        }
        let pair = [Value::Int(i64::from(kind)), Value::Bin(data.clone())];
        let mut seq = serializer.serialize_seq(Some(2))?;
        for item in &pair {
            seq.serialize_element(&self.child(item))?;
        }
        seq.end()
    }

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

/// A non-integral number as JavaScript writes it (`Number#toString`:
/// shortest digits, plain notation from 1e-7 to 1e21), NaN and infinities
/// as null as `JSON.stringify` does.
fn serialize_js_number<S: Serializer>(number: f64, serializer: S) -> Result<S::Ok, S::Error> {
    if !number.is_finite() {
        return serializer.serialize_unit();
    }
    let text = js_number(number);
    match serde_json::value::RawValue::from_string(text) {
        Ok(raw) => raw.serialize(serializer),
        Err(_) => serializer.serialize_f64(number),
    }
}

/// `number` (finite) in JavaScript's layout, from serde_json's (ryu's)
/// shortest digits.
pub(crate) fn js_number(number: f64) -> String {
    let shortest = serde_json::to_string(&number).unwrap_or_default();
    let (negative, unsigned) = match shortest.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, shortest.as_str()),
    };
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (mantissa, exponent.parse::<i32>().unwrap_or(0)),
        None => (unsigned, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let mut digits: String = [whole, fraction].concat();
    // The value is 0.DIGITS x 10^point.
    let mut point = i32::try_from(whole.len()).unwrap_or(0) + exponent;
    while digits.starts_with('0') && digits.len() > 1 {
        digits.remove(0);
        point -= 1;
    }
    while digits.ends_with('0') && digits.len() > 1 {
        digits.pop();
    }
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    lay_out_digits(&digits, point, &mut out);
    out
}

/// ECMAScript's Number::toString layout of 0.DIGITS x 10^point.
fn lay_out_digits(digits: &str, point: i32, out: &mut String) {
    let count = i32::try_from(digits.len()).unwrap_or(i32::MAX);
    let zeros = |n: i32| "0".repeat(usize::try_from(n).unwrap_or(0));
    if count <= point && point <= 21 {
        out.push_str(digits);
        out.push_str(&zeros(point - count));
    } else if 0 < point && point <= 21 {
        let (whole, fraction) = digits.split_at(usize::try_from(point).unwrap_or(0));
        out.push_str(whole);
        out.push('.');
        out.push_str(fraction);
    } else if -6 < point && point <= 0 {
        out.push_str("0.");
        out.push_str(&zeros(-point));
        out.push_str(digits);
    } else {
        let (first, rest) = digits.split_at(1);
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        let exponent = point - 1;
        out.push('e');
        out.push(if exponent < 0 { '-' } else { '+' });
        out.push_str(&alloc::format!("{}", exponent.unsigned_abs()));
    }
}

/// `value` as `JSON.stringify` writes it: buffers as
/// `{"type":"Buffer","data":[...]}`, numbers as JavaScript prints them,
/// timestamps (Dates) as ISO strings.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_as_javascript_prints_them() {
        // Expected strings from Node's Number#toString.
        let table: &[(f64, &str)] = &[
            (0.000001, "0.000001"),
            (1.5e-7, "1.5e-7"),
            (123.456, "123.456"),
            (-0.1, "-0.1"),
            (1e21, "1e+21"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1.25, "1.25"),
        ];
        for (number, expected) in table {
            assert_eq!(js_number(*number), *expected, "{number:e}");
        }
    }

    #[test]
    fn json_of_floats_dates_and_extensions() {
        let value = Value::Array(alloc::vec![
            Value::Float(0.000001),
            Value::Float(f64::NAN),
            Value::Float(2.0),
            Value::Ext(-1, Bytes::from_static(&[0, 0, 0, 0])),
            Value::Ext(3, Bytes::from_static(&[9])),
        ]);
        assert_eq!(
            to_json(&value),
            r#"[0.000001,null,2,"1970-01-01T00:00:00.000Z",[3,{"type":"Buffer","data":[9]}]]"#
        );
        let (text, attachments) = to_packet_json(&value);
        assert_eq!(
            text,
            r#"[0.000001,null,2,"1970-01-01T00:00:00.000Z",[3,{"_placeholder":true,"num":0}]]"#
        );
        assert_eq!(attachments, alloc::vec![Bytes::from_static(&[9])]);
    }

    proptest::proptest! {
        #[test]
        fn js_numbers_read_back_exactly(number in proptest::num::f64::NORMAL | proptest::num::f64::SUBNORMAL) {
            let text = js_number(number);
            proptest::prop_assert_eq!(text.parse::<f64>().ok(), Some(number), "{}", text);
        }
    }
}
