//! The topic Durable Object: one per topic. It owns the topic's [`Queue`] (the pure core),
//! feeds it HTTP requests, socket frames and alarms, and turns its effects into SQLite
//! writes, socket sends and closes.
//!
//! State is rebuilt from SQLite and the surviving sockets' attachments whenever the object
//! starts (first use, restart, or wake from hibernation), so nothing lives only in memory.
//! The `RefCell` is never borrowed across an `.await`.

use super::auth::Access;
use super::cache::BodyCache;
use super::dedup::Dedup;
use super::http::{self, now_ms};
use super::socket::Attachment;
use super::storage::Db;
use crate::core::{ConsumerId, Effect, Seq, Topic as Queue};
use crate::proto::route::Route;
use crate::proto::{ApiError, ErrorCode, Limits};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeSet, HashMap};
use worker::{
    durable_object, DurableObject, Env, Request, Response, Result, ScheduledTime, State, WebSocket,
    WebSocketIncomingMessage,
};

/// How long a socket may wait before its `hello`.
pub const HELLO_TIMEOUT_MS: u64 = 10_000;

/// HTTP requests waiting for a response, by request seq.
pub type Waiters = RefCell<HashMap<Seq, futures::channel::oneshot::Sender<String>>>;

/// The topic Durable Object (class `Topic` in `wrangler.toml`).
#[durable_object]
pub struct Topic {
    state: State,
    env: Env,
    inner: RefCell<Option<Inner>>,
    /// HTTP requests waiting for their first response, by request seq. In memory only: a
    /// waiting request keeps the object awake, and a restart fails it anyway.
    waiters: Waiters,
    /// The alarm time last set (`None`: unknown or none).
    alarm_at: Cell<Option<u64>>,
}

/// Everything the object keeps in memory, rebuilt on every start.
pub struct Inner {
    /// SQLite access.
    pub db: Db,
    /// The topic's name, once known.
    pub topic: Option<String>,
    /// The queue core.
    pub queue: Queue,
    /// Sockets of attached consumers.
    pub sockets: HashMap<ConsumerId, WebSocket>,
    /// Sockets that have not said `hello` yet, with their deadline.
    pub pending: Vec<(u64, WebSocket)>,
    /// Events stored.
    pub retained: u64,
    /// Lowest stored seq.
    pub oldest: Seq,
    /// Acceptance time of the lowest stored seq.
    pub oldest_ts: Option<u64>,
    /// Recent event bodies, for deliveries.
    pub cache: BodyCache,
    /// Limits in force.
    pub limits: Limits,
    /// Access rules (anonymous allowed, admin token).
    pub access: Access,
    /// Answers to socket frames, sent once the frame's writes are durable.
    pub outbox: Vec<(WebSocket, String)>,
    /// Seqs of stored requests (delivered with `"reply": true`).
    pub requests: BTreeSet<Seq>,
    /// Responses made by `respond` frames, for the waiting HTTP requests: (seq, event).
    pub responses: Vec<(Seq, String)>,
    /// The name under which this topic is in the topic registry, if it is.
    pub registered: Option<String>,
    /// Recently accepted (source, id) pairs, so a new pair needs no storage lookup.
    pub dedup: Dedup,
}

impl DurableObject for Topic {
    fn new(state: State, env: Env) -> Self {
        Topic {
            state,
            env,
            inner: RefCell::new(None),
            waiters: RefCell::default(),
            alarm_at: Cell::new(None),
        }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        super::counters::wake();
        let route = match Route::parse(req.method().as_ref(), &req.path()) {
            Ok(r) => r,
            Err(e) => return http::error(&e),
        };
        let writes = req.method() != worker::Method::Get;
        let mut answer = self.handle_http(route, req).await;
        // A 2xx answer to a write (a 201 publish above all) means the write is durable:
        // wait for the commit before answering.
        if writes && answer.as_ref().is_ok_and(|r| r.status_code() < 300) {
            if let Err(e) = durable(&self.state).await {
                answer = Err(e);
            }
        }
        self.sync_alarm().await;
        self.sync_registry().await;
        match answer {
            Ok(r) => Ok(r),
            Err(e) => {
                super::log::error("request.failed", serde_json::json!({ "error": e.to_string() }));
                http::fail(ErrorCode::Internal, "internal error")
            }
        }
    }

