//! The session machine on hostile input: errors answered and connections
//! closed, a client that floods a held request dropped.

use sio_core::time::Instant;
use sio_replay::machine::{Effect, Input, Machine};

fn feed(machine: &mut Machine, input: Input) -> Vec<Effect> {
    let mut effects = Vec::new();
    machine.handle(Instant::from_millis(1), &input, &mut |e| effects.push(e));
    effects
}

fn written(effects: &[Effect]) -> String {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Write(_, data) => Some(String::from_utf8_lossy(data).into_owned()),
            _ => None,
        })
        .collect()
}

#[test]
fn garbage_gets_an_error_and_a_close() {
    let mut machine = Machine::new([1; 32]);
    feed(&mut machine, Input::Open(1));
    let effects = feed(
        &mut machine,
        Input::Data(1, b"\x00\x01 nonsense\r\n\r\n".to_vec()),
    );
    assert!(written(&effects).starts_with("HTTP/1.1 4"), "{effects:?}");
    assert_eq!(effects.last(), Some(&Effect::Close(1)));
    // Nothing more is read from a closing connection.
    assert_eq!(
        feed(
            &mut machine,
            Input::Data(1, b"GET / HTTP/1.1\r\n\r\n".to_vec())
        ),
        vec![]
    );
}

#[test]
fn another_path_is_not_found_and_the_connection_stays() {
    let mut machine = Machine::new([1; 32]);
    feed(&mut machine, Input::Open(1));
    let effects = feed(
        &mut machine,
        Input::Data(1, b"GET /other HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()),
    );
    assert!(written(&effects).starts_with("HTTP/1.1 404"), "{effects:?}");
    assert!(!effects.contains(&Effect::Close(1)));
}

#[test]
fn a_client_flooding_a_held_poll_is_dropped() {
    let mut machine = Machine::new([1; 32]);
    feed(&mut machine, Input::Open(1));
    let handshake = b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n";
    let opened = written(&feed(&mut machine, Input::Data(1, handshake.to_vec())));
    let sid = opened
        .split("\"sid\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the handshake names the session");
    feed(&mut machine, Input::Open(2));
    let poll =
        format!("GET /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(
        feed(&mut machine, Input::Data(2, poll.into_bytes())),
        vec![],
        "the poll is held"
    );
    assert!(machine.awaits_response(2));
    let flood = vec![b'x'; 1024 * 1024 + 65 * 1024];
    let effects = feed(&mut machine, Input::Data(2, flood));
    assert!(effects.contains(&Effect::Abort(2)), "{effects:?}");
}
