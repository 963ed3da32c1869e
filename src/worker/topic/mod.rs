//! The topic Durable Object (class `Topic`): one per topic (or partition). A thin
//! driver of the [`Broker`]: it decodes what arrives (HTTP operations, socket frames,
//! closes, the alarm), runs the broker call in one SQLite transaction, and applies the
//! outputs once they are committed: `transactionSync` has returned, the object asks for
//! the commit to be made durable at once (`storage.sync()`, not awaited), and the
//! runtime's output gate holds every answer and frame until it is. The object goes on
//! reading frames meanwhile, so one durable confirmation covers a burst (awaiting
//! `storage.sync()` per acknowledgement measured 1.8 against 1.0 ms per pipelined `pub`
//! frame locally).
//!
//! Owns: the SQL store, the sockets and their attachments, the one alarm, the waiting
//! requests and pulls, the topic registry entry. Must not hold any delivery rule: if
//! `memory://` would need the same line, it belongs in the broker.

mod attach;
mod runtime;
mod schema;
mod sql;

use super::http::{self, now_ms};
use super::log;
use crate::core::{Broker, Operation, Output, Partition, SocketId, Store, StoreError};
use crate::proto::route::{ChannelOp, TopicOp};
use crate::proto::{close, ApiError, ErrorCode, Limits};
use attach::Attachments;
use futures::channel::oneshot;
use runtime::Runtime;
use sql::SqlStore;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use worker::{
    durable_object, DurableObject, Env, Request, Response, Result, State, WebSocket, WebSocketIncomingMessage,
};

/// Header the front Worker sets: the caller's event `source`.
pub const SOURCE_HEADER: &str = "x-ismld-source";
/// Header the front Worker sets on an upgrade that carried accepted credentials.
pub const CALLER_HEADER: &str = "x-ismld-caller";
/// Internal: on an upgrade signed in as a client, the credential generation the front
/// Worker checked (so the socket's credentials are checked again as a `hello`'s are).
pub const CLIENT_GEN_HEADER: &str = "x-ismld-client-gen";
/// Largest body of an operation other than a publish.
pub const SMALL_BODY: usize = 64 << 10;
/// Header the front Worker sets on every request: `{partition}/{partitions}` as it
/// routed it.
pub const PARTITION_HEADER: &str = "x-ismld-partition";

/// The partition a request says it is for (`0/1` when absent).
pub fn partition_of(req: &Request) -> Partition {
    req.headers()
        .get(PARTITION_HEADER)
        .ok()
        .flatten()
        .and_then(|h| {
            let (i, n) = h.split_once('/')?;
            Some(Partition { index: i.parse().ok()?, count: n.parse().ok()? })
        })
        .filter(|p| p.count >= 1 && p.index < p.count)
        .unwrap_or_default()
}

/// The topic Durable Object.
#[durable_object]
pub struct Topic {
    state: State,
    env: Env,
    runtime: Option<Runtime>,
    limits: Limits,
    loaded: RefCell<Option<Loaded>>,
    responses: RefCell<HashMap<u64, Vec<oneshot::Sender<String>>>>,
    pulls: RefCell<HashMap<u64, oneshot::Sender<String>>>,
    alarm_at: Cell<Option<u64>>,
    registered: RefCell<Option<Option<String>>>,
    /// Push requests waiting for the alarm to send them.
    push_queue: RefCell<std::collections::VecDeque<push::PushJob>>,
    /// Whether an invocation is sending pushes.
    pushing: Cell<bool>,
    /// The sockets' attachments, read once each.
    attachments: Attachments,
    /// Nothing is stored yet: each call makes the schema in its transaction and keeps it
    /// only if the call wrote a row (contract: nothing is stored before credentials are
    /// accepted, so an upgrade or a refused `hello` leaves no table behind).
    fresh: Cell<bool>,
    /// Frames waiting behind the one their socket is handling (see `on_frame`).
    waiting_frames: RefCell<HashMap<SocketId, std::collections::VecDeque<String>>>,
}

/// What lives in memory while the object runs.
struct Loaded {
    broker: Broker,
    sockets: HashMap<SocketId, WebSocket>,
}

