//! The end of every broker call: first deliveries are listed in their channel row or go
//! under lease rows, changed leases and channel rows are written, and the call's
//! deliveries become frames (one `msgs` frame per batch consumer), pull answers and push
//! requests.

use super::broker::{Broker, Delivered, Lease, HELD, HELD_PER_CHANNEL};
use super::output::Output;
use super::store::{LeaseRow, Store, StoreResult};
use super::timers::Timer;
use super::{ConsumerId, Millis, Seq, SocketId};
use crate::proto::frame::{msg_fields, MsgHeader};
use crate::proto::id::message_id;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

/// A `msgs` frame is closed at this size and another one started.
const MSGS_FRAME_BYTES: usize = 512 << 10;

impl Broker {
    /// Ends a call: writes what it changed and queues its deliveries.
    pub(super) fn finish(&mut self, now: Millis, store: &mut dyn Store) -> StoreResult<()> {
        let delivered = std::mem::take(&mut self.delivered);
        self.lease_fresh(store, &delivered)?;
        for (ch, id) in std::mem::take(&mut self.dirty_leases) {
            let Some(l) = self.leases.get(&(ch, id)) else { continue };
            if l.seqs.is_empty() {
                self.leases.remove(&(ch, id));
                store.delete_lease(ch, id)?;
                self.dirty.insert(ch);
            } else {
                store.put_lease(&lease_row(ch, id, l))?;
            }
        }
        for ch in std::mem::take(&mut self.dirty) {
            self.lazy.remove(&ch);
            if let Some(c) = self.channels.get_mut(&ch) {
                c.row.held = c
                    .held
                    .iter()
                    .filter_map(|s| {
                        let f = c.in_flight.get(s)?;
                        Some((*s, f.owner.0, f.deadline, f.max_attempts, f.timeout_ms))
                    })
                    .collect();
                store.put_channel(&c.row)?;
                c.stored_cursor = c.row.cursor;
            }
        }
        if self.lazy.is_empty() {
            if let Some(t) = self.lazy_due.take() {
                self.timers.remove(&(t, Timer::Rows));
            }
        }
        self.frames(now, store, &delivered)
    }

    /// Keeps the call's first deliveries in their channel's row while it has room (the row
    /// is written now, with the delivery: a `fin` then writes it alone), else puts those
    /// to each owner under one new lease row.
    fn lease_fresh(&mut self, store: &mut dyn Store, delivered: &[Delivered]) -> StoreResult<()> {
        let mut groups: BTreeMap<(u32, ConsumerId), Vec<Seq>> = BTreeMap::new();
        for d in delivered.iter().filter(|d| d.fresh) {
            groups.entry((d.channel, d.owner)).or_default().push(d.seq);
        }
        for ((ch, owner), seqs) in groups {
            let Some(c) = self.channels.get_mut(&ch) else { continue };
            if c.held.len() + seqs.len() <= HELD_PER_CHANNEL {
                for seq in seqs {
                    let Some(f) = c.in_flight.get_mut(&seq) else { continue };
                    if f.owner == owner && f.lease.is_none() {
                        f.lease = Some(HELD);
                        c.held.insert(seq);
                    }
                }
                self.dirty.insert(ch);
                continue;
            }
            let id = self.next_lease;
            let mut lease: Option<Lease> = None;
            for seq in seqs {
                let Some(f) = c.in_flight.get_mut(&seq) else { continue };
                if f.owner != owner || f.lease.is_some() {
                    continue;
                }
                f.lease = Some(id);
                let l = lease.get_or_insert_with(|| Lease {
                    owner,
                    deadline: f.deadline,
                    max_attempts: f.max_attempts,
                    timeout_ms: f.timeout_ms,
                    seqs: Default::default(),
                });
                l.seqs.insert(seq);
            }
            if let Some(l) = lease {
                self.next_lease += 1;
                store.put_lease(&lease_row(ch, id, &l))?;
                self.leases.insert((ch, id), l);
            }
        }
        Ok(())
    }

