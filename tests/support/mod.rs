//! A native driver of the broker for tests: the broker over a `MemStore`, a virtual
//! clock, virtual sockets that record what they receive, and the two ways a Durable
//! Object loses its memory (hibernation keeps the sockets, a restart closes them).
#![allow(dead_code)]

use ismld::core::{
    Answer, Broker, Caller, FrameOutcome, MemStore, Operation, Output, Partition, SocketRecord, Store,
    StoreError, TopicRequest,
};
use ismld::proto::{Limits, TopicName};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The topic every test uses.
pub const TOPIC: &str = "t";

/// A broker and everything around it.
pub struct Harness {
    pub broker: Broker,
    pub store: MemStore,
    pub now: u64,
    pub limits: Limits,
    pub records: BTreeMap<u64, SocketRecord>,
    /// Frames each socket received, in order (parsed).
    pub inbox: BTreeMap<u64, Vec<Value>>,
    /// Sockets the broker closed, with the code.
    pub closed: BTreeMap<u64, u16>,
    /// Responses to requests, by request seq.
    pub responses: Vec<(u64, String)>,
    /// Log lines (event names).
    pub logs: Vec<String>,
    /// Answers to waiting pulls, by waiter.
    pub pulls: Vec<(u64, String)>,
    /// Push requests the broker asked for.
    pub pushes: Vec<PushSent>,
    /// The partition HTTP operations say they were routed to (as the front Worker does).
    pub routed: Partition,
    next_socket: u64,
    next_ref: u64,
}

/// A push request: (channel, seq, attempt, headers, body).
pub type PushSent = (u32, u64, u32, Vec<(String, String)>, Vec<u8>);

impl Default for Harness {
    fn default() -> Self {
        Self::with_limits(Limits::default())
    }
}

impl Harness {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_limits(limits: Limits) -> Self {
        let mut broker = Broker::new(limits.clone(), Partition::default());
        broker.allow_push();
        Harness {
            broker,
            store: MemStore::new(),
            now: 1_000_000,
            limits,
            records: BTreeMap::new(),
            inbox: BTreeMap::new(),
            closed: BTreeMap::new(),
            responses: Vec::new(),
            logs: Vec::new(),
            pulls: Vec::new(),
            routed: Partition::default(),
            pushes: Vec::new(),
            next_socket: 1 << 32,
            next_ref: 1,
        }
    }

    /// Runs a broker call in a transaction, as a driver does: on a storage failure the
    /// transaction is rolled back, the outputs dropped and the broker rebuilt.
    pub fn call<R>(
        &mut self,
        f: impl FnOnce(&mut Broker, &mut dyn Store, u64) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        self.store.begin();
        let now = self.now;
        match f(&mut self.broker, &mut self.store, now) {
            Ok(r) => {
                self.store.commit();
                let out = self.broker.drain();
                self.take(out);
                Ok(r)
            }
            Err(e) => {
                eprintln!("harness: call failed: {e}");
                self.store.rollback();
                let _ = self.broker.drain();
                self.rebuild(true);
                Err(e)
            }
        }
    }

    fn take(&mut self, out: Vec<Output>) {
        for o in out {
            match o {
                Output::Send { socket, text, .. } => {
                    let v: Value =
                        serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad frame {text}: {e}"));
                    self.inbox.entry(socket).or_default().push(v);
                }
                Output::Close { socket, code, .. } => {
                    self.closed.insert(socket, code);
                    self.records.remove(&socket);
                }
                Output::Attach { socket, record } => {
                    self.records.insert(socket, record);
                }
                Output::Response { seq, event } => self.responses.push((seq, event)),
                Output::PullReady { waiter, body } => self.pulls.push((waiter, body)),
                Output::Push { channel, seq, attempt, headers, body, .. } => {
                    self.pushes.push((channel, seq, attempt, headers, body))
                }
                Output::Recheck { .. } | Output::ChannelMade { .. } => {}
                Output::Log { event, .. } => self.logs.push(event.to_owned()),
            }
        }
    }

    /// The broker loses its memory. `keep_sockets`: hibernation (the sockets live on);
    /// otherwise a restart of the runtime (every socket is gone).
    pub fn rebuild(&mut self, keep_sockets: bool) {
        if !keep_sockets {
            for id in self.records.keys() {
                self.closed.insert(*id, 1006);
            }
            self.records.clear();
        }
        let records: Vec<SocketRecord> = self.records.values().cloned().collect();
        self.store.begin();
        let b = Broker::load(self.limits.clone(), Partition::default(), &mut self.store, records, self.now)
            .expect("load");
        self.store.commit();
        self.broker = b;
        self.broker.allow_push();
        let out = self.broker.drain();
        self.take(out);
    }

    /// Hibernation: the broker is rebuilt, the sockets survive.
    pub fn hibernate(&mut self) {
        self.rebuild(true);
    }

    /// A runtime restart: the broker is rebuilt, every socket is gone.
    pub fn restart(&mut self) {
        self.rebuild(false);
    }

    pub fn open(&mut self, channel: Option<&str>) -> u64 {
        self.next_socket += 1;
        let id = self.next_socket;
        let channel = channel.map(|c| ismld::proto::ChannelName::parse(c).expect("channel name"));
        self.call(|b, _, now| Ok(b.open(now, id, channel.as_ref(), None, None)))
            .expect("store")
            .expect("open");
        id
    }

    /// A socket sends a frame (a `hello` is accepted as an anonymous caller).
    pub fn send(&mut self, socket: u64, frame: Value) {
        let text = frame.to_string();
        self.send_text(socket, &text);
    }

