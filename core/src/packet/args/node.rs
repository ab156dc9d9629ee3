//! The tree of an argument that may hold placeholders, and its
//! deserializer (serde_json's rules for a `&Value`, placeholders aside).

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use bytes::Bytes;
use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, IntoDeserializer, MapAccess, SeqAccess,
    Unexpected, VariantAccess, Visitor,
};

use super::{json_error, ArgsError};

/// A parsed JSON value that may hold placeholders. Strings without escapes
/// borrow the text; object entries keep their order and duplicates.
#[derive(Debug)]
pub(super) enum Node<'a> {
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
pub(super) struct NodeDeserializer<'n, 'a> {
    pub(super) node: &'n Node<'a>,
    pub(super) attachments: &'n [Bytes],
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
