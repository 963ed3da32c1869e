//! The pure core on a virtual clock: NSQ semantics, credit, settling, deadlines. No sleeps:
//! time is a number the test moves.
#![cfg(not(target_arch = "wasm32"))] // native: wasm-pack builds every test target

use ismld::core::{
    ChannelRecord, ConsumerId, ConsumerSettings, Delivery, Effect, MessageRecord, MessageState, NewMessage,
    Store, Topic, CLOSE_HEARTBEAT,
};
use ismld::proto::frame::Settle;
use ismld::proto::{ChannelName, ErrorCode, Limits};

fn plain(n: usize) -> Vec<NewMessage> {
    vec![NewMessage::default(); n]
}

fn ch(name: &str) -> ChannelName {
    ChannelName::parse(name).unwrap()
}

fn settings(timeout: u64) -> ConsumerSettings {
    ConsumerSettings { handler_timeout_ms: timeout, max_attempts: 0, heartbeat_ms: 30_000 }
}

fn deliveries(t: &mut Topic) -> Vec<Delivery> {
    t.drain_effects()
        .into_iter()
        .filter_map(|e| match e {
            Effect::Deliver(d) => Some(d),
            _ => None,
        })
        .collect()
}

fn seqs(ds: &[Delivery]) -> Vec<u64> {
    ds.iter().map(|d| d.seq).collect()
}

#[test]
fn every_channel_gets_every_event_published_after_it_exists() {
    let mut t = Topic::new(Limits::default());
    t.publish(0, &plain(1)).unwrap(); // before any channel: not delivered to later channels
    let a = t.attach(0, &ch("a"), settings(1000), 10);
    let b = t.attach(0, &ch("b"), settings(1000), 10);
    assert!(deliveries(&mut t).is_empty());
    t.publish(1, &plain(2)).unwrap();
    let ds = deliveries(&mut t);
    let to = |c: ConsumerId| ds.iter().filter(|d| d.consumer == c).map(|d| d.seq).collect::<Vec<_>>();
    assert_eq!(to(a), vec![2, 3]);
    assert_eq!(to(b), vec![2, 3]);
}

#[test]
fn consumers_on_one_channel_share_messages() {
    let mut t = Topic::new(Limits::default());
    let c1 = t.attach(0, &ch("c"), settings(1000), 100);
    let c2 = t.attach(0, &ch("c"), settings(1000), 100);
    t.publish(0, &plain(10)).unwrap();
    let ds = deliveries(&mut t);
    assert_eq!(ds.len(), 10, "each message goes to exactly one consumer");
    let n1 = ds.iter().filter(|d| d.consumer == c1).count();
    let n2 = ds.iter().filter(|d| d.consumer == c2).count();
    assert_eq!((n1, n2), (5, 5), "round robin");
    let mut all = seqs(&ds);
    all.sort();
    assert_eq!(all, (1..=10).collect::<Vec<_>>());
    // One publish at a time alternates too.
    for _ in 0..4 {
        t.publish(1, &plain(1)).unwrap();
    }
    let who: Vec<ConsumerId> = deliveries(&mut t).iter().map(|d| d.consumer).collect();
    assert_eq!(who.iter().filter(|c| **c == c1).count(), 2, "{who:?}");
    assert_eq!(who.iter().filter(|c| **c == c2).count(), 2, "{who:?}");
}

#[test]
fn credit_limits_in_flight_and_fin_frees_it() {
    let mut t = Topic::new(Limits::default());
    let c = t.attach(0, &ch("c"), settings(1000), 2);
    t.publish(0, &plain(5)).unwrap();
    assert_eq!(seqs(&deliveries(&mut t)), vec![1, 2]);
    t.settle(1, c, Settle::Fin, 1, None, 0).unwrap();
    assert_eq!(seqs(&deliveries(&mut t)), vec![3]);
    t.rdy(2, c, 0).unwrap();
    t.settle(2, c, Settle::Fin, 2, None, 0).unwrap();
    t.settle(2, c, Settle::Fin, 3, None, 0).unwrap();
    assert!(deliveries(&mut t).is_empty(), "rdy 0 pauses the consumer");
    t.rdy(3, c, 5).unwrap();
    assert_eq!(seqs(&deliveries(&mut t)), vec![4, 5]);
    let s = &t.stats()[0];
    assert_eq!((s.depth, s.in_flight, s.finished_total, s.delivered_total), (2, 2, 3, 5));
}

