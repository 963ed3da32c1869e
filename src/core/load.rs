//! The broker's start-up: [`Broker::load`] reads O(channels + in flight) rows: channel
//! rows, row counts and next due times per channel, in-flight rows and leases. Nothing
//! proportional to the retained backlog, the dead letters or the deferred messages is
//! read; the dedup window is read at the first publish, not at start-up.

use super::broker::{Broker, Lease, Partition, HELD};
use super::channel::{Channel, InFlight};
use super::consumer::Socket;
use super::filter::Filter;
use super::output::SocketRecord;
use super::store::{EventHead, Store, StoreResult};
use super::timers::Timer;
use super::{ConsumerId, Millis, Seq, SocketId, HELLO_TIMEOUT_MS};
use crate::proto::Limits;

/// A first delivery kept in a channel row: seq, owner, deadline, max attempts, timeout.
type Held = (Seq, u64, Millis, u32, Millis);

impl Broker {
    /// Rebuilds the broker from storage and the records of the sockets that survived
    /// (hibernation), then requeues what was in flight to sockets that did not.
    pub fn load(
        limits: Limits,
        partition: Partition,
        store: &mut dyn Store,
        sockets: Vec<SocketRecord>,
        now: Millis,
    ) -> StoreResult<Broker> {
        let mut b = Broker::new(limits, partition);
        let meta_u64 = |store: &dyn Store, k: &str| -> StoreResult<u64> {
            Ok(store.meta(k)?.and_then(|v| v.parse().ok()).unwrap_or(0))
        };
        b.topic = store.meta("topic")?;
        // A partition of a partitioned topic keeps which it is (`{index}/{count}`), from
        // the `PUT` that made it.
        if let Some(p) = store.meta("partition")? {
            if let Some((i, n)) = p.split_once('/') {
                if let (Ok(index), Ok(count)) = (i.parse(), n.parse()) {
                    b.partition = Partition { index, count };
                }
            }
        }
        b.pruned_total = meta_u64(store, "pruned_total")?;
        b.max_pruned = meta_u64(store, "max_pruned")?;
        b.expiry_from = meta_u64(store, "expiry_from")?;
        b.head = store.max_seq()?.unwrap_or(0).max(meta_u64(store, "head")?);
        for row in store.channels()? {
            let counts = store.row_counts(row.id)?;
            let next_due = if counts.deferred > 0 { store.next_due(row.id)? } else { None };
            let filter = row
                .filter
                .as_deref()
                .and_then(|f| serde_json::from_str::<serde_json::Value>(f).ok())
                .and_then(|v| Filter::parse(&v).ok());
            b.next_channel = b.next_channel.max(row.id + 1);
            b.by_name.insert(row.name.clone(), row.id);
            let id = row.id;
            b.channels.insert(id, Channel::new(row, filter, counts, next_due));
            if let Some(t) = next_due {
                b.timers.insert((t, Timer::Due(id)));
            }
        }
        for m in store.in_flight_rows()? {
            let Some(ch) = b.channels.get_mut(&m.channel) else { continue };
            ch.counts.in_flight = ch.counts.in_flight.saturating_sub(1);
            let f = InFlight {
                owner: m.owner,
                deadline: m.due,
                attempt: m.attempt,
                failures: m.failures,
                max_attempts: m.max_attempts,
                timeout_ms: m.timeout_ms,
                key: m.key.as_deref().map(Into::into),
                expires_at: m.expires_at,
                has_checkpoint: m.has_checkpoint,
                lease: None,
            };
            b.timers.insert((m.due, Timer::Deadline(m.channel, m.seq)));
            ch.take(m.seq, f);
        }
        for l in store.leases()? {
            b.next_lease = b.next_lease.max(l.id + 1);
            if l.seqs.is_empty() {
                store.delete_lease(l.channel, l.id)?;
                continue;
            }
            let heads = heads_of(store, &l.seqs)?;
            let Some(ch) = b.channels.get_mut(&l.channel) else { continue };
            for &seq in &l.seqs {
                let f = first_delivery(&heads, seq, l.owner, l.deadline, l.max_attempts, l.timeout_ms, l.id);
                b.timers.insert((l.deadline, Timer::Deadline(l.channel, seq)));
                ch.take(seq, f);
                ch.row.cursor = ch.row.cursor.max(seq + 1);
            }
            let lease = Lease {
                owner: l.owner,
                deadline: l.deadline,
                max_attempts: l.max_attempts,
                timeout_ms: l.timeout_ms,
                seqs: l.seqs.iter().copied().collect(),
            };
            b.leases.insert((l.channel, l.id), lease);
        }
        // First deliveries kept in channel rows (written with the delivery, so each is
        // below its row's cursor).
        let rows: Vec<(u32, Vec<Held>)> = b
            .channels
            .iter()
            .filter(|(_, c)| !c.row.held.is_empty())
            .map(|(&id, c)| (id, c.row.held.clone()))
            .collect();
        for (ch, held) in rows {
            b.restore_held(store, ch, held)?;
        }
        // The stored cursor may lag (it is written lazily): it is past every message
        // that has a row, since a row exists only for messages the cursor passed.
        for ch in b.channels.values_mut() {
            if let Some((&seq, _)) = ch.in_flight.iter().next_back() {
                ch.row.cursor = ch.row.cursor.max(seq + 1);
            }
        }
        for record in sockets {
            b.restore_socket(now, record);
        }
        b.requeue_orphans(now, store)?;
        // An ephemeral channel whose consumers did not survive the restart goes, as it
        // would have gone when its last one disconnected.
        let gone: Vec<u32> = b
            .channels
            .iter()
            .filter(|(_, c)| c.ephemeral && c.row.had_consumer && c.consumers.is_empty())
            .map(|(&id, _)| id)
            .collect();
        for id in gone {
            b.drop_channel(store, id, "ephemeral channel has no consumer")?;
        }
        let ids: Vec<SocketId> = b.sockets.keys().copied().collect();
        for id in ids {
            b.refresh_heartbeat(id);
        }
        b.arm_prune(now, store)?;
        b.pump_all(now, store)?;
        b.finish(now, store)?;
        Ok(b)
    }

