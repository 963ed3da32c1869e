//! Socket events on the topic object: a frame (with the `hello`'s credentials checked
//! here, and a client's credentials checked again once they are older than the lookup
//! cache, so revocation reaches open sockets), and a close.

use super::attach::Attachment;
use super::Topic;
use crate::core::{Caller, FrameOutcome};
use crate::proto::close;
use crate::worker::front::auth::{self, Access, Identity};
use crate::worker::front::outgoing::Outgoing;
use crate::worker::front::partitions;
use crate::worker::http::{self, now_ms};
use crate::worker::log;
use worker::{Method, WebSocket};

/// Most frames of one socket waiting behind one being handled (beyond: close 4000).
const MAX_WAITING_FRAMES: usize = 1_000;
/// Most bytes of them (frames may be 1 MiB each).
const MAX_WAITING_BYTES: usize = 8 << 20;

impl Topic {
    /// Checks a client socket's credentials again once they are older than the lookup
    /// cache; closes it (4001) if they were revoked. Returns whether it may go on.
    async fn still_valid(&self, now: u64, ws: &WebSocket, att: &mut Attachment) -> bool {
        let (Some(login), true) = (att.login.clone(), att.record.welcomed) else { return true };
        let ttl = Access::from_env(&self.env).cache_ttl_ms;
        if now.saturating_sub(att.verified_at) < ttl {
            return true;
        }
        match auth::lookup(&self.env, &login, now, ttl).await {
            Ok(Some(c)) if c.gen == att.gen => {
                att.verified_at = now;
                self.attachments.put(ws, att.clone());
                true
            }
            Ok(_) => {
                let id = att.record.id;
                if let Ok(((), out)) = self.run(now, |b, s| b.revoke(now, s, id)) {
                    Box::pin(self.apply(out)).await;
                }
                let _ = ws.close(Some(close::UNAUTHORIZED), Some("credentials revoked"));
                false
            }
            // A lookup that fails says nothing about the credentials: go on.
            Err(e) => {
                log::error("auth.lookup_failed", serde_json::json!({ "error": e.to_string() }));
                true
            }
        }
    }

    /// The broker asked for a socket's credentials to be checked (it receives deliveries
    /// but may never send a frame).
    pub(super) async fn recheck(&self, ws: WebSocket) {
        let Some(mut att) = self.attachments.get(&ws) else { return };
        self.still_valid(now_ms(), &ws, &mut att).await;
    }

    /// One text frame from a socket. A socket's frames are handled one after another, in
    /// the order they came: one that arrives while an earlier one waits on a credentials
    /// lookup (a `hello`, or a periodic recheck) waits behind it, so frames pipelined
    /// after a `hello` are handled after it was accepted.
    pub(super) async fn on_frame(&self, ws: WebSocket, att: Attachment, text: String) {
        let id = att.record.id;
        {
            let mut waiting = self.waiting_frames.borrow_mut();
            if let Some(q) = waiting.get_mut(&id) {
                let bytes = q.iter().map(String::len).sum::<usize>() + text.len();
                if q.len() >= MAX_WAITING_FRAMES || bytes > MAX_WAITING_BYTES {
                    let _ = ws.close(Some(close::SEQUENCE), Some("too many frames waiting for an answer"));
                } else {
                    q.push_back(text);
                }
                return;
            }
            waiting.insert(id, std::collections::VecDeque::new());
        }
        let mut next = Some((att, text));
        while let Some((att, text)) = next.take() {
            self.one_frame(now_ms(), ws.clone(), att, text).await;
            let queued = self.waiting_frames.borrow_mut().get_mut(&id).and_then(|q| q.pop_front());
            match (queued, self.attachments.get(&ws)) {
                (Some(text), Some(att)) => next = Some((att, text)),
                _ => {
                    self.waiting_frames.borrow_mut().remove(&id);
                }
            }
        }
    }

