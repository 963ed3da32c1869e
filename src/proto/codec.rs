//! The client's half of the frame codec (PROTOCOL.md section 4): encoding the frames a
//! client sends and decoding the frames a server sends. `frame.rs` holds the server's
//! half; the two are tested against each other and against the golden fixtures.

use super::frame::{ClientFrame, Json, Settle, SettleIds};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

/// Every field a client frame may carry, borrowed, for encoding.
#[derive(Default, Serialize)]
struct WireFrame<'a> {
    op: &'a str,
    #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
    reference: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    login: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_in_flight: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    handler_timeout_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_attempts: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    heartbeat_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    count: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    delay_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    datacontenttype: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    event: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    events: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ids: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ordering_key: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ttl_ms: Option<u64>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    batch: bool,
}

impl ClientFrame {
    /// The frame as JSON text; [`ClientFrame::decode`] reads it back unchanged.
    pub fn encode(&self) -> String {
        let f = match self {
            ClientFrame::Hello(h) => WireFrame {
                op: "hello",
                login: h.login.as_deref(),
                secret: h.secret.as_deref(),
                token: h.token.as_deref(),
                client_id: h.client_id.as_deref(),
                max_in_flight: h.max_in_flight,
                handler_timeout_ms: h.handler_timeout_ms,
                max_attempts: h.max_attempts,
                heartbeat_ms: h.heartbeat_ms,
                batch: h.batch,
                ..Default::default()
            },
            ClientFrame::Rdy { count, reference } => WireFrame {
                op: "rdy",
                count: Some(*count),
                reference: reference.as_ref(),
                ..Default::default()
            },
            ClientFrame::Settle { verb, ids, state, delay_ms, reference } => WireFrame {
                op: verb.op(),
                id: match ids {
                    SettleIds::One(id) => Some(id),
                    SettleIds::Many(_) => None,
                },
                ids: match ids {
                    SettleIds::One(_) => None,
                    SettleIds::Many(ids) => Some(ids),
                },
                state: state.as_deref(),
                delay_ms: *delay_ms,
                reference: reference.as_ref(),
                ..Default::default()
            },
            ClientFrame::Respond { id, data, datacontenttype, reference } => WireFrame {
                op: "respond",
                id: Some(id),
                data: Some(data),
                datacontenttype: datacontenttype.as_deref(),
                reference: reference.as_ref(),
                ..Default::default()
            },
            ClientFrame::Pub(p) => WireFrame {
                op: "pub",
                event: p.event.as_deref(),
                data: p.data.as_deref(),
                events: p.events.as_deref(),
                ordering_key: p.ordering_key.as_deref(),
                delay_ms: p.delay_ms,
                ttl_ms: p.ttl_ms,
                reference: p.reference.as_ref(),
                ..Default::default()
            },
            ClientFrame::Ping => WireFrame { op: "ping", ..Default::default() },
        };
        serde_json::to_string(&f).unwrap_or_else(|_| r#"{"op":"ping"}"#.to_owned())
    }
}

impl Settle {
    /// The verb's op name on the wire.
    pub fn op(self) -> &'static str {
        match self {
            Settle::Fin => "fin",
            Settle::Touch => "touch",
            Settle::Req => "req",
            Settle::Shelve => "shelve",
        }
    }

    /// The verb for an op name.
    pub fn from_op(op: &str) -> Option<Settle> {
        match op {
            "fin" => Some(Settle::Fin),
            "touch" => Some(Settle::Touch),
            "req" => Some(Settle::Req),
            "shelve" => Some(Settle::Shelve),
            _ => None,
        }
    }
}

/// `Some(raw)` whenever the field is present and not `null`.
fn non_null<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Json>, D::Error> {
    let raw = Json::deserialize(d)?;
    Ok((raw.get() != "null").then_some(raw))
}

/// The fields of one delivery (a `msg` frame, or an element of `msgs`).
#[derive(Debug, Default, Deserialize)]
struct RawDelivery {
    id: Option<String>,
    seq: Option<u64>,
    partition: Option<u32>,
    attempt: Option<u32>,
    failures: Option<u32>,
    deadline: Option<u64>,
    reply: Option<bool>,
    #[serde(default, deserialize_with = "non_null")]
    checkpoint: Option<Json>,
    event: Option<Json>,
}

