//! Anti-collision inventory: 16-slot rounds, and a round with a mask four bits longer for every
//! slot where tags collided, until every tag has answered alone. How it opens depends on how
//! many tags are expected (the previous inventory's count, when the caller has one): none or
//! one, a one-slot round, which an empty pad or a lone tag answers without fifteen empty
//! slots; many, a 16-slot round per value of the lowest one or two UID bits, so fewer tags
//! share each round's slots.

use std::collections::BTreeSet;

use thiserror::Error;

use crate::rfid::iso15693::{Address, InventoryReply, Mask, Request, parse_inventory};
use crate::rfid::tag::Uid;
use crate::rfid::transceiver::{Reply, Transceiver};

/// How to run an inventory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InventoryOptions {
    /// Only tags with this AFI (or its family) answer.
    pub afi: Option<u8>,
    /// Send stay quiet to each tag found, so a repeated round does not hear it again; the tags
    /// are reset to ready at the end so the next inventory finds them.
    pub stay_quiet: bool,
    /// Give up after this many 16-slot rounds (a fault that keeps reporting collisions must
    /// not hang the reader).
    pub max_rounds: u32,
    /// How often a round whose slots all collided at full mask length is repeated.
    pub full_mask_retries: u32,
    /// How many tags are expected in the field (`None`: unknown, a 16-slot round first).
    pub expected: Option<usize>,
}

/// Expected tags from which the first round is split in two by the lowest UID bit, and in
/// four by the lowest two: a 16-slot round with more tags than this collides in so many slots
/// that the extra rounds cost less than resolving the collisions.
const SPLIT_IN_TWO: usize = 12;
const SPLIT_IN_FOUR: usize = 24;

impl Default for InventoryOptions {
    fn default() -> Self {
        InventoryOptions {
            afi: None,
            stay_quiet: false,
            max_rounds: 256,
            full_mask_retries: 2,
            expected: None,
        }
    }
}

/// What an inventory cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InventoryStats {
    /// 16-slot inventory requests sent.
    pub rounds: u32,
    /// One-slot inventory requests sent (the opening round when at most one tag is expected).
    pub single_slot_rounds: u32,
    /// Slots listened to (16 per 16-slot round, 1 per one-slot round).
    pub slots: u32,
    pub collisions: u32,
    /// Slots where one tag answered.
    pub replies: u32,
    /// Rounds skipped because `max_rounds` was reached (tags may be missing).
    pub truncated: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InventoryError<E> {
    #[error("reader failed during inventory: {0}")]
    Transceiver(E),
}

/// Find every tag in the field. Tags are listed in the order they answered.
pub fn inventory<T: Transceiver>(
    transceiver: &mut T,
    options: &InventoryOptions,
) -> Result<(Vec<InventoryReply>, InventoryStats), InventoryError<T::Error>> {
    let mut stats = InventoryStats::default();
    let mut found: Vec<InventoryReply> = Vec::new();
    let mut seen: BTreeSet<Uid> = BTreeSet::new();
    let mut quieted: Vec<Uid> = Vec::new();
    // Depth-first, so the pending list stays short.
    let mut pending: Vec<(Mask, u32)> = Vec::new();
    match options.expected {
        Some(0 | 1) => {
            stats.single_slot_rounds += 1;
            stats.slots += 1;
            let request = Request::Inventory {
                one_slot: true,
                afi: options.afi,
                mask: Mask::NONE,
            }
            .encode();
            match transceiver
                .transceive(&request)
                .map_err(InventoryError::Transceiver)?
            {
                Reply::Silent => return Ok((found, stats)),
                Reply::Frame(frame) => {
                    if let Ok(reply) = parse_inventory(&frame) {
                        // One tag answered alone: with any other, the slot would have collided.
                        stats.replies += 1;
                        found.push(reply);
                        return Ok((found, stats));
                    }
                    stats.collisions += 1;
                    pending.push((Mask::NONE, 0));
                }
                Reply::Collision => {
                    stats.collisions += 1;
                    pending.push((Mask::NONE, 0));
                }
            }
        }
        expected => {
            let bits = match expected {
                Some(n) if n >= SPLIT_IN_FOUR => 2,
                Some(n) if n >= SPLIT_IN_TWO => 1,
                _ => 0,
            };
            pending.extend((0..1u64 << bits).rev().map(|v| (Mask::new(bits, v), 0)));
        }
    }
    while let Some((mask, retry)) = pending.pop() {
        if stats.rounds >= options.max_rounds {
            stats.truncated = true;
            break;
        }
        stats.rounds += 1;
        let request = Request::Inventory {
            one_slot: false,
            afi: options.afi,
            mask,
        }
        .encode();
        let mut collided = Vec::new();
        for slot in 0u8..16 {
            let reply = if slot == 0 {
                transceiver.transceive(&request)
            } else {
                transceiver.next_slot()
            }
            .map_err(InventoryError::Transceiver)?;
            stats.slots += 1;
            match reply {
                Reply::Silent => {}
                Reply::Collision => {
                    stats.collisions += 1;
                    collided.push(slot);
                }
                Reply::Frame(frame) => match parse_inventory(&frame) {
                    Ok(reply) if mask.matches(&reply.uid) && mask.slot_of(&reply.uid) == slot => {
                        stats.replies += 1;
                        if seen.insert(reply.uid) {
                            found.push(reply);
                        }
                    }
                    // A garbled or impossible answer hides whoever really answered: look again.
                    _ => {
                        stats.collisions += 1;
                        collided.push(slot);
                    }
                },
            }
        }
        if options.stay_quiet {
            for reply in found.iter().filter(|r| mask.matches(&r.uid)) {
                if !quieted.contains(&reply.uid) {
                    quiet(transceiver, reply.uid)?;
                    quieted.push(reply.uid);
                }
            }
        }
        for &slot in collided.iter().rev() {
            if mask.len < 64 {
                pending.push((mask.extend(slot), 0));
            } else if retry < options.full_mask_retries {
                pending.push((mask, retry + 1));
            }
        }
    }
    if options.stay_quiet {
        for uid in quieted {
            let reset = Request::ResetToReady {
                address: Address::Uid(uid),
            }
            .encode();
            transceiver
                .transceive(&reset)
                .map_err(InventoryError::Transceiver)?;
        }
    }
    Ok((found, stats))
}

