//! Property tests of the core: random interleavings of publish, attach, detach, rdy, fin,
//! req, touch, shelve, time jumps, hibernation and restarts (the topic rebuilt from nothing
//! but the rows it asked to persist). Invariants: never more than `rdy` in flight per
//! consumer; nothing finished is delivered again; nothing published is lost (at the end
//! every message is finished on every channel that existed when it was published).
#![cfg(not(target_arch = "wasm32"))] // native: wasm-pack builds every test target

use ismld::core::{
    ChannelRecord, ConsumerId, ConsumerSettings, Delivery, Effect, MessageRecord, NewMessage, Store, Topic,
};
use ismld::proto::frame::Settle;
use ismld::proto::{ChannelName, Limits};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone)]
enum Op {
    Publish(u8, Option<u16>, Option<u8>),
    Attach(u8, u8),
    Detach(u8),
    Rdy(u8, u8),
    Settle(u8, u8, u8, u16),
    Ping(u8),
    Advance(u16),
    Hibernate,
    Restart,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (1u8..4, proptest::option::weighted(0.2, 1u16..3000), proptest::option::of(0u8..3))
            .prop_map(|(n, d, k)| Op::Publish(n, d, k)),
        2 => (0u8..3, 0u8..4).prop_map(|(c, r)| Op::Attach(c, r)),
        1 => any::<u8>().prop_map(Op::Detach),
        1 => (any::<u8>(), 0u8..5).prop_map(|(i, r)| Op::Rdy(i, r)),
        6 => (any::<u8>(), any::<u8>(), 0u8..4, 0u16..2000).prop_map(|(i, m, v, d)| Op::Settle(i, m, v, d)),
        1 => any::<u8>().prop_map(Op::Ping),
        3 => (0u16..4000).prop_map(Op::Advance),
        1 => Just(Op::Hibernate),
        1 => Just(Op::Restart),
    ]
}

const CHANNELS: [&str; 3] = ["a", "b", "c#ephemeral"];

#[derive(Default)]
struct Rows {
    channels: BTreeMap<String, ChannelRecord>,
    messages: BTreeMap<(String, u64), MessageRecord>,
}

struct Live {
    id: ConsumerId,
    channel: String,
    rdy: u32,
    settings: ConsumerSettings,
    in_flight: BTreeSet<u64>,
}

struct World {
    topic: Topic,
    rows: Rows,
    now: u64,
    live: Vec<Live>,
    finished: BTreeSet<(String, u64)>,
    /// Head when each channel was (last) created.
    created: BTreeMap<String, u64>,
    /// Ordering keys published, by seq.
    keys: Vec<(u64, String)>,
}

impl World {
    /// Applies rows first, then learns which deliveries ended, then counts new ones.
    fn drain(&mut self) {
        let mut deliveries = Vec::new();
        for e in self.topic.drain_effects() {
            match e {
                Effect::Deliver(d) => deliveries.push(d),
                Effect::Store(Store::Channel(r)) => {
                    self.rows.channels.insert(r.name.clone(), r);
                }
                Effect::Store(Store::Message { channel, record }) => {
                    self.rows.messages.insert((channel, record.seq), record);
                }
                Effect::Store(Store::DropMessage { channel, seq }) => {
                    self.rows.messages.remove(&(channel, seq));
                }
                Effect::Store(Store::DropMessagesThrough { channel, through }) => {
                    self.rows.messages.retain(|(c, s), _| *c != channel || *s > through)
                }
                Effect::Store(Store::DropChannel(name)) => {
                    self.rows.channels.remove(&name);
                    self.rows.messages.retain(|(c, _), _| *c != name);
                    self.created.remove(&name);
                    self.finished.retain(|(c, _)| *c != name);
                }
                Effect::Store(Store::ClearMessages(name)) => {
                    self.rows.messages.retain(|(c, _), _| *c != name)
                }
                Effect::Close { consumer, .. } => self.live.retain(|l| l.id != consumer),
            }
        }
        self.sync_model();
        for d in deliveries {
            self.delivered(d);
        }
    }

    fn delivered(&mut self, d: Delivery) {
        let Some(l) = self.live.iter_mut().find(|l| l.id == d.consumer) else {
            panic!("delivery to unknown consumer {:?}", d.consumer)
        };
        assert!(
            !self.finished.contains(&(l.channel.clone(), d.seq)),
            "finished message {} delivered again",
            d.seq
        );
        assert!(d.attempt >= 1);
        l.in_flight.insert(d.seq);
        assert!(l.in_flight.len() as u32 <= l.rdy, "more than rdy in flight");
        assert_eq!(d.deadline, self.now + l.settings.handler_timeout_ms);
        // Per-key order: every earlier message with the same key (published while the
        // channel existed) is finished on this channel.
        let channel = l.channel.clone();
        if let Some((_, key)) = self.keys.iter().find(|(s, _)| *s == d.seq) {
            let from = self.created.get(&channel).copied().unwrap_or(0);
            for (s, k) in &self.keys {
                if k == key && *s > from && *s < d.seq {
                    assert!(
                        self.finished.contains(&(channel.clone(), *s)),
                        "seq {} with key {key} delivered before seq {s} was finished",
                        d.seq
                    );
                }
            }
        }
    }

    fn reload(&mut self, keep_consumers: bool) {
        let mut t = Topic::new(Limits::default());
        let messages = self.rows.messages.iter().map(|((c, _), m)| (c.clone(), m.clone())).collect();
        t.restore(
            self.topic.head(),
            self.rows.channels.values().cloned().collect(),
            messages,
            self.keys.clone(),
        );
        if keep_consumers {
            for l in &self.live {
                assert!(t.restore_consumer(self.now, l.id, &l.channel, l.settings, l.rdy));
            }
        } else {
            self.live.clear();
        }
        t.finish_restore(self.now);
        self.topic = t;
        self.drain();
    }

