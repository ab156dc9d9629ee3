//! Feeds arbitrary bytes to the HTTP request parser in arbitrary splits.
//! Nothing may panic; the split may not change the outcome; and every
//! request that decodes re-encodes to bytes that decode to the same request.
#![no_main]

mod http_input;

use http_input::{pieces, HttpInput};
use libfuzzer_sys::fuzz_target;
use sio_core::wire::http::{HttpError, Limits, Request, RequestParser};

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

    for request in &in_pieces.0 {
        let encoded = encode(request);
        // The re-encoding may be longer (bare LF heads become CRLF).
        let relaxed = Limits {
            max_head_bytes: encoded.len(),
            ..limits
        };
        let (again, err) = parse(&encoded, &[encoded.len()], relaxed);
        assert_eq!(err, None, "re-encoded request was refused");
        assert_eq!(again.as_slice(), core::slice::from_ref(request));
    }
});

fn parse(input: &[u8], sizes: &[usize], limits: Limits) -> (Vec<Request>, Option<HttpError>) {
    let mut parser = RequestParser::new(limits);
    let mut requests = Vec::new();
    for piece in pieces(input, sizes) {
        parser.feed(piece);
        let _ = parser.take_expect_continue();
        loop {
            match parser.poll_request() {
                Ok(Some(request)) => requests.push(request),
                Ok(None) => break,
                Err(err) => {
                    assert_eq!(
                        parser.poll_request(),
                        Err(err.clone()),
                        "error did not stick"
                    );
                    return (requests, Some(err));
                }
            }
        }
    }
    (requests, None)
}

/// Serializes a decoded request: same method, target and headers; the
/// version that yields its keep-alive; the body in the coding its headers
/// announce (one chunk when chunked, trailers dropped).
fn encode(request: &Request) -> Vec<u8> {
    let http11_keeps_alive = !request.header_has_token("connection", "close");
    let version = if request.keep_alive == http11_keeps_alive {
        "HTTP/1.1"
    } else {
        "HTTP/1.0"
    };
    let mut out = format!(
        "{} {} {}\r\n",
        request.method.as_str(),
        request.target,
        version
    )
    .into_bytes();
    for header in &request.headers {
        out.extend_from_slice(format!("{}: {}\r\n", header.name, header.value).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    if request.header("transfer-encoding").is_some() {
        if !request.body.is_empty() {
            out.extend_from_slice(format!("{:x}\r\n", request.body.len()).as_bytes());
            out.extend_from_slice(&request.body);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"0\r\n\r\n");
    } else {
        out.extend_from_slice(&request.body);
    }
    out
}
