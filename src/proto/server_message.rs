//! The client's decoding of the frames a server sends (`docs/PROTOCOL.md`, "WebSocket
//! protocol"), without typed serde visitors (see [`Fields`]). `codec.rs` encodes the
//! client's own frames.

use super::flat::{self, not, only_maps_or_seqs, Member};
use serde::{Deserialize, Deserializer, Serialize};

/// A server frame's fields, read without typed serde visitors: everything goes through
/// `deserialize_any` (values as [`Member`]s, `messages` and `results` as lists of such
/// objects). Typed visitors (and `RawValue`'s) would bring serde's "invalid type" messages,
/// and with them float formatting, into the client's wasm (about a tenth of it);
/// `serde_json::Value`, its map type. A delivery's `event` and `checkpoint` are passed on
/// as the text the server sent, found with [`flat::members`] once the frame has parsed.
#[derive(Debug, Default)]
struct Fields {
    values: Vec<(String, Member)>,
    messages: Option<Vec<Fields>>,
    results: Option<Vec<Fields>>,
}

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Fields;
            only_maps_or_seqs!("a frame is a JSON object");
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, _: A) -> Result<Fields, A::Error> {
                Err(not("a frame is a JSON object"))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Fields, A::Error> {
                let mut f = Fields::default();
                while let Some(key) = m.next_key::<String>()? {
                    match key.as_str() {
                        "messages" => f.messages = Some(m.next_value::<List>()?.0),
                        "results" => f.results = Some(m.next_value::<List>()?.0),
                        _ => f.values.push((key, m.next_value()?)),
                    }
                }
                Ok(f)
            }
        }
        d.deserialize_any(V)
    }
}

/// `messages` (delivery objects) or `results` (one object per event published).
struct List(Vec<Fields>);

impl<'de> Deserialize<'de> for List {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = List;
            only_maps_or_seqs!("a list of objects");
            fn visit_map<A: serde::de::MapAccess<'de>>(self, _: A) -> Result<List, A::Error> {
                Err(not("a list of objects"))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut s: A) -> Result<List, A::Error> {
                let mut all = Vec::new();
                while let Some(f) = s.next_element::<Fields>()? {
                    all.push(f);
                }
                Ok(List(all))
            }
        }
        d.deserialize_any(V)
    }
}

impl Fields {
    fn get(&self, key: &str) -> Option<&Member> {
        self.values.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
    fn text(&self, key: &str) -> Option<String> {
        self.get(key).and_then(Member::text).map(str::to_owned)
    }
    fn int(&self, key: &str) -> Option<u64> {
        self.get(key).and_then(Member::int)
    }
    fn small(&self, key: &str) -> Option<u32> {
        self.int(key).and_then(|n| u32::try_from(n).ok())
    }
    fn flag(&self, key: &str) -> Option<bool> {
        self.get(key).and_then(Member::flag)
    }

    /// The delivery these fields describe; `raw` is their object's text.
    fn delivery(self, raw: &str, op: &str) -> Result<Delivered, String> {
        let need = |what: &str| format!("{op} without \"{what}\"");
        let members = flat::members(raw).unwrap_or_default();
        // The last of a repeated key, as serde_json reads it.
        let member = |key: &str| members.iter().rev().find(|(k, _)| k == key).map(|(_, v)| *v);
        Ok(Delivered {
            id: self.text("id").ok_or_else(|| need("id"))?,
            seq: self.int("seq").ok_or_else(|| need("seq"))?,
            partition: self.small("partition").unwrap_or(0),
            attempt: self.small("attempt").unwrap_or(1),
            failures: self.small("failures").unwrap_or(0),
            deadline: self.int("deadline").ok_or_else(|| need("deadline"))?,
            reply: self.flag("reply").unwrap_or(false),
            checkpoint: member("checkpoint").filter(|c| *c != "null").map(str::to_owned),
            event: member("event").ok_or_else(|| need("event"))?.to_owned(),
        })
    }
}

/// One entry of the answer to a `pub` with `events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PubResult {
    /// Message id.
    pub id: String,
    /// Sequence number (per partition).
    pub seq: u64,
    /// Partition.
    pub partition: u32,
    /// Whether the event had been accepted before.
    pub duplicate: bool,
}

impl PubResult {
    fn read(f: &Fields) -> Option<PubResult> {
        Some(PubResult {
            id: f.text("id")?,
            seq: f.int("seq")?,
            partition: f.small("partition").unwrap_or(0),
            duplicate: f.flag("duplicate").unwrap_or(false),
        })
    }
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
    /// Last saved handler state, if any, as JSON text.
    pub checkpoint: Option<String>,
    /// The CloudEvent, as the JSON text the server sent.
    pub event: String,
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
        let f: Fields = serde_json::from_str(text).map_err(|e| format!("malformed frame: {e}"))?;
        let op = f.text("op").ok_or("frame has no \"op\"")?;
        let need = |what: &str| format!("{op} frame without \"{what}\"");
        Ok(match op.as_str() {
            "welcome" => ServerMessage::Welcome {
                topic: f.text("topic").ok_or_else(|| need("topic"))?,
                channel: f.text("channel"),
                session: f.text("session").ok_or_else(|| need("session"))?,
                max_in_flight: f.int("max_in_flight").unwrap_or(0),
                heartbeat_ms: f.int("heartbeat_ms").ok_or_else(|| need("heartbeat_ms"))?,
                batch: f.flag("batch").unwrap_or(false),
                partition: f.small("partition").unwrap_or(0),
                partitions: f.small("partitions").unwrap_or(1),
            },
            "msg" => ServerMessage::Msg(f.delivery(text, "msg frame")?),
            "msgs" => {
                let list = f.messages.ok_or_else(|| need("messages"))?;
                let raw = flat::members(text)
                    .and_then(|m| m.into_iter().rev().find(|(k, _)| k == "messages"))
                    .and_then(|(_, v)| flat::elements(v))
                    .unwrap_or_default();
                ServerMessage::Msgs(
                    list.into_iter()
                        .zip(raw.into_iter().chain(std::iter::repeat("")))
                        .map(|(d, raw)| d.delivery(raw, "msgs element"))
                        .collect::<Result<_, _>>()?,
                )
            }
            "ok" => ServerMessage::Ok(OkAnswer {
                // A ref that is not a number is not one of the client's.
                reference: f.int("ref"),
                id: f.text("id"),
                seq: f.int("seq"),
                partition: f.small("partition"),
                duplicate: f.flag("duplicate"),
                deadline: f.int("deadline"),
                settled: f.int("settled"),
                missing: f.get("missing").and_then(Member::texts).map(<[String]>::to_vec),
                results: f.results.as_ref().map(|r| r.iter().filter_map(PubResult::read).collect()),
            }),
            "error" => ServerMessage::Error {
                reference: f.int("ref"),
                code: f.text("code").ok_or_else(|| need("code"))?,
                message: f.text("message").unwrap_or_default(),
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
