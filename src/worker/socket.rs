//! WebSocket frames (PROTOCOL.md section 4) on the topic object: the `hello` handshake,
//! consumer frames, and `pub` on any socket.
//!
//! What a socket is lives in its hibernation attachment, so a woken object knows every
//! consumer's channel, settings and credit without any socket having to speak first.

use super::auth::{self, Identity};
use super::object::{Inner, Topic};
use crate::core::{ConsumerId, ConsumerSettings};
use crate::proto::frame::{
    ok_frame, published_frame, settled_frame, ClientFrame, Hello, ServerFrame, Settle,
};
use crate::proto::id::parse_message_id;
use crate::proto::response::response;
use crate::proto::{ApiError, ChannelName, ErrorCode};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;
use worker::{Result, WebSocket, WebSocketIncomingMessage};

/// Close code: a frame out of sequence (a second `hello`).
pub const CLOSE_SEQUENCE: u16 = 4000;
/// Close code: no valid `hello` first.
pub const CLOSE_UNAUTHORIZED: u16 = 4001;
/// Close code: authenticated, but no permission for this topic.
pub const CLOSE_FORBIDDEN: u16 = 4003;
/// Close code: a frame over the size limit.
pub const CLOSE_TOO_LARGE: u16 = 4013;

/// What the object remembers about a socket across hibernation.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Attachment {
    /// Channel for a consumer socket; none for a publisher socket.
    pub channel: Option<String>,
    /// When the socket was accepted.
    pub opened_at: u64,
    /// Whether `hello` was accepted.
    pub welcomed: bool,
    /// `source` of events made from `pub` data.
    pub source: String,
    /// Consumer id, once attached.
    pub id: Option<u64>,
    /// Credit.
    pub rdy: u32,
    /// Consumer settings.
    pub handler_timeout_ms: u64,
    /// Consumer settings.
    pub max_attempts: u32,
    /// Consumer settings.
    pub heartbeat_ms: u64,
    /// The client's login (none for the admin and anonymous callers).
    pub login: Option<String>,
    /// The client's credential generation at `hello`.
    pub gen: u64,
    /// When the client's credentials were last checked.
    pub verified_at: u64,
    /// Whether `pub` frames are allowed.
    pub may_publish: bool,
}

impl Attachment {
    /// The consumer this socket is, if it is an attached consumer.
    pub fn consumer(&self) -> Option<(ConsumerId, String, ConsumerSettings, u32)> {
        let (id, channel) = (self.id?, self.channel.clone()?);
        let settings = ConsumerSettings {
            handler_timeout_ms: self.handler_timeout_ms,
            max_attempts: self.max_attempts,
            heartbeat_ms: self.heartbeat_ms,
        };
        Some((ConsumerId(id), channel, settings, self.rdy))
    }
}

fn send(ws: &WebSocket, text: String) {
    let _ = ws.send_with_str(text);
}

fn send_error(ws: &WebSocket, reference: Option<&Value>, e: &ApiError) {
    send(ws, ServerFrame::error(reference, e));
}

