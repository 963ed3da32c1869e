//! The broker's state and its start-up.
//!
//! [`Broker::load`] reads O(channels + in flight) rows: channel rows, row counts and next
//! due times per channel, in-flight rows and leases. Nothing proportional to the retained
//! backlog, the dead letters or the deferred messages is read; the dedup window is read
//! at the first publish, not at start-up.

use super::channel::{Channel, InFlight};
use super::consumer::Socket;
use super::dedup::Dedup;
use super::filter::Filter;
use super::output::{LogLevel, Output, SocketRecord};
use super::store::{EventHead, Store, StoreResult};
use super::timers::Timer;
use super::{ConsumerId, Millis, Seq, SocketId, HELLO_TIMEOUT_MS};
use crate::proto::Limits;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

/// Which partition of its topic a broker is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    /// Its index, 0-based.
    pub index: u32,
    /// How many partitions the topic has.
    pub count: u32,
}

impl Default for Partition {
    fn default() -> Self {
        Partition { index: 0, count: 1 }
    }
}

/// First deliveries made under one lease row.
#[derive(Debug, Clone)]
pub struct Lease {
    /// To whom.
    pub owner: ConsumerId,
    /// The deadline they were delivered with.
    pub deadline: Millis,
    /// Failures after which a message is dead.
    pub max_attempts: u32,
    /// How long a `touch` extends a deadline.
    pub timeout_ms: Millis,
    /// Still in flight under it.
    pub seqs: BTreeSet<Seq>,
}

/// A long-polling `pull` waiting for messages.
#[derive(Debug, Clone)]
pub struct Waiter {
    /// Channel storage id.
    pub channel: u32,
    /// Most messages it takes.
    pub max: usize,
    /// Deadline of each message it takes.
    pub visibility_ms: Millis,
    /// Failures after which a message is dead.
    pub max_attempts: u32,
    /// Messages delivered to it in this call.
    pub taken: Vec<Seq>,
}

/// A delivery made during the current call, turned into frames at its end.
#[derive(Debug, Clone, Copy)]
pub struct Delivered {
    /// Channel storage id.
    pub channel: u32,
    /// To whom.
    pub owner: ConsumerId,
    /// Which message.
    pub seq: Seq,
    /// A first delivery (goes under a lease, has no row).
    pub fresh: bool,
    /// The waiting pull it goes to, if any.
    pub waiter: Option<u64>,
}

/// Most recent event heads kept for delivery without a storage read.
const RECENT_HEADS: usize = 4_096;

/// The broker of one topic partition.
#[derive(Debug)]
pub struct Broker {
    pub(super) limits: Limits,
    pub(super) partition: Partition,
    /// The topic's name, once something was stored for it.
    pub(super) topic: Option<String>,
    pub(super) head: Seq,
    pub(super) pruned_total: u64,
    /// The highest seq ever pruned: below it, the stored events may have holes.
    pub(super) max_pruned: Seq,
    pub(super) channels: BTreeMap<u32, Channel>,
    pub(super) by_name: HashMap<String, u32>,
    pub(super) next_channel: u32,
    pub(super) sockets: BTreeMap<SocketId, Socket>,
    pub(super) timers: BTreeSet<(Millis, Timer)>,
    pub(super) leases: BTreeMap<(u32, u64), Lease>,
    pub(super) next_lease: u64,
    /// Channels whose row must be written at the end of the call.
    pub(super) dirty: BTreeSet<u32>,
    /// Channels whose row may wait (cursor past first deliveries, `delivered_total`).
    pub(super) lazy: BTreeSet<u32>,
    /// When the `Rows` timer for `lazy` is set.
    pub(super) lazy_due: Option<Millis>,
    pub(super) dirty_leases: BTreeSet<(u32, u64)>,
    pub(super) delivered: Vec<Delivered>,
    pub(super) waiters: BTreeMap<u64, Waiter>,
    pub(super) next_waiter: u64,
    pub(super) dedup: Option<Dedup>,
    /// When the `Prune` timer is set.
    pub(super) prune_at: Option<Millis>,
    /// How often client sockets receiving deliveries are checked again (`None`: never).
    pub(super) recheck_ms: Option<Millis>,
    /// Whether the driver sends push deliveries.
    pub(super) pushes: bool,
    /// Heads of the most recent events, ascending, contiguous up to `head`.
    pub(super) recent: VecDeque<EventHead>,
    pub(super) out: Vec<Output>,
}

impl Broker {
    /// Lets the driver's push deliveries happen: it sends [`Output::Push`] requests. Without
    /// it (`memory://`), making a push channel is refused.
    pub fn allow_push(&mut self) {
        self.pushes = true;
    }

