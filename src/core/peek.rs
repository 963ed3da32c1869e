//! `GET .../channels/{c}/peek`: the next messages a channel would deliver, read without
//! delivering them (nsqadmin's peek): its ready rows (given back, redrivable), then the
//! events at its cursor that it would take (not filtered out, expired or deferred).

use super::request::Answer;
use super::store::{Store, StoreResult};
use super::{Broker, Millis, Seq};
use crate::proto::id::message_id;
use serde_json::value::RawValue;

/// Most messages one peek shows.
pub const MAX_PEEK: usize = 100;

/// Most events past the channel's position one peek looks at (a filter that matches
/// nothing would otherwise read every retained event).
pub const PEEK_SCAN: u64 = 10_000;

#[derive(serde::Serialize)]
struct Page<'a> {
    messages: &'a [Peeked],
}

#[derive(serde::Serialize)]
struct Peeked {
    id: String,
    seq: Seq,
    partition: u32,
    /// Deliveries so far (0: never delivered).
    attempts: u32,
    failures: u32,
    event: Box<RawValue>,
}

impl Broker {
    /// Up to `limit` of the next messages of channel `id`, in the order they would go.
    pub(super) fn http_peek(
        &self,
        now: Millis,
        store: &dyn Store,
        id: u32,
        limit: usize,
    ) -> StoreResult<Answer> {
        let limit = limit.clamp(1, MAX_PEEK);
        let Some(c) = self.channels.get(&id) else {
            return Ok(Answer::json(200, &serde_json::json!({ "messages": [] })));
        };
        let mut next: Vec<(Seq, u32, u32)> = store
            .ready_rows(id, 0, limit)?
            .into_iter()
            .filter(|r| r.expires_at.is_none_or(|t| t > now))
            .map(|r| (r.seq, r.attempt, r.failures))
            .collect();
        let mut from = c.row.cursor;
        let end = self.head.min(c.row.cursor.saturating_add(PEEK_SCAN - 1));
        while next.len() < limit && from <= end {
            let heads = store.event_heads(from, limit)?;
            let Some(last) = heads.last().map(|h| h.seq) else { break };
            for h in heads.into_iter().filter(|h| h.seq <= end) {
                let waits = h.deliver_at.is_some_and(|t| t > now) || h.expires_at.is_some_and(|t| t <= now);
                let matches = match &c.filter {
                    Some(f) => store.event_body(h.seq)?.is_some_and(|(text, _)| {
                        super::filter::EventAttributes::from_json(&text).is_ok_and(|a| f.matches(&a))
                    }),
                    None => true,
                };
                if !waits && matches && next.len() < limit {
                    next.push((h.seq, 0, 0));
                }
            }
            from = last + 1;
        }
        let p = self.partition.index;
        let mut messages = Vec::with_capacity(next.len());
        for (seq, attempts, failures) in next {
            let Some((text, _)) = store.event_body(seq)? else { continue };
            let Ok(event) = RawValue::from_string(text) else { continue };
            messages.push(Peeked { id: message_id(p, seq), seq, partition: p, attempts, failures, event });
        }
        // Serialized as is: the events are passed on as stored, never parsed into values.
        Ok(Answer::json(200, &Page { messages: &messages }))
    }
}
