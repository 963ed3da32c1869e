//! Everything time does: in-flight deadlines, deferred messages coming due, silent
//! consumers, sockets that never said `hello`, channel rows that waited long enough,
//! pruning. One ordered set of (when, what); the driver's one alarm is set to its first.

use super::broker::Broker;
use super::store::{CheckpointWrite, RowState, Store, StoreResult};
use super::{Millis, Seq, SocketId};
use crate::proto::close;

/// Something the broker must do at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Timer {
    /// An in-flight message's deadline (channel, seq).
    Deadline(u32, Seq),
    /// The channel's earliest deferred row is due.
    Due(u32),
    /// A consumer holding messages is gone if it stayed silent.
    Heartbeat(SocketId),
    /// A socket that has not said `hello` is closed.
    Hello(SocketId),
    /// Channel rows that waited (see `Broker::lazy`) are written.
    Rows,
    /// Events past their retention are pruned.
    Prune,
    /// A channel's delivery stopped at its work budget and goes on.
    Resume(u32),
    /// A client socket's credentials are due for a check (see `Output::Recheck`).
    Recheck(SocketId),
}

/// How long a channel row may stay unwritten when only its cursor passed first
/// deliveries and `delivered_total` moved: a crash loses at most these increments.
pub const LAZY_ROW_MS: Millis = 1_000;

/// Most deferred rows made ready per channel in one call.
const DUE_BATCH: usize = 500;

impl Broker {
    /// The earliest time [`Broker::handle_timeout`] has work.
    pub fn poll_timeout(&self) -> Option<Millis> {
        self.timers.first().map(|t| t.0)
    }

    /// Consumers whose heartbeat deadline has passed by `now`: the driver may tell
    /// [`Broker::seen`] when the runtime last answered their ping (hibernation
    /// auto-response) before calling [`Broker::handle_timeout`].
    pub fn due_heartbeats(&self, now: Millis) -> Vec<SocketId> {
        self.timers
            .iter()
            .take_while(|(t, _)| *t <= now)
            .filter_map(|(_, timer)| match timer {
                Timer::Heartbeat(s) => Some(*s),
                _ => None,
            })
            .collect()
    }

    /// Does what fell due by `now`.
    pub fn handle_timeout(&mut self, now: Millis, store: &mut dyn Store) -> StoreResult<()> {
        self.run_timers(now, store)?;
        self.finish(now, store)
    }

    pub(super) fn run_timers(&mut self, now: Millis, store: &mut dyn Store) -> StoreResult<()> {
        let mut touched = std::collections::BTreeSet::new();
        while let Some(&(when, timer)) = self.timers.first() {
            if when > now {
                break;
            }
            self.timers.pop_first();
            match timer {
                Timer::Deadline(ch, seq) => {
                    let expired = self
                        .channels
                        .get(&ch)
                        .and_then(|c| c.in_flight.get(&seq))
                        .is_some_and(|f| f.deadline == when);
                    if expired {
                        let push = self
                            .channels
                            .get(&ch)
                            .and_then(|c| c.in_flight.get(&seq))
                            .is_some_and(|f| f.owner == super::ConsumerId::PUSH);
                        if let Some(c) = self.channels.get_mut(&ch) {
                            c.row.counters.timed_out += 1;
                        }
                        if push {
                            self.push_failed(now, store, ch, seq, "no answer in time")?;
                        } else {
                            self.give_back(now, store, ch, seq, true, 0, &CheckpointWrite::Keep)?;
                        }
                        touched.insert(ch);
                    }
                }
                Timer::Due(ch) => {
                    self.make_due_ready(now, store, ch)?;
                    touched.insert(ch);
                }
                Timer::Heartbeat(s) => {
                    let silent = self.sockets.get(&s).is_some_and(|sock| sock.gone_at() <= now);
                    if let Some(sock) = self.sockets.get_mut(&s) {
                        sock.heartbeat_at = None;
                    }
                    if silent {
                        self.close(s, close::HEARTBEAT, "heartbeat timeout");
                        self.forget_socket(now, store, s)?;
                    } else {
                        self.refresh_heartbeat(s);
                    }
                }
                Timer::Hello(s) => {
                    if self.sockets.get(&s).is_some_and(|sock| !sock.record.welcomed) {
                        self.send(
                            s,
                            r#"{"op":"error","code":"unauthorized","message":"no hello within 10 s"}"#.into(),
                            false,
                        );
                        self.close(s, close::UNAUTHORIZED, "hello must come first, within 10 s");
                        self.sockets.remove(&s);
                    }
                }
                Timer::Rows => {
                    let lazy = std::mem::take(&mut self.lazy);
                    self.lazy_due = None;
                    self.dirty.extend(lazy);
                }
                Timer::Prune => self.prune(now, store)?,
                Timer::Resume(ch) => {
                    touched.insert(ch);
                }
                Timer::Recheck(s) => {
                    if let Some(sock) = self.sockets.get_mut(&s) {
                        sock.recheck_at = None;
                        self.out.push(super::Output::Recheck { socket: s });
                    }
                }
            }
        }
        for ch in touched {
            self.pump(now, store, ch)?;
        }
        Ok(())
    }

