//! Typed arguments: any `serde` value, binary (`serialize_bytes`, which is
//! what `bytes::Bytes` and `serde_bytes` use) at any depth, to a packet's
//! JSON data plus attachments ([`encode_args`]), and back ([`decode_args`]).
//!
//! Arguments whose text cannot hold a placeholder (no `_placeholder` and no
//! `\u` escape, which could spell the key) are deserialized by serde_json
//! straight from their text; the others are first parsed into a small tree
//! ([`Node`]) that borrows the text's unescaped strings and keeps object
//! keys in order and duplicated, and read from it with serde_json's rules
//! for a `&Value` (numbers, enums, numeric map keys), placeholders aside.

use alloc::borrow::Cow;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt::{self, Display, Write as _};

use bytes::Bytes;
use bytestring::ByteString;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, EnumAccess, IntoDeserializer, MapAccess,
    SeqAccess, Unexpected, VariantAccess, Visitor,
};
use serde::ser::{self, Impossible, Serialize, Serializer};

use super::RawJson;

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

fn json_error(error: serde_json::Error) -> ArgsError {
    ArgsError::Deserialize(error.to_string())
}

/// The data of an EVENT (`Some(event)`: `["event", ...args]`) or of an ACK
/// (`None`: `[...args]`), and its attachments in placeholder order, for
/// [`super::Packet::event`] or [`super::Packet::ack`] (which pick the
/// binary packet types when there are attachments).
///
/// As socket.io's `emit(event, ...args)`: a value that serializes as a
/// tuple (`(a, b)`, but also a fixed-size array `[T; N]`, which serde
/// serializes the same way) is spread, each element one argument; `()` is
/// no argument at all; anything else (a struct, a string, a `Vec`, a map, a
/// tuple struct, a number, an `Option`) is one argument.
///
/// Every value serialized with `serialize_bytes` (`bytes::Bytes`,
/// `serde_bytes`) becomes `{"_placeholder":true,"num":N}`, `N` counting from
/// 0 in depth-first order, and its bytes (copied: serde hands over a
/// slice) the attachment `N`. Everything else is written exactly as
/// `serde_json::to_string` writes it: compact, struct fields in declaration
/// order, map entries in iteration order, externally tagged enums,
/// non-finite floats as `null`, map keys that are strings, chars, bools or
/// numbers (the latter two as strings) and nothing else. A
/// `serde_json::value::RawValue` is copied in verbatim, as serde_json does;
/// it must hold no placeholders of its own.
///
/// Errors are [`ArgsError::Serialize`]: a failing `Serialize` impl, or a
/// map key JSON cannot hold (with serde_json's message).
pub fn encode_args<T: Serialize + ?Sized>(
    event: Option<&str>,
    args: &T,
) -> Result<(RawJson, Vec<Bytes>), ArgsError> {
    let mut out = Output {
        text: String::with_capacity(64),
        attachments: Vec::new(),
    };
    out.text.push('[');
    if let Some(event) = event {
        write_str_literal(&mut out.text, event);
    }
    args.serialize(ArgsSerializer {
        first: event.is_none(),
        out: &mut out,
    })?;
    out.text.push(']');
    let data = RawJson::from_trusted(ByteString::from(out.text));
    Ok((data, out.attachments))
}

/// Reads the arguments of `data` (its elements, after the first, the event
/// name, when `skip_event`) into `T`, binary values from `attachments`.
///
/// As a socket.io handler `(...args)`: a `T` that deserializes as a tuple
/// (`(A, B)`, `[T; N]`) takes the arguments in order; extra arguments are
/// ignored (as a JavaScript handler ignores them) and missing ones read as
/// JSON `null`, so trailing `Option`s become `None`. `()` takes any number
/// of arguments and ignores them. Any other `T` reads the first argument,
/// or `null` when there is none (so `Option<T>` gives `None`).
///
/// A placeholder is, as in the reference parser, an object whose
/// `_placeholder` is `true` (the last duplicate key wins, as in
/// `JSON.parse`); one whose `num` is not the index of an attachment,
/// anywhere in `data`, even in an argument `T` ignores, fails the whole
/// decode with [`ArgsError::BadPlaceholder`]. Where a placeholder stands,
/// a target asking for bytes (`Bytes`, `serde_bytes`) gets the attachment's
/// bytes; one asking for a sequence (`Vec<u8>`) or for anything
/// (`serde_json::Value`, untagged enums, flattened fields) gets them as a
/// sequence of `u8`, so a `Value` holds an array of numbers, as serde_json
/// writes bytes; `Option` gets `Some`; anything else a type error.
///
/// Otherwise values are read as serde_json reads them. One exception: a
/// `RawValue` target cannot read an argument holding `_placeholder` or a
/// `\u` escape.
pub fn decode_args<T: DeserializeOwned>(
    data: &RawJson,
    skip_event: bool,
    attachments: &[Bytes],
) -> Result<T, ArgsError> {
    let elements = data.array_elements().ok_or(ArgsError::NotAnArray)?;
    if may_hold_placeholder(data.as_str()) && !data.placeholders_fit(attachments.len()) {
        return Err(ArgsError::BadPlaceholder);
    }
    let args = if skip_event {
        elements.get(1..).ok_or(ArgsError::NoEventName)?
    } else {
        &elements[..]
    };
    T::deserialize(ArgsDeserializer { args, attachments })
}

/// Whether some object key in `text` could decode to `_placeholder`: only
/// a `\u` escape can spell one of its characters.
fn may_hold_placeholder(text: &str) -> bool {
    text.contains("_placeholder") || text.contains("\\u")
}

// ---------------------------------------------------------------------------
// Encoding

/// What the serializers write into.
struct Output {
    text: String,
    attachments: Vec<Bytes>,
}

/// The name of serde_json's raw value struct and of its one field.
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