impl Topic {
    /// Handles one frame: decodes it, checks credentials (a `hello`'s, or a client's that
    /// were last checked longer ago than the lookup cache lasts, so a revoked client's
    /// open sockets stop at their next operation), then applies it to the state.
    pub async fn on_message(
        &self,
        now: u64,
        ws: &WebSocket,
        message: WebSocketIncomingMessage,
    ) -> Result<()> {
        let Ok(Some(mut att)) = ws.deserialize_attachment::<Attachment>() else {
            let _ = ws.close(Some(CLOSE_SEQUENCE), Some("unknown socket"));
            return Ok(());
        };
        let consumer = att.consumer().map(|c| c.0);
        let text = match message {
            WebSocketIncomingMessage::String(s) => s,
            WebSocketIncomingMessage::Binary(b) => match String::from_utf8(b) {
                Ok(s) => s,
                Err(_) => {
                    send_error(ws, None, &ApiError::invalid("frames are UTF-8 JSON text"));
                    return Ok(());
                }
            },
        };
        let max_frame = self.with(|inner| Ok(inner.limits.max_frame_bytes))?;
        if text.len() > max_frame {
            return self.with(|inner| {
                inner.close_socket(now, ws, consumer, CLOSE_TOO_LARGE, "frame too large");
                inner.apply()
            });
        }
        let frame = match ClientFrame::decode(&text) {
            Ok(f) => f,
            Err(fe) => {
                send_error(ws, fe.reference.as_ref(), &fe.error);
                return Ok(());
            }
        };
        let mut identity = None;
        if !att.welcomed {
            if let ClientFrame::Hello(h) = &frame {
                let access = self.with(|inner| Ok(inner.access.clone()))?;
                let who = access
                    .identify_hello(
                        self.env(),
                        h.login.as_deref(),
                        h.secret.as_deref(),
                        h.token.as_deref(),
                        now,
                    )
                    .await;
                identity = Some(who);
            }
        } else if let Some(login) = att.login.clone() {
            let ttl = self.with(|inner| Ok(inner.access.cache_ttl_ms))?;
            if now.saturating_sub(att.verified_at) >= ttl {
                match auth::lookup(self.env(), &login, now, ttl).await {
                    Ok(Some(c)) if c.gen == att.gen => {
                        att.verified_at = now;
                        let _ = ws.serialize_attachment(&att);
                    }
                    Ok(_) => {
                        return self.with(|inner| {
                            inner.close_socket(now, ws, consumer, CLOSE_UNAUTHORIZED, "credentials revoked");
                            inner.apply()
                        });
                    }
                    // A lookup that fails says nothing about the credentials: go on.
                    Err(e) => {
                        super::log::error("auth.lookup_failed", serde_json::json!({ "error": e.to_string() }))
                    }
                }
            }
        }
        self.with(|inner| inner.on_frame(now, ws, att, frame, identity))?;
        // Answers (`ok` above all) say a change is durable: send them only once the
        // writes of this frame are committed. Deliveries went out already: a delivery
        // lost in a crash is simply delivered again.
        let (outbox, responses) =
            self.with(|inner| Ok((std::mem::take(&mut inner.outbox), std::mem::take(&mut inner.responses))))?;
        if !outbox.is_empty() {
            super::object::durable(self.state()).await?;
            for (socket, text) in outbox {
                let _ = socket.send_with_str(text);
            }
        }
        for (seq, event) in responses {
            if let Some(waiter) = self.waiters().borrow_mut().remove(&seq) {
                let _ = waiter.send(event);
            }
        }
        Ok(())
    }
}

impl Inner {
    /// Queues an answer to a frame, sent once the frame's writes are durable.
    fn reply(&mut self, ws: &WebSocket, text: String) {
        self.outbox.push((ws.clone(), text));
    }

    /// Queues an `error` answer.
    fn reply_error(&mut self, ws: &WebSocket, reference: Option<&Value>, e: &ApiError) {
        self.reply(ws, ServerFrame::error(reference, e));
    }

