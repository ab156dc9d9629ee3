//! [`RawJson`]: JSON text kept exactly as it came, so arguments are
//! re-emitted byte for byte (key order included) and never re-encoded.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use super::PacketError;
use bytestring::ByteString;

/// Compact JSON text, checked to be one JSON value.
///
/// The text is the value alone: whitespace around it is dropped when
/// parsing (by slicing, not copying); whitespace inside is kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RawJson(ByteString);

impl RawJson {
    /// Checks that `text` is exactly one JSON value (surrounding whitespace allowed).
    ///
    /// The result shares `text`'s buffer. Like `JSON.parse`, this accepts
    /// numbers beyond `f64` range and `\u` escapes of lone surrogates; it
    /// bounds neither nesting depth nor size (the transport bounds the size).
    pub fn parse(text: ByteString) -> Result<RawJson, PacketError> {
        let (start, end) = super::syntax::value_span(&text).ok_or(PacketError::InvalidJson)?;
        let value = text.get(start..end).ok_or(PacketError::InvalidJson)?;
        Ok(RawJson(text.slice_ref(value)))
    }

    /// Wraps text the caller built as one valid JSON value (serde_json's
    /// output, or a literal), without checking it again. Text that is not
    /// valid JSON would be sent as it is: use [`RawJson::parse`] for
    /// anything that came from outside.
    pub fn from_trusted(text: ByteString) -> RawJson {
        RawJson(text)
    }

    /// Serializes `value` compactly.
    pub fn from_serialize<T: serde::Serialize + ?Sized>(
        value: &T,
    ) -> Result<RawJson, serde_json::Error> {
        serde_json::to_string(value).map(|text| RawJson(ByteString::from(text)))
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text of each element when the value is an array, `None` otherwise.
    /// Slices point into this value; nothing is copied.
    pub fn array_elements(&self) -> Option<Vec<&str>> {
        let mut elements = Vec::new();
        let mut scan = lexical::Elements::new(self.as_str())?;
        while let Some(element) = scan.next_element()? {
            elements.push(element);
        }
        Some(elements)
    }

    /// The text of the first element: `None` when the value is not an
    /// array, `Some(None)` for an empty array. Cheaper than
    /// [`RawJson::array_elements`]: only the first element is scanned.
    pub fn first_element(&self) -> Option<Option<&str>> {
        lexical::Elements::new(self.as_str())?.next_element()
    }

    /// For an array, the array of its elements after the first, as JSON
    /// text (`[]` when it has one or none); `None` when the value is not an
    /// array. One copy, no parse: the text is known to be valid.
    pub fn array_tail(&self) -> Option<RawJson> {
        let (_, rest_at) = self.split_first()?;
        Some(self.tail_at(rest_at))
    }

    /// For an array: its first element (`None` when it is empty) and where
    /// the elements after it start (`None` when there are none), for
    /// [`RawJson::tail_at`]. `None` when the value is not an array. One
    /// scan serves both the event name and the arguments.
    pub fn split_first(&self) -> Option<(Option<&str>, Option<usize>)> {
        let mut scan = lexical::Elements::new(self.as_str())?;
        let first = scan.next_element()?;
        let rest = scan.rest()?;
        let rest_at = (!rest.is_empty()).then(|| self.as_str().len() - rest.len());
        Some((first, rest_at))
    }

    /// The array of the elements from `rest_at` on, as
    /// [`RawJson::split_first`] found it (`[]` for `None`): one copy.
    pub fn tail_at(&self, rest_at: Option<usize>) -> RawJson {
        match rest_at.and_then(|at| self.as_str().get(at..)) {
            Some(rest) if !rest.is_empty() => {
                let mut text = String::with_capacity(rest.len() + 1);
                text.push('[');
                text.push_str(rest);
                RawJson(ByteString::from(text))
            }
            _ => RawJson(ByteString::from_static("[]")),
        }
    }

    /// For `["name", ...]`: the event name.
    ///
    /// A string first element gives its decoded text (borrowed when it has
    /// no escapes). A number first element, which the reference parser also
    /// accepts as an event name, gives its JSON text (for what JavaScript
    /// clients send, this is the key Node's `EventEmitter` would use).
    /// `None` when the value is not a non-empty array, when the first
    /// element is neither, or when it is a string holding a lone surrogate
    /// escape (valid JSON, but not Unicode).
    pub fn event_name(&self) -> Option<Cow<'_, str>> {
        element_name(self.first_element()??)
    }

