//! HTTP/1.1 on the server side: an incremental request parser (heads through
//! httparse, bodies by Content-Length or chunked coding) and a response
//! writer. Only what an Engine.IO endpoint needs, but all of it exact. The
//! client side (a request writer and a response parser) is in `client`'s
//! items, re-exported here.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;
use bytes::Bytes;
use core::fmt;

mod client;
pub mod compression;
mod parser;
mod response;
mod timeouts;
pub use client::{OutgoingRequest, ReceivedResponse, ResponseParser};
pub use compression::{ContentCoding, HttpCompression};
pub use parser::RequestParser;
use parser::{body_state, complete_head, convert_headers, find_blank_line, BodyState};
pub use response::Response;
use response::{push_content_length, push_field_text, push_header};
pub use timeouts::{ConnDeadline, Expiry, Stage, Timeouts};

/// Bounds on what one request may hold. Going over one is the peer's fault
/// and answered with [`HttpError::status`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most header lines in one head (431 past it).
    pub max_headers: usize,
    /// Most bytes in one head, request line included (431 past it). The
    /// trailer section of a chunked body is held to the same bound.
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

impl Method {
    /// The method token as it appears on the request line.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Options => "OPTIONS",
            Method::Head => "HEAD",
            Method::Delete => "DELETE",
            Method::Other(token) => token,
        }
    }

    /// Methods are case-sensitive: `get` is not `GET`.
    fn from_token(token: &str) -> Method {
        match token {
            "GET" => Method::Get,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "OPTIONS" => Method::Options,
            "HEAD" => Method::Head,
            "DELETE" => Method::Delete,
            other => Method::Other(String::from(other)),
        }
    }
}

/// One header line; `name` is lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Lower-cased field name.
    pub name: String,
    /// Field value, surrounding whitespace trimmed.
    pub value: String,
}

/// Header lines kept for a long time (a session's handshake), packed in
/// one shared allocation whatever the count, instead of two per line:
/// the number of lines, then each name and value after its length (LEB128
/// varints: one byte for anything under 128, where `u32` ends took eight
/// a line). Cloning shares it.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct PackedHeaders {
    packed: alloc::sync::Arc<[u8]>,
}

impl core::fmt::Debug for PackedHeaders {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Appends `n` as a LEB128 varint.
fn put_varint(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Takes a LEB128 varint off the front of `data`.
fn take_varint(data: &mut &[u8]) -> Option<usize> {
    let mut n = 0usize;
    for shift in (0..usize::BITS).step_by(7) {
        let (&byte, rest) = data.split_first()?;
        *data = rest;
        n |= usize::from(byte & 0x7f).checked_shl(shift)?;
        if byte & 0x80 == 0 {
            return Some(n);
        }
    }
    None
}

/// Takes a length-prefixed string off the front of `data`.
fn take_str<'a>(data: &mut &'a [u8]) -> Option<&'a str> {
    let len = take_varint(data)?;
    let (text, rest) = data.split_at_checked(len)?;
    *data = rest;
    core::str::from_utf8(text).ok()
}

impl PackedHeaders {
    /// Packs `headers`, in order.
    pub fn new(headers: &[Header]) -> Self {
        let size = headers
            .iter()
            .map(|h| h.name.len() + h.value.len() + 2)
            .sum::<usize>();
        let mut packed = Vec::with_capacity(size + 2);
        put_varint(&mut packed, headers.len());
        for header in headers {
            put_varint(&mut packed, header.name.len());
            packed.extend_from_slice(header.name.as_bytes());
            put_varint(&mut packed, header.value.len());
            packed.extend_from_slice(header.value.as_bytes());
        }
        PackedHeaders {
            packed: packed.into(),
        }
    }

    /// How many lines.
    pub fn len(&self) -> usize {
        take_varint(&mut &self.packed[..]).unwrap_or(0)
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Each line as (lower-cased name, value), in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        let mut data = &self.packed[..];
        let count = take_varint(&mut data).unwrap_or(0);
        (0..count).map_while(move |_| Some((take_str(&mut data)?, take_str(&mut data)?)))
    }

    /// The first value of header `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    }

