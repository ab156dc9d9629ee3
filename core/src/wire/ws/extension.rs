//! Negotiating permessage-deflate (RFC 7692 section 7.1) in the
//! `Sec-WebSocket-Extensions` header: the server picks the first offer it
//! can honour, the client checks that the server's answer is one it
//! offered.
//!
//! The compressor always writes with a 32 KiB window (15 bits): an offer
//! that asks the server for a smaller one (`server_max_window_bits` below
//! 15) is declined, as RFC 7692 section 7.1.2.1 allows, and the next offer
//! (or plain WebSocket) is used. Any window the peer writes with can be
//! read.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write as _;

use super::deflate::{Inflater, PerMessageDeflate};

/// The extension's registered name.
pub const NAME: &str = "permessage-deflate";

/// The only window size the compressor writes with.
const OWN_WINDOW_BITS: u8 = 15;

/// permessage-deflate options, Node's `perMessageDeflate` (engine.io and
/// `ws`) with their defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeflateOptions {
    /// Messages shorter than this many bytes go out uncompressed (1,024,
    /// engine.io's default).
    pub threshold: usize,
    /// zlib compression level, 0-9 (6, zlib's default as in `ws`).
    pub level: u8,
    /// Server: compress every message on its own, and say so
    /// (`server_no_context_takeover`; false). Client: ask the server to.
    pub server_no_context_takeover: bool,
    /// Server: ask the client to compress every message on its own
    /// (`client_no_context_takeover`; false). Client: offer to.
    pub client_no_context_takeover: bool,
    /// Server: the window the client must compress with, 8-15, sent only
    /// to clients that offered `client_max_window_bits` (offers without it
    /// are declined when this is set, as `ws` does); `None` (the default)
    /// lets the client use any.
    pub client_max_window_bits: Option<u8>,
}

impl Default for DeflateOptions {
    fn default() -> Self {
        DeflateOptions {
            threshold: 1024,
            level: 6,
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            client_max_window_bits: None,
        }
    }
}

/// The parameters both ends agreed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Agreed {
    /// The server compresses every message on its own.
    pub server_no_context_takeover: bool,
    /// The client compresses every message on its own.
    pub client_no_context_takeover: bool,
    /// The server's window, if limited.
    pub server_max_window_bits: Option<u8>,
    /// The client's window, if limited.
    pub client_max_window_bits: Option<u8>,
}

impl Agreed {
    /// The `Sec-WebSocket-Extensions` value that states these parameters.
    pub fn header_value(&self) -> String {
        let mut value = String::from(NAME);
        if self.server_no_context_takeover {
            value.push_str("; server_no_context_takeover");
        }
        if self.client_no_context_takeover {
            value.push_str("; client_no_context_takeover");
        }
        if let Some(bits) = self.server_max_window_bits {
            let _ = write!(value, "; server_max_window_bits={bits}");
        }
        if let Some(bits) = self.client_max_window_bits {
            let _ = write!(value, "; client_max_window_bits={bits}");
        }
        value
    }
}

/// One offer's parameters as the client wrote them.
#[derive(Debug, Default)]
struct Offer {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    /// `Some(None)`: offered without a value.
    client_max_window_bits: Option<Option<u8>>,
}

/// Server side: the parameters to accept from the client's offers (every
/// `Sec-WebSocket-Extensions` line, in order), or `None` to use no
/// extension. Malformed offers are skipped, as RFC 7692 asks.
pub fn accept_offer<'a>(
    header_lines: impl Iterator<Item = &'a str>,
    options: &DeflateOptions,
) -> Option<Agreed> {
    let mut offers = Vec::new();
    for line in header_lines {
        for element in split_outside_quotes(line, ',') {
            if let Some(Ok(offer)) = parse_element(element) {
                offers.push(offer);
            }
        }
    }
    offers.iter().find_map(|offer| answer(offer, options))
}

/// The answer to one offer, or `None` to decline it.
fn answer(offer: &Offer, options: &DeflateOptions) -> Option<Agreed> {
    if offer
        .server_max_window_bits
        .is_some_and(|bits| bits < OWN_WINDOW_BITS)
    {
        return None;
    }
    let client_max_window_bits =
        match (options.client_max_window_bits, offer.client_max_window_bits) {
            (Some(_), None) => return None,
            (Some(ours), Some(theirs)) => Some(theirs.map_or(ours, |theirs| theirs.min(ours))),
            // The client's own limit binds it without our echo; echoing it is allowed.
            (None, Some(Some(theirs))) => Some(theirs),
            (None, _) => None,
        };
    Some(Agreed {
        server_no_context_takeover: offer.server_no_context_takeover
            || options.server_no_context_takeover,
        client_no_context_takeover: offer.client_no_context_takeover
            || options.client_no_context_takeover,
        server_max_window_bits: offer.server_max_window_bits,
        client_max_window_bits,
    })
}