    async fn alarm(&self) -> Result<Response> {
        super::counters::wake();
        self.alarm_at.set(None);
        let now = now_ms();
        // Only look at the sockets when a pending hello is due: with many consumers and
        // frequent deadlines, reading every attachment on every alarm would dominate.
        let hello_due = self.with(|inner| Ok(inner.pending.iter().any(|(t, _)| *t <= now)))?;
        let sockets = if hello_due { self.state.get_websockets() } else { Vec::new() };
        let result = self.with(|inner| {
            inner.queue.handle_timeout(now);
            if hello_due {
                inner.expire_pending(now, &sockets, false);
            }
            inner.prune(now)?;
            inner.apply()
        });
        if let Err(e) = result {
            super::log::error("alarm.failed", serde_json::json!({ "error": e.to_string() }));
        }
        self.sync_alarm().await;
        Response::ok("")
    }

    async fn websocket_message(&self, ws: WebSocket, message: WebSocketIncomingMessage) -> Result<()> {
        super::counters::wake();
        let now = now_ms();
        let result = self.on_message(now, &ws, message).await;
        if let Err(e) = result {
            super::log::error("frame.failed", serde_json::json!({ "error": e.to_string() }));
        }
        self.sync_alarm().await;
        Ok(())
    }

    async fn websocket_close(
        &self,
        ws: WebSocket,
        _code: usize,
        _reason: String,
        _clean: bool,
    ) -> Result<()> {
        self.socket_gone(&ws).await;
        Ok(())
    }

    async fn websocket_error(&self, ws: WebSocket, _error: worker::Error) -> Result<()> {
        self.socket_gone(&ws).await;
        Ok(())
    }
}

impl Topic {
    /// Runs `f` on the loaded state, loading it first if this is a fresh start.
    pub fn with<R>(&self, f: impl FnOnce(&mut Inner) -> Result<R>) -> Result<R> {
        let mut slot =
            self.inner.try_borrow_mut().map_err(|_| worker::Error::RustError("state busy".into()))?;
        if slot.is_none() {
            *slot = Some(self.load()?);
        }
        match slot.as_mut() {
            Some(inner) => f(inner),
            None => Err(worker::Error::RustError("state not loaded".into())),
        }
    }

    fn load(&self) -> Result<Inner> {
        super::counters::start();
        let now = now_ms();
        let db = Db::open(self.state.storage().sql())?;
        let loaded = db.load()?;
        let limits = super::limits_from_env(&self.env);
        let mut queue = Queue::new(limits.clone());
        queue.restore(loaded.head, loaded.channels, loaded.messages, loaded.keys);
        let mut sockets = HashMap::new();
        let mut pending = Vec::new();
        let mut lost = Vec::new();
        for ws in self.state.get_websockets() {
            match ws.deserialize_attachment::<Attachment>() {
                Ok(Some(att)) => match att.consumer() {
                    Some((id, channel, settings, rdy)) => {
                        if queue.restore_consumer(now, id, &channel, settings, rdy) {
                            sockets.insert(id, ws);
                        } else {
                            lost.push(ws);
                        }
                    }
                    None if !att.welcomed => pending.push((att.opened_at + HELLO_TIMEOUT_MS, ws)),
                    None => {}
                },
                _ => lost.push(ws),
            }
        }
        for ws in lost {
            let _ = ws.close(Some(crate::core::CLOSE_DELETED), Some("channel deleted"));
        }
        queue.finish_restore(now);
        let requests = db.requests()?.into_iter().collect();
        let registered = db.meta("registered")?;
        let since = now.saturating_sub(limits.dedup_window_ms);
        let dedup = Dedup::load(&db, now, since, limits.dedup_memory_pairs)?;
        let mut inner = Inner {
            db,
            topic: loaded.topic,
            queue,
            sockets,
            pending,
            retained: loaded.retained,
            oldest: loaded.oldest,
            oldest_ts: loaded.oldest_ts,
            cache: BodyCache::default(),
            limits,
            access: super::auth::Access::from_env(&self.env),
            outbox: Vec::new(),
            requests,
            responses: Vec::new(),
            registered,
            dedup,
        };
        inner.apply()?;
        Ok(inner)
    }