impl DurableObject for Topic {
    fn new(state: State, env: Env) -> Self {
        let (state, runtime) = Runtime::new(state);
        if let Some(rt) = &runtime {
            rt.answer_pings();
        }
        let limits = super::limits_from_env(&env);
        Topic {
            state,
            env,
            runtime,
            limits,
            loaded: RefCell::new(None),
            responses: RefCell::default(),
            pulls: RefCell::default(),
            alarm_at: Cell::new(None),
            registered: RefCell::new(None),
            push_queue: RefCell::default(),
            pushing: Cell::new(false),
            attachments: Attachments::default(),
            fresh: Cell::new(false),
            waiting_frames: RefCell::new(HashMap::new()),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        super::counters::wake();
        let now = now_ms();
        if req.path() == "/_partitions" {
            return self.partitions(now);
        }
        let (topic, op) = match Operation::parse(req.method().as_ref(), &req.path()) {
            Ok(r) => r,
            Err(e) => return http::error(&e),
        };
        let answer = match op {
            Operation::Topic(TopicOp::Socket) => self.accept(now, &req, &topic, None).await,
            Operation::Channel(c, ChannelOp::Socket) => self.accept(now, &req, &topic, Some(c)).await,
            op => self.operation(now, &mut req, &topic, op).await,
        };
        self.sync_alarm().await;
        self.sync_registry().await;
        answer
    }

    async fn alarm(&self) -> Result<Response> {
        super::counters::wake();
        let now = now_ms();
        self.alarm_at.set(None);
        self.tick(now).await;
        self.send_pushes().await;
        self.sync_alarm().await;
        Response::ok("")
    }

    async fn websocket_message(&self, ws: WebSocket, message: WebSocketIncomingMessage) -> Result<()> {
        super::counters::wake();
        let Some(att) = self.attachments.get(&ws) else {
            let _ = ws.close(Some(close::SEQUENCE), Some("unknown socket"));
            return Ok(());
        };
        let text = match message {
            WebSocketIncomingMessage::String(s) => s,
            WebSocketIncomingMessage::Binary(b) => String::from_utf8_lossy(&b).into_owned(),
        };
        self.on_frame(ws, att, text).await;
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
        self.socket_gone(ws).await;
        Ok(())
    }

    async fn websocket_error(&self, ws: WebSocket, _error: worker::Error) -> Result<()> {
        self.socket_gone(ws).await;
        Ok(())
    }
}

impl Topic {
    /// Runs one broker call in a transaction (loading the broker first if needed).
    /// Returns its result and outputs; a failure rolls back and drops the broker.
    fn run<R>(
        &self,
        now: u64,
        f: impl FnOnce(&mut Broker, &mut dyn Store) -> std::result::Result<R, StoreError>,
    ) -> std::result::Result<(R, Vec<Output>), StoreError> {
        let rt = self.runtime.as_ref().ok_or_else(|| StoreError::other("no storage"))?;
        let mut slot = self.loaded.try_borrow_mut().map_err(|_| StoreError::other("state busy"))?;
        let sql = self.state.storage().sql();
        if slot.is_none() {
            // What was queued belongs to the broker that is gone: the new one asks again.
            self.push_queue.borrow_mut().clear();
            *slot = Some(self.load(rt, &sql, now)?);
        }
        let Some(loaded) = slot.as_mut() else { return Err(StoreError::other("not loaded")) };
        let result = if self.fresh.get() {
            self.first_write(rt, &sql, |s| f(&mut loaded.broker, s))
        } else {
            rt.transaction(|| f(&mut loaded.broker, &mut SqlStore::new(&sql))).map_err(StoreError::from)
        };
        match result {
            Ok(r) => Ok((r, loaded.broker.drain())),
            Err(e) => {
                *slot = None;
                Err(e)
            }
        }
    }

    /// Rebuilds the broker from storage and the surviving sockets (first use, restart,
    /// or wake from hibernation).
    fn load(
        &self,
        rt: &Runtime,
        sql: &worker::SqlStorage,
        now: u64,
    ) -> std::result::Result<Loaded, StoreError> {
        super::counters::start();
        let mut sockets = HashMap::new();
        let mut records = Vec::new();
        for ws in self.state.get_websockets() {
            match self.attachments.get(&ws) {
                Some(att) => {
                    records.push(att.record.clone());
                    sockets.insert(att.record.id, ws);
                }
                _ => {
                    let _ = ws.close(Some(close::SEQUENCE), Some("unknown socket"));
                }
            }
        }
        let limits = self.limits.clone();
        let recheck_ms = crate::worker::front::auth::Access::from_env(&self.env).cache_ttl_ms;
        let fresh = !schema::exists(sql).map_err(|e| StoreError::other(e.to_string()))?;
        self.fresh.set(fresh);
        let load = |store: &mut dyn Store| -> std::result::Result<Broker, StoreError> {
            let mut b = Broker::load(limits, Partition::default(), store, records, now)?;
            b.recheck_every(recheck_ms);
            b.allow_push();
            if self.registered.borrow().is_none() {
                *self.registered.borrow_mut() = Some(store.meta("registered")?);
            }
            Ok(b)
        };
        let broker = if fresh {
            self.first_write(rt, sql, load)?
        } else {
            rt.transaction(|| -> std::result::Result<Broker, StoreError> {
                schema::open(sql).map_err(|e| StoreError::other(e.to_string()))?;
                load(&mut SqlStore::new(sql))
            })
            .map_err(StoreError::from)?
        };
        Ok(Loaded { broker, sockets })
    }

