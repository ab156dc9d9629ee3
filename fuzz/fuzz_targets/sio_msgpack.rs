//! The MessagePack parser's decoder on hostile bytes: never a panic, and a
//! packet it accepts survives a round trip (encode, decode) unchanged.
//! (An object shaped like a placeholder, `{"_placeholder":true,"num":N}`,
//! is taken for buffer N once re-encoded, as socket.io-parser does; then
//! only the second round trip must be stable.)
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use sio_core::packet::{decode_msgpack, encode_msgpack, Limits, Packet};

fn look_alike(packet: &Packet) -> bool {
    packet
        .data
        .as_ref()
        .is_some_and(|data| data.as_str().contains("_placeholder"))
}

fuzz_target!(|input: &[u8]| {
    let limits = Limits {
        max_attachments: 16,
        max_attachment_bytes: 4096,
    };
    let roomy = Limits {
        max_attachments: usize::MAX,
        max_attachment_bytes: usize::MAX,
    };
    let Ok(packet) = decode_msgpack(&Bytes::copy_from_slice(input), &limits) else {
        return;
    };
    let once = Bytes::from(encode_msgpack(&packet));
    let again = decode_msgpack(&once, &roomy).expect("own bytes decode");
    if look_alike(&packet) {
        assert_eq!(encode_msgpack(&again), once.to_vec());
    } else {
        assert_eq!(again, packet);
    }
});
