//! The publisher socket's session (`docs/PROTOCOL.md`, "WebSocket protocol" and "Batched
//! frames"): publishes pipelined as `pub` frames on `GET /v1/topics/{topic}/ws`, each
//! answered once durable. Nagle's rule: a publish made while no frame is out goes at once;
//! one made while frames are out waits for an answer or a short linger (like Kafka's
//! `linger.ms`), whichever comes first, and shares a frame with `events`. At most
//! `max_frames` frames wait for their answer: more publishes wait for one and then share
//! a frame, so under load frames grow rather than multiply (the bus's cost is per frame).
//!
//! Owns: the bounded queue of publishes not yet sent (made while disconnected too, sent
//! after the next `welcome`), the frames sent and not answered (sent again after a
//! reconnect: the events carry ids, so the bus deduplicates them), the linger, the
//! per-publish timeout, and closing the socket when it has been idle for a while.
//! Must not touch: sockets, timers, the clock, randomness.

use super::action::{Action, Phase};
pub use super::config::PublisherConfig;
use super::link::{Closed, Link};
use super::refs::RefMap;
use crate::proto::codec::ServerMessage;
use crate::proto::frame::{ClientFrame, Hello};
use std::collections::VecDeque;

mod frames;

/// One publish.
#[derive(Debug)]
struct Item {
    handle: u64,
    /// The CloudEvent, JSON text (with an id: a resend is deduplicated).
    event: String,
    delay_ms: Option<u64>,
    ttl_ms: Option<u64>,
    /// Sent alone (its batch was refused: it must fail or pass on its own).
    solo: bool,
    expires: u64,
    /// Already answered (timed out or cancelled) while its frame was out.
    answered: bool,
}

impl Item {
    fn batchable(&self) -> bool {
        !self.solo && self.delay_ms.is_none() && self.ttl_ms.is_none()
    }
}

/// A publisher socket's protocol state.
#[derive(Debug)]
pub struct Publisher {
    cfg: PublisherConfig,
    link: Link,
    /// The driver holds a socket (open, opening or about to reconnect).
    socket: bool,
    unsent: VecDeque<Item>,
    /// Frames sent and not answered, by ref (in sending order).
    sent: RefMap<Vec<Item>>,
    next_ref: u64,
    next_handle: u64,
    linger_at: Option<u64>,
    idle_at: Option<u64>,
    refused: Option<String>,
}

impl Publisher {
    /// A publisher with no socket yet: the first publish asks for one.
    pub fn new(cfg: PublisherConfig) -> Self {
        let link = Link::new(cfg.heartbeat_ms, cfg.reconnect_min_ms, cfg.reconnect_max_ms, cfg.refresh);
        Publisher {
            cfg,
            link,
            socket: false,
            unsent: VecDeque::new(),
            sent: RefMap::default(),
            next_ref: 1,
            next_handle: 1,
            linger_at: None,
            idle_at: None,
            refused: None,
        }
    }

    /// Where the session stands.
    pub fn phase(&self) -> Phase {
        self.link.phase
    }

    /// Publishes waiting for their answer.
    pub fn pending(&self) -> usize {
        self.unsent.len() + self.sent.values().map(Vec::len).sum::<usize>()
    }

    /// The token for the next `hello`.
    pub fn set_token(&mut self, token: Option<String>) {
        self.cfg.token = token;
    }

    /// Queues a publish of `event` (a CloudEvent with an id, JSON text). Returns its
    /// handle (the `ref` of its [`Action::Published`] or [`Action::Answer`]).
    pub fn publish(
        &mut self,
        now: u64,
        event: &str,
        delay_ms: Option<u64>,
        ttl_ms: Option<u64>,
    ) -> (u64, Vec<Action>) {
        let handle = self.next_handle;
        self.next_handle += 1;
        if self.link.phase == Phase::Stopped {
            return (
                handle,
                vec![Action::refused(handle, "disconnected", "the connection is closed".into())],
            );
        }
        if let Err(e) = crate::proto::codec::check_json_text(event) {
            return (
                handle,
                vec![Action::refused(handle, "invalid_request", format!("event is not JSON: {e}"))],
            );
        }
        if self.pending() >= self.cfg.queue_cap {
            let m =
                format!("{} publishes are waiting for the bus (queue cap); try again later", self.pending());
            return (handle, vec![Action::refused(handle, "unavailable", m)]);
        }
        let expires = now + self.cfg.timeout_ms;
        let item =
            Item { handle, event: event.to_owned(), delay_ms, ttl_ms, solo: false, expires, answered: false };
        self.unsent.push_back(item);
        self.idle_at = None;
        let mut out = Vec::new();
        if !self.socket {
            self.socket = true;
            out.push(Action::Connect);
        } else if self.link.live() {
            let waiting = self.waiting_frames();
            // Nagle's rule: with no frame out there is nothing to wait for, so it goes at
            // once; with frames out it waits for an answer (or the linger) and shares a frame.
            if waiting == 0 || self.unsent.len() >= self.cfg.max_batch.max(1) {
                out.extend(self.flush());
            } else if waiting < self.window() && self.cfg.linger_ms > 0 {
                // (With no linger, it waits for an answer alone: Nagle's rule as TCP has it.)
                self.linger_at.get_or_insert(now + self.cfg.linger_ms);
            }
        }
        (handle, out)
    }

