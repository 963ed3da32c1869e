//! Server -> client frames (`docs/PROTOCOL.md`, "Server frames" and "Batched frames"):
//! `welcome`, `ok` (with what it answers), `error`, `pong`, and the deliveries `msg` /
//! `msgs`, assembled around the stored event's JSON text so a delivery never re-parses the
//! event.

use super::error::{ApiError, ErrorCode};
use serde::Serialize;
use serde_json::Value;

/// Every `op` of a server frame: `welcome`, `error` and `pong` ([`ServerFrame`]), `ok`
/// ([`OkFrame`]), `msg` ([`msg_frame`]) and `msgs` (several deliveries, each one's
/// [`msg_fields`], in `messages`), as the client's decoder (`codec::ServerMessage`)
/// reads them. The wire reference, `docs/PROTOCOL.md`, is tested against this list.
pub const SERVER_OPS: [&str; 6] = ["welcome", "msg", "msgs", "ok", "error", "pong"];

/// Server -> client frames, encoded with [`ServerFrame::encode`] (`ok` is [`OkFrame`],
/// `msg` and `msgs` are assembled around stored JSON by [`msg_fields`]).
#[derive(Debug, Serialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum ServerFrame<'a> {
    /// `hello` accepted.
    Welcome {
        /// Topic (wire name).
        topic: &'a str,
        /// Channel (wire name); null on a publisher socket.
        channel: Option<&'a str>,
        /// This consumer's session id.
        session: &'a str,
        /// Credit granted at start.
        max_in_flight: u64,
        /// Keep-alive interval in force.
        heartbeat_ms: u64,
        /// `true` when the consumer asked for `msgs` frames: the server also takes
        /// settling frames with `ids`.
        #[serde(skip_serializing_if = "Option::is_none")]
        batch: Option<bool>,
        /// This socket's partition.
        partition: u32,
        /// The topic's number of partitions.
        partitions: u32,
    },
    /// A frame was refused.
    Error {
        /// The frame's `ref`, if any.
        #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<&'a Value>,
        /// Contract error code.
        code: ErrorCode,
        /// Human text.
        message: &'a str,
    },
    /// Answer to ping.
    Pong,
}

/// The `ok` frame: a frame took effect. Fields beyond `ref` depend on what it answers.
#[derive(Debug, Default, Serialize)]
pub struct OkFrame<'a> {
    /// The frame's `ref`.
    #[serde(rename = "ref")]
    pub reference: Option<&'a Value>,
    /// Message id (`pub` answers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<&'a str>,
    /// Sequence number (`pub` answers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// Partition (`pub` answers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partition: Option<u32>,
    /// Whether the `pub` was a duplicate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate: Option<bool>,
    /// New deadline (`touch` answers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadline: Option<u64>,
    /// How many took effect (answers to frames with `ids`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settled: Option<u64>,
    /// Ids that were not in flight to this consumer (answers to frames with `ids`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing: Option<&'a [&'a str]>,
    /// One entry per event (answers to a `pub` with `events`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub results: Option<&'a [super::http::BatchItem]>,
}

impl OkFrame<'_> {
    /// The frame as JSON text.
    pub fn encode(&self) -> String {
        #[derive(Serialize)]
        struct Tagged<'b, 'c> {
            op: &'static str,
            #[serde(flatten)]
            ok: &'b OkFrame<'c>,
        }
        serde_json::to_string(&Tagged { op: "ok", ok: self })
            .unwrap_or_else(|_| r#"{"op":"error","code":"internal","message":"encoding failed"}"#.to_owned())
    }
}

/// Everything a delivery carries but the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsgHeader<'a> {
    /// Message id.
    pub id: &'a str,
    /// Sequence number (per partition).
    pub seq: u64,
    /// Partition.
    pub partition: u32,
    /// Deliveries so far, this one included.
    pub attempt: u32,
    /// Failed deliveries so far.
    pub failures: u32,
    /// In-flight deadline, ms since the epoch.
    pub deadline: u64,
    /// Whether a `respond` is expected.
    pub reply: bool,
    /// Last saved handler state (JSON text), or none.
    pub checkpoint: Option<&'a str>,
}