#[test]
fn fin_of_a_message_not_in_flight_to_the_consumer_is_refused_and_changes_nothing() {
    let mut t = Topic::new(Limits::default());
    let c1 = t.attach(0, &ch("c"), settings(1000), 1);
    let c2 = t.attach(0, &ch("c"), settings(1000), 1);
    t.publish(0, &plain(2)).unwrap();
    let ds = deliveries(&mut t);
    let of_c1 = ds.iter().find(|d| d.consumer == c1).unwrap().seq;
    let e = t.settle(1, c2, Settle::Fin, of_c1, None, 0).unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound);
    assert!(t.drain_effects().is_empty());
    assert_eq!(t.stats()[0].in_flight, 2);
    assert_eq!(t.settle(1, c1, Settle::Fin, 99, None, 0).unwrap_err().code(), ErrorCode::NotFound);
}

#[test]
fn req_requeues_at_once_with_a_failure_counted() {
    let mut t = Topic::new(Limits::default());
    let c = t.attach(0, &ch("c"), settings(1000), 1);
    t.publish(0, &plain(1)).unwrap();
    assert_eq!(deliveries(&mut t)[0].attempt, 1);
    t.settle(5, c, Settle::Req, 1, None, 0).unwrap();
    let d = deliveries(&mut t);
    assert_eq!((d[0].seq, d[0].attempt, d[0].failures), (1, 2, 1));
    assert_eq!(t.stats()[0].requeued_total, 1);
}

#[test]
fn a_message_not_finished_in_time_is_redelivered_with_attempt_incremented() {
    let mut t = Topic::new(Limits::default());
    let c1 = t.attach(0, &ch("c"), settings(1000), 1);
    t.publish(0, &plain(1)).unwrap();
    let d = deliveries(&mut t);
    assert_eq!(d[0].deadline, 1000);
    assert_eq!(t.poll_timeout(), Some(1000));
    t.handle_timeout(999);
    assert!(deliveries(&mut t).is_empty(), "not before the deadline");
    let c2 = t.attach(999, &ch("c"), settings(1000), 1);
    t.handle_timeout(1000);
    let d = deliveries(&mut t);
    assert_eq!(d.len(), 1);
    assert_eq!((d[0].seq, d[0].attempt, d[0].failures), (1, 2, 1));
    assert!(d[0].consumer == c1 || d[0].consumer == c2);
    assert_eq!(t.stats()[0].timed_out_total, 1);
    // The late fin of the first delivery is refused if it went to the other consumer.
    if d[0].consumer == c2 {
        assert!(t.settle(1001, c1, Settle::Fin, 1, None, 0).is_err());
    }
}

