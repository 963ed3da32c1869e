//! Delivery semantics of PROTOCOL.md section 1 on a virtual clock: dead letters, deferral,
//! shelve, ordering keys, seek, ephemeral channels.
#![cfg(not(target_arch = "wasm32"))] // native: wasm-pack builds every test target

use ismld::core::{
    ConsumerSettings, Delivery, Effect, NewMessage, Store, Topic, CLOSE_DELETED, EPHEMERAL_BACKLOG,
};
use ismld::proto::frame::Settle;
use ismld::proto::{ChannelName, ErrorCode, Limits};

fn ch(name: &str) -> ChannelName {
    ChannelName::parse(name).unwrap()
}

fn settings(max_attempts: u32) -> ConsumerSettings {
    ConsumerSettings { handler_timeout_ms: 1000, max_attempts, heartbeat_ms: 30_000 }
}

fn keyed(keys: &[&str]) -> Vec<NewMessage> {
    keys.iter().map(|k| NewMessage { key: Some((*k).to_owned()), ..Default::default() }).collect()
}

fn delivered(t: &mut Topic) -> Vec<Delivery> {
    t.drain_effects()
        .into_iter()
        .filter_map(|e| if let Effect::Deliver(d) = e { Some(d) } else { None })
        .collect()
}

fn seqs(t: &mut Topic) -> Vec<u64> {
    delivered(t).iter().map(|d| d.seq).collect()
}

#[test]
fn failures_reaching_max_attempts_make_a_dead_letter_that_redrive_returns() {
    let mut t = Topic::new(Limits::default());
    let c = t.attach(0, &ch("c"), settings(2), 1);
    t.publish(0, &[NewMessage::default()]).unwrap();
    delivered(&mut t);
    t.settle(1, c, Settle::Req, 1, Some(Some("{\"s\":1}".into())), 0).unwrap();
    assert_eq!(delivered(&mut t)[0].failures, 1);
    t.handle_timeout(1001); // second failure: the deadline passes
    assert!(delivered(&mut t).is_empty(), "dead, not redelivered");
    let s = &t.stats()[0];
    assert_eq!((s.dead, s.depth, s.timed_out_total), (1, 0, 1));
    let dead = t.dead("c", 10).unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!((dead[0].seq, dead[0].failures, dead[0].checkpoint.as_deref()), (1, 2, Some("{\"s\":1}")));
    assert_eq!(t.redrive(2000, "c", Some(&[7])).unwrap(), 0, "only the ids asked for");
    assert_eq!(t.redrive(2000, "c", None).unwrap(), 1);
    let d = delivered(&mut t);
    assert_eq!((d[0].seq, d[0].failures, d[0].attempt), (1, 0, 3));
    assert_eq!(d[0].checkpoint.as_deref(), Some("{\"s\":1}"), "the checkpoint survives dead-lettering");
    assert_eq!(t.stats()[0].dead, 0);
}

#[test]
fn deferred_publish_and_delayed_req_wait_for_their_time() {
    let mut t = Topic::new(Limits::default());
    let c = t.attach(0, &ch("c"), settings(0), 10);
    t.publish(0, &[NewMessage { deliver_at: Some(5000), key: None }, NewMessage::default()]).unwrap();
    assert_eq!(seqs(&mut t), vec![2], "the deferred one waits");
    assert_eq!(t.stats()[0].deferred, 1);
    assert_eq!(t.poll_timeout(), Some(1000));
    t.settle(10, c, Settle::Req, 2, None, 3000).unwrap();
    assert!(delivered(&mut t).is_empty());
    t.handle_timeout(3009);
    assert!(delivered(&mut t).is_empty(), "not before its time");
    t.handle_timeout(3010);
    assert_eq!(seqs(&mut t), vec![2]);
    t.settle(3011, c, Settle::Fin, 2, None, 0).unwrap();
    t.handle_timeout(5000);
    assert_eq!(seqs(&mut t), vec![1]);
    let too_far = NewMessage { deliver_at: Some(8 * 24 * 3_600_000), key: None };
    assert_eq!(t.publish(0, &[too_far]).unwrap_err().code(), ErrorCode::InvalidRequest);
    assert_eq!(t.head(), 2, "a refused publish appends nothing");
}

#[test]
fn shelve_gives_back_with_a_checkpoint_and_no_failure() {
    let mut t = Topic::new(Limits::default());
    let c = t.attach(0, &ch("c"), settings(1), 1);
    t.publish(0, &[NewMessage::default()]).unwrap();
    delivered(&mut t);
    t.settle(1, c, Settle::Shelve, 1, Some(Some("{\"counter\":2}".into())), 0).unwrap();
    let d = delivered(&mut t);
    assert_eq!((d[0].failures, d[0].attempt), (0, 2), "max_attempts 1 and still alive: not a failure");
    assert_eq!(d[0].checkpoint.as_deref(), Some("{\"counter\":2}"));
    let big = Some(Some(format!("\"{}\"", "x".repeat(64 * 1024))));
    let e = t.settle(2, c, Settle::Touch, 1, big, 0).unwrap_err();
    assert_eq!(e.code(), ErrorCode::PayloadTooLarge);
    assert!(t.drain_effects().is_empty(), "a refused checkpoint changes nothing");
}

