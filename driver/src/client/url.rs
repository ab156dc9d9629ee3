//! The client's URL, read as socket.io-client reads it: `http`, `https`,
//! `ws` or `wss` (a WebSocket scheme means the same server as its HTTP
//! twin), no scheme meaning `https`, default ports 80 and 443, IPv6
//! literals in brackets, the path as the namespace and the query string
//! passed on to every Engine.IO request.

/// The URL cannot be used by the client (its text and why).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlError {
    /// The URL as given.
    pub url: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl std::fmt::Display for UrlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unsupported client URL {:?}: {}", self.url, self.reason)
    }
}

impl std::error::Error for UrlError {}

/// Where and how to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    /// `https`/`wss`: TLS on every connection.
    pub secure: bool,
    /// The host to resolve, without IPv6 brackets.
    pub host: String,
    pub port: u16,
    /// The `Host` header: the port only when it is not the scheme's default.
    pub host_header: String,
    /// The namespace (the URL's path, `/` when it has none).
    pub nsp: String,
    /// The query string without its `?`, as written; empty for none.
    pub query: String,
}

pub(crate) fn parse_url(url: &str) -> Result<Target, UrlError> {
    let bad = |reason| UrlError {
        url: url.to_owned(),
        reason,
    };
    let (secure, rest) =
        split_scheme(url).ok_or_else(|| bad("the scheme is not http, https, ws or wss"))?;
    let rest = rest.split('#').next().unwrap_or("");
    let (authority, path_query) = match rest.find(['/', '?']) {
        Some(at) => rest.split_at(at),
        None => (rest, ""),
    };
    let (path, query) = path_query.split_once('?').unwrap_or((path_query, ""));
    if authority.contains('@') {
        return Err(bad("credentials in the URL are not supported"));
    }
    let (host, port) =
        split_host_port(authority).ok_or_else(|| bad("the host or port is invalid"))?;
    if !path.bytes().all(is_url_byte) || !query.bytes().all(is_url_byte) {
        return Err(bad("the path or query holds spaces or control characters"));
    }
    let default_port = if secure { 443 } else { 80 };
    let port = port.unwrap_or(default_port);
    let bracketed = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    };
    let host_header = if port == default_port {
        bracketed
    } else {
        format!("{bracketed}:{port}")
    };
    let nsp = if path.is_empty() { "/" } else { path };
    Ok(Target {
        secure,
        host: host.to_owned(),
        port,
        host_header,
        nsp: nsp.to_owned(),
        query: query.to_owned(),
    })
}

/// Whether TLS is on, and the rest after `scheme://`. No scheme at all is
/// `https`, as socket.io-client does outside a browser.
fn split_scheme(url: &str) -> Option<(bool, &str)> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Some((true, url));
    };
    match scheme.to_ascii_lowercase().as_str() {
        "http" | "ws" => Some((false, rest)),
        "https" | "wss" => Some((true, rest)),
        _ => None,
    }
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`; the host goes into the
/// `Host` header, so only name, IPv4 and IPv6 characters pass.
fn split_host_port(authority: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        let valid = host.contains(':')
            && host
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
        if !valid {
            return None;
        }
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':')?),
        };
        (host, port)
    } else {
        let (host, port) = match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        };
        let valid = host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_');
        if !valid {
            return None;
        }
        (host, port)
    };
    if host.is_empty() {
        return None;
    }
    let port = match port {
        None | Some("") => None,
        Some(digits) if digits.bytes().all(|b| b.is_ascii_digit()) => Some(digits.parse().ok()?),
        Some(_) => return None,
    };
    Some((host, port))
}

/// What may appear in a request target as written: visible ASCII.
fn is_url_byte(b: u8) -> bool {
    b.is_ascii_graphic()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(secure: bool, host: &str, port: u16, header: &str, nsp: &str, query: &str) -> Target {
        Target {
            secure,
            host: host.into(),
            port,
            host_header: header.into(),
            nsp: nsp.into(),
            query: query.into(),
        }
    }

    #[test]
    fn http_and_ws_are_plain_with_port_80() {
        assert_eq!(
            parse_url("http://127.0.0.1:3000"),
            Ok(target(false, "127.0.0.1", 3000, "127.0.0.1:3000", "/", ""))
        );
        assert_eq!(
            parse_url("ws://example.com/admin"),
            Ok(target(
                false,
                "example.com",
                80,
                "example.com",
                "/admin",
                ""
            ))
        );
        assert_eq!(
            parse_url("HTTP://example.com:80/"),
            Ok(target(false, "example.com", 80, "example.com", "/", ""))
        );
    }

    #[test]
    fn https_wss_and_no_scheme_are_tls_with_port_443() {
        assert_eq!(
            parse_url("https://example.com"),
            Ok(target(true, "example.com", 443, "example.com", "/", ""))
        );
        assert_eq!(
            parse_url("wss://example.com:8443/chat"),
            Ok(target(
                true,
                "example.com",
                8443,
                "example.com:8443",
                "/chat",
                ""
            ))
        );
        assert_eq!(
            parse_url("example.com:443"),
            Ok(target(true, "example.com", 443, "example.com", "/", ""))
        );
    }

    #[test]
    fn query_is_kept_and_fragment_dropped() {
        assert_eq!(
            parse_url("http://h/admin?token=a%20b&x=1#frag"),
            Ok(target(false, "h", 80, "h", "/admin", "token=a%20b&x=1"))
        );
        assert_eq!(
            parse_url("http://h:81?x=1"),
            Ok(target(false, "h", 81, "h:81", "/", "x=1"))
        );
    }

    #[test]
    fn ipv6_literals() {
        assert_eq!(
            parse_url("http://[::1]:3000/nsp"),
            Ok(target(false, "::1", 3000, "[::1]:3000", "/nsp", ""))
        );
        assert_eq!(
            parse_url("https://[2001:db8::1]"),
            Ok(target(true, "2001:db8::1", 443, "[2001:db8::1]", "/", ""))
        );
        assert!(parse_url("http://[::1").is_err());
        assert!(parse_url("http://[::1]x").is_err());
        assert!(parse_url("http://[host]").is_err());
    }

    #[test]
    fn refused() {
        for url in [
            "ftp://h",
            "http://",
            "http://:80",
            "http://h:99999",
            "http://h:8x",
            "http://user:pw@h",
            "http://h\r\nX: y/",
            "http://h/a b",
            "http://h/?x=\n",
        ] {
            let error = parse_url(url).unwrap_err();
            assert_eq!(error.url, url);
        }
        assert_eq!(
            parse_url("ftp://h").unwrap_err().to_string(),
            "unsupported client URL \"ftp://h\": the scheme is not http, https, ws or wss"
        );
    }
}
