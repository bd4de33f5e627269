//! MCP stdio framing and JSON-RPC 2.0 classification.
//!
//! A message is one line of JSON. Parsing is strict where leniency would let hush and the server
//! disagree about what a message says: duplicate object keys are rejected (serde_json keeps the
//! last, other parsers the first), as are invalid UTF-8 and nesting deeper than serde_json's
//! recursion limit.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// One parsed line: a single message or a batch.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Frame {
    /// One JSON-RPC message.
    Single(Value),
    /// A JSON-RPC batch (an array of messages; may hold invalid elements, which are classified
    /// [`Kind::Invalid`]).
    Batch(Vec<Value>),
}

/// What a JSON-RPC message is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// A request: `method` and `id`.
    Request {
        /// The id, as compact JSON (`1`, `"a"`).
        id: String,
        /// The method.
        method: String,
    },
    /// A notification: `method`, no `id`.
    Notification {
        /// The method.
        method: String,
    },
    /// A response: `id` and `result` or `error`.
    Response {
        /// The id, as compact JSON.
        id: String,
    },
    /// Anything else.
    Invalid,
}

/// Why a line is not a JSON-RPC message. Messages never quote the input.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseError {
    /// Not JSON (serde_json's description: position and category, never input bytes).
    #[error("not valid JSON: {0}")]
    Json(String),
    /// An object has the same key twice: servers could read it differently from hush.
    #[error("an object has a duplicate key, so the message is ambiguous")]
    DuplicateKey,
    /// JSON, but neither an object nor a non-empty array.
    #[error("not a JSON-RPC message or batch")]
    NotJsonRpc,
}

/// Parses one line (without or with its `\n` / `\r\n`) into a [`Frame`].
///
/// # Errors
/// [`ParseError`] when the line is not strict JSON or not an object or a non-empty array.
///
/// ```
/// use hush_mcp::{classify, parse_frame, Frame, Kind};
///
/// let Frame::Single(msg) = parse_frame(br#"{"jsonrpc":"2.0","id":7,"method":"tools/list"}"#)? else {
///     unreachable!()
/// };
/// assert_eq!(classify(&msg), Kind::Request { id: "7".into(), method: "tools/list".into() });
/// assert!(parse_frame(br#"{"id":1,"id":2}"#).is_err());
/// # Ok::<(), hush_mcp::ParseError>(())
/// ```
pub fn parse_frame(line: &[u8]) -> Result<Frame, ParseError> {
    let line = trim_eol(line);
    let mut de = serde_json::Deserializer::from_slice(line);
    let strict = match Strict::deserialize(&mut de).and_then(|v| de.end().map(|()| v)) {
        Ok(v) => v,
        Err(e) if e.to_string().starts_with(DUPLICATE) => return Err(ParseError::DuplicateKey),
        Err(e) => return Err(ParseError::Json(e.to_string())),
    };
    match strict.0 {
        Value::Array(items) if !items.is_empty() => Ok(Frame::Batch(items)),
        v @ Value::Object(_) => Ok(Frame::Single(v)),
        _ => Err(ParseError::NotJsonRpc),
    }
}

/// Classifies one message by its `method`, `id`, `result` and `error` members.
pub fn classify(msg: &Value) -> Kind {
    let Some(obj) = msg.as_object() else {
        return Kind::Invalid;
    };
    let id = obj
        .get("id")
        .filter(|id| matches!(id, Value::String(_) | Value::Number(_) | Value::Null));
    match (obj.get("method"), id) {
        (Some(Value::String(m)), Some(id)) => Kind::Request {
            id: id.to_string(),
            method: m.clone(),
        },
        (Some(Value::String(m)), None) if !obj.contains_key("id") => {
            Kind::Notification { method: m.clone() }
        }
        (None, Some(id)) if obj.contains_key("result") || obj.contains_key("error") => {
            Kind::Response { id: id.to_string() }
        }
        _ => Kind::Invalid,
    }
}

/// `line` without its trailing `\n` or `\r\n`.
pub(crate) fn trim_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Canonical JSON: object keys sorted by their UTF-8 bytes, no whitespace, serde_json's number
/// and string forms. Independent of serde_json's `preserve_order` feature.
pub fn canonical_json(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push(b'{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                // Writing a string or a Value to a Vec cannot fail.
                let _ = serde_json::to_writer(&mut *out, k);
                out.push(b':');
                canonical_json(&map[k], out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                canonical_json(item, out);
            }
            out.push(b']');
        }
        scalar => {
            let _ = serde_json::to_writer(&mut *out, scalar);
        }
    }
}

