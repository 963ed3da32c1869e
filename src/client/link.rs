//! The life of one socket of a client session, shared by consumers (`session.rs`) and
//! publishers (`publisher.rs`): phase, keep-alive pings, reconnect backoff, and which
//! closes are final.
//!
//! A close with 4001 (unauthorized) is final, except once in a row for a session whose
//! credentials can be refreshed (a token provider): the driver asks the provider for a
//! new token at every connect, so one retry is enough to tell an expired token from a
//! revoked client.

pub use super::action::Phase;
use super::backoff::reconnect_delay;
use crate::proto::close;

/// What a close means for the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Closed {
    /// The session was stopped: nothing to do.
    Stopped,
    /// Reconnect after this delay.
    Reconnect(u64),
    /// Final: an error code of the contract, and the close reason.
    Fatal(&'static str, String),
}

/// Phase, keep-alive and reconnect state of a session's socket.
#[derive(Debug, Clone)]
pub struct Link {
    /// Where the session stands.
    pub phase: Phase,
    /// Keep-alive interval in force (the server's answer wins).
    pub heartbeat_ms: u64,
    /// When the next keep-alive `ping` is due.
    ping_at: Option<u64>,
    /// Consecutive reconnect attempts since the last `welcome`.
    attempt: u32,
    /// 4001 closes since the last `welcome`.
    unauthorized: u32,
    /// Whether a 4001 may be retried once (the credentials come from a provider).
    refresh: bool,
    reconnect_min_ms: u64,
    reconnect_max_ms: u64,
}

impl Link {
    /// A link that has not connected yet.
    pub fn new(heartbeat_ms: u64, reconnect_min_ms: u64, reconnect_max_ms: u64, refresh: bool) -> Self {
        Link {
            phase: Phase::Disconnected,
            heartbeat_ms,
            ping_at: None,
            attempt: 0,
            unauthorized: 0,
            refresh,
            reconnect_min_ms,
            reconnect_max_ms,
        }
    }

    /// Whether frames may be sent now.
    pub fn live(&self) -> bool {
        self.phase == Phase::Live
    }

    /// The socket opened; `hello` goes out.
    pub fn opened(&mut self, now: u64) {
        self.phase = Phase::Handshake;
        self.ping_at = Some(now + self.heartbeat_ms);
    }

    /// The server accepted `hello`.
    pub fn welcomed(&mut self, now: u64, heartbeat_ms: u64) {
        self.phase = Phase::Live;
        self.attempt = 0;
        self.unauthorized = 0;
        self.heartbeat_ms = heartbeat_ms.max(1_000);
        self.ping_at = Some(now + self.heartbeat_ms);
    }

    /// When a `ping` is due, while live.
    pub fn ping_due(&self) -> Option<u64> {
        if self.live() {
            self.ping_at
        } else {
            None
        }
    }

    /// Whether a `ping` must go out now (and schedules the next).
    pub fn ping(&mut self, now: u64) -> bool {
        if self.live() && self.ping_at.is_some_and(|t| t <= now) {
            self.ping_at = Some(now + self.heartbeat_ms);
            return true;
        }
        false
    }

    /// The socket closed. `random` in [0, 1) jitters the reconnect.
    pub fn closed(&mut self, code: u16, reason: &str, random: f64) -> Closed {
        self.ping_at = None;
        if self.phase == Phase::Stopped {
            return Closed::Stopped;
        }
        if code == close::UNAUTHORIZED {
            self.unauthorized += 1;
            if self.refresh && self.unauthorized == 1 {
                // A fresh token is asked for at the next connect: retry at once.
                self.phase = Phase::Disconnected;
                return Closed::Reconnect(self.reconnect_min_ms.min(self.reconnect_max_ms).max(1) / 4 + 1);
            }
        }
        if close::is_final(code) {
            self.phase = Phase::Stopped;
            let code = match code {
                close::UNAUTHORIZED => "unauthorized",
                close::FORBIDDEN => "forbidden",
                _ => "not_found",
            };
            return Closed::Fatal(code, reason.to_owned());
        }
        self.phase = Phase::Disconnected;
        let after = reconnect_delay(self.reconnect_min_ms, self.reconnect_max_ms, self.attempt, random);
        self.attempt = self.attempt.saturating_add(1);
        Closed::Reconnect(after)
    }
}
