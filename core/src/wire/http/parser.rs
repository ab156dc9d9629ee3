//! The incremental request parser: heads through httparse, bodies by
//! Content-Length or chunked coding, pipelined requests one by one.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use bytes::{Buf, Bytes, BytesMut};

use super::*;

/// Longest chunk-size line (size, extensions, CRLF) accepted; extensions
/// are ignored, so there is no reason to buffer more of them.
const MAX_CHUNK_LINE: usize = 4096;

/// Incremental request parser for one connection. Feed it bytes as they
/// arrive; take requests out as they complete. Pipelined requests come out
/// one by one.
#[derive(Debug)]
pub struct RequestParser {
    limits: Limits,
    buf: BytesMut,
    state: State,
    /// How far the buffer was searched for the blank line ending the head,
    /// so bytes fed one at a time are not searched again and again.
    head_scanned: usize,
    /// The current head asked for `100 Continue` and nobody took it yet.
    continue_pending: bool,
    /// The head of a request refused for its body's size (see
    /// [`RequestParser::take_refused_head`]), and how many of its body's
    /// bytes had arrived.
    refused: Option<(Request, usize)>,
}

#[derive(Debug)]
enum State {
    /// Waiting for a complete head.
    Head,
    /// Head parsed; waiting for the body.
    Body(PendingRequest),
    /// The peer broke the protocol; the same error forever.
    Failed(HttpError),
}

#[derive(Debug)]
struct PendingRequest {
    head: ParsedHead,
    body: BodyState,
}

#[derive(Debug)]
struct ParsedHead {
    method: Method,
    target: String,
    headers: Vec<Header>,
    keep_alive: bool,
}

#[derive(Debug)]
pub(super) enum BodyState {
    /// Exactly this many bytes follow the head.
    Length(usize),
    /// `Transfer-Encoding: chunked`, de-chunked as it arrives.
    Chunked(ChunkedBody),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Version {
    Http10,
    Http11,
}

impl RequestParser {
    /// A parser enforcing `limits`.
    pub fn new(limits: Limits) -> Self {
        RequestParser {
            limits,
            buf: BytesMut::new(),
            state: State::Head,
            head_scanned: 0,
            continue_pending: false,
            refused: None,
        }
    }

    /// Append bytes read from the connection. Limits are checked by
    /// [`RequestParser::poll_request`], so call it after every feed: the
    /// buffer then never holds more than one request's bounds plus one read.
    pub fn feed(&mut self, data: &[u8]) {
        if matches!(self.state, State::Failed(_)) {
            return;
        }
        self.buf.extend_from_slice(data);
    }

    /// The next complete request, `Ok(None)` when more bytes are needed.
    /// After an error the connection must be answered with
    /// [`HttpError::status`] and closed; the parser is not usable further
    /// and returns the same error on every later call.
    pub fn poll_request(&mut self) -> Result<Option<Request>, HttpError> {
        if let State::Failed(err) = &self.state {
            return Err(err.clone());
        }
        match self.advance() {
            Ok(Some(request)) => {
                self.release_idle_buffer();
                Ok(Some(request))
            }
            Ok(None) => Ok(None),
            Err(err) => {
                self.state = State::Failed(err.clone());
                self.continue_pending = false;
                self.buf = BytesMut::new();
                Err(err)
            }
        }
    }

    /// Whether the driver should write `HTTP/1.1 100 Continue\r\n\r\n` now.
    ///
    /// True exactly once per request whose head carried
    /// `Expect: 100-continue` (HTTP/1.1, with a body to come) when the head
    /// has been parsed but the body is not complete yet. Call it after
    /// [`RequestParser::poll_request`] returned `Ok(None)`. Requests that
    /// arrive whole never ask: their body is already here.
    pub fn take_expect_continue(&mut self) -> bool {
        core::mem::take(&mut self.continue_pending)
    }

    /// Bytes received but not yet part of a returned request. After a
    /// WebSocket upgrade they are the first bytes of the WebSocket stream.
    /// Take them between requests (right after `poll_request` returned
    /// one): taken in the middle of a body, they are lost to that body.
    pub fn take_buffered(&mut self) -> BytesMut {
        self.head_scanned = 0;
        core::mem::take(&mut self.buf)
    }

