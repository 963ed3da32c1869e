//! The rows the broker reads and writes through [`super::store::Store`]: events,
//! channels, messages, leases, and what is counted or listed of them.

use super::{ConsumerId, Millis, Seq};

/// An event as stored: one row per accepted event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    /// Its seq.
    pub seq: Seq,
    /// Acceptance time.
    pub ts: Millis,
    /// CloudEvents `source` (for dedup).
    pub source: String,
    /// CloudEvents `id` (for dedup).
    pub eid: String,
    /// Ordering key, if any.
    pub key: Option<String>,
    /// Deliver from this time on (deferred publish).
    pub deliver_at: Option<Millis>,
    /// Not delivered after this time (expiry).
    pub expires_at: Option<Millis>,
    /// A request (delivered with `"reply": true`).
    pub reply: bool,
    /// The CloudEvent, JSON text, as accepted.
    pub body: String,
}

/// What the broker reads of an event to route it: everything but the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventHead {
    /// Its seq.
    pub seq: Seq,
    /// Acceptance time.
    pub ts: Millis,
    /// Ordering key, if any.
    pub key: Option<String>,
    /// Deliver from this time on.
    pub deliver_at: Option<Millis>,
    /// Not delivered after this time.
    pub expires_at: Option<Millis>,
    /// A request.
    pub reply: bool,
}

impl From<&EventRow> for EventHead {
    fn from(e: &EventRow) -> Self {
        EventHead {
            seq: e.seq,
            ts: e.ts,
            key: e.key.clone(),
            deliver_at: e.deliver_at,
            expires_at: e.expires_at,
            reply: e.reply,
        }
    }
}

/// The persistent part of a channel.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct ChannelRow {
    /// Storage id (message and lease rows refer to it).
    pub id: u32,
    /// Wire name.
    pub name: String,
    /// The topic's head when the channel was made (for `published_total`).
    pub base_seq: Seq,
    /// The lowest seq the channel has not looked at: every seq below it that has no
    /// message row and is in no lease is finished (or was skipped) for this channel.
    pub cursor: Seq,
    /// Delivery is paused.
    pub paused: bool,
    /// Counters (see `ChannelStats`).
    pub counters: Counters,
    /// The channel's filter (JSON text), fixed when it was made.
    pub filter: Option<String>,
    /// Push settings (JSON text of `PushConfig`, with the secret).
    pub push: Option<String>,
    /// The last push error, for stats.
    pub push_error: Option<String>,
    /// An ephemeral channel had a consumer: it goes with the last one, so a restart that
    /// lost every consumer deletes it too.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub had_consumer: bool,
    /// A filtered channel judges each event as it is published: the events in
    /// (`judged_from`, `judged_through`] were judged then, and `filtered_ahead` of those
    /// at or after the cursor did not match (already in `filtered_total`, not in `depth`).
    pub judged_from: Seq,
    /// See `judged_from`.
    pub judged_through: Seq,
    /// See `judged_from`.
    pub filtered_ahead: u64,
    /// First deliveries in flight with no lease row (`[seq, owner, deadline,
    /// max_attempts, timeout_ms]`): a channel with few in flight keeps them in its row,
    /// written with the delivery, so a `fin` writes this row alone.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub held: Vec<(Seq, u64, Millis, u32, Millis)>,
}

/// A channel's monotonic counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Counters {
    /// Deliveries, first ones and redeliveries.
    pub delivered: u64,
    /// Messages finished.
    pub finished: u64,
    /// Messages given back.
    pub requeued: u64,
    /// Deliveries whose deadline passed.
    pub timed_out: u64,
    /// Messages dropped from an ephemeral channel's full backlog.
    pub dropped: u64,
    /// Events the channel's filter did not match.
    pub filtered: u64,
    /// Messages not delivered (again) because they expired.
    pub expired: u64,
    /// Push deliveries answered 2xx.
    pub push_ok: u64,
    /// Push deliveries that failed.
    pub push_failed: u64,
}

/// Where a message with a row stands in its channel. Messages without a row are either
/// "fresh" (at or after the cursor) or finished (before it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RowState {
    /// Delivered, until a deadline (redeliveries, touched or pulled messages).
    InFlight,
    /// May be delivered (requeued, redriven, or a deferral that came due).
    Ready,
    /// May be delivered from `due` on.
    Deferred,
    /// A dead letter.
    Dead,
    /// Ready, but an earlier message with its ordering key is still pending.
    Parked,
}

impl RowState {
    /// Whether the message is still pending (not finished, not dead).
    pub fn pending(self) -> bool {
        !matches!(self, RowState::Dead)
    }
}

/// A message row without its checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageHead {
    /// Channel storage id.
    pub channel: u32,
    /// Which message.
    pub seq: Seq,
    /// Its state.
    pub state: RowState,
    /// In flight: to whom.
    pub owner: ConsumerId,
    /// In flight: the deadline; deferred: when it becomes ready.
    pub due: Millis,
    /// Deliveries so far.
    pub attempt: u32,
    /// Failed deliveries so far.
    pub failures: u32,
    /// In flight: failures after which it is dead (0 = never).
    pub max_attempts: u32,
    /// In flight: how long a `touch` extends the deadline.
    pub timeout_ms: Millis,
    /// Ordering key, if any (copied from the event).
    pub key: Option<String>,
    /// Expiry of the event, if any (copied from the event).
    pub expires_at: Option<Millis>,
    /// Whether a checkpoint is stored.
    pub has_checkpoint: bool,
}

/// What a message write does to the stored checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckpointWrite {
    /// Leave it as it is.
    Keep,
    /// Replace it (JSON text).
    Set(String),
    /// Remove it.
    Clear,
}

/// First deliveries of one broker call to one owner: one row for all of them, so a
/// message delivered for the first time costs no row of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseRow {
    /// Channel storage id.
    pub channel: u32,
    /// Lease id, unique within the channel.
    pub id: u64,
    /// To whom.
    pub owner: ConsumerId,
    /// The deadline of every message in it.
    pub deadline: Millis,
    /// Failures after which a message is dead (0 = never).
    pub max_attempts: u32,
    /// How long a `touch` extends a deadline.
    pub timeout_ms: Millis,
    /// The messages still in flight under it, ascending.
    pub seqs: Vec<Seq>,
}

/// How many rows of each state a channel has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RowCounts {
    /// In flight (rows, not leases).
    pub in_flight: u64,
    /// Ready.
    pub ready: u64,
    /// Deferred.
    pub deferred: u64,
    /// Dead.
    pub dead: u64,
    /// Parked.
    pub parked: u64,
    /// Rows with an ordering key that are pending and not in flight.
    pub keyed_waiting: u64,
}

/// A dead letter as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadRow {
    /// Which message.
    pub seq: Seq,
    /// Failed deliveries.
    pub failures: u32,
    /// Last checkpoint (JSON text).
    pub checkpoint: Option<String>,
    /// The event (JSON text), if still stored.
    pub body: Option<String>,
}
