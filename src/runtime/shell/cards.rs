//! Patron cards on the ISO 14443A card reader: polled once a pad round, a card identifies the
//! patron once when it is put down, not again every round while it lies there.

use crate::rfid::card::{CardRead, CardUid};
use crate::rfid::patron_card::{self, PatronCardSettings};

use super::Shell;

/// Which card lay on the reader at the last poll that answered.
#[derive(Debug, Default)]
pub struct CardEdge {
    present: Option<CardUid>,
}

impl CardEdge {
    /// The card one poll found (`None`: the field is empty); true when it was newly put down.
    pub fn see(&mut self, card: Option<CardUid>) -> bool {
        let new = card.is_some() && card != self.present;
        self.present = card;
        new
    }
}

impl Shell {
    /// Poll the patron card reader once: the patron id of a card newly put on it, by the
    /// site's `[patron_card]` rule. `Err` says why a card gave no patron id (a failed poll, or
    /// a card the rule cannot read); the message holds no patron data. A failed poll leaves
    /// the card reader's state alone, so a card already seen does not identify again.
    pub async fn poll_card(&mut self) -> Result<Option<String>, String> {
        let rule = self.config.patron_card.clone();
        let read = rule.memory_read().map_err(|e| e.to_string())?;
        let reader = self.reader.clone();
        let polled = tokio::task::spawn_blocking(move || {
            let mut r = reader
                .lock()
                .map_err(|_| "reader lock poisoned".to_string())?;
            r.poll_patron_card(&read).map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| e.to_string())??;
        let uid = polled.as_ref().map(|c| c.uid);
        if !self.card_edge.see(uid) {
            return Ok(None);
        }
        match polled {
            Some(card) => card_patron(&card, &rule).map(Some),
            None => Ok(None),
        }
    }
}

fn card_patron(card: &CardRead, rule: &PatronCardSettings) -> Result<String, String> {
    patron_card::patron_id(card, rule).map_err(|e| format!("patron card {}: {e}", card.uid))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uid(hex: &str) -> Option<CardUid> {
        Some(CardUid::parse(hex).expect("uid"))
    }

    #[test]
    fn a_card_counts_once_while_it_lies_on_the_reader() {
        let mut edge = CardEdge::default();
        assert!(!edge.see(None), "an empty field is nothing");
        assert!(edge.see(uid("04A1B2C3")), "put down");
        assert!(!edge.see(uid("04A1B2C3")), "still there");
        assert!(!edge.see(uid("04A1B2C3")));
        assert!(!edge.see(None), "lifted");
        assert!(edge.see(uid("04A1B2C3")), "put down again");
    }

    #[test]
    fn another_card_in_its_place_counts_at_once() {
        let mut edge = CardEdge::default();
        assert!(edge.see(uid("04A1B2C3")));
        assert!(
            edge.see(uid("04112233445566")),
            "swapped without an empty round"
        );
        assert!(!edge.see(uid("04112233445566")));
    }
}
