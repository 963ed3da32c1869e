//! Property tests of the broker: random interleavings of publishes (plain, keyed,
//! deferred), consumers coming and going, credit changes, settles (fin, req, touch,
//! shelve, batched fins), time passing, hibernation and runtime restarts. Invariants:
//! never more than `rdy` in flight to a consumer; a finished message is never delivered
//! again on its channel; a keyed message is delivered only when every earlier message
//! of its key is finished on that channel; and in the end nothing is lost: every event
//! published after a channel was made is finished on it.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use proptest::prelude::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use support::Harness;

#[derive(Debug, Clone)]
enum Op {
    Publish { n: u8, key: Option<u8>, delay: bool },
    Attach { channel: u8, rdy: u8 },
    Detach(u8),
    Rdy(u8, u8),
    Settle { consumer: u8, pick: u8, verb: u8 },
    FinAll(u8),
    Advance(u16),
    Hibernate,
    Restart,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (1u8..4, proptest::option::weighted(0.4, 0u8..3), proptest::bool::weighted(0.15))
            .prop_map(|(n, key, delay)| Op::Publish { n, key, delay }),
        2 => (0u8..2, 1u8..5).prop_map(|(channel, rdy)| Op::Attach { channel, rdy }),
        1 => any::<u8>().prop_map(Op::Detach),
        1 => (any::<u8>(), 0u8..5).prop_map(|(c, r)| Op::Rdy(c, r)),
        6 => (any::<u8>(), any::<u8>(), 0u8..4).prop_map(|(consumer, pick, verb)| Op::Settle { consumer, pick, verb }),
        1 => any::<u8>().prop_map(Op::FinAll),
        3 => (0u16..3000).prop_map(Op::Advance),
        1 => Just(Op::Hibernate),
        1 => Just(Op::Restart),
    ]
}

const CHANNELS: [&str; 2] = ["a", "b"];

struct Consumer {
    socket: u64,
    channel: &'static str,
    rdy: u64,
    /// Held messages: seq -> (id, deadline).
    held: BTreeMap<u64, (String, u64)>,
}

struct World {
    h: Harness,
    consumers: Vec<Consumer>,
    /// (channel, seq) finished.
    finished: BTreeSet<(&'static str, u64)>,
    /// Seqs published after each channel existed, with their keys.
    owed: BTreeMap<&'static str, BTreeMap<u64, Option<u8>>>,
}

impl World {
    fn new() -> Self {
        let mut h = Harness::new();
        for c in CHANNELS {
            h.http("PUT", &format!("/v1/topics/t/channels/{c}"), json!({}));
        }
        World { h, consumers: Vec::new(), finished: BTreeSet::new(), owed: BTreeMap::new() }
    }

    /// Takes every socket's new deliveries and checks them.
    fn collect(&mut self) {
        let closed: Vec<u64> = self.h.closed.keys().copied().collect();
        self.consumers.retain(|c| !closed.contains(&c.socket));
        for i in 0..self.consumers.len() {
            let socket = self.consumers[i].socket;
            let channel = self.consumers[i].channel;
            let new = self.h.msgs(socket);
            let delivered = !new.is_empty();
            for m in new {
                let seq = m["seq"].as_u64().unwrap();
                assert!(
                    !self.finished.contains(&(channel, seq)),
                    "finished message {seq} delivered again on {channel}"
                );
                if let Some(Some(k)) = self.owed.get(channel).and_then(|o| o.get(&seq)) {
                    let earlier = self.owed[channel].range(..seq).filter(|(_, key)| **key == Some(*k));
                    for (&e, _) in earlier {
                        assert!(
                            self.finished.contains(&(channel, e)),
                            "{seq} (key {k}) delivered before {e} finished on {channel}"
                        );
                    }
                }
                let deadline = m["deadline"].as_u64().unwrap();
                self.consumers[i].held.insert(seq, (m["id"].as_str().unwrap().to_owned(), deadline));
            }
            // Lowering rdy does not take back what is in flight: the rule holds whenever
            // something is delivered.
            let c = &self.consumers[i];
            let in_flight = self.h.broker.in_flight_to(c.socket) as u64;
            assert!(!delivered || in_flight <= c.rdy, "{in_flight} in flight with rdy {}", c.rdy);
        }
    }

