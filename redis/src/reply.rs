//! Reading Redis replies that the redis crate hands over untyped.

use redis::Value;

/// The count in a `PUBSUB NUMSUB <channel>` reply: `[channel, count]` in
/// RESP2, a map `{channel: count}` in RESP3. `None` for anything else.
pub(crate) fn numsub_count(reply: &Value) -> Option<usize> {
    let count = match reply {
        Value::Array(items) => items.get(1)?,
        Value::Map(pairs) => &pairs.first()?.1,
        _ => return None,
    };
    match count {
        Value::Int(n) => usize::try_from(*n).ok(),
        _ => None,
    }
}

/// One stream entry: its id and its fields, in order.
pub(crate) type Entry = (String, Vec<(bytes::Bytes, bytes::Bytes)>);

/// The entries of an `XREAD ... STREAMS <one key> <id>` reply (RESP2
/// `[[key, entries]]`, RESP3 `{key: entries}`; nil when it timed out), or
/// of an `XRANGE` / `XREVRANGE` reply (`entries` alone). `None` for a reply
/// of another shape; an entry whose id or fields are odd is skipped.
pub(crate) fn xread_entries(reply: &Value) -> Option<Vec<Entry>> {
    let entries = match reply {
        Value::Nil => return Some(Vec::new()),
        Value::Array(streams) => match streams.first() {
            None => return Some(Vec::new()),
            Some(Value::Array(key_and_entries)) => key_and_entries.get(1)?,
            _ => return None,
        },
        Value::Map(streams) => &streams.first()?.1,
        _ => return None,
    };
    range_entries(entries)
}

/// The entries of an `XRANGE` reply: `[[id, [field, value, ...]], ...]`.
pub(crate) fn range_entries(reply: &Value) -> Option<Vec<Entry>> {
    let Value::Array(entries) = reply else {
        return None;
    };
    Some(entries.iter().filter_map(entry).collect())
}

fn entry(value: &Value) -> Option<Entry> {
    let Value::Array(pair) = value else {
        return None;
    };
    let id = String::from_utf8(bulk(pair.first()?)?.to_vec()).ok()?;
    let Value::Array(flat) = pair.get(1)? else {
        return None;
    };
    let fields = flat
        .chunks_exact(2)
        .filter_map(|kv| Some((bulk(&kv[0])?, bulk(&kv[1])?)))
        .collect();
    Some((id, fields))
}

fn bulk(value: &Value) -> Option<bytes::Bytes> {
    match value {
        Value::BulkString(bytes) => Some(bytes::Bytes::copy_from_slice(bytes)),
        Value::SimpleString(text) => Some(bytes::Bytes::copy_from_slice(text.as_bytes())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry_value(id: &str, fields: &[&str]) -> Value {
        Value::Array(vec![
            bulk(id),
            Value::Array(fields.iter().map(|f| bulk(f)).collect()),
        ])
    }

    #[test]
    fn xread_replies_in_resp2_and_resp3() {
        let entries = Value::Array(vec![
            entry_value("1-0", &["uid", "a", "type", "2"]),
            entry_value("1-1", &["uid", "b"]),
        ]);
        let resp2 = Value::Array(vec![Value::Array(vec![bulk("s"), entries.clone()])]);
        let resp3 = Value::Map(vec![(bulk("s"), entries)]);
        for reply in [resp2, resp3] {
            let read = xread_entries(&reply).unwrap();
            assert_eq!(read.len(), 2);
            assert_eq!(read[0].0, "1-0");
            assert_eq!(read[0].1[1].0.as_ref(), b"type");
            assert_eq!(read[1].1.len(), 1);
        }
        assert_eq!(xread_entries(&Value::Nil).unwrap().len(), 0);
    }

    #[test]
    fn odd_stream_replies_are_refused_or_skipped() {
        assert!(xread_entries(&Value::Int(1)).is_none());
        assert!(xread_entries(&Value::Array(vec![Value::Int(1)])).is_none());
        // An entry without fields, or with a non-bulk id, is skipped; an
        // odd trailing field name is dropped.
        let entries = Value::Array(vec![
            Value::Array(vec![Value::Int(1)]),
            entry_value("2-0", &["uid", "a", "dangling"]),
        ]);
        let read = range_entries(&entries).unwrap();
        assert_eq!(read.len(), 1);
        assert_eq!(read[0].1.len(), 1);
    }

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn resp2_and_resp3_replies() {
        let resp2 = Value::Array(vec![bulk("c"), Value::Int(2)]);
        assert_eq!(numsub_count(&resp2), Some(2));
        let resp3 = Value::Map(vec![(bulk("c"), Value::Int(0))]);
        assert_eq!(numsub_count(&resp3), Some(0));
    }

    #[test]
    fn odd_replies_are_none() {
        assert_eq!(numsub_count(&Value::Array(vec![bulk("c")])), None);
        assert_eq!(
            numsub_count(&Value::Array(vec![bulk("c"), Value::Int(-1)])),
            None
        );
        assert_eq!(
            numsub_count(&Value::Array(vec![bulk("c"), bulk("2")])),
            None
        );
        assert_eq!(numsub_count(&Value::Map(vec![])), None);
        assert_eq!(numsub_count(&Value::Nil), None);
        assert_eq!(numsub_count(&Value::Int(3)), None);
    }
}