/// The SHA-256 of a value's canonical JSON, lowercase hex: a tool's definition hash.
pub fn definition_hash(v: &Value) -> String {
    let mut buf = Vec::new();
    canonical_json(v, &mut buf);
    hex(&Sha256::digest(&buf))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

const DUPLICATE: &str = "hush: duplicate key";

/// A `Value` whose deserialization rejects duplicate object keys.
struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Strict, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let Strict(v) = map.next_value()?;
            if out.insert(key, v).is_some() {
                return Err(de::Error::custom(DUPLICATE));
            }
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_every_kind() {
        let kind = |s: &str| match parse_frame(s.as_bytes()).unwrap() {
            Frame::Single(v) => classify(&v),
            Frame::Batch(_) => panic!("batch"),
        };
        assert_eq!(
            kind(r#"{"jsonrpc":"2.0","id":"a","method":"tools/call"}"#),
            Kind::Request {
                id: "\"a\"".into(),
                method: "tools/call".into()
            }
        );
        assert_eq!(
            kind(r#"{"jsonrpc":"2.0","method":"notifications/cancelled"}"#),
            Kind::Notification {
                method: "notifications/cancelled".into()
            }
        );
        assert_eq!(
            kind(r#"{"jsonrpc":"2.0","id":3,"result":{}}"#),
            Kind::Response { id: "3".into() }
        );
        assert_eq!(
            kind(r#"{"jsonrpc":"2.0","id":[1],"method":"x"}"#),
            Kind::Invalid
        );
        assert_eq!(kind(r#"{"jsonrpc":"2.0","id":3}"#), Kind::Invalid);
    }

    #[test]
    fn rejects_ambiguous_and_non_messages() {
        assert_eq!(
            parse_frame(br#"{"a":{"b":1,"b":2}}"#),
            Err(ParseError::DuplicateKey)
        );
        assert_eq!(parse_frame(b"[]"), Err(ParseError::NotJsonRpc));
        assert_eq!(parse_frame(b"3"), Err(ParseError::NotJsonRpc));
        assert!(matches!(parse_frame(b"{} {}"), Err(ParseError::Json(_))));
        assert!(matches!(
            parse_frame(b"{\"a\":\"\xff\"}"),
            Err(ParseError::Json(_))
        ));
        let deep = "[".repeat(10_000);
        assert!(parse_frame(deep.as_bytes()).is_err());
        assert!(matches!(
            parse_frame(b"[{\"id\":1},2]\r\n"),
            Ok(Frame::Batch(v)) if v.len() == 2
        ));
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_depth() {
        let a: Value =
            serde_json::from_str(r#"{"b":1,"a":{"d":[1,{"y":2,"x":"é"}],"c":null}}"#).unwrap();
        let mut out = Vec::new();
        canonical_json(&a, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"a":{"c":null,"d":[1,{"x":"é","y":2}]},"b":1}"#
        );
        let b: Value =
            serde_json::from_str(r#"{"a":{"c":null,"d":[1,{"x":"é","y":2}]},"b":1}"#).unwrap();
        assert_eq!(definition_hash(&a), definition_hash(&b));
        assert_eq!(definition_hash(&a).len(), 64);
    }

    proptest::proptest! {
        /// The definition hash depends on content, not on member order or spacing.
        #[test]
        fn definition_hash_ignores_member_order(
            members in proptest::collection::btree_map("[a-z]{1,5}", "[ -~]{0,12}", 1..8),
        ) {
            let forward: Vec<String> = members
                .iter()
                .map(|(k, v)| format!("{}: {}", json(k), json(v)))
                .collect();
            let a = format!("{{{}}}", forward.join(", "));
            let backward: Vec<String> = members
                .iter()
                .rev()
                .map(|(k, v)| format!("{}:{}", json(k), json(v)))
                .collect();
            let b = format!("{{ {} }}", backward.join(","));
            let (Ok(Frame::Single(a)), Ok(Frame::Single(b))) =
                (parse_frame(a.as_bytes()), parse_frame(b.as_bytes()))
            else {
                panic!("objects parse");
            };
            proptest::prop_assert_eq!(definition_hash(&a), definition_hash(&b));
        }
    }

    fn json(s: &str) -> String {
        serde_json::to_string(s).unwrap()
    }
}
