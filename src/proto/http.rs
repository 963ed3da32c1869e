//! JSON bodies of the HTTP API (`docs/PROTOCOL.md`, "HTTP endpoints").

use serde::{Deserialize, Serialize};

/// `201` answer to a single-event publish.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    /// Topic (wire name).
    pub topic: String,
    /// Message id.
    pub id: String,
    /// Sequence number (the original one for a duplicate).
    pub seq: u64,
    /// Partition.
    #[serde(default)]
    pub partition: u32,
    /// Whether the event had been accepted before.
    pub duplicate: bool,
}

/// One entry of a batch answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchItem {
    /// Message id.
    pub id: String,
    /// Sequence number.
    pub seq: u64,
    /// Partition.
    #[serde(default)]
    pub partition: u32,
    /// Whether the event had been accepted before.
    pub duplicate: bool,
}

/// `201` answer to a batch publish.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchPublished {
    /// Topic (wire name).
    pub topic: String,
    /// One entry per event, in array order.
    pub results: Vec<BatchItem>,
}

/// Counters and gauges of one channel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelStats {
    /// Channel (wire name).
    pub channel: String,
    /// Messages neither finished nor dead.
    pub depth: u64,
    /// Messages that may be delivered now.
    pub ready: u64,
    /// Messages delivered and not yet settled.
    pub in_flight: u64,
    /// Messages waiting for a time.
    pub deferred: u64,
    /// Dead letters.
    pub dead: u64,
    /// Attached consumers.
    pub consumers: u64,
    /// The attached socket consumers, one entry each, in attach order (nsqd's `clients`).
    #[serde(default)]
    pub attached: Vec<AttachedConsumer>,
    /// Whether delivery is paused.
    pub paused: bool,
    /// Events published to the topic since the channel was created.
    pub published_total: u64,
    /// Deliveries (first ones and redeliveries).
    pub delivered_total: u64,
    /// Messages finished.
    pub finished_total: u64,
    /// Messages given back (req, shelve, disconnect, timeout).
    pub requeued_total: u64,
    /// Deliveries whose deadline passed.
    pub timed_out_total: u64,
    /// Messages dropped from an ephemeral channel's full backlog.
    pub dropped_total: u64,
    /// Events the channel's filter did not match.
    #[serde(default)]
    pub filtered_total: u64,
    /// Messages not delivered (again) because they expired.
    #[serde(default)]
    pub expired_total: u64,
    /// The channel's filter, as it was given when the channel was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<serde_json::Value>,
    /// A push channel's settings (no secret; header values hidden).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push: Option<super::push::PushConfig>,
    /// Push deliveries answered 2xx.
    #[serde(default)]
    pub push_ok_total: u64,
    /// Push deliveries that failed (an error status, a timeout, a network error).
    #[serde(default)]
    pub push_failed_total: u64,
    /// The last push failure, until a delivery succeeds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_error: Option<String>,
    /// The partition (in the `partitions` list of a partitioned topic's channel).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<u32>,
    /// A partitioned topic's channel: the stats of each partition (the fields above add
    /// them up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partitions: Option<Vec<ChannelStats>>,
}

/// One socket consumer attached to a channel. Its counters are kept in memory: they start
/// again when the topic object restarts (a deploy, or waking from hibernation).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachedConsumer {
    /// The socket's session id (the `session` of its `welcome`).
    pub session: String,
    /// Who it is: `/clients/{login}`, `/admin` or `/anonymous`.
    pub source: String,
    /// The address it connected from, when the runtime says (`CF-Connecting-IP`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Its credit (`max_in_flight`, changed by `rdy`).
    pub max_in_flight: u32,
    /// Messages in flight to it.
    pub in_flight: u64,
    /// Messages sent to it.
    pub delivered: u64,
    /// Messages it finished.
    pub finished: u64,
    /// Messages taken back from it (`req`, `shelve`, a passed deadline).
    pub requeued: u64,
    /// It asked for `msgs` frames.
    pub batch: bool,
    /// When its socket was opened (RFC 3339).
    pub connected_at: String,
    /// Its partition, in a partitioned topic's channel stats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<u32>,
}

/// `GET /v1/topics/{topic}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicStats {
    /// Topic (wire name).
    pub topic: String,
    /// Highest sequence number given so far (0 for none).
    pub seq: u64,
    /// Events kept in storage.
    pub retained: u64,
    /// The partition these stats are of (set by a partition's own object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<u32>,
    /// How many partitions the topic has.
    #[serde(default = "one")]
    pub partitions: u32,
    /// One entry per channel, by name.
    pub channels: Vec<ChannelStats>,
}