    async fn socket_gone(&self, ws: &WebSocket) {
        super::counters::wake();
        let now = now_ms();
        let result = self.with(|inner| {
            if let Ok(Some(att)) = ws.deserialize_attachment::<Attachment>() {
                if let Some((id, channel, ..)) = att.consumer() {
                    inner.sockets.remove(&id);
                    inner.queue.detach(now, id);
                    super::log::info(
                        "consumer.detached",
                        serde_json::json!({ "topic": inner.topic, "channel": channel, "session": format!("{:x}", id.0) }),
                    );
                }
            }
            inner.apply()
        });
        if let Err(e) = result {
            super::log::error("close.failed", serde_json::json!({ "error": e.to_string() }));
        }
        let _ = ws.close(Some(1000), Some("bye"));
        self.sync_alarm().await;
    }

    /// Sets the object's one alarm to the earliest time the core (or a pending `hello`)
    /// has work, or deletes it when there is none.
    pub async fn sync_alarm(&self) {
        let next = match self.inner.try_borrow_mut() {
            Ok(mut slot) => match slot.as_mut() {
                Some(inner) => inner.next_wakeup(),
                None => return,
            },
            Err(_) => return,
        };
        if next == self.alarm_at.get() {
            return;
        }
        let storage = self.state.storage();
        let result = match next {
            Some(t) => storage.set_alarm(ScheduledTime::new(js_sys::Date::new(&(t as f64).into()))).await,
            None => storage.delete_alarm().await,
        };
        match result {
            Ok(()) => self.alarm_at.set(next),
            Err(e) => super::log::error("alarm.set_failed", serde_json::json!({ "error": e.to_string() })),
        }
    }

    /// Adds the topic to the registry when it is first used, and removes it once deleted:
    /// one registry call per topic's life, never one per publish.
    async fn sync_registry(&self) {
        let Ok(change) = self.with(|inner| Ok(inner.registry_change())) else { return };
        let Some((name, add)) = change else { return };
        match super::topics::register(&self.env, &name, add).await {
            Ok(()) => {
                let event = if add { "topic.created" } else { "topic.deleted" };
                super::log::info(event, serde_json::json!({ "topic": name }));
                if let Err(e) = self.with(|inner| inner.registered_as(add.then_some(name))) {
                    super::log::error("registry.failed", serde_json::json!({ "error": e.to_string() }));
                }
            }
            Err(e) => super::log::error(
                "registry.failed",
                serde_json::json!({ "topic": name, "error": e.to_string() }),
            ),
        }
    }

    async fn handle_http(&self, route: Route, req: Request) -> Result<Response> {
        super::ops::handle(self, route, req).await
    }

    /// HTTP requests waiting for a response.
    pub fn waiters(&self) -> &Waiters {
        &self.waiters
    }

    /// The object's state (storage, sockets).
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The Worker's bindings.
    pub fn env(&self) -> &Env {
        &self.env
    }
}

/// Waits until every write made so far is committed (`storage.sync()`).
///
/// Local workerd (wrangler dev, Miniflare) holds HTTP answers until the commit, but was
/// seen to send on hibernatable WebSockets a few milliseconds before the commit reached
/// disk even after this wait; on Cloudflare, output gates cover both. See the README.
pub async fn durable(state: &State) -> Result<()> {
    state.storage().sync().await
}

impl Inner {
    /// Applies the core's queued effects: rows, deliveries, closes.
    pub fn apply(&mut self) -> Result<()> {
        for effect in self.queue.drain_effects() {
            match effect {
                Effect::Store(op) => {
                    if let crate::core::Store::Message { channel, record } = &op {
                        if record.state == crate::core::MessageState::Dead {
                            super::log::warn(
                                "message.dead",
                                serde_json::json!({ "topic": self.topic, "channel": channel, "seq": record.seq, "failures": record.failures }),
                            );
                        }
                    }
                    self.db.apply(&op)?
                }
                Effect::Deliver(d) => {
                    let Some(ws) = self.sockets.get(&d.consumer) else {
                        continue;
                    };
                    let body = match self.cache.get(d.seq) {
                        Some(b) => b,
                        None => match self.db.event_body(d.seq)? {
                            Some(b) => self.cache.put(d.seq, b),
                            None => {
                                super::log::error("event.missing", serde_json::json!({ "seq": d.seq }));
                                continue;
                            }
                        },
                    };
                    let _ = ws.send_with_str(d.msg_frame(&body, self.requests.contains(&d.seq)));
                }
                Effect::Close { consumer, code, reason } => {
                    if let Some(ws) = self.sockets.remove(&consumer) {
                        let _ = ws.close(Some(code), Some(reason));
                    }
                }
            }
        }
        Ok(())
    }