    /// For an array of two or more elements whose last is a string: the
    /// array without it, and the string (a recovery offset the server
    /// appended). `None` otherwise.
    pub fn split_last_string(&self) -> Option<(RawJson, ByteString)> {
        let text = self.as_str();
        let elements = self.array_elements()?;
        let last = *elements.last()?;
        if elements.len() < 2 || !last.starts_with('"') {
            return None;
        }
        let value = ByteString::from(&*decode_string(last)?);
        let start = last.as_ptr() as usize - text.as_ptr() as usize;
        let head = text.get(..start)?.trim_end().strip_suffix(',')?.trim_end();
        let mut rest = String::with_capacity(head.len() + 1);
        rest.push_str(head);
        rest.push(']');
        Some((RawJson(ByteString::from(rest)), value))
    }

    /// The underlying shared string.
    pub fn into_inner(self) -> ByteString {
        self.0
    }

    /// Whether every placeholder the reference parser would substitute
    /// (`{"_placeholder":true,"num":N}`, reached through arrays and objects
    /// that are not placeholders themselves) has an `N` that is an index
    /// below `attachments`.
    pub(crate) fn placeholders_fit(&self, attachments: usize) -> bool {
        placeholders::fit(self.as_str(), attachments)
    }
}

impl fmt::Display for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The event name an array's first element gives (see [`RawJson::event_name`]):
/// for a caller that already split the array and holds that element.
pub fn element_name(first: &str) -> Option<Cow<'_, str>> {
    match first.as_bytes().first()? {
        b'"' => decode_string(first),
        b'-' | b'0'..=b'9' => Some(Cow::Borrowed(first)),
        _ => None,
    }
}

/// Decodes a JSON string literal; borrowed when it holds no escapes.
pub(crate) fn decode_string(literal: &str) -> Option<Cow<'_, str>> {
    // The usual name, with no escape and no control character: its text
    // is what lies between the quotes (what serde_json would borrow).
    let inner = literal
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'));
    if let Some(inner) = inner {
        if !inner.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
            return Some(Cow::Borrowed(inner));
        }
    }
    if let Ok(borrowed) = serde_json::from_str::<&str>(literal) {
        return Some(Cow::Borrowed(borrowed));
    }
    serde_json::from_str::<String>(literal).ok().map(Cow::Owned)
}

/// Walks the top level of JSON text that is already known to be valid
/// (every `RawJson` is): element boundaries come from a lexical scan that
/// skips strings and counts brackets, with no second validation.
mod lexical {
    /// The elements of one array, in order.
    pub(super) struct Elements<'a> {
        text: &'a str,
        pos: usize,
        /// Whether the closing `]` was reached.
        done: bool,
    }

    impl<'a> Elements<'a> {
        /// `None` when `text` is not an array.
        pub(super) fn new(text: &'a str) -> Option<Self> {
            let bytes = text.as_bytes();
            let start = skip_ws(bytes, 0);
            if bytes.get(start) != Some(&b'[') {
                return None;
            }
            let mut elements = Elements {
                text,
                pos: skip_ws(bytes, start + 1),
                done: false,
            };
            if bytes.get(elements.pos) == Some(&b']') {
                elements.done = true;
            }
            Some(elements)
        }

        /// `Some(None)` after the last element; `None` if the text turns out
        /// not to be JSON.
        pub(super) fn next_element(&mut self) -> Option<Option<&'a str>> {
            if self.done {
                return Some(None);
            }
            let bytes = self.text.as_bytes();
            let start = self.pos;
            let end = skip_value(bytes, start)?;
            let element = self.text.get(start..end)?;
            let after = skip_ws(bytes, end);
            match bytes.get(after) {
                Some(b',') => self.pos = skip_ws(bytes, after + 1),
                Some(b']') => {
                    self.pos = after;
                    self.done = true;
                }
                _ => return None,
            }
            Some(Some(element))
        }

        /// The text from the next element to the closing `]` included;
        /// empty when no element is left.
        pub(super) fn rest(&self) -> Option<&'a str> {
            if self.done {
                return Some("");
            }
            self.text.get(self.pos..)
        }
    }

    fn skip_ws(bytes: &[u8], mut pos: usize) -> usize {
        while matches!(bytes.get(pos), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            pos += 1;
        }
        pos
    }

    /// The end of the value starting at `pos`.
    fn skip_value(bytes: &[u8], pos: usize) -> Option<usize> {
        let mut depth = 0usize;
        let mut pos = pos;
        loop {
            match *bytes.get(pos)? {
                b'"' => pos = skip_string(bytes, pos)?,
                b'[' | b'{' => {
                    depth += 1;
                    pos += 1;
                }
                b']' | b'}' => {
                    depth = depth.checked_sub(1)?;
                    pos += 1;
                }
                // Between the parts of a container.
                b',' | b':' | b' ' | b'\t' | b'\n' | b'\r' if depth > 0 => pos += 1,
                // A scalar: runs to the next delimiter.
                _ => {
                    while !matches!(
                        bytes.get(pos),
                        None | Some(b',' | b']' | b'}' | b':' | b' ' | b'\t' | b'\n' | b'\r')
                    ) {
                        pos += 1;
                    }
                }
            }
            if depth == 0 {
                return Some(pos);
            }
        }
    }

    /// The end of the string literal whose quote is at `pos`.
    fn skip_string(bytes: &[u8], pos: usize) -> Option<usize> {
        let mut pos = pos + 1;
        loop {
            match *bytes.get(pos)? {
                b'"' => return Some(pos + 1),
                b'\\' => pos += 2,
                _ => pos += 1,
            }
        }
    }
}

