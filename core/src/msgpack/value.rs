//! The JavaScript values that cross between nodes, and their MessagePack
//! form exactly as notepack.io (the reference adapter's default parser)
//! writes it: the smallest width for integers, float64 for every
//! non-integral number, `bin 8/16/32` for buffers (never a fixed form),
//! map keys as strings in insertion order.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use bytes::Bytes;

/// A value as notepack.io encodes a JavaScript value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null` (and `undefined` inside arrays, which notepack writes as nil).
    Nil,
    /// `true` / `false`.
    Bool(bool),
    /// An integral number. JavaScript has only doubles: notepack writes
    /// every integral, finite number as the narrowest MessagePack integer.
    Int(i64),
    /// A non-integral or non-finite number (float64 on the wire).
    Float(f64),
    /// A string.
    Str(String),
    /// A `Buffer` / typed array.
    Bin(Bytes),
    /// An array.
    Array(Vec<Value>),
    /// An object: string keys in insertion order. notepack leaves out
    /// properties whose value is `undefined` or a function.
    Map(Vec<(String, Value)>),
    /// A MessagePack extension (notepack writes `Date` as the timestamp
    /// extension, type -1): type and payload.
    Ext(i8, Bytes),
}

impl Value {
    /// A JavaScript number: integral finite values become [`Value::Int`]
    /// (as notepack encodes them), the others [`Value::Float`].
    pub fn number(number: f64) -> Value {
        match integral(number) {
            Some(int) => Value::Int(int),
            None => Value::Float(number),
        }
    }

    /// A string value.
    pub fn str(text: impl Into<String>) -> Value {
        Value::Str(text.into())
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(text) => Some(text),
            _ => None,
        }
    }

    /// The integer, if this is one.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(int) => Some(*int),
            _ => None,
        }
    }

    /// The elements, if this is an array.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The entries, if this is a map.
    pub fn as_map(&self) -> Option<&[(String, Value)]> {
        match self {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The value of the entry named `key`, if this is a map that has one
    /// (the last one, as JavaScript keeps the last of duplicate keys).
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_map()?
            .iter()
            .rev()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value)
    }
}

/// `number` as an i64 when it is integral, finite and in range.
fn integral(number: f64) -> Option<i64> {
    // 2^63 exactly: the first double out of i64's range.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    let in_range = (-LIMIT..LIMIT).contains(&number);
    // `number % 1.0` is 0 for integral values (also -0.0, which notepack
    // writes as 0 since `-0 >= 0` in JavaScript).
    (in_range && number % 1.0 == 0.0).then_some(number as i64)
}

/// A value too large for MessagePack's 32-bit lengths; the caller's fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooLarge;

impl fmt::Display for TooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, buffer, array or map longer than 2^32-1")
    }
}

