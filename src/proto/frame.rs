//! WebSocket frames (`docs/PROTOCOL.md`, "WebSocket protocol"): one UTF-8 JSON object per
//! frame, with `op`.
//!
//! Client frames are decoded in two steps: serde reads every known field into a flat
//! [`RawFrame`] (unknown fields ignored), then [`ClientFrame::decode`] checks that the `op`
//! exists and has its required fields. A flat struct (not a tagged enum) is what lets
//! `state`, `event` and `data` stay unparsed [`RawValue`]s: serde cannot buffer those.

use super::error::{ApiError, ErrorCode};
use serde::{Deserialize, Deserializer};

pub use super::server_frame::{msg_fields, msg_frame, ok_frame, MsgHeader, OkFrame, ServerFrame};
use serde_json::value::RawValue;
use serde_json::Value;

/// Any JSON value, kept as text.
pub type Json = Box<RawValue>;

/// `Some(raw)` whenever the field is present, even when it is `null`.
pub(crate) fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Json>, D::Error> {
    Json::deserialize(d).map(Some)
}

/// Every field a client frame may carry.
#[derive(Debug, Default, Deserialize)]
struct RawFrame {
    op: Option<String>,
    #[serde(rename = "ref")]
    reference: Option<Value>,
    login: Option<String>,
    secret: Option<String>,
    token: Option<String>,
    client_id: Option<String>,
    max_in_flight: Option<u64>,
    handler_timeout_ms: Option<u64>,
    max_attempts: Option<u64>,
    heartbeat_ms: Option<u64>,
    count: Option<u64>,
    id: Option<String>,
    #[serde(default, deserialize_with = "present")]
    state: Option<Json>,
    delay_ms: Option<u64>,
    #[serde(default, deserialize_with = "present")]
    data: Option<Json>,
    datacontenttype: Option<String>,
    #[serde(default, deserialize_with = "present")]
    event: Option<Json>,
    #[serde(default, deserialize_with = "present")]
    events: Option<Json>,
    ids: Option<Vec<String>>,
    ordering_key: Option<String>,
    ttl_ms: Option<u64>,
    batch: Option<bool>,
}

/// The `hello` frame: credentials and consumer settings.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Hello {
    /// Client login (with `secret`).
    pub login: Option<String>,
    /// Client secret (with `login`).
    pub secret: Option<String>,
    /// A bearer token from `POST /v1/tokens`, instead of login and secret.
    pub token: Option<String>,
    /// Free-form id of the client process, shown in logs.
    pub client_id: Option<String>,
    /// Initial credit (default 1).
    pub max_in_flight: Option<u64>,
    /// In-flight deadline of each delivery (default 60,000).
    pub handler_timeout_ms: Option<u64>,
    /// Failures after which a message is dead (default 0 = unlimited).
    pub max_attempts: Option<u64>,
    /// Expected keep-alive interval (default 30,000).
    pub heartbeat_ms: Option<u64>,
    /// The consumer takes `msgs` frames (several deliveries in one).
    pub batch: bool,
}

impl Hello {
    /// Whether it carries credentials (login and secret, or a token).
    pub fn has_credentials(&self) -> bool {
        self.token.is_some() || self.login.is_some() || self.secret.is_some()
    }
}

/// Every `op` of a client frame, as [`ClientFrame::decode`] accepts them (and
/// [`ClientFrame::op`] names them). The wire reference, `docs/PROTOCOL.md`, is tested
/// against this list.
pub const CLIENT_OPS: [&str; 9] = ["hello", "rdy", "fin", "touch", "req", "shelve", "respond", "pub", "ping"];

/// Most ids one settling frame takes.
pub const MAX_SETTLE_IDS: usize = 2_500;

/// The message ids a settling frame names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettleIds {
    /// `"id"`: one message (answered `ok` or `error`).
    One(String),
    /// `"ids"`: many, each settled as if alone (answered `ok` with `settled` and `missing`).
    Many(Vec<String>),
}

