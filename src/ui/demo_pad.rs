//! The demo kiosk's simulated pad, worked from a drawer in the window: the sample library's
//! patron cards and items, each put on the pad or taken off with a touch. The kiosk core reads
//! the same [`SimPad`] it would read on a real reader, so the demo goes through the whole
//! path: tag encoding, inventory, decoding, lending and the security write.

use std::rc::Rc;

use slint::{ComponentHandle, Model, VecModel};

use super::{AppWindow, DemoAdapter, DemoTag};
use crate::rfid::DataModel;
use crate::rfid::sim::uid_for;
use crate::rfid::sim::{SimPad, SimTag};
use crate::rfid::tag::{ItemRecord, SetInfo, TypeOfUsage, parse_uid};
use crate::sip2::demo_ils::sample;

/// One card or item of the drawer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoEntry {
    pub card: bool,
    pub label: String,
    pub number: String,
    pub parts: u8,
}

/// The sample patrons' cards (with their PINs: it is a demo) and the sample items.
pub fn entries() -> Vec<DemoEntry> {
    let cards = sample::demo_cards()
        .into_iter()
        .map(|(number, name, pin)| DemoEntry {
            card: true,
            label: format!("{name} · PIN {pin}"),
            number,
            parts: 1,
        });
    let items = sample::demo_items()
        .into_iter()
        .map(|(number, title, parts)| DemoEntry {
            card: false,
            label: if parts > 1 {
                format!("{title} ({parts})")
            } else {
                title.to_string()
            },
            number,
            parts,
        });
    cards.chain(items).collect()
}

/// The tags of an entry as they sit on the pad: one per part, in the Danish data model (which
/// holds no title: the kiosk learns it from the library system).
pub fn tags(entry: &DemoEntry) -> Vec<SimTag> {
    let model = DataModel::Iso28560_3;
    let usage = if entry.card {
        TypeOfUsage::PatronCard
    } else {
        TypeOfUsage::Circulating
    };
    let parts: Vec<u8> = if entry.parts > 1 {
        (1..=entry.parts).collect()
    } else {
        vec![0]
    };
    parts
        .into_iter()
        .filter_map(|part| {
            let uid = parse_uid(&uid_for(&entry.number, part))?;
            let mut record = ItemRecord::new(model, usage, entry.number.clone());
            if entry.parts > 1 {
                record.set = Some(SetInfo {
                    parts: entry.parts,
                    part_no: part,
                });
            }
            match SimTag::item(uid, &record, model) {
                Ok(tag) => Some(tag),
                Err(e) => {
                    tracing::warn!("demo tag for {} cannot be encoded: {e}", entry.number);
                    None
                }
            }
        })
        .collect()
}

/// Fill the drawer and let its touches move tags on and off `pad`.
pub fn connect(window: &AppWindow, pad: SimPad) {
    let entries = Rc::new(entries());
    let rows = Rc::new(VecModel::from(
        entries
            .iter()
            .map(|e| DemoTag {
                kind: if e.card { "card" } else { "item" }.into(),
                label: e.label.clone().into(),
                number: e.number.clone().into(),
                on_pad: false,
            })
            .collect::<Vec<_>>(),
    ));
    let adapter = window.global::<DemoAdapter>();
    adapter.set_tags(rows.clone().into());
    adapter.set_enabled(true);

    let (toggle_rows, toggle_pad) = (rows.clone(), pad.clone());
    adapter.on_toggle(move |index| {
        let Ok(index) = usize::try_from(index) else {
            return;
        };
        let (Some(entry), Some(mut row)) = (entries.get(index), toggle_rows.row_data(index)) else {
            return;
        };
        let tags = tags(entry);
        if row.on_pad {
            for tag in &tags {
                toggle_pad.lift(&tag.uid);
            }
        } else {
            for tag in tags {
                toggle_pad.place(tag);
            }
        }
        row.on_pad = !row.on_pad;
        toggle_rows.set_row_data(index, row);
    });
    adapter.on_clear(move || {
        pad.clear();
        for index in 0..rows.row_count() {
            if let Some(mut row) = rows.row_data(index) {
                row.on_pad = false;
                rows.set_row_data(index, row);
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_demo_entry_makes_readable_tags() {
        let all = entries();
        assert!(all.iter().filter(|e| e.card).count() >= 5);
        assert!(all.iter().any(|e| e.parts > 1), "a multi-part set");
        for entry in &all {
            let tags = tags(entry);
            assert_eq!(tags.len(), usize::from(entry.parts.max(1)), "{entry:?}");
        }
    }
}
