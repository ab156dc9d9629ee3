//! HTTP/1.1 on the client side: a request writer and an incremental
//! response parser (heads through httparse, bodies by Content-Length,
//! chunked coding, or up to the end of the connection). What a long-polling
//! Engine.IO client needs, with the same bounds and errors as the server side.

use alloc::string::String;
use alloc::vec::Vec;
use bytes::{Buf, Bytes, BytesMut};

use super::{
    body_state, complete_head, convert_headers, find_blank_line, push_content_length,
    push_field_text, push_header, BodyState, Header, HttpError, Limits, Method,
};

/// A request to write: [`OutgoingRequest::encode`] adds `Host` and, when
/// there is a body (or the method is POST/PUT), `Content-Length`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingRequest {
    /// The method.
    pub method: Method,
    /// The request target, e.g. `/socket.io/?EIO=4&transport=polling`.
    pub target: String,
    /// Extra header lines in order (`Host` and `Content-Length` excluded).
    pub headers: Vec<(String, String)>,
    /// The body (empty for none).
    pub body: Bytes,
}

impl OutgoingRequest {
    /// A request with no extra header and no body.
    pub fn new(method: Method, target: impl Into<String>) -> Self {
        OutgoingRequest {
            method,
            target: target.into(),
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    /// Adds a header line (builder style).
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body (builder style).
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Writes request line, `Host: host`, headers, Content-Length and body
    /// to `out`. CR, LF and NUL in the target, names and values are written
    /// as spaces (they could split the request); so is a space in the target.
    pub fn encode(&self, host: &str, out: &mut BytesMut) {
        out.reserve(64 + self.target.len() + host.len() + self.body.len());
        push_field_text(out, self.method.as_str());
        out.extend_from_slice(b" ");
        push_target(out, &self.target);
        out.extend_from_slice(b" HTTP/1.1\r\nHost: ");
        push_field_text(out, host);
        out.extend_from_slice(b"\r\n");
        for (name, value) in &self.headers {
            push_header(out, name, value);
        }
        let has_body_method = matches!(self.method, Method::Post | Method::Put);
        if has_body_method || !self.body.is_empty() {
            push_content_length(out, self.body.len());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
    }

    /// [`OutgoingRequest::encode`] into fresh bytes.
    pub fn to_bytes(&self, host: &str) -> Bytes {
        let mut out = BytesMut::new();
        self.encode(host, &mut out);
        out.freeze()
    }
}

/// A target must stay one token on the request line.
fn push_target(out: &mut BytesMut, target: &str) {
    for byte in target.as_bytes() {
        let unsafe_byte = matches!(byte, b'\r' | b'\n' | 0 | b' ');
        out.extend_from_slice(if unsafe_byte {
            b"%20"
        } else {
            core::slice::from_ref(byte)
        });
    }
}

/// A complete response: head and de-chunked body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedResponse {
    /// Status code.
    pub status: u16,
    /// Header lines in order (names lower-cased).
    pub headers: Vec<Header>,
    /// The body (empty when there is none).
    pub body: Bytes,
    /// Whether the connection may carry another request (HTTP/1.1 without
    /// `Connection: close`, HTTP/1.0 with `keep-alive`, and a body whose
    /// end was not the end of the connection).
    pub keep_alive: bool,
}

impl ReceivedResponse {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|header| header.name.eq_ignore_ascii_case(name))
            .map(|header| header.value.as_str())
    }
}

/// Incremental response parser for one connection. Feed it what is read;
/// take responses out as they complete, in the order of the requests; call
/// [`ResponseParser::finish`] when the server closes the connection. Interim
/// `1xx` responses are skipped (a `101` is returned: what follows it is
/// another protocol, see [`ResponseParser::take_buffered`]). Responses to
/// `HEAD` are not supported (their Content-Length announces no body).
#[derive(Debug)]
pub struct ResponseParser {
    limits: Limits,
    buf: BytesMut,
    state: State,
    head_scanned: usize,
}

#[derive(Debug)]
enum State {
    Head,
    Body(Pending),
    /// After a `101`: the bytes are not HTTP any more.
    Switched,
    Failed(HttpError),
}