/// A `pub` frame.
#[derive(Debug)]
pub struct PubFrame {
    /// A full CloudEvent.
    pub event: Option<Json>,
    /// Plain data (the bus makes the event).
    pub data: Option<Json>,
    /// A batch of CloudEvents (a JSON array).
    pub events: Option<Json>,
    /// Ordering key override.
    pub ordering_key: Option<String>,
    /// Delay before delivery.
    pub delay_ms: Option<u64>,
    /// Expiry after publication.
    pub ttl_ms: Option<u64>,
    /// Echoed in the answer.
    pub reference: Option<Value>,
}

/// What a client asks of a message it holds: the four settling verbs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settle {
    /// Done.
    Fin,
    /// Still working: extend the deadline.
    Touch,
    /// Failed: requeue or dead-letter.
    Req,
    /// Give back for later, not a failure.
    Shelve,
}

/// A decoded client frame.
#[derive(Debug)]
pub enum ClientFrame {
    /// First frame of every socket.
    Hello(Hello),
    /// Set the consumer's credit.
    Rdy {
        /// Messages that may be in flight at once.
        count: u64,
        /// Echoed in the answer (`ok` only when given).
        reference: Option<Value>,
    },
    /// fin / touch / req / shelve.
    Settle {
        /// Which verb.
        verb: Settle,
        /// Message id(s).
        ids: SettleIds,
        /// New checkpoint, if given (may be JSON `null`).
        state: Option<Json>,
        /// Delay before the message is ready again (req, shelve).
        delay_ms: Option<u64>,
        /// Echoed in the answer.
        reference: Option<Value>,
    },
    /// Answer to a message delivered with `"reply": true`.
    Respond {
        /// Message id.
        id: String,
        /// Response data.
        data: Json,
        /// Content type of `data`.
        datacontenttype: Option<String>,
        /// Echoed in the answer.
        reference: Option<Value>,
    },
    /// Publish over the socket.
    Pub(PubFrame),
    /// Keep-alive.
    Ping,
}

/// A frame the server refused, with the `ref` it carried (if it could be read).
#[derive(Debug)]
pub struct FrameError {
    /// The frame's `ref`.
    pub reference: Option<Value>,
    /// Why.
    pub error: ApiError,
}

impl ClientFrame {
    /// Decodes one text frame.
    pub fn decode(text: &str) -> Result<ClientFrame, FrameError> {
        let raw: RawFrame = serde_json::from_str(text).map_err(|e| FrameError {
            reference: reference_of(text),
            error: ApiError::invalid(format!("malformed frame: {e}")),
        })?;
        let reference = raw.reference.clone();
        // A checkpoint is stored and a response's data is passed on: both must be I-JSON.
        for json in [&raw.state, &raw.data].into_iter().flatten() {
            super::event::check_json(json.get(), super::event::MAX_JSON_DEPTH)
                .map_err(|error| FrameError { reference: reference.clone(), error })?;
        }
        raw.into_frame().map_err(|error| FrameError { reference, error })
    }

    /// Name of the op, for logs.
    pub fn op(&self) -> &'static str {
        match self {
            ClientFrame::Hello(_) => "hello",
            ClientFrame::Rdy { .. } => "rdy",
            ClientFrame::Settle { verb: Settle::Fin, .. } => "fin",
            ClientFrame::Settle { verb: Settle::Touch, .. } => "touch",
            ClientFrame::Settle { verb: Settle::Req, .. } => "req",
            ClientFrame::Settle { verb: Settle::Shelve, .. } => "shelve",
            ClientFrame::Respond { .. } => "respond",
            ClientFrame::Pub(_) => "pub",
            ClientFrame::Ping => "ping",
        }
    }
}

/// Best effort: the `ref` of a frame that did not decode.
fn reference_of(text: &str) -> Option<Value> {
    #[derive(Deserialize)]
    struct OnlyRef {
        #[serde(rename = "ref")]
        reference: Option<Value>,
    }
    serde_json::from_str::<OnlyRef>(text).ok().and_then(|r| r.reference)
}