    /// After [`HttpError::BodyTooLarge`]: the head of the refused request,
    /// with an empty body (its body was never kept), so that the caller can
    /// tell whose request it was (a polling POST's session fails, as in the
    /// reference), and how many bytes of a `Content-Length` body had already
    /// arrived (0 for a chunked one). Taken once.
    pub fn take_refused_head(&mut self) -> Option<(Request, usize)> {
        self.refused.take()
    }

    /// How many bytes are buffered.
    pub fn buffered_len(&self) -> usize {
        self.buf.len()
    }

    /// How far into the next request the parser is, for its deadline
    /// ([`ConnDeadline::parsed`]). Call it after
    /// [`RequestParser::poll_request`] returned `Ok(None)`; a lone CR (of
    /// a blank line between requests) is no request yet.
    pub fn stage(&self) -> Stage {
        match self.state {
            State::Body(_) => Stage::Body,
            State::Head if !self.buf.is_empty() && self.buf[..] != *b"\r" => Stage::Head,
            State::Head | State::Failed(_) => Stage::Idle,
        }
    }

    fn advance(&mut self) -> Result<Option<Request>, HttpError> {
        if matches!(self.state, State::Head) {
            match self.parse_head()? {
                Some(pending) => self.state = State::Body(pending),
                None => return Ok(None),
            }
        }
        let State::Body(pending) = &mut self.state else {
            return Ok(None);
        };
        let body = match pending.body.poll(&mut self.buf, &self.limits) {
            Ok(Some(body)) => body,
            Ok(None) => return Ok(None),
            Err(error) => {
                if error == HttpError::BodyTooLarge {
                    if let State::Body(pending) = core::mem::replace(&mut self.state, State::Head) {
                        // Chunked: what arrived is not counted.
                        self.refused = Some((pending.head.into_request(Bytes::new()), 0));
                    }
                }
                return Err(error);
            }
        };
        let State::Body(pending) = core::mem::replace(&mut self.state, State::Head) else {
            return Ok(None);
        };
        self.continue_pending = false;
        Ok(Some(pending.head.into_request(body)))
    }

    /// Parses the head once its blank line is buffered and consumes it.
    fn parse_head(&mut self) -> Result<Option<PendingRequest>, HttpError> {
        self.skip_leading_blank_lines();
        let Some(head_end) = self.find_head_end() else {
            if self.buf.len() > self.limits.max_head_bytes {
                return Err(HttpError::HeadTooLarge);
            }
            return Ok(None);
        };
        let head_bytes = self.buf.get(..head_end).unwrap_or_default();
        let (head, version, consumed) = parse_head_bytes(head_bytes, &self.limits)?;
        let body = match body_state(&head.headers, version, &self.limits) {
            Ok(body) => body,
            Err(HttpError::BodyTooLarge) => {
                let arrived = self.buf.len().saturating_sub(consumed);
                self.refused = Some((head.into_request(Bytes::new()), arrived));
                return Err(HttpError::BodyTooLarge);
            }
            Err(error) => return Err(error),
        };
        self.continue_pending = version == Version::Http11
            && body.expects_bytes()
            && headers_have_token(&head.headers, "expect", "100-continue");
        self.buf.advance(consumed.min(self.buf.len()));
        self.head_scanned = 0;
        Ok(Some(PendingRequest { head, body }))
    }

    /// A server ignores empty lines before a request line (RFC 9112 §2.2),
    /// such as a stray CRLF after a body.
    fn skip_leading_blank_lines(&mut self) {
        loop {
            let skip = match self.buf.first() {
                Some(b'\n') => 1,
                Some(b'\r') if self.buf.get(1) == Some(&b'\n') => 2,
                _ => return,
            };
            self.buf.advance(skip);
            self.head_scanned = 0;
        }
    }

