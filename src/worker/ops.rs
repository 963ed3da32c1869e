//! HTTP operations on the topic object (PROTOCOL.md section 3): publish, stats, channels,
//! topic deletion, and accepting sockets. Request-response is in `request.rs`, the body
//! reader of publishes and requests in `received.rs`.

use super::http::{self, json, no_content, now_ms};
use super::log;
use super::object::{Inner, Topic, HELLO_TIMEOUT_MS};
use super::received::Received;
use super::socket::Attachment;
use crate::core::NewMessage;
use crate::proto::event::{self, Accepted};
use crate::proto::frame::Json;
use crate::proto::http::{
    BatchItem, BatchPublished, CreateChannel, DeadLetter, DeadLetters, Published, Redrive, Seek, TopicStats,
};
use crate::proto::id::{message_id, parse_message_id};
use crate::proto::publish;
use crate::proto::route::{ChannelOp, Route, TopicOp};
use crate::proto::{ApiError, ChannelName, ErrorCode, TopicName};
use serde_json::json;
use serde_json::value::RawValue;
use worker::{Request, Response, Result, WebSocketPair};

/// Serves one HTTP request routed to this topic's object.
pub async fn handle(obj: &Topic, route: Route, mut req: Request) -> Result<Response> {
    match route {
        Route::Topic(topic, TopicOp::Publish) => {
            let received = match Received::read(obj, &mut req).await? {
                Ok(r) => r,
                Err(e) => return http::error(&e),
            };
            let now = now_ms();
            obj.with(|inner| inner.http_publish(now, &topic, &received))
        }
        Route::Topic(topic, TopicOp::Stats) => obj.with(|inner| inner.http_stats(&topic)),
        Route::Topic(_, TopicOp::Delete) => {
            let sockets = obj.state().get_websockets();
            obj.with(|inner| {
                inner.delete_topic(&sockets)?;
                no_content()
            })
        }
        Route::Topic(topic, TopicOp::Socket) => accept_socket(obj, &req, &topic, None),
        Route::Channel(topic, channel, ChannelOp::Socket) => accept_socket(obj, &req, &topic, Some(channel)),
        Route::Channel(topic, channel, ChannelOp::Create) => {
            let text = req.text().await?;
            let body: CreateChannel = if text.trim().is_empty() {
                CreateChannel::default()
            } else {
                match serde_json::from_str(&text) {
                    Ok(b) => b,
                    Err(e) => return http::error(&ApiError::invalid(format!("bad body: {e}"))),
                }
            };
            obj.with(|inner| {
                inner.remember_topic(topic.as_str())?;
                let created = inner.queue.create_channel(&channel, body.from_seq, inner.oldest);
                inner.apply()?;
                if created {
                    log::info(
                        "channel.created",
                        json!({ "topic": topic.as_str(), "channel": channel.as_str() }),
                    );
                }
                inner.channel_answer(if created { 201 } else { 200 }, &channel)
            })
        }
        Route::Channel(topic, channel, ChannelOp::Delete) => {
            obj.with(|inner| match inner.queue.delete_channel(channel.as_str()) {
                Ok(()) => {
                    inner.apply()?;
                    log::info(
                        "channel.deleted",
                        json!({ "topic": topic.as_str(), "channel": channel.as_str() }),
                    );
                    no_content()
                }
                Err(e) => Inner::api_error(e),
            })
        }
        Route::Channel(topic, channel, op @ (ChannelOp::Pause | ChannelOp::Unpause)) => obj.with(|inner| {
            let now = now_ms();
            match inner.queue.set_paused(now, channel.as_str(), op == ChannelOp::Pause) {
                Ok(()) => {
                    inner.apply()?;
                    let event = if op == ChannelOp::Pause { "channel.paused" } else { "channel.unpaused" };
                    log::info(event, json!({ "topic": topic.as_str(), "channel": channel.as_str() }));
                    inner.channel_answer(200, &channel)
                }
                Err(e) => Inner::api_error(e),
            }
        }),
        Route::Channel(_, channel, ChannelOp::Seek) => {
            let body: Seek = match json_body(&mut req).await? {
                Ok(b) => b,
                Err(e) => return http::error(&e),
            };
            obj.with(|inner| inner.http_seek(&channel, body))
        }
        Route::Channel(_, channel, ChannelOp::Dead) => {
            let limit = match http::query_u64(&req, "limit") {
                Ok(l) => l.unwrap_or(100).clamp(1, 1000) as usize,
                Err(e) => return http::error(&e),
            };
            obj.with(|inner| inner.http_dead(&channel, limit))
        }
        Route::Channel(_, channel, ChannelOp::Redrive) => {
            let body: Redrive = match json_body(&mut req).await? {
                Ok(b) => b,
                Err(e) => return http::error(&e),
            };
            obj.with(|inner| {
                let seqs: Option<Vec<u64>> =
                    body.ids.map(|ids| ids.iter().filter_map(|id| parse_message_id(id)).collect());
                match inner.queue.redrive(now_ms(), channel.as_str(), seqs.as_deref()) {
                    Ok(n) => {
                        inner.apply()?;
                        log::info(
                            "channel.redriven",
                            json!({ "topic": inner.topic, "channel": channel.as_str(), "redriven": n }),
                        );
                        json(200, &serde_json::json!({ "redriven": n }))
                    }
                    Err(e) => Inner::api_error(e),
                }
            })
        }
        Route::Topic(topic, TopicOp::Request) => super::request::request(obj, &topic, req).await,
        _ => http::fail(ErrorCode::NotFound, "not a topic route"),
    }
}

