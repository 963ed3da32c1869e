//! The body of a publish or a request as the topic object receives it: the bytes, what
//! the front Worker says about the sender (its event `source`, an NSQ framing), and the
//! `ordering_key` / `delay_ms` query overrides, read once for both endpoints.

use super::http::declared_over;
use super::object::Topic;
use crate::proto::event;
use crate::proto::nsq::{Framing, FRAMING_HEADER};
use crate::proto::publish::Body;
use crate::proto::{ApiError, ErrorCode, TopicName};
use worker::{Request, Result};

/// Header the front Worker sets: the `source` for events the bus makes.
pub const SOURCE_HEADER: &str = "x-ismld-source";

/// A publish or request body as received, before it is read into events.
pub struct Received {
    bytes: Vec<u8>,
    headers: Vec<(String, String)>,
    content_type: Option<String>,
    source: String,
    nsq: Option<Framing>,
    /// `ordering_key` query parameter (overrides the extension).
    pub ordering_key: Option<String>,
    /// `delay_ms` query parameter (overrides `deliverafter`).
    pub delay_ms: Option<u64>,
}

impl Received {
    /// Reads the query overrides, then the body (refusing one declared over the batch
    /// limit before reading it) and what the front Worker says about its sender.
    pub async fn read(obj: &Topic, req: &mut Request) -> Result<std::result::Result<Received, ApiError>> {
        let (ordering_key, delay_ms) = match overrides(req) {
            Ok(o) => o,
            Err(e) => {
                super::http::discard_body(req).await;
                return Ok(Err(e));
            }
        };
        let limit = obj.with(|i| Ok(i.limits.max_batch_bytes))?;
        if declared_over(req, limit)? {
            return Ok(Err(ApiError::new(ErrorCode::PayloadTooLarge, format!("body is over {limit} bytes"))));
        }
        Ok(Ok(Received {
            bytes: req.bytes().await?,
            headers: req.headers().entries().collect(),
            content_type: req.headers().get("content-type")?,
            source: req.headers().get(SOURCE_HEADER)?.unwrap_or_else(|| "/anonymous".into()),
            nsq: req.headers().get(FRAMING_HEADER)?.as_deref().and_then(Framing::parse),
            ordering_key,
            delay_ms,
        }))
    }

    /// The body for [`crate::proto::publish::read`].
    pub fn body<'a>(&'a self, topic: &'a TopicName) -> Body<'a> {
        Body {
            content_type: self.content_type.as_deref(),
            headers: &self.headers,
            bytes: &self.bytes,
            source: &self.source,
            topic: topic.as_str(),
            nsq: self.nsq,
        }
    }
}

/// The `ordering_key` and `delay_ms` query parameters.
fn overrides(req: &Request) -> std::result::Result<(Option<String>, Option<u64>), ApiError> {
    let (mut ordering_key, mut delay_ms) = (None, None);
    for (k, v) in super::http::query(req) {
        match k.as_str() {
            "ordering_key" => {
                event::check_ordering_key(Some(&v))?;
                ordering_key = Some(v).filter(|k| !k.is_empty());
            }
            "delay_ms" => {
                delay_ms =
                    Some(v.parse().map_err(|_| ApiError::invalid("delay_ms must be a whole number of ms"))?);
            }
            _ => {}
        }
    }
    Ok((ordering_key, delay_ms))
}
