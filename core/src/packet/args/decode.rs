//! Decoding: the top level (tuples spread over the arguments) and each
//! argument, read by serde_json from its text or through a [`Node`] tree.

use bytes::Bytes;
use serde::de::{DeserializeOwned, DeserializeSeed, Deserializer, SeqAccess, Visitor};

use super::node::{Node, NodeDeserializer};
use super::{json_error, may_hold_placeholder, ArgsError};
use crate::packet::RawJson;

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
