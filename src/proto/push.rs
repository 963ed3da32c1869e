//! Push channels (`docs/PROTOCOL.md`, "Push channels"): their settings, the HTTP request
//! of a delivery (CloudEvents HTTP binary mode, signed as Standard Webhooks define) and
//! what the receiver's answer means. Pure: the topic object sends the request and reports
//! back.

use super::ApiError;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Longest wait between retries, and the longest `retry_ms`.
pub const MAX_RETRY_MS: u64 = 600_000;
/// Longest `timeout_ms`.
pub const MAX_TIMEOUT_MS: u64 = 120_000;
/// Prefix of a Standard Webhooks secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// `"push"` of `PUT .../channels/{c}` as sent, and as stored once checked (every field
/// set, `secret` made if none was given).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushConfig {
    /// Where deliveries are POSTed (`http://` or `https://`).
    pub url: String,
    /// Extra request headers (e.g. the receiver's own credentials).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Concurrent deliveries, 1..=100 (default 10).
    #[serde(default)]
    pub max_in_flight: Option<u32>,
    /// How long a delivery may take, default 30,000 ms.
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// Failures after which a message is dead (default 0 = never).
    #[serde(default)]
    pub max_attempts: Option<u32>,
    /// First retry delay (default 1,000 ms), doubling up to 600,000.
    #[serde(default)]
    pub retry_ms: Option<u64>,
    /// The signing secret, `whsec_` + base64 (made by the bus when not given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// Request headers a push configuration may not set: the bus sets them.
fn reserved(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.starts_with("ce-")
        || n.starts_with("webhook-")
        || n.starts_with("ismld-")
        || matches!(
            n.as_str(),
            "content-type" | "content-length" | "host" | "transfer-encoding" | "connection"
        )
}

impl PushConfig {
    /// Checks the settings and applies the defaults; `entropy` makes the secret when the
    /// caller gave none.
    pub fn checked(mut self, entropy: &[u8; 16]) -> Result<PushConfig, ApiError> {
        use super::frame::in_range;
        let url = self.url.trim();
        let scheme_ok = url.starts_with("http://") || url.starts_with("https://");
        if !scheme_ok || url.len() > 2048 || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ApiError::invalid(
                "push.url must be an http:// or https:// URL (at most 2,048 characters)",
            ));
        }
        self.url = url.to_owned();
        if self.headers.len() > 32 {
            return Err(ApiError::invalid("push.headers takes at most 32 headers"));
        }
        for (k, v) in &self.headers {
            let token = !k.is_empty()
                && k.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
            if !token || v.len() > 4096 || v.chars().any(|c| c == '\r' || c == '\n' || c == '\0') {
                return Err(ApiError::invalid(format!("push.headers: {k:?} is not a valid header")));
            }
            if reserved(k) {
                return Err(ApiError::invalid(format!("push.headers: {k} is set by the bus")));
            }
        }
        self.max_in_flight =
            Some(in_range("push.max_in_flight", self.max_in_flight.unwrap_or(10).into(), 1, 100)? as u32);
        self.timeout_ms =
            Some(in_range("push.timeout_ms", self.timeout_ms.unwrap_or(30_000), 1_000, MAX_TIMEOUT_MS)?);
        self.max_attempts = Some(self.max_attempts.unwrap_or(0));
        self.retry_ms = Some(in_range("push.retry_ms", self.retry_ms.unwrap_or(1_000), 1, MAX_RETRY_MS)?);
        match &self.secret {
            Some(s) => {
                let key = s.strip_prefix(SECRET_PREFIX).and_then(|k| B64.decode(k).ok());
                if key.is_none_or(|k| !(16..=64).contains(&k.len())) {
                    return Err(ApiError::invalid(
                        "push.secret must be whsec_ and the base64 of 16 to 64 bytes",
                    ));
                }
            }
            None => self.secret = Some(new_secret(entropy)),
        }
        Ok(self)
    }

    /// The settings as stats show them: no secret, header values hidden.
    pub fn view(&self) -> PushConfig {
        PushConfig {
            secret: None,
            headers: self.headers.keys().map(|k| (k.clone(), "(hidden)".to_owned())).collect(),
            ..self.clone()
        }
    }

    /// Whether two configurations are the same channel (the secret aside, when `other`
    /// gives none).
    pub fn same_as(&self, other: &PushConfig) -> bool {
        let mut a = self.clone();
        let mut b = other.clone();
        if b.secret.is_none() {
            a.secret = None;
            b.secret = None;
        }
        a == b
    }

    /// The delay before retry number `failures` (1 for the first): `retry_ms` doubling,
    /// at most 600,000 ms.
    pub fn retry_delay(&self, failures: u32) -> u64 {
        let base = self.retry_ms.unwrap_or(1_000);
        let doubled = base.saturating_mul(1u64 << failures.saturating_sub(1).min(30));
        doubled.min(MAX_RETRY_MS)
    }
}