    /// Applies one decoded frame from a socket.
    fn on_frame(
        &mut self,
        now: u64,
        ws: &WebSocket,
        mut att: Attachment,
        frame: ClientFrame,
        identity: Option<std::result::Result<Identity, ApiError>>,
    ) -> Result<()> {
        let consumer = att.consumer().map(|c| c.0);
        if !att.welcomed {
            match (frame, identity) {
                (ClientFrame::Hello(h), Some(who)) => self.hello(now, ws, &mut att, h, who)?,
                _ => self.close_socket(now, ws, None, CLOSE_UNAUTHORIZED, "hello must be the first frame"),
            }
            return self.apply();
        }
        if let Some(id) = consumer {
            self.queue.seen(now, id);
        }
        match frame {
            ClientFrame::Hello(_) => {
                self.close_socket(now, ws, consumer, CLOSE_SEQUENCE, "hello was already accepted")
            }
            ClientFrame::Ping => self.reply(ws, ServerFrame::Pong.encode()),
            ClientFrame::Rdy { count, reference } => match consumer {
                Some(id) if count <= u64::from(self.limits.max_in_flight) => {
                    att.rdy = count as u32;
                    let _ = ws.serialize_attachment(&att);
                    let _ = self.queue.rdy(now, id, count as u32);
                    if reference.is_some() {
                        self.reply(ws, ok_frame(reference.as_ref()));
                    }
                }
                Some(_) => send_error(
                    ws,
                    reference.as_ref(),
                    &ApiError::invalid(format!("rdy count must be 0..={}", self.limits.max_in_flight)),
                ),
                None => self.reply_error(
                    ws,
                    reference.as_ref(),
                    &ApiError::invalid("rdy needs a consumer socket"),
                ),
            },
            ClientFrame::Settle { verb, id, state, delay_ms, reference } => {
                let Some(cid) = consumer else {
                    self.reply_error(
                        ws,
                        reference.as_ref(),
                        &ApiError::invalid("this is a publisher socket"),
                    );
                    return Ok(());
                };
                let checkpoint = crate::core::checkpoint_update(state.as_deref().map(|s| s.get()));
                let not_found = || {
                    ApiError::new(
                        ErrorCode::NotFound,
                        format!("message {id} is not in flight to this consumer"),
                    )
                };
                let result = parse_message_id(&id).ok_or_else(not_found).and_then(|seq| {
                    self.queue
                        .settle(now, cid, verb, seq, checkpoint, delay_ms.unwrap_or(0))
                        .map_err(ApiError::from)
                });
                match result {
                    Ok(deadline) => send(ws, settled_frame(reference.as_ref(), deadline)),
                    Err(e) => self.reply_error(ws, reference.as_ref(), &e),
                }
            }
            ClientFrame::Respond { id, data, datacontenttype, reference } => {
                match self.respond(now, consumer, &att.source, &id, &data, datacontenttype.as_deref()) {
                    Ok(()) => self.reply(ws, ok_frame(reference.as_ref())),
                    Err(e) => self.reply_error(ws, reference.as_ref(), &e),
                }
            }
            ClientFrame::Pub { reference, .. } if !att.may_publish => {
                let topic = self.topic.clone().unwrap_or_default();
                self.reply_error(ws, reference.as_ref(), &auth::forbidden("publish to", &topic));
            }
            ClientFrame::Pub { event, data, ordering_key, delay_ms, reference } => {
                let result = self.publish_frame(now, &att.source, event, data, ordering_key, delay_ms);
                match result {
                    Ok((id, seq, duplicate)) => {
                        send(ws, published_frame(reference.as_ref(), &id, seq, duplicate))
                    }
                    Err(e) => self.reply_error(ws, reference.as_ref(), &e),
                }
            }
        }
        self.apply()
    }

    /// `respond`: finishes a request message in flight to this consumer and makes the
    /// response event for the waiting HTTP request (the first response wins: the message
    /// is no longer in flight for a second one).
    fn respond(
        &mut self,
        now: u64,
        consumer: Option<ConsumerId>,
        source: &str,
        id: &str,
        data: &RawValue,
        content_type: Option<&str>,
    ) -> std::result::Result<(), ApiError> {
        let cid = consumer.ok_or_else(|| ApiError::invalid("this is a publisher socket"))?;
        let not_found =
            || ApiError::new(ErrorCode::NotFound, format!("message {id} is not in flight to this consumer"));
        let seq = parse_message_id(id).ok_or_else(not_found)?;
        if !self.queue.consumer_holds(cid, seq) {
            return Err(not_found());
        }
        if !self.requests.contains(&seq) {
            return Err(ApiError::invalid(format!("message {id} was not delivered with \"reply\": true")));
        }
        let internal = |e: worker::Error| ApiError::new(ErrorCode::Internal, format!("storage: {e}"));
        let request = match self.cache.get(seq) {
            Some(body) => body.to_string(),
            None => self.db.event_body(seq).map_err(internal)?.unwrap_or_default(),
        };
        self.queue.settle(now, cid, Settle::Fin, seq, None, 0).map_err(ApiError::from)?;
        let answer = response(&request, &format!("{id}.response"), source, data, content_type, now);
        self.responses.push((seq, answer));
        Ok(())
    }