    /// The end of the blank line closing the head, searched only within
    /// the first `max_head_bytes`.
    fn find_head_end(&mut self) -> Option<usize> {
        let window_len = self.buf.len().min(self.limits.max_head_bytes);
        let window = self.buf.get(..window_len).unwrap_or_default();
        let found = find_blank_line(window, self.head_scanned);
        if found.is_none() {
            // A terminator may start in the last two bytes and end later.
            self.head_scanned = window_len.saturating_sub(2);
        }
        found
    }

    /// Gives back the allocation once nothing is buffered. `capacity()`
    /// only shows the slack after the data, not what was consumed in front
    /// of it, so a buffer that once held a large body would otherwise stay
    /// allocated for the life of an idle connection.
    fn release_idle_buffer(&mut self) {
        if self.buf.is_empty() {
            self.buf = BytesMut::new();
            self.head_scanned = 0;
        }
    }
}

/// The index just past the first empty line (`\n\n` or `\n\r\n`) at or
/// after a `\n` at `from`.
pub(super) fn find_blank_line(bytes: &[u8], from: usize) -> Option<usize> {
    let tail = bytes.get(from..)?;
    tail.iter()
        .enumerate()
        .filter(|(_, &byte)| byte == b'\n')
        .find_map(|(offset, _)| {
            let newline = from + offset;
            match (bytes.get(newline + 1), bytes.get(newline + 2)) {
                (Some(b'\n'), _) => Some(newline + 2),
                (Some(b'\r'), Some(b'\n')) => Some(newline + 3),
                _ => None,
            }
        })
}

/// Runs httparse over a complete head: the head, its version and how many
/// bytes it took.
fn parse_head_bytes(
    bytes: &[u8],
    limits: &Limits,
) -> Result<(ParsedHead, Version, usize), HttpError> {
    let mut slots = vec![httparse::EMPTY_HEADER; limits.max_headers];
    let mut parsed = httparse::Request::new(&mut slots);
    let (consumed, version) = complete_head(parsed.parse(bytes), parsed.version)?;
    let (Some(method), Some(target)) = (parsed.method, parsed.path) else {
        return Err(HttpError::Malformed("incomplete request line"));
    };
    let (headers, keep_alive) = convert_headers(parsed.headers, version)?;
    let head = ParsedHead {
        method: Method::from_token(method),
        target: String::from(target),
        headers,
        keep_alive,
    };
    Ok((head, version, consumed))
}

/// What httparse made of a complete head (a request's or a response's):
/// how many bytes it took, and its version.
pub(super) fn complete_head(
    result: httparse::Result<usize>,
    version: Option<u8>,
) -> Result<(usize, Version), HttpError> {
    let consumed = match result {
        Ok(httparse::Status::Complete(consumed)) => consumed,
        // The blank line is there, so httparse saw something it skipped.
        Ok(httparse::Status::Partial) => return Err(HttpError::Malformed("incomplete head")),
        Err(err) => return Err(httparse_error(err)),
    };
    let version = match version {
        Some(0) => Version::Http10,
        Some(1) => Version::Http11,
        _ => return Err(HttpError::UnsupportedVersion),
    };
    Ok((consumed, version))
}

/// A head's headers, and whether its connection stays open after it (the
/// default of `version`, or what `connection` says).
pub(super) fn convert_headers(
    headers: &[httparse::Header<'_>],
    version: Version,
) -> Result<(Vec<Header>, bool), HttpError> {
    let headers = headers
        .iter()
        .map(convert_header)
        .collect::<Result<Vec<_>, _>>()?;
    let keep_alive = match version {
        Version::Http11 => !headers_have_token(&headers, "connection", "close"),
        Version::Http10 => headers_have_token(&headers, "connection", "keep-alive"),
    };
    Ok((headers, keep_alive))
}

fn httparse_error(err: httparse::Error) -> HttpError {
    match err {
        httparse::Error::TooManyHeaders => HttpError::TooManyHeaders,
        httparse::Error::Version => HttpError::UnsupportedVersion,
        httparse::Error::HeaderName => HttpError::Malformed("invalid header name"),
        httparse::Error::HeaderValue => HttpError::Malformed("invalid header value"),
        httparse::Error::NewLine => HttpError::Malformed("invalid line ending"),
        httparse::Error::Token | httparse::Error::Status => {
            HttpError::Malformed("invalid request line")
        }
    }
}

fn convert_header(header: &httparse::Header<'_>) -> Result<Header, HttpError> {
    let value = core::str::from_utf8(header.value)
        .map_err(|_| HttpError::Malformed("header value is not UTF-8"))?;
    Ok(Header {
        name: header.name.to_ascii_lowercase(),
        value: String::from(trim_http_whitespace(value)),
    })
}

/// How the body is framed (RFC 9112 §6.3), rejecting every ambiguity a
/// proxy in front of us might resolve differently.
pub(super) fn body_state(
    headers: &[Header],
    version: Version,
    limits: &Limits,
) -> Result<BodyState, HttpError> {
    let content_length = content_length(headers)?;
    let chunked = transfer_encoding_is_chunked(headers)?;
    match (content_length, chunked) {
        (Some(_), Some(_)) => Err(HttpError::Malformed(
            "both Content-Length and Transfer-Encoding",
        )),
        (None, Some(_)) if version == Version::Http10 => Err(HttpError::BadTransferEncoding),
        (None, Some(())) => Ok(BodyState::Chunked(ChunkedBody::new())),
        (Some(length), None) => match usize::try_from(length) {
            Ok(length) if length <= limits.max_body_bytes => Ok(BodyState::Length(length)),
            _ => Err(HttpError::BodyTooLarge),
        },
        (None, None) => Ok(BodyState::Length(0)),
    }
}

/// The Content-Length, if any; repeated lines must agree.
fn content_length(headers: &[Header]) -> Result<Option<u64>, HttpError> {
    let mut agreed = None;
    for header in headers
        .iter()
        .filter(|header| header.name == "content-length")
    {
        let length = parse_content_length(&header.value)?;
        if agreed.is_some_and(|earlier| earlier != length) {
            return Err(HttpError::BadContentLength);
        }
        agreed = Some(length);
    }
    Ok(agreed)
}

/// Digits only; a number too big for u64 saturates (it is over any limit).
fn parse_content_length(value: &str) -> Result<u64, HttpError> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(HttpError::BadContentLength);
    }
    Ok(value.bytes().fold(0u64, |length, digit| {
        length
            .checked_mul(10)
            .and_then(|length| length.checked_add(u64::from(digit - b'0')))
            .unwrap_or(u64::MAX)
    }))
}