/// Reads an optional JSON body (empty means the default).
async fn json_body<T: serde::de::DeserializeOwned + Default>(
    req: &mut Request,
) -> Result<std::result::Result<T, ApiError>> {
    let text = req.text().await?;
    if text.trim().is_empty() {
        return Ok(Ok(T::default()));
    }
    Ok(serde_json::from_str(&text).map_err(|e| ApiError::invalid(format!("bad body: {e}"))))
}

fn accept_socket(
    obj: &Topic,
    req: &Request,
    topic: &TopicName,
    channel: Option<ChannelName>,
) -> Result<Response> {
    if !req.headers().get("upgrade")?.is_some_and(|v| v.eq_ignore_ascii_case("websocket")) {
        return http::fail(ErrorCode::InvalidRequest, "expected a WebSocket upgrade (Upgrade: websocket)");
    }
    let now = now_ms();
    let pair = WebSocketPair::new()?;
    obj.state().accept_web_socket(&pair.server);
    let att =
        Attachment { channel: channel.map(|c| c.as_str().to_owned()), opened_at: now, ..Default::default() };
    pair.server.serialize_attachment(&att)?;
    obj.with(|inner| {
        inner.remember_topic(topic.as_str())?;
        inner.pending.push((now + HELLO_TIMEOUT_MS, pair.server.clone()));
        Ok(())
    })?;
    Response::from_websocket(pair.client)
}

impl Inner {
    fn http_publish(&mut self, now: u64, topic: &TopicName, received: &Received) -> Result<Response> {
        let body = received.body(topic);
        let events = match publish::read(&body, self.queue.head() + 1, now, &self.limits, false) {
            Ok(e) => e,
            Err(e) => return http::error(&e),
        };
        let batch = body.is_batch();
        let results =
            match self.append(now, topic, events, received.ordering_key.clone(), received.delay_ms, false) {
                Ok(r) => r,
                Err(e) => return http::error(&e),
            };
        if batch {
            let results =
                results.into_iter().map(|(id, seq, duplicate)| BatchItem { id, seq, duplicate }).collect();
            json(201, &BatchPublished { topic: topic.as_str().to_owned(), results })
        } else {
            let Some((id, seq, duplicate)) = results.into_iter().next() else {
                return http::fail(ErrorCode::Internal, "no event appended");
            };
            json(201, &Published { topic: topic.as_str().to_owned(), id, seq, duplicate })
        }
    }

    /// Appends accepted events durably and delivers them. Returns (id, seq, duplicate)
    /// per event. All or nothing: every check happens before the first write.
    pub fn append(
        &mut self,
        now: u64,
        topic: &TopicName,
        events: Vec<Accepted>,
        ordering_key: Option<String>,
        delay_ms: Option<u64>,
        reply: bool,
    ) -> std::result::Result<Vec<(String, u64, bool)>, ApiError> {
        let internal = |e: worker::Error| ApiError::new(ErrorCode::Internal, format!("storage: {e}"));
        let window = self.limits.dedup_window_ms;
        let since = now.saturating_sub(window);
        self.dedup.expire(&self.db, now, since, window).map_err(internal)?;
        let (db, dedup) = (&self.db, &self.dedup);
        let plan = publish::plan(
            events,
            self.queue.head(),
            now,
            &self.limits,
            ordering_key.as_deref(),
            delay_ms,
            |source, id| dedup.lookup(db, source, id, since).map_err(internal),
        )?;
        let fresh = plan.iter().filter(|p| !p.duplicate).count() as u64;
        if self.retained + fresh > self.limits.max_topic_events {
            log::warn("publish.storage_full", json!({ "topic": topic.as_str(), "retained": self.retained }));
            return Err(ApiError::new(
                ErrorCode::StorageFull,
                format!(
                    "topic holds {} events, its limit is {}",
                    self.retained, self.limits.max_topic_events
                ),
            ));
        }
        self.remember_topic(topic.as_str()).map_err(internal)?;
        let mut items = Vec::with_capacity(fresh as usize);
        let mut out = Vec::with_capacity(plan.len());
        for p in plan {
            out.push((message_id(p.seq), p.seq, p.duplicate));
            let Some(e) = p.event else { continue };
            self.db
                .insert_event(p.seq, &e.meta.source, &e.meta.id, now, p.key.as_deref(), &e.text)
                .map_err(internal)?;
            self.dedup
                .accepted(&self.db, now, window, &e.meta.source, &e.meta.id, p.seq)
                .map_err(internal)?;
            if reply {
                self.db.insert_request(p.seq).map_err(internal)?;
                self.requests.insert(p.seq);
            }
            items.push(NewMessage { deliver_at: p.deliver_at, key: p.key });
            self.cache.put(p.seq, e.text);
        }
        if fresh > 0 {
            let first = self.queue.head() + 1;
            self.retained += fresh;
            if self.oldest_ts.is_none() {
                self.oldest = first;
                self.oldest_ts = Some(now);
            }
            self.queue.publish(now, &items).map_err(ApiError::from)?;
            self.apply().map_err(internal)?;
        }
        Ok(out)
    }

