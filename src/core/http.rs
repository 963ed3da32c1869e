//! The topic's HTTP operations (publish, request, stats, delete; channel create, delete,
//! pause, seek, dead letters, redrive, pull, settle): decoded input in, answers out.
//! The driver has checked credentials and permissions, read the body within its cap,
//! and passes the caller's event `source`.

use super::admin::NewChannel;
use super::broker::{Broker, Waiter};
use super::filter::Filter;
use super::output::Output;
use super::publish::Publisher;
use super::request::{
    channel_input, json_body, options, query_u64, Answer, Input, Operation, SeekTo, TopicRequest,
    DEAD_PAGE_BYTES, REQUEST_TIMEOUT_MS,
};
use super::store::{Store, StoreResult};
use super::{Millis, Seq};
use crate::proto::http::{BatchPublished, CreateChannel, DeadLetter, DeadLetters, Published};
use crate::proto::id::{made_id, message_id};
use crate::proto::publish::{self, Body};
use crate::proto::route::{ChannelOp, TopicOp};
use crate::proto::{ApiError, ChannelName, ErrorCode};
use serde_json::value::RawValue;

macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return Ok(Answer::error(&e)),
        }
    };
}

impl Broker {
    /// Serves one HTTP operation.
    pub fn http(
        &mut self,
        now: Millis,
        store: &mut dyn Store,
        req: &TopicRequest<'_>,
    ) -> StoreResult<Answer> {
        let answer = self.serve(now, store, req)?;
        self.finish(now, store)?;
        Ok(match answer {
            Answer::AwaitPull { waiter, wait_ms } => match self.take_pull_answer(waiter) {
                Some(body) => Answer::Done { status: 200, body },
                None if wait_ms == 0 => {
                    self.waiters.remove(&waiter);
                    Answer::Done { status: 200, body: r#"{"messages":[]}"#.into() }
                }
                None => Answer::AwaitPull { waiter, wait_ms },
            },
            a => a,
        })
    }

    fn serve(&mut self, now: Millis, store: &mut dyn Store, req: &TopicRequest<'_>) -> StoreResult<Answer> {
        let topic = req.topic.as_str();
        // `?partition=P` names one of this topic's partitions (the front Worker checked it
        // already; memory:// topics have one).
        let count = self.partition.count;
        if let Some((_, p)) = req.query.iter().find(|(k, _)| k == "partition") {
            if !p.parse::<u32>().is_ok_and(|p| p < count) && req.op != Operation::Topic(TopicOp::Create) {
                let e = ApiError::invalid(format!(
                    "partition must be 0..{} on this topic, not {p:?}",
                    count.saturating_sub(1)
                ));
                return Ok(Answer::error(&e));
            }
        }
        match &req.op {
            Operation::Topic(TopicOp::Socket) | Operation::Channel(_, ChannelOp::Socket) => {
                Ok(Answer::error(&ApiError::new(
                    ErrorCode::NotFound,
                    "a socket opens with a WebSocket upgrade, not a request",
                )))
            }
            Operation::Topic(TopicOp::Publish) => self.http_publish(now, store, req, false),
            Operation::Topic(TopicOp::Request) => self.http_publish(now, store, req, true),
            Operation::Topic(TopicOp::Stats) => {
                if !self.exists() {
                    return Ok(Answer::error(&ApiError::new(
                        ErrorCode::NotFound,
                        format!("no topic {topic}"),
                    )));
                }
                Ok(Answer::json(200, &self.topic_stats(now, store, topic)?))
            }
            Operation::Topic(TopicOp::Delete) => {
                self.delete_topic(store)?;
                Ok(Answer::Done { status: 204, body: String::new() })
            }
            Operation::Topic(TopicOp::Create) => self.create_topic(store, topic, req.body, req.routed),
            Operation::Topic(TopicOp::Partitions) => Ok(Answer::json(
                200,
                &serde_json::json!({ "topic": topic, "partitions": self.partition.count }),
            )),
            Operation::Channel(name, op) => self.channel_op(now, store, req, name, *op),
        }
    }

    /// `PUT /v1/topics/{topic}` `{"partitions": N}`, sent by the front Worker to each
    /// partition (`routed`) it makes: makes this partition (`201`), or finds it made with
    /// the same count (`200`); another count, or a topic made implicitly (1 partition), is
    /// `409` with the count it has. The other partitions' objects are made first, so the
    /// topic is partitioned once its partition 0 says so.
    fn create_topic(
        &mut self,
        store: &mut dyn Store,
        topic: &str,
        body: &[u8],
        routed: super::Partition,
    ) -> StoreResult<Answer> {
        #[derive(serde::Deserialize, Default)]
        struct Create {
            partitions: Option<u64>,
        }
        let body: Create = tri!(json_body(body));
        let n = tri!(crate::proto::partition::check_count(body.partitions.unwrap_or(1)));
        if self.exists() {
            let have = self.partition.count;
            if have == n && self.partition.index == routed.index {
                return Ok(Answer::json(200, &serde_json::json!({ "topic": topic, "partitions": n })));
            }
            let e =
                ApiError::new(ErrorCode::Conflict, format!("topic {topic} exists with {have} partition(s)"));
            return Ok(Answer::json(409, &serde_json::json!({ "error": e, "partitions": have })));
        }
        if n > 1 && routed.count != n {
            // Only a driver that routes (the Worker's front) makes partitions.
            let e = ApiError::invalid(
                "this bus has topics of one partition only (memory://); partitions need the Worker",
            );
            return Ok(Answer::error(&e));
        }
        if routed.index >= n {
            return Ok(Answer::error(&ApiError::invalid("partition out of range")));
        }
        self.partition = super::Partition { index: routed.index, count: n };
        self.remember_topic(store, topic)?;
        Ok(Answer::json(201, &serde_json::json!({ "topic": topic, "partitions": n })))
    }

    /// This partition and the topic's count.
    pub fn partition(&self) -> super::Partition {
        self.partition
    }

    fn http_publish(
        &mut self,
        now: Millis,
        store: &mut dyn Store,
        req: &TopicRequest<'_>,
        reply: bool,
    ) -> StoreResult<Answer> {
        let timeout_ms = if reply {
            let t = tri!(query_u64(req.query, "timeout_ms")).unwrap_or(REQUEST_TIMEOUT_MS.0);
            if !(1..=REQUEST_TIMEOUT_MS.1).contains(&t) {
                return Ok(Answer::error(&ApiError::invalid(format!(
                    "timeout_ms must be 1..={}",
                    REQUEST_TIMEOUT_MS.1
                ))));
            }
            t
        } else {
            0
        };
        let opts = tri!(options(req.query, reply));
        let topic = req.topic.as_str();
        let body = Body {
            content_type: req.content_type,
            headers: req.headers,
            bytes: req.body,
            source: req.source,
            topic,
            nsq: req.nsq,
        };
        let entropy = req.entropy;
        let events = tri!(publish::read(&body, |i| made_id(&entropy, i), now, &self.limits, reply));
        let batch = body.is_batch();
        let by = Publisher { source: req.source, trusted: matches!(req.source, "/admin" | "/memory") };
        let results = tri!(self.append(now, store, topic, events, &opts, by)?);
        if reply {
            let Some(r) = results.into_iter().next() else { return Ok(Answer::error(&internal())) };
            return Ok(Answer::AwaitResponse { seq: r.seq, id: r.id, timeout_ms });
        }
        if batch {
            return Ok(Answer::json(201, &BatchPublished { topic: topic.to_owned(), results }));
        }
        let Some(r) = results.into_iter().next() else { return Ok(Answer::error(&internal())) };
        let p = Published {
            topic: topic.to_owned(),
            id: r.id,
            seq: r.seq,
            partition: r.partition,
            duplicate: r.duplicate,
        };
        Ok(Answer::json(201, &p))
    }

    fn channel_op(
        &mut self,
        now: Millis,
        store: &mut dyn Store,
        req: &TopicRequest<'_>,
        name: &ChannelName,
        op: ChannelOp,
    ) -> StoreResult<Answer> {
        let topic = req.topic.as_str();
        if op == ChannelOp::Create {
            let body: CreateChannel = tri!(json_body(req.body));
            let filter = match body.filter {
                Some(f) => {
                    let parsed =
                        tri!(Filter::parse(&f).map_err(|e| ApiError::invalid(format!("bad filter: {e}"))));
                    Some((f.to_string(), parsed))
                }
                None => None,
            };
            let secret_given = body.push.as_ref().is_some_and(|p| p.secret.is_some());
            let push = match body.push {
                Some(_) if !self.pushes => tri!(Err(ApiError::invalid(
                    "push channels need the Worker: this bus sends no HTTP requests (memory://)"
                ))),
                Some(p) => Some(tri!(p.checked(&req.entropy))),
                None => None,
            };
            let secret = push.as_ref().and_then(|p| p.secret.clone());
            let new = NewChannel { from_seq: body.from_seq, filter, push, secret_given };
            let created = tri!(self.create_channel(now, store, topic, name, new)?);
            let Some(mut stats) =
                self.channel_stats(now, store)?.into_iter().find(|s| s.channel == name.as_str())
            else {
                return Ok(Answer::error(&ApiError::new(ErrorCode::NotFound, format!("no channel {name}"))));
            };
            // The secret is shown once: in the answer that made the channel.
            if let (true, Some(p)) = (created, stats.push.as_mut()) {
                p.secret = secret;
            }
            return Ok(Answer::json(if created { 201 } else { 200 }, &stats));
        }
        // Bad input is refused before the channel is looked up: a 400 says what is wrong.
        let input = tri!(channel_input(op, req, &self.limits, self.partition.index));
        let id = tri!(self.channel_id(name.as_str()));
        match (op, input) {
            (ChannelOp::Delete, _) => {
                self.drop_channel(store, id, "channel deleted")?;
                Ok(Answer::Done { status: 204, body: String::new() })
            }
            (ChannelOp::Pause | ChannelOp::Unpause, _) => {
                self.set_paused(now, store, id, op == ChannelOp::Pause)?;
                self.channel_answer(now, store, 200, name)
            }
            (ChannelOp::Seek, Input::Seek(to)) => {
                let target = match to {
                    SeekTo::Seq(_, Some(p)) if p != self.partition.index => {
                        let n = self.partition.count;
                        let e =
                            ApiError::invalid(format!("partition {p} is out of range: the topic has {n}"));
                        return Ok(Answer::error(&e));
                    }
                    SeekTo::Seq(seq, _) => seq,
                    SeekTo::Time(ms) => self.seq_at_time(store, ms)?,
                };
                let ready = self.seek(now, store, id, target)?;
                self.log(
                    super::LogLevel::Info,
                    "channel.seek",
                    serde_json::json!({ "topic": topic, "channel": name.as_str(), "seq": target, "ready": ready }),
                );
                Ok(Answer::json(200, &serde_json::json!({ "ready": ready })))
            }
            (ChannelOp::Dead, Input::Dead((limit, after))) => self.http_dead(store, id, limit, after),
            (ChannelOp::Peek, Input::Dead((limit, _))) => self.http_peek(now, store, id, limit),
            (ChannelOp::Redrive, Input::Redrive(body)) => {
                let n = self.redrive(now, store, id, body.ids.as_deref())?;
                Ok(Answer::json(200, &serde_json::json!({ "redriven": n })))
            }
            (ChannelOp::Pull, Input::Pull(_)) if self.channels.get(&id).is_some_and(|c| c.push.is_some()) => {
                Ok(Answer::error(&super::admin::push_only(name.as_str())))
            }
            // The front Worker sends a pull that names a partition to that partition.
            (ChannelOp::Pull, Input::Pull(pull))
                if pull.partition.is_some_and(|p| p != self.partition.index) =>
            {
                let n = self.partition.count;
                let e =
                    ApiError::invalid(format!("partition must be 0..{} on this topic", n.saturating_sub(1)));
                Ok(Answer::error(&e))
            }
            (ChannelOp::Pull, Input::Pull(pull)) => {
                let waiter = self.next_waiter;
                self.next_waiter += 1;
                let w = Waiter {
                    channel: id,
                    max: pull.max,
                    visibility_ms: pull.visibility_ms,
                    max_attempts: pull.max_attempts,
                    taken: Vec::new(),
                };
                self.waiters.insert(waiter, w);
                self.pump(now, store, id)?;
                Ok(Answer::AwaitPull { waiter, wait_ms: pull.wait_ms })
            }
            (ChannelOp::Settle, Input::Settle(body)) => {
                let results = tri!(self.settle_http(now, store, id, body)?);
                Ok(Answer::Done { status: 200, body: results })
            }
            _ => Ok(Answer::error(&ApiError::new(ErrorCode::NotFound, "not an HTTP channel operation"))),
        }
    }

    fn http_dead(&mut self, store: &mut dyn Store, id: u32, limit: usize, after: Seq) -> StoreResult<Answer> {
        let (rows, next) = self.dead_page(store, id, after, limit, DEAD_PAGE_BYTES)?;
        let raw = |t: String| RawValue::from_string(t).ok();
        let p = self.partition.index;
        let messages = rows
            .into_iter()
            .filter_map(|r| {
                Some(DeadLetter {
                    id: message_id(p, r.seq),
                    seq: r.seq,
                    partition: p,
                    failures: r.failures,
                    event: raw(r.body?)?,
                    checkpoint: r.checkpoint.and_then(raw),
                })
            })
            .collect();
        Ok(Answer::json(200, &DeadLetters { messages, cursor: next.map(|s| message_id(p, s)) }))
    }

    fn channel_answer(
        &self,
        now: Millis,
        store: &dyn Store,
        status: u16,
        name: &ChannelName,
    ) -> StoreResult<Answer> {
        let stats = self.channel_stats(now, store)?;
        match stats.into_iter().find(|s| s.channel == name.as_str()) {
            Some(s) => Ok(Answer::json(status, &s)),
            None => Ok(Answer::error(&ApiError::new(ErrorCode::NotFound, format!("no channel {name}")))),
        }
    }

    fn take_pull_answer(&mut self, waiter: u64) -> Option<String> {
        let i =
            self.out.iter().position(|o| matches!(o, Output::PullReady { waiter: w, .. } if *w == waiter))?;
        match self.out.remove(i) {
            Output::PullReady { body, .. } => Some(body),
            _ => None,
        }
    }

    /// A long-polling pull's wait ran out with nothing for it: its (empty) answer.
    pub fn pull_expired(&mut self, waiter: u64) -> Option<String> {
        self.waiters.remove(&waiter).map(|_| r#"{"messages":[]}"#.to_owned())
    }
}

fn internal() -> ApiError {
    ApiError::new(ErrorCode::Internal, "internal error")
}