    fn apply(&mut self, op: Op) {
        match op {
            Op::Publish { n, key, delay } => {
                for _ in 0..n {
                    let mut q: Vec<(&str, String)> = Vec::new();
                    if let Some(k) = key {
                        q.push(("ordering_key", format!("k{k}")));
                    }
                    if delay {
                        q.push(("delay_ms", "500".into()));
                    }
                    let q: Vec<(&str, &str)> = q.iter().map(|(a, b)| (*a, b.as_str())).collect();
                    let p = self.h.publish_with(json!(1), &q);
                    let seq = p["seq"].as_u64().unwrap();
                    for c in CHANNELS {
                        self.owed.entry(c).or_default().insert(seq, key);
                    }
                }
            }
            Op::Attach { channel, rdy } => {
                let channel = CHANNELS[channel as usize % 2];
                let socket = self.h.consumer(
                    channel,
                    json!({ "max_in_flight": rdy, "handler_timeout_ms": 2_000, "heartbeat_ms": 120_000 }),
                );
                self.consumers.push(Consumer { socket, channel, rdy: u64::from(rdy), held: BTreeMap::new() });
            }
            Op::Detach(i) if !self.consumers.is_empty() => {
                let c = self.consumers.remove(i as usize % self.consumers.len());
                self.h.disconnect(c.socket);
            }
            Op::Rdy(i, r) if !self.consumers.is_empty() => {
                let idx = i as usize % self.consumers.len();
                let socket = self.consumers[idx].socket;
                assert_eq!(self.h.ask(socket, json!({ "op": "rdy", "count": r }))["op"], "ok");
                self.consumers[idx].rdy = u64::from(r);
            }
            Op::Settle { consumer, pick, verb } if !self.consumers.is_empty() => {
                let idx = consumer as usize % self.consumers.len();
                let c = &self.consumers[idx];
                let Some((&seq, (id, _))) = c.held.iter().nth(pick as usize % c.held.len().max(1)) else {
                    return;
                };
                let (socket, channel, id) = (c.socket, c.channel, id.clone());
                let frame = match verb {
                    0 => json!({ "op": "fin", "id": id }),
                    1 => json!({ "op": "req", "id": id }),
                    2 => json!({ "op": "touch", "id": id, "state": { "s": seq } }),
                    _ => json!({ "op": "shelve", "id": id, "delay_ms": 200 }),
                };
                let answer = self.h.ask(socket, frame);
                let ok = answer["op"] == "ok";
                if verb == 0 && ok {
                    self.finished.insert((channel, seq));
                }
                if verb == 2 && ok {
                    let deadline = answer["deadline"].as_u64().unwrap();
                    self.consumers[idx].held.insert(seq, (id, deadline));
                } else {
                    self.consumers[idx].held.remove(&seq);
                }
            }
            Op::FinAll(i) if !self.consumers.is_empty() => {
                let idx = i as usize % self.consumers.len();
                let c = &self.consumers[idx];
                if c.held.is_empty() {
                    return;
                }
                let ids: Vec<Value> = c.held.values().map(|(s, _)| json!(s)).collect();
                let (socket, channel) = (c.socket, c.channel);
                let answer = self.h.ask(socket, json!({ "op": "fin", "ids": ids }));
                let missing: BTreeSet<String> = answer["missing"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|m| m.as_str().map(str::to_owned))
                    .collect();
                let held = std::mem::take(&mut self.consumers[idx].held);
                for (seq, (id, _)) in held {
                    if !missing.contains(&id) {
                        self.finished.insert((channel, seq));
                    }
                }
            }
            Op::Advance(ms) => {
                self.h.advance(u64::from(ms));
                // What passed its deadline went back to the channel.
                let now = self.h.now;
                for c in &mut self.consumers {
                    c.held.retain(|_, (_, deadline)| *deadline > now);
                }
            }
            Op::Hibernate => self.h.hibernate(),
            Op::Restart => {
                self.h.restart();
                self.consumers.clear();
            }
            _ => {}
        }
        self.collect();
    }

    /// Drains everything: every channel gets a consumer with credit; everything it gets
    /// is finished until nothing is left.
    fn drain(&mut self) {
        for c in std::mem::take(&mut self.consumers) {
            self.h.disconnect(c.socket);
        }
        let mut drainers = Vec::new();
        for ch in CHANNELS {
            let socket = self.h.consumer(ch, json!({ "max_in_flight": 100, "heartbeat_ms": 120_000 }));
            drainers.push((socket, ch));
        }
        for _ in 0..200 {
            self.h.advance(1_000);
            let mut any = false;
            for &(socket, ch) in &drainers {
                for m in self.h.msgs(socket) {
                    let seq = m["seq"].as_u64().unwrap();
                    assert!(
                        !self.finished.contains(&(ch, seq)),
                        "finished {seq} delivered again on {ch} while draining"
                    );
                    let answer = self.h.ask(socket, json!({ "op": "fin", "id": m["id"] }));
                    if answer["op"] == "ok" {
                        self.finished.insert((ch, seq));
                    }
                    any = true;
                }
            }
            let pending = CHANNELS.iter().any(|&ch| self.h.stats(ch)["depth"].as_u64() != Some(0));
            if !any && !pending {
                break;
            }
        }
        for ch in CHANNELS {
            let owed: BTreeSet<u64> =
                self.owed.get(ch).map(|o| o.keys().copied().collect()).unwrap_or_default();
            let done: BTreeSet<u64> =
                self.finished.iter().filter(|(c, _)| *c == ch).map(|(_, s)| *s).collect();
            assert_eq!(owed, done, "every message finished exactly on {ch}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn no_loss_no_redelivery_after_fin_credit_and_key_order_hold(ops in proptest::collection::vec(op(), 1..80)) {
        let mut w = World::new();
        for op in ops {
            w.apply(op);
        }
        w.drain();
    }
}
