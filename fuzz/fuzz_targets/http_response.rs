//! Feeds arbitrary bytes to the HTTP response parser in arbitrary splits,
//! then ends the connection. Nothing may panic; the split may not change
//! the outcome; an error sticks; a body never exceeds the limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sio_core::wire::http::{HttpError, Limits, ReceivedResponse, ResponseParser};

fuzz_target!(|data: &[u8]| {
    let Some((&split_seed, rest)) = data.split_first() else {
        return;
    };
    let Some((&limit_seed, input)) = rest.split_first() else {
        return;
    };
    let limits = limits_from(limit_seed);
    let sizes = [
        usize::from(split_seed & 0x0f) + 1,
        usize::from(split_seed >> 4) + 1,
    ];
    let in_pieces = parse(input, &sizes, limits);
    let whole = parse(input, &[input.len().max(1)], limits);
    assert_eq!(in_pieces, whole, "the split changed the outcome");
    for response in &in_pieces.0 {
        assert!(response.body.len() <= limits.max_body_bytes);
    }
});

/// Default limits or tight ones, so the limit paths are reached too.
fn limits_from(seed: u8) -> Limits {
    if seed & 1 == 0 {
        return Limits::default();
    }
    Limits {
        max_headers: usize::from(seed >> 5),
        max_head_bytes: usize::from(seed) * 2,
        max_body_bytes: usize::from(seed >> 1),
    }
}

fn parse(
    input: &[u8],
    sizes: &[usize],
    limits: Limits,
) -> (Vec<ReceivedResponse>, Option<HttpError>) {
    let mut parser = ResponseParser::new(limits);
    let mut responses = Vec::new();
    let mut rest = input;
    let mut sizes = sizes.iter().copied().cycle();
    while !rest.is_empty() {
        let size = sizes.next().unwrap_or(rest.len()).clamp(1, rest.len());
        let (piece, tail) = rest.split_at(size);
        rest = tail;
        parser.feed(piece);
        loop {
            match parser.poll_response() {
                Ok(Some(response)) => responses.push(response),
                Ok(None) => break,
                Err(err) => {
                    assert_eq!(
                        parser.poll_response(),
                        Err(err.clone()),
                        "error did not stick"
                    );
                    return (responses, Some(err));
                }
            }
        }
    }
    match parser.finish() {
        Ok(Some(response)) => responses.push(response),
        Ok(None) => {}
        Err(err) => return (responses, Some(err)),
    }
    (responses, None)
}