/// The placeholder walk, done on text that is already known to be valid
/// JSON. It is iterative (the text may nest deeper than any stack allows)
/// and decodes no scalar it does not need, so it accepts everything
/// `JSON.parse` accepts (lone surrogates, numbers beyond `f64`).
mod placeholders {
    use alloc::vec::Vec;

    use super::decode_string;

    /// What a finished value tells its parent.
    #[derive(Clone, Copy)]
    enum Scalar<'a> {
        True,
        Number(&'a str),
        Other,
    }

    /// Which key of an object the next value belongs to.
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Key {
        Placeholder,
        Num,
        Other,
    }

    #[derive(Default)]
    struct Object<'a> {
        key: Option<Key>,
        // Duplicate keys: the last one wins, as in `JSON.parse`.
        placeholder_true: bool,
        num: Option<Scalar<'a>>,
        placeholder_bad: bool,
        num_bad: bool,
        others_bad: bool,
    }

    enum Frame<'a> {
        Array { bad: bool },
        Object(Object<'a>),
    }

    /// See [`super::RawJson::placeholders_fit`].
    pub(super) fn fit(text: &str, attachments: usize) -> bool {
        Walk {
            text,
            pos: 0,
            attachments,
            stack: Vec::new(),
        }
        .run()
        .unwrap_or(false)
    }

    struct Walk<'a> {
        text: &'a str,
        pos: usize,
        attachments: usize,
        stack: Vec<Frame<'a>>,
    }

    impl<'a> Walk<'a> {
        /// `Some(all placeholders fit)`, or `None` if the text is not JSON.
        fn run(mut self) -> Option<bool> {
            loop {
                self.skip_separators();
                let byte = self.peek()?;
                // Inside an object, a value is preceded by its key.
                if let Some(Frame::Object(object)) = self.stack.last_mut() {
                    if object.key.is_none() && byte == b'"' {
                        let key = self.key()?;
                        if let Some(Frame::Object(object)) = self.stack.last_mut() {
                            object.key = Some(key);
                        }
                        continue;
                    }
                }
                let finished = match byte {
                    b'[' => {
                        self.pos += 1;
                        self.stack.push(Frame::Array { bad: false });
                        None
                    }
                    b'{' => {
                        self.pos += 1;
                        self.stack.push(Frame::Object(Object::default()));
                        None
                    }
                    b']' | b'}' => {
                        self.pos += 1;
                        Some(self.close()?)
                    }
                    _ => Some((self.scalar()?, false)),
                };
                if let Some((scalar, bad)) = finished {
                    match self.stack.last_mut() {
                        None => return Some(!bad),
                        Some(parent) => give(parent, scalar, bad),
                    }
                }
            }
        }

        fn peek(&self) -> Option<u8> {
            self.text.as_bytes().get(self.pos).copied()
        }

        /// Whitespace, `,` and `:` carry nothing the walk needs.
        fn skip_separators(&mut self) {
            while let Some(b' ' | b'\t' | b'\n' | b'\r' | b',' | b':') = self.peek() {
                self.pos += 1;
            }
        }

        /// Closes the innermost container: `(what it is, whether a
        /// placeholder in it is bad)`.
        fn close(&mut self) -> Option<(Scalar<'a>, bool)> {
            let bad = match self.stack.pop()? {
                Frame::Array { bad } => bad,
                Frame::Object(object) if object.placeholder_true => !self.index_fits(object.num),
                Frame::Object(object) => {
                    object.placeholder_bad || object.num_bad || object.others_bad
                }
            };
            Some((Scalar::Other, bad))
        }

        fn index_fits(&self, num: Option<Scalar<'_>>) -> bool {
            let Some(Scalar::Number(text)) = num else {
                return false;
            };
            let Ok(index) = text.parse::<f64>() else {
                return false;
            };
            // `buffers[num]` in the reference: an integral index in range.
            index >= 0.0 && index < self.attachments as f64 && (index as u64) as f64 == index
        }

        fn scalar(&mut self) -> Option<Scalar<'a>> {
            let rest = self.text.get(self.pos..)?;
            let (scalar, len) = match rest.as_bytes().first()? {
                b'"' => (Scalar::Other, string_len(rest)?),
                b't' => (Scalar::True, 4),
                b'f' => (Scalar::Other, 5),
                b'n' => (Scalar::Other, 4),
                _ => {
                    let len = rest
                        .bytes()
                        .take_while(|b| matches!(b, b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'))
                        .count();
                    (Scalar::Number(rest.get(..len)?), len)
                }
            };
            if len == 0 {
                return None;
            }
            self.pos += len;
            Some(scalar)
        }

        fn key(&mut self) -> Option<Key> {
            let rest = self.text.get(self.pos..)?;
            let literal = rest.get(..string_len(rest)?)?;
            self.pos += literal.len();
            // Escaped spellings (`"\u005fplaceholder"`) name the same key.
            Some(match decode_string(literal).as_deref() {
                Some("_placeholder") => Key::Placeholder,
                Some("num") => Key::Num,
                _ => Key::Other,
            })
        }
    }

    /// Hands a finished value to its parent container.
    fn give<'a>(parent: &mut Frame<'a>, scalar: Scalar<'a>, bad: bool) {
        match parent {
            Frame::Array { bad: parent_bad } => *parent_bad |= bad,
            Frame::Object(object) => {
                match object.key.take() {
                    Some(Key::Placeholder) => {
                        object.placeholder_true = matches!(scalar, Scalar::True);
                        object.placeholder_bad = bad;
                    }
                    Some(Key::Num) => {
                        object.num = Some(scalar);
                        object.num_bad = bad;
                    }
                    // A value overwritten by a duplicate key still counts here:
                    // stricter than `JSON.parse`, and only for absurd input.
                    Some(Key::Other) | None => object.others_bad |= bad,
                }
            }
        }
    }

    /// Length of the string literal `text` starts with, quotes included.
    fn string_len(text: &str) -> Option<usize> {
        let bytes = text.as_bytes();
        let mut pos = 1;
        loop {
            match bytes.get(pos)? {
                b'"' => return Some(pos + 1),
                b'\\' => pos += 2,
                _ => pos += 1,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::value::RawValue;

    fn raw(text: &'static str) -> RawJson {
        RawJson::parse(ByteString::from_static(text)).unwrap()
    }

    #[test]
    fn parse_trims_by_slicing_and_keeps_inner_text() {
        let text = ByteString::from_static("  {\"b\":1, \"a\":2}\n");
        let json = RawJson::parse(text.clone()).unwrap();
        assert_eq!(json.as_str(), "{\"b\":1, \"a\":2}");
        // Same buffer, not a copy.
        assert_eq!(json.as_str().as_ptr(), text[2..].as_ptr());
    }

    #[test]
    fn parse_rejects_non_json_and_trailing_text() {
        for text in [
            "",
            " ",
            "{",
            "[1,]",
            "{\"a\"}",
            "1 2",
            "[1]x",
            "'a'",
            "\"\u{1}\"",
            "nul",
        ] {
            assert_eq!(
                RawJson::parse(ByteString::from(text)),
                Err(PacketError::InvalidJson),
                "{text:?}"
            );
        }
    }

    #[test]
    fn parse_accepts_what_json_parse_accepts() {
        for text in [
            "\"\\ud800\"",
            "1e400",
            "[-0]",
            "null",
            "\"a\"",
            "[[[[[[[[]]]]]]]]",
        ] {
            assert_eq!(raw_owned(text).as_str(), text);
        }
    }

    fn raw_owned(text: &str) -> RawJson {
        RawJson::parse(ByteString::from(text)).unwrap()
    }

    #[test]
    fn from_serialize_is_compact_and_ordered() {
        let json = RawJson::from_serialize(&("a", 1, [true])).unwrap();
        assert_eq!(json.as_str(), "[\"a\",1,[true]]");
    }

    #[test]
    fn lexical_elements_match_a_full_parse() {
        let texts = [
            r#"["a",1,-2.5e3,true,false,null]"#,
            r#"[ "x" , [1,[2,"]"]] , {"k":"}","l":[{}]} ]"#,
            r#"["q\"],[",{"a\\":"\\"},"\u005d"]"#,
            r#"[[],{},"",0]"#,
            "[\n1\t,\r2 ]",
        ];
        for text in texts {
            let json = raw(text);
            let full: Vec<&RawValue> = serde_json::from_str(text).unwrap();
            let full: Vec<&str> = full.iter().map(|v| v.get()).collect();
            assert_eq!(json.array_elements().unwrap(), full, "{text}");
            assert_eq!(json.first_element(), Some(full.first().copied()));
            let tail_json = json.array_tail().unwrap();
            let tail: Vec<&RawValue> = serde_json::from_str(tail_json.as_str()).unwrap();
            let tail: Vec<&str> = tail.iter().map(|v| v.get()).collect();
            assert_eq!(tail, full[1..], "{text}");
        }
        assert_eq!(raw("[]").array_tail().unwrap().as_str(), "[]");
        assert_eq!(raw("[1]").array_tail().unwrap().as_str(), "[]");
        assert_eq!(raw("[1, 2]").array_tail().unwrap().as_str(), "[2]");
        assert_eq!(raw("{}").array_tail(), None);
    }

    #[test]
    fn array_elements_are_slices() {
        let json = raw("[ \"a\" , {\"b\":[1,2]},3 ]");
        let elements = json.array_elements().unwrap();
        assert_eq!(elements, ["\"a\"", "{\"b\":[1,2]}", "3"]);
        assert_eq!(raw("[]").array_elements().unwrap(), Vec::<&str>::new());
        assert_eq!(raw("{}").array_elements(), None);
        assert_eq!(raw("\"[]\"").array_elements(), None);
    }

    #[test]
    fn first_element() {
        assert_eq!(raw("[\"x\",[1],{}]").first_element(), Some(Some("\"x\"")));
        assert_eq!(raw("[ ]").first_element(), Some(None));
        assert_eq!(raw("{\"a\":1}").first_element(), None);
    }

    #[test]
    fn event_names() {
        assert_eq!(raw("[\"hello\",1]").event_name().as_deref(), Some("hello"));
        assert!(matches!(
            raw("[\"hello\"]").event_name(),
            Some(Cow::Borrowed(_))
        ));
        assert_eq!(
            raw("[\"a\\\"b\\u00e9\"]").event_name().as_deref(),
            Some("a\"b\u{e9}")
        );
        assert_eq!(raw("[12]").event_name().as_deref(), Some("12"));
        assert_eq!(raw("[-1.5]").event_name().as_deref(), Some("-1.5"));
        assert_eq!(raw("[]").event_name(), None);
        assert_eq!(raw("[{}]").event_name(), None);
        assert_eq!(raw("[null]").event_name(), None);
        assert_eq!(raw("\"a\"").event_name(), None);
        assert_eq!(raw("[\"\\ud800\"]").event_name(), None);
    }

    #[test]
    fn decode_string_agrees_with_serde_json() {
        for literal in [
            "\"\"",
            "\"abc\"",
            "\"é\"",
            "\"a\\\"b\"",
            "\"\\u0041\"",
            "\"\\ud800\"",
            "\"\u{1}\"",
            "\"",
            "\"a\"b\"",
            "abc",
            "\"a",
        ] {
            let reference = serde_json::from_str::<String>(literal).ok();
            assert_eq!(
                decode_string(literal).map(Cow::into_owned),
                reference,
                "{literal:?}"
            );
        }
    }

    #[test]
    fn placeholders_in_range() {
        let json =
            raw("[\"a\",{\"_placeholder\":true,\"num\":0},[{\"num\":1,\"_placeholder\":true}]]");
        assert!(json.placeholders_fit(2));
        assert!(!json.placeholders_fit(1));
        assert!(!json.placeholders_fit(0));
    }

    #[test]
    fn placeholder_indexes_must_be_integral_numbers_in_range() {
        for (text, fits) in [
            ("{\"_placeholder\":true,\"num\":1.0}", true),
            ("{\"_placeholder\":true,\"num\":-0}", true),
            ("{\"_placeholder\":true,\"num\":1e0}", true),
            ("{\"_placeholder\":true,\"num\":0.5}", false),
            ("{\"_placeholder\":true,\"num\":-1}", false),
            ("{\"_placeholder\":true,\"num\":2}", false),
            ("{\"_placeholder\":true,\"num\":1e400}", false),
            ("{\"_placeholder\":true,\"num\":\"0\"}", false),
            ("{\"_placeholder\":true}", false),
            ("{\"_placeholder\":true,\"num\":null}", false),
        ] {
            assert_eq!(raw_owned(text).placeholders_fit(2), fits, "{text}");
        }
    }

    #[test]
    fn only_placeholder_true_marks_a_placeholder() {
        for text in [
            "{\"_placeholder\":\"true\",\"num\":9}",
            "{\"_placeholder\":1,\"num\":9}",
            "{\"_placeholder\":false,\"num\":9}",
            "{\"num\":9}",
            "[\"_placeholder\",true,\"num\",9]",
            "\"{\\\"_placeholder\\\":true,\\\"num\\\":9}\"",
            "{\"_placeholder\":true,\"num\":9,\"_placeholder\":false}",
        ] {
            assert!(raw_owned(text).placeholders_fit(0), "{text}");
        }
    }

    #[test]
    fn placeholder_keys_may_be_escaped_and_repeated() {
        assert!(!raw("{\"\\u005fplaceholder\":true,\"n\\u0075m\":3}").placeholders_fit(3));
        assert!(raw("{\"\\u005fplaceholder\":true,\"n\\u0075m\":2}").placeholders_fit(3));
        assert!(
            raw("{\"_placeholder\":false,\"num\":9,\"_placeholder\":true,\"num\":0}")
                .placeholders_fit(1)
        );
    }

    #[test]
    fn a_placeholder_hides_what_it_contains_but_other_objects_do_not() {
        // The reference replaces the whole placeholder object, unexamined.
        assert!(
            raw("{\"_placeholder\":true,\"num\":0,\"x\":{\"_placeholder\":true,\"num\":9}}")
                .placeholders_fit(1)
        );
        assert!(
            !raw("{\"_placeholder\":false,\"num\":{\"_placeholder\":true,\"num\":9}}")
                .placeholders_fit(1)
        );
        assert!(!raw("{\"a\":{\"b\":[{\"_placeholder\":true,\"num\":1}]}}").placeholders_fit(1));
    }

    #[test]
    fn deep_nesting_does_not_overflow_the_stack() {
        let depth = 200_000;
        let mut text = String::new();
        text.extend(core::iter::repeat_n('[', depth));
        text.push_str("{\"_placeholder\":true,\"num\":0}");
        text.extend(core::iter::repeat_n(']', depth));
        let json = RawJson::parse(ByteString::from(text)).unwrap();
        assert!(json.placeholders_fit(1));
        assert!(!json.placeholders_fit(0));
    }

    #[test]
    fn strings_with_braces_and_escapes_are_skipped_whole() {
        let json = raw("[\"}]\\\"{\",{\"k\\\"}\":\"{\\\"_placeholder\\\":true}\",\"_placeholder\":true,\"num\":0}]");
        assert!(json.placeholders_fit(1));
        assert!(!json.placeholders_fit(0));
    }
}
