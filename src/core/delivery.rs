//! Delivering: choosing the next message of a channel (a ready row, or the event at the
//! cursor after skipping what needs no consumer), and putting it in flight to a consumer
//! with credit or a waiting pull. Settling is in `settle.rs`.
//!
//! A first delivery writes no row of its own: its channel row lists it (see
//! `ChannelRow::held`), or, when that is full, the deliveries of one call to one owner go
//! under one lease row (see `store::LeaseRow`), in `Broker::finish` (`flush.rs`) with the
//! channel rows the call changed. Redeliveries have their own row.

use super::broker::{Broker, Delivered};
use super::channel::{InFlight, ReadyRow};
use super::filter::EventAttributes;
use super::store::{CheckpointWrite, EventHead, MessageHead, RowState, Store, StoreResult};
use super::timers::{due_by_expiry, Timer};
use super::{ConsumerId, Millis, Seq, SocketId};

/// Most events the cursor passes without delivering (filtered, expired, deferred,
/// parked) per channel in one call; past it the channel goes on in the next call.
const SCAN_BUDGET: usize = 1_000;
/// Event heads read ahead of the cursor at once.
const HEAD_PAGE: usize = 64;

/// The next message of a channel.
enum Next {
    /// The event at the cursor, never delivered here.
    Fresh(EventHead),
    /// A ready row.
    Ready(Seq, ReadyRow),
}

/// Who a message goes to.
#[derive(Debug, Clone, Copy)]
enum Target {
    Socket(SocketId),
    Waiter(u64),
    Push,
}

impl Broker {
    /// Delivers what every channel can deliver.
    pub(super) fn pump_all(&mut self, now: Millis, store: &mut dyn Store) -> StoreResult<()> {
        let ids: Vec<u32> = self.channels.keys().copied().collect();
        for ch in ids {
            self.pump(now, store, ch)?;
        }
        Ok(())
    }

    /// Delivers ready messages of a channel to its consumers with credit, round robin
    /// (waiting pulls first). Without a taker it still moves the cursor over what needs
    /// no consumer (filtered, expired, deferred, parked), so stats are right at once.
    pub(super) fn pump(&mut self, now: Millis, store: &mut dyn Store, ch: u32) -> StoreResult<()> {
        let mut budget = SCAN_BUDGET;
        loop {
            let Some(c) = self.channels.get(&ch) else { return Ok(()) };
            if c.row.paused {
                return Ok(());
            }
            if !self.has_taker(ch) {
                self.fresh(now, store, ch, &mut budget)?;
                return Ok(());
            }
            // The message first: the round robin only turns when something is delivered.
            let Some(next) = self.next(now, store, ch, &mut budget)? else { return Ok(()) };
            // A pull that only waits (`wait_only`) learns a message is ready; it takes none.
            if let Some(w) = self.waiters.iter().find(|(_, w)| w.channel == ch && w.max == 0).map(|(&w, _)| w)
            {
                self.waiters.remove(&w);
                self.out.push(super::Output::PullReady {
                    waiter: w,
                    body: r#"{"messages":[],"ready":true}"#.into(),
                });
                continue;
            }
            let Some(target) = self.target(ch) else { return Ok(()) };
            self.deliver(now, store, ch, next, target)?;
        }
    }

    /// Whether a waiting pull or a socket consumer could take a message now.
    fn has_taker(&self, ch: u32) -> bool {
        if self.waiters.values().any(|w| w.channel == ch && (w.max == 0 || w.taken.len() < w.max)) {
            return true;
        }
        if self.push_credit(ch) {
            return true;
        }
        self.channels.get(&ch).is_some_and(|c| {
            c.consumers.iter().any(|id| self.sockets.get(&id.0).is_some_and(|s| s.has_credit()))
        })
    }

    /// The next taker with room: a waiting pull, else a socket consumer with credit,
    /// round robin. A consumer that looks silent is not skipped here: the runtime may
    /// have answered its pings itself; the heartbeat timer, armed once it holds the
    /// message, asks the driver and closes it if it is really gone.
    fn target(&mut self, ch: u32) -> Option<Target> {
        if let Some((&w, _)) = self.waiters.iter().find(|(_, w)| w.channel == ch && w.taken.len() < w.max) {
            return Some(Target::Waiter(w));
        }
        if self.push_credit(ch) {
            return Some(Target::Push);
        }
        let sockets = &self.sockets;
        let c = self.channels.get_mut(&ch)?;
        c.pick(|id| sockets.get(&id.0).is_some_and(|s| s.has_credit())).map(|id| Target::Socket(id.0))
    }

