//! The in-process `memory://` bus: one [`Broker`] per topic over a [`MemStore`], behind
//! the same frames and HTTP operations as the Worker. A driver like the topic Durable
//! Object, and as thin: it feeds calls in a transaction, rolls back and rebuilds the
//! broker if storage fails, and passes the outputs on. No credentials (every caller may
//! do everything, with source `/memory`), nothing durable.

use crate::core::{
    Answer, Broker, MemStore, Operation, Output, Partition, SocketRecord, Store, StoreError, TopicRequest,
};
use crate::proto::route::{ChannelOp, TopicOp};
use crate::proto::{ApiError, ChannelName, ErrorCode, Limits, TopicName};
use serde::Serialize;
use std::collections::BTreeMap;

/// The `source` of events the memory bus makes.
pub const MEMORY_SOURCE: &str = "/memory";

/// Something the TypeScript side must do.
#[derive(Debug, Serialize, PartialEq)]
#[serde(tag = "to", rename_all = "snake_case")]
pub enum Event {
    /// A frame for a virtual socket.
    Frame {
        /// Which socket.
        conn: u64,
        /// The frame.
        frame: String,
    },
    /// Close a virtual socket.
    Close {
        /// Which socket.
        conn: u64,
        /// Close code.
        code: u16,
        /// Reason.
        reason: String,
    },
    /// The first response to a request on `topic` with `seq`.
    Response {
        /// Topic of the request.
        topic: String,
        /// Seq of the request event.
        seq: u64,
        /// The response CloudEvent.
        event: String,
    },
    /// A waiting pull's answer.
    Pull {
        /// Which pull.
        waiter: u64,
        /// Its `200` body.
        body: String,
    },
}

/// One topic: its broker, its store, and its sockets' records (to rebuild the broker).
#[derive(Debug)]
struct Topic {
    broker: Broker,
    store: MemStore,
    records: BTreeMap<u64, SocketRecord>,
}

/// The whole in-process bus.
#[derive(Debug, Default)]
pub struct MemoryBus {
    limits: Limits,
    topics: BTreeMap<String, Topic>,
    conns: BTreeMap<u64, String>,
    next: u64,
    out: Vec<Event>,
}

impl MemoryBus {
    /// An empty bus; `seed` varies the ids of events it makes.
    pub fn new(seed: u64) -> Self {
        MemoryBus { next: 16 + (seed & 0xffff) * 1_000_000, ..Default::default() }
    }

    fn entropy(&mut self) -> [u8; 16] {
        self.next += 1;
        let mut e = [0u8; 16];
        e[..8].copy_from_slice(&self.next.to_le_bytes());
        e
    }

    /// Runs `f` on `topic`'s broker in a transaction; a storage failure rolls it back,
    /// rebuilds the broker, and answers `500`.
    fn call<R>(
        &mut self,
        now: u64,
        topic: &str,
        f: impl FnOnce(&mut Broker, &mut dyn Store) -> Result<R, StoreError>,
    ) -> Result<R, ApiError> {
        let limits = self.limits.clone();
        let t = self.topics.entry(topic.to_owned()).or_insert_with(|| Topic {
            broker: Broker::new(limits.clone(), Partition::default()),
            store: MemStore::new(),
            records: BTreeMap::new(),
        });
        t.store.begin();
        let result = f(&mut t.broker, &mut t.store);
        match &result {
            Ok(_) => t.store.commit(),
            Err(e) => {
                t.store.rollback();
                let records = t.records.values().cloned().collect();
                if let Ok(b) = Broker::load(limits, Partition::default(), &mut t.store, records, now) {
                    t.broker = b;
                }
                self.pass_on(topic);
                return Err(ApiError::new(
                    if e.full { ErrorCode::StorageFull } else { ErrorCode::Internal },
                    "internal error",
                ));
            }
        }
        self.pass_on(topic);
        result.map_err(|_| ApiError::new(ErrorCode::Internal, "internal error"))
    }

    /// An HTTP operation (`method`, `path` as in the HTTP API, decoded query pairs).
    /// Answers `{"status", "body"}` or, for a request or a long-polling pull, what to
    /// wait for (`{"await": "response", "topic", "seq", "id", "timeout_ms"}` /
    /// `{"await": "pull", "topic", "waiter", "wait_ms"}`).
    pub fn http(
        &mut self,
        now: u64,
        method: &str,
        path: &str,
        query: &[(String, String)],
        content_type: Option<&str>,
        body: &[u8],
    ) -> String {
        let (topic, op) = match Operation::parse(method, path) {
            Ok((_, Operation::Topic(TopicOp::Socket) | Operation::Channel(_, ChannelOp::Socket))) => {
                return answer_json(
                    &Answer::error(&ApiError::new(ErrorCode::NotFound, "sockets open with open()")),
                    "",
                )
            }
            Ok(r) => r,
            Err(e) => return answer_json(&Answer::error(&e), ""),
        };
        let entropy = self.entropy();
        let headers =
            content_type.map(|c| vec![("content-type".to_owned(), c.to_owned())]).unwrap_or_default();
        let req = TopicRequest {
            topic: &topic,
            op,
            query,
            headers: &headers,
            content_type,
            body,
            source: MEMORY_SOURCE,
            nsq: None,
            entropy,
            routed: Default::default(),
        };
        let name = topic.as_str().to_owned();
        let answer = self.call(now, &name, |b, s| b.http(now, s, &req));
        answer_json(&answer.unwrap_or_else(|e| Answer::error(&e)), &name)
    }