/// Client side: the offer to send (`ws`'s: the client accepts any window
/// limit for the server and says it can take one for itself).
pub fn client_offer(options: &DeflateOptions) -> String {
    let mut value = String::from(NAME);
    if options.server_no_context_takeover {
        value.push_str("; server_no_context_takeover");
    }
    if options.client_no_context_takeover {
        value.push_str("; client_no_context_takeover");
    }
    value.push_str("; client_max_window_bits");
    value
}

/// Why a server's extension answer is not acceptable to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseError {
    /// Not one permessage-deflate element with valid parameters.
    Malformed,
    /// It asks this client for a window smaller than it writes with.
    WindowTooSmall,
    /// It drops the `server_no_context_takeover` the client asked for.
    MissingServerNoContextTakeover,
}

/// Client side: the parameters of the server's answer (the values of its
/// `Sec-WebSocket-Extensions` lines), `Ok(None)` when it answered none.
pub fn check_response<'a>(
    header_lines: impl Iterator<Item = &'a str>,
    offered: &DeflateOptions,
) -> Result<Option<Agreed>, ResponseError> {
    let mut elements = header_lines
        .flat_map(|line| split_outside_quotes(line, ','))
        .filter(|element| !element.trim().is_empty());
    let Some(element) = elements.next() else {
        return Ok(None);
    };
    if elements.next().is_some() {
        return Err(ResponseError::Malformed);
    }
    let offer = match parse_element(element) {
        Some(Ok(offer)) => offer,
        _ => return Err(ResponseError::Malformed),
    };
    if offered.server_no_context_takeover && !offer.server_no_context_takeover {
        return Err(ResponseError::MissingServerNoContextTakeover);
    }
    let client_max_window_bits = match offer.client_max_window_bits {
        // A bare `client_max_window_bits` is not a valid answer.
        Some(None) => return Err(ResponseError::Malformed),
        Some(Some(bits)) if bits < OWN_WINDOW_BITS => return Err(ResponseError::WindowTooSmall),
        Some(bits) => bits,
        None => None,
    };
    Ok(Some(Agreed {
        server_no_context_takeover: offer.server_no_context_takeover,
        client_no_context_takeover: offer.client_no_context_takeover
            || offered.client_no_context_takeover,
        server_max_window_bits: offer.server_max_window_bits,
        client_max_window_bits,
    }))
}

impl Agreed {
    /// The codec of the server end: its compressor and its inflater.
    pub fn server_codec(&self, options: &DeflateOptions) -> (PerMessageDeflate, Inflater) {
        (
            PerMessageDeflate::new(
                options.threshold,
                options.level,
                self.server_no_context_takeover,
            ),
            Inflater::new(self.client_no_context_takeover),
        )
    }

    /// The codec of the client end: its compressor and its inflater.
    pub fn client_codec(&self, options: &DeflateOptions) -> (PerMessageDeflate, Inflater) {
        (
            PerMessageDeflate::new(
                options.threshold,
                options.level,
                self.client_no_context_takeover,
            ),
            Inflater::new(self.server_no_context_takeover),
        )
    }
}

/// Parses `permessage-deflate; param[=value]...`; `None` for another
/// extension, `Some(Err)` for a malformed permessage-deflate element.
fn parse_element(element: &str) -> Option<Result<Offer, ()>> {
    let mut parts = split_outside_quotes(element, ';');
    let name = parts.next()?.trim();
    if !name.eq_ignore_ascii_case(NAME) {
        return None;
    }
    let mut offer = Offer::default();
    for param in parts {
        if parse_param(param, &mut offer).is_err() {
            return Some(Err(()));
        }
    }
    Some(Ok(offer))
}

/// One parameter into `offer`; unknown, repeated or ill-valued ones fail.
fn parse_param(param: &str, offer: &mut Offer) -> Result<(), ()> {
    let (name, value) = match param.split_once('=') {
        Some((name, value)) => (name.trim(), Some(unquote(value.trim())?)),
        None => (param.trim(), None),
    };
    let flag = |slot: &mut bool| {
        if *slot || value.is_some() {
            return Err(());
        }
        *slot = true;
        Ok(())
    };
    match name.to_ascii_lowercase().as_str() {
        "server_no_context_takeover" => flag(&mut offer.server_no_context_takeover),
        "client_no_context_takeover" => flag(&mut offer.client_no_context_takeover),
        "server_max_window_bits" if offer.server_max_window_bits.is_none() => {
            offer.server_max_window_bits = Some(window_bits(value.ok_or(())?)?);
            Ok(())
        }
        "client_max_window_bits" if offer.client_max_window_bits.is_none() => {
            offer.client_max_window_bits = Some(value.map(window_bits).transpose()?);
            Ok(())
        }
        _ => Err(()),
    }
}

/// A window size: 8 to 15, digits only.
fn window_bits(value: &str) -> Result<u8, ()> {
    if value.is_empty() || value.len() > 2 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(());
    }
    match value.parse::<u8>() {
        Ok(bits @ 8..=15) => Ok(bits),
        _ => Err(()),
    }
}

/// A token or a quoted string's content (no escapes are valid in these values).
fn unquote(value: &str) -> Result<&str, ()> {
    match value.strip_prefix('"') {
        Some(inner) => inner
            .strip_suffix('"')
            .filter(|v| !v.contains('"'))
            .ok_or(()),
        None => Ok(value),
    }
}

