//! What a socket keeps in its hibernation attachment: the topic it was opened on, the
//! broker's record of it, and when its client credentials were last checked (for
//! revocation). A woken object rebuilds every consumer from these.

use crate::core::{Caller, SocketRecord};
use serde::{Deserialize, Serialize};
use worker::WebSocket;

/// A socket's attachment.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Attachment {
    /// Topic (wire name).
    pub topic: String,
    /// The broker's record.
    pub record: SocketRecord,
    /// The client's login, when it authenticated as a client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<String>,
    /// The client's credential generation when checked.
    #[serde(default)]
    pub gen: u64,
    /// When the credentials were last checked.
    #[serde(default)]
    pub verified_at: u64,
}

impl Attachment {
    /// A socket's attachment. It is kept as JSON text (one string for the runtime to
    /// clone, and no structured-clone deserializer in the wasm).
    pub fn of(ws: &WebSocket) -> Option<Attachment> {
        let text = ws.deserialize_attachment::<String>().ok()??;
        serde_json::from_str(&text).ok()
    }

    /// Saves it as the socket's attachment.
    pub fn save(&self, ws: &WebSocket) {
        if let Ok(text) = serde_json::to_string(self) {
            let _ = ws.serialize_attachment(text);
        }
    }
}

/// Replaces the broker's record in a socket's attachment, keeping the rest.
pub fn save(ws: &WebSocket, record: SocketRecord) {
    let mut att = Attachment::of(ws).unwrap_or_default();
    att.record = record;
    att.save(ws);
}

/// The caller header the front Worker sets on an upgrade with accepted credentials.
pub fn caller_to_header(c: &Caller) -> String {
    serde_json::to_string(c).unwrap_or_default()
}

/// Reads the caller header.
pub fn caller_from_header(h: &str) -> Option<Caller> {
    serde_json::from_str(h).ok()
}
