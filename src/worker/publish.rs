//! Reading a publish request in any of the contract's four body forms (PROTOCOL.md
//! section 3, "Publish") into accepted events.

use crate::core::Seq;
use crate::proto::event::{self, media_type, Accepted};
use crate::proto::id::message_id;
use crate::proto::{ApiError, ErrorCode, Limits};

/// Structured event.
pub const STRUCTURED: &str = "application/cloudevents+json";
/// Batch of structured events.
pub const BATCH: &str = "application/cloudevents-batch+json";

/// A publish body, as received.
pub struct Body<'a> {
    /// `Content-Type`, if any.
    pub content_type: Option<&'a str>,
    /// All request headers (for binary mode).
    pub headers: &'a [(String, String)],
    /// The raw body.
    pub bytes: &'a [u8],
    /// `/clients/{login}` or `/anonymous`: the source of events the bus makes.
    pub source: &'a str,
    /// Topic name: the type of events the bus makes.
    pub topic: &'a str,
}

/// Reads the events of a publish. `next_seq` names a made event's id; `single` refuses
/// batches (request-response takes one event).
pub fn read(
    body: &Body<'_>,
    next_seq: Seq,
    now: u64,
    limits: &Limits,
    single: bool,
) -> Result<Vec<Accepted>, ApiError> {
    let media = media_type(body.content_type.unwrap_or(""));
    let text = || {
        std::str::from_utf8(body.bytes)
            .map_err(|_| ApiError::invalid("a CloudEvents JSON body must be UTF-8"))
    };
    match media.as_str() {
        STRUCTURED => Ok(vec![event::accept(text()?, now, limits)?]),
        BATCH if !single => event::accept_batch(text()?, now, limits),
        m if m.starts_with("application/cloudevents") => Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            format!("{m} is not accepted here; send {STRUCTURED}, {BATCH} (publish only), binary mode (ce-* headers) or a plain body"),
        )),
        _ if body.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("ce-specversion")) => {
            let headers = body.headers.iter().map(|(k, v)| (k.as_str(), v.as_str()));
            Ok(vec![event::from_binary(headers, body.content_type, body.bytes, now, limits)?])
        }
        _ => {
            if body.bytes.len() > limits.max_event_bytes {
                return Err(ApiError::new(
                    ErrorCode::PayloadTooLarge,
                    format!("event is {} bytes; the limit is {}", body.bytes.len(), limits.max_event_bytes),
                ));
            }
            let id = message_id(next_seq);
            Ok(vec![event::from_plain(&id, body.source, body.topic, body.content_type, body.bytes, now, limits)?])
        }
    }
}

/// Whether a request's content type is the batch form.
pub fn is_batch(content_type: Option<&str>) -> bool {
    media_type(content_type.unwrap_or("")) == BATCH
}
