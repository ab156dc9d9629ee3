//! Feeds arbitrary bytes to the HTTP response parser in arbitrary splits,
//! then ends the connection. Nothing may panic; the split may not change
//! the outcome; an error sticks; a body never exceeds the limit.
#![no_main]

mod http_input;

use http_input::{pieces, HttpInput};
use libfuzzer_sys::fuzz_target;
use sio_core::wire::http::{HttpError, Limits, ReceivedResponse, ResponseParser};

fuzz_target!(|data: &[u8]| {
    let Some(HttpInput {
        sizes,
        limits,
        bytes: input,
    }) = HttpInput::read(data)
    else {
        return;
    };
    let in_pieces = parse(input, &sizes, limits);
    let whole = parse(input, &[input.len().max(1)], limits);
    assert_eq!(in_pieces, whole, "the split changed the outcome");
    for response in &in_pieces.0 {
        assert!(response.body.len() <= limits.max_body_bytes);
    }
});

fn parse(
    input: &[u8],
    sizes: &[usize],
    limits: Limits,
) -> (Vec<ReceivedResponse>, Option<HttpError>) {
    let mut parser = ResponseParser::new(limits);
    let mut responses = Vec::new();
    for piece in pieces(input, sizes) {
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
