//! What a socket keeps in its hibernation attachment: the topic it was opened on, the
//! broker's record of it, and when its client credentials were last checked (for
//! revocation). A woken object rebuilds every consumer from these.

use crate::core::{Caller, SocketId, SocketRecord};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::HashMap;
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
    /// A socket's attachment as stored. It is kept as JSON text (one string for the
    /// runtime to clone, and no structured-clone deserializer in the wasm).
    fn read(ws: &WebSocket) -> Option<Attachment> {
        let text = ws.deserialize_attachment::<String>().ok()??;
        serde_json::from_str(&text).ok()
    }

    fn write(&self, ws: &WebSocket) {
        if let Ok(text) = serde_json::to_string(self) {
            let _ = ws.serialize_attachment(text);
        }
    }
}

/// The property a socket's JavaScript object carries its id in, while the object lives.
const ID_PROPERTY: &str = "ismldSocket";

/// The attachments of the object's sockets, read from the runtime once per socket while
/// the object lives (reading and parsing one on every frame was ~5% of a socket
/// publish's profile). A socket's object carries its id; one without it (after a
/// hibernation, or a runtime that hands a fresh object) is read from its attachment.
/// Every write goes through here, so what is held is what is stored.
#[derive(Debug, Default)]
pub struct Attachments {
    by_id: RefCell<HashMap<SocketId, Attachment>>,
}

impl Attachments {
    /// A socket's attachment.
    pub fn get(&self, ws: &WebSocket) -> Option<Attachment> {
        let id = js_sys::Reflect::get(object(ws), &ID_PROPERTY.into()).ok().and_then(|v| v.as_f64());
        let id = id.map(|id| id as SocketId).filter(|&id| id != 0);
        if let Some(att) = id.and_then(|id| self.by_id.borrow().get(&id).cloned()) {
            return Some(att);
        }
        let att = Attachment::read(ws)?;
        self.remember(ws, &att);
        Some(att)
    }

    /// Stores a socket's attachment.
    pub fn put(&self, ws: &WebSocket, att: Attachment) {
        att.write(ws);
        self.remember(ws, &att);
    }

    /// Replaces the broker's record in a socket's attachment, keeping the rest.
    pub fn put_record(&self, ws: &WebSocket, record: SocketRecord) {
        let mut att = self.get(ws).unwrap_or_default();
        att.record = record;
        self.put(ws, att);
    }

    /// Forgets a closed socket.
    pub fn forget(&self, id: SocketId) {
        self.by_id.borrow_mut().remove(&id);
    }

    fn remember(&self, ws: &WebSocket, att: &Attachment) {
        let id = att.record.id;
        if id == 0 {
            return; // not known to the broker yet: its record comes next
        }
        // Socket ids are below 2^53: exact as a JavaScript number.
        let _ = js_sys::Reflect::set(object(ws), &ID_PROPERTY.into(), &(id as f64).into());
        self.by_id.borrow_mut().insert(id, att.clone());
    }
}

fn object(ws: &WebSocket) -> &wasm_bindgen::JsValue {
    AsRef::<worker::web_sys::WebSocket>::as_ref(ws).as_ref()
}

/// The caller header the front Worker sets on an upgrade with accepted credentials.
pub fn caller_to_header(c: &Caller) -> String {
    serde_json::to_string(c).unwrap_or_default()
}

/// Reads the caller header.
pub fn caller_from_header(h: &str) -> Option<Caller> {
    serde_json::from_str(h).ok()
}
