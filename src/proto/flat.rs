//! JSON objects read flat, for the client: each member as a [`Member`] (a string, a
//! non-negative integer, a flag, a list of strings, null, or something else), without
//! `serde_json::Value` or typed serde visitors.
//!
//! The client reads only such members (its settings, and the fields of the frames a
//! server sends). `Value` would bring its map type into the client's wasm, and typed
//! visitors serde's "invalid type" messages with float formatting; together several tens
//! of KB of a main entry held to a size budget (`bench/RESULTS.md`).

use serde::de::{Deserialize, Deserializer, Error, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// One member's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Member {
    /// A string.
    Text(String),
    /// A non-negative integer (that fits in 64 bits).
    Int(u64),
    /// `true` or `false`.
    Flag(bool),
    /// An array: its string elements (others are left out).
    Texts(Vec<String>),
    /// `null`.
    Null,
    /// A negative or fractional number, or an object.
    Other,
}

impl Member {
    /// The string, if it is one.
    pub fn text(&self) -> Option<&str> {
        match self {
            Member::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, if it is a non-negative one.
    pub fn int(&self) -> Option<u64> {
        match self {
            Member::Int(n) => Some(*n),
            _ => None,
        }
    }

    /// The flag, if it is one.
    pub fn flag(&self) -> Option<bool> {
        match self {
            Member::Flag(b) => Some(*b),
            _ => None,
        }
    }

    /// The strings of an array.
    pub fn texts(&self) -> Option<&[String]> {
        match self {
            Member::Texts(t) => Some(t),
            _ => None,
        }
    }
}

/// An error that names no value (naming one would format it, floats included).
pub fn not<E: Error>(what: &'static str) -> E {
    E::custom(what)
}

/// The scalar methods of a visitor for something that is only an object or a list: each
/// fails with `$what`, naming no value (see [`not`]).
macro_rules! only_maps_or_seqs {
    ($what:literal) => {
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str($what)
        }
        fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Err($crate::proto::flat::not($what))
        }
        fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Err($crate::proto::flat::not($what))
        }
        fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Err($crate::proto::flat::not($what))
        }
        fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Err($crate::proto::flat::not($what))
        }
        fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Err($crate::proto::flat::not($what))
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Err($crate::proto::flat::not($what))
        }
    };
}
pub(crate) use only_maps_or_seqs;

impl<'de> Deserialize<'de> for Member {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Member;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_bool<E: Error>(self, b: bool) -> Result<Member, E> {
                Ok(Member::Flag(b))
            }
            fn visit_i64<E: Error>(self, n: i64) -> Result<Member, E> {
                Ok(u64::try_from(n).map_or(Member::Other, Member::Int))
            }
            fn visit_u64<E: Error>(self, n: u64) -> Result<Member, E> {
                Ok(Member::Int(n))
            }
            fn visit_f64<E: Error>(self, _: f64) -> Result<Member, E> {
                Ok(Member::Other)
            }
            fn visit_str<E: Error>(self, s: &str) -> Result<Member, E> {
                Ok(Member::Text(s.to_owned()))
            }
            fn visit_string<E: Error>(self, s: String) -> Result<Member, E> {
                Ok(Member::Text(s))
            }
            fn visit_unit<E: Error>(self) -> Result<Member, E> {
                Ok(Member::Null)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Member, A::Error> {
                let mut texts = Vec::new();
                while let Some(m) = s.next_element::<Member>()? {
                    if let Member::Text(t) = m {
                        texts.push(t);
                    }
                }
                Ok(Member::Texts(texts))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Member, A::Error> {
                while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Member::Other)
            }
        }
        d.deserialize_any(V)
    }
}

/// A JSON object's members, in order.
#[derive(Debug, Default)]
pub struct Members(pub Vec<(String, Member)>);

impl Members {
    /// Reads a JSON object; `Err` says what is wrong with the text.
    pub fn parse(text: &str) -> Result<Members, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }

    /// The value of `key` (the first, if the object repeats it).
    pub fn get(&self, key: &str) -> Option<&Member> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members;
            only_maps_or_seqs!("a JSON object was expected");
            fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Members, A::Error> {
                Err(not("a JSON object was expected"))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Members, A::Error> {
                let mut all = Vec::new();
                while let Some(key) = m.next_key::<String>()? {
                    all.push((key, m.next_value::<Member>()?));
                }
                Ok(Members(all))
            }
        }
        d.deserialize_any(V)
    }
}