/// A channel-creating body with `push.secret` set to `secret` (how the front Worker gives
/// every partition of a topic the secret its partition 0 made). Other bodies unchanged.
pub fn with_secret(body: &[u8], secret: &str) -> Vec<u8> {
    let Ok(mut v) = crate::proto::from_json_bytes::<serde_json::Value>(body) else { return body.to_vec() };
    match v.get_mut("push").and_then(serde_json::Value::as_object_mut) {
        Some(p) => {
            p.insert("secret".into(), secret.into());
            v.to_string().into_bytes()
        }
        None => body.to_vec(),
    }
}

/// A fresh secret: 32 bytes derived from the driver's 16 random ones.
pub fn new_secret(entropy: &[u8; 16]) -> String {
    let mut h = Sha256::new();
    h.update(b"ismld push secret");
    h.update(entropy);
    format!("{SECRET_PREFIX}{}", B64.encode(h.finalize()))
}

/// `webhook-signature`: `v1,` and the base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`
/// keyed with the secret's base64 part.
pub fn signature(secret: &str, id: &str, timestamp_s: u64, body: &[u8]) -> Option<String> {
    let key = B64.decode(secret.strip_prefix(SECRET_PREFIX)?).ok()?;
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).ok()?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp_s.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Some(format!("v1,{}", B64.encode(mac.finalize().into_bytes())))
}

/// One delivery's request, built from the stored event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushRequest {
    /// Headers, in order.
    pub headers: Vec<(String, String)>,
    /// The body: the event's data.
    pub body: Vec<u8>,
}

/// What the delivery of message `id` (attempt `attempt`, `seq` in `partition`) sends:
/// the event in CloudEvents HTTP binary mode (`ce-*` headers, the data as the body with
/// its content type), the Standard Webhooks headers and the bus's own.
pub fn request(
    config: &PushConfig,
    event: &str,
    id: &str,
    seq: u64,
    partition: u32,
    attempt: u32,
    now_ms: u64,
) -> Result<PushRequest, String> {
    let attrs: BTreeMap<String, &RawValue> =
        serde_json::from_str(event).map_err(|e| format!("stored event is not an object: {e}"))?;
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut content_type: Option<String> = None;
    let mut body: Vec<u8> = Vec::new();
    let mut data: Option<&RawValue> = None;
    for (name, raw) in &attrs {
        match name.as_str() {
            "data" => data = Some(*raw),
            "data_base64" => {
                let text: String = serde_json::from_str(raw.get()).unwrap_or_default();
                body = B64.decode(text.trim()).map_err(|_| "data_base64 is not base64".to_owned())?;
            }
            "datacontenttype" => content_type = serde_json::from_str(raw.get()).ok(),
            _ => {
                let value = match serde_json::from_str::<serde_json::Value>(raw.get()) {
                    Ok(serde_json::Value::String(s)) => s,
                    Ok(serde_json::Value::Null) => continue,
                    Ok(v) => v.to_string(),
                    Err(_) => continue,
                };
                headers.push((format!("ce-{name}"), encode_header(&value)));
            }
        }
    }
    // The JSON event format's `data` in binary mode: its JSON text when the content type
    // is JSON (or absent, which means JSON), a string's characters otherwise.
    let json = content_type.as_deref().is_none_or(is_json);
    if let Some(raw) = data {
        body = data_bytes(raw, json);
    }
    let ct = content_type.or_else(|| data.is_some().then(|| "application/json".to_owned()));
    if let Some(ct) = ct {
        headers.push(("content-type".into(), ct));
    }
    let webhook_id = webhook_id(id, attempt);
    let secret = config.secret.as_deref().unwrap_or_default();
    let stamp = signed(secret, &webhook_id, now_ms, &body).ok_or_else(|| "bad push secret".to_owned())?;
    headers.push(("webhook-id".into(), webhook_id));
    headers.extend(stamp);
    headers.push(("ismld-attempt".into(), attempt.to_string()));
    headers.push(("ismld-seq".into(), seq.to_string()));
    headers.push(("ismld-partition".into(), partition.to_string()));
    for (k, v) in &config.headers {
        headers.push((k.clone(), v.clone()));
    }
    Ok(PushRequest { headers, body })
}