    /// The lowest of the first ready row and the event at the cursor. Expired ready rows
    /// are dropped on the way.
    fn next(
        &mut self,
        now: Millis,
        store: &mut dyn Store,
        ch: u32,
        budget: &mut usize,
    ) -> StoreResult<Option<Next>> {
        loop {
            let ready = self.first_ready(store, ch)?;
            let fresh = self.fresh(now, store, ch, budget)?;
            let (seq, row) = match (ready, fresh) {
                (Some((s, r)), Some(f)) if s < f.seq => (s, r),
                (Some((s, r)), None) => (s, r),
                (_, Some(f)) => return Ok(Some(Next::Fresh(f))),
                (None, None) => return Ok(None),
            };
            if row.expires_at.is_some_and(|t| t <= now) {
                let Some(c) = self.channels.get_mut(&ch) else { return Ok(None) };
                c.remove_ready(seq);
                self.drop_expired(store, ch, seq, row.key.as_deref())?;
                continue;
            }
            return Ok(Some(Next::Ready(seq, row)));
        }
    }

    /// The lowest ready row, reading a page from storage when memory holds none.
    fn first_ready(&mut self, store: &mut dyn Store, ch: u32) -> StoreResult<Option<(Seq, ReadyRow)>> {
        let Some(c) = self.channels.get_mut(&ch) else { return Ok(None) };
        if c.ready.rows.is_empty() && c.ready_unloaded() {
            let page = store.ready_rows(ch, c.ready.complete_through, super::channel::READY_PAGE)?;
            c.ready.complete_through = match page.last() {
                Some(last) if page.len() == super::channel::READY_PAGE => last.seq,
                _ => Seq::MAX,
            };
            for m in &page {
                c.ready.rows.insert(m.seq, m.into());
            }
        }
        Ok(c.ready.rows.iter().next().map(|(&s, r)| (s, r.clone())))
    }

    /// The event at the cursor if it can be delivered now, moving the cursor over events
    /// that need no consumer: expired and filtered ones are skipped and counted, deferred
    /// ones get a deferred row, ones whose key waits get a parked row.
    pub(super) fn fresh(
        &mut self,
        now: Millis,
        store: &mut dyn Store,
        ch: u32,
        budget: &mut usize,
    ) -> StoreResult<Option<EventHead>> {
        loop {
            let Some(h) = self.head_at_cursor(store, ch)? else { return Ok(None) };
            if *budget == 0 {
                self.timers.insert((now, Timer::Resume(ch)));
                return Ok(None);
            }
            let Some(c) = self.channels.get_mut(&ch) else { return Ok(None) };
            let expired = h.expires_at.is_some_and(|t| t <= now);
            let judged = h.seq > c.row.judged_from && h.seq <= c.row.judged_through;
            // A judged event that did not match is already counted (`filtered_total`, and
            // `filtered_ahead` until now), expired or not.
            let skip = match &c.filter {
                Some(f) if judged || !expired => {
                    let body = store.event_body(h.seq)?;
                    let matches = body.as_ref().is_some_and(|(text, _)| {
                        EventAttributes::from_json(text).is_ok_and(|attrs| f.matches(&attrs))
                    });
                    if !matches && judged {
                        c.row.filtered_ahead = c.row.filtered_ahead.saturating_sub(1);
                    } else if !matches {
                        c.row.counters.filtered += 1;
                    } else if expired {
                        c.row.counters.expired += 1;
                    }
                    !matches || expired
                }
                _ if expired => {
                    c.row.counters.expired += 1;
                    true
                }
                _ => false,
            };
            if skip {
                *budget -= 1;
                self.step_cursor(now, ch, h.seq);
                continue;
            }
            let deferred = h.deliver_at.filter(|&t| t > now);
            let blocked = match (&h.key, deferred) {
                (Some(k), None) => self.key_blocked(store, ch, k, h.seq)?,
                _ => false,
            };
            if deferred.is_none() && !blocked {
                return Ok(Some(h));
            }
            *budget -= 1;
            let row = MessageHead {
                channel: ch,
                seq: h.seq,
                state: if deferred.is_some() { RowState::Deferred } else { RowState::Parked },
                owner: ConsumerId(0),
                due: deferred.map_or(0, |t| due_by_expiry(t, h.expires_at)),
                attempt: 0,
                failures: 0,
                max_attempts: 0,
                timeout_ms: 0,
                key: h.key.clone(),
                expires_at: h.expires_at,
                has_checkpoint: false,
            };
            store.put_message(&row, &CheckpointWrite::Keep)?;
            let Some(c) = self.channels.get_mut(&ch) else { return Ok(None) };
            if deferred.is_some() {
                c.counts.deferred += 1;
            } else {
                c.counts.parked += 1;
            }
            if h.key.is_some() {
                c.counts.keyed_waiting += 1;
            }
            self.step_cursor(now, ch, h.seq);
            self.dirty.insert(ch);
            if deferred.is_some() {
                self.note_due(ch, row.due);
            }
        }
    }