    /// Turns deliveries into frames and pull answers.
    fn frames(&mut self, now: Millis, store: &mut dyn Store, delivered: &[Delivered]) -> StoreResult<()> {
        let mut pushes: Vec<(u32, Seq, u32, Rc<str>)> = Vec::new();
        // Events this call appended are delivered from memory (only those delivered are
        // copied for sharing).
        let mut fresh = std::mem::take(&mut self.fresh_bodies);
        let mut bodies: HashMap<Seq, Option<(Rc<str>, bool)>> = HashMap::new();
        for d in delivered {
            if let Some((text, reply)) = fresh.remove(&d.seq) {
                bodies.insert(d.seq, Some((Rc::from(text), reply)));
            }
        }
        // Many deliveries of nearby seqs read from storage (a batch consumer, a fan-out):
        // one range read (measured: batch consumer 6-10k -> 11-13k finished/s, fan-out to
        // 100 channels 26k -> 47k deliveries/s).
        let stored = delivered.iter().filter(|d| !bodies.contains_key(&d.seq));
        let (lo, hi, n) =
            stored.fold((Seq::MAX, 0, 0u64), |(lo, hi, n), d| (lo.min(d.seq), hi.max(d.seq), n + 1));
        if n >= 4 && hi >= lo && hi - lo < 4 * n {
            for seq in lo..=hi {
                bodies.insert(seq, None);
            }
            for (seq, body, reply) in store.event_bodies(lo, hi)? {
                bodies.insert(seq, Some((Rc::from(body), reply)));
            }
        }
        let mut per_socket: BTreeMap<SocketId, Vec<String>> = BTreeMap::new();
        let mut order: Vec<SocketId> = Vec::new();
        let mut per_waiter: BTreeMap<u64, Vec<String>> = BTreeMap::new();
        for d in delivered {
            let Some(c) = self.channels.get(&d.channel) else { continue };
            let Some(f) = c.in_flight.get(&d.seq).filter(|f| f.owner == d.owner) else { continue };
            let body = match bodies.get(&d.seq) {
                Some(b) => b.clone(),
                None => {
                    let b = store.event_body(d.seq)?.map(|(t, r)| (Rc::<str>::from(t), r));
                    bodies.insert(d.seq, b.clone());
                    b
                }
            };
            let Some((event, reply)) = body else { continue };
            if d.owner == ConsumerId::PUSH {
                pushes.push((d.channel, d.seq, f.attempt, event));
                continue;
            }
            let checkpoint = if d.fresh { None } else { store.checkpoint(d.channel, d.seq)? };
            let id = message_id(self.partition.index, d.seq);
            let header = MsgHeader {
                id: &id,
                seq: d.seq,
                partition: self.partition.index,
                attempt: f.attempt,
                failures: f.failures,
                deadline: f.deadline,
                reply,
                checkpoint: checkpoint.as_deref(),
            };
            let fields = msg_fields(&header, &event);
            match d.waiter {
                Some(w) => per_waiter.entry(w).or_default().push(fields),
                None if d.owner.is_socket() => {
                    let list = per_socket.entry(d.owner.0).or_default();
                    if list.is_empty() {
                        order.push(d.owner.0);
                    }
                    list.push(fields);
                }
                None => {}
            }
        }
        for s in order {
            let Some(list) = per_socket.remove(&s) else { continue };
            let batch = self.sockets.get(&s).is_some_and(|sock| sock.record.batch);
            if batch && list.len() > 1 {
                for text in msgs_frames(&list) {
                    self.send(s, text, false);
                }
            } else {
                for fields in list {
                    self.send(s, format!("{{\"op\":\"msg\",{fields}}}"), false);
                }
            }
        }
        for (ch, seq, attempt, event) in pushes {
            self.push_request(now, ch, seq, attempt, &event);
        }
        for (w, list) in per_waiter {
            self.waiters.remove(&w);
            let body = format!(
                "{{\"messages\":[{}]}}",
                list.iter().map(|f| format!("{{{f}}}")).collect::<Vec<_>>().join(",")
            );
            self.out.push(Output::PullReady { waiter: w, body });
        }
        Ok(())
    }
}

fn lease_row(ch: u32, id: u64, l: &Lease) -> LeaseRow {
    LeaseRow {
        channel: ch,
        id,
        owner: l.owner,
        deadline: l.deadline,
        max_attempts: l.max_attempts,
        timeout_ms: l.timeout_ms,
        seqs: l.seqs.iter().copied().collect(),
    }
}

/// `msgs` frames for a list of message fields, each at most about [`MSGS_FRAME_BYTES`].
fn msgs_frames(list: &[String]) -> Vec<String> {
    let mut frames = Vec::new();
    let mut cur = String::new();
    for f in list {
        if !cur.is_empty() && cur.len() + f.len() > MSGS_FRAME_BYTES {
            cur.push_str("]}");
            frames.push(std::mem::take(&mut cur));
        }
        if cur.is_empty() {
            cur.push_str("{\"op\":\"msgs\",\"messages\":[");
        } else {
            cur.push(',');
        }
        cur.push('{');
        cur.push_str(f);
        cur.push('}');
    }
    if !cur.is_empty() {
        cur.push_str("]}");
        frames.push(cur);
    }
    frames
}
