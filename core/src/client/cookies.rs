//! The client's cookie jar (`withCredentials`, as engine.io-client's Node
//! cookie jar): `Set-Cookie` lines from the server's responses are kept
//! (name, value, path, expiry) and sent back as one `Cookie` line on later
//! requests, so a load balancer that routes by a cookie (Node's `io`)
//! keeps a polling client on one server.
//!
//! Beyond engine.io-client (which keys cookies by name only and ignores
//! `Path`): cookies are keyed by name and path and sent only on requests
//! whose path is within theirs (RFC 6265 5.1.4), attribute names match
//! in any case, and `Max-Age` wins over `Expires`. The jar is bounded in
//! count and bytes: a server cannot grow it without end.

use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

use crate::time::{days_from_civil, Instant};

/// Most cookies kept; a new one past it evicts the oldest.
pub const MAX_COOKIES: usize = 50;
/// Most bytes of one cookie (name, value and path), as browsers bound it;
/// a larger one is ignored.
pub const MAX_COOKIE_BYTES: usize = 4096;
/// Most bytes of all cookies together; past it the oldest go.
pub const MAX_JAR_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Cookie {
    name: String,
    value: String,
    path: String,
    /// When it stops being sent; `None`: kept while the jar lives.
    expires: Option<Instant>,
}

impl Cookie {
    fn size(&self) -> usize {
        self.name.len() + self.value.len() + self.path.len()
    }
}

/// What a `Set-Cookie` line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expiry {
    Session,
    /// `Max-Age` seconds from now (0 or less: delete it).
    MaxAge(i64),
    /// `Expires`, in seconds since 1970 (UTC).
    At(i64),
}

/// One manager's cookies.
#[derive(Debug, Default)]
pub(crate) struct CookieJar {
    cookies: Vec<Cookie>,
    /// The latest instant the client was handed.
    now: Instant,
    /// An instant and the wall-clock seconds since 1970 at it, for
    /// `Expires` dates; without it they are ignored (session cookies).
    wall: Option<(Instant, i64)>,
}

impl CookieJar {
    pub(crate) fn set_now(&mut self, now: Instant) {
        self.now = self.now.max(now);
    }

    pub(crate) fn set_wall_clock(&mut self, now: Instant, unix_secs: u64) {
        self.set_now(now);
        self.wall = Some((now, i64::try_from(unix_secs).unwrap_or(i64::MAX)));
    }

    /// Keeps what one `Set-Cookie` line sets, for a response to a request
    /// on `request_path`; a malformed or oversized line is ignored.
    pub(crate) fn store(&mut self, line: &str, request_path: &str) {
        let Some((mut cookie, expiry)) = parse_set_cookie(line, request_path) else {
            return;
        };
        self.cookies
            .retain(|c| !(c.name == cookie.name && c.path == cookie.path));
        cookie.expires = match expiry {
            Expiry::Session => None,
            Expiry::MaxAge(secs) if secs <= 0 => return,
            Expiry::MaxAge(secs) => Some(self.after(secs)),
            Expiry::At(unix) => match self.wall {
                None => None,
                Some((_, wall_now)) if unix <= wall_now => return,
                Some((at, wall_now)) => Some(at + Duration::from_secs((unix - wall_now) as u64)),
            },
        };
        if cookie.size() > MAX_COOKIE_BYTES {
            return;
        }
        self.cookies.push(cookie);
        while self.cookies.len() > MAX_COOKIES
            || self.cookies.iter().map(Cookie::size).sum::<usize>() > MAX_JAR_BYTES
        {
            self.cookies.remove(0);
        }
    }

    fn after(&self, secs: i64) -> Instant {
        let secs = u64::try_from(secs).unwrap_or(0);
        self.now
            .checked_add(Duration::from_secs(secs))
            .unwrap_or(Instant::from_duration(Duration::MAX))
    }