    async fn one_frame(&self, now: u64, ws: WebSocket, mut att: Attachment, text: String) {
        let id = att.record.id;
        self.remember_socket(id, &ws);
        if !self.still_valid(now, &ws, &mut att).await {
            return;
        }
        let outcome = match self.run(now, |b, s| b.frame(now, s, id, &text, http::entropy())) {
            Ok((o, out)) => {
                self.apply(out).await;
                o
            }
            Err(f) => {
                let _ = self.failed("frame.failed", f);
                return;
            }
        };
        match outcome {
            FrameOutcome::Done => {}
            FrameOutcome::Unknown => {
                let _ = ws.close(Some(close::SEQUENCE), Some("unknown socket"));
            }
            FrameOutcome::Authenticate(hello) => {
                let access = Access::from_env(&self.env);
                let who = access
                    .identify_hello(
                        &self.env,
                        hello.login.as_deref(),
                        hello.secret.as_deref(),
                        hello.token.as_deref(),
                        now,
                    )
                    .await;
                let topic = att.topic.clone();
                if let Ok(Identity::Client(c)) = &who {
                    att.login = Some(c.login.clone());
                    att.gen = c.gen;
                    att.verified_at = now;
                    self.attachments.put(&ws, att.clone());
                }
                let caller = who.map(|w| caller_of(&w, &topic));
                let now = now_ms();
                match self.run(now, |b, s| b.hello(now, s, id, &topic, &hello, caller)) {
                    Ok(((), out)) => self.apply(out).await,
                    Err(f) => {
                        let _ = self.failed("hello.failed", f);
                    }
                }
            }
        }
    }

    /// A socket closed: its consumer's messages go back.
    pub(super) async fn socket_gone(&self, ws: WebSocket) {
        super::super::counters::wake();
        let now = now_ms();
        if let Some(att) = self.attachments.get(&ws) {
            let id = att.record.id;
            self.attachments.forget(id);
            self.waiting_frames.borrow_mut().remove(&id);
            match self.run(now, |b, s| b.closed(now, s, id)) {
                Ok(((), out)) => self.apply(out).await,
                Err(f) => {
                    let _ = self.failed("close.failed", f);
                }
            }
            if let Ok(mut slot) = self.loaded.try_borrow_mut() {
                if let Some(l) = slot.as_mut() {
                    l.sockets.remove(&id);
                }
            }
        }
        let _ = ws.close(Some(1000), Some("bye"));
        self.sync_alarm().await;
    }

    /// Makes sure the socket map knows this socket (it may have been rebuilt).
    fn remember_socket(&self, id: u64, ws: &WebSocket) {
        if let Ok(mut slot) = self.loaded.try_borrow_mut() {
            if let Some(l) = slot.as_mut() {
                l.sockets.entry(id).or_insert_with(|| ws.clone());
            }
        }
    }
}

/// What the broker needs of an identity, for this topic.
pub fn caller_of(who: &Identity, topic: &str) -> Caller {
    Caller {
        source: who.source(),
        login: who.login().map(str::to_owned),
        may_publish: who.may_publish(topic),
        may_subscribe: who.may_subscribe(topic),
    }
}

impl Topic {
    /// Makes the channels a `hello` made here in the topic's other partitions
    /// ([`crate::core::Output::ChannelMade`]): a `PUT` with default settings, which leaves
    /// a channel that is already there as it is. Awaited before the `welcome` goes out.
    pub(super) async fn make_in_siblings(&self, channels: &[String]) {
        let known = self.loaded.try_borrow().ok().and_then(|l| {
            l.as_ref().and_then(|l| Some((l.broker.topic()?.to_owned(), l.broker.partition())))
        });
        let Some((topic, part)) = known else { return };
        let path = |c: &str| format!("/v1/topics/{}/channels/{}", http::segment(&topic), http::segment(c));
        let outs: Vec<(&String, Outgoing)> =
            channels.iter().map(|c| (c, Outgoing::json(Method::Put, path(c)))).collect();
        let mut calls = Vec::new();
        for (c, out) in &outs {
            for p in (0..part.count).filter(|&p| p != part.index) {
                let (env, topic) = (&self.env, &topic);
                calls.push(async move {
                    let req = out.to(p, part.count, Some(b"{}"), &[])?;
                    partitions::ask(env, topic, p, req).await.map(|a| (c, p, a))
                });
            }
        }
        for answer in futures::future::join_all(calls).await {
            match answer {
                Ok((_, _, a)) if a.status < 300 || a.status == 409 => {}
                Ok((c, p, a)) => log::warn(
                    "channel.sibling_failed",
                    serde_json::json!({ "channel": c, "partition": p, "status": a.status }),
                ),
                Err(e) => log::warn("channel.sibling_failed", serde_json::json!({ "error": e.to_string() })),
            }
        }
    }
}
