//! Partitioned topics (`docs/PROTOCOL.md`, "Partitioned topics"): which partition an
//! event goes to, and the names of the partitions' objects. The rule is public so that
//! any client can route by itself: an event with an ordering key goes to
//! `fnv1a32(utf8(key)) mod N`; one without a key to `fnv1a32(utf8(source + "\n" + id))
//! mod N` when the publisher gave its `id`; any partition otherwise. `?partition=P`
//! overrides.

use super::{ApiError, ErrorCode};
use serde::de::IgnoredAny;
use serde::Deserialize;

/// Most partitions a topic may have.
pub const MAX_PARTITIONS: u32 = 64;

/// FNV-1a, 32 bits (offset basis 2166136261, prime 16777619).
pub fn fnv1a32(bytes: &[u8]) -> u32 {
    bytes.iter().fold(2_166_136_261u32, |h, &b| (h ^ u32::from(b)).wrapping_mul(16_777_619))
}

/// The partition of an event: by ordering key, else by source and id (when the publisher
/// gave the id), else none (any partition will do).
pub fn route(key: Option<&str>, source: &str, id: Option<&str>, partitions: u32) -> Option<u32> {
    if partitions <= 1 {
        return Some(0);
    }
    let h = match (key.filter(|k| !k.is_empty()), id) {
        (Some(k), _) => fnv1a32(k.as_bytes()),
        (None, Some(id)) => fnv1a32(format!("{source}\n{id}").as_bytes()),
        (None, None) => return None,
    };
    Some(h % partitions)
}

/// The name of a partition's Durable Object: the topic's own name for partition 0 (so a
/// topic made implicitly is partition 0 of itself), `{topic}@{p}` for the others (`@` is
/// never part of a name).
pub fn object_name(topic: &str, partition: u32) -> String {
    if partition == 0 {
        topic.to_owned()
    } else {
        format!("{topic}@{partition}")
    }
}

/// What routing reads of a structured CloudEvent: its top-level attributes, never its
/// data (which is skipped unparsed).
#[derive(Debug, Default, Deserialize)]
pub struct RouteAttrs {
    /// `id`.
    #[serde(default)]
    pub id: Option<String>,
    /// `source`.
    #[serde(default)]
    pub source: Option<String>,
    /// `orderingkey`.
    #[serde(default)]
    pub orderingkey: Option<String>,
    /// `partitionkey` (the alias).
    #[serde(default)]
    pub partitionkey: Option<String>,
    #[serde(default, rename = "data")]
    _data: Option<IgnoredAny>,
}

impl RouteAttrs {
    /// The partition of this event.
    pub fn partition(&self, key_override: Option<&str>, partitions: u32) -> Option<u32> {
        let key = key_override.or(self.orderingkey.as_deref()).or(self.partitionkey.as_deref());
        route(key, self.source.as_deref().unwrap_or(""), self.id.as_deref(), partitions)
    }
}

/// The routing attributes of a structured event.
pub fn attrs_of_event(text: &[u8]) -> Result<RouteAttrs, ApiError> {
    crate::proto::from_json_bytes(text)
        .map_err(|e| ApiError::invalid(format!("a CloudEvent must be a JSON object: {e}")))
}

/// The routing attributes of each event of a batch, with each event's JSON text; refused
/// past `max` events before anything is built for each.
pub fn attrs_of_batch(
    text: &[u8],
    max: usize,
) -> Result<Vec<(RouteAttrs, &serde_json::value::RawValue)>, ApiError> {
    let text = std::str::from_utf8(text).map_err(|_| ApiError::invalid("a batch must be UTF-8 JSON"))?;
    let items = super::attrs::batch_items(text, max).map_err(|e| super::event::batch_error(e, max))?;
    items
        .into_iter()
        .enumerate()
        .map(|(i, raw)| {
            let a = attrs_of_event(raw.get().as_bytes())
                .map_err(|e| ApiError::new(e.code, format!("event {i}: {}", e.message)))?;
            Ok((a, raw))
        })
        .collect()
}