    /// Puts first deliveries kept in a channel row back in flight.
    fn restore_held(&mut self, store: &mut dyn Store, ch: u32, held: Vec<Held>) -> StoreResult<()> {
        let seqs: Vec<Seq> = held.iter().map(|h| h.0).collect();
        let heads = heads_of(store, &seqs)?;
        let Some(c) = self.channels.get_mut(&ch) else { return Ok(()) };
        for (seq, owner, deadline, max_attempts, timeout_ms) in held {
            if c.in_flight.contains_key(&seq) {
                continue;
            }
            let f = first_delivery(&heads, seq, ConsumerId(owner), deadline, max_attempts, timeout_ms, HELD);
            self.timers.insert((deadline, Timer::Deadline(ch, seq)));
            c.take(seq, f);
            c.row.cursor = c.row.cursor.max(seq + 1);
        }
        Ok(())
    }

    fn restore_socket(&mut self, now: Millis, record: SocketRecord) {
        let id = record.id;
        let mut s = Socket::new(record, now);
        if !s.record.welcomed {
            self.timers.insert((s.record.opened_at.saturating_add(HELLO_TIMEOUT_MS), Timer::Hello(id)));
        } else if let Some(name) = s.record.channel.clone() {
            match self.by_name.get(&name).copied() {
                Some(ch) => {
                    s.channel = Some(ch);
                    if let Some(c) = self.channels.get_mut(&ch) {
                        c.consumers.push(ConsumerId(id));
                        for (&seq, f) in &c.in_flight {
                            if f.owner == ConsumerId(id) {
                                s.in_flight.insert(seq);
                            }
                        }
                    }
                }
                None => {
                    self.close(id, crate::proto::close::DELETED, "channel deleted");
                    return;
                }
            }
        }
        self.sockets.insert(id, s);
    }

    /// In-flight messages whose owner is gone: sockets that did not survive, and pushes
    /// (their request died with the invocation). Pulled messages stay until their
    /// deadline: a pull consumer settles by HTTP.
    fn requeue_orphans(&mut self, now: Millis, store: &mut dyn Store) -> StoreResult<()> {
        let mut orphans = Vec::new();
        for (&ch, c) in &self.channels {
            for (&seq, f) in &c.in_flight {
                let alive = f.owner == ConsumerId::PULL || self.sockets.contains_key(&f.owner.0);
                if !alive {
                    orphans.push((ch, seq, f.deadline <= now && f.owner != ConsumerId::PUSH));
                }
            }
        }
        for (ch, seq, failed) in orphans {
            self.give_back(now, store, ch, seq, failed, 0, &super::store::CheckpointWrite::Keep)?;
        }
        Ok(())
    }
}

/// The heads of the events of first deliveries being restored: one range read when they
/// are close together, else one read each.
fn heads_of(store: &mut dyn Store, seqs: &[Seq]) -> StoreResult<Vec<EventHead>> {
    let (Some(&first), Some(&last)) = (seqs.iter().min(), seqs.iter().max()) else { return Ok(Vec::new()) };
    if last - first < 4 * seqs.len() as u64 {
        return store.event_heads(first, (last - first + 1) as usize);
    }
    let mut heads = Vec::new();
    for &seq in seqs {
        heads.extend(store.event_heads(seq, 1)?.into_iter().filter(|e| e.seq == seq));
    }
    Ok(heads)
}

/// A first delivery in flight again (attempt 1), with its event's key and expiry.
fn first_delivery(
    heads: &[EventHead],
    seq: Seq,
    owner: ConsumerId,
    deadline: Millis,
    max_attempts: u32,
    timeout_ms: Millis,
    lease: u64,
) -> InFlight {
    let head = heads.iter().find(|h| h.seq == seq);
    InFlight {
        owner,
        deadline,
        attempt: 1,
        failures: 0,
        max_attempts,
        timeout_ms,
        key: head.and_then(|h| h.key.as_deref()).map(Into::into),
        expires_at: head.and_then(|h| h.expires_at),
        has_checkpoint: false,
        lease: Some(lease),
    }
}
