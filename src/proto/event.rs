//! CloudEvents 1.0 (JSON format): validation and the four publish forms of
//! `docs/PROTOCOL.md` ("Publishing").
//!
//! An accepted event is stored as the text the publisher sent (the bus never changes an
//! event), with one exception the contract allows: `time` is added when absent. Validation
//! reads the attributes as unparsed [`RawValue`]s, so `data` is checked to be JSON but is
//! never rebuilt.

use super::attrs::{self, batch_items, Attrs, BatchItemsError};
use super::error::{ApiError, ErrorCode};
use super::limits::Limits;
use base64::Engine as _;
use chrono::{DateTime, SecondsFormat};
use serde_json::value::RawValue;
use serde_json::Value;
use std::borrow::Cow;

/// What the bus reads from an accepted event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventMeta {
    /// CloudEvents `id`.
    pub id: String,
    /// CloudEvents `source`.
    pub source: String,
    /// `orderingkey` (or its alias `partitionkey`), if non-empty.
    pub ordering_key: Option<String>,
    /// `deliverafter`, in ms since the epoch.
    pub deliver_at: Option<u64>,
    /// `expirytime`, in ms since the epoch: not delivered after it.
    pub expires_at: Option<u64>,
}

/// An event ready to be appended: its stored text and what the bus reads from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The CloudEvent as JSON text.
    pub text: String,
    /// Attributes the bus uses.
    pub meta: EventMeta,
}

/// Longest ordering key, in bytes.
pub const MAX_ORDERING_KEY_BYTES: usize = 1024;

/// Deepest nesting of arrays and objects accepted in event data and checkpoints: the
/// limit serde_json applies when it parses a value, so every JSON the bus accepts can be
/// parsed again by it (and by consumers) without deep recursion.
pub const MAX_JSON_DEPTH: usize = 128;

pub use super::ijson::check_json;

/// Formats ms since the epoch as RFC 3339 UTC with milliseconds.
pub fn rfc3339(ms: u64) -> String {
    DateTime::from_timestamp_millis(ms as i64)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// Parses an RFC 3339 time into ms since the epoch (times before 1970 are refused).
pub fn parse_rfc3339(text: &str) -> Option<u64> {
    let t = DateTime::parse_from_rfc3339(text).ok()?;
    u64::try_from(t.timestamp_millis()).ok()
}

fn attr_name_ok(name: &str) -> bool {
    name == "data_base64"
        || (!name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
}

fn string_attr<'a>(name: &str, raw: &'a RawValue) -> Result<Option<Cow<'a, str>>, ApiError> {
    attrs::string(raw)
        .map_err(|_| ApiError::invalid(format!("CloudEvent attribute {name:?} must be a string")))
}

/// The `time` the bus adds to events without one: formatted once per publish, however
/// many events it carries.
pub struct Stamp {
    now: u64,
    text: Option<String>,
}

impl Stamp {
    /// The time `now` (ms since the epoch), not formatted yet.
    pub fn new(now: u64) -> Self {
        Stamp { now, text: None }
    }

    fn text(&mut self) -> &str {
        let now = self.now;
        self.text.get_or_insert_with(|| rfc3339(now))
    }
}

/// Validates one structured-mode CloudEvent and returns it as it will be stored.
///
/// `now` is used only to add `time` when the event has none.
pub fn accept(text: &str, now: u64, limits: &Limits) -> Result<Accepted, ApiError> {
    accept_stamped(text, &mut Stamp::new(now), limits)
}