    /// An empty broker (a topic that has stored nothing).
    pub fn new(limits: Limits, partition: Partition) -> Self {
        Broker {
            limits,
            partition,
            topic: None,
            head: 0,
            pruned_total: 0,
            max_pruned: 0,
            channels: BTreeMap::new(),
            by_name: HashMap::new(),
            next_channel: 1,
            sockets: BTreeMap::new(),
            timers: BTreeSet::new(),
            leases: BTreeMap::new(),
            next_lease: 1,
            dirty: BTreeSet::new(),
            lazy: BTreeSet::new(),
            lazy_due: None,
            dirty_leases: BTreeSet::new(),
            delivered: Vec::new(),
            waiters: BTreeMap::new(),
            next_waiter: 1,
            dedup: None,
            prune_at: None,
            recheck_ms: None,
            pushes: false,
            recent: VecDeque::new(),
            out: Vec::new(),
        }
    }

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
            let (Some(&first), Some(&last)) = (l.seqs.first(), l.seqs.last()) else {
                store.delete_lease(l.channel, l.id)?;
                continue;
            };
            let heads = store.event_heads(first, (last - first + 1) as usize)?;
            let Some(ch) = b.channels.get_mut(&l.channel) else { continue };
            for &seq in &l.seqs {
                let head = heads.iter().find(|h| h.seq == seq);
                let f = InFlight {
                    owner: l.owner,
                    deadline: l.deadline,
                    attempt: 1,
                    failures: 0,
                    max_attempts: l.max_attempts,
                    timeout_ms: l.timeout_ms,
                    key: head.and_then(|h| h.key.as_deref()).map(Into::into),
                    expires_at: head.and_then(|h| h.expires_at),
                    has_checkpoint: false,
                    lease: Some(l.id),
                };
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
        let ids: Vec<SocketId> = b.sockets.keys().copied().collect();
        for id in ids {
            b.refresh_heartbeat(id);
        }
        b.arm_prune(now, store)?;
        b.pump_all(now, store)?;
        b.finish(now, store)?;
        Ok(b)
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

    /// The topic's name, if it has stored anything.
    pub fn topic(&self) -> Option<&str> {
        self.topic.as_deref()
    }

    /// The last seq given (0 for none).
    pub fn head(&self) -> Seq {
        self.head
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Events stored.
    pub fn retained(&self) -> u64 {
        self.head.saturating_sub(self.pruned_total)
    }

    /// How many entries the broker holds in memory (in-flight messages, ready rows held,
    /// read-ahead and recent event heads, leases, sockets, waiting pulls, dedup pairs):
    /// the measure tests and benchmarks use for "memory does not grow with the backlog".
    pub fn footprint(&self) -> usize {
        let per_channel: usize = self
            .channels
            .values()
            .map(|c| c.in_flight.len() + c.ready.rows.len() + c.lookahead.len() + 1)
            .sum();
        per_channel
            + self.recent.len()
            + self.leases.len()
            + self.sockets.len()
            + self.waiters.len()
            + self.dedup.as_ref().map_or(0, |d| d.len())
            + self.timers.len()
    }

    /// Takes what the driver must do, in order.
    pub fn drain(&mut self) -> Vec<Output> {
        std::mem::take(&mut self.out)
    }

    /// Queues a log line.
    pub(super) fn log(&mut self, level: LogLevel, event: &'static str, fields: serde_json::Value) {
        self.out.push(Output::Log { level, event, fields });
    }

    /// Queues a frame.
    pub(super) fn send(&mut self, socket: SocketId, text: String, ack: bool) {
        self.out.push(Output::Send { socket, text, ack });
    }

    /// Queues a close (the socket is forgotten by the caller).
    pub(super) fn close(&mut self, socket: SocketId, code: u16, reason: &str) {
        self.out.push(Output::Close { socket, code, reason: reason.to_owned() });
    }

    /// Remembers the topic's name with the first write made for it.
    pub(super) fn remember_topic(&mut self, store: &mut dyn Store, name: &str) -> StoreResult<()> {
        if self.topic.as_deref() != Some(name) {
            store.set_meta("topic", name)?;
            if self.partition.count > 1 {
                store.set_meta("partition", &format!("{}/{}", self.partition.index, self.partition.count))?;
            }
            self.topic = Some(name.to_owned());
            self.log(
                LogLevel::Info,
                "topic.created",
                serde_json::json!({ "topic": name, "partition": self.partition.index }),
            );
        }
        Ok(())
    }

    /// Adds freshly published heads to the recent-heads cache.
    pub(super) fn remember_heads(&mut self, heads: impl IntoIterator<Item = EventHead>) {
        for h in heads {
            if self.recent.back().is_some_and(|b| b.seq + 1 != h.seq) {
                self.recent.clear();
            }
            self.recent.push_back(h);
        }
        while self.recent.len() > RECENT_HEADS {
            self.recent.pop_front();
        }
    }

    /// The head of event `seq` if it is among the recent ones.
    pub(super) fn recent_head(&self, seq: Seq) -> Option<&EventHead> {
        let first = self.recent.front()?.seq;
        if seq < first {
            return None;
        }
        self.recent.get((seq - first) as usize)
    }
}
