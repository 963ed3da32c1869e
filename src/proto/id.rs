//! Ids: message ids (what a delivery is settled by) and the ids of events the bus makes.
//!
//! A message id is 16 lower-case hex digits: the partition (2 digits) and the seq within
//! it (14 digits), so a topic object maps an id back to its message without an index and
//! ids are unique within a partitioned topic. On partition 0 it is the seq itself
//! (`000000000000002a`), as ids always were. Clients must treat ids as opaque.
//!
//! Ids of events the bus makes (plain bodies, NSQ messages, `pub` with `data`) are 96
//! random bits (24 hex digits), never derived from the seq, so no publisher can predict
//! and pre-empt them in the dedup window. The randomness comes from the driver.

use sha2::{Digest, Sha256};

/// Largest seq a message id can carry (56 bits).
pub const MAX_SEQ: u64 = (1 << 56) - 1;

/// The id of the message with this `seq` in `partition`.
pub fn message_id(partition: u32, seq: u64) -> String {
    // The 16 hex digits of (partition << 56 | seq), without the formatting machinery: one
    // id per delivered or published message.
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let v = (u64::from(partition & 0xff) << 56) | (seq & MAX_SEQ);
    (0..16).rev().map(|i| char::from(HEX[((v >> (i * 4)) & 0xf) as usize])).collect()
}

/// The (partition, seq) of a message id, if `id` is one this bus made.
pub fn parse_message_id(id: &str) -> Option<(u32, u64)> {
    if id.len() != 16 || !id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let partition = u32::from_str_radix(id.get(..2)?, 16).ok()?;
    let seq = u64::from_str_radix(id.get(2..)?, 16).ok().filter(|s| *s > 0)?;
    Some((partition, seq))
}

/// The `i`-th id made from `entropy` (16 fresh random bytes from the driver): 96 bits,
/// as 24 hex digits.
pub fn made_id(entropy: &[u8; 16], i: usize) -> String {
    let mut h = Sha256::new();
    h.update(entropy);
    h.update((i as u64).to_le_bytes());
    h.finalize()[..12].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        assert_eq!(message_id(0, 26), "000000000000001a");
        assert_eq!(message_id(3, 1), "0300000000000001");
        assert_eq!(parse_message_id(&message_id(63, MAX_SEQ)), Some((63, MAX_SEQ)));
        assert_eq!(parse_message_id("1a"), None);
        assert_eq!(parse_message_id("000000000000000g"), None);
        assert_eq!(parse_message_id("0000000000000000"), None);
        assert_eq!(parse_message_id("+00000000000001a"), None);
    }

    #[test]
    fn made_ids_are_96_bits_and_differ() {
        let e = [7u8; 16];
        assert_eq!(made_id(&e, 0).len(), 24);
        assert_ne!(made_id(&e, 0), made_id(&e, 1));
        assert_ne!(made_id(&e, 0), made_id(&[8u8; 16], 0));
    }
}