/// [`accept`] with the `time` to add, if needed, from `stamp`.
pub fn accept_stamped(text: &str, stamp: &mut Stamp, limits: &Limits) -> Result<Accepted, ApiError> {
    if text.len() > limits.max_event_bytes {
        return Err(too_large(text.len(), limits));
    }
    let attrs = Attrs::parse(text)
        .map_err(|e| ApiError::invalid(format!("a CloudEvent must be a JSON object: {e}")))?;
    let get = |name: &str| -> Result<Option<Cow<'_, str>>, ApiError> {
        attrs.get(name).map_or(Ok(None), |raw| string_attr(name, raw))
    };
    let required = |name: &str| -> Result<Cow<'_, str>, ApiError> {
        match get(name)? {
            Some(s) if !s.is_empty() => Ok(s),
            _ => Err(ApiError::invalid(format!("CloudEvent attribute {name:?} is required"))),
        }
    };
    if required("specversion")? != "1.0" {
        return Err(ApiError::invalid("CloudEvent specversion must be \"1.0\""));
    }
    let id = required("id")?.into_owned();
    let source = required("source")?.into_owned();
    required("type")?;
    for name in ["subject", "datacontenttype", "dataschema"] {
        if get(name)?.is_some_and(|s| s.is_empty()) {
            return Err(ApiError::invalid(format!("CloudEvent attribute {name:?} must not be empty")));
        }
    }
    let has_time = match get("time")? {
        Some(t) => {
            parse_rfc3339(&t).ok_or_else(|| ApiError::invalid("CloudEvent time must be an RFC 3339 time"))?;
            true
        }
        None => false,
    };
    // The event object is one level around its data.
    check_json(text, MAX_JSON_DEPTH + 1)?;
    if attrs.has("data") && attrs.has("data_base64") {
        return Err(ApiError::invalid("a CloudEvent has data or data_base64, not both"));
    }
    if let Some(b64) = get("data_base64")? {
        base64::engine::general_purpose::STANDARD
            .decode(b64.as_bytes())
            .map_err(|_| ApiError::invalid("data_base64 is not valid base64"))?;
    }
    for (name, raw) in &attrs.0 {
        if !attr_name_ok(name) {
            return Err(ApiError::invalid(format!(
                "CloudEvent attribute names are lower-case letters and digits, not {name:?}"
            )));
        }
        if name != "data" && matches!(raw.get().as_bytes().first(), Some(b'{' | b'[')) {
            return Err(ApiError::invalid(format!(
                "CloudEvent attribute {name:?} must not be an object or array"
            )));
        }
    }
    let ordering_key = match get("orderingkey")? {
        Some(k) => Some(k),
        None => get("partitionkey")?,
    }
    .filter(|k| !k.is_empty())
    .map(Cow::into_owned);
    check_ordering_key(ordering_key.as_deref())?;
    let deliver_at = match get("deliverafter")? {
        Some(t) => Some(
            parse_rfc3339(&t).ok_or_else(|| ApiError::invalid("deliverafter must be an RFC 3339 time"))?,
        ),
        None => None,
    };
    let text = if has_time {
        text.to_owned()
    } else {
        let body = text.trim_end();
        let open = body.strip_suffix('}').unwrap_or(body);
        let time = stamp.text();
        let mut with = String::with_capacity(open.len() + time.len() + 12);
        with.push_str(open);
        with.push_str(if attrs.is_empty() { "\"time\":\"" } else { ",\"time\":\"" });
        with.push_str(time);
        with.push_str("\"}");
        with
    };
    let expires_at = match get("expirytime")? {
        Some(t) => {
            Some(parse_rfc3339(&t).ok_or_else(|| ApiError::invalid("expirytime must be an RFC 3339 time"))?)
        }
        None => None,
    };
    Ok(Accepted { text, meta: EventMeta { id, source, ordering_key, deliver_at, expires_at } })
}

/// Checks an ordering key's length.
pub fn check_ordering_key(key: Option<&str>) -> Result<(), ApiError> {
    match key {
        Some(k) if k.len() > MAX_ORDERING_KEY_BYTES => {
            Err(ApiError::invalid(format!("orderingkey is at most {MAX_ORDERING_KEY_BYTES} bytes")))
        }
        _ => Ok(()),
    }
}

fn too_large(len: usize, limits: &Limits) -> ApiError {
    ApiError::new(
        ErrorCode::PayloadTooLarge,
        format!("event is {len} bytes; the limit is {}", limits.max_event_bytes),
    )
}

/// Validates a batch (a JSON array of CloudEvents); all or nothing.
pub fn accept_batch(text: &str, now: u64, limits: &Limits) -> Result<Vec<Accepted>, ApiError> {
    if text.len() > limits.max_batch_bytes {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("batch is {} bytes; the limit is {}", text.len(), limits.max_batch_bytes),
        ));
    }
    let items =
        batch_items(text, limits.max_batch_events).map_err(|e| batch_error(e, limits.max_batch_events))?;
    if items.is_empty() {
        return Err(ApiError::invalid("a batch needs at least one event"));
    }
    let mut stamp = Stamp::new(now);
    items
        .iter()
        .enumerate()
        .map(|(i, raw)| {
            accept_stamped(raw.get(), &mut stamp, limits)
                .map_err(|e| ApiError::new(e.code, format!("event {i}: {}", e.message)))
        })
        .collect()
}

