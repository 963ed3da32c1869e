//! One subscriber's session with its channel: the protocol half of a consumer socket.
//!
//! A sans-IO state machine in the manner of the server core: the TypeScript driver opens
//! the socket, feeds [`Session`] what happens (`opened`, `received`, `closed`, timers,
//! handler outcomes, settle calls) with the current time, and performs the [`Action`]s it
//! returns (send a frame, run the handler, answer a promise, reconnect after a delay).
//!
//! Owns: the handshake, credit (`rdy`), the set of messages in flight on the current
//! socket, `ref` bookkeeping of settle frames, coalescing of acknowledgements into
//! frames with `ids` (`acks.rs`, when the server's `welcome` says `"batch": true`),
//! keep-alive pings and reconnects (`link.rs`), handler backoff, and the capped queue of
//! frames made while disconnected.
//! Must not touch: sockets, timers, the clock, randomness (all come in as arguments).

use super::acks::Acks;
pub use super::action::{Action, Phase};
use super::backoff::handler_delay;
pub use super::config::SessionConfig;
use super::link::{Closed, Link};
use super::refs::{InFlight, RefMap};
use crate::proto::codec::{Delivered, OkAnswer, ServerMessage};
use crate::proto::frame::{ClientFrame, Hello};
use std::collections::VecDeque;

mod settling;

/// Close codes after which reconnecting cannot help (4001 once excepted, see `link.rs`).
pub const FATAL_CLOSE_CODES: [u16; 3] = [4001, 4003, 4004];

/// What a pending `ref` was for.
#[derive(Debug, Clone)]
struct Pending {
    /// The message a fin/req/shelve/respond took out of flight: back in flight if the
    /// server refuses the frame for a reason other than "not in flight".
    returns: Option<String>,
}

/// One subscriber's protocol state.
#[derive(Debug)]
pub struct Session {
    cfg: SessionConfig,
    link: Link,
    /// Messages delivered on the current socket and not yet settled.
    in_flight: InFlight,
    /// Single-id frames sent and not answered yet, by ref.
    pending: RefMap<Pending>,
    /// Settles waiting to be coalesced, and coalesced frames not answered yet.
    acks: Acks,
    /// The server's welcome offered batched frames.
    server_batch: bool,
    next_ref: u64,
    /// Frames made while disconnected, sent after the next `welcome`.
    queue: VecDeque<String>,
    /// Consecutive handler failures since the last success.
    failures: u32,
    /// No deliveries wanted before this time (handler backoff).
    backoff_until: Option<u64>,
    /// The error of a refused `hello` (the close that follows says the rest).
    refused: Option<(String, String)>,
}

impl Session {
    /// A session that has not connected yet.
    pub fn new(cfg: SessionConfig) -> Self {
        let link = Link::new(cfg.heartbeat_ms, cfg.reconnect_min_ms, cfg.reconnect_max_ms, cfg.refresh);
        Session {
            cfg,
            link,
            in_flight: InFlight::default(),
            pending: RefMap::default(),
            acks: Acks::default(),
            server_batch: false,
            next_ref: 1,
            queue: VecDeque::new(),
            failures: 0,
            backoff_until: None,
            refused: None,
        }
    }

    /// Where the session stands.
    pub fn phase(&self) -> Phase {
        self.link.phase
    }

    /// Messages in flight on the current socket.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// The token for the next `hello` (a provider's fresh one).
    pub fn set_token(&mut self, token: Option<String>) {
        self.cfg.token = token;
    }

    /// The credit wanted now: none while backing off.
    fn credit(&self) -> u32 {
        if self.backoff_until.is_some() {
            0
        } else {
            self.cfg.max_in_flight
        }
    }

