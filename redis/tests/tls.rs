//! TLS to Redis with a private CA (scripts/redis-services tls), on tokio
//! and on smol (async-std runs on the same redis support).

mod common;

use bytes::Bytes;
use common::services::Services;
use common::{started, tokio_block_on, within};
use sio_driver::Bus;
use sio_redis::{ConnectError, RedisAdapter, RedisStreamsAdapter};

#[test]
fn tls_with_the_private_ca_on_tokio() {
    tokio_block_on(tls());
}

#[test]
fn tls_with_the_private_ca_on_smol() {
    smol::block_on(tls());
}

/// The TLS server's certificate is checked against the CA given: a
/// broadcast crosses with the right one; the wrong CA, or none (the system
/// roots), is refused with a clear error.
async fn tls() {
    let server = Services::start("tls");
    let url = server.urls[0].clone();
    let ca = std::fs::read(server.ca.as_ref().expect("CA")).expect("read the CA");
    let wrong = std::fs::read(server.wrong_ca.as_ref().expect("wrong CA")).expect("read");
    let (a, a_events) = started(RedisAdapter::builder(&url).tls_ca(ca.clone())).await;
    let (b, _b_events) = started(RedisAdapter::builder(&url).tls_ca(ca)).await;
    a.subscribe(vec![], vec!["socket.io#/#*".into()])
        .await
        .expect("psubscribe");
    b.publish("socket.io#/#".into(), Bytes::from_static(b"over tls"))
        .await
        .expect("publish");
    assert_eq!(
        a_events.message().await,
        ("socket.io#/#".to_string(), b"over tls".to_vec())
    );
    for refused in [
        RedisAdapter::builder(&url).tls_ca(wrong.clone()),
        RedisAdapter::builder(&url),
    ] {
        match within("a refused TLS connect", refused.connect()).await {
            Err(ConnectError::Unreachable(why)) => {
                assert!(why.contains("certificate"), "{why}")
            }
            other => panic!("expected a certificate error, got {other:?}"),
        }
    }
    // The streams adapter on the same server: connects with the CA (it
    // reads the stream's last id), refused with the wrong one.
    let ca = std::fs::read(server.ca.as_ref().expect("CA")).expect("read the CA");
    let streams = RedisStreamsAdapter::builder(&url).tls_ca(ca).connect();
    within("a streams connect over TLS", streams)
        .await
        .expect("the streams adapter over TLS");
    let refused = RedisStreamsAdapter::builder(&url).tls_ca(wrong).connect();
    match within("a refused streams TLS connect", refused).await {
        Err(ConnectError::Unreachable(why)) => assert!(why.contains("certificate"), "{why}"),
        Err(other) => panic!("expected a certificate error, got {other:?}"),
        Ok(_) => panic!("the wrong CA was accepted"),
    }
}