    /// Gives up on a publish (its caller aborted): dropped if not sent yet, else its
    /// answer is ignored. Returns whether it was still unsent (so certainly not published).
    pub fn cancel(&mut self, handle: u64) -> bool {
        if let Some(i) = self.unsent.iter().position(|it| it.handle == handle) {
            self.unsent.remove(i);
            return true;
        }
        for it in self.sent.values_mut().flatten() {
            if it.handle == handle {
                it.answered = true;
            }
        }
        false
    }

    /// The socket opened: say `hello`.
    pub fn opened(&mut self, now: u64) -> Vec<Action> {
        self.link.opened(now);
        self.refused = None;
        let c = &self.cfg;
        let hello = ClientFrame::Hello(Hello {
            login: c.login.clone(),
            secret: c.secret.clone(),
            token: c.token.clone(),
            client_id: c.client_id.clone(),
            heartbeat_ms: Some(c.heartbeat_ms),
            ..Default::default()
        });
        vec![Action::Send { frame: hello.encode() }]
    }

    /// A text frame arrived.
    pub fn received(&mut self, now: u64, text: &str) -> Vec<Action> {
        let frame = match ServerMessage::decode(text) {
            Ok(f) => f,
            Err(message) => return vec![Action::Error { code: "invalid_request".into(), message }],
        };
        let mut out = Vec::new();
        match frame {
            ServerMessage::Welcome { session, heartbeat_ms, partition, partitions, .. } => {
                self.link.welcomed(now, heartbeat_ms);
                out.push(Action::Welcome { session, heartbeat_ms, partition, partitions });
                out.extend(self.flush());
                self.touch_idle(now);
            }
            ServerMessage::Ok(ok) => {
                let Some(items) = ok.reference.and_then(|r| self.sent.remove(r)) else {
                    return out;
                };
                out.extend(Self::published(items, ok));
                self.touch_idle(now);
            }
            ServerMessage::Error { reference, code, message } => {
                let r = reference;
                if let Some(items) = r.and_then(|r| self.sent.remove(r)) {
                    if items.len() > 1 {
                        // One bad event fails its whole batch: send each alone, so only
                        // the bad one fails (the others are deduplicated if they landed).
                        for mut it in items.into_iter().rev().filter(|it| !it.answered) {
                            it.solo = true;
                            self.unsent.push_front(it);
                        }
                        if self.link.live() {
                            out.extend(self.flush());
                        }
                    } else {
                        out.extend(
                            items
                                .into_iter()
                                .filter(|it| !it.answered)
                                .map(|it| Action::refused(it.handle, &code, message.clone())),
                        );
                    }
                    self.touch_idle(now);
                } else if self.link.phase == Phase::Handshake
                    && (code == "unauthorized" || code == "forbidden")
                {
                    self.refused = Some(message);
                } else if self.link.phase == Phase::Handshake {
                    out.extend(self.fail_all(&code, &message));
                    out.push(Action::Fatal { code, message: message.clone() });
                    out.push(Action::Close { code: 1000, reason: message });
                    self.reset();
                } else {
                    out.push(Action::Error { code, message });
                }
            }
            ServerMessage::Msg(_) | ServerMessage::Msgs(_) | ServerMessage::Pong => {}
        }
        // An answer made room: what waited for it goes now, together (no second linger).
        if !self.unsent.is_empty() && self.link.live() && self.waiting_frames() < self.window() {
            out.extend(self.flush());
        }
        out
    }

