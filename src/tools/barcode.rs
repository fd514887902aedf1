//! `selfcheck barcode check CODE`: what a scanned code is and whether it is valid.

use crate::scan::symbology::{Barcode, BarcodeError};

/// Classify a code; an unreadable one (empty, not printable) is an error.
pub fn check(code: &str) -> Result<Barcode, BarcodeError> {
    crate::scan::classify(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isbn_and_card() {
        let b = check("978-0-306-40615-7").expect("isbn");
        assert!(b.valid);
        let b = check("33191000105864").expect("card");
        assert!(b.valid);
        let b = check("33191000105865").expect("card");
        assert!(!b.valid);
        assert!(check("").is_err());
    }
}

#[cfg(test)]
mod demo_cards {
    use crate::scan::BarcodeKind;

    /// The demo ILS's card numbers and our scanner's check-digit rule must agree, or the demo
    /// kiosk would refuse its own cards.
    #[test]
    fn demo_cards_are_valid_patron_codabar() {
        let cards = crate::sip2::demo_ils::sample::demo_cards();
        assert!(!cards.is_empty());
        for (card, name, _) in cards {
            let b = super::check(&card).expect("classify");
            assert!(b.valid, "{name}: {card}");
            assert!(
                matches!(b.kind, BarcodeKind::LibraryPatron { .. }),
                "{name}: {card} is {:?}",
                b.kind
            );
        }
    }
}
