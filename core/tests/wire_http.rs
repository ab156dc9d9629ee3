//! Table tests and proptest round trips for the HTTP/1.1 request parser and
//! response writer in `sio_core::wire::http`.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use sio_core::wire::http::{Header, HttpError, Limits, Method, Request, RequestParser, Response};

fn header(name: &str, value: &str) -> Header {
    Header {
        name: name.into(),
        value: value.into(),
    }
}

/// Feeds `input` in pieces of the given sizes (cycled), polling after
/// every piece; returns every request and the error that stopped it.
fn parse_in_pieces(
    input: &[u8],
    sizes: &[usize],
    limits: Limits,
) -> (Vec<Request>, Option<HttpError>) {
    let mut parser = RequestParser::new(limits);
    let mut requests = Vec::new();
    let mut rest = input;
    let mut sizes = sizes.iter().copied().cycle();
    while !rest.is_empty() {
        let size = sizes.next().unwrap_or(rest.len()).clamp(1, rest.len());
        let (piece, tail) = rest.split_at(size);
        rest = tail;
        parser.feed(piece);
        loop {
            match parser.poll_request() {
                Ok(Some(request)) => requests.push(request),
                Ok(None) => break,
                Err(err) => return (requests, Some(err)),
            }
        }
    }
    (requests, None)
}

fn parse_whole(input: &[u8]) -> (Vec<Request>, Option<HttpError>) {
    parse_in_pieces(input, &[input.len().max(1)], Limits::default())
}

fn parse_one(input: &[u8]) -> Request {
    let (mut requests, err) = parse_whole(input);
    assert_eq!(err, None);
    assert_eq!(requests.len(), 1, "expected one request");
    requests.remove(0)
}

fn parse_error(input: &[u8], limits: Limits) -> HttpError {
    let mut parser = RequestParser::new(limits);
    parser.feed(input);
    loop {
        match parser.poll_request() {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("no error for {:?}", String::from_utf8_lossy(input)),
            Err(err) => return err,
        }
    }
}

