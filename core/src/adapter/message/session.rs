//! Connection state recovery across nodes, as the Redis Streams adapter
//! does it: a session is kept under `sio:session:<pid>` as MessagePack of
//! `{sid, pid, rooms, data}` in base64, and the packets a returning client
//! missed are the stream's BROADCAST entries after its offset that reach
//! the session's rooms, each with its entry id appended as the offset.

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use base64::Engine as _;
use bytes::Bytes;
use bytestring::ByteString;

use super::cluster::{ClusterBody, ClusterMessage, BASE64, MAX_DATA_LEN};
use super::{entry, str_list, string, string_list, MessageError};
use crate::msgpack::json;
use crate::msgpack::value::{self, TooLarge, Value};
use crate::packet::RawJson;
use crate::server::PersistedSession;

/// The reference's `sessionKeyPrefix`.
pub const SESSION_KEY_PREFIX: &str = "sio:session:";

/// The session as the reference keeps it (base64 of MessagePack
/// `{sid, pid, rooms, data}`; `data` `{}` when never set, as Node's).
pub fn encode_session(session: &PersistedSession) -> Result<String, TooLarge> {
    let rooms: Vec<String> = session.rooms.iter().map(|r| String::from(&**r)).collect();
    let data = match &session.data {
        Some(raw) => json::from_json(raw.as_str()).unwrap_or(Value::Nil),
        None => Value::Map(Vec::new()),
    };
    let map = Value::Map(vec![
        entry("sid", Value::str(&*session.sid)),
        entry("pid", Value::str(&*session.pid)),
        entry("rooms", str_list(&rooms)),
        entry("data", data),
    ]);
    Ok(BASE64.encode(value::to_vec(&map)?))
}

/// Reads a kept session for namespace `nsp`.
pub fn decode_session(text: &[u8], nsp: &str) -> Result<PersistedSession, MessageError> {
    if text.len() > MAX_DATA_LEN {
        return Err(MessageError::Field("session"));
    }
    let raw = BASE64
        .decode(text)
        .map_err(|_| MessageError::Field("session"))?;
    let map = value::decode(&Bytes::from(raw)).map_err(MessageError::MsgPack)?;
    map.as_map().ok_or(MessageError::Field("session"))?;
    let data = match map.get("data") {
        None | Some(Value::Nil) => None,
        Some(data) => Some(RawJson::from_trusted(ByteString::from(json::to_json(data)))),
    };
    Ok(PersistedSession {
        sid: ByteString::from(string(&map, "sid")?),
        pid: ByteString::from(string(&map, "pid")?),
        nsp: ByteString::from(nsp),
        rooms: string_list(&map, "rooms")?
            .into_iter()
            .map(ByteString::from)
            .collect(),
        data,
    })
}

/// A stream id as Redis writes them and the reference accepts an offset:
/// `<ms>-<seq>`, both decimal and within u64.
pub fn is_stream_id(id: &str) -> bool {
    split_stream_id(id).is_some()
}

fn split_stream_id(id: &str) -> Option<(u64, u64)> {
    let (ms, seq) = id.split_once('-')?;
    let number = |part: &str| {
        (!part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
            .then(|| part.parse::<u64>().ok())
            .flatten()
    };
    Some((number(ms)?, number(seq)?))
}

/// The smallest id after `id` (exclusive ranges need Redis 6.2; the
/// reference computes it too). `None` for an id that is not one, or the last.
pub fn next_stream_id(id: &str) -> Option<String> {
    let (ms, seq) = split_stream_id(id)?;
    match seq.checked_add(1) {
        Some(seq) => Some(format!("{ms}-{seq}")),
        None => Some(format!("{}-0", ms.checked_add(1)?)),
    }
}

/// The packet a session in `rooms` of `nsp` missed in stream entry `id`
/// carrying `message`: a BROADCAST without acks to `nsp` whose rooms and
/// except let it reach those rooms, its data with `id` appended, as sio
/// sends it. `None` for any other entry.
pub fn missed_packet(
    message: &ClusterMessage,
    id: &str,
    nsp: &str,
    rooms: &[ByteString],
) -> Option<(RawJson, Vec<Bytes>)> {
    if message.nsp != nsp {
        return None;
    }
    let ClusterBody::Broadcast { packet, opts } = &message.body else {
        return None;
    };
    let included =
        opts.rooms.is_empty() || rooms.iter().any(|r| opts.rooms.iter().any(|o| o == &**r));
    let excluded = rooms.iter().any(|r| opts.except.iter().any(|e| e == &**r));
    if !included || excluded || opts.volatile() {
        return None;
    }
    let mut packet = packet.clone();
    match packet.data.as_mut() {
        Some(Value::Array(items)) => items.push(Value::str(id)),
        _ => return None,
    }
    let packet = packet.to_packet();
    Some((packet.data?, packet.attachments))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::{AdapterPacket, Targets};

    #[test]
    fn session_round_trip_and_node_default_data() {
        let session = PersistedSession {
            sid: "s1".into(),
            pid: "p1".into(),
            nsp: "/".into(),
            rooms: vec!["s1".into(), "r".into()],
            data: Some(RawJson::from_trusted(ByteString::from(r#"{"name":"x"}"#))),
        };
        let text = encode_session(&session).unwrap();
        assert_eq!(decode_session(text.as_bytes(), "/").unwrap(), session);
        let bare = PersistedSession {
            data: None,
            ..session
        };
        let read = decode_session(encode_session(&bare).unwrap().as_bytes(), "/").unwrap();
        assert_eq!(read.data.unwrap().as_str(), "{}");
        assert!(decode_session(b"!!", "/").is_err());
        assert!(decode_session(b"kA==", "/").is_err());
    }

    #[test]
    fn stream_ids() {
        assert!(is_stream_id("1700000000000-0"));
        for bad in [
            "",
            "-",
            "1-",
            "-1",
            "1",
            "1-2-3",
            "a-1",
            "1-+1",
            "99999999999999999999-0",
        ] {
            assert!(!is_stream_id(bad), "{bad}");
        }
        assert_eq!(next_stream_id("5-7").as_deref(), Some("5-8"));
        assert_eq!(
            next_stream_id(&format!("5-{}", u64::MAX)).as_deref(),
            Some("6-0")
        );
        assert_eq!(next_stream_id("x"), None);
    }

    #[test]
    fn missed_packets_follow_rooms_except_and_namespace() {
        let broadcast = |rooms: &[&str], except: &[&str]| ClusterMessage {
            uid: "u".into(),
            nsp: "/".into(),
            body: ClusterBody::Broadcast {
                packet: AdapterPacket::event("/", Value::Array(vec![Value::str("ev")])),
                opts: Targets {
                    rooms: rooms.iter().map(|r| String::from(*r)).collect(),
                    except: except.iter().map(|r| String::from(*r)).collect(),
                    flags: None,
                },
            },
        };
        let rooms: Vec<ByteString> = vec!["sid".into(), "r".into()];
        let (data, _) = missed_packet(&broadcast(&[], &[]), "1-0", "/", &rooms).unwrap();
        assert_eq!(data.as_str(), r#"["ev","1-0"]"#);
        assert!(missed_packet(&broadcast(&["r"], &[]), "1-0", "/", &rooms).is_some());
        assert!(missed_packet(&broadcast(&["other"], &[]), "1-0", "/", &rooms).is_none());
        assert!(missed_packet(&broadcast(&[], &["sid"]), "1-0", "/", &rooms).is_none());
        assert!(missed_packet(&broadcast(&[], &[]), "1-0", "/chat", &rooms).is_none());
    }
}