#[derive(Debug)]
struct Pending {
    status: u16,
    headers: Vec<Header>,
    keep_alive: bool,
    body: ResponseBody,
}

#[derive(Debug)]
enum ResponseBody {
    Framed(BodyState),
    /// No length given: the body ends with the connection.
    UntilClose,
}

impl ResponseParser {
    /// A parser enforcing `limits`.
    pub fn new(limits: Limits) -> Self {
        ResponseParser {
            limits,
            buf: BytesMut::new(),
            state: State::Head,
            head_scanned: 0,
        }
    }

    /// Append bytes read from the connection; call
    /// [`ResponseParser::poll_response`] after each feed.
    pub fn feed(&mut self, data: &[u8]) {
        if !matches!(self.state, State::Failed(_)) {
            self.buf.extend_from_slice(data);
        }
    }

    /// The next complete response, `Ok(None)` when more bytes are needed.
    /// An error sticks: the connection must be closed.
    pub fn poll_response(&mut self) -> Result<Option<ReceivedResponse>, HttpError> {
        if let State::Failed(err) = &self.state {
            return Err(err.clone());
        }
        let polled = self.advance();
        if let Err(err) = &polled {
            self.fail(err.clone());
        }
        polled
    }

    /// The server closed the connection: the response whose body ran up to
    /// the close, `Ok(None)` when nothing was pending, or
    /// [`HttpError::Truncated`] when a response was cut short.
    pub fn finish(&mut self) -> Result<Option<ReceivedResponse>, HttpError> {
        let finished = match core::mem::replace(&mut self.state, State::Head) {
            State::Failed(err) => Err(err),
            State::Switched => Ok(None),
            State::Head if self.buf.is_empty() => Ok(None),
            State::Head => Err(HttpError::Truncated),
            State::Body(pending) => match pending.body {
                ResponseBody::UntilClose => {
                    let body = core::mem::take(&mut self.buf).freeze();
                    Ok(Some(pending.into_response(body, false)))
                }
                ResponseBody::Framed(_) => Err(HttpError::Truncated),
            },
        };
        if let Err(err) = &finished {
            self.fail(err.clone());
        }
        finished
    }

    /// Bytes received but not part of a returned response (after a `101`,
    /// the first bytes of the new protocol).
    pub fn take_buffered(&mut self) -> BytesMut {
        self.head_scanned = 0;
        core::mem::take(&mut self.buf)
    }

    /// How many bytes are buffered.
    pub fn buffered_len(&self) -> usize {
        self.buf.len()
    }

    fn fail(&mut self, err: HttpError) {
        self.state = State::Failed(err);
        self.buf = BytesMut::new();
    }

    fn advance(&mut self) -> Result<Option<ReceivedResponse>, HttpError> {
        loop {
            match &mut self.state {
                State::Failed(_) | State::Switched => return Ok(None),
                State::Head => match self.parse_head()? {
                    None => return Ok(None),
                    Some(Head::Interim) => continue,
                    Some(Head::Switching(pending)) => {
                        self.state = State::Switched;
                        return Ok(Some(pending.into_response(Bytes::new(), false)));
                    }
                    Some(Head::Final(pending)) => self.state = State::Body(pending),
                },
                State::Body(pending) => {
                    let ResponseBody::Framed(framed) = &mut pending.body else {
                        if self.buf.len() > self.limits.max_body_bytes {
                            return Err(HttpError::BodyTooLarge);
                        }
                        return Ok(None);
                    };
                    let Some(body) = framed.poll(&mut self.buf, &self.limits)? else {
                        return Ok(None);
                    };
                    let State::Body(pending) = core::mem::replace(&mut self.state, State::Head)
                    else {
                        return Ok(None);
                    };
                    let keep_alive = pending.keep_alive;
                    if self.buf.is_empty() {
                        self.buf = BytesMut::new();
                    }
                    return Ok(Some(pending.into_response(body, keep_alive)));
                }
            }
        }
    }

