//! What the client adds to every request it makes (polling GETs and
//! POSTs, the WebSocket handshake): the application's extra headers
//! (socket.io-client's `extraHeaders`) and, with `with_credentials`, the
//! cookie jar's `Cookie` line; and what it keeps of every response
//! (`Set-Cookie`).

use alloc::string::String;
use alloc::vec::Vec;

use super::cookies::{target_path, CookieJar};
use crate::time::Instant;

/// The headers of one manager's requests, and its cookie jar.
#[derive(Debug, Default)]
pub(crate) struct RequestHeaders {
    extra: Vec<(String, String)>,
    /// `Some` with `with_credentials`.
    jar: Option<CookieJar>,
}

impl RequestHeaders {
    pub(crate) fn new(extra: Vec<(String, String)>, with_credentials: bool) -> Self {
        RequestHeaders {
            extra,
            jar: with_credentials.then(CookieJar::default),
        }
    }

    pub(crate) fn set_now(&mut self, now: Instant) {
        if let Some(jar) = &mut self.jar {
            jar.set_now(now);
        }
    }

    pub(crate) fn set_wall_clock(&mut self, now: Instant, unix_secs: u64) {
        if let Some(jar) = &mut self.jar {
            jar.set_wall_clock(now, unix_secs);
        }
    }

    /// The header lines for a request to `target`: the extra headers in
    /// their order, then the cookies (joined to an extra `Cookie` line if
    /// there is one: a request carries one `Cookie` line).
    pub(crate) fn for_request(&mut self, target: &str) -> Vec<(String, String)> {
        let mut lines = self.extra.clone();
        let Some(cookies) = self
            .jar
            .as_mut()
            .and_then(|jar| jar.header(target_path(target)))
        else {
            return lines;
        };
        match lines
            .iter_mut()
            .find(|(name, _)| name.eq_ignore_ascii_case("cookie"))
        {
            Some((_, value)) => {
                value.push_str("; ");
                value.push_str(&cookies);
            }
            None => lines.push((String::from("Cookie"), cookies)),
        }
        lines
    }

    /// Keeps `Set-Cookie` values of a response to a request on `target`.
    pub(crate) fn on_cookies(&mut self, target: &str, lines: &[String]) {
        self.on_response(
            target,
            lines.iter().map(|line| ("set-cookie", line.as_str())),
        );
    }

    /// Keeps the cookies a response to a request on `target` sets.
    pub(crate) fn on_response<'a>(
        &mut self,
        target: &str,
        headers: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) {
        let Some(jar) = &mut self.jar else {
            return;
        };
        let path = target_path(target);
        for (name, value) in headers {
            if name.eq_ignore_ascii_case("set-cookie") {
                jar.store(value, path);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(name: &str, value: &str) -> (String, String) {
        (String::from(name), String::from(value))
    }

    #[test]
    fn extra_headers_then_the_cookies() {
        let mut headers = RequestHeaders::new(alloc::vec![pair("X-Token", "t")], true);
        assert_eq!(
            headers.for_request("/socket.io/?EIO=4"),
            [pair("X-Token", "t")]
        );
        headers.on_response(
            "/socket.io/?EIO=4&transport=polling",
            [("Set-Cookie", "io=s1; Path=/"), ("set-cookie", "lb=a")],
        );
        assert_eq!(
            headers.for_request("/socket.io/?EIO=4&sid=s1"),
            [pair("X-Token", "t"), pair("Cookie", "io=s1; lb=a")]
        );
    }

    #[test]
    fn an_extra_cookie_line_takes_the_jar_after_it() {
        let mut headers = RequestHeaders::new(alloc::vec![pair("cookie", "mine=1")], true);
        headers.on_response("/", [("Set-Cookie", "io=s1")]);
        assert_eq!(headers.for_request("/"), [pair("cookie", "mine=1; io=s1")]);
    }

    #[test]
    fn without_credentials_nothing_is_kept() {
        let mut headers = RequestHeaders::new(Vec::new(), false);
        headers.on_response("/", [("Set-Cookie", "io=s1")]);
        assert!(headers.for_request("/").is_empty());
    }
}
