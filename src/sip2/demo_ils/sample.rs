//! Sample catalogue written into an empty demo database.
//!
//! Every patron and item id is 14 digits with a Luhn (mod-10) check digit, the way library
//! Codabar cards are numbered: patrons start with 2, items with 3. ISBN-13 check digits are
//! computed from the 12-digit stems, so every ISBN validates.

/// A loan rule per SIP2 media type (the CK field).
pub(crate) struct MediaRule {
    pub code: &'static str,
    pub name: &'static str,
    pub loan_days: i64,
    pub max_renewals: i64,
    pub max_items: i64,
}

#[rustfmt::skip]
pub(crate) const MEDIA_RULES: &[MediaRule] = &[
    MediaRule { code: "001", name: "book", loan_days: 28, max_renewals: 2, max_items: 10 },
    MediaRule { code: "002", name: "magazine", loan_days: 7, max_renewals: 0, max_items: 3 },
    MediaRule { code: "005", name: "video", loan_days: 7, max_renewals: 1, max_items: 3 },
    MediaRule { code: "006", name: "audio CD", loan_days: 14, max_renewals: 1, max_items: 5 },
];

pub(crate) struct SamplePatron {
    /// 13-digit stem; the check digit is appended.
    pub stem: &'static str,
    pub name: &'static str,
    pub pin: &'static str,
    pub language: &'static str,
    pub email: &'static str,
    /// Made up, for home delivery of holds.
    pub address: &'static str,
    pub charge_denied: bool,
    pub card_lost: bool,
    pub loan_limit: i64,
}

/// Demo patrons. PINs are published here on purpose (it is a demo), the database only keeps a
/// salted SHA-256 of them.
#[rustfmt::skip]
pub(crate) const PATRONS: &[SamplePatron] = &[
    SamplePatron { stem: "2100000000001", name: "李伟 (Li Wei)", pin: "1234", language: "019", email: "li.wei@example.org", address: "Via Cavour 12, 50129 Firenze", charge_denied: false, card_lost: false, loan_limit: 10 },
    SamplePatron { stem: "2100000000002", name: "Giulia Rossi", pin: "2345", language: "004", email: "giulia.rossi@example.org", address: "Via dei Serragli 40, 50124 Firenze", charge_denied: false, card_lost: false, loan_limit: 10 },
    SamplePatron { stem: "2100000000003", name: "John Smith", pin: "3456", language: "001", email: "john.smith@example.org", address: "Piazza Santo Spirito 3, 50125 Firenze", charge_denied: false, card_lost: false, loan_limit: 10 },
    SamplePatron { stem: "2100000000004", name: "张敏 (Zhang Min)", pin: "4567", language: "019", email: "zhang.min@example.org", address: "Via Faenza 71, 50123 Firenze", charge_denied: true, card_lost: false, loan_limit: 10 },
    SamplePatron { stem: "2100000000005", name: "Marco Bianchi", pin: "5678", language: "004", email: "marco.bianchi@example.org", address: "Borgo Pinti 18, 50121 Firenze", charge_denied: false, card_lost: false, loan_limit: 10 },
    SamplePatron { stem: "2100000000006", name: "Emily Clark", pin: "6789", language: "001", email: "emily.clark@example.org", address: "Via Maggio 9, 50125 Firenze", charge_denied: false, card_lost: true, loan_limit: 10 },
    SamplePatron { stem: "2100000000007", name: "王芳 (Wang Fang)", pin: "7890", language: "019", email: "wang.fang@example.org", address: "Viale dei Mille 55, 50131 Firenze", charge_denied: false, card_lost: false, loan_limit: 5 },
    SamplePatron { stem: "2100000000008", name: "Anna Verdi", pin: "0000", language: "004", email: "anna.verdi@example.org", address: "Via Gioberti 27, 50121 Firenze", charge_denied: false, card_lost: false, loan_limit: 10 },
];

