//! What `GET /v1/topics/{topic}` answers of a topic (partition): its channels' counters
//! and gauges, with each channel's attached socket consumers.

use super::broker::Broker;
use super::channel::Channel;
use super::store::{Store, StoreResult};
use super::{Millis, Seq};
use crate::proto::http::{AttachedConsumer, ChannelStats, TopicStats};

impl Broker {
    /// Stats of every channel, by name, at `now`.
    pub(super) fn channel_stats(&self, now: Millis, store: &dyn Store) -> StoreResult<Vec<ChannelStats>> {
        let mut names: Vec<(&String, &u32)> = self.by_name.iter().collect();
        names.sort();
        let mut out = Vec::with_capacity(names.len());
        for (_, id) in names {
            let Some(c) = self.channels.get(id) else { continue };
            // On a filtered channel, the events judged at publish that did not match are out
            // of `ready` already (`filtered_ahead`), expired or not.
            let judged = c.filter.as_ref().map(|_| (c.row.judged_from, c.row.judged_through));
            let (stored, expired_ahead) = self.events_from(now, store, c.row.cursor, judged)?;
            // Messages given back (requeued, deferred, parked) that expired meanwhile will
            // never be delivered either: out of `depth` too, before a delivery drops them.
            let rows = if self.expiry_from == 0 { (0, 0) } else { store.count_expired_rows(*id, now)? };
            let mut stats = c.stats(self.head, stored.saturating_sub(expired_ahead), rows);
            // Counted as expired as soon as they expire, not when the channel reaches them
            // (then the count moves from here to the counter). Events ahead of a filtered
            // channel's cursor may still turn out filtered instead: those wait.
            let ahead = if c.filter.is_none() { expired_ahead } else { 0 };
            stats.expired_total += rows.0 + rows.1 + ahead;
            stats.attached = self.attached(c);
            out.push(stats);
        }
        Ok(out)
    }

    /// Stored events at or after `from` that may still be delivered: expired ones never
    /// will, so they are not in a channel's `depth` even before its cursor passes them
    /// (they are counted in `expired_total` then), except those with seq in `(a, b]` of
    /// `judged` (left to the filter's count). Expiry is read from storage only on topics
    /// that ever stored an expiry time.
    pub(super) fn live_events_from(
        &self,
        now: Millis,
        store: &dyn Store,
        from: Seq,
        judged: Option<(Seq, Seq)>,
    ) -> StoreResult<u64> {
        let (stored, expired) = self.events_from(now, store, from, judged)?;
        Ok(stored.saturating_sub(expired))
    }

    /// Stored events at or after `from`, and how many of them expired (outside `judged`,
    /// see [`Broker::live_events_from`]).
    fn events_from(
        &self,
        now: Millis,
        store: &dyn Store,
        from: Seq,
        judged: Option<(Seq, Seq)>,
    ) -> StoreResult<(u64, u64)> {
        let stored = if from > self.max_pruned {
            (self.head + 1).saturating_sub(from)
        } else {
            store.count_events_from(from)?
        };
        if self.expiry_from == 0 {
            return Ok((stored, 0));
        }
        let first = from.max(self.expiry_from);
        let ranges = match judged {
            None => [(first, self.head), (1, 0)],
            Some((a, b)) => [(first, a.min(self.head)), (first.max(b.saturating_add(1)), self.head)],
        };
        let mut expired = 0;
        for (lo, hi) in ranges {
            if lo <= hi {
                expired += store.count_expired(lo, hi, now)?;
            }
        }
        Ok((stored, expired.min(stored)))
    }

    /// `GET /v1/topics/{topic}`.
    pub(super) fn topic_stats(&self, now: Millis, store: &dyn Store, topic: &str) -> StoreResult<TopicStats> {
        Ok(TopicStats {
            topic: topic.to_owned(),
            seq: self.head,
            retained: self.retained(),
            partition: (self.partition.count > 1).then_some(self.partition.index),
            partitions: self.partition.count,
            channels: self.channel_stats(now, store)?,
        })
    }

    /// A channel's attached socket consumers, for its stats.
    pub(super) fn attached(&self, c: &Channel) -> Vec<AttachedConsumer> {
        let sockets = c.consumers.iter().filter(|id| id.is_socket()).filter_map(|id| self.sockets.get(&id.0));
        sockets
            .map(|s| AttachedConsumer {
                session: format!("{:x}", s.record.id),
                source: s.record.source.clone(),
                address: s.record.address.clone(),
                max_in_flight: s.record.rdy,
                in_flight: s.in_flight.len() as u64,
                delivered: s.counts.delivered,
                finished: s.counts.finished,
                requeued: s.counts.requeued,
                batch: s.record.batch,
                connected_at: crate::proto::event::rfc3339(s.record.opened_at),
                partition: None,
            })
            .collect()
    }
}