    fn touch_idle(&mut self, now: u64) {
        self.idle_at = (self.pending() == 0 && self.cfg.idle_ms > 0).then_some(now + self.cfg.idle_ms);
    }

    /// Answers every publish with an error and forgets them.
    fn fail_all(&mut self, code: &str, message: &str) -> Vec<Action> {
        let sent = self.sent.take().flat_map(|(_, items)| items);
        let unsent = std::mem::take(&mut self.unsent);
        sent.chain(unsent)
            .filter(|it| !it.answered)
            .map(|it| Action::refused(it.handle, code, message.to_owned()))
            .collect()
    }

    /// Back to a publisher with no socket (after a final close): the next publish tries
    /// again, with whatever credentials the provider gives then.
    fn reset(&mut self) {
        self.link = Link::new(
            self.cfg.heartbeat_ms,
            self.cfg.reconnect_min_ms,
            self.cfg.reconnect_max_ms,
            self.cfg.refresh,
        );
        self.socket = false;
        self.linger_at = None;
        self.idle_at = None;
    }

    /// When [`Publisher::timer`] must run next.
    pub fn next_timer(&self) -> Option<u64> {
        let linger = self.linger_at.filter(|_| self.link.live());
        let oldest_sent = self.sent.values().next().and_then(|f| f.first()).map(|i| i.expires);
        let oldest_unsent = self.unsent.front().map(|i| i.expires);
        [linger, self.link.ping_due(), oldest_sent, oldest_unsent, self.idle_at].into_iter().flatten().min()
    }

    /// Time passed: send what lingered, keep alive, time out publishes, close when idle.
    pub fn timer(&mut self, now: u64) -> Vec<Action> {
        let mut out = Vec::new();
        if self.linger_at.is_some_and(|t| t <= now) && self.link.live() {
            out.extend(self.flush());
        }
        if self.link.ping(now) {
            out.push(Action::Send { frame: ClientFrame::Ping.encode() });
        }
        let message = format!(
            "no acknowledgement within {} ms; the event may or may not be published (publishing it again with the same id is deduplicated)",
            self.cfg.timeout_ms
        );
        for it in self.sent.values_mut().flatten().filter(|it| !it.answered && it.expires <= now) {
            it.answered = true;
            out.push(Action::refused(it.handle, "timeout", message.clone()));
        }
        while self.unsent.front().is_some_and(|it| it.expires <= now) {
            if let Some(it) = self.unsent.pop_front() {
                out.push(Action::refused(it.handle, "timeout", message.clone()));
            }
        }
        if self.idle_at.is_some_and(|t| t <= now) && self.pending() == 0 && self.link.live() {
            self.idle_at = None;
            self.socket = false;
            self.link.phase = Phase::Disconnected;
            out.push(Action::Close { code: 1000, reason: "idle".into() });
        }
        out
    }

    /// The socket closed. What was sent and not answered is sent again after the next
    /// `welcome` (deduplicated by id); a final close fails every publish.
    pub fn closed(&mut self, code: u16, reason: &str, random: f64) -> Vec<Action> {
        for (_, items) in self.sent.take().rev() {
            for it in items.into_iter().rev().filter(|it| !it.answered) {
                self.unsent.push_front(it);
            }
        }
        self.linger_at = None;
        let reason = match self.refused.take() {
            Some(message) if reason.is_empty() => message,
            _ => reason.to_owned(),
        };
        match self.link.closed(code, &reason, random) {
            Closed::Stopped => self.fail_all("disconnected", "the connection is closed"),
            Closed::Reconnect(after_ms) => vec![Action::Reconnect { after_ms }],
            Closed::Fatal(code, message) => {
                let mut out = self.fail_all(code, &message);
                out.push(Action::Fatal { code: code.into(), message });
                self.reset();
                out
            }
        }
    }

    /// The connection closes: every publish not answered fails with `disconnected`.
    pub fn stop(&mut self) -> Vec<Action> {
        let was = self.link.phase;
        self.link.phase = Phase::Stopped;
        let mut out = self.fail_all("disconnected", "the connection is closed");
        if self.socket && was != Phase::Disconnected {
            out.push(Action::Close { code: 1000, reason: "connection closed".into() });
        }
        self.socket = false;
        out
    }
}
