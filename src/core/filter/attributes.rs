//! The attributes of one event, as filters see them.
//!
//! Owns: reading the top-level context attributes and extensions of a stored event's
//! JSON text into CESQL values. Must not touch: `data` and `data_base64` (skipped
//! without being built), validation (the event was accepted before it was stored).

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

use super::cesql::Value;
use super::FilterError;

/// The context attributes and extensions of one CloudEvent, by name.
///
/// A JSON string is a _String_, `true`/`false` a _Boolean_, and an integer within 32
/// bits an _Integer_. Any other value (a fraction, an integer beyond 32 bits, an object
/// or an array, none of which is a CloudEvents type) is a _String_ of its JSON text, as
/// CESQL 1.0 section 3.2 asks for types it does not have. `null` is unset (the JSON
/// format's rule).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventAttributes {
    values: BTreeMap<String, Value>,
}

impl EventAttributes {
    /// Reads a structured-mode CloudEvent's JSON text.
    pub fn from_json(text: &str) -> Result<EventAttributes, FilterError> {
        let mut de = serde_json::Deserializer::from_str(text);
        let attributes =
            de.deserialize_map(AttributesVisitor).map_err(|e| FilterError::Event(e.to_string()))?;
        de.end().map_err(|e| FilterError::Event(e.to_string()))?;
        Ok(attributes)
    }

    /// Attributes from (name, value) pairs; a later pair replaces an earlier one.
    pub fn from_pairs<K, V>(pairs: impl IntoIterator<Item = (K, V)>) -> EventAttributes
    where
        K: Into<String>,
        V: Into<Value>,
    {
        EventAttributes { values: pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect() }
    }

    /// The attribute's value, if the event has it.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.get(name)
    }

    /// All attributes, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// How many attributes the event has.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the event has no attributes at all.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

impl<K: Into<String>, V: Into<Value>> FromIterator<(K, V)> for EventAttributes {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(pairs: I) -> Self {
        EventAttributes::from_pairs(pairs)
    }
}

struct AttributesVisitor;

impl<'de> Visitor<'de> for AttributesVisitor {
    type Value = EventAttributes;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a CloudEvent as a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<EventAttributes, A::Error> {
        let mut values = BTreeMap::new();
        while let Some(name) = map.next_key::<String>()? {
            if name == "data" || name == "data_base64" {
                // Scanned to find its end, never built.
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            let raw: &RawValue = map.next_value()?;
            match attribute_value(raw.get()) {
                Some(value) => values.insert(name, value),
                None => values.remove(&name),
            };
        }
        Ok(EventAttributes { values })
    }
}

/// One attribute's JSON text as a CESQL value; `None` for `null`.
fn attribute_value(json: &str) -> Option<Value> {
    Some(match json.as_bytes().first() {
        Some(b'"') => Value::String(serde_json::from_str(json).unwrap_or_else(|_| json.to_owned())),
        Some(b't') => Value::Boolean(true),
        Some(b'f') => Value::Boolean(false),
        Some(b'n') => return None,
        Some(b'-' | b'0'..=b'9') => {
            json.parse().map(Value::Integer).unwrap_or_else(|_| Value::String(json.to_owned()))
        }
        _ => Value::String(json.to_owned()),
    })
}