/// `Some(())` when the request is chunked, `None` without the header; any
/// coding list other than exactly `chunked` is refused.
fn transfer_encoding_is_chunked(headers: &[Header]) -> Result<Option<()>, HttpError> {
    let mut codings = headers
        .iter()
        .filter(|header| header.name == "transfer-encoding")
        .flat_map(|header| header.value.split(','))
        .map(trim_http_whitespace);
    match (codings.next(), codings.next()) {
        (None, _) => Ok(None),
        (Some(coding), None) if coding.eq_ignore_ascii_case("chunked") => Ok(Some(())),
        _ => Err(HttpError::BadTransferEncoding),
    }
}

impl BodyState {
    fn expects_bytes(&self) -> bool {
        !matches!(self, BodyState::Length(0))
    }

    /// The whole body once it is buffered.
    pub(super) fn poll(
        &mut self,
        buf: &mut BytesMut,
        limits: &Limits,
    ) -> Result<Option<Bytes>, HttpError> {
        match self {
            BodyState::Length(length) if buf.len() >= *length => {
                Ok(Some(buf.split_to(*length).freeze()))
            }
            BodyState::Length(_) => Ok(None),
            BodyState::Chunked(chunked) => chunked.poll(buf, limits),
        }
    }
}

impl ParsedHead {
    fn into_request(self, body: Bytes) -> Request {
        Request {
            method: self.method,
            target: self.target,
            headers: self.headers,
            body,
            keep_alive: self.keep_alive,
        }
    }
}

