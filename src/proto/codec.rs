//! The client's half of the frame codec (`docs/PROTOCOL.md`, "WebSocket protocol"):
//! encoding the frames a client sends (here) and decoding the frames a server sends
//! (`server_message.rs`). `frame.rs` holds the server's half; the two are tested against
//! each other and against the golden fixtures.

use super::frame::{ClientFrame, Settle, SettleIds};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;

pub use super::server_message::{Delivered, OkAnswer, PubResult, ServerMessage};

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

/// Checks that text is one JSON value (what the client sends as a checkpoint, response
/// data or event): `IgnoredAny`, not `RawValue`, whose typed error paths the client's wasm
/// does without.
pub fn check_json_text(text: &str) -> Result<(), serde_json::Error> {
    serde_json::from_str::<serde::de::IgnoredAny>(text).map(|_| ())
}

/// An encoded frame with one more member, `key`, whose value is JSON text checked by
/// [`check_json_text`]: how the client sends a checkpoint or response data as the text it
/// was given.
pub fn with_member(mut frame: String, key: &str, json: &str) -> String {
    if frame.ends_with('}') {
        frame.pop();
        frame.push_str(if frame.ends_with('{') { "\"" } else { ",\"" });
        frame.push_str(key);
        frame.push_str("\":");
        frame.push_str(json.trim());
        frame.push('}');
    }
    frame
}

/// The client's `respond` frame, `data` being JSON text checked by [`check_json_text`].
pub fn respond_frame(id: &str, data: &str, datacontenttype: Option<&str>, reference: u64) -> String {
    let r = Value::from(reference);
    let f =
        WireFrame { op: "respond", id: Some(id), datacontenttype, reference: Some(&r), ..Default::default() };
    with_member(serde_json::to_string(&f).unwrap_or_default(), "data", data)
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
