//! The broker's state (its start-up is in `load.rs`).

use super::channel::Channel;
use super::consumer::Socket;
use super::dedup::Dedup;
use super::output::{LogLevel, Output};
use super::store::{EventHead, Store, StoreResult};
use super::timers::Timer;
use super::{ConsumerId, Millis, Seq, SocketId};
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

/// The "lease" of a first delivery kept in its channel row (`ChannelRow::held`) instead
/// of a lease row (lease ids start at 1).
pub const HELD: u64 = 0;
/// Most first deliveries a channel row keeps; more go under lease rows.
pub const HELD_PER_CHANNEL: usize = 16;

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
    /// The first event stored with an expiry time (0: none ever was): channel stats count
    /// the expired events at or after it that no cursor has passed yet.
    pub(super) expiry_from: Seq,
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
    /// The bodies (and request marks) of the events this call appended, so its
    /// deliveries need not read them back (emptied at the end of the call).
    pub(super) fresh_bodies: HashMap<Seq, (String, bool)>,
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
            expiry_from: 0,
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
            fresh_bodies: HashMap::new(),
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