/// The body of `data`: its JSON text as is for a JSON content type, else a string's
/// characters (unquoted; any other value as its JSON text).
fn data_bytes(raw: &RawValue, json: bool) -> Vec<u8> {
    match serde_json::from_str::<String>(raw.get()) {
        Ok(s) if !json && raw.get().starts_with('"') => s.into_bytes(),
        _ => raw.get().as_bytes().to_vec(),
    }
}

/// A JSON media type, parameters aside (as a published body's content type is judged).
fn is_json(content_type: &str) -> bool {
    super::event::is_json_media_type(&super::event::media_type(content_type))
}

/// The `webhook-id` of attempt `attempt` of message `id`.
pub fn webhook_id(id: &str, attempt: u32) -> String {
    format!("{id}-{attempt}")
}

/// `webhook-timestamp` and `webhook-signature` of a request sent at `now_ms`.
pub fn signed(secret: &str, webhook_id: &str, now_ms: u64, body: &[u8]) -> Option<[(String, String); 2]> {
    let ts = now_ms / 1000;
    let sig = signature(secret, webhook_id, ts, body)?;
    Some([("webhook-timestamp".into(), ts.to_string()), ("webhook-signature".into(), sig)])
}

/// A `ce-*` header value: percent-encoded where the CloudEvents HTTP binding says
/// (space, `"`, `%` and anything outside printable ASCII).
fn encode_header(value: &str) -> String {
    const SET: &percent_encoding::AsciiSet =
        &percent_encoding::CONTROLS.add(b' ').add(b'"').add(b'%').add(0x7f);
    percent_encoding::utf8_percent_encode(value, SET).to_string()
}

/// What a receiver's answer means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushOutcome {
    /// `2xx`: finished.
    Done,
    /// `429` or `503` with `Retry-After`: again after this many ms, not a failure.
    RetryAfter(u64),
    /// `410`: the receiver is gone; the channel pauses.
    Gone,
    /// Anything else, a timeout or a network error: a failure, with what happened.
    Failed(String),
}

/// Reads a receiver's answer (`status` none: the request failed with `error`).
pub fn outcome(
    status: Option<u16>,
    retry_after: Option<&str>,
    error: Option<&str>,
    now_ms: u64,
) -> PushOutcome {
    match status {
        Some(s) if (200..300).contains(&s) => PushOutcome::Done,
        Some(410) => PushOutcome::Gone,
        Some(s @ (429 | 503)) => match retry_after.and_then(|r| retry_after_ms(r, now_ms)) {
            Some(ms) => PushOutcome::RetryAfter(ms.min(MAX_RETRY_MS)),
            None => PushOutcome::Failed(format!("HTTP {s}")),
        },
        Some(s) => PushOutcome::Failed(format!("HTTP {s}")),
        None => PushOutcome::Failed(error.unwrap_or("request failed").to_owned()),
    }
}

/// `Retry-After`: seconds, or an HTTP date.
fn retry_after_ms(value: &str, now_ms: u64) -> Option<u64> {
    let v = value.trim();
    if let Ok(s) = v.parse::<u64>() {
        return Some(s.saturating_mul(1000));
    }
    let t = chrono::DateTime::parse_from_rfc2822(v).ok()?.timestamp_millis();
    Some(u64::try_from(t).ok()?.saturating_sub(now_ms))
}

#[cfg(test)]
#[path = "push_tests.rs"]
mod tests;
