//! Reading a publish request in any of the contract's four body forms (`docs/PROTOCOL.md`,
//! "Publishing") into accepted events.

use super::event::{self, media_type, Accepted};
use super::nsq::{self, Framing};
use super::{ApiError, ErrorCode, Limits};

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
    /// An NSQ `/pub` or `/mpub` body: each message becomes a plain event.
    pub nsq: Option<Framing>,
}

/// Reads the events of a publish. `make_id(i)` names the `i`-th event the bus makes
/// (random ids, from the driver's entropy); `single` refuses batches (request-response
/// takes one event).
pub fn read(
    body: &Body<'_>,
    make_id: impl Fn(usize) -> String,
    now: u64,
    limits: &Limits,
    single: bool,
) -> Result<Vec<Accepted>, ApiError> {
    if let Some(framing) = body.nsq {
        let messages = nsq::split(framing, body.bytes, limits).map_err(|e| e.error)?;
        if single && messages.len() != 1 {
            return Err(ApiError::invalid("a request takes exactly one message"));
        }
        return messages
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let ct = nsq::message_type(body.content_type, m);
                event::from_plain(&make_id(i), body.source, body.topic, ct, m, now, limits)
            })
            .collect();
    }
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
            let id = make_id(0);
            Ok(vec![event::from_plain(&id, body.source, body.topic, body.content_type, body.bytes, now, limits)?])
        }
    }
}

/// Whether a request's content type is the batch form.
pub fn is_batch(content_type: Option<&str>) -> bool {
    media_type(content_type.unwrap_or("")) == BATCH
}

impl Body<'_> {
    /// Whether this publish is answered as a batch (the batch form, or an NSQ `/mpub`).
    pub fn is_batch(&self) -> bool {
        matches!(self.nsq, Some(Framing::Lines | Framing::Binary)) || is_batch(self.content_type)
    }
}

/// One event of a publish, once checked and deduplicated.
#[derive(Debug)]
pub struct Planned {
    /// Its seq: the next free one, or the original's for a duplicate.
    pub seq: u64,
    /// Whether (source, id) was accepted before, within the dedup window.
    pub duplicate: bool,
    /// The event to append (none for a duplicate).
    pub event: Option<Accepted>,
    /// Deliver from this time on (`delay_ms` wins over `deliverafter`).
    pub deliver_at: Option<u64>,
    /// Ordering key (the query parameter wins over the extension).
    pub key: Option<String>,
}

/// Checks a publish's delays and ordering key against the limits, before anything is
/// read or written (the dedup window included): a refused publish changes nothing.
pub fn check(
    events: &[Accepted],
    now: u64,
    limits: &Limits,
    ordering_key: Option<&str>,
    delay_ms: Option<u64>,
) -> Result<(), ApiError> {
    if delay_ms.is_some_and(|d| d > limits.max_delay_ms) {
        return Err(ApiError::invalid(format!("delay_ms must be at most {}", limits.max_delay_ms)));
    }
    event::check_ordering_key(ordering_key)?;
    let limit = now.saturating_add(limits.max_delay_ms);
    if events.iter().filter_map(|e| deliver_at(e, now, delay_ms)).any(|t| t > limit) {
        return Err(ApiError::invalid(format!(
            "events may be deferred by at most {} ms",
            limits.max_delay_ms
        )));
    }
    Ok(())
}

/// When an event is to be delivered: `delay_ms` from now, else its `deliverafter`.
fn deliver_at(e: &Accepted, now: u64, delay_ms: Option<u64>) -> Option<u64> {
    delay_ms.map(|d| now.saturating_add(d)).or(e.meta.deliver_at)
}

/// Plans an append after `head` of events that passed [`check`]: finds duplicates,
/// earlier in the topic (`earlier[i]`: the seq of event `i`'s pair within the dedup
/// window) or earlier in the same batch, and gives the others their seqs.
pub fn plan(
    events: Vec<Accepted>,
    head: u64,
    now: u64,
    ordering_key: Option<&str>,
    delay_ms: Option<u64>,
    earlier: &[Option<u64>],
) -> Vec<Planned> {
    // The original of each duplicate: earlier in the topic, or earlier in this batch.
    let mut originals = Vec::with_capacity(events.len());
    {
        let mut seen: std::collections::HashMap<(&str, &str), u64> =
            std::collections::HashMap::with_capacity(events.len());
        let mut next = head + 1;
        for (i, e) in events.iter().enumerate() {
            let pair = (e.meta.source.as_str(), e.meta.id.as_str());
            let original = seen.get(&pair).copied().or(earlier.get(i).copied().flatten());
            if original.is_none() {
                seen.insert(pair, next);
                next += 1;
            }
            originals.push(original);
        }
    }
    let mut out = Vec::with_capacity(events.len());
    let mut next = head + 1;
    for (e, original) in events.into_iter().zip(originals) {
        out.push(match original {
            Some(seq) => Planned { seq, duplicate: true, event: None, deliver_at: None, key: None },
            None => {
                next += 1;
                Planned {
                    seq: next - 1,
                    duplicate: false,
                    deliver_at: deliver_at(&e, now, delay_ms),
                    key: ordering_key.map(str::to_owned).or(e.meta.ordering_key.clone()),
                    event: Some(e),
                }
            }
        });
    }
    out
}