/// Writes `value` with `Display` (integers: the same digits as serde_json).
fn write_display(text: &mut String, value: impl Display) {
    // Writing to a String cannot fail.
    let _ = write!(text, "{value}");
}

/// Writes a JSON string literal escaped as serde_json escapes it: `"`, `\`
/// and control characters only, short forms where JSON has them,
/// `\u00xx` (lowercase) for the rest.
fn write_str_literal(text: &mut String, value: &str) {
    text.reserve(value.len() + 2);
    text.push('"');
    let mut rest = value;
    while let Some(at) = rest.find(|c: char| c < ' ' || c == '"' || c == '\\') {
        let (run, tail) = rest.split_at(at);
        text.push_str(run);
        let mut chars = tail.chars();
        if let Some(c) = chars.next() {
            write_escape(text, c);
        }
        rest = chars.as_str();
    }
    text.push_str(rest);
    text.push('"');
}

fn write_escape(text: &mut String, c: char) {
    let short = match c {
        '"' => "\\\"",
        '\\' => "\\\\",
        '\u{8}' => "\\b",
        '\u{c}' => "\\f",
        '\n' => "\\n",
        '\r' => "\\r",
        '\t' => "\\t",
        _ => return write_display(text, format_args!("\\u{:04x}", u32::from(c))),
    };
    text.push_str(short);
}

/// serde_json's text for a finite `f64` (non-finite: `None`); no allocation.
fn write_f64(text: &mut String, value: f64) -> bool {
    match serde_json::Number::from_f64(value) {
        Some(number) => {
            write_display(text, number);
            true
        }
        None => false,
    }
}

/// serde_json's text for an `f32`: its shortest `f32` form, which only
/// serde_json's writer (not `Number`) produces, hence the allocation.
fn write_f32(text: &mut String, value: f32) -> Result<(), ArgsError> {
    let formatted =
        serde_json::to_string(&value).map_err(|e| ArgsError::Serialize(e.to_string()))?;
    text.push_str(&formatted);
    Ok(())
}

/// The top level: spreads tuples, drops `()`, makes anything else one argument.
struct ArgsSerializer<'o> {
    out: &'o mut Output,
    /// Whether nothing (no event name) precedes the first argument.
    first: bool,
}

impl<'o> ArgsSerializer<'o> {
    /// The serializer for the one argument `self` stands for.
    fn one(self) -> ValueSerializer<'o> {
        if !self.first {
            self.out.text.push(',');
        }
        ValueSerializer { out: self.out }
    }
}

/// Forwards scalar methods to [`ArgsSerializer::one`].
macro_rules! forward_to_one {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {
        $(fn $method(self, $($arg: $ty),*) -> Result<(), ArgsError> {
            self.one().$method($($arg),*)
        })*
    };
}

impl<'o> Serializer for ArgsSerializer<'o> {
    type Ok = ();
    type Error = ArgsError;
    type SerializeSeq = Compound<'o>;
    type SerializeTuple = Compound<'o>;
    type SerializeTupleStruct = Compound<'o>;
    type SerializeTupleVariant = Compound<'o>;
    type SerializeMap = Compound<'o>;
    type SerializeStruct = Compound<'o>;
    type SerializeStructVariant = Compound<'o>;

    forward_to_one! {
        serialize_bool(v: bool);
        serialize_i8(v: i8);
        serialize_i16(v: i16);
        serialize_i32(v: i32);
        serialize_i64(v: i64);
        serialize_i128(v: i128);
        serialize_u8(v: u8);
        serialize_u16(v: u16);
        serialize_u32(v: u32);
        serialize_u64(v: u64);
        serialize_u128(v: u128);
        serialize_f32(v: f32);
        serialize_f64(v: f64);
        serialize_char(v: char);
        serialize_str(v: &str);
        serialize_bytes(v: &[u8]);
        serialize_none();
        serialize_unit_struct(name: &'static str);
        serialize_unit_variant(name: &'static str, index: u32, variant: &'static str);
    }

    /// No arguments.
    fn serialize_unit(self) -> Result<(), ArgsError> {
        Ok(())
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), ArgsError> {
        self.one().serialize_some(value)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<(), ArgsError> {
        self.one().serialize_newtype_struct(name, value)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), ArgsError> {
        self.one()
            .serialize_newtype_variant(name, index, variant, value)
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<Compound<'o>, ArgsError> {
        self.one().serialize_seq(len)
    }

    /// One argument per element.
    fn serialize_tuple(self, _len: usize) -> Result<Compound<'o>, ArgsError> {
        Ok(Compound {
            out: self.out,
            first: self.first,
            close: "",
            raw: false,
        })
    }

    fn serialize_tuple_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Compound<'o>, ArgsError> {
        self.one().serialize_tuple_struct(name, len)
    }

    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Compound<'o>, ArgsError> {
        self.one()
            .serialize_tuple_variant(name, index, variant, len)
    }

    fn serialize_map(self, len: Option<usize>) -> Result<Compound<'o>, ArgsError> {
        self.one().serialize_map(len)
    }

    fn serialize_struct(self, name: &'static str, len: usize) -> Result<Compound<'o>, ArgsError> {
        self.one().serialize_struct(name, len)
    }

    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Compound<'o>, ArgsError> {
        self.one()
            .serialize_struct_variant(name, index, variant, len)
    }
}

/// One JSON value, as serde_json writes it, binary as placeholders.
struct ValueSerializer<'o> {
    out: &'o mut Output,
}

impl<'o> ValueSerializer<'o> {
    fn display(self, value: impl Display) -> Result<(), ArgsError> {
        write_display(&mut self.out.text, value);
        Ok(())
    }

