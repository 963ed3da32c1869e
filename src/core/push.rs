//! Push channels: the channel's endpoint is its consumer (`ConsumerId::PUSH`), with
//! `max_in_flight` credit. A delivery becomes an [`Output::Push`] (the request, built and
//! signed in `proto::push`); the driver sends it and reports the answer with
//! [`Broker::pushed`]: `2xx` finishes the message, `429`/`503` with `Retry-After` gives it
//! back for that long without a failure, `410` pauses the channel, anything else (or no
//! answer within `timeout_ms`) is a failure retried after `retry_ms` doubling, dead at
//! `max_attempts`. In-flight pushes are rows like any delivery, so a restart gives them
//! back (not as failures) and a retry waiting for its time survives as a deferred row.

use super::channel::InFlight;
use super::output::Output;
use super::store::{CheckpointWrite, Store, StoreResult};
use super::timers::Timer;
use super::{Broker, ConsumerId, Millis, Seq};
use crate::proto::id::message_id;
use crate::proto::push::{self, PushOutcome};

/// A push delivery's deadline is its request timeout and this much more (the driver
/// reports a timeout itself; the deadline covers a driver that never reports).
const PUSH_GRACE_MS: Millis = 5_000;

impl Broker {
    /// Whether the channel's push endpoint can take another message now.
    pub(super) fn push_credit(&self, ch: u32) -> bool {
        let Some(c) = self.channels.get(&ch) else { return false };
        let Some(p) = &c.push else { return false };
        let held = c.in_flight.values().filter(|f| f.owner == ConsumerId::PUSH).count();
        held < p.max_in_flight.unwrap_or(10) as usize
    }

    /// The deadline and attempts of a push delivery.
    pub(super) fn push_settings(&self, ch: u32) -> (Millis, u32) {
        let p = self.channels.get(&ch).and_then(|c| c.push.as_ref());
        let timeout = p.and_then(|p| p.timeout_ms).unwrap_or(30_000) + PUSH_GRACE_MS;
        (timeout, p.and_then(|p| p.max_attempts).unwrap_or(0))
    }

    /// Queues the request of a push delivery (see `proto::push::request`).
    pub(super) fn push_request(&mut self, now: Millis, ch: u32, seq: Seq, attempt: u32, event: &str) {
        let Some(p) = self.channels.get(&ch).and_then(|c| c.push.as_ref()) else { return };
        let id = message_id(self.partition.index, seq);
        match push::request(p, event, &id, seq, self.partition.index, attempt, now) {
            Ok(r) => {
                let out = Output::Push {
                    channel: ch,
                    seq,
                    attempt,
                    url: p.url.clone(),
                    headers: r.headers,
                    body: r.body,
                    timeout_ms: p.timeout_ms.unwrap_or(30_000),
                };
                self.out.push(out);
                // It may wait in the driver's queue for a connection: no deadline runs
                // until it is sent (`push_starting`), so a queued attempt never fails unsent.
                let deadline = self.channels.get(&ch).and_then(|c| c.in_flight.get(&seq)).map(|f| f.deadline);
                if let Some(d) = deadline {
                    self.timers.remove(&(d, Timer::Deadline(ch, seq)));
                }
            }
            // Left in flight: its deadline makes it a failure, retried later.
            Err(e) => self.log(
                super::LogLevel::Error,
                "push.unbuildable",
                serde_json::json!({ "seq": seq, "error": e }),
            ),
        }
    }

