//! The wasm-bindgen surface of the client core, built by wasm-pack into `pkg/` and
//! wrapped by the TypeScript in `js/src`. Values cross as JSON text (one `JSON.parse` on
//! the JS side per call) and errors as `{"code", "message"}` JSON text, so the boundary
//! stays small and the event JSON is never rebuilt on its way through.

#[cfg(feature = "memory")]
use super::memory::MemoryBus;
use super::publisher::{Publisher, PublisherConfig};
use super::session::{Action, Session, SessionConfig};
#[cfg(feature = "memory")]
use crate::proto::codec::ServerMessage;
#[cfg(feature = "memory")]
use crate::proto::frame::ClientFrame;
use crate::proto::frame::Settle;
use crate::proto::{ApiError, ChannelName, ErrorCode, TopicName};
use wasm_bindgen::prelude::*;

fn err(e: &ApiError) -> JsValue {
    let message = serde_json::to_string(&e.message).unwrap_or_default();
    JsValue::from_str(&format!(r#"{{"code":"{}","message":{message}}}"#, e.code.as_str()))
}

fn actions(a: &[Action]) -> String {
    Action::list_json(a)
}

fn with_ref(r: u64, a: &[Action]) -> String {
    format!(r#"{{"ref":{r},"actions":{}}}"#, actions(a))
}

fn ms(now: f64) -> u64 {
    if now.is_finite() && now > 0.0 {
        now as u64
    } else {
        0
    }
}

/// One subscriber's protocol state (see `session.rs`).
#[wasm_bindgen]
pub struct WasmSession {
    inner: Session,
}

#[wasm_bindgen]
impl WasmSession {
    /// A session for a subscriber with these settings (JSON, snake_case).
    #[wasm_bindgen(constructor)]
    pub fn new(config: &str) -> Result<WasmSession, JsValue> {
        let cfg = SessionConfig::from_json(config)
            .map_err(|e| err(&ApiError::invalid(format!("bad subscriber settings: {e}"))))?;
        Ok(WasmSession { inner: Session::new(cfg) })
    }

    /// The token for the next `hello` (from a token provider).
    #[wasm_bindgen(js_name = setToken)]
    pub fn set_token(&mut self, token: Option<String>) {
        self.inner.set_token(token)
    }

    /// The socket opened.
    pub fn opened(&mut self, now: f64) -> String {
        actions(&self.inner.opened(ms(now)))
    }

    /// A text frame arrived.
    pub fn received(&mut self, now: f64, text: &str) -> String {
        actions(&self.inner.received(ms(now), text))
    }

    /// fin / touch / req / shelve: `{"ref", "actions"}`.
    pub fn settle(
        &mut self,
        now: f64,
        verb: &str,
        id: &str,
        state: Option<String>,
        delay_ms: Option<f64>,
    ) -> String {
        let Some(verb) = Settle::from_op(verb) else {
            return with_ref(0, &[]);
        };
        let (r, a) = self.inner.settle(ms(now), verb, id, state.as_deref(), delay_ms.map(ms));
        with_ref(r, &a)
    }

    /// respond: `{"ref", "actions"}`.
    pub fn respond(&mut self, now: f64, id: &str, data: &str, content_type: Option<String>) -> String {
        let (r, a) = self.inner.respond(ms(now), id, data, content_type.as_deref());
        with_ref(r, &a)
    }

    /// A handler returned (`ok`) or threw.
    #[wasm_bindgen(js_name = handlerDone)]
    pub fn handler_done(&mut self, now: f64, ok: bool) -> String {
        actions(&self.inner.handler_done(ms(now), ok))
    }

    /// Changes the credit.
    #[wasm_bindgen(js_name = setMaxInFlight)]
    pub fn set_max_in_flight(&mut self, count: u32) -> String {
        actions(&self.inner.set_max_in_flight(count))
    }

    /// When `timer` must run next, if ever.
    #[wasm_bindgen(js_name = nextTimer)]
    pub fn next_timer(&self, now: f64) -> Option<f64> {
        self.inner.next_timer(ms(now)).map(|t| t as f64)
    }

    /// Time passed.
    pub fn timer(&mut self, now: f64) -> String {
        actions(&self.inner.timer(ms(now)))
    }

    /// The socket closed; `random` in [0, 1) jitters the reconnect.
    pub fn closed(&mut self, code: u16, reason: &str, random: f64) -> String {
        actions(&self.inner.closed(code, reason, random))
    }

    /// The application stops the subscriber.
    pub fn stop(&mut self, now: f64) -> String {
        actions(&self.inner.stop(ms(now)))
    }

    /// `disconnected`, `handshake`, `live` or `stopped`.
    pub fn phase(&self) -> String {
        serde_json::to_string(&self.inner.phase()).unwrap_or_default().trim_matches('"').to_owned()
    }
}

/// A publisher socket's protocol state (see `publisher.rs`).
#[wasm_bindgen]
pub struct WasmPublisher {
    inner: Publisher,
}

#[wasm_bindgen]
impl WasmPublisher {
    /// A publisher with these settings (JSON, snake_case).
    #[wasm_bindgen(constructor)]
    pub fn new(config: &str) -> Result<WasmPublisher, JsValue> {
        let cfg = PublisherConfig::from_json(config)
            .map_err(|e| err(&ApiError::invalid(format!("bad publisher settings: {e}"))))?;
        Ok(WasmPublisher { inner: Publisher::new(cfg) })
    }

    /// The token for the next `hello`.
    #[wasm_bindgen(js_name = setToken)]
    pub fn set_token(&mut self, token: Option<String>) {
        self.inner.set_token(token)
    }

    /// Queues a publish of a CloudEvent (JSON text): `{"ref", "actions"}`.
    pub fn publish(&mut self, now: f64, event: &str, delay_ms: Option<f64>, ttl_ms: Option<f64>) -> String {
        let (r, a) = self.inner.publish(ms(now), event, delay_ms.map(ms), ttl_ms.map(ms));
        with_ref(r, &a)
    }

    /// Gives up on a publish; true if it had not been sent.
    pub fn cancel(&mut self, handle: f64) -> bool {
        self.inner.cancel(handle as u64)
    }

    /// Publishes waiting for an answer.
    pub fn pending(&self) -> usize {
        self.inner.pending()
    }

    /// The socket opened.
    pub fn opened(&mut self, now: f64) -> String {
        actions(&self.inner.opened(ms(now)))
    }

    /// A text frame arrived.
    pub fn received(&mut self, now: f64, text: &str) -> String {
        actions(&self.inner.received(ms(now), text))
    }

    /// When `timer` must run next, if ever.
    #[wasm_bindgen(js_name = nextTimer)]
    pub fn next_timer(&self) -> Option<f64> {
        self.inner.next_timer().map(|t| t as f64)
    }

    /// Time passed.
    pub fn timer(&mut self, now: f64) -> String {
        actions(&self.inner.timer(ms(now)))
    }

    /// The socket closed.
    pub fn closed(&mut self, code: u16, reason: &str, random: f64) -> String {
        actions(&self.inner.closed(code, reason, random))
    }

    /// The connection closes.
    pub fn stop(&mut self) -> String {
        actions(&self.inner.stop())
    }
}

/// The in-process `memory://` bus (see `memory.rs`).
#[cfg(feature = "memory")]
#[wasm_bindgen]
pub struct WasmMemoryBus {
    inner: MemoryBus,
}

#[cfg(feature = "memory")]
#[wasm_bindgen]
impl WasmMemoryBus {
    /// An empty bus; `seed` varies the ids of the events it makes.
    #[wasm_bindgen(constructor)]
    pub fn new(seed: f64) -> WasmMemoryBus {
        WasmMemoryBus { inner: MemoryBus::new(seed as u64) }
    }

    /// An HTTP operation on a topic (`query` is a JSON array of `[name, value]` pairs);
    /// answers `{"status", "body"}` or what to wait for (see `MemoryBus::http`).
    pub fn http(
        &mut self,
        now: f64,
        method: &str,
        path: &str,
        query: &str,
        content_type: Option<String>,
        body: &[u8],
    ) -> String {
        let query: Vec<(String, String)> = serde_json::from_str(query).unwrap_or_default();
        self.inner.http(ms(now), method, path, &query, content_type.as_deref(), body)
    }

    /// A waiting pull ran out of time: its empty answer, if it was still waiting.
    #[wasm_bindgen(js_name = pullExpired)]
    pub fn pull_expired(&mut self, topic: &str, waiter: f64) -> Option<String> {
        self.inner.pull_expired(topic, waiter as u64)
    }

    /// Opens a virtual socket.
    pub fn open(&mut self, now: f64, topic: &str, channel: Option<String>) -> Result<f64, JsValue> {
        self.inner.open(ms(now), topic, channel.as_deref()).map(|c| c as f64).map_err(|e| err(&e))
    }

    /// A virtual socket closed.
    pub fn close(&mut self, now: f64, conn: f64) {
        self.inner.close(ms(now), conn as u64)
    }

    /// A frame from a virtual socket.
    pub fn frame(&mut self, now: f64, conn: f64, text: &str) {
        self.inner.frame(ms(now), conn as u64, text)
    }

    /// When `tick` must run next, if ever.
    pub fn timeout(&self) -> Option<f64> {
        self.inner.timeout().map(|t| t as f64)
    }

    /// Time passed.
    pub fn tick(&mut self, now: f64) {
        self.inner.tick(ms(now))
    }

    /// Outputs for the driver (JSON array).
    pub fn drain(&mut self) -> String {
        serde_json::to_string(&self.inner.drain()).unwrap_or_else(|_| "[]".into())
    }
}

/// A wire name: `prefix + name`, checked against the name grammar (a channel may end in
/// `#ephemeral`).
#[wasm_bindgen(js_name = wireName)]
pub fn wire_name(prefix: &str, name: &str, channel: bool) -> Result<String, JsValue> {
    let full = format!("{prefix}{name}");
    let checked = if channel {
        ChannelName::parse(&full).map(|c| c.as_str().to_owned())
    } else {
        TopicName::parse(&full).map(|t| t.as_str().to_owned())
    };
    checked.map_err(|e| err(&e))
}

/// The op of a server frame, or an error (for the golden-fixture tests).
#[cfg(feature = "memory")]
#[wasm_bindgen(js_name = decodeServerFrame)]
pub fn decode_server_frame(text: &str) -> Result<String, JsValue> {
    ServerMessage::decode(text).map(|m| m.op().to_owned()).map_err(|m| err(&ApiError::invalid(m)))
}

/// The op of a client frame, or an error (for the golden-fixture tests; in the memory
/// wasm only, which has the server's decoder anyway).
#[cfg(feature = "memory")]
#[wasm_bindgen(js_name = decodeClientFrame)]
pub fn decode_client_frame(text: &str) -> Result<String, JsValue> {
    ClientFrame::decode(text).map(|f| f.op().to_owned()).map_err(|fe| err(&fe.error))
}

/// The partition a publish goes to on a topic of `partitions` (the bus's own rule: by
/// ordering key, else by source and id); `undefined` when any partition will do.
#[wasm_bindgen(js_name = partitionOf)]
pub fn partition_of(key: Option<String>, source: &str, id: Option<String>, partitions: u32) -> Option<u32> {
    super::partitions::partition_of(key.as_deref(), source, id.as_deref(), partitions)
}

/// A subscriber's credit spread over its partition sockets (at least 1 each).
#[wasm_bindgen(js_name = spreadCredit)]
pub fn spread_credit(total: u32, partitions: u32) -> Vec<u32> {
    super::partitions::spread(total, partitions)
}

/// The crate version.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

/// Error code names, for the TypeScript error classes to check against.
#[wasm_bindgen(js_name = errorCodes)]
pub fn error_codes() -> String {
    serde_json::to_string(&ErrorCode::ALL.map(ErrorCode::as_str)).unwrap_or_default()
}

/// Close codes with their names (`[[4001, "unauthorized"], ...]`).
#[wasm_bindgen(js_name = closeCodes)]
pub fn close_codes() -> String {
    serde_json::to_string(&crate::proto::close::ALL).unwrap_or_default()
}