    fn parse_head(&mut self) -> Result<Option<Head>, HttpError> {
        let window_len = self.buf.len().min(self.limits.max_head_bytes);
        let window = self.buf.get(..window_len).unwrap_or_default();
        let Some(head_end) = find_blank_line(window, self.head_scanned) else {
            self.head_scanned = window_len.saturating_sub(2);
            if self.buf.len() > self.limits.max_head_bytes {
                return Err(HttpError::HeadTooLarge);
            }
            return Ok(None);
        };
        let head = self.buf.get(..head_end).unwrap_or_default();
        let (pending, consumed) = parse_response_head(head, &self.limits)?;
        self.buf.advance(consumed.min(self.buf.len()));
        self.head_scanned = 0;
        Ok(Some(match pending.status {
            101 => Head::Switching(pending),
            100..=199 => Head::Interim,
            _ => Head::Final(pending),
        }))
    }
}

enum Head {
    Interim,
    Switching(Pending),
    Final(Pending),
}

impl Pending {
    fn into_response(self, body: Bytes, keep_alive: bool) -> ReceivedResponse {
        ReceivedResponse {
            status: self.status,
            headers: self.headers,
            body,
            keep_alive,
        }
    }
}

fn parse_response_head(bytes: &[u8], limits: &Limits) -> Result<(Pending, usize), HttpError> {
    let mut slots = alloc::vec![httparse::EMPTY_HEADER; limits.max_headers];
    let mut parsed = httparse::Response::new(&mut slots);
    let (consumed, version) = complete_head(parsed.parse(bytes), parsed.version)?;
    let status = parsed
        .code
        .ok_or(HttpError::Malformed("incomplete status line"))?;
    let (headers, keep_alive) = convert_headers(parsed.headers, version)?;
    // RFC 9112 §6.3: these never have a body, whatever the headers say.
    let bodiless = (100..200).contains(&status) || status == 204 || status == 304;
    let framed = headers
        .iter()
        .any(|header| header.name == "content-length" || header.name == "transfer-encoding");
    let body = if bodiless {
        ResponseBody::Framed(BodyState::Length(0))
    } else if framed {
        ResponseBody::Framed(body_state(&headers, version, limits)?)
    } else {
        ResponseBody::UntilClose
    };
    let keep_alive = keep_alive && !matches!(body, ResponseBody::UntilClose);
    let pending = Pending {
        status,
        headers,
        keep_alive,
        body,
    };
    Ok((pending, consumed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::http::{RequestParser, Response};
    use alloc::vec;

    fn parse_all(input: &[u8], piece: usize) -> (Vec<ReceivedResponse>, Option<HttpError>) {
        let mut parser = ResponseParser::new(Limits::default());
        let mut out = Vec::new();
        for chunk in input.chunks(piece.max(1)) {
            parser.feed(chunk);
            loop {
                match parser.poll_response() {
                    Ok(Some(response)) => out.push(response),
                    Ok(None) => break,
                    Err(err) => return (out, Some(err)),
                }
            }
        }
        (out, None)
    }

    fn header(name: &str, value: &str) -> Header {
        Header {
            name: name.into(),
            value: value.into(),
        }
    }

    #[test]
    fn request_bytes_exact() {
        let request = OutgoingRequest::new(Method::Post, "/socket.io/?EIO=4&sid=a")
            .with_header("Content-Type", "text/plain;charset=UTF-8")
            .with_body(&b"4hi"[..]);
        assert_eq!(
            &request.to_bytes("h:1")[..],
            &b"POST /socket.io/?EIO=4&sid=a HTTP/1.1\r\nHost: h:1\r\n\
               Content-Type: text/plain;charset=UTF-8\r\nContent-Length: 3\r\n\r\n4hi"[..]
        );
        let get = OutgoingRequest::new(Method::Get, "/a b\r\nX: y").with_header("A\r\n", "b\nc");
        assert_eq!(
            &get.to_bytes("h")[..],
            &b"GET /a%20b%20%20X:%20y HTTP/1.1\r\nHost: h\r\nA  : b c\r\n\r\n"[..]
        );
    }

    #[test]
    fn content_length_then_chunked_on_one_connection() {
        let input = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n\
                      Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n1;x=y\r\nd\r\n0\r\nT: 1\r\n\r\n";
        for piece in [1, 3, input.len()] {
            let (responses, err) = parse_all(input, piece);
            assert_eq!(err, None);
            assert_eq!(
                responses,
                vec![
                    ReceivedResponse {
                        status: 200,
                        headers: vec![header("content-length", "2")],
                        body: Bytes::from_static(b"ok"),
                        keep_alive: true,
                    },
                    ReceivedResponse {
                        status: 200,
                        headers: vec![header("transfer-encoding", "chunked")],
                        body: Bytes::from_static(b"abcd"),
                        keep_alive: true,
                    }
                ]
            );
        }
    }

    #[test]
    fn interim_skipped_bodiless_statuses_and_close() {
        let input =
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n\
                      HTTP/1.0 200 OK\r\n\r\nuntil close";
        let mut parser = ResponseParser::new(Limits::default());
        parser.feed(input);
        let first = parser.poll_response().unwrap().unwrap();
        assert_eq!(
            (first.status, first.body.len(), first.keep_alive),
            (204, 0, true)
        );
        assert_eq!(parser.poll_response(), Ok(None));
        let last = parser.finish().unwrap().unwrap();
        assert_eq!(
            (last.status, &last.body[..], last.keep_alive),
            (200, &b"until close"[..], false)
        );
        assert_eq!(parser.finish(), Ok(None));
    }

    #[test]
    fn switching_protocols_leaves_the_rest() {
        let mut parser = ResponseParser::new(Limits::default());
        parser.feed(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x01a");
        let response = parser.poll_response().unwrap().unwrap();
        assert_eq!(response.status, 101);
        assert_eq!(response.header("UPGRADE"), Some("websocket"));
        assert_eq!(parser.poll_response(), Ok(None));
        assert_eq!(&parser.take_buffered()[..], b"\x81\x01a");
    }

    #[test]
    fn errors_are_typed_and_stick() {
        let cases: [(&[u8], HttpError); 6] = [
            (
                b"HTTP/1.1 abc OK\r\n\r\n",
                HttpError::Malformed("invalid request line"),
            ),
            (b"HTTP/2.0 200 OK\r\n\r\n", HttpError::UnsupportedVersion),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                HttpError::BadContentLength,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
                HttpError::BadTransferEncoding,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n",
                HttpError::BodyTooLarge,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                HttpError::BadTransferEncoding,
            ),
        ];
        for (input, expected) in cases {
            let mut parser = ResponseParser::new(Limits::default());
            parser.feed(input);
            assert_eq!(parser.poll_response(), Err(expected.clone()), "{input:?}");
            assert_eq!(parser.poll_response(), Err(expected.clone()));
            assert_eq!(parser.finish(), Err(expected));
        }
    }

    #[test]
    fn limits_and_truncation() {
        let limits = Limits {
            max_headers: 2,
            max_head_bytes: 40,
            max_body_bytes: 4,
        };
        let mut parser = ResponseParser::new(limits);
        parser.feed(&[b'a'; 41]);
        assert_eq!(parser.poll_response(), Err(HttpError::HeadTooLarge));
        let mut parser = ResponseParser::new(limits);
        parser.feed(b"HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n");
        assert_eq!(parser.poll_response(), Err(HttpError::TooManyHeaders));
        let mut parser = ResponseParser::new(limits);
        parser.feed(b"HTTP/1.1 200 OK\r\n\r\n12345");
        assert_eq!(parser.poll_response(), Err(HttpError::BodyTooLarge));
        let mut parser = ResponseParser::new(limits);
        parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nab");
        assert_eq!(parser.poll_response(), Ok(None));
        assert_eq!(parser.finish(), Err(HttpError::Truncated));
        let mut parser = ResponseParser::new(limits);
        parser.feed(b"HTTP/1.1 2");
        assert_eq!(parser.finish(), Err(HttpError::Truncated));
    }

    #[test]
    fn requests_written_here_parse_on_the_server_side() {
        let request = OutgoingRequest::new(Method::Post, "/x?y=1")
            .with_header("Accept", "*/*")
            .with_body(&b"body"[..]);
        let mut parser = RequestParser::new(Limits::default());
        parser.feed(&request.to_bytes("example:80"));
        let parsed = parser.poll_request().unwrap().unwrap();
        assert_eq!(parsed.method, Method::Post);
        assert_eq!(parsed.target, "/x?y=1");
        assert_eq!(parsed.header("host"), Some("example:80"));
        assert_eq!(parsed.header("content-length"), Some("4"));
        assert_eq!(&parsed.body[..], b"body");
        let _ = Response::new(200);
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn token() -> impl Strategy<Value = String> {
            "[A-Za-z][A-Za-z0-9-]{0,10}"
        }

        fn value() -> impl Strategy<Value = String> {
            "[ -~]{0,20}".prop_map(|v| String::from(v.trim_matches(' ')))
        }

        proptest! {
            /// A response written by the server side reads back the same,
            /// whatever the read sizes.
            #[test]
            fn response_round_trip(
                status in prop::sample::select(vec![200u16, 400, 404, 500]),
                headers in prop::collection::vec((token(), value()), 0..5),
                body in prop::collection::vec(any::<u8>(), 0..200),
                piece in 1usize..50,
            ) {
                let headers: Vec<(String, String)> = headers
                    .into_iter()
                    .filter(|(name, _)| {
                        let lower = name.to_ascii_lowercase();
                        lower != "content-length" && lower != "transfer-encoding" && lower != "connection"
                    })
                    .collect();
                let mut response = Response::new(status);
                for (name, value) in &headers {
                    response = response.with_header(name.clone(), value.clone());
                }
                response.body = Bytes::from(body.clone());
                let bytes = response.to_bytes();
                let doubled = [&bytes[..], &bytes[..]].concat();
                let (parsed, err) = parse_all(&doubled, piece);
                prop_assert_eq!(err, None);
                prop_assert_eq!(parsed.len(), 2);
                for got in parsed {
                    prop_assert_eq!(got.status, status);
                    prop_assert_eq!(&got.body[..], &body[..]);
                    prop_assert!(got.keep_alive);
                    let names: Vec<String> = got.headers.iter().map(|h| h.name.clone()).collect();
                    let mut expected: Vec<String> = headers.iter().map(|(n, _)| n.to_ascii_lowercase()).collect();
                    expected.push(String::from("content-length"));
                    prop_assert_eq!(names, expected);
                    for ((_, value), got) in headers.iter().zip(&got.headers) {
                        prop_assert_eq!(&got.value, value);
                    }
                }
            }

            /// A request written here reads back the same on the server side.
            #[test]
            fn request_round_trip(
                target in "/[!-~]{0,30}",
                headers in prop::collection::vec((token(), value()), 0..5),
                body in prop::collection::vec(any::<u8>(), 0..100),
            ) {
                let headers: Vec<(String, String)> = headers
                    .into_iter()
                    .filter(|(name, _)| {
                        let lower = name.to_ascii_lowercase();
                        !["content-length", "transfer-encoding", "host", "expect", "connection"]
                            .contains(&lower.as_str())
                    })
                    .collect();
                let mut request = OutgoingRequest::new(Method::Post, target.clone())
                    .with_body(body.clone());
                request.headers = headers.clone();
                let mut parser = RequestParser::new(Limits::default());
                parser.feed(&request.to_bytes("h"));
                let parsed = parser.poll_request().unwrap().unwrap();
                prop_assert_eq!(parsed.target, target);
                prop_assert_eq!(&parsed.body[..], &body[..]);
                prop_assert_eq!(parsed.headers.len(), headers.len() + 2);
                for ((name, value), got) in headers.iter().zip(parsed.headers.iter().skip(1)) {
                    prop_assert_eq!(&got.name, &name.to_ascii_lowercase());
                    prop_assert_eq!(&got.value, value);
                }
            }
        }
    }
}