/// Where an item starts out.
#[derive(Clone, Copy)]
pub(crate) enum Start {
    Shelf,
    /// Charged to the patron with this index in [`PATRONS`], due in this many days (negative:
    /// overdue).
    Loan(usize, i64),
    /// On the hold shelf for the patron with this index.
    HoldShelf(usize),
    InTransit(&'static str),
    Lost,
    Missing,
}

pub(crate) struct SampleItem {
    pub stem: &'static str,
    pub title: &'static str,
    pub author: &'static str,
    /// ISBN-13 without its check digit; empty for items that have none.
    pub isbn_stem: &'static str,
    pub media: &'static str,
    pub parts: i64,
    pub call_number: &'static str,
    pub home: &'static str,
    pub start: Start,
}

macro_rules! item {
    ($stem:expr, $title:expr, $author:expr, $isbn:expr, $media:expr, $parts:expr, $call:expr, $home:expr, $start:expr) => {
        SampleItem {
            stem: $stem,
            title: $title,
            author: $author,
            isbn_stem: $isbn,
            media: $media,
            parts: $parts,
            call_number: $call,
            home: $home,
            start: $start,
        }
    };
}

pub(crate) const MAIN: &str = "Central Library";
pub(crate) const BRANCH: &str = "Branch Nord";
/// The pickup location that stands for "bring it to my home address": SIP2 has no delivery
/// address, so libraries model delivery as one more place to pick a hold up.
pub const HOME_DELIVERY: &str = "Home delivery";
/// Where a hold may be picked up (SIP2 BS values the demo accepts).
pub const PICKUP_LOCATIONS: &[&str] = &[MAIN, BRANCH, HOME_DELIVERY];

#[rustfmt::skip]
pub(crate) const ITEMS: &[SampleItem] = &[
    // Chinese
    item!("3100000000001", "红楼梦", "曹雪芹", "978702000220", "001", 1, "I242.4 C15", MAIN, Start::Shelf),
    item!("3100000000002", "三体", "刘慈欣", "978753669293", "001", 1, "I247.5 L77", MAIN, Start::Loan(0, 10)),
    item!("3100000000003", "活着", "余华", "978750636543", "001", 1, "I247.5 Y78", MAIN, Start::Shelf),
    item!("3100000000004", "西游记", "吴承恩", "978702000866", "001", 1, "I242.4 W81", MAIN, Start::Shelf),
    item!("3100000000005", "围城", "钱锺书", "978702009017", "001", 1, "I246.5 Q41", MAIN, Start::Loan(6, 3)),
    item!("3100000000006", "边城", "沈从文", "978753543357", "001", 1, "I246.5 S53", BRANCH, Start::InTransit(BRANCH)),
    item!("3100000000007", "平凡的世界", "路遥", "978753021670", "001", 1, "I247.5 L84", MAIN, Start::Loan(6, -5)),
    item!("3100000000008", "呐喊", "鲁迅", "978702000862", "001", 1, "I210.6 L97", MAIN, Start::Lost),
    // Italian
    item!("3100000000009", "I promessi sposi", "Alessandro Manzoni", "978880462218", "001", 1, "853.7 MAN", MAIN, Start::Shelf),
    item!("3100000000010", "Il nome della rosa", "Umberto Eco", "978884523007", "001", 1, "853.914 ECO", MAIN, Start::HoldShelf(4)),
    item!("3100000000011", "Se questo è un uomo", "Primo Levi", "978880621935", "001", 1, "940.53 LEV", MAIN, Start::Shelf),
    item!("3100000000012", "Il Gattopardo", "Giuseppe Tomasi di Lampedusa", "978880781394", "001", 1, "853.914 TOM", MAIN, Start::Loan(1, 14)),
    item!("3100000000013", "La coscienza di Zeno", "Italo Svevo", "978880620734", "001", 1, "853.912 SVE", MAIN, Start::Missing),
    item!("3100000000014", "Le città invisibili", "Italo Calvino", "978880462084", "001", 1, "853.914 CAL", MAIN, Start::Shelf),
    item!("3100000000015", "L'amica geniale", "Elena Ferrante", "978886632112", "001", 1, "853.92 FER", MAIN, Start::Loan(6, 20)),
    item!("3100000000016", "Il barone rampante", "Italo Calvino", "978880463394", "001", 1, "853.914 CAL", BRANCH, Start::Shelf),
    // English
    item!("3100000000017", "Pride and Prejudice", "Jane Austen", "978014143951", "001", 1, "823.7 AUS", MAIN, Start::Shelf),
    item!("3100000000018", "Nineteen Eighty-Four", "George Orwell", "978014118776", "001", 1, "823.912 ORW", MAIN, Start::Loan(2, 7)),
    item!("3100000000019", "To Kill a Mockingbird", "Harper Lee", "978009954955", "001", 1, "813.54 LEE", MAIN, Start::Shelf),
    item!("3100000000020", "The Great Gatsby", "F. Scott Fitzgerald", "978014118263", "001", 1, "813.52 FIT", MAIN, Start::Loan(2, -12)),
    item!("3100000000021", "Moby-Dick", "Herman Melville", "978014243724", "001", 1, "813.3 MEL", MAIN, Start::Shelf),
    item!("3100000000022", "Jane Eyre", "Charlotte Brontë", "978014144114", "001", 1, "823.8 BRO", MAIN, Start::Shelf),
    item!("3100000000023", "Frankenstein", "Mary Shelley", "978014143947", "001", 1, "823.7 SHE", MAIN, Start::Loan(6, 1)),
    item!("3100000000024", "The Hobbit", "J. R. R. Tolkien", "978026110221", "001", 1, "823.912 TOL", MAIN, Start::Shelf),
    // Magazines
    item!("3100000000025", "National Geographic 2026-10", "", "", "002", 1, "PER NAT", MAIN, Start::Shelf),
    item!("3100000000026", "Internazionale n. 1590", "", "", "002", 1, "PER INT", MAIN, Start::Shelf),
    item!("3100000000027", "读者 2026年第20期", "", "", "002", 1, "PER DUZ", MAIN, Start::Shelf),
    // Audio and video
    item!("3100000000028", "Beethoven: The Nine Symphonies (3 CD)", "Ludwig van Beethoven", "", "006", 3, "CD 780 BEE", MAIN, Start::Shelf),
    item!("3100000000029", "邓丽君 经典金曲", "邓丽君", "", "006", 1, "CD 782 DEN", MAIN, Start::Shelf),
    item!("3100000000030", "Nuovo Cinema Paradiso", "Giuseppe Tornatore", "", "005", 1, "DVD 791 TOR", MAIN, Start::Shelf),
    item!("3100000000031", "卧虎藏龙", "李安", "", "005", 1, "DVD 791 LEE", MAIN, Start::HoldShelf(0)),
    item!("3100000000032", "The Godfather", "Francis Ford Coppola", "", "005", 1, "DVD 791 COP", MAIN, Start::Shelf),
];

/// Patron index, item index and pickup location of holds that are waiting (the item is out).
pub(crate) const WAITING_HOLDS: &[(usize, usize, &str)] =
    &[(7, 1, MAIN), (7, 14, MAIN), (0, 22, MAIN), (1, 4, BRANCH)];

/// Fines: patron index, item index, cents, description.
pub(crate) const FINES: &[(usize, usize, i64, &str)] = &[
    (2, 19, 1250, "Overdue: The Great Gatsby"),
    (2, 7, 250, "Damaged barcode"),
    (6, 6, 100, "Overdue: 平凡的世界"),
];

/// The demo patrons' card numbers, names and PINs, for the demo's help text.
pub fn demo_cards() -> Vec<(String, &'static str, &'static str)> {
    PATRONS
        .iter()
        .filter_map(|p| Some((with_luhn(p.stem)?, p.name, p.pin)))
        .collect()
}

/// The demo items' numbers, titles and parts in the set, for the demo kiosk's simulated pad.
pub fn demo_items() -> Vec<(String, &'static str, u8)> {
    ITEMS
        .iter()
        .filter_map(|i| {
            let parts = u8::try_from(i.parts).ok()?;
            Some((with_luhn(i.stem)?, i.title, parts))
        })
        .collect()
}

/// Appends a Luhn (mod-10) check digit to a string of digits; `None` if it holds a non-digit.
pub fn with_luhn(stem: &str) -> Option<String> {
    let mut sum = 0u32;
    for (i, c) in stem.chars().rev().enumerate() {
        let mut d = c.to_digit(10)?;
        // Counting from the right of the stem, the digit next to the check digit is doubled.
        if i % 2 == 0 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    let check = (10 - sum % 10) % 10;
    Some(format!("{stem}{check}"))
}

/// True when the last digit of `id` is its Luhn check digit.
pub fn luhn_valid(id: &str) -> bool {
    match id.char_indices().last() {
        Some((at, _)) if at > 0 => id
            .get(..at)
            .and_then(with_luhn)
            .is_some_and(|full| full == id),
        _ => false,
    }
}

/// Appends the ISBN-13 check digit to a 12-digit stem; `None` unless it is 12 digits.
pub fn isbn13(stem: &str) -> Option<String> {
    if stem.len() != 12 {
        return None;
    }
    let mut sum = 0u32;
    for (i, c) in stem.chars().enumerate() {
        let d = c.to_digit(10)?;
        sum += if i % 2 == 0 { d } else { d * 3 };
    }
    Some(format!("{stem}{}", (10 - sum % 10) % 10))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_known_vectors() {
        // The classic Luhn example number.
        assert_eq!(with_luhn("7992739871").as_deref(), Some("79927398713"));
        assert!(luhn_valid("79927398713"));
        assert!(!luhn_valid("79927398710"));
        assert!(!luhn_valid(""));
        assert!(!luhn_valid("x"));
        assert!(with_luhn("12a").is_none());
    }

    #[test]
    fn isbn_known_vector() {
        // 978-0-306-40615-7 is the usual worked example.
        assert_eq!(isbn13("978030640615").as_deref(), Some("9780306406157"));
        assert!(isbn13("97803064061").is_none());
    }

    #[test]
    fn sample_ids_are_well_formed_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for p in PATRONS {
            let id = with_luhn(p.stem).unwrap_or_default();
            assert_eq!(id.len(), 14);
            assert!(id.starts_with('2') && luhn_valid(&id));
            assert!(seen.insert(id));
        }
        for i in ITEMS {
            let id = with_luhn(i.stem).unwrap_or_default();
            assert_eq!(id.len(), 14);
            assert!(id.starts_with('3') && luhn_valid(&id));
            assert!(seen.insert(id));
            if i.media == "001" {
                assert!(
                    isbn13(i.isbn_stem).is_some(),
                    "book without ISBN: {}",
                    i.title
                );
            }
            assert!(MEDIA_RULES.iter().any(|r| r.code == i.media));
        }
        assert!(ITEMS.len() >= 30 && PATRONS.len() >= 8);
        assert_eq!(demo_cards().len(), PATRONS.len());
    }
}