    /// The lines unpacked.
    pub fn to_headers(&self) -> Vec<Header> {
        self.iter()
            .map(|(name, value)| Header {
                name: name.into(),
                value: value.into(),
            })
            .collect()
    }
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
        match self.target.split_once('?') {
            Some((path, _)) => path,
            None => &self.target,
        }
    }

    /// The raw query string after `?`, if any.
    pub fn query(&self) -> Option<&str> {
        self.target.split_once('?').map(|(_, query)| query)
    }

    /// The first value of query parameter `name`, percent-decoded
    /// (`+` as space); `None` when absent. A parameter without `=` has the
    /// empty value. Invalid escapes are kept literally; decoded bytes that
    /// are not UTF-8 become U+FFFD.
    pub fn query_param(&self, name: &str) -> Option<Cow<'_, str>> {
        query_param(self.query()?, name)
    }

    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|header| header.name.eq_ignore_ascii_case(name))
            .map(|header| header.value.as_str())
    }

    /// Whether the comma-separated header `name` holds `token` (case-insensitive),
    /// as in `Connection: keep-alive, Upgrade`. Every header line called
    /// `name` is searched.
    pub fn header_has_token(&self, name: &str, token: &str) -> bool {
        headers_have_token(&self.headers, name, token)
    }
}

fn headers_have_token(headers: &[Header], name: &str, token: &str) -> bool {
    headers
        .iter()
        .filter(|header| header.name.eq_ignore_ascii_case(name))
        .flat_map(|header| header.value.split(','))
        .any(|item| trim_http_whitespace(item).eq_ignore_ascii_case(token))
}

fn trim_http_whitespace(text: &str) -> &str {
    text.trim_matches(|c| c == ' ' || c == '\t')
}

/// The first value of parameter `name` in a query string (`a=1&b=2`),
/// percent-decoded (`+` as space); `None` when absent.
pub fn query_param<'q>(query: &'q str, name: &str) -> Option<Cow<'q, str>> {
    query
        .split('&')
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
        .find(|(key, _)| percent_decode(key) == name)
        .map(|(_, value)| percent_decode(value))
}

/// Every `key=value` pair of a query string, percent-decoded, in order.
pub fn query_pairs(query: &str) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
        .map(|(key, value)| (percent_decode(key), percent_decode(value)))
}

/// `application/x-www-form-urlencoded` decoding of one key or value.
fn percent_decode(text: &str) -> Cow<'_, str> {
    if !text.bytes().any(|b| b == b'%' || b == b'+') {
        return Cow::Borrowed(text);
    }
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        let escaped = match byte {
            b'%' => escaped_byte(bytes.get(index + 1..index + 3)),
            _ => None,
        };
        match (byte, escaped) {
            (_, Some(value)) => {
                decoded.push(value);
                index += 3;
            }
            (b'+', None) => {
                decoded.push(b' ');
                index += 1;
            }
            (other, None) => {
                decoded.push(other);
                index += 1;
            }
        }
    }
    match String::from_utf8(decoded) {
        Ok(text) => Cow::Owned(text),
        Err(err) => Cow::Owned(String::from_utf8_lossy(err.as_bytes()).into_owned()),
    }
}

/// The byte of the two hex digits after a `%`, if they are hex digits.
fn escaped_byte(digits: Option<&[u8]>) -> Option<u8> {
    match digits? {
        [high, low] => Some(hex_value(*high)? << 4 | hex_value(*low)?),
        _ => None,
    }
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
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
    /// The connection closed in the middle of a response (client side).
    Truncated,
}

impl HttpError {
    /// The status to answer with before closing the connection.
    pub fn status(&self) -> u16 {
        match self {
            HttpError::Malformed(_)
            | HttpError::BadTransferEncoding
            | HttpError::BadContentLength
            | HttpError::Truncated => 400,
            HttpError::HeadTooLarge | HttpError::TooManyHeaders => 431,
            HttpError::BodyTooLarge => 413,
            HttpError::UnsupportedVersion => 505,
        }
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::Malformed(what) => write!(f, "malformed request: {what}"),
            HttpError::HeadTooLarge => f.write_str("request head too large"),
            HttpError::TooManyHeaders => f.write_str("too many request headers"),
            HttpError::BodyTooLarge => f.write_str("request body too large"),
            HttpError::BadTransferEncoding => f.write_str("bad transfer encoding"),
            HttpError::BadContentLength => f.write_str("bad content-length"),
            HttpError::UnsupportedVersion => f.write_str("unsupported HTTP version"),
            HttpError::Truncated => f.write_str("connection closed mid-message"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for HttpError {}