/// Incremental decoder of a chunked body (RFC 9112 §7.1).
#[derive(Debug)]
pub(super) struct ChunkedBody {
    phase: ChunkPhase,
    body: BytesMut,
}

#[derive(Debug, Clone, Copy)]
enum ChunkPhase {
    /// Waiting for `<hex size>[;extensions]\r\n`.
    SizeLine,
    /// This many bytes of chunk data still to come.
    Data(usize),
    /// Waiting for the CRLF after a chunk's data.
    DataEnd,
    /// After the last chunk: trailer lines up to an empty one; `seen`
    /// bytes of them so far.
    Trailers { seen: usize },
}

/// Why a CRLF line could not be taken.
enum LineFault {
    TooLong,
    BareNewline,
}

impl ChunkedBody {
    fn new() -> Self {
        ChunkedBody {
            phase: ChunkPhase::SizeLine,
            body: BytesMut::new(),
        }
    }

    fn poll(&mut self, buf: &mut BytesMut, limits: &Limits) -> Result<Option<Bytes>, HttpError> {
        loop {
            let progressed = match self.phase {
                ChunkPhase::SizeLine => self.read_size_line(buf, limits)?,
                ChunkPhase::Data(remaining) => self.read_data(buf, remaining),
                ChunkPhase::DataEnd => {
                    let ended = read_data_end(buf)?;
                    if ended {
                        self.phase = ChunkPhase::SizeLine;
                    }
                    ended
                }
                ChunkPhase::Trailers { seen } => match self.read_trailer_line(buf, seen, limits)? {
                    TrailerStep::Done => return Ok(Some(core::mem::take(&mut self.body).freeze())),
                    TrailerStep::More => true,
                    TrailerStep::Wait => false,
                },
            };
            if !progressed {
                return Ok(None);
            }
        }
    }

    fn read_size_line(&mut self, buf: &mut BytesMut, limits: &Limits) -> Result<bool, HttpError> {
        let line = match take_crlf_line(buf, MAX_CHUNK_LINE) {
            Ok(Some(line)) => line,
            Ok(None) => return Ok(false),
            Err(_) => return Err(HttpError::BadTransferEncoding),
        };
        let size = parse_chunk_size(&line)?;
        if size == 0 {
            self.phase = ChunkPhase::Trailers { seen: 0 };
            return Ok(true);
        }
        let allowed = limits.max_body_bytes.saturating_sub(self.body.len());
        match usize::try_from(size) {
            Ok(size) if size <= allowed => self.phase = ChunkPhase::Data(size),
            _ => return Err(HttpError::BodyTooLarge),
        }
        Ok(true)
    }

    fn read_data(&mut self, buf: &mut BytesMut, remaining: usize) -> bool {
        let taken = remaining.min(buf.len());
        if taken == 0 {
            return false;
        }
        self.body.extend_from_slice(&buf.split_to(taken));
        let left = remaining - taken;
        self.phase = if left == 0 {
            ChunkPhase::DataEnd
        } else {
            ChunkPhase::Data(left)
        };
        true
    }

    fn read_trailer_line(
        &mut self,
        buf: &mut BytesMut,
        seen: usize,
        limits: &Limits,
    ) -> Result<TrailerStep, HttpError> {
        let allowed = limits.max_head_bytes.saturating_sub(seen);
        let line = match take_crlf_line(buf, allowed) {
            Ok(Some(line)) => line,
            Ok(None) => return Ok(TrailerStep::Wait),
            Err(LineFault::TooLong) => return Err(HttpError::HeadTooLarge),
            Err(LineFault::BareNewline) => return Err(HttpError::BadTransferEncoding),
        };
        if line.is_empty() {
            return Ok(TrailerStep::Done);
        }
        if has_control_bytes(&line) {
            return Err(HttpError::BadTransferEncoding);
        }
        // Trailer fields are skipped: nothing here is allowed to change
        // how the request is handled.
        self.phase = ChunkPhase::Trailers {
            seen: seen.saturating_add(line.len() + 2),
        };
        Ok(TrailerStep::More)
    }
}

