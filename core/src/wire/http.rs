//! HTTP/1.1 on the server side: an incremental request parser (heads through
//! httparse, bodies by Content-Length or chunked coding) and a response
//! writer. Only what an Engine.IO endpoint needs, but all of it exact.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;
use bytes::{Bytes, BytesMut};

/// Bounds on what one request may hold. Going over one is the peer's fault
/// and answered with [`HttpError::status`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most header lines in one head (431 past it).
    pub max_headers: usize,
    /// Most bytes in one head, request line included (431 past it).
    pub max_head_bytes: usize,
    /// Most bytes in one body after de-chunking (413 past it).
    pub max_body_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_headers: 64,
            max_head_bytes: 16 * 1024,
            max_body_bytes: 1_000_000,
        }
    }
}

/// Request method.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Method {
    /// GET
    Get,
    /// POST
    Post,
    /// PUT
    Put,
    /// OPTIONS (CORS preflight)
    Options,
    /// HEAD
    Head,
    /// DELETE
    Delete,
    /// Any other token.
    Other(String),
}

/// One header line; `name` is lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Lower-cased field name.
    pub name: String,
    /// Field value, surrounding whitespace trimmed.
    pub value: String,
}

/// A complete request: head and de-chunked body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// The request target as sent, e.g. `/socket.io/?EIO=4&transport=polling`.
    pub target: String,
    /// Header lines in order.
    pub headers: Vec<Header>,
    /// The body (empty when there is none).
    pub body: Bytes,
    /// Whether the connection stays open after the response (HTTP/1.1
    /// without `Connection: close`, or HTTP/1.0 with `keep-alive`).
    pub keep_alive: bool,
}

impl Request {
    /// The target's path, without the query.
    pub fn path(&self) -> &str {
        todo!()
    }

    /// The raw query string after `?`, if any.
    pub fn query(&self) -> Option<&str> {
        todo!()
    }

    /// The first value of query parameter `name`, percent-decoded
    /// (`+` as space); `None` when absent.
    pub fn query_param(&self, name: &str) -> Option<Cow<'_, str>> {
        let _ = name;
        todo!()
    }

    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let _ = name;
        todo!()
    }

    /// Whether the comma-separated header `name` holds `token` (case-insensitive),
    /// as in `Connection: keep-alive, Upgrade`.
    pub fn header_has_token(&self, name: &str, token: &str) -> bool {
        let _ = (name, token);
        todo!()
    }
}

/// What was wrong with a request; the peer's fault.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HttpError {
    /// The head did not parse.
    Malformed(&'static str),
    /// The head is larger than [`Limits::max_head_bytes`].
    HeadTooLarge,
    /// More headers than [`Limits::max_headers`].
    TooManyHeaders,
    /// The body is larger than [`Limits::max_body_bytes`].
    BodyTooLarge,
    /// A transfer coding other than `chunked`, or a bad chunk.
    BadTransferEncoding,
    /// Content-Length missing its number, or given twice with different values.
    BadContentLength,
    /// Only HTTP/1.0 and HTTP/1.1 are served.
    UnsupportedVersion,
}

impl HttpError {
    /// The status to answer with before closing the connection.
    pub fn status(&self) -> u16 {
        todo!()
    }
}

/// Incremental request parser for one connection. Feed it bytes as they
/// arrive; take requests out as they complete. Pipelined requests come out
/// one by one.
#[derive(Debug)]
pub struct RequestParser {
    limits: Limits,
    buf: BytesMut,
}

impl RequestParser {
    /// A parser enforcing `limits`.
    pub fn new(limits: Limits) -> Self {
        RequestParser {
            limits,
            buf: BytesMut::new(),
        }
    }

    /// Append bytes read from the connection.
    pub fn feed(&mut self, data: &[u8]) {
        let _ = data;
        todo!()
    }

    /// The next complete request, `Ok(None)` when more bytes are needed.
    /// After an error the connection must be answered with
    /// [`HttpError::status`] and closed; the parser is not usable further.
    pub fn poll_request(&mut self) -> Result<Option<Request>, HttpError> {
        let _ = &self.limits;
        todo!()
    }

    /// Bytes received but not yet part of a returned request. After a
    /// WebSocket upgrade they are the first bytes of the WebSocket stream.
    pub fn take_buffered(&mut self) -> BytesMut {
        core::mem::take(&mut self.buf)
    }

    /// How many bytes are buffered.
    pub fn buffered_len(&self) -> usize {
        self.buf.len()
    }
}

/// A response to write. `Content-Length` is added by [`Response::encode`]
/// (except for 101, 204 and 304).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Header lines in order.
    pub headers: Vec<(Cow<'static, str>, String)>,
    /// Body bytes.
    pub body: Bytes,
}

impl Response {
    /// An empty response with `status`.
    pub fn new(status: u16) -> Self {
        Response {
            status,
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    /// Adds a header line (builder style).
    pub fn with_header(
        mut self,
        name: impl Into<Cow<'static, str>>,
        value: impl Into<String>,
    ) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body and its `Content-Type` (builder style).
    pub fn with_body(self, content_type: &'static str, body: impl Into<Bytes>) -> Self {
        let mut r = self.with_header("Content-Type", content_type);
        r.body = body.into();
        r
    }

    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let _ = name;
        todo!()
    }

    /// The standard reason phrase of `status`.
    pub fn reason(status: u16) -> &'static str {
        let _ = status;
        todo!()
    }

    /// Writes status line, headers, Content-Length and body to `out`.
    pub fn encode(&self, out: &mut BytesMut) {
        let _ = out;
        todo!()
    }

    /// [`Response::encode`] into fresh bytes.
    pub fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::new();
        self.encode(&mut out);
        out.freeze()
    }
}