    /// The socket opened: say `hello`.
    pub fn opened(&mut self, now: u64) -> Vec<Action> {
        if self.link.phase == Phase::Stopped {
            return vec![Action::Close { code: 1000, reason: "stopped".into() }];
        }
        self.link.opened(now);
        self.server_batch = false;
        self.refused = None;
        let c = &self.cfg;
        let hello = ClientFrame::Hello(Hello {
            login: c.login.clone(),
            secret: c.secret.clone(),
            token: c.token.clone(),
            client_id: c.client_id.clone(),
            // The server wants 1.. here; a subscriber in backoff sends `rdy 0` after welcome.
            max_in_flight: Some(u64::from(c.max_in_flight.max(1))),
            handler_timeout_ms: Some(c.handler_timeout_ms),
            max_attempts: Some(u64::from(c.max_attempts)),
            heartbeat_ms: Some(c.heartbeat_ms),
            batch: c.batch,
        });
        vec![Action::Send { frame: hello.encode() }]
    }

    fn deliver(&mut self, d: Delivered) -> Action {
        self.in_flight.insert(d.id.clone());
        Action::from(d)
    }

    /// A text frame arrived.
    pub fn received(&mut self, now: u64, text: &str) -> Vec<Action> {
        let frame = match ServerMessage::decode(text) {
            Ok(f) => f,
            Err(message) => return vec![Action::Error { code: "invalid_request".into(), message }],
        };
        let mut out = Vec::new();
        match frame {
            ServerMessage::Welcome { session, heartbeat_ms, batch, partition, partitions, .. } => {
                self.link.welcomed(now, heartbeat_ms);
                self.server_batch = batch && self.cfg.batch;
                out.push(Action::Welcome { session, heartbeat_ms, partition, partitions });
                if self.credit() == 0 {
                    out.push(self.send(ClientFrame::Rdy { count: 0, reference: None }));
                }
                while let Some(frame) = self.queue.pop_front() {
                    out.push(Action::Send { frame });
                }
            }
            ServerMessage::Msg(d) => out.push(self.deliver(d)),
            ServerMessage::Msgs(ds) => out.extend(ds.into_iter().map(|d| self.deliver(d))),
            ServerMessage::Ok(OkAnswer { reference, deadline, missing, .. }) => {
                let Some(r) = reference else { return out };
                if self.pending.remove(r).is_some() {
                    out.push(Action::Answer { reference: r, ok: true, code: None, message: None, deadline });
                } else if let Some(answers) =
                    self.acks.answered(r, missing.as_deref().unwrap_or_default(), self.cfg.handler_timeout_ms)
                {
                    out.extend(answers);
                }
            }
            ServerMessage::Error { reference, code, message } => {
                let r = reference;
                if let Some(r) = r.filter(|r| self.pending.contains(*r)) {
                    if let Some(Pending { returns: Some(id) }) = self.pending.remove(r) {
                        if code != "not_found" {
                            self.in_flight.insert(id);
                        }
                    }
                    out.push(Action::refused(r, &code, message));
                } else if let Some((answers, back)) = r.and_then(|r| self.acks.refused(r, &code, &message)) {
                    for id in back {
                        self.in_flight.insert(id);
                    }
                    out.extend(answers);
                } else if self.link.phase == Phase::Handshake
                    && (code == "unauthorized" || code == "forbidden")
                {
                    // The server closes with 4001 / 4003 next; the close decides (a token
                    // provider gets one retry).
                    self.refused = Some((code, message));
                } else if self.link.phase == Phase::Handshake {
                    // A refused hello (bad settings): the server keeps the socket but will
                    // never welcome it. Retrying the same settings cannot help.
                    self.link.phase = Phase::Stopped;
                    out.push(Action::Fatal { code, message: message.clone() });
                    out.push(Action::Close { code: 1000, reason: message });
                } else {
                    out.push(Action::Error { code, message });
                }
            }
            ServerMessage::Pong => {}
        }
        out
    }

    fn take_ref(&mut self) -> u64 {
        let r = self.next_ref;
        self.next_ref += 1;
        r
    }