impl RawFrame {
    fn into_frame(self) -> Result<ClientFrame, ApiError> {
        let op = self.op.ok_or_else(|| ApiError::invalid("frame has no \"op\""))?;
        let need_id = |id: Option<String>| id.ok_or_else(|| ApiError::invalid(format!("{op} needs \"id\"")));
        let settle = |verb| -> Result<ClientFrame, ApiError> {
            let ids = match (self.id.clone(), self.ids.clone()) {
                (Some(id), None) => SettleIds::One(id),
                (None, Some(ids)) => {
                    if ids.is_empty() || ids.len() > MAX_SETTLE_IDS {
                        return Err(ApiError::invalid(format!("{op} takes 1..={MAX_SETTLE_IDS} ids")));
                    }
                    if self.state.is_some() {
                        return Err(ApiError::invalid(format!("{op} with \"ids\" takes no \"state\"")));
                    }
                    if verb == Settle::Shelve {
                        return Err(ApiError::invalid("shelve takes one \"id\""));
                    }
                    SettleIds::Many(ids)
                }
                (Some(_), Some(_)) => {
                    return Err(ApiError::invalid(format!("{op} has \"id\" or \"ids\", not both")))
                }
                (None, None) => return Err(ApiError::invalid(format!("{op} needs \"id\" or \"ids\""))),
            };
            Ok(ClientFrame::Settle {
                verb,
                ids,
                state: self.state.clone(),
                delay_ms: self.delay_ms,
                reference: self.reference.clone(),
            })
        };
        match op.as_str() {
            "hello" => Ok(ClientFrame::Hello(Hello {
                login: self.login,
                secret: self.secret,
                token: self.token,
                client_id: self.client_id,
                max_in_flight: self.max_in_flight,
                handler_timeout_ms: self.handler_timeout_ms,
                max_attempts: self.max_attempts,
                heartbeat_ms: self.heartbeat_ms,
                batch: self.batch.unwrap_or(false),
            })),
            "rdy" => Ok(ClientFrame::Rdy {
                count: self.count.ok_or_else(|| ApiError::invalid("rdy needs \"count\""))?,
                reference: self.reference,
            }),
            "fin" => settle(Settle::Fin),
            "touch" => settle(Settle::Touch),
            "req" => settle(Settle::Req),
            "shelve" => settle(Settle::Shelve),
            "respond" => Ok(ClientFrame::Respond {
                id: need_id(self.id.clone())?,
                data: self.data.ok_or_else(|| ApiError::invalid("respond needs \"data\""))?,
                datacontenttype: self.datacontenttype,
                reference: self.reference,
            }),
            "pub" => {
                let given = [self.event.is_some(), self.data.is_some(), self.events.is_some()];
                if given.iter().filter(|g| **g).count() != 1 {
                    return Err(ApiError::invalid(
                        "pub needs exactly one of \"event\", \"data\" and \"events\"",
                    ));
                }
                Ok(ClientFrame::Pub(PubFrame {
                    event: self.event,
                    data: self.data,
                    events: self.events,
                    ordering_key: self.ordering_key,
                    delay_ms: self.delay_ms,
                    ttl_ms: self.ttl_ms,
                    reference: self.reference,
                }))
            }
            "ping" => Ok(ClientFrame::Ping),
            other => Err(ApiError::invalid(format!("unknown op {other:?}"))),
        }
    }
}

/// Checks a number against a range, naming the field in the error.
pub fn in_range(field: &str, value: u64, lo: u64, hi: u64) -> Result<u64, ApiError> {
    if (lo..=hi).contains(&value) {
        Ok(value)
    } else {
        Err(ApiError::new(ErrorCode::InvalidRequest, format!("{field} must be {lo}..={hi}, got {value}")))
    }
}

#[cfg(test)]
#[path = "frame_tests.rs"]
mod tests;
