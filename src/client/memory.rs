//! The in-process `memory://` bus: the server's queue core ([`crate::core`]) and wire
//! rules ([`crate::proto`]) behind the same frames and publish bodies as the Worker, so a
//! client pointed at `memory://` behaves like one pointed at a server, without one.
//!
//! Like the Topic Durable Object, it is a driver of the core: it feeds it publishes,
//! frames and time, and turns its effects into [`Output`]s for the TypeScript side
//! (frames to a virtual socket, closes, answers to requests). Unlike the object, it keeps
//! nothing durable (state lives as long as the page or process), has no credentials (every
//! caller may do everything) and keeps no finished events for `seek`.

use crate::core::{ConsumerId, ConsumerSettings, Effect, NewMessage, Seq, Topic};
use crate::proto::frame::{ok_frame, published_frame, settled_frame, ClientFrame, ServerFrame};
use crate::proto::http::{BatchItem, BatchPublished, Published, TopicStats};
use crate::proto::id::{message_id, parse_message_id};
use crate::proto::publish::{self, Body};
use crate::proto::response::response;
use crate::proto::{ApiError, ChannelName, ErrorCode, Limits, TopicName};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// Source of events the memory bus makes from plain data.
pub const MEMORY_SOURCE: &str = "/memory";

/// Something the driver must pass on.
#[derive(Debug, Serialize, PartialEq)]
#[serde(tag = "to", rename_all = "snake_case")]
pub enum Output {
    /// A text frame for a virtual socket.
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
    /// The first response to a request.
    Response {
        /// Topic of the request.
        topic: String,
        /// Seq of the request event.
        seq: Seq,
        /// The response CloudEvent (JSON text).
        event: String,
    },
}

/// An event as the memory bus keeps it.
#[derive(Debug)]
struct Stored {
    text: String,
    reply: bool,
}

#[derive(Debug)]
struct MemTopic {
    queue: Topic,
    events: BTreeMap<Seq, Stored>,
    /// (source, id) -> (seq, accepted at), for idempotent publish.
    dedup: HashMap<(String, String), (Seq, u64)>,
    sockets: HashMap<ConsumerId, u64>,
}

#[derive(Debug)]
struct Conn {
    topic: String,
    channel: Option<ChannelName>,
    consumer: Option<ConsumerId>,
    welcomed: bool,
}

/// The whole in-process bus: every topic, every virtual socket.
#[derive(Debug, Default)]
pub struct MemoryBus {
    limits: Limits,
    topics: BTreeMap<String, MemTopic>,
    conns: BTreeMap<u64, Conn>,
    next_conn: u64,
    out: Vec<Output>,
}

impl MemoryBus {
    /// An empty bus with the default limits.
    pub fn new() -> Self {
        MemoryBus { next_conn: 1, ..Default::default() }
    }

    fn topic(&mut self, name: &str) -> &mut MemTopic {
        let limits = self.limits.clone();
        self.topics.entry(name.to_owned()).or_insert_with(|| MemTopic {
            queue: Topic::new(limits),
            events: BTreeMap::new(),
            dedup: HashMap::new(),
            sockets: HashMap::new(),
        })
    }

