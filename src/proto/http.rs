//! JSON bodies of the HTTP API (PROTOCOL.md section 3).

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
    /// One entry per channel, by name.
    pub channels: Vec<ChannelStats>,
}

/// Body of `PUT .../channels/{channel}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CreateChannel {
    /// First sequence number the channel delivers (default: the topic's next).
    pub from_seq: Option<u64>,
}

/// Body of `POST .../seek`: one of `seq` or `time`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Seek {
    /// First sequence number to deliver again.
    pub seq: Option<u64>,
    /// First acceptance time (RFC 3339) to deliver again.
    pub time: Option<String>,
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
}
