//! What a [`Session`](super::session::Session) asks its driver (the TypeScript subscriber)
//! to do, and where it stands. Serialized as JSON for the wasm boundary (`"do"` tags;
//! [`Action::list_json`]).

use crate::proto::codec::Delivered;
use serde::Serialize;

/// Where the session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// No socket (not started, or waiting to reconnect).
    Disconnected,
    /// Socket open, `hello` sent, no `welcome` yet.
    Handshake,
    /// Welcomed: messages may arrive.
    Live,
    /// Stopped by the application or by a fatal close; never reconnects.
    Stopped,
}

/// Something the driver must do.
#[derive(Debug, Serialize)]
#[serde(tag = "do", rename_all = "snake_case")]
pub enum Action {
    /// Send this text frame on the socket.
    Send {
        /// The frame.
        frame: String,
    },
    /// The server accepted `hello`.
    Welcome {
        /// Server session id.
        session: String,
        /// Keep-alive interval in force.
        heartbeat_ms: u64,
        /// The socket's partition (0 on a topic of one).
        partition: u32,
        /// The topic's partition count (1 when the bus does not say).
        partitions: u32,
    },
    /// Run the handler for this message. Written by [`Action::to_json`], not serde: its
    /// event and checkpoint go in as the JSON text the server sent.
    #[serde(skip_serializing)]
    Deliver {
        /// Message id.
        id: String,
        /// Sequence number (per partition).
        seq: u64,
        /// Partition of the topic.
        partition: u32,
        /// Deliveries so far, this one included.
        attempt: u32,
        /// Failed deliveries so far.
        failures: u32,
        /// In-flight deadline, ms since the epoch.
        deadline: u64,
        /// Whether `respond` is expected.
        reply: bool,
        /// Last checkpoint, if any (JSON text).
        checkpoint: Option<String>,
        /// The CloudEvent (JSON text).
        event: String,
    },
    /// Settle the promise of the frame with this `ref`.
    Answer {
        /// The ref `settle`/`respond`/`rdy` returned.
        #[serde(rename = "ref")]
        reference: u64,
        /// Whether it took effect.
        ok: bool,
        /// Error code when not.
        #[serde(skip_serializing_if = "Option::is_none")]
        code: Option<String>,
        /// Error text when not.
        #[serde(skip_serializing_if = "Option::is_none")]
        message: Option<String>,
        /// New deadline (touch).
        #[serde(skip_serializing_if = "Option::is_none")]
        deadline: Option<u64>,
    },
    /// A publish is durable (publisher sessions).
    Published {
        /// The handle `publish` returned.
        #[serde(rename = "ref")]
        reference: u64,
        /// Message id.
        id: String,
        /// Sequence number (per partition).
        seq: u64,
        /// Partition.
        partition: u32,
        /// Whether the (source, id) pair had been accepted before.
        duplicate: bool,
    },
    /// Open a socket now (a publisher that had closed its idle socket).
    Connect,
    /// These messages were lost with the socket: abort their handlers' signals. The server
    /// redelivers them.
    Abort {
        /// Message ids.
        ids: Vec<String>,
    },
    /// A server error not tied to a frame of ours.
    Error {
        /// Contract error code.
        code: String,
        /// Human text.
        message: String,
    },
    /// Close the socket.
    Close {
        /// WebSocket close code.
        code: u16,
        /// Reason.
        reason: String,
    },
    /// Open a new socket after this delay.
    Reconnect {
        /// Delay in ms.
        after_ms: u64,
    },
    /// The session stopped for good (bad credentials, no permission, channel deleted).
    Fatal {
        /// Contract error code.
        code: String,
        /// Human text.
        message: String,
    },
}

impl From<Delivered> for Action {
    /// The handler run for a delivery.
    fn from(d: Delivered) -> Action {
        Action::Deliver {
            id: d.id,
            seq: d.seq,
            partition: d.partition,
            attempt: d.attempt,
            failures: d.failures,
            deadline: d.deadline,
            reply: d.reply,
            checkpoint: d.checkpoint,
            event: d.event,
        }
    }
}

impl Action {
    /// The action as JSON text for the driver.
    pub fn to_json(&self) -> String {
        match self {
            Action::Deliver { id, seq, partition, attempt, failures, deadline, reply, checkpoint, event } => {
                let id = serde_json::to_string(id).unwrap_or_default();
                let checkpoint = checkpoint.as_deref().unwrap_or("null");
                format!(
                    r#"{{"do":"deliver","id":{id},"seq":{seq},"partition":{partition},"attempt":{attempt},"failures":{failures},"deadline":{deadline},"reply":{reply},"checkpoint":{checkpoint},"event":{event}}}"#
                )
            }
            other => serde_json::to_string(other).unwrap_or_default(),
        }
    }

    /// Actions as a JSON array.
    pub fn list_json(actions: &[Action]) -> String {
        let mut out = String::from("[");
        for (i, a) in actions.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&a.to_json());
        }
        out.push(']');
        out
    }

    /// The answer of a call that did not take effect.
    pub fn refused(reference: u64, code: &str, message: String) -> Action {
        Action::Answer {
            reference,
            ok: false,
            code: Some(code.into()),
            message: Some(message),
            deadline: None,
        }
    }
}
