//! Appending events: reserved sources, idempotent publish (the dedup window), the
//! topic's event limit, the event rows, then delivery to every channel. All or
//! nothing: every check happens before the first write, and the driver's transaction
//! covers the writes.

use super::broker::Broker;
use super::dedup::{pair_hash, Dedup};
use super::output::LogLevel;
use super::store::{EventHead, EventRow, Store, StoreResult};
use super::{Millis, Seq, EPHEMERAL_BACKLOG, MAX_TIME_MS};
use crate::proto::event::{self, Accepted};
use crate::proto::frame::{OkFrame, PubFrame};
use crate::proto::http::BatchItem;
use crate::proto::id::{made_id, message_id};
use crate::proto::publish;
use crate::proto::{ApiError, ErrorCode};

/// How a publish asks for its events to be treated (query parameters or frame fields;
/// they win over the events' own extensions).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublishOptions {
    /// Ordering key.
    pub ordering_key: Option<String>,
    /// Deliver after this delay.
    pub delay_ms: Option<u64>,
    /// Expire after this time.
    pub ttl_ms: Option<u64>,
    /// A request: delivered with `"reply": true`.
    pub reply: bool,
}

/// Who publishes: the `source` of events the bus makes for it, and whether it may use
/// any source (the admin, and `memory://`, which has no other clients); others may use
/// `/clients/{their login}` but no other `/clients/` source.
#[derive(Debug, Clone, Copy)]
pub struct Publisher<'a> {
    /// `/clients/{login}`, `/anonymous`, `/admin`, `/memory`.
    pub source: &'a str,
    /// May use any source.
    pub trusted: bool,
}

impl Broker {
    /// Appends accepted events and delivers them. Answers one item per event.
    pub(super) fn append(
        &mut self,
        now: Millis,
        store: &mut dyn Store,
        topic: &str,
        events: Vec<Accepted>,
        opts: &PublishOptions,
        by: Publisher<'_>,
    ) -> StoreResult<Result<Vec<BatchItem>, ApiError>> {
        let checked = check_sources(&events, by).and_then(|()| {
            publish::check(&events, now, &self.limits, opts.ordering_key.as_deref(), opts.delay_ms)
        });
        if let Err(e) = checked {
            return Ok(Err(e));
        }
        let window = self.limits.dedup_window_ms;
        let since = now.saturating_sub(window);
        if self.dedup.is_none() {
            self.dedup = Some(Dedup::load(store, now, window, self.limits.dedup_memory_pairs)?);
        }
        let Some(dedup) = self.dedup.as_mut() else { return Ok(Err(internal())) };
        dedup.expire(store, now, since, window)?;
        // Each pair is hashed once, for the lookup here and for `accepted` below.
        let hashes: Vec<u64> = events.iter().map(|e| pair_hash(&e.meta.source, &e.meta.id)).collect();
        let mut earlier = Vec::with_capacity(events.len());
        for (e, &h) in events.iter().zip(&hashes) {
            earlier.push(dedup.lookup(store, (&e.meta.source, &e.meta.id, h), since)?);
        }
        let plan =
            publish::plan(events, self.head, now, opts.ordering_key.as_deref(), opts.delay_ms, &earlier);
        let fresh = plan.iter().filter(|p| !p.duplicate).count() as u64;
        let retained = self.retained();
        if retained + fresh > self.limits.max_topic_events {
            self.log(
                LogLevel::Warn,
                "publish.storage_full",
                serde_json::json!({ "topic": topic, "retained": retained }),
            );
            let limit = self.limits.max_topic_events;
            return Ok(Err(ApiError::new(
                ErrorCode::StorageFull,
                format!("topic holds {retained} events, its limit is {limit}; finish or delete some first"),
            )));
        }
        if fresh > 0 {
            self.remember_topic(store, topic)?;
        }
        let p = self.partition.index;
        let mut out = Vec::with_capacity(plan.len());
        let mut heads = Vec::with_capacity(fresh as usize);
        // Filtered channels judge new events now, so `depth` never counts one they skip.
        let filtered = self.channels.values().any(|c| c.filter.is_some());
        let mut rows = Vec::with_capacity(fresh as usize);
        let mut row_hashes = Vec::with_capacity(fresh as usize);
        for (item, hash) in plan.into_iter().zip(hashes) {
            out.push(BatchItem {
                id: message_id(p, item.seq),
                seq: item.seq,
                partition: p,
                duplicate: item.duplicate,
            });
            let Some(e) = item.event else { continue };
            // A `ttl_ms` past 2^53 ms means never in practice; stored times stay exact as
            // JavaScript numbers.
            let expires_at =
                opts.ttl_ms.map(|t| now.saturating_add(t).min(MAX_TIME_MS)).or(e.meta.expires_at);
            let row = EventRow {
                seq: item.seq,
                ts: now,
                source: e.meta.source,
                eid: e.meta.id,
                key: item.key,
                deliver_at: item.deliver_at,
                expires_at,
                reply: opts.reply,
                body: e.text,
            };
            rows.push(row);
            row_hashes.push(hash);
        }
        // One call for the whole publish: the store writes as few statements as it can.
        store.insert_events(&rows)?;
        let mut pairs = Vec::with_capacity(rows.len());
        for (row, hash) in rows.iter().zip(row_hashes) {
            if filtered {
                self.judge(now, row.seq, &row.body);
            }
            pairs.push((hash, row.seq));
            heads.push(EventHead::from(row));
        }
        if let Some(d) = self.dedup.as_mut() {
            d.accepted(store, now, window, &pairs)?;
        }
        if self.expiry_from == 0 {
            if let Some(first) = rows.iter().find(|r| r.expires_at.is_some()) {
                self.expiry_from = first.seq;
                store.set_meta("expiry_from", &first.seq.to_string())?;
            }
        }
        if !self.channels.is_empty() {
            self.fresh_bodies.extend(rows.into_iter().map(|r| (r.seq, (r.body, r.reply))));
        }
        if fresh > 0 {
            self.head += fresh;
            self.remember_heads(heads);
            self.note_published(now, store)?;
            let ids: Vec<u32> = self.channels.keys().copied().collect();
            for ch in ids {
                self.trim_ephemeral(now, ch);
                self.pump(now, store, ch)?;
            }
        }
        Ok(Ok(out))
    }

