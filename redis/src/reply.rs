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

#[cfg(test)]
mod tests {
    use super::*;

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