    pub fn send_text(&mut self, socket: u64, text: &str) {
        self.next_ref += 1;
        let mut entropy = [7u8; 16];
        entropy[..8].copy_from_slice(&self.next_ref.to_le_bytes());
        let outcome = self.call(|b, s, now| b.frame(now, s, socket, text, entropy));
        if let Ok(FrameOutcome::Authenticate(hello)) = outcome {
            let caller = Caller::anyone("/anonymous");
            let _ = self.call(|b, s, now| b.hello(now, s, socket, TOPIC, &hello, Ok(caller)));
        }
    }

    /// A consumer of `channel` with these `hello` fields, welcomed.
    pub fn consumer(&mut self, channel: &str, hello: Value) -> u64 {
        let id = self.open(Some(channel));
        let mut h = json!({ "op": "hello" });
        if let (Some(h), Some(extra)) = (h.as_object_mut(), hello.as_object()) {
            h.extend(extra.clone());
        }
        self.send(id, h);
        assert_eq!(self.inbox(id).first().map(|f| f["op"].clone()), Some(json!("welcome")), "welcomed");
        id
    }

    /// A publisher socket, welcomed.
    pub fn publisher(&mut self) -> u64 {
        let id = self.open(None);
        self.send(id, json!({ "op": "hello" }));
        id
    }

    /// Sends a frame with a fresh `ref` and returns the answer to it.
    pub fn ask(&mut self, socket: u64, mut frame: Value) -> Value {
        let r = self.next_ref;
        self.next_ref += 1;
        frame["ref"] = json!(r);
        self.send(socket, frame);
        self.inbox(socket).iter().rev().find(|f| f["ref"] == json!(r)).cloned().unwrap_or(Value::Null)
    }

    /// Everything a socket received so far.
    pub fn inbox(&self, socket: u64) -> Vec<Value> {
        self.inbox.get(&socket).cloned().unwrap_or_default()
    }

    /// Takes the deliveries a socket received since the last call (`msg` and the
    /// elements of `msgs`).
    pub fn msgs(&mut self, socket: u64) -> Vec<Value> {
        let frames = self.inbox.get_mut(&socket).map(std::mem::take).unwrap_or_default();
        let mut out = Vec::new();
        let mut rest = Vec::new();
        for f in frames {
            match f["op"].as_str() {
                Some("msg") => out.push(f),
                Some("msgs") => out.extend(f["messages"].as_array().cloned().unwrap_or_default()),
                _ => rest.push(f),
            }
        }
        self.inbox.insert(socket, rest);
        out
    }

    /// Seqs of [`Harness::msgs`].
    pub fn seqs(&mut self, socket: u64) -> Vec<u64> {
        self.msgs(socket).iter().filter_map(|m| m["seq"].as_u64()).collect()
    }

    /// A socket closes.
    pub fn disconnect(&mut self, socket: u64) {
        self.records.remove(&socket);
        let _ = self.call(|b, s, now| b.closed(now, s, socket));
    }

    /// An HTTP operation; answers (status, body).
    pub fn http(&mut self, method: &str, path: &str, body: Value) -> (u16, Value) {
        self.http_raw(method, path, &[], Some("application/json"), body.to_string().as_bytes())
    }

    pub fn http_raw(
        &mut self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        ct: Option<&str>,
        body: &[u8],
    ) -> (u16, Value) {
        let (topic, op) = Operation::parse(method, path).expect("a topic route");
        let query: Vec<(String, String)> =
            query.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let headers = ct.map(|c| vec![("content-type".to_owned(), c.to_owned())]).unwrap_or_default();
        let topic: TopicName = topic;
        self.next_ref += 1;
        let mut entropy = [0u8; 16];
        entropy[..8].copy_from_slice(&self.next_ref.to_le_bytes());
        let req = TopicRequest {
            topic: &topic,
            op,
            query: &query,
            headers: &headers,
            content_type: ct,
            body,
            source: "/anonymous",
            nsq: None,
            entropy,
            routed: self.routed,
        };
        match self.call(|b, s, now| b.http(now, s, &req)) {
            Ok(Answer::Done { status, body }) => (status, serde_json::from_str(&body).unwrap_or(Value::Null)),
            Ok(Answer::AwaitResponse { seq, .. }) => (202, json!({ "await": seq })),
            Ok(Answer::AwaitPull { waiter, .. }) => (202, json!({ "waiter": waiter })),
            Err(e) => (500, json!({ "error": e.message })),
        }
    }

    /// Publishes plain JSON data; answers the 201 body.
    pub fn publish(&mut self, data: Value) -> Value {
        self.publish_with(data, &[])
    }

    pub fn publish_with(&mut self, data: Value, query: &[(&str, &str)]) -> Value {
        let (status, body) = self.http_raw(
            "POST",
            "/v1/topics/t/events",
            query,
            Some("application/json"),
            data.to_string().as_bytes(),
        );
        assert_eq!(status, 201, "{body}");
        body
    }

    /// Publishes `n` plain events.
    pub fn publish_n(&mut self, n: usize) {
        for i in 0..n {
            self.publish(json!({ "n": i }));
        }
    }

    /// Time passes: every timer due by then runs, in order.
    pub fn advance(&mut self, ms: u64) {
        let end = self.now + ms;
        while let Some(t) = self.broker.poll_timeout().filter(|&t| t <= end) {
            self.now = self.now.max(t);
            self.call(|b, s, now| b.handle_timeout(now, s)).expect("timers");
        }
        self.now = end;
    }

    /// A channel's stats.
    pub fn stats(&mut self, channel: &str) -> Value {
        let (status, body) = self.http("GET", "/v1/topics/t", Value::Null);
        assert_eq!(status, 200, "{body}");
        body["channels"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["channel"] == json!(channel)).cloned())
            .unwrap_or(Value::Null)
    }
}