    /// Runs `f` on an object that stores nothing yet ([`schema::first_write`]).
    fn first_write<R>(
        &self,
        rt: &Runtime,
        sql: &worker::SqlStorage,
        f: impl FnOnce(&mut dyn Store) -> std::result::Result<R, StoreError>,
    ) -> std::result::Result<R, StoreError> {
        let (r, kept) = schema::first_write(rt, sql, f)?;
        if kept {
            self.fresh.set(false);
        }
        Ok(r)
    }

    /// Asks the runtime to make what is committed durable now, without waiting: the output
    /// gate releases what this invocation sends once it is, and the object reads the next
    /// frame meanwhile (left alone, the local runtime flushes on a timer, ~20 ms).
    pub(super) fn flush(&self) {
        let _ = self.state.storage().as_raw().sync();
    }

    /// Applies a call's outputs (its transaction has committed; the output gate holds
    /// them until the commit is durable).
    async fn apply(&self, outputs: Vec<Output>) {
        if !outputs.is_empty() {
            self.flush();
        }
        let made: Vec<String> = outputs
            .iter()
            .filter_map(|o| match o {
                Output::ChannelMade { channel } => Some(channel.clone()),
                _ => None,
            })
            .collect();
        if !made.is_empty() {
            self.make_in_siblings(&made).await;
        }
        let mut responses = Vec::new();
        let mut rechecks = Vec::new();
        if let Ok(mut slot) = self.loaded.try_borrow_mut() {
            let sockets = slot.as_mut().map(|l| &mut l.sockets);
            let mut empty = HashMap::new();
            let sockets = sockets.unwrap_or(&mut empty);
            for o in outputs {
                match o {
                    Output::Send { socket, text, .. } => {
                        if let Some(ws) = sockets.get(&socket) {
                            let _ = ws.send_with_str(text);
                        }
                    }
                    Output::Close { socket, code, reason } => {
                        if let Some(ws) = sockets.remove(&socket) {
                            let _ = ws.close(Some(code), Some(reason));
                        }
                    }
                    Output::Attach { socket, record } => {
                        if let Some(ws) = sockets.get(&socket) {
                            self.attachments.put_record(ws, record);
                        }
                    }
                    Output::Log { level, event, fields } => log::emit(level, event, fields),
                    Output::Recheck { socket } => {
                        if let Some(ws) = sockets.get(&socket) {
                            rechecks.push(ws.clone());
                        }
                    }
                    o @ Output::Push { .. } => self.push_queue.borrow_mut().extend(push::PushJob::of(o)),
                    o => responses.push(o),
                }
            }
        }
        if !self.pushing.get()
            && !self.push_queue.borrow().is_empty()
            && self.alarm_at.get().is_none_or(|t| t > now_ms())
        {
            self.set_alarm(now_ms()).await;
        }
        for ws in rechecks {
            self.recheck(ws).await;
        }
        for o in responses {
            match o {
                Output::Response { seq, event } => {
                    for w in self.responses.borrow_mut().remove(&seq).unwrap_or_default() {
                        let _ = w.send(event.clone());
                    }
                }
                Output::PullReady { waiter, body } => {
                    if let Some(w) = self.pulls.borrow_mut().remove(&waiter) {
                        let _ = w.send(body);
                    }
                }
                _ => {}
            }
        }
    }

    /// `GET /_partitions` (internal, from the front Worker): the topic's partition count,
    /// or `null` when nothing is stored yet (so the front does not cache a guess).
    fn partitions(&self, now: u64) -> Result<Response> {
        match self.run(now, |b, _| Ok((b.exists(), b.partition().count))) {
            Ok(((exists, n), _)) => {
                http::json(200, &serde_json::json!({ "partitions": exists.then_some(n) }))
            }
            Err(f) => http::error(&self.failed("partitions.failed", f)),
        }
    }

    /// A request routed for another partition count than the topic has (it was
    /// partitioned meanwhile): `409` with the count, for the front Worker to route again.
    pub(super) fn misrouted(have: Partition) -> Result<Response> {
        let e = ApiError::new(
            ErrorCode::Conflict,
            format!("this topic has {} partitions; route again", have.count),
        );
        let mut r =
            http::json(409, &serde_json::json!({ "error": e, "partitions": have.count, "misrouted": true }))?;
        r.headers_mut().set("x-ismld-misrouted", "1")?;
        Ok(r)
    }

    /// Logs a failed call (the detail only in the log); the client gets a generic error.
    fn failed(&self, event: &'static str, e: StoreError) -> ApiError {
        log::error(event, serde_json::json!({ "error": e.message }));
        e.to_api()
    }
}

mod push;
mod requests;
pub use requests::channel_body_cap;
mod sockets;
mod upkeep;

pub use sockets::caller_of;

/// The caller header's value for a caller.
pub fn caller_header(c: &crate::core::Caller) -> String {
    attach::caller_to_header(c)
}