/// The error of a batch [`batch_items`] refused (`max`: the batch limit).
pub fn batch_error(e: BatchItemsError, max: usize) -> ApiError {
    match e {
        BatchItemsError::Json(e) => {
            ApiError::invalid(format!("a batch must be a JSON array of CloudEvents: {e}"))
        }
        BatchItemsError::TooMany => ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("batch has more than {max} events; the limit is {max}"),
        ),
    }
}

/// Whether a media type (without parameters) is JSON.
pub fn is_json_media_type(media: &str) -> bool {
    media == "application/json" || media == "text/json" || media.ends_with("+json")
}

/// The media type of a `Content-Type` value, lower-cased, without parameters.
pub fn media_type(content_type: &str) -> String {
    content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

/// An event assembled from its attributes, each kept as JSON text, in order: a plain
/// JSON body goes in as `data` byte for byte (never parsed into values and written back,
/// which would reorder keys or change big numbers).
#[derive(Default)]
struct Parts(Vec<(String, String)>);

impl Parts {
    fn set(&mut self, name: &str, json: String) {
        match self.0.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = json,
            None => self.0.push((name.to_owned(), json)),
        }
    }

    fn string(&mut self, name: &str, value: &str) {
        self.set(name, Value::String(value.to_owned()).to_string());
    }

    fn text(&self) -> String {
        let fields: Vec<String> =
            self.0.iter().map(|(n, v)| format!("{}:{v}", Value::String(n.clone()))).collect();
        format!("{{{}}}", fields.join(","))
    }
}

/// Puts a body into `event` as `data` (JSON or text) or `data_base64`, per the contract.
fn put_data(event: &mut Parts, content_type: Option<&str>, body: &[u8]) -> Result<(), ApiError> {
    if let Some(ct) = content_type.filter(|c| !c.is_empty()) {
        event.string("datacontenttype", ct);
    }
    if body.is_empty() {
        return Ok(());
    }
    let media = media_type(content_type.unwrap_or(""));
    if is_json_media_type(&media) {
        let text = std::str::from_utf8(body).map_err(|_| ApiError::invalid("a JSON body must be UTF-8"))?;
        serde_json::from_str::<serde::de::IgnoredAny>(text)
            .map_err(|e| ApiError::invalid(format!("body is not valid JSON: {e}")))?;
        event.set("data", text.trim().to_owned());
    } else if let Ok(text) = std::str::from_utf8(body) {
        event.string("data", text);
    } else {
        event.string("data_base64", &base64::engine::general_purpose::STANDARD.encode(body));
    }
    Ok(())
}

/// Makes the event for a plain body (the "anything else" form and NSQ `/pub`).
pub fn from_plain(
    id: &str,
    source: &str,
    event_type: &str,
    content_type: Option<&str>,
    body: &[u8],
    now: u64,
    limits: &Limits,
) -> Result<Accepted, ApiError> {
    let mut event = Parts::default();
    event.string("specversion", "1.0");
    event.string("id", id);
    event.string("source", source);
    event.string("type", event_type);
    event.string("time", &rfc3339(now));
    put_data(&mut event, content_type, body)?;
    accept(&event.text(), now, limits)
}

/// Makes the event for a binary-mode request: `headers` are all request headers (any
/// case); `ce-*` ones become attributes (percent-decoded), the body becomes data.
pub fn from_binary<'a>(
    headers: impl IntoIterator<Item = (&'a str, &'a str)>,
    content_type: Option<&str>,
    body: &[u8],
    now: u64,
    limits: &Limits,
) -> Result<Accepted, ApiError> {
    let mut event = Parts::default();
    for (name, value) in headers {
        let name = name.to_ascii_lowercase();
        if let Some(attr) = name.strip_prefix("ce-") {
            event.string(attr, &percent_decode(value)?);
        }
    }
    put_data(&mut event, content_type, body)?;
    accept(&event.text(), now, limits)
}

fn percent_decode(value: &str) -> Result<String, ApiError> {
    percent_encoding::percent_decode_str(value)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| ApiError::invalid("a ce- header is not UTF-8 after percent-decoding"))
}

#[cfg(test)]
#[path = "event_tests.rs"]
mod tests;