    /// `name=value; ...` of the live cookies for `request_path`, in the
    /// order they were set; `None` for none. Expired ones are dropped.
    pub(crate) fn header(&mut self, request_path: &str) -> Option<String> {
        let now = self.now;
        self.cookies.retain(|c| c.expires.is_none_or(|at| at > now));
        let mut line = String::new();
        for cookie in self
            .cookies
            .iter()
            .filter(|c| path_matches(&c.path, request_path))
        {
            if !line.is_empty() {
                line.push_str("; ");
            }
            line.push_str(&cookie.name);
            line.push('=');
            line.push_str(&cookie.value);
        }
        (!line.is_empty()).then_some(line)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.cookies.len()
    }
}

/// The path of a request target (before its query).
pub(crate) fn target_path(target: &str) -> &str {
    target.split('?').next().unwrap_or("/")
}

fn parse_set_cookie(line: &str, request_path: &str) -> Option<(Cookie, Expiry)> {
    let mut parts = line.split(';');
    let (name, value) = parts.next()?.split_once('=')?;
    let name = name.trim();
    let mut value = value.trim();
    if value.len() >= 2 && value.starts_with('"') && value.ends_with('"') {
        value = &value[1..value.len() - 1];
    }
    if name.is_empty() || !name.bytes().all(is_token_byte) || !value.bytes().all(is_value_byte) {
        return None;
    }
    let mut path = None;
    let mut max_age = None;
    let mut expires = None;
    for attribute in parts {
        let (key, val) = attribute.split_once('=').unwrap_or((attribute, ""));
        let (key, val) = (key.trim(), val.trim());
        if key.eq_ignore_ascii_case("path") {
            path = Some(val).filter(|p| p.starts_with('/') && p.bytes().all(is_value_byte));
        } else if key.eq_ignore_ascii_case("max-age") {
            max_age = parse_max_age(val);
        } else if key.eq_ignore_ascii_case("expires") {
            expires = parse_cookie_date(val);
        }
    }
    let expiry = match (max_age, expires) {
        (Some(secs), _) => Expiry::MaxAge(secs),
        (None, Some(at)) => Expiry::At(at),
        (None, None) => Expiry::Session,
    };
    let path = path.map_or_else(|| default_path(request_path), String::from);
    let cookie = Cookie {
        name: String::from(name),
        value: String::from(value),
        path,
        expires: None,
    };
    Some((cookie, expiry))
}

/// `-?digits` (RFC 6265 5.2.2); out of range counts as the far end.
fn parse_max_age(text: &str) -> Option<i64> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let magnitude = digits.parse::<i64>().unwrap_or(i64::MAX);
    Some(if negative { -magnitude } else { magnitude })
}

/// The directory of the request path (RFC 6265 5.1.4).
fn default_path(request_path: &str) -> String {
    match request_path.rfind('/') {
        Some(0) | None => String::from("/"),
        Some(at) => String::from(&request_path[..at]),
    }
}

/// RFC 6265 5.1.4 path-match.
fn path_matches(cookie_path: &str, request_path: &str) -> bool {
    if cookie_path == request_path {
        return true;
    }
    request_path.starts_with(cookie_path)
        && (cookie_path.ends_with('/')
            || request_path.as_bytes().get(cookie_path.len()) == Some(&b'/'))
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// No controls, no `;` (it would end the pair), no `,` (it would split a
/// folded header).
fn is_value_byte(b: u8) -> bool {
    b >= 0x20 && b != 0x7f && b != b';' && b != b','
}

/// A cookie date (RFC 6265 5.1.1: `Sun, 06 Nov 1994 08:49:37 GMT`, the
/// `06-Nov-94` form, asctime) as seconds since 1970; `None` if not a date.
pub(crate) fn parse_cookie_date(text: &str) -> Option<i64> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let (mut time, mut day, mut month, mut year) = (None, None, None, None);
    let delimiter = |c: char| !(c.is_ascii_alphanumeric() || c == ':');
    for token in text.split(delimiter).filter(|t| !t.is_empty()) {
        if time.is_none() {
            if let Some(t) = parse_time(token) {
                time = Some(t);
                continue;
            }
        }
        let digits = token.bytes().take_while(u8::is_ascii_digit).count();
        if day.is_none() && (1..=2).contains(&digits) {
            day = token[..digits].parse::<i64>().ok();
            continue;
        }
        if month.is_none() && token.len() >= 3 {
            let prefix = token[..3].to_ascii_lowercase();
            if let Some(index) = MONTHS.iter().position(|m| *m == prefix) {
                month = Some(index as i64 + 1);
                continue;
            }
        }
        if year.is_none() && (2..=4).contains(&digits) {
            year = token[..digits].parse::<i64>().ok();
        }
    }
    let (hour, minute, second) = time?;
    let (day, month, mut year) = (day?, month?, year?);
    if (70..=99).contains(&year) {
        year += 1900;
    } else if (0..=69).contains(&year) {
        year += 2000;
    }
    if !(1..=31).contains(&day) || year < 1601 || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let days = days_from_civil(i128::from(year), i128::from(month), i128::from(day));
    let days = i64::try_from(days).ok()?;
    Some(days * 86_400 + hour * 3_600 + minute * 60 + second)
}

