//! One subscriber's session with its channel: the protocol half of a consumer socket.
//!
//! A sans-IO state machine in the manner of the server core: the TypeScript driver opens
//! the socket, feeds [`Session`] what happens (`opened`, `received`, `closed`, timers,
//! handler outcomes, settle calls) with the current time, and performs the [`Action`]s it
//! returns (send a frame, run the handler, answer a promise, reconnect after a delay).
//!
//! Owns: the handshake, credit (`rdy`), the set of messages in flight on the current
//! socket, `ref` bookkeeping of settle frames, keep-alive pings, handler backoff,
//! reconnect backoff, and the capped queue of frames made while disconnected.
//! Must not touch: sockets, timers, the clock, randomness (all come in as arguments).

pub use super::action::{Action, Phase};
use super::backoff::{handler_delay, reconnect_delay};
use crate::proto::codec::ServerMessage;
use crate::proto::frame::{ClientFrame, Hello, Settle};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Close codes after which reconnecting cannot help.
pub const FATAL_CLOSE_CODES: [u16; 3] = [4001, 4003, 4004];

/// A subscriber's settings, as the driver passes them (JSON, snake_case).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct SessionConfig {
    /// Client login (with `secret`).
    pub login: Option<String>,
    /// Client secret.
    pub secret: Option<String>,
    /// Bearer token instead of login and secret.
    pub token: Option<String>,
    /// Free-form client id, shown in server logs.
    pub client_id: Option<String>,
    /// Credit (`rdy`) while healthy.
    pub max_in_flight: u32,
    /// In-flight deadline of each delivery.
    pub handler_timeout_ms: u64,
    /// Failures after which the server dead-letters a message (0 = unlimited).
    pub max_attempts: u32,
    /// Keep-alive interval: a `ping` is sent this often.
    pub heartbeat_ms: u64,
    /// First handler backoff after a throw.
    pub backoff_ms: u64,
    /// Reconnect backoff floor.
    pub reconnect_min_ms: u64,
    /// Reconnect backoff cap.
    pub reconnect_max_ms: u64,
    /// Most frames kept while disconnected.
    pub queue_cap: usize,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            login: None,
            secret: None,
            token: None,
            client_id: None,
            max_in_flight: 1,
            handler_timeout_ms: 60_000,
            max_attempts: 0,
            heartbeat_ms: 30_000,
            backoff_ms: 5_000,
            reconnect_min_ms: 500,
            reconnect_max_ms: 30_000,
            queue_cap: 1_000,
        }
    }
}

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
    phase: Phase,
    /// Messages delivered on the current socket and not yet settled.
    in_flight: BTreeSet<String>,
    /// Frames sent and not answered yet, by ref.
    pending: BTreeMap<u64, Pending>,
    next_ref: u64,
    /// Frames made while disconnected, sent after the next `welcome`.
    queue: VecDeque<String>,
    /// Consecutive reconnect attempts since the last `welcome`.
    attempt: u32,
    /// Consecutive handler failures since the last success.
    failures: u32,
    /// No deliveries wanted before this time (handler backoff).
    backoff_until: Option<u64>,
    /// When the next keep-alive `ping` is due.
    ping_at: Option<u64>,
    /// Keep-alive interval in force (the server's answer wins).
    heartbeat_ms: u64,
}

impl Session {
    /// A session that has not connected yet.
    pub fn new(cfg: SessionConfig) -> Self {
        let heartbeat_ms = cfg.heartbeat_ms;
        Session {
            cfg,
            phase: Phase::Disconnected,
            in_flight: BTreeSet::new(),
            pending: BTreeMap::new(),
            next_ref: 1,
            queue: VecDeque::new(),
            attempt: 0,
            failures: 0,
            backoff_until: None,
            ping_at: None,
            heartbeat_ms,
        }
    }