#[test]
fn touch_extends_the_deadline_and_saves_the_checkpoint() {
    let mut t = Topic::new(Limits::default());
    let c = t.attach(0, &ch("c"), settings(1000), 1);
    t.publish(0, &plain(1)).unwrap();
    deliveries(&mut t);
    let deadline = t.settle(900, c, Settle::Touch, 1, Some(Some(r#"{"step":2}"#.into())), 0).unwrap();
    assert_eq!(deadline, Some(1900));
    assert_eq!(t.poll_timeout(), Some(1900));
    t.handle_timeout(1000);
    assert!(deliveries(&mut t).is_empty(), "the old deadline no longer applies");
    t.handle_timeout(1900);
    let d = deliveries(&mut t);
    assert_eq!(d[0].checkpoint.as_deref(), Some(r#"{"step":2}"#), "redelivery carries the checkpoint");
}

#[test]
fn a_settle_after_the_deadline_is_refused_even_before_the_timer_runs() {
    let mut t = Topic::new(Limits::default());
    let c = t.attach(0, &ch("c"), settings(1000), 1);
    t.publish(0, &plain(1)).unwrap();
    deliveries(&mut t);
    // No handle_timeout call: the runtime's alarm is late, the fin arrives at the deadline.
    let e = t.settle(1000, c, Settle::Fin, 1, None, 0).unwrap_err();
    assert_eq!(ismld::proto::ApiError::from(e).code, ErrorCode::NotFound);
    let d = deliveries(&mut t);
    assert_eq!((d[0].seq, d[0].attempt, d[0].failures), (1, 2, 1), "the timeout counted, then redelivery");
    assert_eq!(d[0].deadline, 2000);
    assert_eq!(t.settle(1500, c, Settle::Fin, 1, None, 0), Ok(None), "the redelivery can be finished");
}

#[test]
fn closing_requeues_without_failure_before_the_deadline() {
    let mut t = Topic::new(Limits::default());
    let c1 = t.attach(0, &ch("c"), settings(1000), 1);
    t.publish(0, &plain(1)).unwrap();
    deliveries(&mut t);
    t.detach(10, c1);
    let c2 = t.attach(10, &ch("c"), settings(1000), 1);
    let d = deliveries(&mut t);
    assert_eq!((d[0].consumer, d[0].attempt, d[0].failures), (c2, 2, 0));
}

#[test]
fn a_silent_consumer_holding_messages_is_closed_and_its_messages_requeued() {
    let mut t = Topic::new(Limits::default());
    let c = t.attach(
        0,
        &ch("c"),
        ConsumerSettings { handler_timeout_ms: 600_000, max_attempts: 0, heartbeat_ms: 5_000 },
        1,
    );
    t.publish(0, &plain(1)).unwrap();
    deliveries(&mut t);
    assert_eq!(t.poll_timeout(), Some(10_000));
    t.seen(4_000, c);
    assert_eq!(t.poll_timeout(), Some(14_000));
    t.handle_timeout(14_000);
    let effects = t.drain_effects();
    assert!(effects.iter().any(
        |e| matches!(e, Effect::Close { consumer, code, .. } if *consumer == c && *code == CLOSE_HEARTBEAT)
    ));
    assert!(!t.has_consumer(c));
    assert_eq!(t.stats()[0].ready, 1);
}

#[test]
fn an_idle_consumer_sets_no_timer() {
    let mut t = Topic::new(Limits::default());
    t.attach(0, &ch("c"), settings(1000), 1);
    assert_eq!(t.poll_timeout(), None, "nothing in flight: nothing to wake for");
}

#[test]
fn fin_in_order_advances_the_floor_and_drops_rows() {
    let mut t = Topic::new(Limits::default());
    let c = t.attach(0, &ch("c"), settings(1000), 3);
    t.publish(0, &plain(3)).unwrap();
    deliveries(&mut t);
    t.settle(1, c, Settle::Fin, 2, None, 0).unwrap();
    let fx = t.drain_effects();
    assert!(fx.iter().any(|e| matches!(e, Effect::Store(Store::Message { record, .. }) if record.seq == 2 && record.state == MessageState::Finished)));
    t.settle(1, c, Settle::Fin, 1, None, 0).unwrap();
    let fx = t.drain_effects();
    assert!(fx.iter().any(|e| matches!(e, Effect::Store(Store::DropMessagesThrough { through: 2, .. }))));
    let s = &t.stats()[0];
    assert_eq!((s.depth, s.in_flight, s.finished_total), (1, 1, 2));
}

/// The rows a driver would hold after applying every `Store` effect.
#[derive(Default)]
struct Rows {
    channels: std::collections::BTreeMap<String, ChannelRecord>,
    messages: std::collections::BTreeMap<(String, u64), MessageRecord>,
}

impl Rows {
    /// Applies the topic's effects and returns its deliveries.
    fn drain(&mut self, t: &mut Topic) -> Vec<Delivery> {
        let mut out = Vec::new();
        for e in t.drain_effects() {
            match e {
                Effect::Deliver(d) => out.push(d),
                Effect::Store(Store::Channel(r)) => {
                    self.channels.insert(r.name.clone(), r);
                }
                Effect::Store(Store::Message { channel, record }) => {
                    self.messages.insert((channel, record.seq), record);
                }
                Effect::Store(Store::DropMessage { channel, seq }) => {
                    self.messages.remove(&(channel, seq));
                }
                Effect::Store(Store::DropMessagesThrough { channel, through }) => {
                    self.messages.retain(|(c, s), _| *c != channel || *s > through)
                }
                Effect::Store(Store::DropChannel(name)) => {
                    self.channels.remove(&name);
                    self.messages.retain(|(c, _), _| *c != name);
                }
                Effect::Store(Store::ClearMessages(name)) => self.messages.retain(|(c, _), _| *c != name),
                Effect::Close { .. } => {}
            }
        }
        out
    }

    fn restore(&self, head: u64) -> Topic {
        let mut r = Topic::new(Limits::default());
        let messages = self.messages.iter().map(|((c, _), m)| (c.clone(), m.clone())).collect();
        r.restore(head, self.channels.values().cloned().collect(), messages, Vec::new());
        r
    }
}

#[test]
fn state_restored_from_rows_hands_orphans_back() {
    let mut rows = Rows::default();
    let mut t = Topic::new(Limits::default());
    let c = t.attach(0, &ch("c"), settings(1000), 2);
    t.publish(0, &plain(4)).unwrap();
    assert_eq!(seqs(&rows.drain(&mut t)), vec![1, 2]);
    t.settle(1, c, Settle::Fin, 2, None, 0).unwrap();
    assert_eq!(seqs(&rows.drain(&mut t)), vec![3]);
    // Rows now: 1 and 3 in flight, 2 finished, 4 never delivered. The runtime restarts:
    // the consumer is gone.
    let mut r = rows.restore(4);
    r.finish_restore(5);
    rows.drain(&mut r);
    let c2 = r.attach(5, &ch("c"), settings(1000), 10);
    let d = rows.drain(&mut r);
    let mut got: Vec<(u64, u32)> = d.iter().map(|d| (d.seq, d.attempt)).collect();
    got.sort();
    assert_eq!(got, vec![(1, 2), (3, 2), (4, 1)], "finished 2 is never redelivered");
    assert!(d.iter().all(|d| d.consumer == c2 && d.failures == 0));
}

#[test]
fn a_hibernated_consumer_keeps_its_messages_and_deadlines() {
    let mut rows = Rows::default();
    let mut t = Topic::new(Limits::default());
    let c = t.attach(0, &ch("c"), settings(1000), 1);
    t.publish(0, &plain(2)).unwrap();
    rows.drain(&mut t);
    // The object is evicted; the socket survives and is restored from its attachment.
    let mut r = rows.restore(2);
    assert!(r.restore_consumer(500, c, "c", settings(1000), 1));
    r.finish_restore(500);
    assert!(rows.drain(&mut r).is_empty(), "still in flight: no redelivery, credit used");
    assert_eq!(r.poll_timeout(), Some(1000));
    r.settle(600, c, Settle::Fin, 1, None, 0).unwrap();
    assert_eq!(seqs(&rows.drain(&mut r)), vec![2]);
    assert!(!r.restore_consumer(600, ConsumerId(99), "gone", settings(1000), 1));
}

#[test]
fn a_delivery_writes_its_message_row_at_once_and_the_channel_row_within_a_second() {
    let mut rows = Rows::default();
    let mut t = Topic::new(Limits::default());
    let c = t.attach(0, &ch("c"), settings(10_000), 10);
    rows.drain(&mut t);
    let created = rows.channels["c"].clone();
    t.publish(100, &plain(3)).unwrap();
    let effects = t.drain_effects();
    let stored: Vec<&Store> =
        effects.iter().filter_map(|e| if let Effect::Store(s) = e { Some(s) } else { None }).collect();
    assert_eq!(stored.len(), 3, "three message rows and no channel row: {stored:?}");
    assert!(stored.iter().all(|s| matches!(s, Store::Message { record, .. } if record.attempt == 1)));
    for e in effects {
        if let Effect::Store(Store::Message { channel, record }) = e {
            rows.messages.insert((channel, record.seq), record);
        }
    }
    assert_eq!(t.poll_timeout(), Some(1_100), "the channel row is due a second later");

    // The runtime restarts before that: the cursor comes back from the message rows.
    let mut r = rows.restore(3);
    assert!(r.restore_consumer(200, c, "c", settings(10_000), 10));
    r.finish_restore(200);
    assert!(rows.drain(&mut r).is_empty(), "nothing is delivered twice");
    let s = r.stats().into_iter().find(|s| s.channel == "c").unwrap();
    assert_eq!((s.in_flight, s.depth, s.delivered_total), (3, 3, created.delivered_total));

    // Without a restart the row is written on time, with the counters.
    t.handle_timeout(1_100);
    rows.drain(&mut t);
    assert_eq!(rows.channels["c"].delivered_total, 3);
    assert_eq!(rows.channels["c"].cursor, 4);
    assert_eq!(t.poll_timeout(), Some(10_100), "then only the deadlines are due");
}
