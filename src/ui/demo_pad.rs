//! The demo kiosk's simulated pad, worked from a drawer in the window: the sample library's
//! patron cards and items, each put on the pad or taken off with a touch. The kiosk core reads
//! the same [`SimPad`] it would read on a real reader, so the demo goes through the whole
//! path: tag encoding, inventory, decoding, lending and the security write.
//!
//! When the kiosk takes the demo's phone codes, each demo patron also has a "phone": touched,
//! it shows the kiosk a fresh code signed by the demo key, as the library's app would, and the
//! code goes to the core as a scan from the 2D imager.

use std::rc::Rc;

use slint::{ComponentHandle, Model, VecModel};
use tokio::sync::mpsc;

use super::{AppWindow, DemoAdapter, DemoTag};
use crate::kiosk::Event;
use crate::rfid::DataModel;
use crate::rfid::sim::uid_for;
use crate::rfid::sim::{SimPad, SimTag};
use crate::rfid::tag::{ItemRecord, SetInfo, TypeOfUsage, parse_uid};
use crate::sip2::demo_ils::sample;

/// What a row of the drawer stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoKind {
    /// A patron card, put on the pad.
    Card,
    /// A library item, put on the pad.
    Item,
    /// A patron's phone with the library's app: shows the scanner a fresh code.
    Phone,
}

impl DemoKind {
    fn as_str(self) -> &'static str {
        match self {
            DemoKind::Card => "card",
            DemoKind::Item => "item",
            DemoKind::Phone => "phone",
        }
    }
}

/// One card, phone or item of the drawer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoEntry {
    pub kind: DemoKind,
    pub label: String,
    /// The card or item number (a phone's: its patron's card number).
    pub number: String,
    pub parts: u8,
}

/// The sample patrons' cards (with their PINs: it is a demo), each followed by the patron's
/// phone when `phones`, and the sample items.
pub fn entries(phones: bool) -> Vec<DemoEntry> {
    let cards = sample::demo_cards()
        .into_iter()
        .flat_map(|(number, name, pin)| {
            let phone = phones.then(|| DemoEntry {
                kind: DemoKind::Phone,
                label: phone_label(name),
                number: number.clone(),
                parts: 1,
            });
            std::iter::once(DemoEntry {
                kind: DemoKind::Card,
                label: format!("{name} · PIN {pin}"),
                number,
                parts: 1,
            })
            .chain(phone)
        });
    let items = sample::demo_items()
        .into_iter()
        .map(|(number, title, parts)| DemoEntry {
            kind: DemoKind::Item,
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

/// The drawer's label of a demo patron's phone.
pub fn phone_label(name: &str) -> String {
    format!("{name} · phone")
}

/// The tags of an entry as they sit on the pad: one per part, in the Danish data model (which
/// holds no title: the kiosk learns it from the library system). A phone has none.
pub fn tags(entry: &DemoEntry) -> Vec<SimTag> {
    let model = DataModel::Iso28560_3;
    let usage = match entry.kind {
        DemoKind::Card => TypeOfUsage::PatronCard,
        DemoKind::Item => TypeOfUsage::Circulating,
        DemoKind::Phone => return Vec::new(),
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

/// Where the drawer's phones show their codes: the kiosk core's events, as the scanner's.
#[derive(Debug, Clone)]
pub struct DemoPhones {
    pub events: mpsc::Sender<Event>,
    /// The `iss` the kiosk expects (`[phone] issuer`).
    pub issuer: String,
}

impl DemoPhones {
    /// A fresh code of `entry`'s patron, scanned.
    fn show(&self, entry: &DemoEntry) {
        let now = chrono::Utc::now().timestamp();
        match crate::phone::demo::demo_token(&entry.number, &self.issuer, now) {
            Ok(token) => {
                if let Err(e) = self.events.try_send(Event::Scan(token)) {
                    tracing::warn!("demo phone code dropped, the kiosk core is busy: {e}");
                }
            }
            Err(e) => tracing::warn!("the demo phone cannot make a code: {e}"),
        }
    }
}

/// Fill the drawer and let its touches move tags on and off `pad`; with `phones`, the demo
/// patrons' phones show their codes to the kiosk.
pub fn connect(window: &AppWindow, pad: SimPad, phones: Option<DemoPhones>) {
    let entries = Rc::new(entries(phones.is_some()));
    let rows = Rc::new(VecModel::from(
        entries
            .iter()
            .map(|e| DemoTag {
                kind: e.kind.as_str().into(),
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
        if entry.kind == DemoKind::Phone {
            // Shown to the scanner for a moment; never left on the pad.
            if let Some(phones) = &phones {
                phones.show(entry);
            }
            return;
        }
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
        let all = entries(false);
        let count = |kind| all.iter().filter(|e| e.kind == kind).count();
        assert!(count(DemoKind::Card) >= 5);
        assert_eq!(count(DemoKind::Phone), 0);
        assert!(all.iter().any(|e| e.parts > 1), "a multi-part set");
        for entry in &all {
            let tags = tags(entry);
            assert_eq!(tags.len(), usize::from(entry.parts.max(1)), "{entry:?}");
        }
    }

    #[test]
    fn each_demo_patron_has_a_phone_whose_code_the_demo_kiosk_takes() {
        let all = entries(true);
        let cards: Vec<&DemoEntry> = all.iter().filter(|e| e.kind == DemoKind::Card).collect();
        let phones: Vec<&DemoEntry> = all.iter().filter(|e| e.kind == DemoKind::Phone).collect();
        assert_eq!(cards.len(), phones.len());
        let phone = crate::phone::demo::kiosk_settings(&crate::config::Settings::default());
        let policy = crate::phone::Policy::from_settings(&phone).expect("policy");
        for (card, phone_entry) in cards.iter().zip(&phones) {
            assert_eq!(card.number, phone_entry.number);
            assert!(tags(phone_entry).is_empty(), "a phone is never on the pad");
            let (events, mut rx) = mpsc::channel(1);
            DemoPhones {
                events,
                issuer: phone.issuer.clone(),
            }
            .show(phone_entry);
            let Ok(Event::Scan(code)) = rx.try_recv() else {
                panic!("no code from {}", phone_entry.label);
            };
            let now = chrono::Utc::now().timestamp();
            let verified = crate::phone::verify(&code, &policy, now, true).expect("accepted");
            assert_eq!(verified.patron_id, card.number);
        }
    }
}