impl RawDelivery {
    fn check(self, op: &str) -> Result<Delivered, String> {
        let need = |what: &str| format!("{op} without \"{what}\"");
        Ok(Delivered {
            id: self.id.ok_or_else(|| need("id"))?,
            seq: self.seq.ok_or_else(|| need("seq"))?,
            partition: self.partition.unwrap_or(0),
            attempt: self.attempt.unwrap_or(1),
            failures: self.failures.unwrap_or(0),
            deadline: self.deadline.ok_or_else(|| need("deadline"))?,
            reply: self.reply.unwrap_or(false),
            checkpoint: self.checkpoint,
            event: self.event.ok_or_else(|| need("event"))?,
        })
    }
}

/// One entry of the answer to a `pub` with `events`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct PubResult {
    /// Message id.
    pub id: String,
    /// Sequence number (per partition).
    pub seq: u64,
    /// Partition.
    #[serde(default)]
    pub partition: u32,
    /// Whether the event had been accepted before.
    #[serde(default)]
    pub duplicate: bool,
}

/// A `ref` as the client sent it (a number); any other value reads as none, so a frame
/// answering someone else's string ref still decodes (and without `serde_json::Value`,
/// which would weigh on the client's wasm).
fn our_ref<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    struct V;
    impl<'de> serde::de::Visitor<'de> for V {
        type Value = Option<u64>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a ref")
        }
        fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
            while a.next_element::<serde::de::IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
            while a.next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?.is_some() {}
            Ok(None)
        }
    }
    d.deserialize_any(V)
}

/// Every field a server frame may carry (a delivery's fields are read separately: serde
/// cannot flatten the raw `event`).
#[derive(Debug, Default, Deserialize)]
struct RawServerFrame {
    op: Option<String>,
    #[serde(rename = "ref", default, deserialize_with = "our_ref")]
    reference: Option<u64>,
    topic: Option<String>,
    channel: Option<String>,
    session: Option<String>,
    max_in_flight: Option<u64>,
    heartbeat_ms: Option<u64>,
    batch: Option<bool>,
    partitions: Option<u32>,
    partition: Option<u32>,
    id: Option<String>,
    seq: Option<u64>,
    attempt: Option<u32>,
    failures: Option<u32>,
    deadline: Option<u64>,
    reply: Option<bool>,
    #[serde(default, deserialize_with = "non_null")]
    checkpoint: Option<Json>,
    event: Option<Json>,
    duplicate: Option<bool>,
    settled: Option<u64>,
    missing: Option<Vec<String>>,
    results: Option<Vec<PubResult>>,
    messages: Option<Vec<RawDelivery>>,
    code: Option<String>,
    message: Option<String>,
}

/// A delivery as the client sees it.
#[derive(Debug)]
pub struct Delivered {
    /// Message id (what fin/touch/req/shelve/respond take).
    pub id: String,
    /// Sequence number (per partition).
    pub seq: u64,
    /// Partition of the topic the message is in.
    pub partition: u32,
    /// Deliveries so far, this one included.
    pub attempt: u32,
    /// Failed deliveries so far.
    pub failures: u32,
    /// In-flight deadline, ms since the epoch.
    pub deadline: u64,
    /// Whether a `respond` is expected.
    pub reply: bool,
    /// Last saved handler state, if any.
    pub checkpoint: Option<Json>,
    /// The CloudEvent.
    pub event: Json,
}