enum TrailerStep {
    Done,
    More,
    Wait,
}

/// Consumes the CRLF after chunk data; `Ok(false)` while it is not here.
fn read_data_end(buf: &mut BytesMut) -> Result<bool, HttpError> {
    match (buf.first(), buf.get(1)) {
        (Some(b'\r'), Some(b'\n')) => {
            buf.advance(2);
            Ok(true)
        }
        (None, _) | (Some(b'\r'), None) => Ok(false),
        _ => Err(HttpError::BadTransferEncoding),
    }
}

/// Takes one CRLF-terminated line of at most `max_len` bytes (CRLF
/// included) off the front of `buf`, returning it without its CRLF.
fn take_crlf_line(buf: &mut BytesMut, max_len: usize) -> Result<Option<BytesMut>, LineFault> {
    let window = buf.get(..buf.len().min(max_len)).unwrap_or_default();
    let Some(newline) = window.iter().position(|&byte| byte == b'\n') else {
        return if buf.len() >= max_len {
            Err(LineFault::TooLong)
        } else {
            Ok(None)
        };
    };
    if newline == 0 || window.get(newline - 1) != Some(&b'\r') {
        return Err(LineFault::BareNewline);
    }
    let mut line = buf.split_to(newline + 1);
    line.truncate(newline - 1);
    Ok(Some(line))
}

/// A bare CR or other control byte inside a chunk line is a classic
/// smuggling vector: parsers disagree on where the line ends.
fn has_control_bytes(line: &[u8]) -> bool {
    line.iter()
        .any(|&byte| byte.is_ascii_control() && byte != b'\t')
}