    /// Where the session stands.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Messages in flight on the current socket.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
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
        if self.phase == Phase::Stopped {
            return vec![Action::Close { code: 1000, reason: "stopped".into() }];
        }
        self.phase = Phase::Handshake;
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
            batch: false,
        });
        self.ping_at = Some(now + self.heartbeat_ms);
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
            ServerMessage::Welcome { session, heartbeat_ms, .. } => {
                self.phase = Phase::Live;
                self.attempt = 0;
                self.heartbeat_ms = heartbeat_ms.max(1_000);
                self.ping_at = Some(now + self.heartbeat_ms);
                out.push(Action::Welcome { session, heartbeat_ms });
                if self.credit() == 0 {
                    out.push(self.send(ClientFrame::Rdy { count: 0, reference: None }));
                }
                while let Some(frame) = self.queue.pop_front() {
                    out.push(Action::Send { frame });
                }
            }
            ServerMessage::Msg(d) => {
                self.in_flight.insert(d.id.clone());
                out.push(Action::Deliver {
                    id: d.id,
                    seq: d.seq,
                    attempt: d.attempt,
                    failures: d.failures,
                    deadline: d.deadline,
                    reply: d.reply,
                    checkpoint: d.checkpoint,
                    event: d.event,
                });
            }
            ServerMessage::Ok { reference, deadline, .. } => {
                if let Some(r) = Self::our_ref(reference.as_ref()) {
                    if self.pending.remove(&r).is_some() {
                        out.push(Action::Answer {
                            reference: r,
                            ok: true,
                            code: None,
                            message: None,
                            deadline,
                        });
                    }
                }
            }
            ServerMessage::Error { reference, code, message } => match Self::our_ref(reference.as_ref()) {
                Some(r) if self.pending.contains_key(&r) => {
                    if let Some(Pending { returns: Some(id) }) = self.pending.remove(&r) {
                        if code != "not_found" {
                            self.in_flight.insert(id);
                        }
                    }
                    out.push(Action::Answer {
                        reference: r,
                        ok: false,
                        code: Some(code),
                        message: Some(message),
                        deadline: None,
                    });
                }
                _ if self.phase == Phase::Handshake => {
                    // A refused hello (bad settings): the server keeps the socket but will
                    // never welcome it. Retrying the same settings cannot help.
                    self.phase = Phase::Stopped;
                    out.push(Action::Fatal { code, message: message.clone() });
                    out.push(Action::Close { code: 1000, reason: message });
                }
                _ => out.push(Action::Error { code, message }),
            },
            ServerMessage::Pong => {}
        }
        out
    }

    fn our_ref(reference: Option<&Value>) -> Option<u64> {
        reference.and_then(Value::as_u64)
    }

    fn take_ref(&mut self, returns: Option<String>) -> u64 {
        let r = self.next_ref;
        self.next_ref += 1;
        self.pending.insert(r, Pending { returns });
        r
    }

    fn send(&self, frame: ClientFrame) -> Action {
        Action::Send { frame: frame.encode() }
    }

    fn refuse(reference: u64, code: &str, message: String) -> Action {
        Action::Answer {
            reference,
            ok: false,
            code: Some(code.into()),
            message: Some(message),
            deadline: None,
        }
    }

    /// fin / touch / req / shelve of a message. Returns the `ref` whose [`Action::Answer`]
    /// settles the call, and what to do now. `state` and `data` are JSON text.
    pub fn settle(
        &mut self,
        verb: Settle,
        id: &str,
        state: Option<&str>,
        delay_ms: Option<u64>,
    ) -> (u64, Vec<Action>) {
        let state = match state.map(|s| RawValue::from_string(s.to_owned())).transpose() {
            Ok(s) => s,
            Err(e) => {
                let r = self.take_ref(None);
                self.pending.remove(&r);
                return (r, vec![Self::refuse(r, "invalid_request", format!("state is not JSON: {e}"))]);
            }
        };
        let finishing = verb != Settle::Touch;
        let (r, check) = self.claim(id, finishing);
        if let Some(refused) = check {
            return (r, vec![refused]);
        }
        let frame = ClientFrame::Settle {
            verb,
            ids: crate::proto::frame::SettleIds::One(id.to_owned()),
            state,
            delay_ms,
            reference: Some(Value::from(r)),
        };
        (r, vec![self.send(frame)])
    }

    /// `respond` to a message delivered with `reply: true` (also finishes it).
    pub fn respond(&mut self, id: &str, data: &str, datacontenttype: Option<&str>) -> (u64, Vec<Action>) {
        let data = match RawValue::from_string(data.to_owned()) {
            Ok(d) => d,
            Err(e) => {
                let r = self.take_ref(None);
                self.pending.remove(&r);
                return (r, vec![Self::refuse(r, "invalid_request", format!("data is not JSON: {e}"))]);
            }
        };
        let (r, check) = self.claim(id, true);
        if let Some(refused) = check {
            return (r, vec![refused]);
        }
        let frame = ClientFrame::Respond {
            id: id.to_owned(),
            data,
            datacontenttype: datacontenttype.map(str::to_owned),
            reference: Some(Value::from(r)),
        };
        (r, vec![self.send(frame)])
    }

    /// Takes a ref for a frame about message `id`, checking that the message is in flight
    /// on this socket (a message of a lost socket is the server's to redeliver: settling
    /// it now could only be refused). `finishing` takes it out of flight at once, so a
    /// second settle is refused here and credit is counted right.
    fn claim(&mut self, id: &str, finishing: bool) -> (u64, Option<Action>) {
        let r = self.take_ref(finishing.then(|| id.to_owned()));
        let refused = if self.phase != Phase::Live {
            Some(Self::refuse(
                r,
                "disconnected",
                format!("message {id} was lost with the connection; it will be redelivered"),
            ))
        } else if !self.in_flight.contains(id) {
            Some(Self::refuse(r, "not_found", format!("message {id} is not in flight (already settled?)")))
        } else {
            None
        };
        if refused.is_some() {
            self.pending.remove(&r);
        } else if finishing {
            self.in_flight.remove(id);
        }
        (r, refused)
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
        if was_open && self.phase == Phase::Live {
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
        if self.phase == Phase::Live {
            return vec![Action::Send { frame }];
        }
        if self.queue.len() >= self.cfg.queue_cap {
            self.queue.pop_front();
        }
        self.queue.push_back(frame);
        Vec::new()
    }

    /// When [`Session::timer`] must be called next.
    pub fn next_timer(&self) -> Option<u64> {
        let ping = if self.phase == Phase::Live { self.ping_at } else { None };
        match (ping, self.backoff_until) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Time passed: end a backoff, send a keep-alive.
    pub fn timer(&mut self, now: u64) -> Vec<Action> {
        let mut out = Vec::new();
        if self.backoff_until.is_some_and(|t| t <= now) {
            self.backoff_until = None;
            if self.phase == Phase::Live {
                out.push(self.send(ClientFrame::Rdy { count: u64::from(self.credit()), reference: None }));
            }
        }
        if self.phase == Phase::Live && self.ping_at.is_some_and(|t| t <= now) {
            self.ping_at = Some(now + self.heartbeat_ms);
            out.push(self.send(ClientFrame::Ping));
        }
        out
    }

    /// The socket closed (or failed). `random` in [0, 1) jitters the reconnect delay.
    pub fn closed(&mut self, code: u16, reason: &str, random: f64) -> Vec<Action> {
        let mut out = Vec::new();
        let ids: Vec<String> = std::mem::take(&mut self.in_flight).into_iter().collect();
        if !ids.is_empty() {
            out.push(Action::Abort { ids });
        }
        for r in std::mem::take(&mut self.pending).into_keys() {
            out.push(Self::refuse(r, "disconnected", "the connection closed before an answer".into()));
        }
        self.ping_at = None;
        if self.phase == Phase::Stopped {
            return out;
        }
        if FATAL_CLOSE_CODES.contains(&code) {
            self.phase = Phase::Stopped;
            let code = match code {
                4001 => "unauthorized",
                4003 => "forbidden",
                _ => "not_found",
            };
            out.push(Action::Fatal { code: code.into(), message: reason.to_owned() });
            return out;
        }
        self.phase = Phase::Disconnected;
        let after_ms =
            reconnect_delay(self.cfg.reconnect_min_ms, self.cfg.reconnect_max_ms, self.attempt, random);
        self.attempt = self.attempt.saturating_add(1);
        out.push(Action::Reconnect { after_ms });
        out
    }

    /// The application stops the subscriber: no reconnect; messages in flight go back to
    /// the server when the socket closes.
    pub fn stop(&mut self) -> Vec<Action> {
        let was = self.phase;
        self.phase = Phase::Stopped;
        if was == Phase::Disconnected {
            Vec::new()
        } else {
            vec![Action::Close { code: 1000, reason: "subscriber stopped".into() }]
        }
    }
}
