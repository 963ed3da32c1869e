//! What `GET /v1/topics/{topic}` answers of a topic (partition): its channels' counters
//! and gauges, with each channel's attached socket consumers.

use super::broker::Broker;
use super::channel::Channel;
use super::store::{Store, StoreResult};
use crate::proto::http::{AttachedConsumer, ChannelStats, TopicStats};

impl Broker {
    /// Stats of every channel, by name.
    pub(super) fn channel_stats(&self, store: &dyn Store) -> StoreResult<Vec<ChannelStats>> {
        let mut names: Vec<(&String, &u32)> = self.by_name.iter().collect();
        names.sort();
        let mut out = Vec::with_capacity(names.len());
        for (_, id) in names {
            let Some(c) = self.channels.get(id) else { continue };
            let fresh = if c.row.cursor > self.max_pruned {
                (self.head + 1).saturating_sub(c.row.cursor)
            } else {
                store.count_events_from(c.row.cursor)?
            };
            let mut stats = c.stats(self.head, fresh);
            stats.attached = self.attached(c);
            out.push(stats);
        }
        Ok(out)
    }

    /// `GET /v1/topics/{topic}`.
    pub(super) fn topic_stats(&self, store: &dyn Store, topic: &str) -> StoreResult<TopicStats> {
        Ok(TopicStats {
            topic: topic.to_owned(),
            seq: self.head,
            retained: self.retained(),
            partition: (self.partition.count > 1).then_some(self.partition.index),
            partitions: self.partition.count,
            channels: self.channel_stats(store)?,
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