    /// A waiting pull ran out of time: its empty answer, if it was still waiting.
    pub fn pull_expired(&mut self, topic: &str, waiter: u64) -> Option<String> {
        self.topics.get_mut(topic).and_then(|t| t.broker.pull_expired(waiter))
    }

    /// Opens a virtual socket: a consumer of `channel`, or a publisher socket.
    pub fn open(&mut self, now: u64, topic: &str, channel: Option<&str>) -> Result<u64, ApiError> {
        let topic = TopicName::parse(topic)?;
        let channel = channel.map(ChannelName::parse).transpose()?;
        self.next += 1;
        let conn = self.next;
        self.call(now, topic.as_str(), |b, _| Ok(b.open(now, conn, channel.as_ref(), None, None)))??;
        self.conns.insert(conn, topic.as_str().to_owned());
        Ok(conn)
    }

    /// One frame from a virtual socket.
    pub fn frame(&mut self, now: u64, conn: u64, text: &str) {
        let Some(topic) = self.conns.get(&conn).cloned() else { return };
        let entropy = self.entropy();
        let outcome = self.call(now, &topic, |b, s| b.frame(now, s, conn, text, entropy));
        if let Ok(crate::core::FrameOutcome::Authenticate(hello)) = outcome {
            let caller = crate::core::Caller::anyone(MEMORY_SOURCE);
            let _ = self.call(now, &topic, |b, s| b.hello(now, s, conn, &topic, &hello, Ok(caller)));
        }
    }

    /// A virtual socket closed.
    pub fn close(&mut self, now: u64, conn: u64) {
        let Some(topic) = self.conns.remove(&conn) else { return };
        let _ = self.call(now, &topic, |b, s| b.closed(now, s, conn));
        if let Some(t) = self.topics.get_mut(&topic) {
            t.records.remove(&conn);
        }
    }

    /// When [`MemoryBus::tick`] must run next.
    pub fn timeout(&self) -> Option<u64> {
        self.topics.values().filter_map(|t| t.broker.poll_timeout()).min()
    }

    /// Time passed.
    pub fn tick(&mut self, now: u64) {
        let due: Vec<String> = self
            .topics
            .iter()
            .filter(|(_, t)| t.broker.poll_timeout().is_some_and(|at| at <= now))
            .map(|(n, _)| n.clone())
            .collect();
        for name in due {
            let _ = self.call(now, &name, |b, s| b.handle_timeout(now, s));
        }
    }

    /// Takes what the TypeScript side must do, in order.
    pub fn drain(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.out)
    }

    fn pass_on(&mut self, topic: &str) {
        let Some(t) = self.topics.get_mut(topic) else { return };
        for o in t.broker.drain() {
            match o {
                Output::Send { socket, text, .. } => {
                    self.out.push(Event::Frame { conn: socket, frame: text })
                }
                Output::Close { socket, code, reason } => {
                    t.records.remove(&socket);
                    self.conns.remove(&socket);
                    self.out.push(Event::Close { conn: socket, code, reason });
                }
                Output::Attach { socket, record } => {
                    t.records.insert(socket, record);
                }
                Output::Response { seq, event } => {
                    self.out.push(Event::Response { topic: topic.to_owned(), seq, event })
                }
                Output::PullReady { waiter, body } => self.out.push(Event::Pull { waiter, body }),
                // memory:// makes no push channels (the broker refuses them without allow_push).
                Output::Log { .. } | Output::Recheck { .. } | Output::Push { .. } => {}
            }
        }
    }
}

/// An answer as the TypeScript side reads it: `{"status", "body"}`, or what to wait for.
fn answer_json(a: &Answer, topic: &str) -> String {
    let v = match a {
        Answer::Done { status, body } => serde_json::json!({ "status": status, "body": body }),
        Answer::AwaitResponse { seq, id, timeout_ms } => {
            serde_json::json!({ "await": "response", "topic": topic, "seq": seq, "id": id, "timeout_ms": timeout_ms })
        }
        Answer::AwaitPull { waiter, wait_ms } => {
            serde_json::json!({ "await": "pull", "topic": topic, "waiter": waiter, "wait_ms": wait_ms })
        }
    };
    v.to_string()
}
