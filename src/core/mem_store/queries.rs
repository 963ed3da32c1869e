//! [`Store`] for [`MemStore`]: every read scans the maps, every write goes through the
//! undo journal.

use super::{waiting, MemStore, MessageKey, Undo};
use crate::core::store::*;
use crate::core::{Millis, Seq};

impl Store for MemStore {
    fn meta(&self, key: &str) -> StoreResult<Option<String>> {
        Ok(self.meta.get(key).cloned())
    }

    fn set_meta(&mut self, key: &str, value: &str) -> StoreResult<()> {
        self.write(Undo::Meta(key.to_owned(), self.meta.get(key).cloned()))?;
        self.meta.insert(key.to_owned(), value.to_owned());
        Ok(())
    }

    fn max_seq(&self) -> StoreResult<Option<Seq>> {
        Ok(self.events.keys().next_back().copied())
    }

    fn insert_event(&mut self, e: &EventRow) -> StoreResult<()> {
        if self.events.contains_key(&e.seq) {
            return Err(StoreError::other(format!("event {} exists", e.seq)));
        }
        self.write(Undo::Event(e.seq, None))?;
        self.events.insert(e.seq, e.clone());
        Ok(())
    }

    fn event_body(&self, seq: Seq) -> StoreResult<Option<(String, bool)>> {
        Ok(self.events.get(&seq).map(|e| (e.body.clone(), e.reply)))
    }

    fn event_heads(&self, from: Seq, limit: usize) -> StoreResult<Vec<EventHead>> {
        Ok(self.events.range(from..).take(limit).map(|(_, e)| EventHead::from(e)).collect())
    }

    fn event_at_or_after(&self, from: Seq) -> StoreResult<Option<(Seq, Millis)>> {
        Ok(self.events.range(from..).next().map(|(&s, e)| (s, e.ts)))
    }

    fn count_events_from(&self, from: Seq) -> StoreResult<u64> {
        Ok(self.events.range(from..).count() as u64)
    }

    fn count_expired(&self, from: Seq, to: Seq, now: Millis) -> StoreResult<u64> {
        Ok(self.events.range(from..=to).filter(|(_, e)| e.expires_at.is_some_and(|t| t <= now)).count()
            as u64)
    }

    fn count_expired_rows(&self, ch: u32, now: Millis) -> StoreResult<(u64, u64)> {
        let (mut ready, mut deferred) = (0, 0);
        for (head, _) in self.channel_rows(ch) {
            let expired = self.events.get(&head.seq).is_some_and(|e| e.expires_at.is_some_and(|t| t <= now));
            if !expired {
                continue;
            }
            match head.state {
                RowState::Ready | RowState::Parked => ready += 1,
                RowState::Deferred => deferred += 1,
                _ => {}
            }
        }
        Ok((ready, deferred))
    }

    fn recent_pairs(&self, since: Millis, limit: usize) -> StoreResult<Vec<(String, String, Seq, Millis)>> {
        Ok(self
            .events
            .values()
            .rev()
            .take_while(|e| e.ts >= since)
            .take(limit)
            .map(|e| (e.source.clone(), e.eid.clone(), e.seq, e.ts))
            .collect())
    }

    fn confirm_pair(&self, seq: Seq, source: &str, eid: &str, since: Millis) -> StoreResult<bool> {
        Ok(self.events.get(&seq).is_some_and(|e| e.source == source && e.eid == eid && e.ts >= since))
    }

    fn prune_events(&mut self, below: Seq, cutoff: Millis, limit: usize) -> StoreResult<Vec<Seq>> {
        let pinned: std::collections::BTreeSet<Seq> = self.messages.keys().map(|&(_, s)| s).collect();
        let doomed: Vec<Seq> = self
            .events
            .range(..below)
            .filter(|(s, e)| e.ts <= cutoff && !pinned.contains(s))
            .map(|(&s, _)| s)
            .take(limit)
            .collect();
        for &s in &doomed {
            let old = self.events.get(&s).cloned();
            self.write(Undo::Event(s, old))?;
            self.events.remove(&s);
        }
        Ok(doomed)
    }

    fn oldest_prunable(&self, below: Seq) -> StoreResult<Option<Millis>> {
        let pinned: std::collections::BTreeSet<Seq> = self.messages.keys().map(|&(_, s)| s).collect();
        Ok(self.events.range(..below).find(|(s, _)| !pinned.contains(s)).map(|(_, e)| e.ts))
    }

    fn spill(&mut self, table: u8, entries: &[Spilled]) -> StoreResult<()> {
        for e in entries {
            let k = (table, e.hash, e.seq);
            self.write(Undo::Spill(k, self.spill.get(&k).copied()))?;
            self.spill.insert(k, e.at);
        }
        Ok(())
    }