fn one() -> u32 {
    1
}

/// Body of `PUT .../channels/{channel}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CreateChannel {
    /// First sequence number the channel delivers (default: the topic's next).
    pub from_seq: Option<u64>,
    /// A CloudEvents Subscriptions API filter (or an array of them), fixed at creation.
    pub filter: Option<serde_json::Value>,
    /// Makes a push channel.
    pub push: Option<super::push::PushConfig>,
}

/// Body of `POST .../seek`: one of `seq` or `time`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Seek {
    /// First sequence number to deliver again.
    pub seq: Option<u64>,
    /// First acceptance time (RFC 3339) to deliver again.
    pub time: Option<String>,
    /// A partitioned topic's partition, for a seek by `seq` (read by the front Worker).
    pub partition: Option<u32>,
}

/// Body of `POST .../dead/redrive`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Redrive {
    /// Message ids to redrive (default: every dead letter).
    pub ids: Option<Vec<String>>,
}

/// One entry of `GET .../dead`.
#[derive(Debug, Serialize)]
pub struct DeadLetter {
    /// Message id.
    pub id: String,
    /// Sequence number.
    pub seq: u64,
    /// Partition.
    pub partition: u32,
    /// Failed deliveries.
    pub failures: u32,
    /// The CloudEvent, as stored.
    pub event: Box<serde_json::value::RawValue>,
    /// Last saved checkpoint, or null.
    pub checkpoint: Option<Box<serde_json::value::RawValue>>,
}

/// `GET .../dead`.
#[derive(Debug, Serialize)]
pub struct DeadLetters {
    /// Dead letters, lowest seq first.
    pub messages: Vec<DeadLetter>,
    /// More follow: pass this as `?cursor=` to continue.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// Body of `POST .../pull`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Pull {
    /// Most messages (1..=1,000, default 10).
    pub max: Option<u64>,
    /// Deadline of each message (the handler timeout), default 60,000.
    pub visibility_ms: Option<u64>,
    /// Long-poll: wait up to this long for a message (0..=30,000, default 0).
    pub wait_ms: Option<u64>,
    /// Failures after which a message is dead (default 0 = never).
    pub max_attempts: Option<u64>,
    /// Partition (partitioned topics; routed by the front Worker).
    pub partition: Option<u32>,
    /// Only wait (up to `wait_ms`) until a message is ready and answer
    /// `{"messages": [], "ready": true}`, taking none: how the front Worker long-polls
    /// every partition of a topic at once for a pull that names none.
    #[serde(default)]
    pub wait_only: bool,
}

/// A [`Pull`], checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PullParams {
    /// Most messages (0: only wait until one is ready).
    pub max: usize,
    /// Deadline of each message.
    pub visibility_ms: u64,
    /// Long-poll wait.
    pub wait_ms: u64,
    /// The partition the body named, if any.
    pub partition: Option<u32>,
    /// Failures after which a message is dead.
    pub max_attempts: u32,
}

/// Longest long-poll of a pull.
pub const MAX_PULL_WAIT_MS: u64 = 30_000;

impl Pull {
    /// Checks the ranges, applying the defaults.
    pub fn check(&self, l: &super::Limits) -> Result<PullParams, super::ApiError> {
        use super::frame::in_range;
        let max = in_range("max", self.max.unwrap_or(10), 1, 1_000)? as usize;
        Ok(PullParams {
            max: if self.wait_only { 0 } else { max },
            visibility_ms: in_range(
                "visibility_ms",
                self.visibility_ms.unwrap_or(60_000),
                l.min_handler_timeout_ms,
                l.max_handler_timeout_ms,
            )?,
            wait_ms: in_range("wait_ms", self.wait_ms.unwrap_or(0), 0, MAX_PULL_WAIT_MS)?,
            max_attempts: in_range("max_attempts", self.max_attempts.unwrap_or(0), 0, u64::from(u32::MAX))?
                as u32,
            partition: self.partition,
        })
    }
}

/// Body of `POST .../settle`.
#[derive(Debug, Default, Deserialize)]
pub struct SettleBody {
    /// What to do with each pulled message, in order.
    pub settle: Vec<SettleItem>,
}

/// One item of a `settle`.
#[derive(Debug, Deserialize)]
pub struct SettleItem {
    /// `fin`, `touch`, `req` or `shelve`.
    pub op: String,
    /// Message id.
    pub id: String,
    /// New checkpoint (`null` clears it).
    #[serde(default, deserialize_with = "super::frame::present")]
    pub state: Option<super::frame::Json>,
    /// Delay (req, shelve).
    pub delay_ms: Option<u64>,
}