    /// Each filtered channel that has judged every event before `seq` judges this one: a
    /// non-matching event is counted in `filtered_total` now and never in `depth`.
    fn judge(&mut self, now: Millis, seq: Seq, text: &str) {
        let mut attrs = None;
        let ids: Vec<u32> =
            self.channels.iter().filter(|(_, c)| c.filter.is_some()).map(|(&id, _)| id).collect();
        for id in ids {
            let Some(c) = self.channels.get_mut(&id) else { continue };
            if c.row.judged_through + 1 != seq {
                continue; // it lags (a restart lost its row's last write): judged at the cursor
            }
            let Some(f) = &c.filter else { continue };
            let a = attrs.get_or_insert_with(|| super::filter::EventAttributes::from_json(text).ok());
            c.row.judged_through = seq;
            if !a.as_ref().is_some_and(|a| f.matches(a)) {
                c.row.filtered_ahead += 1;
                c.row.counters.filtered += 1;
            }
            self.lazy_row(now, id);
        }
    }

    /// Drops the oldest undelivered events of an ephemeral channel over its backlog cap.
    fn trim_ephemeral(&mut self, now: Millis, ch: u32) {
        let head = self.head;
        let Some(c) = self.channels.get_mut(&ch) else { return };
        if !c.ephemeral {
            return;
        }
        let fresh = (head + 1).saturating_sub(c.row.cursor);
        let depth = fresh + c.counts.ready + c.counts.parked + c.counts.deferred + c.in_flight.len() as u64;
        let drop = depth.saturating_sub(EPHEMERAL_BACKLOG).min(fresh);
        if drop > 0 {
            c.row.cursor += drop;
            c.row.counters.dropped += drop;
            c.lookahead.clear();
            self.lazy_row(now, ch);
        }
    }