    /// Opens a container that `close` ends.
    fn open(self, open: &str, close: &'static str) -> Compound<'o> {
        self.out.text.push_str(open);
        Compound {
            out: self.out,
            first: true,
            close,
            raw: false,
        }
    }

    /// Opens `{"variant":` + `open`; `close` must end both.
    fn open_variant(self, variant: &str, open: &str, close: &'static str) -> Compound<'o> {
        self.out.text.push('{');
        write_str_literal(&mut self.out.text, variant);
        self.out.text.push(':');
        self.open(open, close)
    }
}

impl<'o> Serializer for ValueSerializer<'o> {
    type Ok = ();
    type Error = ArgsError;
    type SerializeSeq = Compound<'o>;
    type SerializeTuple = Compound<'o>;
    type SerializeTupleStruct = Compound<'o>;
    type SerializeTupleVariant = Compound<'o>;
    type SerializeMap = Compound<'o>;
    type SerializeStruct = Compound<'o>;
    type SerializeStructVariant = Compound<'o>;

    fn serialize_bool(self, v: bool) -> Result<(), ArgsError> {
        self.display(v)
    }
    fn serialize_i8(self, v: i8) -> Result<(), ArgsError> {
        self.display(v)
    }
    fn serialize_i16(self, v: i16) -> Result<(), ArgsError> {
        self.display(v)
    }
    fn serialize_i32(self, v: i32) -> Result<(), ArgsError> {
        self.display(v)
    }
    fn serialize_i64(self, v: i64) -> Result<(), ArgsError> {
        self.display(v)
    }
    fn serialize_i128(self, v: i128) -> Result<(), ArgsError> {
        self.display(v)
    }
    fn serialize_u8(self, v: u8) -> Result<(), ArgsError> {
        self.display(v)
    }
    fn serialize_u16(self, v: u16) -> Result<(), ArgsError> {
        self.display(v)
    }
    fn serialize_u32(self, v: u32) -> Result<(), ArgsError> {
        self.display(v)
    }
    fn serialize_u64(self, v: u64) -> Result<(), ArgsError> {
        self.display(v)
    }
    fn serialize_u128(self, v: u128) -> Result<(), ArgsError> {
        self.display(v)
    }

    fn serialize_f32(self, v: f32) -> Result<(), ArgsError> {
        write_f32(&mut self.out.text, v)
    }

    fn serialize_f64(self, v: f64) -> Result<(), ArgsError> {
        if !write_f64(&mut self.out.text, v) {
            self.out.text.push_str("null");
        }
        Ok(())
    }

    fn serialize_char(self, v: char) -> Result<(), ArgsError> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }

    fn serialize_str(self, v: &str) -> Result<(), ArgsError> {
        write_str_literal(&mut self.out.text, v);
        Ok(())
    }

    /// A placeholder; the bytes become the next attachment.
    fn serialize_bytes(self, v: &[u8]) -> Result<(), ArgsError> {
        let num = self.out.attachments.len();
        write_display(
            &mut self.out.text,
            format_args!("{{\"_placeholder\":true,\"num\":{num}}}"),
        );
        self.out.attachments.push(Bytes::copy_from_slice(v));
        Ok(())
    }

    fn serialize_none(self) -> Result<(), ArgsError> {
        self.serialize_unit()
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), ArgsError> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), ArgsError> {
        self.out.text.push_str("null");
        Ok(())
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), ArgsError> {
        self.serialize_unit()
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), ArgsError> {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), ArgsError> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), ArgsError> {
        let compound = self.open_variant(variant, "", "}");
        value.serialize(ValueSerializer {
            out: &mut *compound.out,
        })?;
        ser::SerializeStruct::end(compound)
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'o>, ArgsError> {
        Ok(self.open("[", "]"))
    }

    fn serialize_tuple(self, _len: usize) -> Result<Compound<'o>, ArgsError> {
        Ok(self.open("[", "]"))
    }

    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Compound<'o>, ArgsError> {
        Ok(self.open("[", "]"))
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'o>, ArgsError> {
        Ok(self.open_variant(variant, "[", "]}"))
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'o>, ArgsError> {
        Ok(self.open("{", "}"))
    }

    fn serialize_struct(self, name: &'static str, _len: usize) -> Result<Compound<'o>, ArgsError> {
        if name == RAW_VALUE_TOKEN {
            return Ok(Compound {
                out: self.out,
                first: true,
                close: "",
                raw: true,
            });
        }
        Ok(self.open("{", "}"))
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'o>, ArgsError> {
        Ok(self.open_variant(variant, "{", "}}"))
    }
}

/// An open array or object (or the spread top-level tuple), written as its
/// elements arrive.
struct Compound<'o> {
    out: &'o mut Output,
    /// Whether no element has been written yet (no comma needed).
    first: bool,
    /// What ends it.
    close: &'static str,
    /// A serde_json `RawValue`: its one field is copied verbatim.
    raw: bool,
}

impl Compound<'_> {
    fn separate(&mut self) {
        if !self.first {
            self.out.text.push(',');
        }
        self.first = false;
    }

    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ArgsError> {
        self.separate();
        value.serialize(ValueSerializer {
            out: &mut *self.out,
        })
    }

    fn field<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), ArgsError> {
        if self.raw {
            return if key == RAW_VALUE_TOKEN {
                value.serialize(RawSerializer {
                    out: &mut *self.out,
                })
            } else {
                Err(invalid_raw_value())
            };
        }
        self.separate();
        write_str_literal(&mut self.out.text, key);
        self.out.text.push(':');
        value.serialize(ValueSerializer {
            out: &mut *self.out,
        })
    }

    fn end(self) -> Result<(), ArgsError> {
        self.out.text.push_str(self.close);
        Ok(())
    }
}

impl ser::SerializeSeq for Compound<'_> {
    type Ok = ();
    type Error = ArgsError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ArgsError> {
        self.element(value)
    }
    fn end(self) -> Result<(), ArgsError> {
        Compound::end(self)
    }
}

