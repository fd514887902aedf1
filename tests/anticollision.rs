//! Anti-collision inventory over the simulated pad: every tag of a stack is found, however
//! the UIDs fall into slots, and the number of rounds is what the collisions call for.

use std::collections::BTreeSet;

use proptest::prelude::*;
use selfcheck::rfid::iso15693::{InventoryOptions, inventory};
use selfcheck::rfid::sim::SimPad;
use selfcheck::rfid::tag::{DataModel, Uid};
use selfcheck::rfid::{Iso15693Reader, Security, SecurityConfig, TagReader, WriteOutcome};

/// An NXP UID (E0 04 ...) with random serial bits.
fn nxp_uid(serial: u64) -> Uid {
    (0xE004_0000_0000_0000 | (serial & 0x0000_FFFF_FFFF_FFFF)).to_le_bytes()
}

fn pad_with(uids: &BTreeSet<Uid>) -> SimPad {
    let pad = SimPad::new();
    for uid in uids {
        pad.place_blank(*uid);
    }
    pad
}

fn check_stack(uids: &BTreeSet<Uid>, stay_quiet: bool) -> Result<(), TestCaseError> {
    let mut pad = pad_with(uids);
    let options = InventoryOptions {
        stay_quiet,
        ..InventoryOptions::default()
    };
    let (found, stats) = inventory(&mut pad, &options).expect("the sim link never fails");
    let found_set: BTreeSet<Uid> = found.iter().map(|r| r.uid).collect();
    prop_assert_eq!(found.len(), found_set.len(), "a tag was listed twice");
    prop_assert_eq!(&found_set, uids);
    // Every collided slot costs exactly one more round, and nothing else does.
    prop_assert_eq!(stats.rounds, 1 + stats.collisions);
    prop_assert_eq!(stats.slots, 16 * stats.rounds);
    prop_assert!(!stats.truncated);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn every_tag_of_a_random_stack_is_found(
        serials in proptest::collection::btree_set(any::<u64>(), 1..=32),
        stay_quiet in any::<bool>(),
    ) {
        let uids: BTreeSet<Uid> = serials.into_iter().map(nxp_uid).collect();
        check_stack(&uids, stay_quiet)?;
    }

    #[test]
    fn tags_sharing_long_uid_prefixes_are_found(
        common in any::<u64>(),
        shared_bits in 8u32..44,
        tails in proptest::collection::btree_set(any::<u16>(), 1..=32),
    ) {
        // Same low `shared_bits` bits, so the first rounds all collide in one slot.
        let low = common & ((1u64 << shared_bits) - 1);
        let uids: BTreeSet<Uid> = tails
            .into_iter()
            .map(|t| nxp_uid(low | (u64::from(t) << shared_bits)))
            .collect();
        check_stack(&uids, false)?;
    }
}

#[test]
fn one_round_when_nothing_collides() {
    let uids: BTreeSet<Uid> = (0..16u64).map(|n| nxp_uid(0x1234_5670 | n)).collect();
    let mut pad = pad_with(&uids);
    let (found, stats) = inventory(&mut pad, &InventoryOptions::default()).expect("sim");
    assert_eq!(found.len(), 16);
    assert_eq!((stats.rounds, stats.collisions), (1, 0));
}

#[test]
fn stack_of_ten_read_and_secured_over_the_reader_port() {
    let pad = SimPad::new();
    let uids: Vec<Uid> = (1..=10u64)
        .map(|n| nxp_uid(n.wrapping_mul(0x2545_F491_4F6C_DD1D)))
        .collect();
    for (i, uid) in uids.iter().enumerate() {
        let model = if i % 2 == 0 {
            DataModel::Iso28560_3
        } else {
            DataModel::Iso28560_2
        };
        pad.place_item(
            *uid,
            &format!("{}", 3_900_000 + i),
            Some("DK-710100"),
            model,
        )
        .expect("valid item");
    }
    let mut reader = Iso15693Reader::new(pad.clone());
    let tags = reader.read_all().expect("sim");
    assert_eq!(tags.len(), 10);
    let config = SecurityConfig {
        use_afi: true,
        use_eas: true,
        ..SecurityConfig::default()
    };
    for tag in &tags {
        assert_eq!(
            reader
                .set_security(&tag.uid, Security::Unsecured, &config)
                .expect("sim"),
            WriteOutcome::Verified
        );
    }
    // A patron lifts a book while its security is being switched back on.
    pad.lift_after_frames(&uids[3], 1);
    let outcome = reader
        .set_security(&uids[3], Security::Secured, &config)
        .expect("sim");
    assert_eq!(outcome, WriteOutcome::TagGone);
}
