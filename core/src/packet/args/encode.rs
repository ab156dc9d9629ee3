//! Encoding: serde values to a packet's JSON text and its attachments.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt::{Display, Write as _};

use bytes::Bytes;
use bytestring::ByteString;
use serde::ser::{self, Impossible, Serialize, Serializer};

use super::ArgsError;
use crate::packet::RawJson;

/// The data of an EVENT (`Some(event)`: `["event", ...args]`) or of an ACK
/// (`None`: `[...args]`), and its attachments in placeholder order, for
/// [`Packet::event`](crate::packet::Packet::event) or [`Packet::ack`](crate::packet::Packet::ack) (which pick the
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