impl ser::SerializeTuple for Compound<'_> {
    type Ok = ();
    type Error = ArgsError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ArgsError> {
        self.element(value)
    }
    fn end(self) -> Result<(), ArgsError> {
        Compound::end(self)
    }
}

impl ser::SerializeTupleStruct for Compound<'_> {
    type Ok = ();
    type Error = ArgsError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ArgsError> {
        self.element(value)
    }
    fn end(self) -> Result<(), ArgsError> {
        Compound::end(self)
    }
}

impl ser::SerializeTupleVariant for Compound<'_> {
    type Ok = ();
    type Error = ArgsError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ArgsError> {
        self.element(value)
    }
    fn end(self) -> Result<(), ArgsError> {
        Compound::end(self)
    }
}

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = ArgsError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), ArgsError> {
        self.separate();
        key.serialize(KeySerializer {
            text: &mut self.out.text,
        })?;
        self.out.text.push(':');
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ArgsError> {
        value.serialize(ValueSerializer {
            out: &mut *self.out,
        })
    }
    fn end(self) -> Result<(), ArgsError> {
        Compound::end(self)
    }
}

impl ser::SerializeStruct for Compound<'_> {
    type Ok = ();
    type Error = ArgsError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), ArgsError> {
        self.field(key, value)
    }
    fn end(self) -> Result<(), ArgsError> {
        Compound::end(self)
    }
}

impl ser::SerializeStructVariant for Compound<'_> {
    type Ok = ();
    type Error = ArgsError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), ArgsError> {
        self.field(key, value)
    }
    fn end(self) -> Result<(), ArgsError> {
        Compound::end(self)
    }
}

fn key_must_be_a_string() -> ArgsError {
    ArgsError::Serialize("key must be a string".into())
}

fn float_key_must_be_finite() -> ArgsError {
    ArgsError::Serialize("float key must be finite (got NaN or +/-inf)".into())
}

fn invalid_raw_value() -> ArgsError {
    ArgsError::Serialize("expected RawValue".into())
}

/// Methods of a serializer that accepts none of them, with the error `$error`.
macro_rules! reject {
    ($error:expr; $($method:ident($($arg:ident: $ty:ty),*);)*) => {
        $(fn $method(self, $($arg: $ty),*) -> Result<(), ArgsError> {
            let _ = ($($arg,)*);
            Err($error)
        })*
    };
}

/// Methods returning compound serializers, all refused with `$error`.
macro_rules! reject_compounds {
    ($error:expr) => {
        fn serialize_seq(self, _: Option<usize>) -> Result<Impossible<(), ArgsError>, ArgsError> {
            Err($error)
        }
        fn serialize_tuple(self, _: usize) -> Result<Impossible<(), ArgsError>, ArgsError> {
            Err($error)
        }
        fn serialize_tuple_struct(
            self,
            _: &'static str,
            _: usize,
        ) -> Result<Impossible<(), ArgsError>, ArgsError> {
            Err($error)
        }
        fn serialize_tuple_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Impossible<(), ArgsError>, ArgsError> {
            Err($error)
        }
        fn serialize_map(self, _: Option<usize>) -> Result<Impossible<(), ArgsError>, ArgsError> {
            Err($error)
        }
        fn serialize_struct(
            self,
            _: &'static str,
            _: usize,
        ) -> Result<Impossible<(), ArgsError>, ArgsError> {
            Err($error)
        }
        fn serialize_struct_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Impossible<(), ArgsError>, ArgsError> {
            Err($error)
        }
        fn serialize_newtype_variant<T: Serialize + ?Sized>(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: &T,
        ) -> Result<(), ArgsError> {
            Err($error)
        }
    };
}

/// A map key, as serde_json's map key serializer writes it: strings,
/// chars and unit variants as they are; bools and numbers as strings.
struct KeySerializer<'t> {
    text: &'t mut String,
}

impl KeySerializer<'_> {
    fn quoted(self, value: impl Display) -> Result<(), ArgsError> {
        self.text.push('"');
        write_display(self.text, value);
        self.text.push('"');
        Ok(())
    }
}

impl Serializer for KeySerializer<'_> {
    type Ok = ();
    type Error = ArgsError;
    type SerializeSeq = Impossible<(), ArgsError>;
    type SerializeTuple = Impossible<(), ArgsError>;
    type SerializeTupleStruct = Impossible<(), ArgsError>;
    type SerializeTupleVariant = Impossible<(), ArgsError>;
    type SerializeMap = Impossible<(), ArgsError>;
    type SerializeStruct = Impossible<(), ArgsError>;
    type SerializeStructVariant = Impossible<(), ArgsError>;

    fn serialize_str(self, v: &str) -> Result<(), ArgsError> {
        write_str_literal(self.text, v);
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), ArgsError> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), ArgsError> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), ArgsError> {
        value.serialize(self)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), ArgsError> {
        value.serialize(self)
    }
    fn serialize_bool(self, v: bool) -> Result<(), ArgsError> {
        self.quoted(v)
    }
    fn serialize_i8(self, v: i8) -> Result<(), ArgsError> {
        self.quoted(v)
    }
    fn serialize_i16(self, v: i16) -> Result<(), ArgsError> {
        self.quoted(v)
    }
    fn serialize_i32(self, v: i32) -> Result<(), ArgsError> {
        self.quoted(v)
    }
    fn serialize_i64(self, v: i64) -> Result<(), ArgsError> {
        self.quoted(v)
    }
    fn serialize_i128(self, v: i128) -> Result<(), ArgsError> {
        self.quoted(v)
    }
    fn serialize_u8(self, v: u8) -> Result<(), ArgsError> {
        self.quoted(v)
    }
    fn serialize_u16(self, v: u16) -> Result<(), ArgsError> {
        self.quoted(v)
    }
    fn serialize_u32(self, v: u32) -> Result<(), ArgsError> {
        self.quoted(v)
    }
    fn serialize_u64(self, v: u64) -> Result<(), ArgsError> {
        self.quoted(v)
    }
    fn serialize_u128(self, v: u128) -> Result<(), ArgsError> {
        self.quoted(v)
    }
    fn serialize_f32(self, v: f32) -> Result<(), ArgsError> {
        if !v.is_finite() {
            return Err(float_key_must_be_finite());
        }
        self.text.push('"');
        write_f32(self.text, v)?;
        self.text.push('"');
        Ok(())
    }
    fn serialize_f64(self, v: f64) -> Result<(), ArgsError> {
        self.text.push('"');
        if !write_f64(self.text, v) {
            return Err(float_key_must_be_finite());
        }
        self.text.push('"');
        Ok(())
    }

    reject! { key_must_be_a_string();
        serialize_bytes(v: &[u8]);
        serialize_unit();
        serialize_unit_struct(name: &'static str);
        serialize_none();
    }
    reject_compounds!(key_must_be_a_string());
}