    /// Drops an expired waiting row of channel `ch` (the caller takes it out of its ready
    /// or deferred count): counted in `expired_total`, deleted, its ordering key freed.
    pub(super) fn drop_expired(
        &mut self,
        store: &mut dyn Store,
        ch: u32,
        seq: Seq,
        key: Option<&str>,
    ) -> StoreResult<()> {
        let Some(c) = self.channels.get_mut(&ch) else { return Ok(()) };
        c.row.counters.expired += 1;
        if key.is_some() {
            c.counts.keyed_waiting = c.counts.keyed_waiting.saturating_sub(1);
        }
        store.delete_message(ch, seq)?;
        self.dirty.insert(ch);
        if let Some(k) = key {
            self.unblock(store, ch, k)?;
        }
        Ok(())
    }

    /// Deferred rows of a channel that came due become ready (or parked behind their
    /// key); the next due time is read again.
    fn make_due_ready(&mut self, now: Millis, store: &mut dyn Store, ch: u32) -> StoreResult<()> {
        let Some(c) = self.channels.get(&ch) else { return Ok(()) };
        let cid = c.id();
        let rows = store.due_rows(cid, now, DUE_BATCH)?;
        for mut m in rows {
            // Its expiry came first (deferred rows come due at their expiry at the latest):
            // dropped now, so it no longer holds back later messages of its key.
            if m.expires_at.is_some_and(|t| t <= now) {
                let Some(c) = self.channels.get_mut(&ch) else { return Ok(()) };
                c.counts.deferred = c.counts.deferred.saturating_sub(1);
                self.drop_expired(store, ch, m.seq, m.key.as_deref())?;
                continue;
            }
            let blocked = match m.key.as_deref() {
                Some(k) => self.key_blocked(store, ch, k, m.seq)?,
                None => false,
            };
            let Some(c) = self.channels.get_mut(&ch) else { return Ok(()) };
            c.counts.deferred = c.counts.deferred.saturating_sub(1);
            m.state = if blocked { RowState::Parked } else { RowState::Ready };
            m.due = 0;
            store.put_message(&m, &CheckpointWrite::Keep)?;
            if blocked {
                c.counts.parked += 1;
            } else {
                c.add_ready(m.seq, (&m).into());
            }
        }
        let next = store.next_due(cid)?;
        if let Some(c) = self.channels.get_mut(&ch) {
            c.next_due = next;
        }
        if let Some(t) = next {
            self.timers.insert((t.max(now), Timer::Due(ch)));
        }
        Ok(())
    }

    /// Notes that deferred rows exist due at `due`.
    pub(super) fn note_due(&mut self, ch: u32, due: Millis) {
        let Some(c) = self.channels.get_mut(&ch) else { return };
        if c.next_due.is_none_or(|t| due < t) {
            if let Some(old) = c.next_due {
                self.timers.remove(&(old, Timer::Due(ch)));
            }
            c.next_due = Some(due);
            self.timers.insert((due, Timer::Due(ch)));
        }
    }

    /// Notes that a channel row change may wait (see [`LAZY_ROW_MS`]).
    pub(super) fn lazy_row(&mut self, now: Millis, ch: u32) {
        if !self.dirty.contains(&ch) && self.lazy.insert(ch) && self.lazy_due.is_none() {
            let at = now.saturating_add(LAZY_ROW_MS);
            self.lazy_due = Some(at);
            self.timers.insert((at, Timer::Rows));
        }
    }

    /// Keeps a socket in the heartbeat timers exactly while it holds messages, so idle
    /// consumers never wake the driver.
    pub(super) fn refresh_heartbeat(&mut self, id: SocketId) {
        let Some(s) = self.sockets.get_mut(&id) else { return };
        let want = (!s.in_flight.is_empty()).then(|| s.gone_at());
        if want != s.heartbeat_at {
            if let Some(t) = s.heartbeat_at {
                self.timers.remove(&(t, Timer::Heartbeat(id)));
            }
            if let Some(t) = want {
                self.timers.insert((t, Timer::Heartbeat(id)));
            }
            s.heartbeat_at = want;
        }
    }

    /// After a delivery to a client's socket: its credentials are checked again within
    /// the recheck interval (none is set for `memory://`, which has no credentials).
    pub(super) fn arm_recheck(&mut self, now: Millis, id: SocketId) {
        let Some(every) = self.recheck_ms else { return };
        let Some(s) = self.sockets.get_mut(&id) else { return };
        if s.recheck_at.is_none() && s.record.source.starts_with("/clients/") {
            let at = now.saturating_add(every);
            s.recheck_at = Some(at);
            self.timers.insert((at, Timer::Recheck(id)));
        }
    }

    /// Sets how often a client socket that receives deliveries has its credentials
    /// checked again (the Worker's lookup cache lifetime).
    pub fn recheck_every(&mut self, ms: Millis) {
        self.recheck_ms = Some(ms);
    }

    /// A consumer showed a sign of life at `at` (a frame, or the runtime's answer to its
    /// ping).
    pub fn seen(&mut self, id: SocketId, at: Millis) {
        if let Some(s) = self.sockets.get_mut(&id) {
            s.last_seen = s.last_seen.max(at);
        }
        self.refresh_heartbeat(id);
    }
}

/// When a row deferred until `due` comes due: at its expiry if that is earlier, when it
/// is dropped (`make_due_ready`) and stops holding back its ordering key.
pub(super) fn due_by_expiry(due: Millis, expires_at: Option<Millis>) -> Millis {
    expires_at.map_or(due, |e| due.min(e))
}
