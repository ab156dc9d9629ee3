//! Text encoding of a packet's header and data.

use alloc::string::String;

use bytes::{BufMut, BytesMut};
use bytestring::ByteString;

use super::Packet;

/// Appends the text part of `packet` (type, attachment count, namespace
/// unless `/`, ack id, data) to `out`. Attachments are not written: they
/// follow as binary messages.
///
/// As in the reference encoder, nothing is checked: the namespace should
/// start with `/` and hold no `,`, and the data should have the shape its
/// type requires, or the peer will not decode what was meant.
pub fn encode(packet: &Packet, out: &mut BytesMut) {
    out.reserve(text_len_hint(packet));
    write_text(packet, out);
}

/// The text part of `packet`, as [`encode`] writes it, in a string of its
/// own (what an Engine.IO message carries).
pub fn encode_text(packet: &Packet) -> ByteString {
    let mut text = String::with_capacity(text_len_hint(packet));
    write_text(packet, &mut text);
    ByteString::from(text)
}

/// The exact length of the text part of `packet`, as [`encode`] writes it
/// (so a WebSocket frame header can be written before it).
pub(crate) fn text_len(packet: &Packet) -> usize {
    let digits = |value: u64| crate::decimal::Decimal::new(value).as_bytes().len();
    let mut len = 1;
    if packet.kind.is_binary() {
        len += digits(packet.attachments.len() as u64) + 1;
    }
    if !packet.nsp.is_empty() && &*packet.nsp != "/" {
        len += packet.nsp.len() + 1;
    }
    if let Some(id) = packet.id {
        len += digits(id);
    }
    len + packet.data.as_ref().map_or(0, |data| data.as_str().len())
}

/// Appends the text part of `packet` to `out` without reserving first.
pub(crate) fn write_into(packet: &Packet, out: &mut BytesMut) {
    write_text(packet, out);
}

/// Where encoded text goes.
trait Sink {
    fn push_str(&mut self, text: &str);
    fn push_byte(&mut self, byte: u8);
}

impl Sink for BytesMut {
    fn push_str(&mut self, text: &str) {
        self.put_slice(text.as_bytes());
    }
    fn push_byte(&mut self, byte: u8) {
        self.put_u8(byte);
    }
}

impl Sink for String {
    fn push_str(&mut self, text: &str) {
        String::push_str(self, text);
    }
    fn push_byte(&mut self, byte: u8) {
        // Only ASCII digits and separators are pushed as bytes.
        self.push(char::from(byte));
    }
}

/// `<type>[<attachments>-][<nsp>,][<id>][<data>]`, field by field as the
/// reference encoder writes it.
fn write_text(packet: &Packet, out: &mut impl Sink) {
    out.push_byte(packet.kind.digit());
    if packet.kind.is_binary() {
        write_decimal(packet.attachments.len() as u64, out);
        out.push_byte(b'-');
    }
    // The reference writes the namespace (and its comma) whenever it is
    // neither empty nor `/`, whatever follows.
    if !packet.nsp.is_empty() && &*packet.nsp != "/" {
        out.push_str(&packet.nsp);
        out.push_byte(b',');
    }
    if let Some(id) = packet.id {
        write_decimal(id, out);
    }
    if let Some(data) = &packet.data {
        out.push_str(data.as_str());
    }
}

fn write_decimal(value: u64, out: &mut impl Sink) {
    for &digit in crate::decimal::Decimal::new(value).as_bytes() {
        out.push_byte(digit);
    }
}

/// Enough room for the whole text in one allocation.
fn text_len_hint(packet: &Packet) -> usize {
    // Type digit, two numbers of at most 20 digits, `-` and `,`.
    let fixed = 1 + 20 + 1 + 1 + 20;
    fixed + packet.nsp.len() + packet.data.as_ref().map_or(0, |data| data.as_str().len())
}

#[cfg(test)]
mod tests {
    use alloc::vec;

    use bytes::Bytes;

    use super::*;
    use crate::packet::{PacketType, RawJson};

    fn json(text: &'static str) -> RawJson {
        RawJson::parse(ByteString::from_static(text)).unwrap()
    }

    fn encoded(packet: &Packet) -> BytesMut {
        let mut out = BytesMut::new();
        encode(packet, &mut out);
        out
    }

    #[test]
    fn decimal_extremes() {
        let mut out = String::new();
        write_decimal(0, &mut out);
        out.push(' ');
        write_decimal(u64::MAX, &mut out);
        assert_eq!(out, "0 18446744073709551615");
    }

    #[test]
    fn both_sinks_agree() {
        let packet = Packet::event(
            "/admin",
            json("[\"a\",{\"_placeholder\":true,\"num\":0}]"),
            vec![Bytes::new()],
        )
        .with_id(7);
        let text = encode_text(&packet);
        assert_eq!(
            &*text,
            "51-/admin,7[\"a\",{\"_placeholder\":true,\"num\":0}]"
        );
        assert_eq!(&encoded(&packet)[..], text.as_bytes());
    }

    #[test]
    fn appends_to_what_is_there() {
        let mut out = BytesMut::from("x");
        encode(&Packet::disconnect("/"), &mut out);
        assert_eq!(&out[..], b"x1");
    }

    #[test]
    fn empty_namespace_is_not_written() {
        let packet = Packet {
            nsp: ByteString::new(),
            ..Packet::connect("/", None)
        };
        assert_eq!(&*encode_text(&packet), "0");
    }

    #[test]
    fn binary_kind_with_no_attachments_writes_zero() {
        let packet = Packet {
            kind: PacketType::BinaryAck,
            ..Packet::ack("/", 1, json("[]"), vec![])
        };
        assert_eq!(&*encode_text(&packet), "60-1[]");
    }
}
