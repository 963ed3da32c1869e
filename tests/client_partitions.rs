//! The client core on partitioned topics: credit spread over partition sockets, publish
//! routing (the bus's rule), and the partition a `welcome` names reaching the driver.
#![cfg(not(target_arch = "wasm32"))] // native: wasm-pack builds every test target

use ismld::client::partitions::{fnv1a32, partition_of, spread};
use ismld::client::publisher::{Publisher, PublisherConfig};
use ismld::client::session::{Action, Session, SessionConfig};
use ismld::proto::frame::ServerFrame;

#[test]
fn credit_is_spread_evenly_with_at_least_one_each() {
    assert_eq!(spread(10, 4), [3, 3, 2, 2]);
    assert_eq!(spread(8, 4), [2, 2, 2, 2]);
    assert_eq!(spread(1, 3), [1, 1, 1], "every socket gets credit");
    assert_eq!(spread(0, 2), [1, 1]);
    assert_eq!(spread(7, 1), [7]);
    assert_eq!(spread(5, 0), [5], "no count is one partition");
    assert_eq!(spread(100, 1_000).len(), 64, "at most MAX_PARTITIONS sockets");
    for (total, n) in [(10u32, 4u32), (2_500, 64), (63, 64), (65, 64)] {
        let s = spread(total, n);
        assert_eq!(s.len(), n as usize);
        assert_eq!(s.iter().sum::<u32>(), total.max(n), "{total} over {n}");
        assert!(s.windows(2).all(|w| w[0] >= w[1] && w[0] - w[1] <= 1));
    }
}

#[test]
fn publishes_are_routed_like_the_bus_routes_them() {
    assert_eq!(partition_of(Some("user-1"), "/s", Some("x"), 4), Some(fnv1a32(b"user-1") % 4));
    assert_eq!(partition_of(None, "/clients/a", Some("id-1"), 4), Some(fnv1a32(b"/clients/a\nid-1") % 4));
    assert_eq!(
        partition_of(Some(""), "/s", Some("x"), 4),
        Some(fnv1a32(b"/s\nx") % 4),
        "an empty key is none"
    );
    assert_eq!(partition_of(None, "/s", None, 4), None, "no key, no id: any partition");
    assert_eq!(partition_of(None, "/s", None, 1), Some(0));
    assert_eq!(partition_of(Some("k"), "/s", None, 0), Some(0));
    // The reference vectors the TypeScript copy in tests is checked against.
    assert_eq!(fnv1a32("ü-ключ".as_bytes()) % 7, partition_of(Some("ü-ключ"), "", None, 7).unwrap_or(99));
}

fn welcome(channel: Option<&str>, partition: u32, partitions: u32) -> String {
    ServerFrame::Welcome {
        topic: "t",
        channel,
        session: "s1",
        max_in_flight: 2,
        heartbeat_ms: 30_000,
        batch: Some(true),
        partition,
        partitions,
    }
    .encode()
}

#[test]
fn a_welcome_tells_the_driver_its_partition_and_the_count() {
    let mut s = Session::new(SessionConfig::default());
    s.opened(0);
    let a = s.received(1, &welcome(Some("c"), 2, 4));
    assert!(matches!(a.first(), Some(Action::Welcome { partition: 2, partitions: 4, .. })), "{a:?}");
    let mut p = Publisher::new(PublisherConfig::default());
    p.opened(0);
    let a = p.received(1, &welcome(None, 0, 1));
    assert!(matches!(a.first(), Some(Action::Welcome { partition: 0, partitions: 1, .. })), "{a:?}");
    // A bus that does not say: partition 0 of 1.
    let mut s = Session::new(SessionConfig::default());
    s.opened(0);
    let a = s.received(
        1,
        r#"{"op":"welcome","topic":"t","channel":"c","session":"x","max_in_flight":1,"heartbeat_ms":30000}"#,
    );
    assert!(matches!(a.first(), Some(Action::Welcome { partition: 0, partitions: 1, .. })), "{a:?}");
}
