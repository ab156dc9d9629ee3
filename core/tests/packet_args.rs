//! Typed arguments: exact JSON text (serde_json's, placeholders for binary),
//! attachments in depth-first order, decoding into typed, tuple and
//! `serde_json::Value` targets, errors, proptest round trips, and interop
//! with the packet codec.

use std::collections::BTreeMap;
use std::fmt;

use bytes::Bytes;
use bytestring::ByteString;
use proptest::prelude::*;
use serde::de::{SeqAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{json, Value};
use sio_core::engine;
use sio_core::packet::{
    decode_args, encode_args, ArgsError, JsonParser, Limits, Packet, PacketType, Parser, RawJson,
};

/// Binary through `serialize_bytes` / `deserialize_byte_buf`, as
/// `bytes::Bytes` does with its `serde` feature (not enabled here).
#[derive(Debug, Clone, PartialEq)]
struct Bin(Bytes);

fn bin(bytes: &'static [u8]) -> Bin {
    Bin(Bytes::from_static(bytes))
}

impl Serialize for Bin {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Bin {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_byte_buf(BinVisitor)
    }
}

struct BinVisitor;

impl<'de> Visitor<'de> for BinVisitor {
    type Value = Bin;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("bytes")
    }
    fn visit_bytes<E>(self, v: &[u8]) -> Result<Bin, E> {
        Ok(Bin(Bytes::copy_from_slice(v)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Bin, A::Error> {
        let mut bytes = Vec::new();
        while let Some(byte) = seq.next_element::<u8>()? {
            bytes.push(byte);
        }
        Ok(Bin(bytes.into()))
    }
}

fn raw(text: &str) -> RawJson {
    RawJson::parse(ByteString::from(text)).expect("test JSON is valid")
}

fn attachments(list: &[&'static [u8]]) -> Vec<Bytes> {
    list.iter().map(|b| Bytes::from_static(b)).collect()
}

/// Encodes and checks there are no attachments.
fn text_of<T: Serialize + ?Sized>(event: Option<&str>, args: &T) -> String {
    let (data, attachments) = encode_args(event, args).unwrap();
    assert!(attachments.is_empty());
    data.as_str().to_owned()
}

/// The argument `value` alone, as serde_json writes it.
fn as_serde_json<T: Serialize>(value: &T) -> String {
    format!("[\"e\",{}]", serde_json::to_string(value).unwrap())
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Point {
    x: i32,
    y: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Message {
    id: u64,
    text: String,
    at: Point,
    tags: Vec<String>,
    reply_to: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hidden: Option<bool>,
}

fn message() -> Message {
    Message {
        id: 7,
        text: "héllo \"world\"\n\u{1f600}".into(),
        at: Point { x: -1, y: 2 },
        tags: vec!["a".into(), "b".into()],
        reply_to: None,
        hidden: None,
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Shape {
    Empty,
    Circle(f64),
    Line(Point, Point),
    Rect { w: u32, h: u32 },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Unit;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Meters(f64);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Pair(u8, String);

/// A map whose entries are written in the order given.
struct Ordered<K, V>(Vec<(K, V)>);

impl<K: Serialize, V: Serialize> Serialize for Ordered<K, V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

// ---------------------------------------------------------------------------
// Encoding: exact text

#[test]
fn structs_are_compact_and_in_declaration_order() {
    let text = text_of(Some("chat"), &message());
    assert_eq!(
        text,
        "[\"chat\",{\"id\":7,\"text\":\"héllo \\\"world\\\"\\n\u{1f600}\",\
         \"at\":{\"x\":-1,\"y\":2},\"tags\":[\"a\",\"b\"],\"reply_to\":null}]"
    );
    assert_eq!(
        text,
        format!("[\"chat\",{}]", serde_json::to_string(&message()).unwrap())
    );
}

#[test]
fn enums_are_externally_tagged() {
    for (shape, expected) in [
        (Shape::Empty, "\"Empty\""),
        (Shape::Circle(1.5), "{\"Circle\":1.5}"),
        (
            Shape::Line(Point { x: 0, y: 1 }, Point { x: 2, y: 3 }),
            "{\"Line\":[{\"x\":0,\"y\":1},{\"x\":2,\"y\":3}]}",
        ),
        (Shape::Rect { w: 3, h: 4 }, "{\"Rect\":{\"w\":3,\"h\":4}}"),
    ] {
        let text = text_of(Some("e"), &shape);
        assert_eq!(text, format!("[\"e\",{expected}]"));
        assert_eq!(text, as_serde_json(&shape));
    }
}

#[test]
fn scalars_options_and_wrappers() {
    assert_eq!(text_of(Some("e"), &1u8), "[\"e\",1]");
    assert_eq!(text_of(Some("e"), &-12i64), "[\"e\",-12]");
    assert_eq!(text_of(Some("e"), &u128::MAX), as_serde_json(&u128::MAX));
    assert_eq!(text_of(Some("e"), &i128::MIN), as_serde_json(&i128::MIN));
    assert_eq!(text_of(Some("e"), &true), "[\"e\",true]");
    assert_eq!(text_of(Some("e"), &'\u{7}'), "[\"e\",\"\\u0007\"]");
    assert_eq!(text_of(Some("e"), &"x"), "[\"e\",\"x\"]");
    assert_eq!(text_of(Some("e"), &None::<u8>), "[\"e\",null]");
    assert_eq!(text_of(Some("e"), &Some(3)), "[\"e\",3]");
    assert_eq!(text_of(Some("e"), &Unit), "[\"e\",null]");
    assert_eq!(text_of(Some("e"), &Meters(2.5)), "[\"e\",2.5]");
    assert_eq!(
        text_of(Some("e"), &Pair(1, "a".into())),
        "[\"e\",[1,\"a\"]]"
    );
    assert_eq!(text_of(Some("e"), &vec![1, 2]), "[\"e\",[1,2]]");
    assert_eq!(text_of(Some("e"), &Vec::<u8>::new()), "[\"e\",[]]");
    assert_eq!(
        text_of(Some("e"), &json!({"b": [1, {}]})),
        "[\"e\",{\"b\":[1,{}]}]"
    );
}

#[test]
fn floats_are_serde_json_s() {
    for f in [0.1, -0.0, 1e21, 1e-7, 123456.789, f64::MAX, 5e-324] {
        assert_eq!(text_of(Some("e"), &f), as_serde_json(&f), "{f}");
    }
    assert_eq!(text_of(Some("e"), &0.1f32), "[\"e\",0.1]");
    // Like JavaScript, and unlike Rust's Display.
    assert_eq!(text_of(Some("e"), &1e21), "[\"e\",1e+21]");
    assert_eq!(
        text_of(Some("e"), &(f64::NAN, f64::INFINITY, f32::NEG_INFINITY)),
        "[\"e\",null,null,null]"
    );
}

#[test]
fn unicode_and_escapes_are_serde_json_s() {
    let text = "\u{0}\u{1f}\u{7f}\u{80}\u{2028}\u{ffff}\u{10ffff}/\\\"\t\r\u{8}\u{c}é日本";
    assert_eq!(text_of(Some("e"), &text), as_serde_json(&text));
    assert_eq!(
        text_of(Some("e"), &"\u{0}\u{1f}\t"),
        "[\"e\",\"\\u0000\\u001f\\t\"]"
    );
    // The event name too.
    assert_eq!(text_of(Some("a\"\n"), &()), "[\"a\\\"\\n\"]");
}

#[test]
fn maps_keep_iteration_order_and_stringify_keys() {
    let ordered = Ordered(vec![("z", 1), ("a", 2), ("m", 3)]);
    assert_eq!(
        text_of(Some("e"), &ordered),
        "[\"e\",{\"z\":1,\"a\":2,\"m\":3}]"
    );
    let keys = Ordered(vec![(-3i64, 'a'), (7, 'b')]);
    assert_eq!(
        text_of(Some("e"), &keys),
        "[\"e\",{\"-3\":\"a\",\"7\":\"b\"}]"
    );
    let floats = Ordered(vec![(1.5f64, 0), (-0.0, 1)]);
    assert_eq!(text_of(Some("e"), &floats), as_serde_json(&floats));
    let bools = Ordered(vec![(true, 0)]);
    assert_eq!(text_of(Some("e"), &bools), "[\"e\",{\"true\":0}]");
    let chars = Ordered(vec![('"', 0)]);
    assert_eq!(text_of(Some("e"), &chars), "[\"e\",{\"\\\"\":0}]");
    let variants = Ordered(vec![(Shape::Empty, 0)]);
    assert_eq!(text_of(Some("e"), &variants), "[\"e\",{\"Empty\":0}]");
    let options = Ordered(vec![(Some("k"), 0)]);
    assert_eq!(text_of(Some("e"), &options), "[\"e\",{\"k\":0}]");
}

#[test]
fn tuples_spread_unit_is_nothing_everything_else_is_one_argument() {
    assert_eq!(text_of(Some("e"), &()), "[\"e\"]");
    assert_eq!(text_of(None, &()), "[]");
    assert_eq!(text_of(Some("e"), &(1,)), "[\"e\",1]");
    assert_eq!(
        text_of(Some("e"), &(1, "two", [3])),
        "[\"e\",1,\"two\",[3]]"
    );
    assert_eq!(text_of(None, &(1, "two")), "[1,\"two\"]");
    assert_eq!(
        text_of(None, &(Point { x: 1, y: 2 },)),
        "[{\"x\":1,\"y\":2}]"
    );
    assert_eq!(text_of(None, &((), ())), "[null,null]");
    assert_eq!(text_of(None, &((1, 2),)), "[[1,2]]");
    // Fixed-size arrays serialize as tuples, so they spread too.
    assert_eq!(text_of(None, &[1, 2]), "[1,2]");
    // A slice or Vec is one argument; so is a tuple struct.
    assert_eq!(text_of(None, &[1, 2][..]), "[[1,2]]");
    assert_eq!(text_of(None, &Pair(1, "a".into())), "[[1,\"a\"]]");
    assert_eq!(text_of(None, &Some((1, 2))), "[[1,2]]");
    assert_eq!(text_of(None, &"x"), "[\"x\"]");
    assert_eq!(text_of(None, &5), "[5]");
}

#[test]
fn raw_json_values_are_copied_verbatim() {
    let raw = serde_json::value::RawValue::from_string("{\"b\":1,\"a\":[ 2 ]}".into()).unwrap();
    assert_eq!(
        text_of(Some("e"), &(&raw, 1)),
        "[\"e\",{\"b\":1,\"a\":[ 2 ]},1]"
    );
}

// ---------------------------------------------------------------------------
// Encoding: binary

#[test]
fn binary_at_the_top_level_is_a_placeholder() {
    let (data, attachments) = encode_args(Some("file"), &bin(b"\x00\x01")).unwrap();
    assert_eq!(
        data.as_str(),
        "[\"file\",{\"_placeholder\":true,\"num\":0}]"
    );
    assert_eq!(attachments, [Bytes::from_static(b"\x00\x01")]);
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Upload {
    name: String,
    data: Bin,
    chunks: Vec<Bin>,
    by_name: BTreeMap<String, Bin>,
    thumb: Option<Bin>,
}

fn upload() -> Upload {
    Upload {
        name: "f".into(),
        data: bin(b"A"),
        chunks: vec![bin(b"B"), bin(b"")],
        by_name: [("x".into(), bin(b"D")), ("y".into(), bin(b"E"))].into(),
        thumb: Some(bin(b"F")),
    }
}

const UPLOAD_TEXT: &str = "{\"name\":\"f\",\"data\":{\"_placeholder\":true,\"num\":1},\
    \"chunks\":[{\"_placeholder\":true,\"num\":2},{\"_placeholder\":true,\"num\":3}],\
    \"by_name\":{\"x\":{\"_placeholder\":true,\"num\":4},\"y\":{\"_placeholder\":true,\"num\":5}},\
    \"thumb\":{\"_placeholder\":true,\"num\":6}}";

#[test]
fn nested_binary_is_numbered_depth_first() {
    let (data, attachments) = encode_args(None, &(bin(b"0"), upload(), bin(b"G"))).unwrap();
    assert_eq!(
        data.as_str(),
        format!(
            "[{{\"_placeholder\":true,\"num\":0}},{UPLOAD_TEXT},{{\"_placeholder\":true,\"num\":7}}]"
        )
    );
    assert_eq!(
        attachments,
        [&b"0"[..], b"A", b"B", b"", b"D", b"E", b"F", b"G"].map(Bytes::from_static)
    );
}

#[test]
fn binary_in_enums_and_map_values() {
    let (data, attachments) = encode_args(
        Some("e"),
        &Ordered(vec![("k", vec![Some(bin(b"1")), None])]),
    )
    .unwrap();
    assert_eq!(
        data.as_str(),
        "[\"e\",{\"k\":[{\"_placeholder\":true,\"num\":0},null]}]"
    );
    assert_eq!(attachments.len(), 1);

    #[derive(Serialize)]
    enum Frame {
        Data(Bin),
        Both(Bin, Bin),
        Named { payload: Bin },
    }
    let (data, attachments) = encode_args(
        None,
        &(
            Frame::Data(bin(b"a")),
            Frame::Both(bin(b"b"), bin(b"c")),
            Frame::Named { payload: bin(b"d") },
        ),
    )
    .unwrap();
    assert_eq!(
        data.as_str(),
        "[{\"Data\":{\"_placeholder\":true,\"num\":0}},\
         {\"Both\":[{\"_placeholder\":true,\"num\":1},{\"_placeholder\":true,\"num\":2}]},\
         {\"Named\":{\"payload\":{\"_placeholder\":true,\"num\":3}}}]"
    );
    assert_eq!(
        attachments,
        [&b"a"[..], b"b", b"c", b"d"].map(Bytes::from_static)
    );
}

#[test]
fn placeholder_wire_form_is_socket_io_parsers() {
    // socket.io-parser's deconstructPacket writes `{ _placeholder: true, num }`
    // and JSON.stringify keeps that key order.
    let (data, _) = encode_args(None, &bin(b"x")).unwrap();
    assert_eq!(data.as_str(), "[{\"_placeholder\":true,\"num\":0}]");
}

// ---------------------------------------------------------------------------
// Encoding: errors

#[test]
fn keys_that_are_not_strings_are_refused_as_serde_json_refuses_them() {
    let cases: Vec<(Result<_, ArgsError>, serde_json::Error)> = vec![
        (
            encode_args(None, &Ordered(vec![(vec![1], 0)])),
            serde_json::to_string(&Ordered(vec![(vec![1], 0)])).unwrap_err(),
        ),
        (
            encode_args(None, &Ordered(vec![((), 0)])),
            serde_json::to_string(&Ordered(vec![((), 0)])).unwrap_err(),
        ),
        (
            encode_args(None, &Ordered(vec![(None::<u8>, 0)])),
            serde_json::to_string(&Ordered(vec![(None::<u8>, 0)])).unwrap_err(),
        ),
        (
            encode_args(None, &Ordered(vec![(f64::NAN, 0)])),
            serde_json::to_string(&Ordered(vec![(f64::NAN, 0)])).unwrap_err(),
        ),
        (
            encode_args(None, &Ordered(vec![(f32::INFINITY, 0)])),
            serde_json::to_string(&Ordered(vec![(f32::INFINITY, 0)])).unwrap_err(),
        ),
        (
            encode_args(None, &Ordered(vec![(bin(b"k"), 0)])),
            serde_json::to_string(&Ordered(vec![(bin(b"k"), 0)])).unwrap_err(),
        ),
    ];
    for (ours, theirs) in cases {
        assert_eq!(ours, Err(ArgsError::Serialize(theirs.to_string())));
    }
    assert_eq!(
        encode_args(None, &Ordered(vec![((), 0)])),
        Err(ArgsError::Serialize("key must be a string".into()))
    );
}

#[test]
fn failing_serialize_impls_give_their_message() {
    struct Fails;
    impl Serialize for Fails {
        fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("nope"))
        }
    }
    assert_eq!(
        encode_args(Some("e"), &(1, Fails)),
        Err(ArgsError::Serialize("nope".into()))
    );
}

// ---------------------------------------------------------------------------
// Decoding

#[test]
fn typed_targets_read_the_first_argument() {
    let data = raw(&text_of(Some("chat"), &(message(), 5)));
    assert_eq!(decode_args::<Message>(&data, true, &[]), Ok(message()));
    assert_eq!(decode_args::<String>(&data, false, &[]), Ok("chat".into()));
    let shapes = raw("[{\"Rect\":{\"w\":1,\"h\":2}},\"Empty\"]");
    assert_eq!(
        decode_args::<Shape>(&shapes, false, &[]),
        Ok(Shape::Rect { w: 1, h: 2 })
    );
    assert_eq!(
        decode_args::<(Shape, Shape)>(&shapes, false, &[]),
        Ok((Shape::Rect { w: 1, h: 2 }, Shape::Empty))
    );
    assert_eq!(
        decode_args::<Vec<u8>>(&raw("[[1,2],3]"), false, &[]),
        Ok(vec![1, 2])
    );
    assert_eq!(
        decode_args::<Pair>(&raw("[[1,\"a\"]]"), false, &[]),
        Ok(Pair(1, "a".into()))
    );
    assert_eq!(
        decode_args::<Meters>(&raw("[2]"), false, &[]),
        Ok(Meters(2.0))
    );
}

#[test]
fn a_missing_first_argument_reads_as_null() {
    assert_eq!(
        decode_args::<Option<u8>>(&raw("[\"e\"]"), true, &[]),
        Ok(None)
    );
    assert_eq!(decode_args::<Option<u8>>(&raw("[]"), false, &[]), Ok(None));
    assert_eq!(decode_args::<Unit>(&raw("[]"), false, &[]), Ok(Unit));
    assert!(matches!(
        decode_args::<u8>(&raw("[]"), false, &[]),
        Err(ArgsError::Deserialize(_))
    ));
}

#[test]
fn tuple_targets_take_arguments_in_order() {
    let data = raw("[\"e\",1,\"two\",[3]]");
    assert_eq!(
        decode_args::<(u8, String, Vec<u8>)>(&data, true, &[]),
        Ok((1, "two".into(), vec![3]))
    );
    // Extra arguments are ignored, missing trailing ones are null.
    assert_eq!(decode_args::<(u8,)>(&data, true, &[]), Ok((1,)));
    assert_eq!(
        decode_args::<(u8, String, Vec<u8>, Option<bool>, ())>(&data, true, &[]),
        Ok((1, "two".into(), vec![3], None, ()))
    );
    assert_eq!(
        decode_args::<[u8; 2]>(&raw("[4,5,6]"), false, &[]),
        Ok([4, 5])
    );
    match decode_args::<(u8, String, Vec<u8>, bool)>(&data, true, &[]) {
        Err(ArgsError::Deserialize(message)) => {
            assert!(message.contains("invalid type: null"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn unit_takes_any_number_of_arguments() {
    assert_eq!(decode_args::<()>(&raw("[]"), false, &[]), Ok(()));
    assert_eq!(decode_args::<()>(&raw("[\"e\"]"), true, &[]), Ok(()));
    assert_eq!(decode_args::<()>(&raw("[1,{},[]]"), false, &[]), Ok(()));
}

#[test]
fn binary_decodes_at_any_depth() {
    let (data, attachments) = encode_args(Some("up"), &(bin(b"0"), upload(), bin(b"G"))).unwrap();
    assert_eq!(
        decode_args::<(Bin, Upload, Bin)>(&data, true, &attachments),
        Ok((bin(b"0"), upload(), bin(b"G")))
    );
    // A Vec<u8> target takes the bytes as a sequence.
    assert_eq!(
        decode_args::<Vec<u8>>(&data, true, &attachments),
        Ok(b"0".to_vec())
    );
    // Into a tuple with Option: present, absent.
    assert_eq!(
        decode_args::<(Option<Bin>, Upload, Bin, Option<Bin>)>(&data, true, &attachments),
        Ok((Some(bin(b"0")), upload(), bin(b"G"), None))
    );
}

#[test]
fn value_targets_see_binary_as_arrays_of_numbers() {
    let (data, attachments) = encode_args(None, &(upload(), bin(b"\x01\xff"))).unwrap();
    let (first, second): (Value, Value) = decode_args(&data, false, &attachments).unwrap();
    assert_eq!(first, serde_json::to_value(upload()).unwrap());
    assert_eq!(
        first,
        json!({
            "name": "f",
            "data": [65],
            "chunks": [[66], []],
            "by_name": {"x": [68], "y": [69]},
            "thumb": [70],
        })
    );
    assert_eq!(second, json!([1, 255]));
    assert_eq!(decode_args::<Value>(&data, false, &attachments), Ok(first));
}

#[test]
fn placeholders_follow_the_reference_rules() {
    let attachments = attachments(&[b"a", b"b"]);
    let decode = |text: &str| decode_args::<Bin>(&raw(text), false, &attachments);
    // Any key order, extra keys, integral float indexes, escaped keys.
    assert_eq!(decode("[{\"num\":1,\"_placeholder\":true}]"), Ok(bin(b"b")));
    assert_eq!(
        decode("[{\"_placeholder\":true,\"num\":1,\"x\":[]}]"),
        Ok(bin(b"b"))
    );
    assert_eq!(
        decode("[{\"_placeholder\":true,\"num\":1.0}]"),
        Ok(bin(b"b"))
    );
    assert_eq!(
        decode("[{\"\\u005fplaceholder\":true,\"n\\u0075m\":0}]"),
        Ok(bin(b"a"))
    );
    // The last duplicate key wins, as in JSON.parse.
    assert_eq!(
        decode("[{\"_placeholder\":false,\"_placeholder\":true,\"num\":5,\"num\":0}]"),
        Ok(bin(b"a"))
    );
    // Not a placeholder: an ordinary object.
    assert_eq!(
        decode_args::<Value>(&raw("[{\"_placeholder\":\"true\",\"num\":0}]"), false, &[]),
        Ok(json!({"_placeholder": "true", "num": 0}))
    );
    #[derive(Debug, PartialEq, Deserialize)]
    struct Lookalike {
        _placeholder: bool,
        num: u8,
    }
    assert_eq!(
        decode_args::<Lookalike>(&raw("[{\"_placeholder\":false,\"num\":9}]"), false, &[]),
        Ok(Lookalike {
            _placeholder: false,
            num: 9
        })
    );
}

#[test]
fn placeholders_where_the_target_wants_something_else_are_type_errors() {
    let attachments = attachments(&[b"a"]);
    let data = raw("[{\"_placeholder\":true,\"num\":0}]");
    for result in [
        decode_args::<Point>(&data, false, &attachments).map(drop),
        decode_args::<String>(&data, false, &attachments).map(drop),
        decode_args::<u8>(&data, false, &attachments).map(drop),
        decode_args::<BTreeMap<String, Value>>(&data, false, &attachments).map(drop),
        decode_args::<Shape>(&data, false, &attachments).map(drop),
    ] {
        match result {
            Err(ArgsError::Deserialize(message)) => {
                assert!(message.contains("byte array"), "{message}")
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        decode_args::<Option<Bin>>(&data, false, &attachments),
        Ok(Some(bin(b"a")))
    );
}

#[test]
fn both_decoding_paths_agree() {
    // `\u0061` sends the argument through the placeholder-aware tree.
    let plain =
        raw("[{\"id\":7,\"text\":\"a\",\"at\":{\"x\":-1,\"y\":2},\"tags\":[],\"reply_to\":9}]");
    let escaped = raw(
        "[{\"id\":7,\"text\":\"\\u0061\",\"at\":{\"x\":-1,\"y\":2},\"tags\":[],\"reply_to\":9}]",
    );
    let expected = Message {
        id: 7,
        text: "a".into(),
        at: Point { x: -1, y: 2 },
        tags: vec![],
        reply_to: Some(9),
        hidden: None,
    };
    assert_eq!(
        decode_args::<Message>(&plain, false, &[]),
        Ok(expected.clone())
    );
    assert_eq!(decode_args::<Message>(&escaped, false, &[]), Ok(expected));
    // Numeric and bool map keys, enums, structs from arrays.
    for text in [
        "[{\"1\":true,\"-2\":false},{\"true\":1},\"Empty\",{\"Circle\":2},[3,4],1e2]",
        "[{\"1\":true,\"-2\":false},{\"true\":1},\"Empty\",{\"Circle\":2},[3,4],1e2,\"\\u0000\"]",
    ] {
        type Target = (
            BTreeMap<i32, bool>,
            BTreeMap<bool, u8>,
            Shape,
            Shape,
            Point,
            f64,
        );
        let decoded = decode_args::<Target>(&raw(text), false, &[]).unwrap();
        assert_eq!(
            decoded,
            (
                [(1, true), (-2, false)].into(),
                [(true, 1)].into(),
                Shape::Empty,
                Shape::Circle(2.0),
                Point { x: 3, y: 4 },
                100.0
            ),
            "{text}"
        );
    }
    // Errors agree too: duplicate fields, trailing array elements, bad keys.
    for (plain, escaped) in [
        (
            "[{\"x\":1,\"x\":2,\"y\":3}]",
            "[{\"x\":1,\"x\":2,\"y\":3,\"z\":\"\\u0000\"}]",
        ),
        ("[[1,2,3]]", "[[1,2,\"\\u0000\"]]"),
    ] {
        let plain = decode_args::<Point>(&raw(plain), false, &[]);
        let escaped = decode_args::<Point>(&raw(escaped), false, &[]);
        assert!(matches!(plain, Err(ArgsError::Deserialize(_))), "{plain:?}");
        assert!(
            matches!(escaped, Err(ArgsError::Deserialize(_))),
            "{escaped:?}"
        );
    }
    for text in ["[{\" 1\":0}]", "[{\"1 \":0}]", "[{\"x\":0,\"\\u0000\":1}]"] {
        assert!(matches!(
            decode_args::<BTreeMap<u8, u8>>(&raw(text), false, &[]),
            Err(ArgsError::Deserialize(_))
        ));
    }
}

// ---------------------------------------------------------------------------
// Decoding: errors

#[test]
fn bad_placeholder_indexes_are_refused_anywhere() {
    let attachments = attachments(&[b"a"]);
    for text in [
        "[{\"_placeholder\":true,\"num\":1}]",
        "[{\"_placeholder\":true,\"num\":-1}]",
        "[{\"_placeholder\":true,\"num\":0.5}]",
        "[{\"_placeholder\":true,\"num\":\"0\"}]",
        "[{\"_placeholder\":true}]",
        // Even in an argument the target ignores.
        "[{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]",
        "[1,{\"a\":[{\"_placeholder\":true,\"num\":9}]}]",
        "[{\"\\u005fplaceholder\":true,\"num\":1}]",
    ] {
        assert_eq!(
            decode_args::<Option<Bin>>(&raw(text), false, &attachments),
            Err(ArgsError::BadPlaceholder),
            "{text}"
        );
        assert_eq!(
            decode_args::<Value>(&raw(text), false, &attachments),
            Err(ArgsError::BadPlaceholder),
            "{text}"
        );
    }
    assert_eq!(
        decode_args::<Bin>(&raw("[{\"_placeholder\":true,\"num\":0}]"), false, &[]),
        Err(ArgsError::BadPlaceholder)
    );
}

#[test]
fn data_that_is_not_an_array_is_refused() {
    for text in ["{}", "\"a\"", "1", "null", "{\"0\":1}"] {
        assert_eq!(
            decode_args::<Value>(&raw(text), false, &[]),
            Err(ArgsError::NotAnArray),
            "{text}"
        );
    }
    assert_eq!(
        decode_args::<()>(&raw("[]"), true, &[]),
        Err(ArgsError::NoEventName)
    );
}

#[test]
fn type_mismatches_are_deserialize_errors_with_serde_messages() {
    assert_eq!(
        decode_args::<u8>(&raw("[\"x\"]"), false, &[]),
        Err(ArgsError::Deserialize(
            serde_json::from_str::<u8>("\"x\"").unwrap_err().to_string()
        ))
    );
    match decode_args::<Point>(&raw("[{\"x\":1,\"y\":\"\\u0031\"}]"), false, &[]) {
        Err(ArgsError::Deserialize(message)) => {
            assert_eq!(message, "invalid type: string \"1\", expected i32")
        }
        other => panic!("{other:?}"),
    }
    let error = decode_args::<u8>(&raw("[-1]"), false, &[]).unwrap_err();
    assert!(error
        .to_string()
        .starts_with("cannot deserialize arguments: "));
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let depth = 10_000;
    let text = format!("[{}{}]", "[".repeat(depth), "]".repeat(depth));
    assert!(matches!(
        decode_args::<Value>(&raw(&text), false, &[]),
        Err(ArgsError::Deserialize(_))
    ));
    let text = format!(
        "[{}{{\"_placeholder\":true,\"num\":0}}{}]",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    assert!(matches!(
        decode_args::<Value>(&raw(&text), false, &attachments(&[b"a"])),
        Err(ArgsError::Deserialize(_))
    ));
}

// ---------------------------------------------------------------------------
// Interop with the packet codec

/// Sends `packet` through `JsonParser` and a fresh decoder.
fn through_the_wire(packet: &Packet) -> Packet {
    let mut messages = Vec::new();
    JsonParser.encode(packet, &mut messages);
    let mut decoder = JsonParser.decoder(Limits::default());
    let mut decoded = None;
    for message in messages {
        decoded = match message {
            engine::Packet::Message(text) => decoder.decode_text(text).unwrap(),
            engine::Packet::Binary(data) => decoder.decode_binary(data).unwrap(),
            other => panic!("unexpected {other:?}"),
        };
    }
    decoded.expect("the last message completes the packet")
}

#[test]
fn binary_events_and_acks_cross_the_packet_codec() {
    let (data, attachments) = encode_args(Some("upload"), &(upload(), bin(b"tail"))).unwrap();
    let packet = Packet::event("/files", data, attachments).with_id(12);
    assert_eq!(packet.kind, PacketType::BinaryEvent);
    let received = through_the_wire(&packet);
    assert_eq!(received, packet);
    let data = received.data.as_ref().unwrap();
    assert_eq!(data.event_name().as_deref(), Some("upload"));
    assert_eq!(
        decode_args::<(Upload, Bin)>(data, true, &received.attachments),
        Ok((upload(), bin(b"tail")))
    );

    let (data, attachments) = encode_args(None, &(bin(b"ok"), 1)).unwrap();
    let packet = Packet::ack("/", 12, data, attachments);
    assert_eq!(packet.kind, PacketType::BinaryAck);
    let received = through_the_wire(&packet);
    assert_eq!(
        decode_args::<(Bin, u8)>(
            received.data.as_ref().unwrap(),
            false,
            &received.attachments
        ),
        Ok((bin(b"ok"), 1))
    );

    let (data, attachments) = encode_args(Some("plain"), &message()).unwrap();
    let packet = Packet::event("/", data, attachments);
    assert_eq!(packet.kind, PacketType::Event);
    let received = through_the_wire(&packet);
    assert_eq!(
        decode_args::<Message>(received.data.as_ref().unwrap(), true, &[]),
        Ok(message())
    );
}

// ---------------------------------------------------------------------------
// Round trips

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Tree {
    Nothing,
    Flag(bool),
    Int(i64),
    Num(f64),
    Text(String),
    Blob(Bin),
    List(Vec<Tree>),
    Map(BTreeMap<String, Tree>),
    Pair(Box<Tree>, Box<Tree>),
    Node {
        label: Option<String>,
        children: Vec<Tree>,
    },
}

fn tree() -> impl Strategy<Value = Tree> {
    let leaf = prop_oneof![
        Just(Tree::Nothing),
        any::<bool>().prop_map(Tree::Flag),
        any::<i64>().prop_map(Tree::Int),
        // Exactly representable in short decimal, so the text round trips.
        any::<i32>().prop_map(|n| Tree::Num(f64::from(n) / 8.0)),
        any::<String>().prop_map(Tree::Text),
        proptest::collection::vec(any::<u8>(), 0..8).prop_map(|b| Tree::Blob(Bin(Bytes::from(b)))),
    ];
    leaf.prop_recursive(4, 48, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Tree::List),
            proptest::collection::btree_map(any::<String>(), inner.clone(), 0..4)
                .prop_map(Tree::Map),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Tree::Pair(Box::new(a), Box::new(b))),
            (
                proptest::option::of(any::<String>()),
                proptest::collection::vec(inner, 0..3)
            )
                .prop_map(|(label, children)| Tree::Node { label, children }),
        ]
    })
}

fn blobs(tree: &Tree, out: &mut Vec<Bytes>) {
    match tree {
        Tree::Blob(Bin(bytes)) => out.push(bytes.clone()),
        Tree::List(items)
        | Tree::Node {
            children: items, ..
        } => items.iter().for_each(|t| blobs(t, out)),
        Tree::Map(map) => map.values().for_each(|t| blobs(t, out)),
        Tree::Pair(a, b) => {
            blobs(a, out);
            blobs(b, out);
        }
        _ => {}
    }
}

proptest! {
    #[test]
    fn trees_round_trip(first in tree(), second in tree(), id in any::<u32>()) {
        let args = (first.clone(), id, second.clone());
        let (data, attachments) = encode_args(Some("ev"), &args).unwrap();

        // Attachments in depth-first order.
        let mut expected = Vec::new();
        blobs(&first, &mut expected);
        blobs(&second, &mut expected);
        prop_assert_eq!(&attachments, &expected);

        // Without binary, the text is serde_json's.
        if expected.is_empty() {
            let json = serde_json::to_string(&("ev", &first, id, &second)).unwrap();
            prop_assert_eq!(data.as_str(), json);
        }

        // Through the packet codec, then back into the same types.
        let received = through_the_wire(&Packet::event("/", data, attachments));
        let data = received.data.as_ref().unwrap();
        prop_assert_eq!(
            decode_args::<(Tree, u32, Tree)>(data, true, &received.attachments),
            Ok(args)
        );

        // As Values: binary becomes arrays of numbers, as serde_json writes it.
        prop_assert_eq!(
            decode_args::<(Value, u32, Value)>(data, true, &received.attachments),
            Ok((
                serde_json::to_value(&first).unwrap(),
                id,
                serde_json::to_value(&second).unwrap()
            ))
        );
    }

    #[test]
    fn strings_round_trip_exactly(text in any::<String>(), key in any::<String>()) {
        let map: BTreeMap<String, String> = [(key, text.clone())].into();
        let (data, _) = encode_args(Some(&text), &(&text, &map)).unwrap();
        prop_assert_eq!(
            data.as_str(),
            serde_json::to_string(&(&text, &text, &map)).unwrap()
        );
        prop_assert_eq!(
            decode_args::<(String, BTreeMap<String, String>)>(&data, true, &[]),
            Ok((text, map))
        );
    }

    #[test]
    fn floats_are_written_as_serde_json_writes_them(f in any::<f64>(), g in any::<f32>()) {
        let (data, _) = encode_args(None, &(f, g)).unwrap();
        prop_assert_eq!(data.as_str(), serde_json::to_string(&(f, g)).unwrap());
    }
}