    fn spilled(&self, hash: u64, since: Millis) -> StoreResult<Vec<Seq>> {
        self.spill_lookups.set(self.spill_lookups.get() + 1);
        let mut found: Vec<(Millis, Seq)> = [0, 1]
            .iter()
            .flat_map(|&t| self.spill.range((t, hash, 0)..=(t, hash, Seq::MAX)))
            .filter(|(_, &ts)| ts >= since)
            .map(|(&(_, _, seq), &ts)| (ts, seq))
            .collect();
        found.sort_unstable_by(|a, b| b.cmp(a));
        Ok(found.into_iter().map(|(_, seq)| seq).collect())
    }

    fn clear_spilled(&mut self, table: u8) -> StoreResult<()> {
        let keys: Vec<(u8, u64, Seq)> =
            self.spill.range((table, 0, 0)..=(table, u64::MAX, Seq::MAX)).map(|(&k, _)| k).collect();
        let counted = self.rows_written;
        for k in keys {
            self.write(Undo::Spill(k, self.spill.get(&k).copied()))?;
            self.spill.remove(&k);
        }
        // As the SQL store empties it: a table dropped and made again counts no row.
        self.rows_written = counted;
        Ok(())
    }

    fn spilled_hashes(&self, since: Millis, most: usize) -> StoreResult<Option<Vec<u64>>> {
        let hashes: Vec<u64> =
            self.spill.iter().filter(|(_, &ts)| ts >= since).map(|(&(_, h, _), _)| h).collect();
        Ok((hashes.len() <= most).then_some(hashes))
    }

    fn spill_used(&self) -> StoreResult<[bool; 3]> {
        let used = |t: u8| self.spill.range((t, 0, 0)..=(t, u64::MAX, Seq::MAX)).next().is_some();
        Ok([used(0), used(1), false])
    }

    fn channels(&self) -> StoreResult<Vec<ChannelRow>> {
        Ok(self.channels.values().cloned().collect())
    }

    fn put_channel(&mut self, c: &ChannelRow) -> StoreResult<()> {
        self.write(Undo::Channel(c.id, self.channels.get(&c.id).cloned()))?;
        self.channels.insert(c.id, c.clone());
        Ok(())
    }

    fn delete_channel(&mut self, id: u32) -> StoreResult<()> {
        self.clear_messages(id)?;
        self.write(Undo::Channel(id, self.channels.get(&id).cloned()))?;
        self.channels.remove(&id);
        Ok(())
    }

    fn in_flight_rows(&self) -> StoreResult<Vec<MessageHead>> {
        Ok(self
            .messages
            .values()
            .filter(|(m, _)| m.state == RowState::InFlight)
            .map(|(m, _)| m.clone())
            .collect())
    }

    fn row_counts(&self, channel: u32) -> StoreResult<RowCounts> {
        let mut c = RowCounts::default();
        for (m, _) in self.channel_rows(channel) {
            match m.state {
                RowState::InFlight => c.in_flight += 1,
                RowState::Ready => c.ready += 1,
                RowState::Deferred => c.deferred += 1,
                RowState::Dead => c.dead += 1,
                RowState::Parked => c.parked += 1,
            }
            if m.key.is_some() && waiting(m) {
                c.keyed_waiting += 1;
            }
        }
        Ok(c)
    }

    fn message(&self, channel: u32, seq: Seq) -> StoreResult<Option<(MessageHead, Option<String>)>> {
        Ok(self.messages.get(&(channel, seq)).cloned())
    }

    fn checkpoint(&self, channel: u32, seq: Seq) -> StoreResult<Option<String>> {
        Ok(self.messages.get(&(channel, seq)).and_then(|(_, c)| c.clone()))
    }

    fn put_message(&mut self, m: &MessageHead, checkpoint: &CheckpointWrite) -> StoreResult<()> {
        let key = (m.channel, m.seq);
        let cp = match checkpoint {
            CheckpointWrite::Keep => self.messages.get(&key).and_then(|(_, c)| c.clone()),
            CheckpointWrite::Set(s) => Some(s.clone()),
            CheckpointWrite::Clear => None,
        };
        let mut head = m.clone();
        head.has_checkpoint = cp.is_some();
        self.set_message(key, Some((head, cp)))
    }

    fn delete_message(&mut self, channel: u32, seq: Seq) -> StoreResult<()> {
        if self.messages.contains_key(&(channel, seq)) {
            self.set_message((channel, seq), None)?;
        }
        Ok(())
    }

    fn clear_messages(&mut self, channel: u32) -> StoreResult<()> {
        let keys: Vec<MessageKey> =
            self.messages.range((channel, 0)..=(channel, Seq::MAX)).map(|(k, _)| *k).collect();
        for k in keys {
            self.set_message(k, None)?;
        }
        let leases: Vec<(u32, u64)> =
            self.leases.range((channel, 0)..=(channel, u64::MAX)).map(|(k, _)| *k).collect();
        for k in leases {
            self.write(Undo::Lease(k, self.leases.get(&k).cloned()))?;
            self.leases.remove(&k);
        }
        Ok(())
    }