fn quiet<T: Transceiver>(t: &mut T, uid: Uid) -> Result<(), InventoryError<T::Error>> {
    // Stay quiet has no answer; whatever comes back is ignored.
    t.transceive(&Request::StayQuiet { uid }.encode())
        .map_err(InventoryError::Transceiver)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rfid::sim::SimPad;

    fn uid(n: u64) -> Uid {
        (0xE004_0000_0000_0000 | n).to_le_bytes()
    }

    #[test]
    fn empty_pad_is_one_round() {
        let mut pad = SimPad::new();
        let (tags, stats) = inventory(&mut pad, &InventoryOptions::default()).expect("sim");
        assert!(tags.is_empty());
        assert_eq!((stats.rounds, stats.slots, stats.collisions), (1, 16, 0));
    }

    #[test]
    fn tags_in_distinct_slots_need_one_round() {
        let pad = SimPad::new();
        for n in 0..16 {
            pad.place_blank(uid(n));
        }
        let mut reader = pad.clone();
        let (tags, stats) = inventory(&mut reader, &InventoryOptions::default()).expect("sim");
        assert_eq!(tags.len(), 16);
        assert_eq!(stats.rounds, 1);
    }

    #[test]
    fn same_low_nibble_recurses() {
        let pad = SimPad::new();
        // All share the low nibble 0x5, differ above: slot 5 collides, then a second round.
        for n in [0x05, 0x15, 0x25] {
            pad.place_blank(uid(n));
        }
        let mut reader = pad.clone();
        let (tags, stats) = inventory(&mut reader, &InventoryOptions::default()).expect("sim");
        assert_eq!(tags.len(), 3);
        assert_eq!(stats.rounds, 2);
        assert_eq!(stats.collisions, 1);
    }

    #[test]
    fn stay_quiet_finds_the_same_and_leaves_tags_ready() {
        let pad = SimPad::new();
        for n in [0x05, 0x15, 0x25, 0x99] {
            pad.place_blank(uid(n));
        }
        let mut reader = pad.clone();
        let options = InventoryOptions {
            stay_quiet: true,
            ..InventoryOptions::default()
        };
        let (tags, _) = inventory(&mut reader, &options).expect("sim");
        assert_eq!(tags.len(), 4);
        let (again, _) = inventory(&mut reader, &options).expect("sim");
        assert_eq!(again.len(), 4);
    }

    #[test]
    fn afi_filters() {
        let pad = SimPad::new();
        pad.place_blank(uid(1));
        pad.place_blank(uid(2));
        pad.set_afi(&uid(2), 0xC2);
        let mut reader = pad.clone();
        let options = InventoryOptions {
            afi: Some(0xC2),
            ..InventoryOptions::default()
        };
        let (tags, _) = inventory(&mut reader, &options).expect("sim");
        assert_eq!(tags.len(), 1);
        assert_eq!(tags[0].uid, uid(2));
    }

    #[test]
    fn endless_collisions_end() {
        let pad = SimPad::new();
        pad.place_blank(uid(1));
        pad.force_collisions(u32::MAX);
        let mut reader = pad.clone();
        let (tags, stats) = inventory(&mut reader, &InventoryOptions::default()).expect("sim");
        assert!(tags.is_empty());
        assert!(stats.rounds <= 256);
    }
}