    /// Publishes a body in any of the HTTP forms (PROTOCOL.md section 3). Returns the
    /// HTTP answer's JSON. `reply` marks a request (one event, delivered with `"reply"`).
    #[allow(clippy::too_many_arguments)]
    pub fn publish(
        &mut self,
        now: u64,
        topic: &str,
        content_type: Option<&str>,
        body: &[u8],
        ordering_key: Option<&str>,
        delay_ms: Option<u64>,
        reply: bool,
    ) -> Result<String, ApiError> {
        let results = self.append(now, topic, content_type, body, ordering_key, delay_ms, reply)?;
        let answer = if publish::is_batch(content_type) {
            serde_json::to_string(&BatchPublished { topic: topic.to_owned(), results })
        } else {
            let first = results.into_iter().next().ok_or_else(|| ApiError::invalid("no event"))?;
            serde_json::to_string(&Published {
                topic: topic.to_owned(),
                id: first.id,
                seq: first.seq,
                duplicate: first.duplicate,
            })
        };
        answer.map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))
    }

    /// Appends the events of a publish body; answers (id, seq, duplicate) per event.
    #[allow(clippy::too_many_arguments)]
    fn append(
        &mut self,
        now: u64,
        topic: &str,
        content_type: Option<&str>,
        body: &[u8],
        ordering_key: Option<&str>,
        delay_ms: Option<u64>,
        reply: bool,
    ) -> Result<Vec<BatchItem>, ApiError> {
        let name = TopicName::parse(topic)?;
        let limits = self.limits.clone();
        let t = self.topic(name.as_str());
        let body = Body { content_type, headers: &[], bytes: body, source: MEMORY_SOURCE, topic, nsq: None };
        let events = publish::read(&body, t.queue.head() + 1, now, &limits, reply)?;
        let since = now.saturating_sub(limits.dedup_window_ms);
        t.dedup.retain(|_, (_, at)| *at >= since);
        let seen = &t.dedup;
        let plan =
            publish::plan(events, t.queue.head(), now, &limits, ordering_key, delay_ms, |source, id| {
                Ok(seen.get(&(source.to_owned(), id.to_owned())).map(|&(seq, _)| seq))
            })?;
        let mut items = Vec::new();
        let mut results = Vec::new();
        for p in plan {
            results.push(BatchItem { id: message_id(p.seq), seq: p.seq, duplicate: p.duplicate });
            if let Some(e) = p.event {
                t.dedup.insert((e.meta.source, e.meta.id), (p.seq, now));
                t.events.insert(p.seq, Stored { text: e.text, reply });
                items.push(NewMessage { deliver_at: p.deliver_at, key: p.key });
            }
        }
        if !items.is_empty() {
            t.queue.publish(now, &items).map_err(ApiError::from)?;
        }
        self.apply(name.as_str());
        Ok(results)
    }

    /// Topic stats, as `GET /v1/topics/{topic}` answers them.
    pub fn stats(&self, topic: &str) -> Result<String, ApiError> {
        let t = self
            .topics
            .get(topic)
            .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("no topic {topic}")))?;
        let stats = TopicStats {
            topic: topic.to_owned(),
            seq: t.queue.head(),
            retained: t.events.len() as u64,
            channels: t.queue.stats(),
        };
        serde_json::to_string(&stats).map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))
    }

    /// Opens a virtual socket: a consumer of `channel`, or a publisher socket without one.
    pub fn open(&mut self, topic: &str, channel: Option<&str>) -> Result<u64, ApiError> {
        let topic = TopicName::parse(topic)?;
        let channel = channel.map(ChannelName::parse).transpose()?;
        let conn = self.next_conn;
        self.next_conn += 1;
        self.conns.insert(
            conn,
            Conn { topic: topic.as_str().to_owned(), channel, consumer: None, welcomed: false },
        );
        Ok(conn)
    }

    /// A virtual socket closed: its messages go back at once.
    pub fn close(&mut self, now: u64, conn: u64) {
        let Some(c) = self.conns.remove(&conn) else { return };
        if let (Some(id), Some(t)) = (c.consumer, self.topics.get_mut(&c.topic)) {
            t.sockets.remove(&id);
            t.queue.detach(now, id);
            self.apply(&c.topic);
        }
    }

    fn send(&mut self, conn: u64, frame: String) {
        self.out.push(Output::Frame { conn, frame });
    }

    /// One frame from a virtual socket.
    pub fn frame(&mut self, now: u64, conn: u64, text: &str) {
        let Some(c) = self.conns.get(&conn) else { return };
        let (topic, consumer, welcomed) = (c.topic.clone(), c.consumer, c.welcomed);
        let frame = match ClientFrame::decode(text) {
            Ok(f) => f,
            Err(fe) => return self.send(conn, ServerFrame::error(fe.reference.as_ref(), &fe.error)),
        };
        if !welcomed {
            return match frame {
                ClientFrame::Hello(h) => self.hello(now, conn, &h),
                _ => self.close_conn(now, conn, 4001, "hello must be the first frame"),
            };
        }
        let limits = self.limits.clone();
        let t = self.topic(&topic);
        if let Some(id) = consumer {
            t.queue.seen(now, id);
        }
        let answer = match frame {
            ClientFrame::Hello(_) => return self.close_conn(now, conn, 4000, "hello was already accepted"),
            ClientFrame::Ping => ServerFrame::Pong.encode(),
            ClientFrame::Rdy { count, reference } => match consumer {
                Some(id) if count <= u64::from(limits.max_in_flight) => {
                    let _ = t.queue.rdy(now, id, count as u32);
                    if reference.is_none() {
                        return self.apply(&topic);
                    }
                    ok_frame(reference.as_ref())
                }
                _ => ServerFrame::error(
                    reference.as_ref(),
                    &ApiError::invalid(format!(
                        "rdy needs a consumer socket and a count 0..={}",
                        limits.max_in_flight
                    )),
                ),
            },
            ClientFrame::Settle { verb, id, state, delay_ms, reference } => {
                let result =
                    consumer.ok_or_else(|| ApiError::invalid("this is a publisher socket")).and_then(|cid| {
                        let seq = parse_message_id(&id).ok_or_else(|| not_in_flight(&id))?;
                        let checkpoint = crate::core::checkpoint_update(state.as_deref().map(|s| s.get()));
                        t.queue
                            .settle(now, cid, verb, seq, checkpoint, delay_ms.unwrap_or(0))
                            .map_err(ApiError::from)
                    });
                match result {
                    Ok(deadline) => settled_frame(reference.as_ref(), deadline),
                    Err(e) => ServerFrame::error(reference.as_ref(), &e),
                }
            }
            ClientFrame::Respond { id, data, datacontenttype, reference } => {
                let result =
                    consumer.ok_or_else(|| ApiError::invalid("this is a publisher socket")).and_then(|cid| {
                        let seq = parse_message_id(&id).ok_or_else(|| not_in_flight(&id))?;
                        let Some(stored) = t.events.get(&seq) else { return Err(not_in_flight(&id)) };
                        if !stored.reply {
                            return Err(ApiError::invalid(format!(
                                "message {id} was not delivered with \"reply\": true"
                            )));
                        }
                        let request = stored.text.clone();
                        t.queue
                            .settle(now, cid, crate::proto::frame::Settle::Fin, seq, None, 0)
                            .map_err(ApiError::from)?;
                        let answer = response(
                            &request,
                            &format!("{id}.response"),
                            MEMORY_SOURCE,
                            &data,
                            datacontenttype.as_deref(),
                            now,
                        );
                        Ok((seq, answer))
                    });
                match result {
                    Ok((seq, answer)) => {
                        self.out.push(Output::Response { topic: topic.clone(), seq, event: answer });
                        ok_frame(reference.as_ref())
                    }
                    Err(e) => ServerFrame::error(reference.as_ref(), &e),
                }
            }
            ClientFrame::Pub { event, data, ordering_key, delay_ms, reference } => {
                let (content_type, body) = match (&event, &data) {
                    (Some(e), None) => (publish::STRUCTURED, e.get()),
                    (None, Some(d)) => ("application/json", d.get()),
                    _ => ("", ""),
                };
                let body = body.as_bytes().to_vec();
                let appended = self.append(
                    now,
                    &topic,
                    Some(content_type),
                    &body,
                    ordering_key.as_deref(),
                    delay_ms,
                    false,
                );
                match appended.and_then(|r| r.into_iter().next().ok_or_else(|| ApiError::invalid("no event")))
                {
                    Ok(p) => published_frame(reference.as_ref(), &p.id, p.seq, p.duplicate),
                    Err(e) => ServerFrame::error(reference.as_ref(), &e),
                }
            }
        };
        self.apply(&topic);
        self.send(conn, answer);
    }

    fn hello(&mut self, now: u64, conn: u64, h: &crate::proto::frame::Hello) {
        let (rdy, settings) = match ConsumerSettings::from_hello(h, &self.limits) {
            Ok(s) => s,
            Err(e) => return self.send(conn, ServerFrame::error(None, &e)),
        };
        let Some(c) = self.conns.get_mut(&conn) else { return };
        c.welcomed = true;
        let (topic, channel) = (c.topic.clone(), c.channel.clone());
        let Some(channel) = channel else {
            let w = ServerFrame::Welcome {
                topic: &topic,
                channel: None,
                session: "publisher",
                max_in_flight: 0,
                heartbeat_ms: settings.heartbeat_ms,
            };
            return self.send(conn, w.encode());
        };
        let t = self.topic(&topic);
        let id = t.queue.attach(now, &channel, settings, rdy);
        t.sockets.insert(id, conn);
        if let Some(c) = self.conns.get_mut(&conn) {
            c.consumer = Some(id);
        }
        let session = format!("{:x}", id.0);
        let w = ServerFrame::Welcome {
            topic: &topic,
            channel: Some(channel.as_str()),
            session: &session,
            max_in_flight: u64::from(rdy),
            heartbeat_ms: settings.heartbeat_ms,
        };
        // The welcome goes before the first delivery the attach queued.
        self.send(conn, w.encode());
        self.apply(&topic);
    }

    fn close_conn(&mut self, now: u64, conn: u64, code: u16, reason: &str) {
        self.out.push(Output::Close { conn, code, reason: reason.to_owned() });
        self.close(now, conn);
    }

    /// When [`MemoryBus::tick`] must run next.
    pub fn timeout(&self) -> Option<u64> {
        self.topics.values().filter_map(|t| t.queue.poll_timeout()).min()
    }

    /// Time passed: deadlines, deferred messages, heartbeats.
    pub fn tick(&mut self, now: u64) {
        let due: Vec<String> = self
            .topics
            .iter()
            .filter(|(_, t)| t.queue.poll_timeout().is_some_and(|at| at <= now))
            .map(|(n, _)| n.clone())
            .collect();
        for name in due {
            if let Some(t) = self.topics.get_mut(&name) {
                t.queue.handle_timeout(now);
            }
            self.apply(&name);
        }
    }

    /// Takes what the driver must pass on, in order.
    pub fn drain(&mut self) -> Vec<Output> {
        std::mem::take(&mut self.out)
    }

    /// Turns a topic's effects into outputs and forgets events no channel needs.
    fn apply(&mut self, topic: &str) {
        let Some(t) = self.topics.get_mut(topic) else { return };
        for effect in t.queue.drain_effects() {
            match effect {
                Effect::Deliver(d) => {
                    let (Some(&conn), Some(e)) = (t.sockets.get(&d.consumer), t.events.get(&d.seq)) else {
                        continue;
                    };
                    self.out.push(Output::Frame { conn, frame: d.msg_frame(&e.text, e.reply) });
                }
                Effect::Close { consumer, code, reason } => {
                    if let Some(conn) = t.sockets.remove(&consumer) {
                        self.conns.remove(&conn);
                        self.out.push(Output::Close { conn, code, reason });
                    }
                }
                Effect::Store(_) => {}
            }
        }
        // Nothing is kept for seek: an event every channel finished is gone. A topic
        // without channels keeps its events for the first channel made `from_seq`.
        if t.queue.stats().is_empty() {
            return;
        }
        let needed = t.queue.lowest_needed();
        t.events = t.events.split_off(&needed);
        t.queue.forget_keys_below(needed);
    }
}

fn not_in_flight(id: &str) -> ApiError {
    ApiError::new(ErrorCode::NotFound, format!("message {id} is not in flight to this consumer"))
}