    /// Publishes one event from a `pub` frame.
    pub fn publish_frame(
        &mut self,
        now: u64,
        source: &str,
        event: Option<Json>,
        data: Option<Json>,
        ordering_key: Option<String>,
        delay_ms: Option<u64>,
    ) -> std::result::Result<(String, u64, bool), ApiError> {
        let topic_name = self.topic.clone().unwrap_or_default();
        let topic = TopicName::parse(&topic_name)?;
        event::check_ordering_key(ordering_key.as_deref())?;
        let accepted = match (event, data) {
            (Some(ev), None) => event::accept(ev.get(), now, &self.limits)?,
            (None, Some(d)) => {
                let id = message_id(self.queue.head() + 1);
                event::from_plain(
                    &id,
                    source,
                    &topic_name,
                    Some("application/json"),
                    d.get().as_bytes(),
                    now,
                    &self.limits,
                )?
            }
            _ => return Err(ApiError::invalid("pub needs exactly one of \"event\" and \"data\"")),
        };
        let mut r = self.append(now, &topic, vec![accepted], ordering_key, delay_ms, false)?;
        r.pop().ok_or_else(|| ApiError::new(ErrorCode::Internal, "no event appended"))
    }

    fn http_stats(&mut self, topic: &TopicName) -> Result<Response> {
        let channels = self.queue.stats();
        if self.topic.is_none() && self.queue.head() == 0 && channels.is_empty() {
            return http::fail(ErrorCode::NotFound, format!("no topic {topic}"));
        }
        json(
            200,
            &TopicStats {
                topic: topic.as_str().to_owned(),
                seq: self.queue.head(),
                retained: self.retained,
                channels,
            },
        )
    }

    fn http_seek(&mut self, channel: &ChannelName, body: Seek) -> Result<Response> {
        let seq = match (body.seq, body.time.as_deref()) {
            (Some(seq), None) => seq,
            (None, Some(t)) => match event::parse_rfc3339(t) {
                Some(ms) => self.db.seq_at_time(ms)?.unwrap_or(self.queue.head() + 1),
                None => return http::fail(ErrorCode::InvalidRequest, "time must be an RFC 3339 time"),
            },
            _ => {
                return http::fail(
                    ErrorCode::InvalidRequest,
                    "seek takes exactly one of \"seq\" and \"time\"",
                )
            }
        };
        match self.queue.seek(now_ms(), channel.as_str(), seq, self.oldest) {
            Ok(ready) => {
                self.apply()?;
                log::info(
                    "channel.seek",
                    json!({ "topic": self.topic, "channel": channel.as_str(), "seq": seq, "ready": ready }),
                );
                json(200, &serde_json::json!({ "ready": ready }))
            }
            Err(e) => Inner::api_error(e),
        }
    }

    fn http_dead(&mut self, channel: &ChannelName, limit: usize) -> Result<Response> {
        let dead = match self.queue.dead(channel.as_str(), limit) {
            Ok(d) => d,
            Err(e) => return Inner::api_error(e),
        };
        let raw =
            |text: String| RawValue::from_string(text).map_err(|e| worker::Error::RustError(e.to_string()));
        let mut messages = Vec::with_capacity(dead.len());
        for m in dead {
            let Some(body) = self.db.event_body(m.seq)? else { continue };
            messages.push(DeadLetter {
                id: message_id(m.seq),
                seq: m.seq,
                failures: m.failures,
                event: raw(body)?,
                checkpoint: m.checkpoint.map(raw).transpose()?,
            });
        }
        json(200, &DeadLetters { messages })
    }

    fn channel_answer(&self, status: u16, channel: &ChannelName) -> Result<Response> {
        match self.queue.stats().into_iter().find(|c| c.channel == channel.as_str()) {
            Some(s) => json(status, &s),
            None => http::fail(ErrorCode::NotFound, format!("no channel {channel}")),
        }
    }

    fn delete_topic(&mut self, sockets: &[worker::WebSocket]) -> Result<()> {
        self.queue.delete_all();
        self.apply()?;
        self.expire_pending(0, sockets, true);
        self.db.wipe()?;
        self.cache.clear();
        self.requests.clear();
        self.dedup.clear(now_ms());
        self.retained = 0;
        self.oldest = 1;
        self.oldest_ts = None;
        self.topic = None;
        Ok(())
    }
}