    /// The driver's report of a push delivery: `outcome` of attempt `attempt` of `seq` on
    /// channel `ch`. A report of an attempt no longer in flight (it timed out, the channel
    /// was deleted) changes nothing.
    pub fn pushed(
        &mut self,
        now: Millis,
        store: &mut dyn Store,
        ch: u32,
        seq: Seq,
        attempt: u32,
        outcome: &PushOutcome,
    ) -> StoreResult<()> {
        let current = self
            .channels
            .get(&ch)
            .and_then(|c| c.in_flight.get(&seq))
            .is_some_and(|f| is_push_attempt(f, attempt));
        if current {
            match outcome {
                PushOutcome::Done => {
                    self.finish_message(store, ch, seq)?;
                    if let Some(c) = self.channels.get_mut(&ch) {
                        c.row.counters.push_ok += 1;
                        c.row.push_error = None;
                    }
                }
                PushOutcome::RetryAfter(ms) => {
                    self.give_back(now, store, ch, seq, false, (*ms).max(1), &CheckpointWrite::Keep)?;
                }
                PushOutcome::Gone => {
                    self.give_back(now, store, ch, seq, false, 0, &CheckpointWrite::Keep)?;
                    if let Some(c) = self.channels.get_mut(&ch) {
                        c.row.push_error = Some("the endpoint answered 410 Gone: paused".into());
                    }
                    self.set_paused(now, store, ch, true)?;
                }
                PushOutcome::Failed(why) => self.push_failed(now, store, ch, seq, why)?,
            }
            self.dirty.insert(ch);
            self.pump(now, store, ch)?;
        }
        self.finish(now, store)
    }

    /// The driver is about to send the request of attempt `attempt` of `seq` (`body`),
    /// which may have waited in its queue: whether it still should, and if so the
    /// `webhook-timestamp` and `webhook-signature` of the time of sending, which replace
    /// the ones made when it was queued (a receiver refuses an old timestamp). An attempt
    /// no longer in flight (it timed out meanwhile, the channel was deleted) is not sent;
    /// on a paused channel it is given back, without a failure, for when the channel is
    /// resumed. One that goes has its deadline start now (its request timeout and the
    /// grace; none ran while it was queued), in memory only: a restart gives in-flight
    /// pushes back anyway.
    pub fn push_starting(
        &mut self,
        now: Millis,
        store: &mut dyn Store,
        ch: u32,
        seq: Seq,
        attempt: u32,
        body: &[u8],
    ) -> StoreResult<Option<[(String, String); 2]>> {
        let (timeout, _) = self.push_settings(ch);
        let id = message_id(self.partition.index, seq);
        let Some(c) = self.channels.get_mut(&ch) else { return Ok(None) };
        let secret = c.push.as_ref().and_then(|p| p.secret.clone()).unwrap_or_default();
        let paused = c.row.paused;
        let Some(f) = c.in_flight.get_mut(&seq).filter(|f| is_push_attempt(f, attempt)) else {
            return Ok(None);
        };
        if paused {
            self.give_back(now, store, ch, seq, false, 0, &CheckpointWrite::Keep)?;
            self.dirty.insert(ch);
            self.finish(now, store)?;
            return Ok(None);
        }
        self.timers.remove(&(f.deadline, Timer::Deadline(ch, seq)));
        f.deadline = now.saturating_add(timeout);
        self.timers.insert((f.deadline, Timer::Deadline(ch, seq)));
        // A secret that signs nothing was refused when the request was made (`push_request`).
        Ok(push::signed(&secret, &push::webhook_id(&id, attempt), now, body))
    }

    /// A failed push delivery: counted, then retried after `retry_ms` doubling (dead at
    /// `max_attempts`).
    pub(super) fn push_failed(
        &mut self,
        now: Millis,
        store: &mut dyn Store,
        ch: u32,
        seq: Seq,
        why: &str,
    ) -> StoreResult<()> {
        let Some(c) = self.channels.get_mut(&ch) else { return Ok(()) };
        let failures = c.in_flight.get(&seq).map_or(1, |f| f.failures + 1);
        let delay = c.push.as_ref().map_or(1_000, |p| p.retry_delay(failures));
        c.row.counters.push_failed += 1;
        c.row.push_error = Some(why.chars().take(200).collect());
        self.dirty.insert(ch);
        self.give_back(now, store, ch, seq, true, delay, &CheckpointWrite::Keep)
    }
}

/// Whether `f` is attempt `attempt` of a push delivery (not a later one, nor a socket's).
fn is_push_attempt(f: &InFlight, attempt: u32) -> bool {
    f.owner == ConsumerId::PUSH && f.attempt == attempt
}