/// A decoded server frame.
#[derive(Debug)]
pub enum ServerMessage {
    /// `hello` accepted.
    Welcome {
        /// Topic (wire name).
        topic: String,
        /// Channel (wire name), none on a publisher socket.
        channel: Option<String>,
        /// Session id.
        session: String,
        /// Credit granted.
        max_in_flight: u64,
        /// Keep-alive interval in force.
        heartbeat_ms: u64,
        /// The server takes settling frames with `ids` and may send `msgs` (v1.1).
        batch: bool,
        /// This socket's partition.
        partition: u32,
        /// The topic's number of partitions.
        partitions: u32,
    },
    /// A delivery.
    Msg(Delivered),
    /// Several deliveries in one frame.
    Msgs(Vec<Delivered>),
    /// A frame took effect.
    Ok(OkAnswer),
    /// A frame was refused.
    Error {
        /// The frame's `ref`, if it is a number (the client's refs are).
        reference: Option<u64>,
        /// Contract error code (kept as text: a newer server may send a newer code).
        code: String,
        /// Human text.
        message: String,
    },
    /// Answer to ping.
    Pong,
}

/// What an `ok` frame carries beyond its `ref`, depending on what it answers.
#[derive(Debug, Default)]
pub struct OkAnswer {
    /// The frame's `ref`, if it is a number (the client's refs are).
    pub reference: Option<u64>,
    /// Message id (`pub` answers).
    pub id: Option<String>,
    /// Sequence number (`pub` answers).
    pub seq: Option<u64>,
    /// Partition (`pub` answers).
    pub partition: Option<u32>,
    /// Duplicate flag (`pub` answers).
    pub duplicate: Option<bool>,
    /// New deadline (touch answers).
    pub deadline: Option<u64>,
    /// How many took effect (frames with `ids`).
    pub settled: Option<u64>,
    /// Ids that were not in flight (frames with `ids`).
    pub missing: Option<Vec<String>>,
    /// One entry per event (a `pub` with `events`).
    pub results: Option<Vec<PubResult>>,
}

impl ServerMessage {
    /// Decodes one server frame; `Err` names what is wrong with it.
    pub fn decode(text: &str) -> Result<ServerMessage, String> {
        let f: RawServerFrame = serde_json::from_str(text).map_err(|e| format!("malformed frame: {e}"))?;
        let op = f.op.ok_or("frame has no \"op\"")?;
        let need = |what: &str| format!("{op} frame without \"{what}\"");
        Ok(match op.as_str() {
            "welcome" => ServerMessage::Welcome {
                topic: f.topic.ok_or_else(|| need("topic"))?,
                channel: f.channel,
                session: f.session.ok_or_else(|| need("session"))?,
                max_in_flight: f.max_in_flight.unwrap_or(0),
                heartbeat_ms: f.heartbeat_ms.ok_or_else(|| need("heartbeat_ms"))?,
                batch: f.batch.unwrap_or(false),
                partition: f.partition.unwrap_or(0),
                partitions: f.partitions.unwrap_or(1),
            },
            "msg" => ServerMessage::Msg(
                RawDelivery {
                    id: f.id,
                    seq: f.seq,
                    partition: f.partition,
                    attempt: f.attempt,
                    failures: f.failures,
                    deadline: f.deadline,
                    reply: f.reply,
                    checkpoint: f.checkpoint,
                    event: f.event,
                }
                .check("msg frame")?,
            ),
            "msgs" => ServerMessage::Msgs(
                f.messages
                    .ok_or_else(|| need("messages"))?
                    .into_iter()
                    .map(|d| d.check("msgs element"))
                    .collect::<Result<_, _>>()?,
            ),
            "ok" => ServerMessage::Ok(OkAnswer {
                reference: f.reference,
                id: f.id,
                seq: f.seq,
                partition: f.partition,
                duplicate: f.duplicate,
                deadline: f.deadline,
                settled: f.settled,
                missing: f.missing,
                results: f.results,
            }),
            "error" => ServerMessage::Error {
                reference: f.reference,
                code: f.code.ok_or_else(|| need("code"))?,
                message: f.message.unwrap_or_default(),
            },
            "pong" => ServerMessage::Pong,
            other => return Err(format!("unknown op \"{other}\"")),
        })
    }

    /// Name of the op.
    pub fn op(&self) -> &'static str {
        match self {
            ServerMessage::Welcome { .. } => "welcome",
            ServerMessage::Msg(_) => "msg",
            ServerMessage::Msgs(_) => "msgs",
            ServerMessage::Ok(_) => "ok",
            ServerMessage::Error { .. } => "error",
            ServerMessage::Pong => "pong",
        }
    }
}