    fn ready_rows(&self, channel: u32, after: Seq, limit: usize) -> StoreResult<Vec<MessageHead>> {
        Ok(self
            .messages
            .range((channel, after.saturating_add(1))..=(channel, Seq::MAX))
            .filter(|(_, (m, _))| m.state == RowState::Ready)
            .take(limit)
            .map(|(_, (m, _))| m.clone())
            .collect())
    }

    fn next_due(&self, channel: u32) -> StoreResult<Option<Millis>> {
        Ok(self
            .channel_rows(channel)
            .filter(|(m, _)| m.state == RowState::Deferred)
            .map(|(m, _)| m.due)
            .min())
    }

    fn due_rows(&self, channel: u32, until: Millis, limit: usize) -> StoreResult<Vec<MessageHead>> {
        let mut due: Vec<MessageHead> = self
            .channel_rows(channel)
            .filter(|(m, _)| m.state == RowState::Deferred && m.due <= until)
            .map(|(m, _)| m.clone())
            .collect();
        due.sort_by_key(|m| (m.due, m.seq));
        due.truncate(limit);
        Ok(due)
    }

    fn dead_rows(&self, channel: u32, after: Seq, limit: usize) -> StoreResult<Vec<DeadRow>> {
        Ok(self
            .messages
            .range((channel, after.saturating_add(1))..=(channel, Seq::MAX))
            .filter(|(_, (m, _))| m.state == RowState::Dead)
            .take(limit)
            .map(|(&(_, seq), (m, cp))| DeadRow {
                seq,
                failures: m.failures,
                checkpoint: cp.clone(),
                body: self.events.get(&seq).map(|e| e.body.clone()),
            })
            .collect())
    }

    fn dead_seqs(&self, channel: u32, after: Seq, limit: usize) -> StoreResult<Vec<Seq>> {
        Ok(self
            .messages
            .range((channel, after.saturating_add(1))..=(channel, Seq::MAX))
            .filter(|(_, (m, _))| m.state == RowState::Dead)
            .take(limit)
            .map(|(&(_, seq), _)| seq)
            .collect())
    }

    fn key_waiting_before(&self, channel: u32, key: &str, seq: Seq) -> StoreResult<bool> {
        Ok(self
            .messages
            .range((channel, 0)..(channel, seq))
            .any(|(_, (m, _))| waiting(m) && m.key.as_deref() == Some(key)))
    }

    fn next_of_key(&self, channel: u32, key: &str, after: Seq) -> StoreResult<Option<MessageHead>> {
        Ok(self
            .messages
            .range((channel, after.saturating_add(1))..=(channel, Seq::MAX))
            .find(|(_, (m, _))| waiting(m) && m.key.as_deref() == Some(key))
            .map(|(_, (m, _))| m.clone()))
    }

    fn park_after(&mut self, channel: u32, key: &str, after: Seq) -> StoreResult<u64> {
        let ready: Vec<MessageKey> = self
            .messages
            .range((channel, after.saturating_add(1))..=(channel, Seq::MAX))
            .filter(|(_, (m, _))| m.state == RowState::Ready && m.key.as_deref() == Some(key))
            .map(|(k, _)| *k)
            .collect();
        for k in &ready {
            if let Some((mut m, cp)) = self.messages.get(k).cloned() {
                m.state = RowState::Parked;
                self.set_message(*k, Some((m, cp)))?;
            }
        }
        Ok(ready.len() as u64)
    }

    fn leases(&self) -> StoreResult<Vec<LeaseRow>> {
        Ok(self.leases.values().cloned().collect())
    }

    fn put_lease(&mut self, l: &LeaseRow) -> StoreResult<()> {
        let k = (l.channel, l.id);
        self.write(Undo::Lease(k, self.leases.get(&k).cloned()))?;
        self.leases.insert(k, l.clone());
        Ok(())
    }

    fn delete_lease(&mut self, channel: u32, id: u64) -> StoreResult<()> {
        let k = (channel, id);
        if self.leases.contains_key(&k) {
            self.write(Undo::Lease(k, self.leases.get(&k).cloned()))?;
            self.leases.remove(&k);
        }
        Ok(())
    }

    fn wipe(&mut self) -> StoreResult<()> {
        let metas: Vec<String> = self.meta.keys().cloned().collect();
        for k in metas {
            self.write(Undo::Meta(k.clone(), self.meta.get(&k).cloned()))?;
            self.meta.remove(&k);
        }
        let events: Vec<Seq> = self.events.keys().copied().collect();
        for s in events {
            self.write(Undo::Event(s, self.events.get(&s).cloned()))?;
            self.events.remove(&s);
        }
        let spills: Vec<(u8, u64, Seq)> = self.spill.keys().copied().collect();
        for h in spills {
            self.write(Undo::Spill(h, self.spill.get(&h).copied()))?;
            self.spill.remove(&h);
        }
        let channels: Vec<u32> = self.channels.keys().copied().collect();
        for c in channels {
            self.delete_channel(c)?;
        }
        Ok(())
    }
}