    fn send(&self, frame: ClientFrame) -> Action {
        Action::Send { frame: frame.encode() }
    }

    /// The handler of a message returned (`ok`) or threw. A throw starts or extends the
    /// handler backoff (credit 0); a success ends it.
    pub fn handler_done(&mut self, now: u64, ok: bool) -> Vec<Action> {
        if ok {
            self.failures = 0;
            // A running backoff ends on its timer: one success while other handlers of
            // the same burst still fail must not reopen the tap at once.
            return Vec::new();
        }
        self.failures = self.failures.saturating_add(1);
        let was_open = self.backoff_until.is_none();
        self.backoff_until = Some(now + handler_delay(self.cfg.backoff_ms, self.failures));
        if was_open && self.link.live() {
            vec![self.send(ClientFrame::Rdy { count: 0, reference: None })]
        } else {
            Vec::new()
        }
    }

    /// Changes the credit wanted while healthy.
    pub fn set_max_in_flight(&mut self, count: u32) -> Vec<Action> {
        self.cfg.max_in_flight = count;
        let frame = ClientFrame::Rdy { count: u64::from(self.credit()), reference: None }.encode();
        self.send_or_queue(frame)
    }

    fn send_or_queue(&mut self, frame: String) -> Vec<Action> {
        if self.link.live() {
            return vec![Action::Send { frame }];
        }
        if self.queue.len() >= self.cfg.queue_cap {
            self.queue.pop_front();
        }
        self.queue.push_back(frame);
        Vec::new()
    }

    /// When [`Session::timer`] must be called next: a keep-alive, the end of a backoff,
    /// or at once when settles wait to be coalesced (`now` is returned for those).
    pub fn next_timer(&self, now: u64) -> Option<u64> {
        let flush = (!self.acks.idle()).then_some(now);
        [self.link.ping_due(), self.backoff_until, flush].into_iter().flatten().min()
    }

    /// Time passed: flush coalesced settles, end a backoff, send a keep-alive.
    pub fn timer(&mut self, now: u64) -> Vec<Action> {
        let mut out = self.flush(now);
        if self.backoff_until.is_some_and(|t| t <= now) {
            self.backoff_until = None;
            if self.link.live() {
                out.push(self.send(ClientFrame::Rdy { count: u64::from(self.credit()), reference: None }));
            }
        }
        if self.link.ping(now) {
            out.push(self.send(ClientFrame::Ping));
        }
        out
    }

    /// The socket closed (or failed). `random` in [0, 1) jitters the reconnect delay.
    pub fn closed(&mut self, code: u16, reason: &str, random: f64) -> Vec<Action> {
        let mut out = Vec::new();
        let ids = self.in_flight.take();
        if !ids.is_empty() {
            out.push(Action::Abort { ids });
        }
        for (r, _) in self.pending.take() {
            out.push(Action::refused(r, "disconnected", "the connection closed before an answer".into()));
        }
        out.extend(self.acks.drop_all());
        let reason = match self.refused.take() {
            Some((_, message)) if reason.is_empty() => message,
            _ => reason.to_owned(),
        };
        match self.link.closed(code, &reason, random) {
            Closed::Stopped => {}
            Closed::Fatal(code, message) => out.push(Action::Fatal { code: code.into(), message }),
            Closed::Reconnect(after_ms) => out.push(Action::Reconnect { after_ms }),
        }
        out
    }

    /// The application stops the subscriber: no reconnect; messages in flight go back to
    /// the server when the socket closes.
    /// Coalesced settles still waiting go out first.
    pub fn stop(&mut self, now: u64) -> Vec<Action> {
        let was = self.link.phase;
        let mut out = if was == Phase::Live { self.flush(now) } else { Vec::new() };
        self.link.phase = Phase::Stopped;
        if was != Phase::Disconnected {
            out.push(Action::Close { code: 1000, reason: "subscriber stopped".into() });
        }
        out
    }
}