    fn apply(&mut self, op: Op) {
        let n = self.live.len();
        match op {
            Op::Publish(n, delay, key) => {
                let deliver_at = delay.map(|d| self.now + u64::from(d));
                let key = key.map(|k| format!("k{k}"));
                let first = self.topic.head() + 1;
                for i in 0..u64::from(n) {
                    if let Some(k) = &key {
                        self.keys.push((first + i, k.clone()));
                    }
                }
                let items = vec![NewMessage { deliver_at, key }; n as usize];
                self.topic.publish(self.now, &items).unwrap();
            }
            Op::Attach(c, rdy) => {
                let name = CHANNELS[c as usize];
                if !self.topic.has_channel(name) {
                    self.created.insert(name.to_owned(), self.topic.head());
                }
                let settings =
                    ConsumerSettings { handler_timeout_ms: 1000, max_attempts: 0, heartbeat_ms: 5000 };
                let id =
                    self.topic.attach(self.now, &ChannelName::parse(name).unwrap(), settings, u32::from(rdy));
                self.live.push(Live {
                    id,
                    channel: name.into(),
                    rdy: u32::from(rdy),
                    settings,
                    in_flight: BTreeSet::new(),
                });
            }
            Op::Detach(i) if n > 0 => {
                let l = self.live.remove(i as usize % n);
                self.topic.detach(self.now, l.id);
            }
            Op::Rdy(i, r) if n > 0 => {
                let l = &mut self.live[i as usize % n];
                l.rdy = u32::from(r);
                self.topic.rdy(self.now, l.id, u32::from(r)).unwrap();
            }
            Op::Ping(i) if n > 0 => {
                let id = self.live[i as usize % n].id;
                self.topic.seen(self.now, id);
            }
            Op::Settle(i, m, verb, delay) if n > 0 => {
                let l = &self.live[i as usize % n];
                let (id, channel) = (l.id, l.channel.clone());
                let Some(&seq) = l.in_flight.iter().nth(m as usize % l.in_flight.len().max(1)) else {
                    return;
                };
                let verb = [Settle::Fin, Settle::Req, Settle::Touch, Settle::Shelve][verb as usize];
                let cp = Some(Some(format!("{{\"at\":{}}}", self.now)));
                // The model may be stale (a deadline passed): then the core must refuse.
                let result = self.topic.settle(self.now, id, verb, seq, cp, u64::from(delay));
                if result.is_ok() {
                    if verb == Settle::Fin {
                        self.finished.insert((channel, seq));
                    }
                    if verb != Settle::Touch {
                        self.live[i as usize % n].in_flight.remove(&seq);
                    }
                }
            }
            Op::Advance(ms) => {
                self.now += u64::from(ms);
                // Our model learns of expired deadlines the way a client would: by the
                // core refusing a late settle. Forget in-flight messages the core requeued.
                self.topic.handle_timeout(self.now);
            }
            Op::Hibernate => self.reload(true),
            Op::Restart => self.reload(false),
            _ => {}
        }
        self.drain();
    }

    /// Drops model in-flight entries the core no longer has in flight to that consumer.
    fn sync_model(&mut self) {
        for l in &mut self.live {
            let channel = l.channel.clone();
            l.in_flight.retain(|seq| {
                self.rows.messages.get(&(channel.clone(), *seq)).is_some_and(|m| {
                    matches!(m.state, ismld::core::MessageState::InFlight { consumer, .. } if consumer == l.id)
                })
            });
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn no_loss_no_redelivery_after_fin_credit_respected(ops in proptest::collection::vec(op(), 1..120)) {
        let mut w = World {
            topic: Topic::new(Limits::default()),
            rows: Rows::default(),
            now: 1_000_000,
            live: Vec::new(),
            finished: BTreeSet::new(),
            created: BTreeMap::new(),
            keys: Vec::new(),
        };
        for op in ops {
            w.apply(op);
            for s in w.topic.stats() {
                prop_assert_eq!(s.depth, s.ready + s.in_flight + s.deferred);
            }
        }
        // Drain: one greedy consumer per durable channel, time far ahead, fin everything.
        let head = w.topic.head();
        for name in ["a", "b"] {
            if !w.topic.has_channel(name) {
                continue;
            }
            let settings = ConsumerSettings { handler_timeout_ms: 3_600_000, max_attempts: 0, heartbeat_ms: 120_000 };
            w.now += 10_000;
            w.topic.handle_timeout(w.now);
            let id = w.topic.attach(w.now, &ChannelName::parse(name).unwrap(), settings, 2500);
            w.live.push(Live { id, channel: name.into(), rdy: 2500, settings, in_flight: BTreeSet::new() });
            w.drain();
            loop {
                let l = w.live.iter().find(|l| l.id == id).unwrap();
                let Some(&seq) = l.in_flight.iter().next() else { break };
                w.topic.settle(w.now, id, Settle::Fin, seq, None, 0).unwrap();
                w.finished.insert((name.to_owned(), seq));
                w.live.iter_mut().find(|l| l.id == id).unwrap().in_flight.remove(&seq);
                w.drain();
            }
            let from = w.created[name] + 1;
            for seq in from..=head {
                prop_assert!(w.finished.contains(&(name.to_owned(), seq)), "channel {} lost seq {}", name, seq);
            }
            let s = w.topic.stats().into_iter().find(|s| s.channel == name).unwrap();
            prop_assert_eq!(s.depth, 0);
        }
    }
}
