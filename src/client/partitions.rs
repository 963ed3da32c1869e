//! What a client does by itself on a partitioned topic (PROTOCOL.md section 8): spread a
//! subscriber's credit over its partition sockets, and route a publish to the partition
//! the bus would pick (the rule is `proto::partition::route`, shared with the front
//! Worker, so a publisher socket opened with `?partition=P` keeps the bus's placement:
//! same key, same partition, same order; a retried id lands where its first try did).

pub use crate::proto::partition::{fnv1a32, route, MAX_PARTITIONS};

/// `total` credit over `n` sockets: as even as it goes, the first ones taking the
/// remainder, and at least 1 each (a socket with 0 would never be sent anything), so
/// 10 over 4 is `[3, 3, 2, 2]` and 1 over 3 is `[1, 1, 1]`.
pub fn spread(total: u32, n: u32) -> Vec<u32> {
    let n = n.clamp(1, MAX_PARTITIONS);
    (0..n).map(|i| (total / n + u32::from(i < total % n)).max(1)).collect()
}

/// The partition of an event about to be published over a publisher socket of a topic
/// of `n` partitions: by its ordering key, else by `source` and `id`. Events sent over a
/// socket always have an id, so this is `None` only for one without (any partition).
pub fn partition_of(key: Option<&str>, source: &str, id: Option<&str>, n: u32) -> Option<u32> {
    route(key, source, id, n.max(1))
}