/// Where the members of a JSON object are: the raw text of each value, by key, in order.
/// For text serde_json has already read as valid JSON (checked by the caller), so the
/// client can pass a value on as the text the server sent without a `RawValue`; `None`
/// if the text is not an object after all.
pub fn members(object: &str) -> Option<Vec<(String, &str)>> {
    let b = object.as_bytes();
    let mut out = Vec::new();
    items(b, b'{', b'}', |i| {
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let key_end = string_end(b, i)?;
        let raw_key = object.get(i..key_end)?;
        let key = match raw_key.get(1..raw_key.len() - 1) {
            Some(k) if !k.contains('\\') => k.to_owned(),
            _ => serde_json::from_str::<Member>(raw_key).ok()?.text()?.to_owned(),
        };
        let colon = skip_ws(b, key_end);
        if b.get(colon) != Some(&b':') {
            return None;
        }
        let start = skip_ws(b, colon + 1);
        let end = value_end(b, start)?;
        out.push((key, object.get(start..end)?));
        Some(end)
    })?;
    Some(out)
}

/// The raw text of each element of a JSON array (valid JSON, as for [`members`]).
pub fn elements(array: &str) -> Option<Vec<&str>> {
    let b = array.as_bytes();
    let mut out = Vec::new();
    items(b, b'[', b']', |i| {
        let end = value_end(b, i)?;
        out.push(array.get(i..end)?);
        Some(end)
    })?;
    Some(out)
}

/// Walks the items of a container that opens with `open` and closes with `close`:
/// `item(i)` reads the item starting at `i` and returns where it ends.
fn items(b: &[u8], open: u8, close: u8, mut item: impl FnMut(usize) -> Option<usize>) -> Option<()> {
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&open) {
        return None;
    }
    i = skip_ws(b, i + 1);
    if b.get(i) == Some(&close) {
        return Some(());
    }
    loop {
        i = skip_ws(b, item(i)?);
        match b.get(i) {
            Some(b',') => i = skip_ws(b, i + 1),
            Some(c) if *c == close => return Some(()),
            _ => return None,
        }
    }
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// The end (exclusive) of the value that starts at `i`.
fn value_end(b: &[u8], i: usize) -> Option<usize> {
    match *b.get(i)? {
        b'"' => string_end(b, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            loop {
                match *b.get(j)? {
                    b'"' => {
                        j = string_end(b, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
        }
        _ => {
            let n =
                b[i..].iter().position(|c| matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'));
            Some(i + n.unwrap_or(b.len() - i))
        }
    }
}

/// The end (exclusive) of the string whose opening quote is at `i`.
fn string_end(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    loop {
        match *b.get(j)? {
            b'\\' => j += 2,
            b'"' => return Some(j + 1),
            _ => j += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_read_by_kind() {
        let m = Members::parse(
            r#"{"s":"x","n":7,"neg":-1,"f":1.5,"b":true,"z":null,"a":["p",1,"q"],"o":{"k":[1]}}"#,
        )
        .unwrap();
        assert_eq!(m.get("s").and_then(Member::text), Some("x"));
        assert_eq!(m.get("n").and_then(Member::int), Some(7));
        assert_eq!(m.get("neg"), Some(&Member::Other));
        assert_eq!(m.get("f"), Some(&Member::Other));
        assert_eq!(m.get("b").and_then(Member::flag), Some(true));
        assert_eq!(m.get("z"), Some(&Member::Null));
        assert_eq!(m.get("a").and_then(Member::texts), Some(&["p".to_owned(), "q".to_owned()][..]));
        assert_eq!(m.get("o"), Some(&Member::Other));
        assert_eq!(m.get("missing"), None);
    }

    #[test]
    fn spans_are_the_text_as_sent() {
        let text = r#" { "op" : "msgs", "k\u0065y":[1, {"a":"}]\"\\"}] ,"n":-1.5e3,"t":true}"#;
        let m = members(text).unwrap();
        let keys: Vec<&str> = m.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["op", "key", "n", "t"]);
        assert_eq!(m[0].1, r#""msgs""#);
        assert_eq!(m[1].1, r#"[1, {"a":"}]\"\\"}]"#);
        assert_eq!(m[2].1, "-1.5e3");
        assert_eq!(m[3].1, "true");
        assert_eq!(elements(m[1].1).unwrap(), ["1", r#"{"a":"}]\"\\"}"#]);
        assert_eq!(members("{}").unwrap(), []);
        assert_eq!(elements(" [ ] ").unwrap(), Vec::<&str>::new());
        assert!(members("[1]").is_none() && elements("{}").is_none());
        assert!(members(r#"{"a":"#).is_none() && elements("[1,").is_none());
        assert!(members("{,}").is_none() && members("{1:2}").is_none());
    }

    #[test]
    fn only_an_object_is_members() {
        for text in ["[]", "1", "\"x\"", "null", "true", "{", "{\"a\":}"] {
            assert!(Members::parse(text).is_err(), "{text}");
        }
    }
}