    /// Moves a channel's cursor past `seq`.
    fn step_cursor(&mut self, now: Millis, ch: u32, seq: Seq) {
        if let Some(c) = self.channels.get_mut(&ch) {
            c.row.cursor = c.row.cursor.max(seq + 1);
            if seq >= c.row.judged_through {
                // Every event judged at publish is behind the cursor now.
                c.row.judged_from = seq;
                c.row.judged_through = seq;
                c.row.filtered_ahead = 0;
            }
            while c.lookahead.front().is_some_and(|h| h.seq <= seq) {
                c.lookahead.pop_front();
            }
        }
        self.lazy_row(now, ch);
    }

    /// The head of the first stored event at or after the channel's cursor (moving the
    /// cursor over pruned seqs).
    fn head_at_cursor(&mut self, store: &mut dyn Store, ch: u32) -> StoreResult<Option<EventHead>> {
        let head = self.head;
        let Some(cursor) = self.channels.get(&ch).map(|c| c.row.cursor) else { return Ok(None) };
        if cursor > head {
            return Ok(None);
        }
        if let Some(h) = self.recent_head(cursor) {
            return Ok(Some(h.clone()));
        }
        let Some(c) = self.channels.get_mut(&ch) else { return Ok(None) };
        if c.lookahead.front().is_none_or(|h| h.seq != cursor) {
            c.lookahead = store.event_heads(cursor, HEAD_PAGE)?.into();
        }
        match c.lookahead.front() {
            Some(h) => {
                c.row.cursor = h.seq;
                Ok(Some(h.clone()))
            }
            None => {
                c.row.cursor = head + 1;
                Ok(None)
            }
        }
    }

    /// Puts a message in flight to `target`.
    fn deliver(
        &mut self,
        now: Millis,
        store: &mut dyn Store,
        ch: u32,
        next: Next,
        target: Target,
    ) -> StoreResult<()> {
        let (owner, timeout_ms, max_attempts, waiter) = match target {
            Target::Socket(s) => {
                let set = self.sockets.get(&s).map(|s| s.settings()).unwrap_or_default();
                (ConsumerId(s), set.handler_timeout_ms, set.max_attempts, None)
            }
            Target::Waiter(w) => match self.waiters.get(&w) {
                Some(w2) => (ConsumerId::PULL, w2.visibility_ms, w2.max_attempts, Some(w)),
                None => return Ok(()),
            },
            Target::Push => {
                let (timeout, max_attempts) = self.push_settings(ch);
                (ConsumerId::PUSH, timeout, max_attempts, None)
            }
        };
        let deadline = now.saturating_add(timeout_ms);
        let (seq, attempt, failures, key, expires_at, has_checkpoint, fresh) = match next {
            Next::Fresh(h) => {
                self.step_cursor(now, ch, h.seq);
                (h.seq, 1, 0, h.key.as_deref().map(Into::into), h.expires_at, false, true)
            }
            Next::Ready(seq, r) => {
                if let Some(c) = self.channels.get_mut(&ch) {
                    c.remove_ready(seq);
                    if r.key.is_some() {
                        c.counts.keyed_waiting = c.counts.keyed_waiting.saturating_sub(1);
                    }
                }
                (seq, r.attempt + 1, r.failures, r.key, r.expires_at, r.has_checkpoint, false)
            }
        };
        let f = InFlight {
            owner,
            deadline,
            attempt,
            failures,
            max_attempts,
            timeout_ms,
            key,
            expires_at,
            has_checkpoint,
            lease: None,
        };
        if !fresh {
            store.put_message(&self.in_flight_row(ch, seq, &f), &CheckpointWrite::Keep)?;
            self.dirty.insert(ch);
        }
        let Some(c) = self.channels.get_mut(&ch) else { return Ok(()) };
        c.take(seq, f);
        c.row.counters.delivered += 1;
        self.lazy_row(now, ch);
        self.timers.insert((deadline, Timer::Deadline(ch, seq)));
        match target {
            Target::Socket(s) => {
                if let Some(sock) = self.sockets.get_mut(&s) {
                    sock.in_flight.insert(seq);
                    sock.counts.delivered += 1;
                }
                self.refresh_heartbeat(s);
                self.arm_recheck(now, s);
            }
            Target::Waiter(w) => {
                if let Some(w) = self.waiters.get_mut(&w) {
                    w.taken.push(seq);
                }
            }
            Target::Push => {}
        }
        self.delivered.push(Delivered { channel: ch, owner, seq, fresh, waiter });
        Ok(())
    }
}
