//! The in-process `memory://` bus: one [`Broker`] per topic over a [`MemStore`], behind
//! the same frames and HTTP operations as the Worker. A driver like the topic Durable
//! Object, and as thin: it feeds calls in a transaction (a storage failure rolls it back
//! and drops the broker, which is loaded again from storage by the next call) and passes
//! the outputs on. No credentials (every caller may do everything, with source
//! `/memory`), nothing durable.

use crate::core::{
    Answer, Broker, Caller, FrameOutcome, MemStore, Operation, Output, Partition, SocketRecord, Store,
    StoreError, TopicRequest,
};
use crate::proto::{ApiError, ChannelName, Limits, TopicName};
use serde::Serialize;
use std::collections::BTreeMap;

/// The `source` of events the memory bus makes.
pub const MEMORY_SOURCE: &str = "/memory";

/// A broker's [`Output`] or [`Answer`] for the TypeScript side, with its topic (which
/// the TypeScript side keys its waiting requests by).
#[derive(Debug, Serialize, PartialEq)]
pub struct Event<T> {
    /// The topic.
    pub topic: String,
    /// What to do, or to wait for.
    #[serde(flatten)]
    pub inner: T,
}

/// One topic: its broker (none after a storage failure), its store, and its sockets'
/// records (to load the broker again).
#[derive(Debug, Default)]
struct Topic {
    broker: Option<Broker>,
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
    out: Vec<Event<Output>>,
}

impl MemoryBus {
    /// An empty bus; `seed` varies the ids of events it makes.
    pub fn new(seed: u64) -> Self {
        MemoryBus { next: 16 + (seed & 0xffff) * 1_000_000, ..Default::default() }
    }

    /// A fresh number: a socket id, or the entropy of event ids.
    fn fresh(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    /// Runs `f` on `topic`'s broker in a transaction; a storage failure rolls it back
    /// and drops the broker.
    fn call<R>(
        &mut self,
        now: u64,
        topic: &str,
        f: impl FnOnce(&mut Broker, &mut dyn Store) -> Result<R, StoreError>,
    ) -> Result<R, ApiError> {
        let t = self.topics.entry(topic.to_owned()).or_default();
        t.store.begin();
        let records = || t.records.values().cloned().collect();
        let load = || Broker::load(self.limits.clone(), Partition::default(), &mut t.store, records(), now);
        let broker = t.broker.take().map_or_else(load, Ok);
        match broker.and_then(|mut b| f(&mut b, &mut t.store).map(|r| (r, b))) {
            Ok((r, b)) => {
                t.store.commit();
                t.broker = Some(b);
                self.pass_on(topic);
                Ok(r)
            }
            Err(e) => {
                t.store.rollback();
                Err(e.to_api())
            }
        }
    }

    /// An HTTP operation (`method`, `path` as in the HTTP API, decoded query pairs):
    /// the JSON of an [`Event`] of an [`Answer`].
    pub fn http(
        &mut self,
        now: u64,
        method: &str,
        path: &str,
        query: &[(String, String)],
        content_type: Option<&str>,
        body: &[u8],
    ) -> String {
        let answer = match Operation::parse(method, path) {
            Err(e) => Event { topic: String::new(), inner: Answer::error(&e) },
            Ok((topic, op)) => {
                let req = TopicRequest {
                    topic: &topic,
                    op,
                    query,
                    headers: &[],
                    content_type,
                    body,
                    source: MEMORY_SOURCE,
                    nsq: None,
                    entropy: u128::from(self.fresh()).to_le_bytes(),
                    routed: Partition::default(),
                };
                let a = self.call(now, topic.as_str(), |b, s| b.http(now, s, &req));
                Event { topic: topic.as_str().to_owned(), inner: a.unwrap_or_else(|e| Answer::error(&e)) }
            }
        };
        serde_json::to_string(&answer).unwrap_or_default()
    }

    /// A waiting pull ran out of time: its empty answer, if it was still waiting.
    pub fn pull_expired(&mut self, topic: &str, waiter: u64) -> Option<String> {
        self.topics.get_mut(topic)?.broker.as_mut()?.pull_expired(waiter)
    }

    /// Opens a virtual socket: a consumer of `channel`, or a publisher socket.
    pub fn open(&mut self, now: u64, topic: &str, channel: Option<&str>) -> Result<u64, ApiError> {
        let topic = TopicName::parse(topic)?;
        let channel = channel.map(ChannelName::parse).transpose()?;
        let conn = self.fresh();
        self.call(now, topic.as_str(), |b, _| Ok(b.open(now, conn, channel.as_ref(), None, None)))??;
        self.conns.insert(conn, topic.as_str().to_owned());
        Ok(conn)
    }

    /// One frame from a virtual socket.
    pub fn frame(&mut self, now: u64, conn: u64, text: &str) {
        let Some(topic) = self.conns.get(&conn).cloned() else { return };
        let entropy = u128::from(self.fresh()).to_le_bytes();
        if let Ok(FrameOutcome::Authenticate(hello)) =
            self.call(now, &topic, |b, s| b.frame(now, s, conn, text, entropy))
        {
            let caller = Ok(Caller::anyone(MEMORY_SOURCE));
            let _ = self.call(now, &topic, |b, s| b.hello(now, s, conn, &topic, &hello, caller));
        }
    }

    /// A virtual socket closed.
    pub fn close(&mut self, now: u64, conn: u64) {
        let Some(topic) = self.conns.remove(&conn) else { return };
        let _ = self.call(now, &topic, |b, s| b.closed(now, s, conn));
        self.topics.get_mut(&topic).map(|t| t.records.remove(&conn));
    }

    /// When [`MemoryBus::tick`] must run next (at once for a topic whose broker a storage
    /// failure dropped).
    pub fn timeout(&self) -> Option<u64> {
        self.topics.values().filter_map(|t| t.broker.as_ref().map_or(Some(0), |b| b.poll_timeout())).min()
    }

    /// Time passed.
    pub fn tick(&mut self, now: u64) {
        let due = |t: &Topic| t.broker.as_ref().is_none_or(|b| b.poll_timeout().is_some_and(|at| at <= now));
        let names: Vec<String> = self.topics.iter().filter(|(_, t)| due(t)).map(|(n, _)| n.clone()).collect();
        for name in names {
            let _ = self.call(now, &name, |b, s| b.handle_timeout(now, s));
        }
    }

    /// Takes what the TypeScript side must do, in order.
    pub fn drain(&mut self) -> Vec<Event<Output>> {
        std::mem::take(&mut self.out)
    }

    fn pass_on(&mut self, topic: &str) {
        let Some(t) = self.topics.get_mut(topic) else { return };
        for o in t.broker.as_mut().map(Broker::drain).unwrap_or_default() {
            match o {
                Output::Attach { socket, record } => drop(t.records.insert(socket, record)),
                // memory:// makes no push channels (the broker refuses them without allow_push).
                Output::Log { .. }
                | Output::Recheck { .. }
                | Output::Push { .. }
                | Output::ChannelMade { .. } => {}
                o => {
                    if let Output::Close { socket, .. } = &o {
                        t.records.remove(socket);
                        self.conns.remove(socket);
                    }
                    self.out.push(Event { topic: topic.to_owned(), inner: o });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
