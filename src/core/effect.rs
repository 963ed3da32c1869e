//! What the core asks its driver to do: deliver, persist, close. The driver drains these
//! after every call, in order, and applies them synchronously (so the persistence of one
//! call commits as one Durable Object write batch).

use super::{ConsumerId, Millis, Seq};

/// One thing the driver must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Send a `msg` frame for `seq` to `consumer`.
    Deliver(Delivery),
    /// Persist a change.
    Store(Store),
    /// Close the consumer's socket with a contract close code.
    Close {
        /// Which consumer.
        consumer: ConsumerId,
        /// Close code (4004, 4008, ...).
        code: u16,
        /// Human text.
        reason: String,
    },
}

/// A delivery, everything the `msg` frame needs but the event itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// To whom.
    pub consumer: ConsumerId,
    /// Which message.
    pub seq: Seq,
    /// Deliveries so far, this one included.
    pub attempt: u32,
    /// Failed deliveries so far.
    pub failures: u32,
    /// In-flight deadline.
    pub deadline: Millis,
    /// Last saved checkpoint (JSON text).
    pub checkpoint: Option<String>,
}

impl Delivery {
    /// The `msg` frame of this delivery around the stored event (JSON text). `reply` says
    /// whether the event is a request.
    pub fn msg_frame(&self, event_json: &str, reply: bool) -> String {
        let id = crate::proto::id::message_id(self.seq);
        let header = crate::proto::frame::MsgHeader {
            id: &id,
            seq: self.seq,
            attempt: self.attempt,
            failures: self.failures,
            deadline: self.deadline,
            reply,
            checkpoint: self.checkpoint.as_deref(),
        };
        crate::proto::frame::msg_frame(&header, event_json)
    }
}

/// A change to persist. Rows are keyed by channel name and, for messages, by `seq`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Store {
    /// Insert or replace a channel row.
    Channel(ChannelRecord),
    /// Delete a channel and all its message rows.
    DropChannel(String),
    /// Insert or replace a message row of a channel.
    Message {
        /// Channel name.
        channel: String,
        /// The row.
        record: MessageRecord,
    },
    /// Delete one message row.
    DropMessage {
        /// Channel name.
        channel: String,
        /// Which message.
        seq: Seq,
    },
    /// Delete every message row with `seq <= through` (they are below the floor).
    DropMessagesThrough {
        /// Channel name.
        channel: String,
        /// Highest seq to delete.
        through: Seq,
    },
    /// Delete every message row of a channel (it was rewound with seek).
    ClearMessages(String),
}

/// The persistent part of a channel.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelRecord {
    /// Wire name.
    pub name: String,
    /// Topic head when the channel was made (for `published_total`).
    pub base_seq: Seq,
    /// Every `seq <= floor` is done for this channel.
    pub floor: Seq,
    /// The lowest `seq` never delivered on this channel.
    pub cursor: Seq,
    /// Whether delivery is paused.
    pub paused: bool,
    /// Counter.
    pub delivered_total: u64,
    /// Counter.
    pub finished_total: u64,
    /// Counter.
    pub requeued_total: u64,
    /// Counter.
    pub timed_out_total: u64,
    /// Counter.
    pub dropped_total: u64,
}

/// Where a message stands in one channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageState {
    /// Delivered to a consumer until a deadline.
    InFlight {
        /// Which consumer.
        consumer: ConsumerId,
        /// When it times out.
        deadline: Millis,
    },
    /// May be delivered.
    Ready,
    /// May be delivered from this time on.
    Deferred {
        /// When.
        until: Millis,
    },
    /// Dead letter.
    Dead,
    /// Finished (kept only while above the channel's floor).
    Finished,
}

/// The persistent state of a message in a channel, once it is no longer simply "ready and
/// never delivered".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRecord {
    /// Which message.
    pub seq: Seq,
    /// Its state.
    pub state: MessageState,
    /// Deliveries so far.
    pub attempt: u32,
    /// Failed deliveries so far.
    pub failures: u32,
    /// Last saved handler state (JSON text).
    pub checkpoint: Option<String>,
}

impl MessageRecord {
    /// A message that was never delivered, ready.
    pub fn fresh(seq: Seq) -> Self {
        MessageRecord { seq, state: MessageState::Ready, attempt: 0, failures: 0, checkpoint: None }
    }
}
