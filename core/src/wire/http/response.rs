//! Responses, and the header writers the client's request encoder shares.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;
use bytes::{Bytes, BytesMut};

/// A response to write. `Content-Length` is added by [`Response::encode`]
/// (except for 1xx, 204 and 304, and when already set).
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
        self.headers
            .iter()
            .find(|(header_name, _)| header_name.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The standard reason phrase of `status`.
    pub fn reason(status: u16) -> &'static str {
        match status {
            100 => "Continue",
            101 => "Switching Protocols",
            200 => "OK",
            201 => "Created",
            204 => "No Content",
            301 => "Moved Permanently",
            302 => "Found",
            304 => "Not Modified",
            400 => "Bad Request",
            403 => "Forbidden",
            404 => "Not Found",
            405 => "Method Not Allowed",
            408 => "Request Timeout",
            413 => "Content Too Large",
            414 => "URI Too Long",
            431 => "Request Header Fields Too Large",
            500 => "Internal Server Error",
            501 => "Not Implemented",
            503 => "Service Unavailable",
            505 => "HTTP Version Not Supported",
            _ => "Unknown",
        }
    }

    /// Writes status line, headers, Content-Length and body to `out`.
    /// CR, LF and NUL in header names and values are written as spaces, so
    /// a value echoed from a request can never split the response.
    pub fn encode(&self, out: &mut BytesMut) {
        let reason = Response::reason(self.status);
        out.reserve(self.encoded_len_hint(reason));
        out.extend_from_slice(b"HTTP/1.1 ");
        push_decimal(out, u64::from(self.status));
        out.extend_from_slice(b" ");
        out.extend_from_slice(reason.as_bytes());
        out.extend_from_slice(b"\r\n");
        for (name, value) in &self.headers {
            push_header(out, name, value);
        }
        if self.needs_content_length() {
            push_content_length(out, self.body.len());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
    }

    /// [`Response::encode`] into fresh bytes.
    pub fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::new();
        self.encode(&mut out);
        out.freeze()
    }

    /// 1xx, 204 and 304 have no body by definition (RFC 9110 §8.6).
    fn needs_content_length(&self) -> bool {
        let bodiless =
            (100..200).contains(&self.status) || self.status == 204 || self.status == 304;
        !bodiless && self.header("content-length").is_none()
    }

    fn encoded_len_hint(&self, reason: &str) -> usize {
        let headers: usize = self
            .headers
            .iter()
            .map(|(name, value)| name.len() + value.len() + 4)
            .sum();
        // Status line, Content-Length line and final CRLF fit in 64 bytes
        // beyond the reason phrase.
        64 + reason.len() + headers + self.body.len()
    }
}

/// One `name: value` line (see [`push_field_text`]).
pub(super) fn push_header(out: &mut BytesMut, name: &str, value: &str) {
    push_field_text(out, name);
    out.extend_from_slice(b": ");
    push_field_text(out, value);
    out.extend_from_slice(b"\r\n");
}

pub(super) fn push_content_length(out: &mut BytesMut, len: usize) {
    out.extend_from_slice(b"Content-Length: ");
    push_decimal(out, len as u64);
    out.extend_from_slice(b"\r\n");
}

pub(super) fn push_field_text(out: &mut BytesMut, text: &str) {
    let unsafe_byte = |byte: &u8| matches!(byte, b'\r' | b'\n' | 0);
    if !text.as_bytes().iter().any(unsafe_byte) {
        out.extend_from_slice(text.as_bytes());
        return;
    }
    for byte in text.as_bytes() {
        out.extend_from_slice(if unsafe_byte(byte) {
            b" "
        } else {
            core::slice::from_ref(byte)
        });
    }
}

/// Decimal digits of `value` without going through `core::fmt`.
fn push_decimal(out: &mut BytesMut, value: u64) {
    out.extend_from_slice(crate::decimal::Decimal::new(value).as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_digits() {
        for value in [0u64, 7, 10, 404, 65535, u64::MAX] {
            let mut out = BytesMut::new();
            push_decimal(&mut out, value);
            assert_eq!(&out[..], alloc::format!("{value}").as_bytes());
        }
    }
}