#[test]
fn ordering_keys_deliver_one_at_a_time_in_seq_order_per_key() {
    let mut t = Topic::new(Limits::default());
    let c = t.attach(0, &ch("c"), settings(0), 10);
    t.publish(0, &keyed(&["a", "b", "a", "a", "b"])).unwrap();
    assert_eq!(seqs(&mut t), vec![1, 2], "one per key; keys do not block each other");
    t.settle(1, c, Settle::Req, 1, None, 0).unwrap();
    assert_eq!(seqs(&mut t), vec![1], "a requeued head goes again before later ones");
    t.settle(2, c, Settle::Fin, 1, None, 0).unwrap();
    assert_eq!(seqs(&mut t), vec![3]);
    t.settle(3, c, Settle::Fin, 2, None, 0).unwrap();
    assert_eq!(seqs(&mut t), vec![5]);
    t.settle(4, c, Settle::Fin, 3, None, 0).unwrap();
    assert_eq!(seqs(&mut t), vec![4]);
}

#[test]
fn a_deferred_message_blocks_its_key_and_a_dead_one_does_not() {
    let mut t = Topic::new(Limits::default());
    let c = t.attach(0, &ch("c"), settings(1), 10);
    let mut items = keyed(&["k", "k", "k"]);
    items[0].deliver_at = Some(500);
    t.publish(0, &items).unwrap();
    assert!(seqs(&mut t).is_empty(), "seq 1 is deferred and holds its key");
    t.handle_timeout(500);
    assert_eq!(seqs(&mut t), vec![1]);
    t.settle(600, c, Settle::Req, 1, None, 0).unwrap(); // max_attempts 1: dead
    assert_eq!(seqs(&mut t), vec![2], "a dead letter no longer blocks its key");
    t.settle(700, c, Settle::Fin, 2, None, 0).unwrap();
    assert_eq!(seqs(&mut t), vec![3]);
}

#[test]
fn seek_rewinds_and_skips() {
    let mut t = Topic::new(Limits::default());
    let c = t.attach(0, &ch("c"), settings(0), 10);
    t.publish(0, &vec![NewMessage::default(); 4]).unwrap();
    assert_eq!(seqs(&mut t), vec![1, 2, 3, 4]);
    for s in 1..=4 {
        t.settle(1, c, Settle::Fin, s, None, 0).unwrap();
    }
    assert_eq!(t.seek(2, "c", 3, 1).unwrap(), 2);
    let d = delivered(&mut t);
    assert_eq!(d.iter().map(|d| (d.seq, d.attempt)).collect::<Vec<_>>(), vec![(3, 1), (4, 1)]);
    assert_eq!(t.seek(3, "c", 99, 1).unwrap(), 0, "past the head: everything finished");
    assert_eq!(t.settle(3, c, Settle::Fin, 3, None, 0).unwrap_err().code(), ErrorCode::NotFound);
    let s = &t.stats()[0];
    assert_eq!((s.depth, s.in_flight), (0, 0));
    assert_eq!(t.poll_timeout(), None, "no deadline left behind");
    assert_eq!(t.seek(3, "nope", 1, 1).unwrap_err().code(), ErrorCode::NotFound);
}

#[test]
fn a_channel_created_from_an_earlier_seq_gets_the_backlog() {
    let mut t = Topic::new(Limits::default());
    t.publish(0, &vec![NewMessage::default(); 3]).unwrap();
    assert!(t.create_channel(&ch("late"), Some(2), 1));
    assert!(!t.create_channel(&ch("late"), Some(1), 1));
    t.attach(0, &ch("late"), settings(0), 10);
    assert_eq!(seqs(&mut t), vec![2, 3]);
}

#[test]
fn ephemeral_channels_go_with_their_last_consumer_and_cap_their_backlog() {
    let mut t = Topic::new(Limits::default());
    let c = t.attach(0, &ch("e#ephemeral"), settings(0), 0);
    t.publish(0, &vec![NewMessage::default(); EPHEMERAL_BACKLOG as usize + 5]).unwrap();
    let s = &t.stats()[0];
    assert_eq!((s.depth, s.dropped_total), (EPHEMERAL_BACKLOG, 5));
    t.rdy(1, c, 1).unwrap();
    assert_eq!(seqs(&mut t), vec![6], "the oldest were dropped");
    t.detach(2, c);
    let fx = t.drain_effects();
    assert!(fx.iter().any(|e| matches!(e, Effect::Store(Store::DropChannel(n)) if n == "e#ephemeral")));
    assert!(!t.has_channel("e#ephemeral"));
    let c2 = t.attach(3, &ch("e#ephemeral"), settings(0), 1);
    t.delete_channel("e#ephemeral").unwrap();
    let fx = t.drain_effects();
    assert!(fx.iter().any(
        |e| matches!(e, Effect::Close { consumer, code, .. } if *consumer == c2 && *code == CLOSE_DELETED)
    ));
}