/// Why bytes are not a MessagePack value; the peer's fault.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ends inside a value.
    Truncated,
    /// The reserved byte `0xc1`.
    Reserved,
    /// Bytes left after the value (their count).
    TrailingBytes(usize),
    /// Arrays and maps nested deeper than the limit.
    TooDeep,
    /// A map key that is not a string.
    NonStringKey,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated => f.write_str("truncated MessagePack value"),
            DecodeError::Reserved => f.write_str("reserved MessagePack byte 0xc1"),
            DecodeError::TrailingBytes(count) => write!(f, "{count} trailing bytes"),
            DecodeError::TooDeep => f.write_str("MessagePack value nested too deep"),
            DecodeError::NonStringKey => f.write_str("MessagePack map key is not a string"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for DecodeError {}
#[cfg(feature = "std")]
impl std::error::Error for TooLarge {}

/// How deep [`decode`] lets arrays and maps nest.
pub const MAX_DEPTH: usize = 64;

/// Elements reserved up front per array or map: a claimed length only
/// proves one byte per element, so nested claims must not each reserve
/// their full count (the vectors grow as elements really arrive).
const PREALLOCATE: usize = 64;

/// Appends the MessagePack bytes of `value` to `out`, as notepack.io writes them.
pub fn encode(value: &Value, out: &mut Vec<u8>) -> Result<(), TooLarge> {
    match value {
        Value::Nil => out.push(0xc0),
        Value::Bool(flag) => out.push(if *flag { 0xc3 } else { 0xc2 }),
        Value::Int(int) => encode_int(*int, out),
        Value::Float(number) => match integral(*number) {
            Some(int) => encode_int(int, out),
            None => {
                out.push(0xcb);
                out.extend_from_slice(&number.to_be_bytes());
            }
        },
        Value::Str(text) => {
            encode_len(text.len(), Some((0xa0, 32)), [0xd9, 0xda, 0xdb], out)?;
            out.extend_from_slice(text.as_bytes());
        }
        Value::Bin(data) => {
            encode_len(data.len(), None, [0xc4, 0xc5, 0xc6], out)?;
            out.extend_from_slice(data);
        }
        Value::Array(items) => {
            encode_collection_len(items.len(), 0x90, [0xdc, 0xdd], out)?;
            for item in items {
                encode(item, out)?;
            }
        }
        Value::Map(entries) => {
            encode_collection_len(entries.len(), 0x80, [0xde, 0xdf], out)?;
            for (key, item) in entries {
                encode(&Value::Str(key.clone()), out)?;
                encode(item, out)?;
            }
        }
        Value::Ext(kind, data) => encode_ext(*kind, data, out)?,
    }
    Ok(())
}

/// The bytes of `value` in a new buffer.
pub fn to_vec(value: &Value) -> Result<Vec<u8>, TooLarge> {
    let mut out = Vec::new();
    encode(value, &mut out)?;
    Ok(out)
}

fn encode_int(int: i64, out: &mut Vec<u8>) {
    // Each arm's range check makes its narrowing cast exact.
    match int {
        0..=0x7f => out.push(int as u8),
        0x80..=0xff => out.extend_from_slice(&[0xcc, int as u8]),
        0x100..=0xffff => {
            out.push(0xcd);
            out.extend_from_slice(&(int as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(0xce);
            out.extend_from_slice(&(int as u32).to_be_bytes());
        }
        0x1_0000_0000.. => {
            out.push(0xcf);
            out.extend_from_slice(&(int as u64).to_be_bytes());
        }
        -0x20..=-1 => out.push(int as i8 as u8),
        -0x80..=-0x21 => out.extend_from_slice(&[0xd0, int as i8 as u8]),
        -0x8000..=-0x81 => {
            out.push(0xd1);
            out.extend_from_slice(&(int as i16).to_be_bytes());
        }
        -0x8000_0000..=-0x8001 => {
            out.push(0xd2);
            out.extend_from_slice(&(int as i32).to_be_bytes());
        }
        _ => {
            out.push(0xd3);
            out.extend_from_slice(&int.to_be_bytes());
        }
    }
}

/// A str/bin length: the fixed form (marker base, exclusive limit) when
/// there is one, else 8-, 16- or 32-bit.
fn encode_len(
    len: usize,
    fixed: Option<(u8, usize)>,
    markers: [u8; 3],
    out: &mut Vec<u8>,
) -> Result<(), TooLarge> {
    match (
        fixed,
        u8::try_from(len),
        u16::try_from(len),
        u32::try_from(len),
    ) {
        (Some((base, limit)), Ok(short), _, _) if len < limit => out.push(base | short),
        (_, Ok(short), _, _) => out.extend_from_slice(&[markers[0], short]),
        (_, _, Ok(medium), _) => {
            out.push(markers[1]);
            out.extend_from_slice(&medium.to_be_bytes());
        }
        (_, _, _, Ok(long)) => {
            out.push(markers[2]);
            out.extend_from_slice(&long.to_be_bytes());
        }
        _ => return Err(TooLarge),
    }
    Ok(())
}

/// An array/map length: fixed form below 16, else 16- or 32-bit.
fn encode_collection_len(
    len: usize,
    fixed: u8,
    markers: [u8; 2],
    out: &mut Vec<u8>,
) -> Result<(), TooLarge> {
    match (u8::try_from(len), u16::try_from(len), u32::try_from(len)) {
        (Ok(short), _, _) if short < 16 => out.push(fixed | short),
        (_, Ok(medium), _) => {
            out.push(markers[0]);
            out.extend_from_slice(&medium.to_be_bytes());
        }
        (_, _, Ok(long)) => {
            out.push(markers[1]);
            out.extend_from_slice(&long.to_be_bytes());
        }
        _ => return Err(TooLarge),
    }
    Ok(())
}

fn encode_ext(kind: i8, data: &[u8], out: &mut Vec<u8>) -> Result<(), TooLarge> {
    let fixed = match data.len() {
        1 => Some(0xd4),
        2 => Some(0xd5),
        4 => Some(0xd6),
        8 => Some(0xd7),
        16 => Some(0xd8),
        _ => None,
    };
    match fixed {
        Some(marker) => out.push(marker),
        None => encode_len(data.len(), None, [0xc7, 0xc8, 0xc9], out)?,
    }
    out.push(kind as u8);
    out.extend_from_slice(data);
    Ok(())
}

/// Decodes one MessagePack value that fills `input` exactly, the way
/// notepack.io reads it. Buffers are slices of `input` (no copy). The
/// decoded tree takes memory proportional to `input` (a few dozen bytes
/// per element): bound the message size before decoding.
pub fn decode(input: &Bytes) -> Result<Value, DecodeError> {
    let mut reader = Reader {
        input,
        pos: 0,
        depth: 0,
    };
    let value = reader.value()?;
    match input.len().saturating_sub(reader.pos) {
        0 => Ok(value),
        trailing => Err(DecodeError::TrailingBytes(trailing)),
    }
}

struct Reader<'a> {
    input: &'a Bytes,
    pos: usize,
    depth: usize,
}

impl Reader<'_> {
    fn take(&mut self, count: usize) -> Result<&[u8], DecodeError> {
        let end = self.pos.checked_add(count).ok_or(DecodeError::Truncated)?;
        let slice = self
            .input
            .get(self.pos..end)
            .ok_or(DecodeError::Truncated)?;
        self.pos = end;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn byte(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }

    fn bytes(&mut self, count: usize) -> Result<Bytes, DecodeError> {
        let start = self.pos;
        self.take(count)?;
        Ok(self.input.slice(start..self.pos))
    }

    fn len8(&mut self) -> Result<usize, DecodeError> {
        Ok(usize::from(self.byte()?))
    }

    fn len16(&mut self) -> Result<usize, DecodeError> {
        Ok(usize::from(u16::from_be_bytes(self.array()?)))
    }

    fn len32(&mut self) -> Result<usize, DecodeError> {
        usize::try_from(u32::from_be_bytes(self.array()?)).map_err(|_| DecodeError::Truncated)
    }

    fn string(&mut self, len: usize) -> Result<Value, DecodeError> {
        // Node's `buffer.toString("utf8")` replaces invalid sequences.
        let text = String::from_utf8_lossy(self.take(len)?).into_owned();
        Ok(Value::Str(text))
    }

    fn value(&mut self) -> Result<Value, DecodeError> {
        let marker = self.byte()?;
        match marker {
            0x00..=0x7f => Ok(Value::Int(i64::from(marker))),
            0x80..=0x8f => self.map(usize::from(marker & 0x0f)),
            0x90..=0x9f => self.list(usize::from(marker & 0x0f)),
            0xa0..=0xbf => self.string(usize::from(marker & 0x1f)),
            0xe0..=0xff => Ok(Value::Int(i64::from(marker as i8))),
            0xc0 => Ok(Value::Nil),
            0xc1 => Err(DecodeError::Reserved),
            0xc2 => Ok(Value::Bool(false)),
            0xc3 => Ok(Value::Bool(true)),
            0xc4 => self.len8().and_then(|len| self.bytes(len)).map(Value::Bin),
            0xc5 => self.len16().and_then(|len| self.bytes(len)).map(Value::Bin),
            0xc6 => self.len32().and_then(|len| self.bytes(len)).map(Value::Bin),
            0xc7 => self.len8().and_then(|len| self.ext(len)),
            0xc8 => self.len16().and_then(|len| self.ext(len)),
            0xc9 => self.len32().and_then(|len| self.ext(len)),
            0xca => Ok(Value::number(f64::from(f32::from_be_bytes(self.array()?)))),
            0xcb => Ok(Value::number(f64::from_be_bytes(self.array()?))),
            0xcc => Ok(Value::Int(i64::from(self.byte()?))),
            0xcd => Ok(Value::Int(i64::from(u16::from_be_bytes(self.array()?)))),
            0xce => Ok(Value::Int(i64::from(u32::from_be_bytes(self.array()?)))),
            0xcf => {
                let int = u64::from_be_bytes(self.array()?);
                // JavaScript reads it as a double; beyond i64 so do we.
                Ok(i64::try_from(int).map_or(Value::Float(int as f64), Value::Int))
            }
            0xd0 => Ok(Value::Int(i64::from(i8::from_be_bytes(self.array()?)))),
            0xd1 => Ok(Value::Int(i64::from(i16::from_be_bytes(self.array()?)))),
            0xd2 => Ok(Value::Int(i64::from(i32::from_be_bytes(self.array()?)))),
            0xd3 => Ok(Value::Int(i64::from_be_bytes(self.array()?))),
            0xd4 => self.fixext(1),
            0xd5 => self.fixext(2),
            0xd6 => self.fixext(4),
            0xd7 => self.fixext(8),
            0xd8 => self.fixext(16),
            0xd9 => self.len8().and_then(|len| self.string(len)),
            0xda => self.len16().and_then(|len| self.string(len)),
            0xdb => self.len32().and_then(|len| self.string(len)),
            0xdc => self.len16().and_then(|len| self.list(len)),
            0xdd => self.len32().and_then(|len| self.list(len)),
            0xde => self.len16().and_then(|len| self.map(len)),
            0xdf => self.len32().and_then(|len| self.map(len)),
        }
    }

    /// `ext 8/16/32`: notepack reads type 0 as a plain buffer (its old
    /// ArrayBuffer encoding).
    fn ext(&mut self, len: usize) -> Result<Value, DecodeError> {
        let kind = self.byte()? as i8;
        let data = self.bytes(len)?;
        Ok(match kind {
            0 => Value::Bin(data),
            _ => Value::Ext(kind, data),
        })
    }

    /// `fixext`: notepack reads `fixext 1` of type 0 as `undefined`.
    fn fixext(&mut self, len: usize) -> Result<Value, DecodeError> {
        let kind = self.byte()? as i8;
        let data = self.bytes(len)?;
        Ok(match (kind, len) {
            (0, 1) => Value::Nil,
            _ => Value::Ext(kind, data),
        })
    }

    fn remaining(&self) -> usize {
        self.input.len().saturating_sub(self.pos)
    }

    fn enter(&mut self, len: usize, min_item_bytes: usize) -> Result<(), DecodeError> {
        // Every element takes at least one byte: a count beyond what is
        // left is a lie, refused before any allocation.
        if len.saturating_mul(min_item_bytes) > self.remaining() {
            return Err(DecodeError::Truncated);
        }
        if self.depth >= MAX_DEPTH {
            return Err(DecodeError::TooDeep);
        }
        self.depth += 1;
        Ok(())
    }

    fn list(&mut self, len: usize) -> Result<Value, DecodeError> {
        self.enter(len, 1)?;
        let mut items = Vec::with_capacity(len.min(PREALLOCATE));
        for _ in 0..len {
            items.push(self.value()?);
        }
        self.depth -= 1;
        Ok(Value::Array(items))
    }

    fn map(&mut self, len: usize) -> Result<Value, DecodeError> {
        self.enter(len, 2)?;
        let mut entries = Vec::with_capacity(len.min(PREALLOCATE));
        for _ in 0..len {
            let key = match self.value()? {
                Value::Str(key) => key,
                _ => return Err(DecodeError::NonStringKey),
            };
            entries.push((key, self.value()?));
        }
        self.depth -= 1;
        Ok(Value::Map(entries))
    }
}