    /// A `pub` frame: one CloudEvent, plain data, or a batch of CloudEvents. Answers the
    /// `ok` frame.
    pub(super) fn publish_frame(
        &mut self,
        now: Millis,
        store: &mut dyn Store,
        source: &str,
        p: PubFrame,
        entropy: [u8; 16],
    ) -> StoreResult<Result<String, ApiError>> {
        let topic = self.topic.clone().unwrap_or_default();
        let opts = PublishOptions {
            // As the query parameter: an empty key is no key.
            ordering_key: p.ordering_key.filter(|k| !k.is_empty()),
            delay_ms: p.delay_ms,
            ttl_ms: p.ttl_ms,
            reply: false,
        };
        if let Err(e) = event::check_ordering_key(opts.ordering_key.as_deref()) {
            return Ok(Err(e));
        }
        let batch = p.events.is_some();
        let events = match (p.event, p.data, p.events) {
            (Some(ev), None, None) => event::accept(ev.get(), now, &self.limits).map(|a| vec![a]),
            (None, Some(d), None) => {
                let id = made_id(&entropy, 0);
                event::from_plain(
                    &id,
                    source,
                    &topic,
                    Some("application/json"),
                    d.get().as_bytes(),
                    now,
                    &self.limits,
                )
                .map(|a| vec![a])
            }
            (None, None, Some(list)) => event::accept_batch(list.get(), now, &self.limits),
            _ => Err(ApiError::invalid("pub needs exactly one of \"event\", \"data\" and \"events\"")),
        };
        let events = match events {
            Ok(e) => e,
            Err(e) => return Ok(Err(e)),
        };
        let by = Publisher { source, trusted: source == "/admin" };
        let results = match self.append(now, store, &topic, events, &opts, by)? {
            Ok(r) => r,
            Err(e) => return Ok(Err(e)),
        };
        let reference = p.reference.as_ref();
        let ok = if batch {
            OkFrame { reference, results: Some(&results), ..Default::default() }.encode()
        } else {
            let Some(r) = results.first() else { return Ok(Err(internal())) };
            OkFrame {
                reference,
                id: Some(&r.id),
                seq: Some(r.seq),
                partition: Some(r.partition),
                duplicate: Some(r.duplicate),
                ..Default::default()
            }
            .encode()
        };
        Ok(Ok(ok))
    }

    /// `respond`: finishes a request message in flight to `owner` and makes the response
    /// event for the waiting HTTP requests (the first response wins: the message is no
    /// longer in flight for a second one).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn respond(
        &mut self,
        now: Millis,
        store: &mut dyn Store,
        ch: u32,
        owner: super::ConsumerId,
        mid: &str,
        source: &str,
        data: &serde_json::value::RawValue,
        content_type: Option<&str>,
    ) -> StoreResult<Result<(), ApiError>> {
        let live = |b: &Self, s: Seq| {
            b.channels.get(&ch).and_then(|c| c.in_flight.get(&s)).is_some_and(|f| f.deadline > now)
        };
        let Some(seq) = self.held(ch, owner, mid).filter(|&s| live(self, s)) else {
            return Ok(Err(super::frames::not_in_flight(mid)));
        };
        let Some((request, reply)) = store.event_body(seq)? else {
            return Ok(Err(super::frames::not_in_flight(mid)));
        };
        if !reply {
            return Ok(Err(ApiError::invalid(format!(
                "message {mid} was not delivered with \"reply\": true"
            ))));
        }
        self.finish_message(store, ch, seq)?;
        let event = crate::proto::response::response(
            &request,
            &format!("{mid}.response"),
            source,
            data,
            content_type,
            now,
        );
        self.out.push(super::Output::Response { seq, event });
        Ok(Ok(()))
    }
}

/// Refuses `/clients/{other}` sources (and any `/clients/` source for anonymous
/// publishers): the bus's own sources cannot be forged to pre-empt another client's ids.
fn check_sources(events: &[Accepted], by: Publisher<'_>) -> Result<(), ApiError> {
    if by.trusted {
        return Ok(());
    }
    for e in events {
        let s = e.meta.source.as_str();
        if s.starts_with("/clients/") && s != by.source {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                format!(
                    "source {s:?} is reserved for another client; events from {} may use {}",
                    by.source, by.source
                ),
            ));
        }
    }
    Ok(())
}

fn internal() -> ApiError {
    ApiError::new(ErrorCode::Internal, "internal error")
}