#[test]
fn get_without_body() {
    let request = parse_one(b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n");
    assert_eq!(
        request,
        Request {
            method: Method::Get,
            target: "/socket.io/?EIO=4&transport=polling".into(),
            headers: vec![header("host", "example.com"), header("accept", "*/*")],
            body: Bytes::new(),
            keep_alive: true,
        }
    );
}

#[test]
fn post_with_content_length() {
    let request = parse_one(b"POST /socket.io/?EIO=4&transport=polling&sid=abc HTTP/1.1\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: 11\r\n\r\n4hello\x1e4you");
    assert_eq!(request.method, Method::Post);
    assert_eq!(request.body, Bytes::from_static(b"4hello\x1e4you"));
    assert_eq!(request.header("content-length"), Some("11"));
    assert_eq!(
        request.header("Content-Type"),
        Some("text/plain;charset=UTF-8")
    );
}

#[test]
fn header_names_lower_cased_and_values_trimmed() {
    let request = parse_one(b"GET / HTTP/1.1\r\nX-MiXeD:   spaced out \t \r\nEmpty:\r\n\r\n");
    assert_eq!(
        request.headers,
        vec![header("x-mixed", "spaced out"), header("empty", "")]
    );
    assert_eq!(request.header("X-MIXED"), Some("spaced out"));
    assert_eq!(request.header("missing"), None);
}

#[test]
fn utf8_header_values_are_kept() {
    let request = parse_one("GET / HTTP/1.1\r\nX-Name: café €\r\n\r\n".as_bytes());
    assert_eq!(request.header("x-name"), Some("café €"));
}

#[test]
fn methods_map_case_sensitively() {
    let cases: [(&str, Method); 8] = [
        ("GET", Method::Get),
        ("POST", Method::Post),
        ("PUT", Method::Put),
        ("OPTIONS", Method::Options),
        ("HEAD", Method::Head),
        ("DELETE", Method::Delete),
        ("PATCH", Method::Other("PATCH".into())),
        ("get", Method::Other("get".into())),
    ];
    for (token, method) in cases {
        let request = parse_one(format!("{token} / HTTP/1.1\r\n\r\n").as_bytes());
        assert_eq!(request.method, method);
        assert_eq!(request.method.as_str(), token);
    }
}

#[test]
fn chunked_with_extensions_and_trailers() {
    let input = b"POST /up HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n\
        5;name=value\r\nhello\r\n\
        1 ; ext\r\n,\r\n\
        A\r\n worldwide\r\n\
        0;last\r\nX-Trailer: yes\r\nAnother: one\r\n\r\n";
    let request = parse_one(input);
    assert_eq!(request.body, Bytes::from_static(b"hello, worldwide"));
    assert_eq!(
        request.headers,
        vec![header("transfer-encoding", "chunked")]
    );
}

#[test]
fn chunked_coding_name_is_case_insensitive() {
    let request =
        parse_one(b"POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
    assert_eq!(request.body, Bytes::from_static(b"abc"));
}

#[test]
fn empty_chunked_body() {
    let request = parse_one(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    assert_eq!(request.body, Bytes::new());
}

#[test]
fn duplicate_equal_content_lengths_are_accepted() {
    let request =
        parse_one(b"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 003\r\n\r\nabc");
    assert_eq!(request.body, Bytes::from_static(b"abc"));
}

#[test]
fn leading_blank_lines_are_ignored() {
    let request = parse_one(b"\r\n\n\r\nGET /x HTTP/1.1\r\n\r\n");
    assert_eq!(request.target, "/x");
}

#[test]
fn bare_lf_heads_are_accepted() {
    let request = parse_one(b"GET /lf HTTP/1.1\nHost: a\n\n");
    assert_eq!(request.target, "/lf");
    assert_eq!(request.headers, vec![header("host", "a")]);
}

const PIPELINE: &[u8] = b"GET /one HTTP/1.1\r\nHost: a\r\n\r\n\
    POST /two HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello\
    POST /three HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n1\r\nc\r\n0\r\n\r\n\
    GET /four HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";

fn check_pipeline(requests: &[Request]) {
    let summary: Vec<(&str, &[u8], bool)> = requests
        .iter()
        .map(|request| {
            (
                request.target.as_str(),
                &request.body[..],
                request.keep_alive,
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("/one", &b""[..], true),
            ("/two", &b"hello"[..], true),
            ("/three", &b"abc"[..], true),
            ("/four", &b""[..], true),
        ]
    );
}

#[test]
fn pipelined_requests_in_one_feed() {
    let mut parser = RequestParser::new(Limits::default());
    parser.feed(PIPELINE);
    let mut requests = Vec::new();
    while let Some(request) = parser.poll_request().unwrap() {
        requests.push(request);
    }
    check_pipeline(&requests);
    assert_eq!(parser.buffered_len(), 0);
    assert_eq!(parser.poll_request(), Ok(None));
}

#[test]
fn every_request_fed_one_byte_at_a_time() {
    let (requests, err) = parse_in_pieces(PIPELINE, &[1], Limits::default());
    assert_eq!(err, None);
    check_pipeline(&requests);
}

#[test]
fn request_comes_out_only_when_complete() {
    let input = b"POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody";
    let mut parser = RequestParser::new(Limits::default());
    for (index, byte) in input.iter().enumerate() {
        parser.feed(&[*byte]);
        let polled = parser.poll_request().unwrap();
        assert_eq!(
            polled.is_some(),
            index == input.len() - 1,
            "at byte {index}"
        );
    }
}

#[test]
fn errors_and_their_statuses() {
    let limits = Limits::default();
    let cases: Vec<(&[u8], HttpError, u16)> = vec![
        (
            b"GET  / HTTP/1.1\r\n\r\n",
            HttpError::Malformed("invalid request line"),
            400,
        ),
        (
            b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
            HttpError::Malformed("invalid header name"),
            400,
        ),
        (
            b"GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n",
            HttpError::Malformed("invalid header value"),
            400,
        ),
        (
            b"GET / HTTP/1.1\r\nX: caf\xe9\r\n\r\n",
            HttpError::Malformed("header value is not UTF-8"),
            400,
        ),
        (
            b"GET / HTTP/1.1\rX\r\n\r\n",
            HttpError::Malformed("invalid line ending"),
            400,
        ),
        (
            b"GET / HTTP/2.0\r\n\r\n",
            HttpError::UnsupportedVersion,
            505,
        ),
        (
            b"GET / HTTP/1.2\r\n\r\n",
            HttpError::UnsupportedVersion,
            505,
        ),
        (
            b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            HttpError::BadContentLength,
            400,
        ),
        (
            b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
            HttpError::BadContentLength,
            400,
        ),
        (
            b"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
            HttpError::BadContentLength,
            400,
        ),
        (
            b"GET / HTTP/1.1\r\nContent-Length:\r\n\r\n",
            HttpError::BadContentLength,
            400,
        ),
        (
            b"GET / HTTP/1.1\r\nContent-Length: 1, 1\r\n\r\n",
            HttpError::BadContentLength,
            400,
        ),
        (
            b"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
            HttpError::BodyTooLarge,
            413,
        ),
        (
            b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
            HttpError::BadTransferEncoding,
            400,
        ),
        (
            b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            HttpError::BadTransferEncoding,
            400,
        ),
        (
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
            HttpError::BadTransferEncoding,
            400,
        ),
        (
            b"POST / HTTP/1.1\r\nTransfer-Encoding:\r\n\r\n",
            HttpError::BadTransferEncoding,
            400,
        ),
        (
            b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            HttpError::BadTransferEncoding,
            400,
        ),
        (
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nz\r\n",
            HttpError::BadTransferEncoding,
            400,
        ),
        (
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX",
            HttpError::BadTransferEncoding,
            400,
        ),
        (
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n",
            HttpError::BadTransferEncoding,
            400,
        ),
        (
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n",
            HttpError::BadTransferEncoding,
            400,
        ),
        (
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: y\n\r\n",
            HttpError::BadTransferEncoding,
            400,
        ),
        (
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffff\r\n",
            HttpError::BodyTooLarge,
            413,
        ),
        (
            b"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
            HttpError::Malformed("both Content-Length and Transfer-Encoding"),
            400,
        ),
        (
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
            HttpError::Malformed("both Content-Length and Transfer-Encoding"),
            400,
        ),
    ];
    for (input, expected, status) in cases {
        let err = parse_error(input, limits);
        assert_eq!(err, expected, "for {:?}", String::from_utf8_lossy(input));
        assert_eq!(err.status(), status);
    }
}

#[test]
fn every_error_has_its_status() {
    assert_eq!(HttpError::Malformed("x").status(), 400);
    assert_eq!(HttpError::BadTransferEncoding.status(), 400);
    assert_eq!(HttpError::BadContentLength.status(), 400);
    assert_eq!(HttpError::HeadTooLarge.status(), 431);
    assert_eq!(HttpError::TooManyHeaders.status(), 431);
    assert_eq!(HttpError::BodyTooLarge.status(), 413);
    assert_eq!(HttpError::UnsupportedVersion.status(), 505);
}

#[test]
fn errors_stick() {
    let mut parser = RequestParser::new(Limits::default());
    parser.feed(b"GET / HTTP/9.9\r\n\r\n");
    assert_eq!(parser.poll_request(), Err(HttpError::UnsupportedVersion));
    parser.feed(b"GET / HTTP/1.1\r\n\r\n");
    assert_eq!(parser.poll_request(), Err(HttpError::UnsupportedVersion));
    assert_eq!(parser.poll_request(), Err(HttpError::UnsupportedVersion));
}

#[test]
fn error_after_a_good_request_keeps_the_good_one() {
    let (requests, err) = parse_whole(b"GET /ok HTTP/1.1\r\n\r\nGET /bad HTTP/3.0\r\n\r\n");
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].target, "/ok");
    assert_eq!(err, Some(HttpError::UnsupportedVersion));
}

fn limits(max_headers: usize, max_head_bytes: usize, max_body_bytes: usize) -> Limits {
    Limits {
        max_headers,
        max_head_bytes,
        max_body_bytes,
    }
}

#[test]
fn head_size_limit_at_and_past_the_bound() {
    let head = b"GET /limit HTTP/1.1\r\nHost: example\r\n\r\n";
    let at = limits(8, head.len(), 0);
    let (requests, err) = parse_in_pieces(head, &[1], at);
    assert_eq!((requests.len(), err), (1, None));
    let (requests, err) = parse_whole(head);
    assert_eq!((requests.len(), err), (1, None));
    let past = limits(8, head.len() - 1, 0);
    assert_eq!(parse_error(head, past), HttpError::HeadTooLarge);
    assert_eq!(HttpError::HeadTooLarge.status(), 431);
}

#[test]
fn head_too_large_as_soon_as_the_buffer_passes_the_bound() {
    let mut parser = RequestParser::new(limits(8, 32, 0));
    parser.feed(b"GET /");
    parser.feed(&[b'a'; 27]);
    assert_eq!(parser.buffered_len(), 32);
    assert_eq!(parser.poll_request(), Ok(None));
    parser.feed(b"a");
    assert_eq!(parser.poll_request(), Err(HttpError::HeadTooLarge));
}

#[test]
fn header_count_limit_at_and_past_the_bound() {
    let three = b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
    let (requests, err) = parse_in_pieces(three, &[1], limits(3, 1024, 0));
    assert_eq!((requests.len(), err), (1, None));
    assert_eq!(
        parse_error(three, limits(2, 1024, 0)),
        HttpError::TooManyHeaders
    );
    assert_eq!(
        parse_error(b"GET / HTTP/1.1\r\nA: 1\r\n\r\n", limits(0, 1024, 0)),
        HttpError::TooManyHeaders
    );
}

#[test]
fn content_length_limit_at_and_past_the_bound() {
    let request = parse_in_pieces(
        b"POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\nabcd",
        &[3],
        limits(8, 1024, 4),
    );
    assert_eq!(request.1, None);
    assert_eq!(request.0[0].body, Bytes::from_static(b"abcd"));
    // Refused from the head alone, before any body byte arrives.
    let head_only = b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n";
    assert_eq!(
        parse_error(head_only, limits(8, 1024, 4)),
        HttpError::BodyTooLarge
    );
}

#[test]
fn chunked_body_limit_at_and_past_the_bound() {
    let at =
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n2\r\ncd\r\n0\r\n\r\n";
    let (requests, err) = parse_in_pieces(at, &[1], limits(8, 1024, 4));
    assert_eq!(err, None);
    assert_eq!(requests[0].body, Bytes::from_static(b"abcd"));
    // Refused at the size line of the chunk that would pass the bound.
    let past = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n3\r\n";
    assert_eq!(
        parse_error(past, limits(8, 1024, 4)),
        HttpError::BodyTooLarge
    );
}

#[test]
fn trailer_section_is_bounded_like_a_head() {
    let mut input = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n".to_vec();
    for _ in 0..10 {
        input.extend_from_slice(b"X-Trailer: padding\r\n");
    }
    assert_eq!(
        parse_error(&input, limits(8, 128, 16)),
        HttpError::HeadTooLarge
    );
}

#[test]
fn chunk_size_line_is_bounded() {
    let mut input = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1;".to_vec();
    input.extend_from_slice(&[b'x'; 5000]);
    assert_eq!(
        parse_error(&input, Limits::default()),
        HttpError::BadTransferEncoding
    );
}

#[test]
fn path_and_query() {
    let request = parse_one(b"GET /socket.io/?EIO=4&transport=polling&t=N8hyd6w HTTP/1.1\r\n\r\n");
    assert_eq!(request.path(), "/socket.io/");
    assert_eq!(request.query(), Some("EIO=4&transport=polling&t=N8hyd6w"));
    assert_eq!(request.query_param("EIO").as_deref(), Some("4"));
    assert_eq!(request.query_param("transport").as_deref(), Some("polling"));
    assert_eq!(request.query_param("sid"), None);

    let bare = parse_one(b"GET /plain HTTP/1.1\r\n\r\n");
    assert_eq!(bare.path(), "/plain");
    assert_eq!(bare.query(), None);
    assert_eq!(bare.query_param("x"), None);
}

#[test]
fn query_decoding() {
    let request = parse_one(
        b"GET /?a=1&name=J%C3%B6rg+M%FCller&flag&empty=&dup=first&dup=second&bad=%zz%4&pct=100%25&k%65y=v&pl%2Bus=x+y HTTP/1.1\r\n\r\n",
    );
    assert_eq!(request.query_param("a").as_deref(), Some("1"));
    assert_eq!(
        request.query_param("name").as_deref(),
        Some("Jörg M\u{FFFD}ller")
    );
    assert_eq!(request.query_param("flag").as_deref(), Some(""));
    assert_eq!(request.query_param("empty").as_deref(), Some(""));
    assert_eq!(request.query_param("dup").as_deref(), Some("first"));
    assert_eq!(request.query_param("bad").as_deref(), Some("%zz%4"));
    assert_eq!(request.query_param("pct").as_deref(), Some("100%"));
    assert_eq!(request.query_param("key").as_deref(), Some("v"));
    assert_eq!(request.query_param("pl+us").as_deref(), Some("x y"));
    assert_eq!(request.query_param("A"), None);
}

#[test]
fn keep_alive_rules() {
    let cases: [(&str, &str, bool); 9] = [
        ("HTTP/1.1", "", true),
        ("HTTP/1.1", "Connection: close\r\n", false),
        ("HTTP/1.1", "Connection: Close\r\n", false),
        ("HTTP/1.1", "Connection: Upgrade, close\r\n", false),
        ("HTTP/1.1", "Connection: keep-alive\r\n", true),
        ("HTTP/1.0", "", false),
        ("HTTP/1.0", "Connection: keep-alive\r\n", true),
        ("HTTP/1.0", "Connection: Keep-Alive\r\n", true),
        ("HTTP/1.0", "Connection: close\r\n", false),
    ];
    for (version, connection, keep_alive) in cases {
        let request = parse_one(format!("GET / {version}\r\n{connection}\r\n").as_bytes());
        assert_eq!(request.keep_alive, keep_alive, "{version} {connection:?}");
    }
}

#[test]
fn header_tokens() {
    let request = parse_one(b"GET / HTTP/1.1\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\nX-List: a,b\r\nX-List: c\r\n\r\n");
    assert!(request.header_has_token("connection", "upgrade"));
    assert!(request.header_has_token("Connection", "KEEP-ALIVE"));
    assert!(!request.header_has_token("connection", "close"));
    assert!(request.header_has_token("upgrade", "WebSocket"));
    assert!(request.header_has_token("x-list", "c"));
    assert!(request.header_has_token("x-list", "b"));
    assert!(!request.header_has_token("x-list", "a,b"));
    assert!(!request.header_has_token("missing", "a"));
}

#[test]
fn take_buffered_after_a_websocket_upgrade() {
    let head = b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    // A masked text frame "2probe" that arrived in the same read.
    let frame = b"\x81\x86\x01\x02\x03\x04\x33\x70\x6c\x74\x73\x67";
    let mut parser = RequestParser::new(Limits::default());
    parser.feed(&[&head[..], &frame[..]].concat());
    let request = parser.poll_request().unwrap().unwrap();
    assert!(request.header_has_token("upgrade", "websocket"));
    assert_eq!(request.body, Bytes::new());
    assert_eq!(parser.buffered_len(), frame.len());
    assert_eq!(parser.take_buffered(), BytesMut::from(&frame[..]));
    assert_eq!(parser.buffered_len(), 0);
}

#[test]
fn expect_continue_is_offered_once_while_the_body_is_missing() {
    let mut parser = RequestParser::new(Limits::default());
    parser.feed(b"POST / HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n");
    assert_eq!(parser.poll_request(), Ok(None));
    assert!(parser.take_expect_continue());
    assert!(!parser.take_expect_continue());
    parser.feed(b"abc");
    let request = parser.poll_request().unwrap().unwrap();
    assert_eq!(request.body, Bytes::from_static(b"abc"));
    assert!(!parser.take_expect_continue());
}

#[test]
fn expect_continue_is_not_offered_when_not_needed() {
    let cases: [&[u8]; 4] = [
        // Whole request already here.
        b"POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
        // No body to wait for.
        b"POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n",
        // HTTP/1.0 clients never get a 100.
        b"POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n",
        // Not asked for.
        b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\n",
    ];
    for input in cases {
        let mut parser = RequestParser::new(Limits::default());
        parser.feed(input);
        let _ = parser.poll_request().unwrap();
        assert!(
            !parser.take_expect_continue(),
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn expect_continue_for_chunked_bodies() {
    let mut parser = RequestParser::new(Limits::default());
    parser.feed(b"PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n");
    assert_eq!(parser.poll_request(), Ok(None));
    assert!(parser.take_expect_continue());
}

#[test]
fn response_with_body() {
    let response = Response::new(200)
        .with_header("Access-Control-Allow-Origin", "*")
        .with_body("text/plain; charset=UTF-8", "ok");
    assert_eq!(
        &response.to_bytes()[..],
        &b"HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: *\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Length: 2\r\n\r\nok"[..]
    );
}

#[test]
fn response_without_length_for_bodiless_statuses() {
    let switching = Response::new(101)
        .with_header("Upgrade", "websocket")
        .with_header("Connection", "Upgrade")
        .with_header("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    assert_eq!(
        &switching.to_bytes()[..],
        &b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"[..]
    );
    assert_eq!(
        &Response::new(204).to_bytes()[..],
        &b"HTTP/1.1 204 No Content\r\n\r\n"[..]
    );
    assert_eq!(
        &Response::new(304).to_bytes()[..],
        &b"HTTP/1.1 304 Not Modified\r\n\r\n"[..]
    );
    assert_eq!(
        &Response::new(100).to_bytes()[..],
        &b"HTTP/1.1 100 Continue\r\n\r\n"[..]
    );
}

#[test]
fn response_keeps_a_user_content_length() {
    let response = Response::new(200).with_header("content-length", "0");
    assert_eq!(
        &response.to_bytes()[..],
        &b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"[..]
    );
}

#[test]
fn response_error_and_unknown_statuses() {
    let bad = Response::new(400).with_body(
        "application/json",
        r#"{"code":0,"message":"Transport unknown"}"#,
    );
    assert_eq!(
        &bad.to_bytes()[..],
        &b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{\"code\":0,\"message\":\"Transport unknown\"}"[..]
    );
    assert_eq!(
        &Response::new(299).to_bytes()[..],
        &b"HTTP/1.1 299 Unknown\r\nContent-Length: 0\r\n\r\n"[..]
    );
    let mut out = BytesMut::from(&b"prefix|"[..]);
    Response::new(404).encode(&mut out);
    assert_eq!(
        &out[..],
        &b"prefix|HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"[..]
    );
}

#[test]
fn reason_phrases() {
    let expected = [
        (100, "Continue"),
        (101, "Switching Protocols"),
        (200, "OK"),
        (201, "Created"),
        (204, "No Content"),
        (301, "Moved Permanently"),
        (302, "Found"),
        (304, "Not Modified"),
        (400, "Bad Request"),
        (403, "Forbidden"),
        (404, "Not Found"),
        (405, "Method Not Allowed"),
        (408, "Request Timeout"),
        (413, "Content Too Large"),
        (414, "URI Too Long"),
        (431, "Request Header Fields Too Large"),
        (500, "Internal Server Error"),
        (501, "Not Implemented"),
        (503, "Service Unavailable"),
        (505, "HTTP Version Not Supported"),
        (418, "Unknown"),
        (0, "Unknown"),
    ];
    for (status, reason) in expected {
        assert_eq!(Response::reason(status), reason);
    }
}

#[test]
fn response_header_lookup() {
    let response = Response::new(200)
        .with_header("Set-Cookie", "io=abc")
        .with_header("set-cookie", "second");
    assert_eq!(response.header("SET-COOKIE"), Some("io=abc"));
    assert_eq!(response.header("content-type"), None);
}

// ---- property tests ----

/// How a generated request frames its body.
#[derive(Debug, Clone)]
enum Framing {
    None,
    Length,
    /// Chunk sizes (cycled until the body is used up), whether to add
    /// extensions, and trailer lines.
    Chunked(Vec<usize>, bool, Vec<(String, String)>),
}

#[derive(Debug, Clone)]
struct GeneratedRequest {
    method: &'static str,
    target: String,
    http10: bool,
    connection: Option<&'static str>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    framing: Framing,
}

const FRAMING_NAMES: [&str; 4] = [
    "content-length",
    "transfer-encoding",
    "connection",
    "expect",
];

fn header_name() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]{0,15}".prop_filter(
        "framing headers are chosen separately",
        |name| {
            !FRAMING_NAMES
                .iter()
                .any(|framing| framing.eq_ignore_ascii_case(name))
        },
    )
}

fn header_value() -> impl Strategy<Value = String> {
    prop_oneof!["[ -~]{0,30}", "[ \ta-zé€ü]{0,12}"]
}

fn framing() -> impl Strategy<Value = Framing> {
    prop_oneof![
        Just(Framing::None),
        Just(Framing::Length),
        (
            prop::collection::vec(1usize..40, 1..6),
            any::<bool>(),
            prop::collection::vec((header_name(), "[!-~]{0,10}"), 0..3),
        )
            .prop_map(|(sizes, extensions, trailers)| Framing::Chunked(
                sizes, extensions, trailers
            )),
    ]
}

fn generated_request() -> impl Strategy<Value = GeneratedRequest> {
    (
        prop::sample::select(vec![
            "GET", "POST", "PUT", "OPTIONS", "HEAD", "DELETE", "PATCH", "get",
        ]),
        "/[A-Za-z0-9._~%!$&'()*+,;=:@/?-]{0,40}",
        any::<bool>(),
        prop::option::of(prop::sample::select(vec![
            "close",
            "keep-alive",
            "Upgrade",
            "keep-alive, close",
        ])),
        prop::collection::vec((header_name(), header_value()), 0..6),
        prop::collection::vec(any::<u8>(), 0..100),
        framing(),
    )
        .prop_map(
            |(method, target, http10, connection, headers, body, framing)| {
                // HTTP/1.0 has no chunked coding; such requests are refused.
                let framing = match framing {
                    Framing::Chunked(..) if http10 => Framing::Length,
                    other => other,
                };
                let body = if matches!(framing, Framing::None) {
                    Vec::new()
                } else {
                    body
                };
                GeneratedRequest {
                    method,
                    target,
                    http10,
                    connection,
                    headers,
                    body,
                    framing,
                }
            },
        )
}

impl GeneratedRequest {
    fn to_bytes(&self) -> Vec<u8> {
        let version = if self.http10 { "HTTP/1.0" } else { "HTTP/1.1" };
        let mut out = format!("{} {} {}\r\n", self.method, self.target, version).into_bytes();
        for (name, value) in self.all_headers() {
            out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        match &self.framing {
            Framing::None => {}
            Framing::Length => out.extend_from_slice(&self.body),
            Framing::Chunked(sizes, extensions, trailers) => {
                let mut rest = &self.body[..];
                for size in sizes.iter().cycle() {
                    if rest.is_empty() {
                        break;
                    }
                    let (chunk, tail) = rest.split_at((*size).min(rest.len()));
                    rest = tail;
                    let extension = if *extensions { ";ext=\"v\"" } else { "" };
                    out.extend_from_slice(format!("{:x}{extension}\r\n", chunk.len()).as_bytes());
                    out.extend_from_slice(chunk);
                    out.extend_from_slice(b"\r\n");
                }
                out.extend_from_slice(b"0\r\n");
                for (name, value) in trailers {
                    out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
                }
                out.extend_from_slice(b"\r\n");
            }
        }
        out
    }

    /// Header lines as sent, framing headers last.
    fn all_headers(&self) -> Vec<(String, String)> {
        let mut headers = self.headers.clone();
        if let Some(connection) = self.connection {
            headers.push(("Connection".into(), connection.into()));
        }
        match &self.framing {
            Framing::None => {}
            Framing::Length => headers.push(("Content-Length".into(), self.body.len().to_string())),
            Framing::Chunked(..) => headers.push(("Transfer-Encoding".into(), "chunked".into())),
        }
        headers
    }

    fn expected(&self) -> Request {
        let method = match self.method {
            "GET" => Method::Get,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "OPTIONS" => Method::Options,
            "HEAD" => Method::Head,
            "DELETE" => Method::Delete,
            other => Method::Other(other.into()),
        };
        let tokens: Vec<String> = self
            .connection
            .unwrap_or("")
            .split(',')
            .map(|token| token.trim().to_ascii_lowercase())
            .collect();
        let keep_alive = if self.http10 {
            tokens.iter().any(|token| token == "keep-alive")
        } else {
            !tokens.iter().any(|token| token == "close")
        };
        Request {
            method,
            target: self.target.clone(),
            headers: self
                .all_headers()
                .into_iter()
                .map(|(name, value)| {
                    header(&name.to_ascii_lowercase(), value.trim_matches([' ', '\t']))
                })
                .collect(),
            body: Bytes::from(self.body.clone()),
            keep_alive,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn generated_requests_decode_in_any_split(
        requests in prop::collection::vec(generated_request(), 1..4),
        sizes in prop::collection::vec(1usize..64, 1..8),
    ) {
        let input: Vec<u8> = requests.iter().flat_map(GeneratedRequest::to_bytes).collect();
        let (decoded, err) = parse_in_pieces(&input, &sizes, Limits::default());
        prop_assert_eq!(err, None);
        let expected: Vec<Request> = requests.iter().map(GeneratedRequest::expected).collect();
        prop_assert_eq!(decoded, expected);
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        input in prop::collection::vec(any::<u8>(), 0..600),
        sizes in prop::collection::vec(1usize..80, 1..8),
        max_headers in 0usize..8,
        max_head_bytes in 0usize..256,
        max_body_bytes in 0usize..64,
    ) {
        let limits = Limits { max_headers, max_head_bytes, max_body_bytes };
        let in_pieces = parse_in_pieces(&input, &sizes, limits);
        if let Some(err) = &in_pieces.1 {
            prop_assert!(matches!(err.status(), 400 | 413 | 431 | 505));
        }
        // How the bytes were split never changes the outcome.
        prop_assert_eq!(in_pieces, parse_in_pieces(&input, &[input.len().max(1)], limits));
    }

    #[test]
    fn mangled_requests_never_panic(
        request in generated_request(),
        position in any::<prop::sample::Index>(),
        garbage in prop::collection::vec(any::<u8>(), 0..16),
        sizes in prop::collection::vec(1usize..32, 1..8),
    ) {
        let mut input = request.to_bytes();
        let at = position.index(input.len() + 1);
        input.splice(at..at, garbage);
        let in_pieces = parse_in_pieces(&input, &sizes, Limits::default());
        prop_assert_eq!(in_pieces, parse_whole(&input));
    }

    #[test]
    fn buffer_stays_within_the_head_bound_while_waiting_for_a_head(
        input in prop::collection::vec(prop_oneof![Just(b'\n'), Just(b'\r'), Just(b'a'), Just(b' ')], 0..400),
    ) {
        let limits = Limits { max_headers: 4, max_head_bytes: 64, max_body_bytes: 0 };
        let mut parser = RequestParser::new(limits);
        for byte in input {
            parser.feed(&[byte]);
            match parser.poll_request() {
                Ok(_) => prop_assert!(parser.buffered_len() <= 64),
                Err(_) => break,
            }
        }
    }
}