/// The fields of a delivery (a `msg` frame without `op`, an element of `msgs` or of a
/// pull answer), assembled around already-encoded JSON (the stored event and
/// checkpoint), so a delivery never re-parses or re-serializes the event.
pub fn msg_fields(h: &MsgHeader<'_>, event_json: &str) -> String {
    let id = serde_json::to_string(h.id).unwrap_or_else(|_| "\"\"".into());
    format!(
        r#""id":{id},"seq":{},"partition":{},"attempt":{},"failures":{},"deadline":{},"reply":{},"checkpoint":{},"event":{event_json}"#,
        h.seq,
        h.partition,
        h.attempt,
        h.failures,
        h.deadline,
        h.reply,
        h.checkpoint.unwrap_or("null"),
    )
}

/// A `msg` frame.
pub fn msg_frame(h: &MsgHeader<'_>, event_json: &str) -> String {
    format!("{{\"op\":\"msg\",{}}}", msg_fields(h, event_json))
}

impl ServerFrame<'_> {
    /// The frame as JSON text.
    pub fn encode(&self) -> String {
        serde_json::to_string(self)
            .unwrap_or_else(|_| r#"{"op":"error","code":"internal","message":"encoding failed"}"#.to_owned())
    }

    /// An `error` frame for `e`.
    pub fn error(reference: Option<&'_ Value>, e: &'_ ApiError) -> String {
        ServerFrame::Error { reference, code: e.code, message: &e.message }.encode()
    }
}

/// `ok` for a frame with this `ref`.
pub fn ok_frame(reference: Option<&Value>) -> String {
    OkFrame { reference, ..Default::default() }.encode()
}

#[cfg(test)]
mod tests {
    use super::super::codec::ServerMessage;
    use super::*;

    fn op_of(text: &str) -> String {
        let v: Value = serde_json::from_str(text).unwrap();
        v["op"].as_str().unwrap().to_owned()
    }

    #[test]
    fn server_ops_are_what_the_server_sends_and_the_client_reads() {
        let e = ApiError::invalid("x");
        let h = MsgHeader {
            id: "0000000000000001",
            seq: 1,
            partition: 0,
            attempt: 1,
            failures: 0,
            deadline: 1,
            reply: false,
            checkpoint: None,
        };
        let welcome = ServerFrame::Welcome {
            topic: "t",
            channel: Some("c"),
            session: "s",
            max_in_flight: 1,
            heartbeat_ms: 30_000,
            batch: Some(true),
            partition: 0,
            partitions: 1,
        };
        let mut sent = Vec::new();
        for f in
            [welcome, ServerFrame::Error { reference: None, code: e.code, message: "x" }, ServerFrame::Pong]
        {
            // A new variant fails to compile here: give its op a place in SERVER_OPS (and in
            // docs/PROTOCOL.md, whose test reads SERVER_OPS).
            match f {
                ServerFrame::Welcome { .. } | ServerFrame::Error { .. } | ServerFrame::Pong => {}
            }
            sent.push(f.encode());
        }
        sent.push(ok_frame(None));
        sent.push(msg_frame(&h, "{}"));
        sent.push(format!("{{\"op\":\"msgs\",\"messages\":[{{{}}}]}}", msg_fields(&h, "{}")));
        let ops: Vec<String> = sent.iter().map(|t| op_of(t)).collect();
        let mut listed: Vec<&str> = SERVER_OPS.to_vec();
        let mut seen: Vec<&str> = ops.iter().map(String::as_str).collect();
        listed.sort_unstable();
        seen.sort_unstable();
        assert_eq!(listed, seen);
        for text in &sent {
            let m = ServerMessage::decode(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(m.op(), op_of(text));
        }
    }
}
