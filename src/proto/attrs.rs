//! The attributes of a structured CloudEvent as sent: each name with its value as
//! unparsed JSON ([`RawValue`]), names borrowed from the text when they have no escapes.
//! Validating an event reads a dozen attributes; a list scanned from the end (the last of
//! a repeated name wins, as in a map) costs far less than building a hash map of owned
//! names, and values are parsed only when read.

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

/// An event's attributes, in the order sent.
#[derive(Debug, Default)]
pub struct Attrs<'a>(pub Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'a> Attrs<'a> {
    /// Parses a JSON object.
    pub fn parse(text: &'a str) -> serde_json::Result<Attrs<'a>> {
        serde_json::from_str(text)
    }

    /// The raw value of `name` (the last one, if repeated).
    pub fn get(&self, name: &str) -> Option<&'a RawValue> {
        self.0.iter().rev().find(|(n, _)| n == name).map(|(_, v)| *v)
    }

    /// Whether `name` is present.
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Whether the object has no attribute.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Attrs<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Object<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for Object<'a> {
            type Value = Attrs<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut m: M) -> Result<Attrs<'a>, M::Error> {
                let mut attrs = Vec::with_capacity(m.size_hint().unwrap_or(8).min(64));
                while let Some(Name(name)) = m.next_key()? {
                    attrs.push((name, m.next_value()?));
                }
                Ok(Attrs(attrs))
            }
        }
        d.deserialize_map(Object(PhantomData))
    }
}

/// An attribute name, borrowed unless it has escapes (serde's `borrow` on a `Cow`).
#[derive(serde::Deserialize)]
struct Name<'a>(#[serde(borrow)] Cow<'a, str>);

/// An attribute that should be a string is another JSON value.
#[derive(Debug)]
pub struct NotAString;

/// A string attribute's value: `None` for `null`, borrowed unless it has escapes.
pub fn string<'a>(raw: &'a RawValue) -> Result<Option<Cow<'a, str>>, NotAString> {
    let text = raw.get();
    if text == "null" {
        return Ok(None);
    }
    if let Ok(s) = serde_json::from_str::<&'a str>(text) {
        return Ok(Some(Cow::Borrowed(s)));
    }
    serde_json::from_str::<String>(text).map(|s| Some(Cow::Owned(s))).map_err(|_| NotAString)
}

/// Why [`batch_items`] refused a batch.
#[derive(Debug)]
pub enum BatchItemsError {
    /// Not a JSON array.
    Json(serde_json::Error),
    /// More items than allowed (not counted further).
    TooMany,
}

/// The items of a JSON array as unparsed JSON, if there are at most `max`: parsing stops
/// at the first item past it, so an array of millions of tiny items costs no more memory
/// than `max` of them.
pub fn batch_items(text: &str, max: usize) -> Result<Vec<&RawValue>, BatchItemsError> {
    struct Items<'c> {
        max: usize,
        over: &'c std::cell::Cell<bool>,
    }
    impl<'de, 'c> Visitor<'de> for Items<'c> {
        type Value = Vec<&'de RawValue>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON array")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut s: A) -> Result<Self::Value, A::Error> {
            let mut items = Vec::with_capacity(s.size_hint().unwrap_or(16).min(self.max));
            while let Some(item) = s.next_element::<&RawValue>()? {
                if items.len() == self.max {
                    self.over.set(true);
                    return Err(serde::de::Error::custom("too many items"));
                }
                items.push(item);
            }
            Ok(items)
        }
    }
    let over = std::cell::Cell::new(false);
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed =
        (&mut de).deserialize_seq(Items { max, over: &over }).and_then(|items| de.end().map(|()| items));
    match parsed {
        _ if over.get() => Err(BatchItemsError::TooMany),
        Ok(items) => Ok(items),
        Err(e) => Err(BatchItemsError::Json(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_items_stops_at_the_first_item_past_the_limit() {
        assert_eq!(batch_items("[1, {\"a\":[2]}, \"x\"]", 3).map(|v| v.len()).ok(), Some(3));
        let huge = format!("[{}{{}}]", "{},".repeat(100_000));
        assert!(matches!(batch_items(&huge, 1_000), Err(BatchItemsError::TooMany)));
        assert!(matches!(batch_items("[1, 2", 10), Err(BatchItemsError::Json(_))));
        assert!(matches!(batch_items("[1] x", 10), Err(BatchItemsError::Json(_))));
        assert!(matches!(batch_items("{}", 10), Err(BatchItemsError::Json(_))));
        assert_eq!(batch_items("[]", 0).map(|v| v.len()).ok(), Some(0));
    }
}