/// Splits at `separator` outside double quotes.
fn split_outside_quotes(text: &str, separator: char) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    core::iter::from_fn(move || {
        let current = rest?;
        let mut quoted = false;
        for (at, c) in current.char_indices() {
            if c == '"' {
                quoted = !quoted;
            } else if c == separator && !quoted {
                rest = Some(&current[at + 1..]);
                return Some(&current[..at]);
            }
        }
        rest = None;
        Some(current)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(lines: &[&str], options: &DeflateOptions) -> Option<String> {
        accept_offer(lines.iter().copied(), options).map(|agreed| agreed.header_value())
    }

    #[test]
    fn browser_and_ws_offers() {
        let options = DeflateOptions::default();
        // Chromium and Node's `ws` both offer this.
        assert_eq!(
            accept(&["permessage-deflate; client_max_window_bits"], &options).as_deref(),
            Some("permessage-deflate")
        );
        // Firefox.
        assert_eq!(
            accept(&["permessage-deflate"], &options).as_deref(),
            Some("permessage-deflate")
        );
        assert_eq!(
            accept(&["permessage-deflate; client_max_window_bits=10"], &options).as_deref(),
            Some("permessage-deflate; client_max_window_bits=10")
        );
    }

    #[test]
    fn context_takeover_and_windows() {
        let options = DeflateOptions {
            server_no_context_takeover: true,
            client_no_context_takeover: true,
            client_max_window_bits: Some(12),
            ..DeflateOptions::default()
        };
        assert_eq!(
            accept(&["permessage-deflate; client_max_window_bits"], &options).as_deref(),
            Some("permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits=12")
        );
        // Asking for client_max_window_bits of a client that cannot take it: declined.
        assert_eq!(accept(&["permessage-deflate"], &options), None);
        // The client's own, smaller limit wins.
        assert!(
            accept(&["permessage-deflate; client_max_window_bits=9"], &options)
                .unwrap()
                .ends_with("client_max_window_bits=9")
        );
    }

    #[test]
    fn small_server_window_is_declined_for_the_next_offer() {
        let options = DeflateOptions::default();
        assert_eq!(
            accept(
                &["permessage-deflate; server_max_window_bits=10, permessage-deflate; server_no_context_takeover"],
                &options
            )
            .as_deref(),
            Some("permessage-deflate; server_no_context_takeover")
        );
        assert_eq!(
            accept(
                &["permessage-deflate; server_max_window_bits=\"15\""],
                &options
            )
            .as_deref(),
            Some("permessage-deflate; server_max_window_bits=15")
        );
        assert_eq!(
            accept(&["permessage-deflate; server_max_window_bits=9"], &options),
            None
        );
    }

    #[test]
    fn malformed_offers_are_skipped() {
        let options = DeflateOptions::default();
        for bad in [
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; client_max_window_bits=7",
            "permessage-deflate; client_max_window_bits=010",
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; unknown",
            "permessage-deflate; client_max_window_bits=\"1",
            "x-webkit-deflate-frame",
            "",
        ] {
            assert_eq!(accept(&[bad], &options), None, "{bad}");
        }
        assert_eq!(
            accept(
                &[
                    "foo; a=\"x,y\"",
                    "permessage-deflate; unknown, PerMessage-Deflate"
                ],
                &options
            )
            .as_deref(),
            Some("permessage-deflate")
        );
    }

    #[test]
    fn client_checks_the_answer() {
        let options = DeflateOptions::default();
        let check = |lines: &[&str]| check_response(lines.iter().copied(), &options);
        assert_eq!(check(&[]), Ok(None));
        assert_eq!(check(&["permessage-deflate"]), Ok(Some(Agreed::default())));
        assert_eq!(
            check(&["permessage-deflate; server_no_context_takeover; server_max_window_bits=10"]),
            Ok(Some(Agreed {
                server_no_context_takeover: true,
                server_max_window_bits: Some(10),
                ..Agreed::default()
            }))
        );
        assert_eq!(
            check(&["permessage-deflate; client_max_window_bits=15"]).map(|a| a.is_some()),
            Ok(true)
        );
        assert_eq!(
            check(&["permessage-deflate; client_max_window_bits=12"]),
            Err(ResponseError::WindowTooSmall)
        );
        assert_eq!(
            check(&["permessage-deflate; client_max_window_bits"]),
            Err(ResponseError::Malformed)
        );
        assert_eq!(
            check(&["permessage-deflate, permessage-deflate"]),
            Err(ResponseError::Malformed)
        );
        assert_eq!(check(&["x-other"]), Err(ResponseError::Malformed));
        let strict = DeflateOptions {
            server_no_context_takeover: true,
            ..DeflateOptions::default()
        };
        assert_eq!(
            check_response(["permessage-deflate"].into_iter(), &strict),
            Err(ResponseError::MissingServerNoContextTakeover)
        );
        assert_eq!(
            client_offer(&strict),
            "permessage-deflate; server_no_context_takeover; client_max_window_bits"
        );
    }
}