    fn hello(
        &mut self,
        now: u64,
        ws: &WebSocket,
        att: &mut Attachment,
        h: Hello,
        who: std::result::Result<Identity, ApiError>,
    ) -> Result<()> {
        let identity = match who {
            Ok(i) => i,
            Err(e) => {
                super::log::warn(
                    "auth.refused",
                    serde_json::json!({ "topic": self.topic, "socket": true, "code": e.code.as_str() }),
                );
                self.close_socket(now, ws, None, CLOSE_UNAUTHORIZED, &e.message);
                return Ok(());
            }
        };
        let topic = self.topic.clone().unwrap_or_default();
        let allowed = match att.channel {
            Some(_) => identity.may_subscribe(&topic),
            None => identity.may_publish(&topic),
        };
        if !allowed {
            let what = if att.channel.is_some() { "subscribe to" } else { "publish to" };
            self.close_socket(now, ws, None, CLOSE_FORBIDDEN, &auth::forbidden(what, &topic).message);
            return Ok(());
        }
        let settings = match ConsumerSettings::from_hello(&h, &self.limits) {
            Ok(s) => s,
            Err(e) => {
                send_error(ws, None, &e);
                return Ok(());
            }
        };
        att.welcomed = true;
        att.source = identity.source();
        att.may_publish = identity.may_publish(&topic);
        if let Identity::Client(c) = &identity {
            att.login = Some(c.login.clone());
            att.gen = c.gen;
            att.verified_at = now;
        }
        self.pending.retain(|(_, w)| w != ws);
        let Some(channel) = att.channel.clone() else {
            let _ = ws.serialize_attachment(&*att);
            let welcome = ServerFrame::Welcome {
                topic: &topic,
                channel: None,
                session: "publisher",
                max_in_flight: 0,
                heartbeat_ms: settings.1.heartbeat_ms,
            };
            send(ws, welcome.encode());
            return Ok(());
        };
        let Ok(name) = ChannelName::parse(&channel) else {
            self.close_socket(now, ws, None, CLOSE_SEQUENCE, "bad channel name");
            return Ok(());
        };
        let (rdy, settings) = settings;
        let id = self.queue.attach(now, &name, settings, rdy);
        att.id = Some(id.0);
        att.rdy = rdy;
        att.handler_timeout_ms = settings.handler_timeout_ms;
        att.max_attempts = settings.max_attempts;
        att.heartbeat_ms = settings.heartbeat_ms;
        let _ = ws.serialize_attachment(&*att);
        self.sockets.insert(id, ws.clone());
        let session = format!("{:x}", id.0);
        super::log::info(
            "consumer.attached",
            serde_json::json!({ "topic": topic, "channel": channel, "session": session, "login": att.login, "max_in_flight": rdy }),
        );
        let welcome = ServerFrame::Welcome {
            topic: &topic,
            channel: Some(&channel),
            session: &session,
            max_in_flight: u64::from(rdy),
            heartbeat_ms: settings.heartbeat_ms,
        };
        send(ws, welcome.encode());
        Ok(())
    }

    /// Closes a socket from the server side; a consumer's messages go back at once.
    pub fn close_socket(
        &mut self,
        now: u64,
        ws: &WebSocket,
        consumer: Option<ConsumerId>,
        code: u16,
        reason: &str,
    ) {
        if let Some(id) = consumer {
            self.sockets.remove(&id);
            self.queue.detach(now, id);
        }
        self.pending.retain(|(_, w)| w != ws);
        let _ = ws.close(Some(code), Some(reason));
    }
}