/// `h:m:s`, one or two digits each.
fn parse_time(token: &str) -> Option<(i64, i64, i64)> {
    let mut fields = token.split(':');
    let mut next = || {
        let field = fields.next()?;
        let ok = (1..=2).contains(&field.len()) && field.bytes().all(|b| b.is_ascii_digit());
        ok.then(|| field.parse::<i64>().ok()).flatten()
    };
    let time = (next()?, next()?, next()?);
    fields.next().is_none().then_some(time)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    fn jar() -> CookieJar {
        let mut jar = CookieJar::default();
        jar.set_wall_clock(Instant::from_millis(1_000), 784_111_777); // 1994-11-06 08:49:37
        jar
    }

    #[test]
    fn the_node_servers_io_cookie_goes_back() {
        let mut jar = jar();
        jar.store("io=abc123; Path=/; HttpOnly; SameSite=Lax", "/socket.io/");
        assert_eq!(jar.header("/socket.io/").as_deref(), Some("io=abc123"));
        jar.store("io=def", "/socket.io/");
        // No path: the request's directory, a different key.
        assert_eq!(
            jar.header("/socket.io/").as_deref(),
            Some("io=abc123; io=def")
        );
        jar.store("io=xyz; path=/", "/socket.io/");
        assert_eq!(jar.header("/socket.io/").as_deref(), Some("io=def; io=xyz"));
        jar.store("quoted=\"a b\"", "/");
        assert_eq!(jar.header("/").as_deref(), Some("io=xyz; quoted=a b"));
    }

    #[test]
    fn paths_match_as_rfc_6265_says() {
        let mut jar = jar();
        jar.store("a=1; Path=/socket.io", "/");
        jar.store("b=2; Path=/other", "/");
        assert_eq!(jar.header("/socket.io/").as_deref(), Some("a=1"));
        assert_eq!(jar.header("/socket.iox/"), None);
        assert_eq!(default_path("/socket.io/"), "/socket.io");
        assert_eq!(default_path("/x"), "/");
        assert_eq!(default_path(""), "/");
    }

    #[test]
    fn max_age_and_expires_end_cookies() {
        let mut jar = jar();
        jar.store("short=1; Max-Age=10", "/");
        jar.store("dated=1; Expires=Sun, 06 Nov 1994 08:50:37 GMT", "/");
        jar.store(
            "both=1; Expires=Sun, 06 Nov 1994 08:40:00 GMT; Max-Age=100",
            "/",
        );
        jar.store("gone=1; Expires=Sun, 06 Nov 1994 08:00:00 GMT", "/");
        assert_eq!(jar.header("/").as_deref(), Some("short=1; dated=1; both=1"));
        jar.set_now(Instant::from_millis(12_000));
        assert_eq!(jar.header("/").as_deref(), Some("dated=1; both=1"));
        jar.set_now(Instant::from_millis(62_000));
        assert_eq!(jar.header("/").as_deref(), Some("both=1"));
        jar.store("both=0; Max-Age=0", "/");
        assert_eq!(jar.header("/"), None);
    }

    #[test]
    fn without_a_wall_clock_expires_is_ignored() {
        let mut jar = CookieJar::default();
        jar.store("a=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT", "/");
        assert_eq!(jar.header("/").as_deref(), Some("a=1"));
    }

    #[test]
    fn cookie_dates() {
        let expect = Some(784_111_777);
        assert_eq!(parse_cookie_date("Sun, 06 Nov 1994 08:49:37 GMT"), expect);
        assert_eq!(parse_cookie_date("Sunday, 06-Nov-94 08:49:37 GMT"), expect);
        assert_eq!(parse_cookie_date("Sun Nov  6 08:49:37 1994"), expect);
        assert_eq!(parse_cookie_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        for bad in [
            "",
            "tomorrow",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "06 Nov 1994",
            "Sun, 06 Nov 1994 24:00:00 GMT",
        ] {
            assert_eq!(parse_cookie_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn hostile_lines_are_ignored() {
        let mut jar = jar();
        for line in [
            "",
            "=1",
            "noequals",
            "a b=1",
            "a=1\r\nX: y",
            "a=\u{7f}",
            "a=1,b=2",
        ] {
            jar.store(line, "/");
        }
        assert_eq!(jar.header("/"), None);
        let big = format!("big={}", "x".repeat(MAX_COOKIE_BYTES));
        jar.store(&big, "/");
        assert_eq!(jar.len(), 0);
    }

    #[test]
    fn the_jar_is_bounded_in_count_and_bytes() {
        let mut jar = jar();
        for i in 0..MAX_COOKIES + 10 {
            jar.store(&format!("c{i}=v; Path=/"), "/");
        }
        assert_eq!(jar.len(), MAX_COOKIES);
        assert!(jar.header("/").is_some_and(|h| h.starts_with("c10=v;")));
        let value = "y".repeat(4000);
        for i in 0..10 {
            jar.store(&format!("big{i}={value}; Path=/"), "/");
        }
        let total: usize = jar.cookies.iter().map(Cookie::size).sum();
        assert!(total <= MAX_JAR_BYTES);
        assert!(jar.header("/").is_some_and(|h| h.contains("big9=")));
    }

    #[test]
    fn max_age_text() {
        assert_eq!(parse_max_age("10"), Some(10));
        assert_eq!(parse_max_age("-5"), Some(-5));
        assert_eq!(parse_max_age("99999999999999999999"), Some(i64::MAX));
        assert_eq!(parse_max_age("1e3"), None);
        assert_eq!(parse_max_age(""), None);
    }

    mod props {
        use super::*;
        use crate::time::civil_from_days;
        use proptest::prelude::*;

        const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];

        /// `unix` as an IMF-fixdate, as servers write `Expires`.
        fn imf_fixdate(unix: i64) -> alloc::string::String {
            let (days, secs) = (unix.div_euclid(86_400), unix.rem_euclid(86_400));
            let (year, month, day) = civil_from_days(i128::from(days));
            format!(
                "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
                DAYS[days.rem_euclid(7) as usize],
                day,
                MONTHS[(month - 1) as usize],
                year,
                secs / 3600,
                secs / 60 % 60,
                secs % 60
            )
        }

        proptest! {
            #[test]
            fn dates_round_trip(unix in 0i64..253_402_300_799) {
                prop_assert_eq!(parse_cookie_date(&imf_fixdate(unix)), Some(unix));
            }

            /// Whatever a server sends, the jar neither panics nor grows
            /// past its bounds, and what it sends back is one header line.
            #[test]
            fn hostile_set_cookie_lines(lines in proptest::collection::vec(".{0,120}", 0..60)) {
                let mut jar = jar();
                for line in &lines {
                    jar.store(line, "/socket.io/");
                }
                prop_assert!(jar.len() <= MAX_COOKIES);
                prop_assert!(jar.cookies.iter().map(Cookie::size).sum::<usize>() <= MAX_JAR_BYTES);
                if let Some(header) = jar.header("/socket.io/") {
                    prop_assert!(!header.contains(['\r', '\n', '\0']));
                }
            }
        }
    }
}