    /// Closes sockets that did not say `hello` in time (4001), or all of them (4004) when
    /// the topic is deleted. `sockets` must come from `state.get_websockets()`: once a
    /// socket is hibernatable, only the runtime's handles to it can close it.
    pub fn expire_pending(&mut self, now: u64, sockets: &[WebSocket], all: bool) {
        self.pending.clear();
        for ws in sockets {
            let Ok(Some(att)) = ws.deserialize_attachment::<Attachment>() else { continue };
            if att.welcomed {
                continue;
            }
            let deadline = att.opened_at + HELLO_TIMEOUT_MS;
            if all {
                let _ = ws.close(Some(crate::core::CLOSE_DELETED), Some("topic deleted"));
            } else if deadline <= now {
                let _ = ws.send_with_str(
                    r#"{"op":"error","code":"unauthorized","message":"no hello within 10 s"}"#,
                );
                let _ = ws.close(Some(4001), Some("hello must come first, within 10 s"));
            } else {
                self.pending.push((deadline, ws.clone()));
            }
        }
    }

    fn next_wakeup(&self) -> Option<u64> {
        [self.queue.poll_timeout(), self.pending.iter().map(|(t, _)| *t).min(), self.prune_at()]
            .into_iter()
            .flatten()
            .min()
    }

    /// When the oldest event may be pruned: it is finished on every channel and its
    /// retention has run out. `None` while some channel still needs it.
    fn prune_at(&self) -> Option<u64> {
        let ts = self.oldest_ts?;
        (self.retained > 0 && self.oldest < self.queue.lowest_needed())
            .then(|| ts.saturating_add(self.limits.retention_ms))
    }

    /// Deletes events that every channel has finished and whose retention has run out,
    /// oldest first, in bounded chunks.
    pub fn prune(&mut self, now: u64) -> Result<()> {
        const CHUNK: u64 = 1_000;
        let needed = self.queue.lowest_needed();
        let cutoff = now.saturating_sub(self.limits.retention_ms);
        for _ in 0..10 {
            let rows = self.db.oldest_events(CHUNK)?;
            let through = rows
                .iter()
                .take_while(|(seq, ts)| *seq < needed && *ts <= cutoff)
                .map(|(seq, _)| *seq)
                .last();
            let Some(through) = through else { break };
            self.db.prune_through(through)?;
            self.requests = self.requests.split_off(&(through + 1));
            let removed = rows.iter().filter(|(seq, _)| *seq <= through).count() as u64;
            self.retained = self.retained.saturating_sub(removed);
            self.queue.forget_keys_below(through + 1);
            match rows.iter().find(|(seq, _)| *seq > through) {
                Some(&(seq, ts)) => {
                    self.oldest = seq;
                    self.oldest_ts = Some(ts);
                }
                None => {
                    let next = self.db.oldest_events(1)?;
                    self.oldest = next.first().map(|e| e.0).unwrap_or(self.queue.head() + 1);
                    self.oldest_ts = next.first().map(|e| e.1);
                    if next.is_empty() {
                        break;
                    }
                }
            }
        }
        Ok(())
    }

    /// What the registry still needs to learn: (name, add) or (name, remove).
    fn registry_change(&self) -> Option<(String, bool)> {
        match (&self.topic, &self.registered) {
            (Some(t), r) if r.as_ref() != Some(t) => Some((t.clone(), true)),
            (None, Some(r)) => Some((r.clone(), false)),
            _ => None,
        }
    }

    /// Records that the registry now lists the topic under `name` (or not at all).
    fn registered_as(&mut self, name: Option<String>) -> Result<()> {
        if let Some(n) = &name {
            self.db.set_meta("registered", n)?;
        }
        self.registered = name;
        Ok(())
    }

    /// Remembers the topic's name on first use.
    pub fn remember_topic(&mut self, name: &str) -> Result<()> {
        if self.topic.as_deref() != Some(name) {
            self.db.set_meta("topic", name)?;
            self.topic = Some(name.to_owned());
        }
        Ok(())
    }

    /// Maps a core or wire error for an HTTP answer.
    pub fn api_error(e: impl Into<ApiError>) -> Result<Response> {
        http::error(&e.into())
    }
}
