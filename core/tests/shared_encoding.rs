//! A broadcast over the shards of one server, given one `SharedEncoding`:
//! encoded by the first shard that has recipients, the same bytes sent by
//! the others; a shard with recipients' offsets of its own (recovery)
//! encodes its own; a shard with no recipient encodes nothing.

use bytes::Bytes;
use sio_core::engine::Shard;
use sio_core::server::{BroadcastOptions, Event, RecoveryConfig, SharedEncoding};

mod harness;

use harness::{config, json, Harness};

/// Shard `index` of `count` with one socket on "/".
fn shard_with_socket(index: usize, count: usize, recovery: bool) -> (Harness, harness::Client) {
    let mut config = config();
    if recovery {
        config.connection_state_recovery = Some(RecoveryConfig::default());
    }
    let mut h = Harness::new(config);
    h.server.set_shard(Shard::new(index, count).unwrap());
    let client = h.ws_client();
    client.send(&mut h, "0");
    let request = match h.take_events().as_slice() {
        [Event::ConnectRequest { request, .. }] => *request,
        other => panic!("expected a connect request, got {other:?}"),
    };
    h.server.accept(h.now, request).expect("accept");
    h.drain();
    h.take_events();
    client.raw(&mut h);
    (h, client)
}

/// The frames `client` got, raw.
fn frames(h: &mut Harness, client: &harness::Client) -> Vec<Bytes> {
    client.raw(h)
}

#[test]
fn the_second_shard_sends_the_first_shards_bytes() {
    let (mut a, ca) = shard_with_socket(0, 2, false);
    let (mut b, cb) = shard_with_socket(1, 2, false);
    let mut encoding = SharedEncoding::default();
    let opts = BroadcastOptions::default();
    let data = json(r#"["news",1]"#);
    let now = a.now;
    assert_eq!(
        a.server
            .broadcast_shared(now, "/", &opts, data.clone(), Vec::new(), &mut encoding),
        1
    );
    a.drain();
    assert!(encoding.is_encoded());
    let now = b.now;
    assert_eq!(
        b.server
            .broadcast_shared(now, "/", &opts, data, Vec::new(), &mut encoding),
        1
    );
    b.drain();
    let (fa, fb) = (frames(&mut a, &ca), frames(&mut b, &cb));
    assert_eq!(fa.len(), 1);
    assert_eq!(fa, fb);
    // One buffer: the second shard sent the first's bytes, not a copy.
    assert_eq!(fa[0].as_ptr(), fb[0].as_ptr());
    assert!(fa[0].ends_with(br#"42["news",1]"#));
}

#[test]
fn a_shard_without_recipients_encodes_nothing() {
    let (mut a, _ca) = shard_with_socket(0, 2, false);
    let mut encoding = SharedEncoding::default();
    let opts = BroadcastOptions {
        rooms: vec!["nobody".into()],
        ..BroadcastOptions::default()
    };
    let now = a.now;
    let sent =
        a.server
            .broadcast_shared(now, "/", &opts, json(r#"["x"]"#), Vec::new(), &mut encoding);
    assert_eq!(sent, 0);
    assert!(!encoding.is_encoded());
}

#[test]
fn shards_logging_for_recovery_encode_their_own_offsets() {
    let (mut a, ca) = shard_with_socket(0, 2, true);
    let (mut b, cb) = shard_with_socket(1, 2, true);
    // Shard 1 has logged one packet before (offset 1: a shard's offsets
    // are congruent to its index), so its next is 3 and shard 0's is 0.
    let now = b.now;
    b.server.broadcast(
        now,
        "/",
        &BroadcastOptions::default(),
        json(r#"["early"]"#),
        Vec::new(),
    );
    b.drain();
    frames(&mut b, &cb);
    let mut encoding = SharedEncoding::default();
    let opts = BroadcastOptions::default();
    for (h, _) in [(&mut a, &ca), (&mut b, &cb)] {
        let now = h.now;
        h.server
            .broadcast_shared(now, "/", &opts, json(r#"["n"]"#), Vec::new(), &mut encoding);
        h.drain();
    }
    let (fa, fb) = (frames(&mut a, &ca), frames(&mut b, &cb));
    assert!(fa[0].ends_with(br#"42["n","0"]"#), "{:?}", fa[0]);
    assert!(fb[0].ends_with(br#"42["n","3"]"#), "{:?}", fb[0]);
}
