//! Text encoding of a packet's header and data.

use bytes::BytesMut;

use super::Packet;

/// Appends the text part of `packet` (type, attachment count, namespace
/// unless `/`, ack id, data) to `out`. Attachments are not written: they
/// follow as binary messages.
pub fn encode(packet: &Packet, out: &mut BytesMut) {
    let _ = (packet, out);
    todo!()
}