/// `1*HEXDIG [BWS ";" extensions]`; extensions are ignored.
fn parse_chunk_size(line: &[u8]) -> Result<u64, HttpError> {
    let digits = line
        .iter()
        .take_while(|byte| byte.is_ascii_hexdigit())
        .count();
    let (hex, rest) = line.split_at(digits);
    let extensions_start = rest.iter().find(|&&byte| byte != b' ' && byte != b'\t');
    let well_formed = !hex.is_empty()
        && (rest.is_empty() || extensions_start == Some(&b';'))
        && !has_control_bytes(rest);
    if !well_formed {
        return Err(HttpError::BadTransferEncoding);
    }
    hex.iter().try_fold(0u64, |size, &digit| {
        let value = u64::from(hex_value(digit).unwrap_or(0));
        size.checked_mul(16)
            .and_then(|size| size.checked_add(value))
            .ok_or(HttpError::BadTransferEncoding)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_refused_for_its_size_leaves_its_head() {
        let limits = Limits {
            max_body_bytes: 4,
            ..Limits::default()
        };
        let mut parser = RequestParser::new(limits);
        parser.feed(b"POST /a?sid=x HTTP/1.1\r\nContent-Length: 5\r\n\r\nab");
        assert_eq!(parser.poll_request(), Err(HttpError::BodyTooLarge));
        let (head, arrived) = parser.take_refused_head().unwrap();
        assert_eq!(arrived, 2);
        assert_eq!(
            (head.method, head.target.as_str()),
            (Method::Post, "/a?sid=x")
        );
        assert_eq!(parser.take_refused_head(), None);
        // Chunked: refused at the chunk that goes over.
        let mut parser = RequestParser::new(limits);
        parser.feed(b"POST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n");
        assert_eq!(parser.poll_request(), Ok(None));
        parser.feed(b"2\r\n");
        assert_eq!(parser.poll_request(), Err(HttpError::BodyTooLarge));
        assert_eq!(parser.take_refused_head().unwrap().0.target, "/b");
        // Other errors leave none.
        let mut parser = RequestParser::new(limits);
        parser.feed(b"BAD\r\n\r\n");
        assert!(parser.poll_request().is_err());
        assert_eq!(parser.take_refused_head(), None);
    }

    #[test]
    fn blank_line_search_finds_both_line_endings() {
        assert_eq!(find_blank_line(b"GET / HTTP/1.1\r\n\r\nrest", 0), Some(18));
        assert_eq!(find_blank_line(b"GET / HTTP/1.1\n\nrest", 0), Some(16));
        assert_eq!(find_blank_line(b"GET / HTTP/1.1\r\nA: b\r\n", 0), None);
        assert_eq!(find_blank_line(b"GET / HTTP/1.1\r\n\r", 0), None);
        assert_eq!(find_blank_line(b"ab", 5), None);
    }

    #[test]
    fn blank_line_search_resumes_two_bytes_back() {
        let mut parser = RequestParser::new(Limits::default());
        parser.feed(b"GET / HTTP/1.1\r\n");
        assert_eq!(parser.poll_request(), Ok(None));
        assert_eq!(parser.head_scanned, 14);
        parser.feed(b"\r");
        assert_eq!(parser.poll_request(), Ok(None));
        parser.feed(b"\n");
        let request = parser.poll_request().unwrap().unwrap();
        assert_eq!(request.target, "/");
    }

    #[test]
    fn chunk_sizes() {
        assert_eq!(parse_chunk_size(b"0"), Ok(0));
        assert_eq!(parse_chunk_size(b"1aF"), Ok(0x1af));
        assert_eq!(parse_chunk_size(b"5;name=value"), Ok(5));
        assert_eq!(parse_chunk_size(b"5 ; name"), Ok(5));
        assert_eq!(parse_chunk_size(b"ffffffffffffffff"), Ok(u64::MAX));
        assert_eq!(
            parse_chunk_size(b"10000000000000000"),
            Err(HttpError::BadTransferEncoding)
        );
        assert_eq!(parse_chunk_size(b""), Err(HttpError::BadTransferEncoding));
        assert_eq!(parse_chunk_size(b";x"), Err(HttpError::BadTransferEncoding));
        assert_eq!(parse_chunk_size(b"5 "), Err(HttpError::BadTransferEncoding));
        assert_eq!(parse_chunk_size(b"5x"), Err(HttpError::BadTransferEncoding));
        assert_eq!(parse_chunk_size(b"-5"), Err(HttpError::BadTransferEncoding));
        assert_eq!(
            parse_chunk_size(b"5;a\rb"),
            Err(HttpError::BadTransferEncoding)
        );
    }

    #[test]
    fn crlf_lines() {
        let mut buf = BytesMut::from(&b"abc\r\nrest"[..]);
        assert_eq!(
            take_crlf_line(&mut buf, 16).ok().flatten().as_deref(),
            Some(&b"abc"[..])
        );
        assert_eq!(&buf[..], b"rest");
        assert!(matches!(take_crlf_line(&mut buf, 16), Ok(None)));
        assert!(matches!(
            take_crlf_line(&mut buf, 4),
            Err(LineFault::TooLong)
        ));
        let mut bare = BytesMut::from(&b"abc\nx"[..]);
        assert!(matches!(
            take_crlf_line(&mut bare, 16),
            Err(LineFault::BareNewline)
        ));
        let mut exact = BytesMut::from(&b"ab\r\n"[..]);
        assert!(matches!(take_crlf_line(&mut exact, 4), Ok(Some(_))));
    }

    #[test]
    fn content_length_values() {
        assert_eq!(parse_content_length("0"), Ok(0));
        assert_eq!(parse_content_length("0012"), Ok(12));
        assert_eq!(
            parse_content_length("99999999999999999999999"),
            Ok(u64::MAX)
        );
        assert_eq!(parse_content_length(""), Err(HttpError::BadContentLength));
        assert_eq!(parse_content_length("+1"), Err(HttpError::BadContentLength));
        assert_eq!(
            parse_content_length("1 2"),
            Err(HttpError::BadContentLength)
        );
        assert_eq!(
            parse_content_length("5,5"),
            Err(HttpError::BadContentLength)
        );
    }

    #[test]
    fn percent_decoding() {
        assert!(matches!(percent_decode("plain"), Cow::Borrowed("plain")));
        assert_eq!(percent_decode("a+b%20c"), "a b c");
        assert_eq!(percent_decode("%41%3d%3D"), "A==");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("%C3%A9"), "é");
        assert_eq!(percent_decode("%FF"), "\u{FFFD}");
    }

    #[test]
    fn header_values_cannot_split_a_response() {
        let response = Response::new(200).with_header("X-Echo", "a\r\nSet-Cookie: x\0");
        let bytes = response.to_bytes();
        assert_eq!(
            &bytes[..],
            &b"HTTP/1.1 200 OK\r\nX-Echo: a  Set-Cookie: x \r\nContent-Length: 0\r\n\r\n"[..]
        );
    }

    #[test]
    fn failed_parser_drops_its_buffer_and_ignores_feeds() {
        let mut parser = RequestParser::new(Limits::default());
        parser.feed(b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n");
        let err = parser.poll_request().unwrap_err();
        assert_eq!(parser.buffered_len(), 0);
        parser.feed(b"GET / HTTP/1.1\r\n\r\n");
        assert_eq!(parser.buffered_len(), 0);
        assert_eq!(parser.poll_request(), Err(err));
    }

    #[test]
    fn stage_tells_head_from_body() {
        let mut parser = RequestParser::new(Limits::default());
        assert_eq!(parser.stage(), Stage::Idle);
        parser.feed(b"\r");
        assert_eq!(parser.poll_request(), Ok(None));
        assert_eq!(parser.stage(), Stage::Idle);
        parser.feed(b"\nP");
        assert_eq!(parser.poll_request(), Ok(None));
        assert_eq!(parser.stage(), Stage::Head);
        parser.feed(b"OST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n");
        assert_eq!(parser.poll_request(), Ok(None));
        assert_eq!(parser.stage(), Stage::Body);
        parser.feed(b"abGET / HTTP/1.1\r\n");
        assert!(parser.poll_request().unwrap().is_some());
        assert_eq!(parser.stage(), Stage::Head);
        parser.feed(b"\r\n");
        assert!(parser.poll_request().unwrap().is_some());
        assert_eq!(parser.stage(), Stage::Idle);
    }

    #[test]
    fn idle_buffer_is_released() {
        let mut parser = RequestParser::new(Limits::default());
        parser.feed(b"POST / HTTP/1.1\r\nContent-Length: 40000\r\n\r\n");
        parser.feed(&[b'x'; 20_000]);
        assert_eq!(parser.poll_request(), Ok(None));
        parser.feed(&[b'x'; 20_000]);
        assert!(parser.buf.capacity() > 0);
        let taken = parser.poll_request().unwrap().unwrap();
        assert_eq!(taken.body.len(), 40_000);
        assert_eq!(parser.buf.capacity(), 0);
    }

    #[test]
    fn packed_headers_keep_lines_in_order() {
        let header = |name: &str, value: &str| Header {
            name: name.into(),
            value: value.into(),
        };
        let lines = vec![
            header("host", "a:1"),
            header("x-empty", ""),
            header("cookie", "k=v"),
            header("host", "second"),
            header("x-utf8", "caf\u{e9} \u{1f600}"),
        ];
        let packed = PackedHeaders::new(&lines);
        assert_eq!(packed.len(), 5);
        assert_eq!(packed.get("x-utf8"), Some("caf\u{e9} \u{1f600}"));
        assert_eq!(packed.clone(), packed);
        assert_eq!(PackedHeaders::default().iter().count(), 0);
        // Lengths over one varint byte (128) and over two (16,384).
        let long = vec![
            header("a", &"x".repeat(300)),
            header(&"n".repeat(20_000), "v"),
        ];
        assert_eq!(PackedHeaders::new(&long).to_headers(), long);
        assert_eq!(packed.to_headers(), lines);
        assert_eq!(packed.get("HOST"), Some("a:1"));
        assert_eq!(packed.get("x-empty"), Some(""));
        assert_eq!(packed.get("absent"), None);
        assert!(PackedHeaders::new(&[]).is_empty());
        assert_eq!(PackedHeaders::new(&[]).iter().count(), 0);
    }
}
