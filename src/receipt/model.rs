//! What a receipt says, from plain data the kiosk has at the end of a session.

use chrono::{NaiveDate, NaiveDateTime};

use crate::kiosk::Language;

/// One finished session's receipt. Built by the runtime; printed or mailed, then dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub library_name: String,
    pub terminal_id: String,
    /// Local date and time of the session.
    pub at: NaiveDateTime,
    pub language: Language,
    /// The patron's card number in full; only its last four characters are ever printed or
    /// mailed ([`Receipt::masked_card`]).
    pub card: String,
    pub items: Vec<ReceiptItem>,
    /// Titles (or item ids) of holds waiting on the shelf.
    pub holds_ready: Vec<String>,
    /// Fines owed, as the ILS formats the amount; `None` when nothing is owed.
    pub fines: Option<String>,
    /// The ILS's own receipt lines (SIP2 AG), printed as they come.
    pub print_lines: Vec<String>,
}

/// One item of the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptItem {
    pub item_id: String,
    /// Empty when unknown: the item id is shown instead.
    pub title: String,
    pub outcome: Outcome,
    /// Done offline: to be confirmed with the library system.
    pub confirmed_later: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Lent {
        due: Option<NaiveDate>,
    },
    Renewed {
        due: Option<NaiveDate>,
    },
    /// Returned; the sort bin or destination the ILS gave, if any.
    Returned {
        sort_bin: Option<String>,
    },
}

impl ReceiptItem {
    /// The title, or the item id when the title is unknown.
    pub fn name(&self) -> &str {
        if self.title.trim().is_empty() {
            &self.item_id
        } else {
            &self.title
        }
    }
}

impl Receipt {
    /// The card number with all but its last four characters hidden: `****0012`.
    pub fn masked_card(&self) -> String {
        let chars: Vec<char> = self.card.trim().chars().collect();
        let tail: String = chars
            .len()
            .checked_sub(4)
            .filter(|&start| start > 0)
            .and_then(|start| chars.get(start..))
            .map(|t| t.iter().collect())
            .unwrap_or_default();
        format!("****{tail}")
    }

    /// What the receipt's QR code holds: the item ids of the session with their due dates
    /// (`3100000000012 2026-12-26`), one a line, for the patron's phone or the desk's scanner.
    pub fn loan_list(&self) -> String {
        self.items
            .iter()
            .filter_map(|i| match &i.outcome {
                Outcome::Lent { due } | Outcome::Renewed { due } => Some(match due {
                    Some(d) => format!("{} {}", i.item_id, d.format("%Y-%m-%d")),
                    None => i.item_id.clone(),
                }),
                Outcome::Returned { .. } => None,
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// A made-up receipt in `language` for the technician's test print and test mail.
    pub fn sample(language: Language, library_name: &str, terminal_id: &str) -> Receipt {
        let day = |d| NaiveDate::from_ymd_opt(2026, 12, d);
        let item = |id: &str, title: &str, outcome| ReceiptItem {
            item_id: id.into(),
            title: title.into(),
            outcome,
            confirmed_later: false,
        };
        Receipt {
            library_name: library_name.into(),
            terminal_id: terminal_id.into(),
            at: chrono::Local::now().naive_local(),
            language,
            card: "21000000000012".into(),
            items: vec![
                item(
                    "31000000000014",
                    "Se questo è un uomo",
                    Outcome::Lent { due: day(28) },
                ),
                item("31000000000022", "三体", Outcome::Renewed { due: day(21) }),
                item(
                    "31000000000030",
                    "Pride and Prejudice",
                    Outcome::Returned {
                        sort_bin: Some("A".into()),
                    },
                ),
            ],
            holds_ready: vec!["Il nome della rosa".into()],
            fines: Some("€2,50".into()),
            print_lines: vec!["Test print: the printer works.".into()],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_card(card: &str) -> Receipt {
        Receipt {
            card: card.into(),
            ..Receipt::sample(Language::English, "L", "T")
        }
    }

    #[test]
    fn only_the_last_four_are_shown() {
        assert_eq!(with_card("21000000000012").masked_card(), "****0012");
        assert_eq!(with_card(" 12345 ").masked_card(), "****2345");
        assert_eq!(
            with_card("1234").masked_card(),
            "****",
            "nothing left to hide behind"
        );
        assert_eq!(with_card("").masked_card(), "****");
        assert_eq!(
            with_card("借书证号码一二三四").masked_card(),
            "****一二三四"
        );
    }

    #[test]
    fn loan_list_holds_lent_and_renewed_items() {
        let r = Receipt::sample(Language::Italian, "L", "T");
        assert_eq!(
            r.loan_list(),
            "31000000000014 2026-12-28\n31000000000022 2026-12-21"
        );
    }
}