/// Where a publish body goes on a topic of `n` partitions.
#[derive(Debug)]
pub enum Split<'a> {
    /// The whole body to one partition (`None`: any will do).
    One(Option<u32>),
    /// A batch: each event's partition (`None`: any) and its JSON text.
    Batch(Vec<(Option<u32>, &'a serde_json::value::RawValue)>),
}

/// Routes a publish body (any of the contract's forms) from what routing needs only:
/// the `ce-id`, `ce-source` and `ce-orderingkey` headers of binary mode, or the top-level
/// attributes of structured events (their data is skipped, never decoded). `key` is the
/// `ordering_key` query parameter. A body that does not parse, or a batch of more than
/// `max_batch` events, goes whole to one partition, which refuses it with the usual error.
pub fn split<'a>(
    content_type: Option<&str>,
    headers: &[(String, String)],
    body: &'a [u8],
    key: Option<&str>,
    n: u32,
    max_batch: usize,
) -> Split<'a> {
    let media = super::event::media_type(content_type.unwrap_or(""));
    match media.as_str() {
        super::publish::STRUCTURED => Split::One(attrs_of_event(body).ok().and_then(|a| a.partition(key, n))),
        super::publish::BATCH => match attrs_of_batch(body, max_batch) {
            Ok(items) => Split::Batch(items.into_iter().map(|(a, raw)| (a.partition(key, n), raw)).collect()),
            Err(_) => Split::One(None),
        },
        _ => {
            let header = |name: &str| {
                headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| percent_encoding::percent_decode_str(v).decode_utf8_lossy().into_owned())
            };
            if header("ce-specversion").is_none() {
                // A plain body: the bus makes its id, so only a key routes it.
                return Split::One(route(key, "", None, n));
            }
            let key = key
                .map(str::to_owned)
                .or_else(|| header("ce-orderingkey"))
                .or_else(|| header("ce-partitionkey"));
            let source = header("ce-source").unwrap_or_default();
            Split::One(route(key.as_deref(), &source, header("ce-id").as_deref(), n))
        }
    }
}

/// Checks a partition count for `PUT /v1/topics/{topic}`.
pub fn check_count(n: u64) -> Result<u32, ApiError> {
    if (1..=u64::from(MAX_PARTITIONS)).contains(&n) {
        Ok(n as u32)
    } else {
        Err(ApiError::new(
            ErrorCode::InvalidRequest,
            format!("partitions must be 1..={MAX_PARTITIONS}, got {n}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a32_matches_the_reference_values() {
        // Test vectors of the FNV reference implementation.
        assert_eq!(fnv1a32(b""), 0x811c_9dc5);
        assert_eq!(fnv1a32(b"a"), 0xe40c_292c);
        assert_eq!(fnv1a32(b"foobar"), 0xbf9c_f968);
    }

    #[test]
    fn routes_by_key_then_source_and_id() {
        assert_eq!(route(Some("user-1"), "/s", Some("x"), 4), Some(fnv1a32(b"user-1") % 4));
        assert_eq!(route(None, "/s", Some("x"), 4), Some(fnv1a32(b"/s\nx") % 4));
        assert_eq!(route(None, "/s", None, 4), None);
        assert_eq!(route(Some(""), "/s", None, 4), None, "an empty key is no key");
        assert_eq!(route(None, "/s", None, 1), Some(0));
        assert_eq!(object_name("orders", 0), "orders");
        assert_eq!(object_name("orders", 3), "orders@3");
    }

    #[test]
    fn splits_every_body_form() {
        let h = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
        };
        let binary = h(&[("CE-SpecVersion", "1.0"), ("ce-id", "x"), ("ce-source", "%2Fs")]);
        assert!(
            matches!(split(None, &binary, b"data", None, 4, 1_000), Split::One(Some(p)) if p == fnv1a32(b"/s\nx") % 4)
        );
        let keyed = h(&[("ce-specversion", "1.0"), ("ce-id", "x"), ("ce-orderingkey", "k")]);
        assert!(
            matches!(split(None, &keyed, b"", None, 4, 1_000), Split::One(Some(p)) if p == fnv1a32(b"k") % 4)
        );
        assert!(matches!(split(Some("text/plain"), &[], b"hi", None, 4, 1_000), Split::One(None)));
        assert!(matches!(split(Some("text/plain"), &[], b"hi", Some("k"), 4, 1_000), Split::One(Some(_))));
        let one = br#"{"id":"1","source":"/s","data":1}"#;
        assert!(matches!(split(Some(STRUCTURED_CT), &[], one, None, 4, 1_000), Split::One(Some(_))));
        assert!(matches!(split(Some(STRUCTURED_CT), &[], b"{", None, 4, 1_000), Split::One(None)));
        let batch = br#"[{"id":"1","source":"/s"},{"source":"/s"}]"#;
        match split(Some("application/cloudevents-batch+json; charset=utf-8"), &[], batch, None, 4, 1_000) {
            Split::Batch(items) => {
                assert_eq!(items.iter().map(|(p, _)| p.is_some()).collect::<Vec<_>>(), [true, false])
            }
            other => panic!("{other:?}"),
        }
    }

    const STRUCTURED_CT: &str = "application/cloudevents+json";

    #[test]
    fn reads_only_the_top_level_attributes() {
        let a =
            attrs_of_event(br#"{"id":"1","source":"/s","partitionkey":"k","data":{"deep":[1,2,{"x":1}]}}"#)
                .unwrap();
        assert_eq!(a.partition(None, 8), Some(fnv1a32(b"k") % 8));
        assert_eq!(a.partition(Some("o"), 8), Some(fnv1a32(b"o") % 8), "the query parameter wins");
        assert_eq!(
            attrs_of_batch(br#"[{"id":"1","source":"/s"},{"id":"2","source":"/s"}]"#, 1_000).unwrap().len(),
            2
        );
        assert!(attrs_of_batch(b"[1]", 1_000).is_err());
        assert_eq!(check_count(65).unwrap_err().code, ErrorCode::InvalidRequest);
    }
}
