//! The JSON syntax check of `RawJson::parse` against serde_json's: both
//! accept the same text, and keep the same value out of it.
#![no_main]

use bytestring::ByteString;
use libfuzzer_sys::fuzz_target;
use serde_json::value::RawValue;
use sio_core::packet::RawJson;

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    let ours = RawJson::parse(ByteString::from(text));
    let reference: Result<&RawValue, _> = serde_json::from_str(text);
    match (ours, reference) {
        (Ok(ours), Ok(reference)) => assert_eq!(ours.as_str(), reference.get()),
        (Err(_), Err(_)) => {}
        (ours, reference) => panic!("{text:?}: ours {ours:?}, serde_json {reference:?}"),
    }
});