/// The one field of a serde_json `RawValue`: its text, copied verbatim.
struct RawSerializer<'o> {
    out: &'o mut Output,
}

impl Serializer for RawSerializer<'_> {
    type Ok = ();
    type Error = ArgsError;
    type SerializeSeq = Impossible<(), ArgsError>;
    type SerializeTuple = Impossible<(), ArgsError>;
    type SerializeTupleStruct = Impossible<(), ArgsError>;
    type SerializeTupleVariant = Impossible<(), ArgsError>;
    type SerializeMap = Impossible<(), ArgsError>;
    type SerializeStruct = Impossible<(), ArgsError>;
    type SerializeStructVariant = Impossible<(), ArgsError>;

    fn serialize_str(self, v: &str) -> Result<(), ArgsError> {
        self.out.text.push_str(v);
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<(), ArgsError> {
        Err(invalid_raw_value())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<(), ArgsError> {
        Err(invalid_raw_value())
    }

    reject! { invalid_raw_value();
        serialize_bool(v: bool);
        serialize_i8(v: i8);
        serialize_i16(v: i16);
        serialize_i32(v: i32);
        serialize_i64(v: i64);
        serialize_i128(v: i128);
        serialize_u8(v: u8);
        serialize_u16(v: u16);
        serialize_u32(v: u32);
        serialize_u64(v: u64);
        serialize_u128(v: u128);
        serialize_f32(v: f32);
        serialize_f64(v: f64);
        serialize_char(v: char);
        serialize_bytes(v: &[u8]);
        serialize_unit();
        serialize_unit_struct(name: &'static str);
        serialize_unit_variant(name: &'static str, index: u32, variant: &'static str);
        serialize_none();
    }
    reject_compounds!(invalid_raw_value());
}

// ---------------------------------------------------------------------------
// Decoding

/// The top level: tuples take the arguments in order, `()` ignores them,
/// anything else reads the first.
struct ArgsDeserializer<'v, 'a> {
    args: &'v [&'a str],
    attachments: &'v [Bytes],
}

impl<'v, 'a> ArgsDeserializer<'v, 'a> {
    fn first(&self) -> Argument<'v, 'a> {
        Argument {
            text: self.args.first().copied().unwrap_or("null"),
            attachments: self.attachments,
        }
    }
}

/// Forwards `deserialize_*` methods to `self.$to()`.
macro_rules! forward_to {
    ($to:ident; $($method:ident($($arg:ident: $ty:ty),*);)*) => {
        $(fn $method<V: Visitor<'de>>(
            self,
            $($arg: $ty,)*
            visitor: V,
        ) -> Result<V::Value, ArgsError> {
            self.$to().$method($($arg,)* visitor)
        })*
    };
}

impl<'de> Deserializer<'de> for ArgsDeserializer<'_, 'de> {
    type Error = ArgsError;

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, ArgsError> {
        visitor.visit_seq(ArgsSeq {
            args: self.args.iter(),
            left: len,
            attachments: self.attachments,
        })
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ArgsError> {
        visitor.visit_unit()
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ArgsError> {
        visitor.visit_unit()
    }

    forward_to! { first;
        deserialize_any();
        deserialize_bool();
        deserialize_i8();
        deserialize_i16();
        deserialize_i32();
        deserialize_i64();
        deserialize_i128();
        deserialize_u8();
        deserialize_u16();
        deserialize_u32();
        deserialize_u64();
        deserialize_u128();
        deserialize_f32();
        deserialize_f64();
        deserialize_char();
        deserialize_str();
        deserialize_string();
        deserialize_bytes();
        deserialize_byte_buf();
        deserialize_option();
        deserialize_unit_struct(name: &'static str);
        deserialize_newtype_struct(name: &'static str);
        deserialize_seq();
        deserialize_tuple_struct(name: &'static str, len: usize);
        deserialize_map();
        deserialize_struct(name: &'static str, fields: &'static [&'static str]);
        deserialize_enum(name: &'static str, variants: &'static [&'static str]);
        deserialize_identifier();
    }
}

/// The arguments as the elements of a tuple of `left` more elements.
struct ArgsSeq<'v, 'a> {
    args: core::slice::Iter<'v, &'a str>,
    left: usize,
    attachments: &'v [Bytes],
}

impl<'de> SeqAccess<'de> for ArgsSeq<'_, 'de> {
    type Error = ArgsError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, ArgsError> {
        let Some(left) = self.left.checked_sub(1) else {
            return Ok(None);
        };
        self.left = left;
        let text = self.args.next().copied().unwrap_or("null");
        seed.deserialize(Argument {
            text,
            attachments: self.attachments,
        })
        .map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

/// One argument's JSON text.
struct Argument<'v, 'a> {
    text: &'a str,
    attachments: &'v [Bytes],
}

/// Forwards `deserialize_*` methods to serde_json on the text, or to the
/// placeholder-aware tree when the text may hold placeholders.
macro_rules! forward_argument {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {
        $(fn $method<V: Visitor<'de>>(
            self,
            $($arg: $ty,)*
            visitor: V,
        ) -> Result<V::Value, ArgsError> {
            if may_hold_placeholder(self.text) {
                let node: Node<'_> = serde_json::from_str(self.text).map_err(json_error)?;
                let tree = NodeDeserializer { node: &node, attachments: self.attachments };
                return tree.$method($($arg,)* visitor);
            }
            let mut json = serde_json::Deserializer::from_str(self.text);
            let value = (&mut json).$method($($arg,)* visitor).map_err(json_error)?;
            json.end().map_err(json_error)?;
            Ok(value)
        })*
    };
}

impl<'de> Deserializer<'de> for Argument<'_, 'de> {
    type Error = ArgsError;

    forward_argument! {
        deserialize_any();
        deserialize_bool();
        deserialize_i8();
        deserialize_i16();
        deserialize_i32();
        deserialize_i64();
        deserialize_i128();
        deserialize_u8();
        deserialize_u16();
        deserialize_u32();
        deserialize_u64();
        deserialize_u128();
        deserialize_f32();
        deserialize_f64();
        deserialize_char();
        deserialize_str();
        deserialize_string();
        deserialize_bytes();
        deserialize_byte_buf();
        deserialize_option();
        deserialize_unit();
        deserialize_unit_struct(name: &'static str);
        deserialize_newtype_struct(name: &'static str);
        deserialize_seq();
        deserialize_tuple(len: usize);
        deserialize_tuple_struct(name: &'static str, len: usize);
        deserialize_map();
        deserialize_struct(name: &'static str, fields: &'static [&'static str]);
        deserialize_enum(name: &'static str, variants: &'static [&'static str]);
        deserialize_identifier();
        deserialize_ignored_any();
    }
}

/// A parsed JSON value that may hold placeholders. Strings without escapes
/// borrow the text; object entries keep their order and duplicates.
#[derive(Debug)]
enum Node<'a> {
    Null,
    Bool(bool),
    /// serde_json's non-negative integers.
    U64(u64),
    /// serde_json's negative integers.
    I64(i64),
    /// serde_json's other numbers.
    F64(f64),
    Str(Cow<'a, str>),
    Array(Vec<Node<'a>>),
    Object(Vec<(Cow<'a, str>, Node<'a>)>),
}

impl<'de> de::Deserialize<'de> for Node<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<Node<'de>, E> {
        Ok(Node::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Node<'de>, E> {
        Ok(Node::Bool(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Node<'de>, E> {
        Ok(Node::U64(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node<'de>, E> {
        Ok(Node::I64(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Node<'de>, E> {
        Ok(Node::F64(v))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Node<'de>, E> {
        Ok(Node::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node<'de>, E> {
        Ok(Node::Str(Cow::Owned(v.into())))
    }
    fn visit_string<E>(self, v: String) -> Result<Node<'de>, E> {
        Ok(Node::Str(Cow::Owned(v)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node<'de>, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node<'de>, A::Error> {
        let mut entries = Vec::new();
        while let Some(KeyText(key)) = map.next_key()? {
            entries.push((key, map.next_value()?));
        }
        Ok(Node::Object(entries))
    }
}

/// An object key, borrowed from the text when it has no escapes.
struct KeyText<'a>(Cow<'a, str>);

impl<'de> de::Deserialize<'de> for KeyText<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match deserializer.deserialize_str(NodeVisitor)? {
            Node::Str(key) => Ok(KeyText(key)),
            _ => Err(de::Error::custom("key must be a string")),
        }
    }
}

impl Node<'_> {
    /// The attachment index a placeholder's `num` holds, if it is one.
    fn as_index(&self) -> Option<usize> {
        match *self {
            Node::U64(n) => usize::try_from(n).ok(),
            Node::I64(n) => usize::try_from(n).ok(),
            // `buffers[num]` in the reference: any integral number.
            Node::F64(f) if f >= 0.0 && (f as u64) as f64 == f => usize::try_from(f as u64).ok(),
            _ => None,
        }
    }
}

/// The last value of `key` in an object, as `JSON.parse` keeps it.
fn last_value<'n, 'a>(entries: &'n [(Cow<'a, str>, Node<'a>)], key: &str) -> Option<&'n Node<'a>> {
    entries.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// What a node stands for.
enum View<'n, 'a> {
    Node(&'n Node<'a>),
    Attachment(&'n Bytes),
}

/// Reads a [`Node`] as serde_json reads a `&Value`, except for placeholders.
struct NodeDeserializer<'n, 'a> {
    node: &'n Node<'a>,
    attachments: &'n [Bytes],
}

impl<'n, 'a> NodeDeserializer<'n, 'a> {
    fn at(&self, node: &'n Node<'a>) -> NodeDeserializer<'n, 'a> {
        NodeDeserializer {
            node,
            attachments: self.attachments,
        }
    }

    fn view(&self) -> Result<View<'n, 'a>, ArgsError> {
        let Node::Object(entries) = self.node else {
            return Ok(View::Node(self.node));
        };
        if !matches!(last_value(entries, "_placeholder"), Some(Node::Bool(true))) {
            return Ok(View::Node(self.node));
        }
        last_value(entries, "num")
            .and_then(Node::as_index)
            .and_then(|index| self.attachments.get(index))
            .map(View::Attachment)
            .ok_or(ArgsError::BadPlaceholder)
    }

    fn unexpected(&self) -> Result<Unexpected<'n>, ArgsError> {
        Ok(match self.view()? {
            View::Attachment(bytes) => Unexpected::Bytes(bytes),
            View::Node(node) => match node {
                Node::Null => Unexpected::Unit,
                Node::Bool(b) => Unexpected::Bool(*b),
                Node::U64(n) => Unexpected::Unsigned(*n),
                Node::I64(n) => Unexpected::Signed(*n),
                Node::F64(f) => Unexpected::Float(*f),
                Node::Str(s) => Unexpected::Str(s),
                Node::Array(_) => Unexpected::Seq,
                Node::Object(_) => Unexpected::Map,
            },
        })
    }

    fn invalid_type<T>(&self, expected: &dyn de::Expected) -> Result<T, ArgsError> {
        Err(de::Error::invalid_type(self.unexpected()?, expected))
    }

    fn visit_array<'de, V: Visitor<'de>>(
        &self,
        items: &'n [Node<'a>],
        visitor: V,
    ) -> Result<V::Value, ArgsError> {
        let mut seq = NodeSeq {
            items: items.iter(),
            attachments: self.attachments,
        };
        let value = visitor.visit_seq(&mut seq)?;
        if seq.items.len() != 0 {
            return Err(de::Error::invalid_length(
                items.len(),
                &"fewer elements in array",
            ));
        }
        Ok(value)
    }

    fn visit_object<'de, V: Visitor<'de>>(
        &self,
        entries: &'n [(Cow<'a, str>, Node<'a>)],
        visitor: V,
    ) -> Result<V::Value, ArgsError> {
        let mut map = NodeMap {
            entries: entries.iter(),
            value: None,
            attachments: self.attachments,
        };
        let value = visitor.visit_map(&mut map)?;
        if map.entries.len() != 0 {
            return Err(de::Error::invalid_length(
                entries.len(),
                &"fewer elements in map",
            ));
        }
        Ok(value)
    }

    /// An attachment offered as a sequence of `u8`.
    fn visit_attachment_seq<'de, V: Visitor<'de>>(
        bytes: &Bytes,
        visitor: V,
    ) -> Result<V::Value, ArgsError> {
        let mut seq = de::value::SeqDeserializer::new(bytes.iter().copied());
        let value = visitor.visit_seq(&mut seq)?;
        seq.end()?;
        Ok(value)
    }

    fn visit_number<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ArgsError> {
        match self.view()? {
            View::Node(Node::U64(n)) => visitor.visit_u64(*n),
            View::Node(Node::I64(n)) => visitor.visit_i64(*n),
            View::Node(Node::F64(f)) => visitor.visit_f64(*f),
            _ => self.invalid_type(&visitor),
        }
    }
}

/// Number requests, all answered by the number's own kind, as serde_json does.
macro_rules! deserialize_numbers {
    ($($method:ident)*) => {
        $(fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ArgsError> {
            self.visit_number(visitor)
        })*
    };
}

impl<'de> Deserializer<'de> for NodeDeserializer<'_, '_> {
    type Error = ArgsError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ArgsError> {
        match self.view()? {
            View::Attachment(bytes) => Self::visit_attachment_seq(bytes, visitor),
            View::Node(node) => match node {
                Node::Null => visitor.visit_unit(),
                Node::Bool(b) => visitor.visit_bool(*b),
                Node::U64(_) | Node::I64(_) | Node::F64(_) => self.visit_number(visitor),
                Node::Str(s) => visitor.visit_str(s),
                Node::Array(items) => self.visit_array(items, visitor),
                Node::Object(entries) => self.visit_object(entries, visitor),
            },
        }
    }

    deserialize_numbers! {
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
        deserialize_f32 deserialize_f64
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ArgsError> {
        match self.node {
            Node::Bool(b) => visitor.visit_bool(*b),
            _ => self.invalid_type(&visitor),
        }
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ArgsError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ArgsError> {
        match self.node {
            Node::Str(s) => visitor.visit_str(s),
            _ => self.invalid_type(&visitor),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ArgsError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ArgsError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ArgsError> {
        match self.view()? {
            View::Attachment(bytes) => visitor.visit_bytes(bytes),
            View::Node(Node::Str(s)) => visitor.visit_str(s),
            View::Node(Node::Array(items)) => self.visit_array(items, visitor),
            View::Node(_) => self.invalid_type(&visitor),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ArgsError> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ArgsError> {
        match self.node {
            Node::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ArgsError> {
        match self.node {
            Node::Null => visitor.visit_unit(),
            _ => self.invalid_type(&visitor),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ArgsError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ArgsError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ArgsError> {
        match self.view()? {
            View::Attachment(bytes) => Self::visit_attachment_seq(bytes, visitor),
            View::Node(Node::Array(items)) => self.visit_array(items, visitor),
            View::Node(_) => self.invalid_type(&visitor),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ArgsError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ArgsError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ArgsError> {
        match self.view()? {
            View::Node(Node::Object(entries)) => self.visit_object(entries, visitor),
            _ => self.invalid_type(&visitor),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ArgsError> {
        match self.view()? {
            View::Node(Node::Array(items)) => self.visit_array(items, visitor),
            View::Node(Node::Object(entries)) => self.visit_object(entries, visitor),
            _ => self.invalid_type(&visitor),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ArgsError> {
        let (variant, value) = match self.view()? {
            View::Node(Node::Str(variant)) => (variant, None),
            View::Node(Node::Object(entries)) => match &entries[..] {
                [(variant, value)] => (variant, Some(self.at(value))),
                _ => {
                    return Err(de::Error::invalid_value(
                        Unexpected::Map,
                        &"map with a single key",
                    ))
                }
            },
            _ => return self.invalid_type(&"string or map"),
        };
        visitor.visit_enum(NodeEnum { variant, value })
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ArgsError> {
        visitor.visit_unit()
    }
}

struct NodeSeq<'n, 'a> {
    items: core::slice::Iter<'n, Node<'a>>,
    attachments: &'n [Bytes],
}

impl<'de> SeqAccess<'de> for NodeSeq<'_, '_> {
    type Error = ArgsError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, ArgsError> {
        match self.items.next() {
            Some(node) => seed
                .deserialize(NodeDeserializer {
                    node,
                    attachments: self.attachments,
                })
                .map(Some),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct NodeMap<'n, 'a> {
    entries: core::slice::Iter<'n, (Cow<'a, str>, Node<'a>)>,
    value: Option<&'n Node<'a>>,
    attachments: &'n [Bytes],
}

impl<'de> MapAccess<'de> for NodeMap<'_, '_> {
    type Error = ArgsError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ArgsError> {
        match self.entries.next() {
            Some((key, value)) => {
                self.value = Some(value);
                seed.deserialize(KeyDeserializer { key }).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, ArgsError> {
        let node = self
            .value
            .take()
            .ok_or_else(|| de::Error::custom("value is missing"))?;
        seed.deserialize(NodeDeserializer {
            node,
            attachments: self.attachments,
        })
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

struct NodeEnum<'n, 'a> {
    variant: &'n str,
    value: Option<NodeDeserializer<'n, 'a>>,
}

impl<'de, 'n, 'a> EnumAccess<'de> for NodeEnum<'n, 'a> {
    type Error = ArgsError;
    type Variant = NodeVariant<'n, 'a>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, NodeVariant<'n, 'a>), ArgsError> {
        let variant = seed.deserialize(self.variant.into_deserializer())?;
        Ok((variant, NodeVariant { value: self.value }))
    }
}

struct NodeVariant<'n, 'a> {
    value: Option<NodeDeserializer<'n, 'a>>,
}

impl<'de> VariantAccess<'de> for NodeVariant<'_, '_> {
    type Error = ArgsError;

    fn unit_variant(self) -> Result<(), ArgsError> {
        match self.value {
            Some(value) => de::Deserialize::deserialize(value),
            None => Ok(()),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, ArgsError> {
        match self.value {
            Some(value) => seed.deserialize(value),
            None => Err(de::Error::invalid_type(
                Unexpected::UnitVariant,
                &"newtype variant",
            )),
        }
    }

    fn tuple_variant<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ArgsError> {
        let Some(value) = self.value else {
            return Err(de::Error::invalid_type(
                Unexpected::UnitVariant,
                &"tuple variant",
            ));
        };
        match value.view()? {
            View::Node(Node::Array(items)) if items.is_empty() => visitor.visit_unit(),
            View::Node(Node::Array(items)) => value.visit_array(items, visitor),
            _ => value.invalid_type(&"tuple variant"),
        }
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ArgsError> {
        let Some(value) = self.value else {
            return Err(de::Error::invalid_type(
                Unexpected::UnitVariant,
                &"struct variant",
            ));
        };
        match value.view()? {
            View::Node(Node::Object(entries)) => value.visit_object(entries, visitor),
            _ => value.invalid_type(&"struct variant"),
        }
    }
}

/// An object key, read as serde_json reads the keys of a `Value`: as a
/// string, or parsed when a number or bool is asked for.
struct KeyDeserializer<'n> {
    key: &'n str,
}

fn expected_numeric_key() -> ArgsError {
    ArgsError::Deserialize("invalid value: expected key to be a number in quotes".into())
}

impl KeyDeserializer<'_> {
    /// serde_json's numeric key rule: a number and nothing else, no
    /// whitespace around it.
    fn numeric_text(&self) -> Result<&str, ArgsError> {
        let starts_like_a_number = matches!(self.key.bytes().next(), Some(b'0'..=b'9' | b'-'));
        let ends_like_a_number = self.key.trim_end().len() == self.key.len();
        if starts_like_a_number && ends_like_a_number {
            Ok(self.key)
        } else {
            Err(expected_numeric_key())
        }
    }

    /// The key's number, offered as serde_json offers numbers.
    fn number<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ArgsError> {
        let node: Node<'_> = serde_json::from_str(self.numeric_text()?).map_err(json_error)?;
        match node {
            Node::U64(n) => visitor.visit_u64(n),
            Node::I64(n) => visitor.visit_i64(n),
            Node::F64(f) => visitor.visit_f64(f),
            _ => Err(expected_numeric_key()),
        }
    }
}

macro_rules! deserialize_numeric_keys {
    ($($method:ident)*) => {
        $(fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ArgsError> {
            self.number(visitor)
        })*
    };
}

impl<'de> Deserializer<'de> for KeyDeserializer<'_> {
    type Error = ArgsError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ArgsError> {
        visitor.visit_str(self.key)
    }

    deserialize_numeric_keys! {
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64
        deserialize_f32 deserialize_f64
    }

    fn deserialize_i128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ArgsError> {
        let text = self.numeric_text()?;
        visitor.visit_i128(serde_json::from_str(text).map_err(json_error)?)
    }

    fn deserialize_u128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ArgsError> {
        let text = self.numeric_text()?;
        visitor.visit_u128(serde_json::from_str(text).map_err(json_error)?)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ArgsError> {
        match self.key {
            "true" => visitor.visit_bool(true),
            "false" => visitor.visit_bool(false),
            _ => Err(de::Error::invalid_type(Unexpected::Str(self.key), &visitor)),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ArgsError> {
        // Map keys cannot be null.
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ArgsError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ArgsError> {
        IntoDeserializer::<ArgsError>::into_deserializer(self.key)
            .deserialize_enum(name, variants, visitor)
    }

    serde::forward_to_deserialize_any! {
        char str string bytes byte_buf unit unit_struct seq tuple tuple_struct
        map struct identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeMap;
    use alloc::vec;

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

    #[test]
    fn float_indexes() {
        assert_eq!(Node::F64(2.0).as_index(), Some(2));
        assert_eq!(Node::F64(-0.0).as_index(), Some(0));
        assert_eq!(Node::F64(0.5).as_index(), None);
        assert_eq!(Node::F64(-1.0).as_index(), None);
        assert_eq!(Node::I64(-1).as_index(), None);
        assert_eq!(Node::Str("0".into()).as_index(), None);
    }
}
