//! The demo ILS's SQLite catalogue and its circulation rules, free of any SIP2 wire detail.
//!
//! Every rule takes `now` as an argument so tests decide the clock. Every applied checkout,
//! checkin, renewal, payment, hold and status change is written to `transactions` inside the
//! same SQLite transaction as the change itself, so a test can count them and prove that
//! nothing was lost or applied twice.

use std::path::Path;

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use sha2::{Digest, Sha256};

use super::DemoIlsError;
use super::sample::{self, Start};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS media_types (
    code TEXT PRIMARY KEY, name TEXT NOT NULL, loan_days INTEGER NOT NULL,
    max_renewals INTEGER NOT NULL, max_items INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS patrons (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, pin_hash TEXT NOT NULL, language TEXT NOT NULL,
    email TEXT NOT NULL DEFAULT '', phone TEXT NOT NULL DEFAULT '', address TEXT NOT NULL DEFAULT '',
    charge_denied INTEGER NOT NULL DEFAULT 0, card_lost INTEGER NOT NULL DEFAULT 0,
    loan_limit INTEGER NOT NULL DEFAULT 10, fee_limit_cents INTEGER NOT NULL DEFAULT 1000);
CREATE TABLE IF NOT EXISTS items (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, author TEXT NOT NULL, isbn TEXT NOT NULL,
    media_type TEXT NOT NULL REFERENCES media_types(code), parts INTEGER NOT NULL DEFAULT 1,
    call_number TEXT NOT NULL, home_location TEXT NOT NULL, current_location TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN
        ('available', 'charged', 'hold_shelf', 'in_transit', 'lost', 'missing')),
    destination TEXT NOT NULL DEFAULT '', properties TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS loans (
    item_id TEXT PRIMARY KEY REFERENCES items(id), patron_id TEXT NOT NULL REFERENCES patrons(id),
    loaned_at TEXT NOT NULL, due_at TEXT NOT NULL, renewals INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS holds (
    id INTEGER PRIMARY KEY, item_id TEXT NOT NULL REFERENCES items(id),
    patron_id TEXT NOT NULL REFERENCES patrons(id), placed_at TEXT NOT NULL,
    ready_at TEXT, pickup TEXT NOT NULL, expires TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS fines (
    id INTEGER PRIMARY KEY, patron_id TEXT NOT NULL REFERENCES patrons(id), item_id TEXT,
    cents INTEGER NOT NULL, description TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS transactions (
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL, patron_id TEXT, item_id TEXT,
    at TEXT NOT NULL, due_at TEXT, detail TEXT NOT NULL DEFAULT '');
";

const TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";
const PIN_SALT: &str = "selfcheck-demo-ils";
/// Overdue fine per day, in cents.
const FINE_PER_DAY: i64 = 20;
/// Overdue items past which the "too many items overdue" flag is raised.
const OVERDUE_LIMIT: usize = 3;

pub(super) fn fmt(t: NaiveDateTime) -> String {
    t.format(TIME_FORMAT).to_string()
}

fn parse(s: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(s, TIME_FORMAT).ok()
}

fn end_of_day(d: NaiveDate) -> NaiveDateTime {
    d.and_time(NaiveTime::from_hms_opt(23, 59, 59).unwrap_or(NaiveTime::MIN))
}

fn pin_hash(patron: &str, pin: &str) -> String {
    let digest = Sha256::digest(format!("{PIN_SALT}\0{patron}\0{pin}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Formats cents as a decimal amount ("12.50").
pub fn amount(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", cents.abs() / 100, cents.abs() % 100)
}

/// Parses a decimal amount ("12.5", "3", "0.75") into cents.
pub fn parse_amount(s: &str) -> Option<i64> {
    let s = s.trim();
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty() && frac.is_empty() || frac.len() > 2 {
        return None;
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let frac: i64 = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().ok()? * 10,
        _ => frac.parse().ok()?,
    };
    if whole < 0 {
        return None;
    }
    whole.checked_mul(100)?.checked_add(frac)
}

/// Where an item is, in the terms of SIP2's circulation status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemState {
    Available,
    Charged,
    HoldShelf,
    InTransit,
    Lost,
    Missing,
}

impl ItemState {
    fn from_db(s: &str) -> Self {
        match s {
            "charged" => Self::Charged,
            "hold_shelf" => Self::HoldShelf,
            "in_transit" => Self::InTransit,
            "lost" => Self::Lost,
            "missing" => Self::Missing,
            _ => Self::Available,
        }
    }

    fn db(self) -> &'static str {
        match self {
            Self::Available => "available",
            Self::Charged => "charged",
            Self::HoldShelf => "hold_shelf",
            Self::InTransit => "in_transit",
            Self::Lost => "lost",
            Self::Missing => "missing",
        }
    }

    /// The two-digit SIP2 circulation status (message 18).
    pub fn circulation_status(self) -> &'static str {
        match self {
            Self::Available => "03",
            Self::Charged => "04",
            Self::HoldShelf => "08",
            Self::InTransit => "10",
            Self::Lost => "12",
            Self::Missing => "13",
        }
    }
}

/// One item as the catalogue knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemView {
    pub id: String,
    pub title: String,
    pub author: String,
    pub isbn: String,
    pub media_type: String,
    pub parts: u32,
    pub call_number: String,
    pub home_location: String,
    pub current_location: String,
    pub state: ItemState,
    pub destination: String,
    pub properties: String,
    /// Patron holding the loan, if charged.
    pub borrower: Option<String>,
    pub due: Option<NaiveDateTime>,
    /// Holds placed on this item and not yet collected.
    pub hold_queue: u32,
    /// Patron the item waits for on the hold shelf.
    pub hold_for: Option<String>,
    pub hold_ready_at: Option<NaiveDateTime>,
}

/// A patron's status flags, in SIP2 order (14 flags, `true` = `Y`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PatronFlags(pub [bool; 14]);

impl PatronFlags {
    pub fn as_sip(&self) -> String {
        self.0.iter().map(|&f| if f { 'Y' } else { ' ' }).collect()
    }
}

/// Everything a patron status or information answer needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatronView {
    pub id: String,
    pub name: String,
    pub language: String,
    pub email: String,
    pub phone: String,
    pub address: String,
    pub flags: PatronFlags,
    pub fines_cents: i64,
    pub fee_limit_cents: i64,
    pub loan_limit: u32,
    pub charged: Vec<String>,
    pub overdue: Vec<String>,
    pub holds_ready: Vec<String>,
    pub holds_waiting: Vec<String>,
    /// Every hold, ready or waiting, with its pickup location.
    pub holds: Vec<HoldView>,
    /// One line per unpaid fine ("id amount description").
    pub fines: Vec<String>,
    /// Patron-facing note (why borrowing is refused), empty when all is well.
    pub message: String,
}

impl PatronView {
    pub fn can_borrow(&self) -> bool {
        !self.flags.0[0]
    }
}

/// One of a patron's holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldView {
    pub item_id: String,
    pub title: String,
    /// On the hold shelf at `pickup`; otherwise waiting for the item, at `position` in its
    /// queue.
    pub ready: bool,
    pub position: Option<u32>,
    pub pickup: String,
    pub expires: Option<NaiveDateTime>,
}

/// The outcome of a checkout or renewal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoanOutcome {
    pub ok: bool,
    /// The loan was extended (renewal, or a checkout of an item the patron already had).
    pub renewed: bool,
    pub item: Option<ItemView>,
    pub due: Option<NaiveDateTime>,
    pub message: String,
}

impl LoanOutcome {
    fn refused(item: Option<ItemView>, message: impl Into<String>) -> Self {
        Self {
            ok: false,
            renewed: false,
            item,
            due: None,
            message: message.into(),
        }
    }
}

/// The outcome of a checkin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckinOutcome {
    pub ok: bool,
    pub resensitize: bool,
    pub alert: bool,
    /// 3M alert type (CV): 01 hold here, 02 hold elsewhere, 04 send home.
    pub alert_type: Option<&'static str>,
    pub sort_bin: String,
    pub destination: String,
    pub item: Option<ItemView>,
    pub patron: Option<String>,
    pub message: String,
}

/// Arguments of a checkout (11) or renewal (29).
#[derive(Debug, Clone, Default)]
pub struct LoanRequest<'a> {
    pub patron: &'a str,
    pub item: &'a str,
    pub pin: Option<&'a str>,
    pub no_block: bool,
    pub nb_due: Option<NaiveDateTime>,
    /// The transaction date the terminal gives (the original date for offline replays).
    pub date: Option<NaiveDateTime>,
}

/// Renew all: the renewed and the unrenewed item ids.
pub type Renewals = (Vec<String>, Vec<String>);

/// Hold mode of message 15.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldMode {
    Add,
    Delete,
    Change,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldOutcome {
    pub ok: bool,
    /// Waiting on the hold shelf for the patron (or on the open shelves).
    pub available: bool,
    pub queue_position: Option<u32>,
    pub pickup: String,
    pub expires: Option<NaiveDateTime>,
    pub item: Option<ItemView>,
    pub message: String,
}

/// The catalogue: one SQLite connection.
pub struct Catalogue {
    pub(super) conn: Connection,
}

struct Patron {
    id: String,
    name: String,
    pin_hash: String,
    language: String,
    email: String,
    phone: String,
    address: String,
    charge_denied: bool,
    card_lost: bool,
    loan_limit: i64,
    fee_limit_cents: i64,
}

impl Catalogue {
    /// Opens (or creates) the catalogue; `None` keeps it in memory. Sample data is written when
    /// the catalogue has no item yet.
    pub fn open(path: Option<&Path>, now: NaiveDateTime) -> Result<Self, DemoIlsError> {
        let conn = match path {
            Some(p) => Connection::open(p)?,
            None => Connection::open_in_memory()?,
        };
        conn.execute_batch("PRAGMA foreign_keys = ON;")?;
        conn.execute_batch(SCHEMA)?;
        let mut cat = Self { conn };
        let items: i64 = cat
            .conn
            .query_row("SELECT count(*) FROM items", [], |r| r.get(0))?;
        if items == 0 {
            cat.seed(now)?;
        }
        Ok(cat)
    }

    fn seed(&mut self, now: NaiveDateTime) -> Result<(), DemoIlsError> {
        let tx = self.conn.transaction()?;
        let bad = |s: &str| DemoIlsError::Sample(s.to_owned());
        for r in sample::MEDIA_RULES {
            tx.execute(
                "INSERT INTO media_types VALUES (?1, ?2, ?3, ?4, ?5)",
                params![r.code, r.name, r.loan_days, r.max_renewals, r.max_items],
            )?;
        }
        let mut patron_ids = Vec::new();
        for p in sample::PATRONS {
            let id = sample::with_luhn(p.stem).ok_or_else(|| bad(p.stem))?;
            tx.execute(
                "INSERT INTO patrons (id, name, pin_hash, language, email, phone, address,
                 charge_denied, card_lost, loan_limit) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    id,
                    p.name,
                    pin_hash(&id, p.pin),
                    p.language,
                    p.email,
                    "+39 055 000 0000",
                    p.address,
                    p.charge_denied,
                    p.card_lost,
                    p.loan_limit
                ],
            )?;
            patron_ids.push(id);
        }
        let patron = |i: usize| {
            patron_ids
                .get(i)
                .cloned()
                .ok_or_else(|| bad("patron index"))
        };
        let mut item_ids = Vec::new();
        let ts = fmt(now);
        for it in sample::ITEMS {
            let id = sample::with_luhn(it.stem).ok_or_else(|| bad(it.stem))?;
            let isbn = sample::isbn13(it.isbn_stem).unwrap_or_default();
            let (status, current, destination) = match it.start {
                Start::Shelf => (ItemState::Available, it.home, ""),
                Start::Loan(..) => (ItemState::Charged, it.home, ""),
                Start::HoldShelf(_) => (ItemState::HoldShelf, it.home, ""),
                Start::InTransit(to) => (ItemState::InTransit, sample::MAIN, to),
                Start::Lost => (ItemState::Lost, it.home, ""),
                Start::Missing => (ItemState::Missing, it.home, ""),
            };
            tx.execute(
                "INSERT INTO items (id, title, author, isbn, media_type, parts, call_number,
                 home_location, current_location, status, destination)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    id,
                    it.title,
                    it.author,
                    isbn,
                    it.media,
                    it.parts,
                    it.call_number,
                    it.home,
                    current,
                    status.db(),
                    destination
                ],
            )?;
            match it.start {
                Start::Loan(p, due_in) => {
                    tx.execute(
                        "INSERT INTO loans VALUES (?1, ?2, ?3, ?4, 0)",
                        params![
                            id,
                            patron(p)?,
                            fmt(now - Duration::days(14)),
                            fmt(end_of_day((now + Duration::days(due_in)).date()))
                        ],
                    )?;
                }
                Start::HoldShelf(p) => {
                    tx.execute(
                        "INSERT INTO holds (item_id, patron_id, placed_at, ready_at, pickup, expires)
                         VALUES (?1, ?2, ?3, ?3, ?4, ?5)",
                        params![id, patron(p)?, ts, it.home, fmt(now + Duration::days(7))],
                    )?;
                }
                _ => {}
            }
            item_ids.push(id);
        }
        let item = |i: usize| item_ids.get(i).cloned().ok_or_else(|| bad("item index"));
        for &(p, i, pickup) in sample::WAITING_HOLDS {
            tx.execute(
                "INSERT INTO holds (item_id, patron_id, placed_at, pickup, expires)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    item(i)?,
                    patron(p)?,
                    ts,
                    pickup,
                    fmt(now + Duration::days(90))
                ],
            )?;
        }
        for &(p, i, cents, what) in sample::FINES {
            tx.execute(
                "INSERT INTO fines (patron_id, item_id, cents, description) VALUES (?1, ?2, ?3, ?4)",
                params![patron(p)?, item(i)?, cents, what],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn patron(tx: &Connection, id: &str) -> Result<Option<Patron>, DemoIlsError> {
        Ok(tx
            .query_row(
                "SELECT id, name, pin_hash, language, email, phone, address, charge_denied,
                 card_lost, loan_limit, fee_limit_cents FROM patrons WHERE id = ?1",
                [id],
                |r| {
                    Ok(Patron {
                        id: r.get(0)?,
                        name: r.get(1)?,
                        pin_hash: r.get(2)?,
                        language: r.get(3)?,
                        email: r.get(4)?,
                        phone: r.get(5)?,
                        address: r.get(6)?,
                        charge_denied: r.get(7)?,
                        card_lost: r.get(8)?,
                        loan_limit: r.get(9)?,
                        fee_limit_cents: r.get(10)?,
                    })
                },
            )
            .optional()?)
    }

    fn item_of(conn: &Connection, id: &str) -> Result<Option<ItemView>, DemoIlsError> {
        let row = conn
            .query_row(
                "SELECT i.id, i.title, i.author, i.isbn, i.media_type, i.parts, i.call_number,
                 i.home_location, i.current_location, i.status, i.destination, i.properties,
                 l.patron_id, l.due_at
                 FROM items i LEFT JOIN loans l ON l.item_id = i.id WHERE i.id = ?1",
                [id],
                |r| {
                    let status: String = r.get(9)?;
                    let due: Option<String> = r.get(13)?;
                    let parts: i64 = r.get(5)?;
                    Ok(ItemView {
                        id: r.get(0)?,
                        title: r.get(1)?,
                        author: r.get(2)?,
                        isbn: r.get(3)?,
                        media_type: r.get(4)?,
                        parts: u32::try_from(parts).unwrap_or(1),
                        call_number: r.get(6)?,
                        home_location: r.get(7)?,
                        current_location: r.get(8)?,
                        state: ItemState::from_db(&status),
                        destination: r.get(10)?,
                        properties: r.get(11)?,
                        borrower: r.get(12)?,
                        due: due.as_deref().and_then(parse),
                        hold_queue: 0,
                        hold_for: None,
                        hold_ready_at: None,
                    })
                },
            )
            .optional()?;
        let Some(mut item) = row else { return Ok(None) };
        let queue: i64 =
            conn.query_row("SELECT count(*) FROM holds WHERE item_id = ?1", [id], |r| {
                r.get(0)
            })?;
        item.hold_queue = u32::try_from(queue).unwrap_or(0);
        if let Some((p, at)) = conn
            .query_row(
                "SELECT patron_id, ready_at FROM holds WHERE item_id = ?1 AND ready_at IS NOT NULL
                 ORDER BY id LIMIT 1",
                [id],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
            )
            .optional()?
        {
            item.hold_for = Some(p);
            item.hold_ready_at = parse(&at);
        }
        Ok(Some(item))
    }

    /// The item with this id, if the catalogue has it.
    pub fn item(&self, id: &str) -> Result<Option<ItemView>, DemoIlsError> {
        Self::item_of(&self.conn, id)
    }

    fn fines_of(conn: &Connection, patron: &str) -> Result<Vec<(i64, i64, String)>, DemoIlsError> {
        let mut st = conn
            .prepare("SELECT id, cents, description FROM fines WHERE patron_id = ?1 AND cents > 0 ORDER BY id")?;
        let rows = st.query_map([patron], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn ids(conn: &Connection, sql: &str, arg: &str) -> Result<Vec<String>, DemoIlsError> {
        let mut st = conn.prepare(sql)?;
        let rows = st.query_map([arg], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn view_of(
        conn: &Connection,
        p: &Patron,
        now: NaiveDateTime,
    ) -> Result<PatronView, DemoIlsError> {
        let charged = Self::ids(
            conn,
            "SELECT item_id FROM loans WHERE patron_id = ?1 ORDER BY due_at, item_id",
            &p.id,
        )?;
        let mut overdue = Vec::new();
        {
            let mut st = conn.prepare(
                "SELECT item_id, due_at FROM loans WHERE patron_id = ?1 ORDER BY due_at",
            )?;
            let rows = st.query_map([&p.id], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })?;
            for row in rows {
                let (item, due) = row?;
                if parse(&due).is_some_and(|d| d < now) {
                    overdue.push(item);
                }
            }
        }
        let holds_ready = Self::ids(
            conn,
            "SELECT item_id FROM holds WHERE patron_id = ?1 AND ready_at IS NOT NULL ORDER BY id",
            &p.id,
        )?;
        let holds_waiting = Self::ids(
            conn,
            "SELECT item_id FROM holds WHERE patron_id = ?1 AND ready_at IS NULL ORDER BY id",
            &p.id,
        )?;
        let fines = Self::fines_of(conn, &p.id)?;
        let fines_cents: i64 = fines.iter().map(|f| f.1).sum();
        let over_fines = fines_cents > p.fee_limit_cents;
        let too_many = i64::try_from(charged.len()).unwrap_or(i64::MAX) >= p.loan_limit;
        let mut f = [false; 14];
        f[0] = p.charge_denied || p.card_lost || over_fines;
        f[1] = p.charge_denied || p.card_lost || over_fines;
        f[2] = p.charge_denied || p.card_lost;
        f[3] = p.charge_denied || p.card_lost;
        f[4] = p.card_lost;
        f[5] = too_many;
        f[6] = overdue.len() > OVERDUE_LIMIT;
        f[10] = over_fines;
        let message = if p.card_lost {
            "This card has been reported lost. Please see the staff.".to_owned()
        } else if p.charge_denied {
            "Borrowing is blocked on this card. Please see the staff.".to_owned()
        } else if over_fines {
            format!(
                "You owe {} EUR in fines, over the {} EUR limit. Please pay at the desk.",
                amount(fines_cents),
                amount(p.fee_limit_cents)
            )
        } else {
            String::new()
        };
        Ok(PatronView {
            id: p.id.clone(),
            name: p.name.clone(),
            language: p.language.clone(),
            email: p.email.clone(),
            phone: p.phone.clone(),
            address: p.address.clone(),
            flags: PatronFlags(f),
            fines_cents,
            fee_limit_cents: p.fee_limit_cents,
            loan_limit: u32::try_from(p.loan_limit).unwrap_or(0),
            charged,
            overdue,
            holds_ready,
            holds_waiting,
            holds: Self::holds_of(conn, &p.id)?,
            fines: fines
                .iter()
                .map(|(id, c, d)| format!("{id} {} {d}", amount(*c)))
                .collect(),
            message,
        })
    }

    /// The patron's record, or `None` for an unknown card.
    pub fn patron_view(
        &self,
        id: &str,
        now: NaiveDateTime,
    ) -> Result<Option<PatronView>, DemoIlsError> {
        match Self::patron(&self.conn, id)? {
            Some(p) => Ok(Some(Self::view_of(&self.conn, &p, now)?)),
            None => Ok(None),
        }
    }

    /// `None` when the patron is unknown, else whether the PIN matches.
    pub fn check_pin(&self, patron: &str, pin: &str) -> Result<Option<bool>, DemoIlsError> {
        Ok(Self::patron(&self.conn, patron)?.map(|p| p.pin_hash == pin_hash(&p.id, pin)))
    }

    pub(super) fn log(
        tx: &Transaction<'_>,
        kind: &str,
        patron: Option<&str>,
        item: Option<&str>,
        at: NaiveDateTime,
        due: Option<NaiveDateTime>,
        detail: &str,
    ) -> Result<(), DemoIlsError> {
        tx.execute(
            "INSERT INTO transactions (kind, patron_id, item_id, at, due_at, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![kind, patron, item, fmt(at), due.map(fmt), detail],
        )?;
        Ok(())
    }

    fn rule(conn: &Connection, media: &str) -> Result<(i64, i64, i64), DemoIlsError> {
        Ok(conn
            .query_row(
                "SELECT loan_days, max_renewals, max_items FROM media_types WHERE code = ?1",
                [media],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?
            .unwrap_or((21, 0, 10)))
    }

    /// Identifies the patron and applies the PIN check shared by every circulation message.
    fn identify(
        conn: &Connection,
        patron: &str,
        pin: Option<&str>,
    ) -> Result<Result<Patron, String>, DemoIlsError> {
        let Some(p) = Self::patron(conn, patron)? else {
            return Ok(Err(
                "This library card is not recognised. Please see the staff.".into(),
            ));
        };
        if let Some(pin) = pin.filter(|s| !s.is_empty())
            && p.pin_hash != pin_hash(&p.id, pin)
        {
            return Ok(Err("The PIN is not correct. Please try again.".into()));
        }
        Ok(Ok(p))
    }

    /// Checkout (11). An item already charged to the same patron is renewed when renewals
    /// remain, as Koha does, except under no-block: an offline replay of a loan the ILS already
    /// has is acknowledged (ok, due date unchanged) without extending it, so replaying twice
    /// never changes anything.
    pub fn checkout(
        &mut self,
        req: &LoanRequest<'_>,
        now: NaiveDateTime,
    ) -> Result<LoanOutcome, DemoIlsError> {
        let tx = self.conn.transaction()?;
        let p = match Self::identify(&tx, req.patron, req.pin)? {
            Ok(p) => p,
            Err(msg) => return Ok(LoanOutcome::refused(Self::item_of(&tx, req.item)?, msg)),
        };
        let Some(item) = Self::item_of(&tx, req.item)? else {
            return Ok(LoanOutcome::refused(
                None,
                "This item is not in the catalogue. Please see the staff.",
            ));
        };
        if item.borrower.as_deref() == Some(p.id.as_str()) {
            if req.no_block {
                let due = item.due;
                return Ok(LoanOutcome {
                    ok: true,
                    renewed: false,
                    item: Some(item),
                    due,
                    message: "This item is already checked out to you.".into(),
                });
            }
            drop(tx);
            let mut out = self.renew(req, now)?;
            if !out.ok {
                // Still on loan to this patron: the checkout itself is not an error.
                let current = self.item(req.item)?;
                out = LoanOutcome {
                    ok: true,
                    renewed: false,
                    due: current.as_ref().and_then(|i| i.due),
                    item: current,
                    message: format!("This item is already checked out to you. {}", out.message),
                };
            }
            return Ok(out);
        }
        if item.borrower.is_some() {
            return Ok(LoanOutcome::refused(
                Some(item),
                "This item is checked out to another reader. Please see the staff.",
            ));
        }
        if item.hold_for.as_deref().is_some_and(|h| h != p.id) {
            return Ok(LoanOutcome::refused(
                Some(item),
                "This item is reserved for another reader. Please leave it at the desk.",
            ));
        }
        let view = Self::view_of(&tx, &p, now)?;
        let (loan_days, _, media_max) = Self::rule(&tx, &item.media_type)?;
        if !req.no_block {
            if !view.message.is_empty() {
                return Ok(LoanOutcome::refused(Some(item), view.message));
            }
            match item.state {
                ItemState::Lost | ItemState::Missing => {
                    return Ok(LoanOutcome::refused(
                        Some(item),
                        "This item is recorded as missing. Please take it to the desk.",
                    ));
                }
                ItemState::InTransit => {
                    return Ok(LoanOutcome::refused(
                        Some(item),
                        "This item is on its way to another library. Please leave it at the desk.",
                    ));
                }
                _ => {}
            }
            if view.flags.0[5] {
                return Ok(LoanOutcome::refused(
                    Some(item),
                    format!(
                        "You have reached your limit of {} items on loan.",
                        view.loan_limit
                    ),
                ));
            }
            let same_media: i64 = tx.query_row(
                "SELECT count(*) FROM loans l JOIN items i ON i.id = l.item_id WHERE l.patron_id = ?1 AND i.media_type = ?2",
                params![p.id, item.media_type],
                |r| r.get(0),
            )?;
            if same_media >= media_max {
                return Ok(LoanOutcome::refused(
                    Some(item),
                    format!("You may borrow at most {media_max} items of this kind at a time."),
                ));
            }
        }
        let loaned_at = req.date.unwrap_or(now);
        let due = match (req.no_block, req.nb_due) {
            (true, Some(d)) => d,
            _ => end_of_day((now + Duration::days(loan_days)).date()),
        };
        tx.execute(
            "INSERT INTO loans VALUES (?1, ?2, ?3, ?4, 0)",
            params![item.id, p.id, fmt(loaned_at), fmt(due)],
        )?;
        tx.execute(
            "UPDATE items SET status = 'charged', destination = '' WHERE id = ?1",
            [&item.id],
        )?;
        // Collecting a hold fills it.
        tx.execute(
            "DELETE FROM holds WHERE item_id = ?1 AND patron_id = ?2",
            params![item.id, p.id],
        )?;
        let detail = if req.no_block { "no block" } else { "" };
        Self::log(
            &tx,
            "checkout",
            Some(&p.id),
            Some(&item.id),
            loaned_at,
            Some(due),
            detail,
        )?;
        let item = Self::item_of(&tx, &item.id)?;
        tx.commit()?;
        let mut message = String::new();
        if let Some(i) = item.as_ref().filter(|i| i.parts > 1) {
            message = format!(
                "This is a set of {} parts: please check they are all in the box.",
                i.parts
            );
        }
        Ok(LoanOutcome {
            ok: true,
            renewed: false,
            item,
            due: Some(due),
            message,
        })
    }

    /// Renewal (29) of one loan.
    pub fn renew(
        &mut self,
        req: &LoanRequest<'_>,
        now: NaiveDateTime,
    ) -> Result<LoanOutcome, DemoIlsError> {
        let tx = self.conn.transaction()?;
        let p = match Self::identify(&tx, req.patron, req.pin)? {
            Ok(p) => p,
            Err(msg) => return Ok(LoanOutcome::refused(Self::item_of(&tx, req.item)?, msg)),
        };
        let Some(item) = Self::item_of(&tx, req.item)? else {
            return Ok(LoanOutcome::refused(
                None,
                "This item is not in the catalogue.",
            ));
        };
        let out = Self::renew_in(&tx, &p, item, req, now)?;
        tx.commit()?;
        Ok(out)
    }

    fn renew_in(
        tx: &Transaction<'_>,
        p: &Patron,
        item: ItemView,
        req: &LoanRequest<'_>,
        now: NaiveDateTime,
    ) -> Result<LoanOutcome, DemoIlsError> {
        if item.borrower.as_deref() != Some(p.id.as_str()) {
            return Ok(LoanOutcome::refused(
                Some(item),
                "This item is not on loan to you.",
            ));
        }
        let view = Self::view_of(tx, p, now)?;
        if !req.no_block && view.flags.0[1] {
            return Ok(LoanOutcome::refused(Some(item), view.message));
        }
        if item.hold_queue > 0 {
            return Ok(LoanOutcome::refused(
                Some(item),
                "Another reader has reserved this item, so it cannot be renewed.",
            ));
        }
        let (loan_days, max_renewals, _) = Self::rule(tx, &item.media_type)?;
        let renewals: i64 = tx.query_row(
            "SELECT renewals FROM loans WHERE item_id = ?1",
            [&item.id],
            |r| r.get(0),
        )?;
        if renewals >= max_renewals {
            return Ok(LoanOutcome::refused(
                Some(item),
                "This item cannot be renewed again.",
            ));
        }
        let due = match (req.no_block, req.nb_due) {
            (true, Some(d)) => d,
            _ => end_of_day((now + Duration::days(loan_days)).date()),
        };
        tx.execute(
            "UPDATE loans SET due_at = ?2, renewals = renewals + 1 WHERE item_id = ?1",
            params![item.id, fmt(due)],
        )?;
        Self::log(
            tx,
            "renew",
            Some(&p.id),
            Some(&item.id),
            req.date.unwrap_or(now),
            Some(due),
            "",
        )?;
        let item = Self::item_of(tx, &item.id)?;
        Ok(LoanOutcome {
            ok: true,
            renewed: true,
            item,
            due: Some(due),
            message: String::new(),
        })
    }

    /// Renew all (65): the renewed and the unrenewed item ids.
    pub fn renew_all(
        &mut self,
        patron: &str,
        pin: Option<&str>,
        now: NaiveDateTime,
    ) -> Result<Result<Renewals, String>, DemoIlsError> {
        let tx = self.conn.transaction()?;
        let p = match Self::identify(&tx, patron, pin)? {
            Ok(p) => p,
            Err(msg) => return Ok(Err(msg)),
        };
        let loans = Self::ids(
            &tx,
            "SELECT item_id FROM loans WHERE patron_id = ?1 ORDER BY item_id",
            &p.id,
        )?;
        let (mut done, mut not) = (Vec::new(), Vec::new());
        for id in loans {
            let Some(item) = Self::item_of(&tx, &id)? else {
                continue;
            };
            let req = LoanRequest {
                patron,
                item: &id,
                ..LoanRequest::default()
            };
            if Self::renew_in(&tx, &p, item, &req, now)?.ok {
                done.push(id);
            } else {
                not.push(id);
            }
        }
        tx.commit()?;
        Ok(Ok((done, not)))
    }

    /// Checkin (09). Returning an item that is not on loan is acknowledged (ok) without a
    /// transaction, so a replayed return is harmless.
    pub fn checkin(
        &mut self,
        item_id: &str,
        location: &str,
        return_date: Option<NaiveDateTime>,
        now: NaiveDateTime,
    ) -> Result<CheckinOutcome, DemoIlsError> {
        let tx = self.conn.transaction()?;
        let Some(item) = Self::item_of(&tx, item_id)? else {
            return Ok(CheckinOutcome {
                ok: false,
                resensitize: false,
                alert: true,
                alert_type: Some("99"),
                sort_bin: "X".into(),
                destination: String::new(),
                item: None,
                patron: None,
                message: "This item is not in the catalogue. Please leave it at the desk.".into(),
            });
        };
        let returned = return_date.unwrap_or(now);
        // The demo library has two branches; any other location code (a kiosk's "LOBBY") is a
        // terminal inside the main library.
        let here = if location == sample::BRANCH {
            sample::BRANCH
        } else {
            sample::MAIN
        };
        let patron = item.borrower.clone();
        let mut message = String::new();
        if let Some(p) = &patron {
            tx.execute("DELETE FROM loans WHERE item_id = ?1", [&item.id])?;
            if let Some(due) = item.due.filter(|d| *d < returned) {
                let days = (returned.date() - due.date()).num_days().max(1);
                let cents = days * FINE_PER_DAY;
                tx.execute(
                    "INSERT INTO fines (patron_id, item_id, cents, description) VALUES (?1, ?2, ?3, ?4)",
                    params![p, item.id, cents, format!("Overdue: {}", item.title)],
                )?;
                message = format!(
                    "Returned {days} days late: a fine of {} EUR was added.",
                    amount(cents)
                );
            }
            Self::log(
                &tx,
                "checkin",
                Some(p),
                Some(&item.id),
                returned,
                None,
                here,
            )?;
        } else if item.state == ItemState::Available {
            message = "This item was not checked out.".into();
        }
        let (state, destination, bin, alert_type) = Self::next_place(&tx, &item, here, now)?;
        tx.execute(
            "UPDATE items SET status = ?2, current_location = ?3, destination = ?4 WHERE id = ?1",
            params![item.id, state.db(), here, destination],
        )?;
        if message.is_empty() {
            message = match state {
                ItemState::HoldShelf => {
                    "Reserved for another reader: put it on the hold shelf.".into()
                }
                ItemState::InTransit => format!("Send this item to {destination}."),
                _ => "Thank you.".into(),
            };
        }
        let item = Self::item_of(&tx, &item.id)?;
        tx.commit()?;
        Ok(CheckinOutcome {
            ok: true,
            resensitize: true,
            alert: alert_type.is_some(),
            alert_type,
            sort_bin: bin.into(),
            destination,
            item,
            patron,
            message,
        })
    }

    /// Where an item at `here` goes next: to the first hold in its queue (on the hold shelf
    /// when it is picked up here, which makes the hold ready), else home. Returns the state,
    /// the destination, the sort bin and the 3M alert type.
    fn next_place(
        tx: &Connection,
        item: &ItemView,
        here: &str,
        now: NaiveDateTime,
    ) -> Result<(ItemState, String, &'static str, Option<&'static str>), DemoIlsError> {
        let next_hold: Option<(i64, String)> = tx
            .query_row(
                "SELECT id, pickup FROM holds WHERE item_id = ?1 ORDER BY id LIMIT 1",
                [&item.id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        Ok(match next_hold {
            Some((hold, pickup)) if pickup == here => {
                tx.execute(
                    "UPDATE holds SET ready_at = ?2 WHERE id = ?1 AND ready_at IS NULL",
                    params![hold, fmt(now)],
                )?;
                (ItemState::HoldShelf, pickup, "H", Some("01"))
            }
            Some((_, pickup)) => (ItemState::InTransit, pickup, "T", Some("02")),
            None if item.home_location != here => (
                ItemState::InTransit,
                item.home_location.clone(),
                "T",
                Some("04"),
            ),
            None => {
                let bin = match item.media_type.as_str() {
                    "002" => "M",
                    "005" | "006" => "AV",
                    _ => "A",
                };
                (ItemState::Available, String::new(), bin, None)
            }
        })
    }

    /// Item status update (19): stores the item properties.
    pub fn update_properties(
        &mut self,
        item: &str,
        properties: &str,
        now: NaiveDateTime,
    ) -> Result<bool, DemoIlsError> {
        let tx = self.conn.transaction()?;
        let n = tx.execute(
            "UPDATE items SET properties = ?2 WHERE id = ?1",
            params![item, properties],
        )?;
        if n > 0 {
            Self::log(
                &tx,
                "status_update",
                None,
                Some(item),
                now,
                None,
                properties,
            )?;
        }
        tx.commit()?;
        Ok(n > 0)
    }

    /// Fee paid (37): pays the given fine (or the oldest ones). Returns whether it was accepted
    /// and a message.
    pub fn pay(
        &mut self,
        patron: &str,
        pin: Option<&str>,
        cents: i64,
        fee_id: Option<&str>,
        now: NaiveDateTime,
    ) -> Result<(bool, String), DemoIlsError> {
        let tx = self.conn.transaction()?;
        let p = match Self::identify(&tx, patron, pin)? {
            Ok(p) => p,
            Err(msg) => return Ok((false, msg)),
        };
        if cents <= 0 {
            return Ok((false, "The amount must be more than zero.".into()));
        }
        let mut fines = Self::fines_of(&tx, &p.id)?;
        if let Some(id) = fee_id.filter(|s| !s.is_empty()) {
            fines.retain(|f| f.0.to_string() == id);
            if fines.is_empty() {
                return Ok((false, "No unpaid fee has that number.".into()));
            }
        }
        let owed: i64 = fines.iter().map(|f| f.1).sum();
        if cents > owed {
            return Ok((
                false,
                format!("The amount is more than the {} EUR owed.", amount(owed)),
            ));
        }
        let mut left = cents;
        for (id, c, _) in fines {
            let take = left.min(c);
            tx.execute(
                "UPDATE fines SET cents = cents - ?2 WHERE id = ?1",
                params![id, take],
            )?;
            left -= take;
            if left == 0 {
                break;
            }
        }
        Self::log(
            &tx,
            "fee_paid",
            Some(&p.id),
            None,
            now,
            None,
            &amount(cents),
        )?;
        tx.commit()?;
        Ok((true, format!("Thank you: {} EUR paid.", amount(cents))))
    }

    /// Hold (15): place (`+`), cancel (`-`) or move to another pickup location (`*` with BS),
    /// home delivery included. A hold already on the shelf that moves travels to its new
    /// pickup location and waits again; a cancelled one frees the item for the next hold.
    pub fn hold(
        &mut self,
        mode: HoldMode,
        patron: &str,
        pin: Option<&str>,
        item_id: &str,
        pickup: &str,
        now: NaiveDateTime,
    ) -> Result<HoldOutcome, DemoIlsError> {
        let tx = self.conn.transaction()?;
        let refused = |item, message: String| HoldOutcome {
            ok: false,
            available: false,
            queue_position: None,
            pickup: String::new(),
            expires: None,
            item,
            message,
        };
        let p = match Self::identify(&tx, patron, pin)? {
            Ok(p) => p,
            Err(msg) => return Ok(refused(None, msg)),
        };
        let Some(item) = Self::item_of(&tx, item_id)? else {
            return Ok(refused(None, "This item is not in the catalogue.".into()));
        };
        let existing: Option<(i64, String, Option<String>)> = tx
            .query_row(
                "SELECT id, pickup, ready_at FROM holds WHERE item_id = ?1 AND patron_id = ?2",
                params![item.id, p.id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let pickup = match (pickup.trim(), &existing) {
            ("", Some((_, current, _))) => current.clone(),
            ("", None) => item.home_location.clone(),
            (wanted, _) => wanted.to_owned(),
        };
        if mode != HoldMode::Delete {
            if !sample::PICKUP_LOCATIONS.contains(&pickup.as_str()) {
                return Ok(refused(
                    Some(item),
                    format!(
                        "\"{pickup}\" is not a pickup location (choose: {}).",
                        sample::PICKUP_LOCATIONS.join(", ")
                    ),
                ));
            }
            if pickup == sample::HOME_DELIVERY && p.address.trim().is_empty() {
                return Ok(refused(
                    Some(item),
                    "The library has no home address for you. Please see the staff.".into(),
                ));
            }
        }
        let message = match (mode, &existing) {
            (HoldMode::Add, Some(_)) => {
                return Ok(refused(
                    Some(item),
                    "You already have a hold on this item.".into(),
                ));
            }
            (HoldMode::Add, None) => {
                if Self::view_of(&tx, &p, now)?.flags.0[3] {
                    return Ok(refused(
                        Some(item),
                        "Holds are blocked on this card. Please see the staff.".into(),
                    ));
                }
                tx.execute(
                    "INSERT INTO holds (item_id, patron_id, placed_at, pickup, expires) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![item.id, p.id, fmt(now), pickup, fmt(now + Duration::days(90))],
                )?;
                "Your hold has been placed."
            }
            (HoldMode::Delete, Some((id, _, ready))) => {
                tx.execute("DELETE FROM holds WHERE id = ?1", [id])?;
                if ready.is_some() && item.state == ItemState::HoldShelf {
                    // Off the hold shelf: to the next hold, or back to the shelves.
                    let here = item.current_location.clone();
                    let (state, destination, _, _) = Self::next_place(&tx, &item, &here, now)?;
                    tx.execute(
                        "UPDATE items SET status = ?2, destination = ?3 WHERE id = ?1",
                        params![item.id, state.db(), destination],
                    )?;
                }
                "Your hold has been cancelled."
            }
            (HoldMode::Change, Some((id, _, ready))) => {
                tx.execute(
                    "UPDATE holds SET pickup = ?2 WHERE id = ?1",
                    params![id, pickup],
                )?;
                if ready.is_some() && item.current_location != pickup {
                    // It waits at the old place: it travels, and is ready again on arrival.
                    tx.execute("UPDATE holds SET ready_at = NULL WHERE id = ?1", [id])?;
                    tx.execute(
                        "UPDATE items SET status = 'in_transit', destination = ?2 WHERE id = ?1",
                        params![item.id, pickup],
                    )?;
                }
                if pickup == sample::HOME_DELIVERY {
                    "Your hold will be delivered to your home address."
                } else {
                    "Your hold has been changed."
                }
            }
            (_, None) => return Ok(refused(Some(item), "You have no hold on this item.".into())),
        };
        let mode_name = match mode {
            HoldMode::Add => "add",
            HoldMode::Delete => "delete",
            HoldMode::Change => "change",
        };
        Self::log(
            &tx,
            "hold",
            Some(&p.id),
            Some(&item.id),
            now,
            None,
            &format!("{mode_name} {pickup}"),
        )?;
        let hold = Self::holds_of(&tx, &p.id)?
            .into_iter()
            .find(|h| h.item_id == item.id);
        let item = Self::item_of(&tx, &item.id)?;
        tx.commit()?;
        Ok(HoldOutcome {
            ok: true,
            available: hold.as_ref().is_some_and(|h| h.ready)
                || item
                    .as_ref()
                    .is_some_and(|i| i.state == ItemState::Available),
            queue_position: hold.as_ref().and_then(|h| h.position),
            expires: hold.as_ref().and_then(|h| h.expires),
            pickup,
            item,
            message: message.into(),
        })
    }

    /// The patron's holds, oldest first, with their place in each item's queue.
    fn holds_of(conn: &Connection, patron: &str) -> Result<Vec<HoldView>, DemoIlsError> {
        let mut st = conn.prepare(
            "SELECT h.item_id, i.title, h.ready_at IS NOT NULL, h.pickup, h.expires,
             (SELECT count(*) FROM holds q WHERE q.item_id = h.item_id AND q.id <= h.id)
             FROM holds h JOIN items i ON i.id = h.item_id WHERE h.patron_id = ?1 ORDER BY h.id",
        )?;
        let rows = st.query_map([patron], |r| {
            let expires: String = r.get(4)?;
            let position: i64 = r.get(5)?;
            Ok(HoldView {
                item_id: r.get(0)?,
                title: r.get(1)?,
                ready: r.get(2)?,
                pickup: r.get(3)?,
                expires: parse(&expires),
                position: u32::try_from(position).ok().filter(|&n| n > 0),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Block patron (01) sets `blocked`; patron enable (25) clears the block and the lost-card
    /// flag.
    pub fn set_blocked(
        &mut self,
        patron: &str,
        blocked: bool,
        reason: &str,
        now: NaiveDateTime,
    ) -> Result<bool, DemoIlsError> {
        let tx = self.conn.transaction()?;
        let n = if blocked {
            tx.execute(
                "UPDATE patrons SET charge_denied = 1 WHERE id = ?1",
                [patron],
            )?
        } else {
            tx.execute(
                "UPDATE patrons SET charge_denied = 0, card_lost = 0 WHERE id = ?1",
                [patron],
            )?
        };
        if n > 0 {
            Self::log(
                &tx,
                if blocked { "block" } else { "enable" },
                Some(patron),
                None,
                now,
                None,
                reason,
            )?;
        }
        tx.commit()?;
        Ok(n > 0)
    }

    /// Item ids on loan to the patron.
    pub fn loans_of(&self, patron: &str) -> Result<Vec<String>, DemoIlsError> {
        Self::ids(
            &self.conn,
            "SELECT item_id FROM loans WHERE patron_id = ?1 ORDER BY item_id",
            patron,
        )
    }

    /// Number of transactions recorded, of one kind (`checkout`, `checkin`, ...) or of all
    /// kinds.
    pub fn transaction_count(&self, kind: Option<&str>) -> Result<u64, DemoIlsError> {
        let n: i64 = match kind {
            Some(k) => self.conn.query_row(
                "SELECT count(*) FROM transactions WHERE kind = ?1",
                [k],
                |r| r.get(0),
            )?,
            None => self
                .conn
                .query_row("SELECT count(*) FROM transactions", [], |r| r.get(0))?,
        };
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, 28)
            .and_then(|d| d.and_hms_opt(10, 15, 0))
            .unwrap_or_default()
    }

    fn id(stem: &str) -> String {
        sample::with_luhn(stem).unwrap_or_default()
    }

    fn cat() -> Catalogue {
        Catalogue::open(None, now()).expect("open")
    }

    fn loan<'a>(patron: &'a str, item: &'a str) -> LoanRequest<'a> {
        LoanRequest {
            patron,
            item,
            ..LoanRequest::default()
        }
    }

    #[test]
    fn amounts() {
        assert_eq!(amount(1250), "12.50");
        assert_eq!(amount(5), "0.05");
        assert_eq!(parse_amount("12.5"), Some(1250));
        assert_eq!(parse_amount("3"), Some(300));
        assert_eq!(parse_amount(".75"), Some(75));
        assert_eq!(parse_amount("1.234"), None);
        assert_eq!(parse_amount(""), None);
        assert_eq!(parse_amount("-1"), None);
        assert_eq!(parse_amount("x"), None);
    }

    #[test]
    fn sample_patrons_have_their_stories() {
        let c = cat();
        let smith = c
            .patron_view(&id("2100000000003"), now())
            .expect("db")
            .expect("db");
        assert!(smith.flags.0[10] && !smith.can_borrow());
        assert_eq!(smith.fines_cents, 1500);
        assert_eq!(smith.overdue.len(), 1);
        let zhang = c
            .patron_view(&id("2100000000004"), now())
            .expect("db")
            .expect("db");
        assert!(zhang.flags.0[0] && !zhang.flags.0[4]);
        let marco = c
            .patron_view(&id("2100000000005"), now())
            .expect("db")
            .expect("db");
        assert_eq!(marco.holds_ready, vec![id("3100000000010")]);
        let emily = c
            .patron_view(&id("2100000000006"), now())
            .expect("db")
            .expect("db");
        assert!(emily.flags.0[4]);
        let wang = c
            .patron_view(&id("2100000000007"), now())
            .expect("db")
            .expect("db");
        assert_eq!(wang.charged.len() + 1, wang.loan_limit as usize);
        let anna = c
            .patron_view(&id("2100000000008"), now())
            .expect("db")
            .expect("db");
        assert_eq!(anna.holds_waiting.len(), 2);
        assert!(
            c.patron_view("29999999999999", now())
                .expect("db")
                .is_none()
        );
        assert_eq!(
            c.check_pin(&id("2100000000001"), "1234").expect("db"),
            Some(true)
        );
        assert_eq!(
            c.check_pin(&id("2100000000001"), "9999").expect("db"),
            Some(false)
        );
    }

    #[test]
    fn checkout_and_checkin_are_recorded_once() {
        let mut c = cat();
        let (p, i) = (id("2100000000002"), id("3100000000009"));
        let out = c
            .checkout(
                &LoanRequest {
                    pin: Some("2345"),
                    ..loan(&p, &i)
                },
                now(),
            )
            .expect("db");
        assert!(out.ok, "{}", out.message);
        assert_eq!(
            out.due.map(|d| d.date()),
            NaiveDate::from_ymd_opt(2026, 12, 26)
        );
        assert!(c.loans_of(&p).expect("db").contains(&i));
        assert_eq!(
            c.item(&i).expect("db").expect("db").state,
            ItemState::Charged
        );
        // An offline replay of the same loan is acknowledged and changes nothing.
        let again = c
            .checkout(
                &LoanRequest {
                    no_block: true,
                    ..loan(&p, &i)
                },
                now(),
            )
            .expect("db");
        assert!(again.ok && !again.renewed);
        assert_eq!(again.due, out.due);
        assert_eq!(c.transaction_count(Some("checkout")).expect("db"), 1);
        let back = c.checkin(&i, "", None, now()).expect("db");
        assert!(back.ok && back.resensitize && !back.alert);
        assert_eq!(back.sort_bin, "A");
        let twice = c.checkin(&i, "", None, now()).expect("db");
        assert!(twice.ok);
        assert_eq!(c.transaction_count(Some("checkin")).expect("db"), 1);
        assert!(!c.loans_of(&p).expect("db").contains(&i));
    }

    #[test]
    fn refusals() {
        let mut c = cat();
        let li = id("2100000000001");
        let cases = [
            (loan(&li, "31000000000000"), "not in the catalogue"),
            (
                LoanRequest {
                    pin: Some("0000"),
                    ..loan(&li, "3100000000009")
                },
                "PIN",
            ),
        ];
        for (req, want) in cases {
            let out = c.checkout(&req, now()).expect("db");
            assert!(!out.ok && out.message.contains(want), "{}", out.message);
        }
        let checks = [
            (id("2100000000001"), id("3100000000012"), "another reader"),
            (id("2100000000001"), id("3100000000010"), "reserved"),
            (id("2100000000003"), id("3100000000001"), "fines"),
            (id("2100000000004"), id("3100000000001"), "blocked"),
            (id("2100000000006"), id("3100000000001"), "lost"),
            (id("2100000000001"), id("3100000000008"), "missing"),
            (id("2100000000001"), id("3100000000006"), "on its way"),
            (
                "21000000000000".to_owned(),
                id("3100000000001"),
                "not recognised",
            ),
        ];
        for (p, i, want) in checks {
            let out = c.checkout(&loan(&p, &i), now()).expect("db");
            assert!(
                !out.ok && out.message.contains(want),
                "{p} {i}: {}",
                out.message
            );
        }
        assert_eq!(c.transaction_count(None).expect("db"), 0);
    }

    #[test]
    fn loan_limit_and_no_block() {
        let mut c = cat();
        let wang = id("2100000000007");
        assert!(
            c.checkout(&loan(&wang, &id("3100000000001")), now())
                .expect("db")
                .ok
        );
        let out = c
            .checkout(&loan(&wang, &id("3100000000003")), now())
            .expect("db");
        assert!(!out.ok && out.message.contains("limit of 5"));
        // No block: the kiosk already lent it offline, with its own due date.
        let nb_due = NaiveDate::from_ymd_opt(2026, 12, 1).and_then(|d| d.and_hms_opt(23, 59, 59));
        let out = c
            .checkout(
                &LoanRequest {
                    no_block: true,
                    nb_due,
                    ..loan(&wang, &id("3100000000003"))
                },
                now(),
            )
            .expect("db");
        assert!(out.ok);
        assert_eq!(out.due, nb_due);
        assert_eq!(
            c.item(&id("3100000000003")).expect("db").expect("db").due,
            nb_due
        );
    }

    #[test]
    fn hold_shelf_collection_and_hold_routing() {
        let mut c = cat();
        let marco = id("2100000000005");
        let rosa = id("3100000000010");
        assert!(c.checkout(&loan(&marco, &rosa), now()).expect("db").ok);
        assert!(
            c.patron_view(&marco, now())
                .expect("db")
                .expect("db")
                .holds_ready
                .is_empty()
        );
        // 三体 is on loan to Li Wei with a hold for Anna: its return goes to the hold shelf.
        let out = c
            .checkin(&id("3100000000002"), "", None, now())
            .expect("db");
        assert_eq!((out.sort_bin.as_str(), out.alert_type), ("H", Some("01")));
        assert_eq!(out.destination, sample::MAIN);
        let anna = c
            .patron_view(&id("2100000000008"), now())
            .expect("db")
            .expect("db");
        assert_eq!(anna.holds_ready, vec![id("3100000000002")]);
        // A branch item returned at the main library travels home.
        let out = c
            .checkin(&id("3100000000016"), sample::MAIN, None, now())
            .expect("db");
        assert_eq!(
            (out.alert_type, out.destination.as_str()),
            (Some("04"), sample::BRANCH)
        );
    }

    #[test]
    fn renewals_and_fees() {
        let mut c = cat();
        let giulia = id("2100000000002");
        let gatto = id("3100000000012");
        let r1 = c.renew(&loan(&giulia, &gatto), now()).expect("db");
        assert!(r1.ok && r1.renewed);
        assert!(c.renew(&loan(&giulia, &gatto), now()).expect("db").ok);
        let r3 = c.renew(&loan(&giulia, &gatto), now()).expect("db");
        assert!(!r3.ok && r3.message.contains("cannot be renewed"));
        // On hold for Anna: not renewable.
        let li = id("2100000000001");
        let (done, not) = c.renew_all(&li, None, now()).expect("db").expect("db");
        assert!(done.is_empty() && not == vec![id("3100000000002")]);
        let smith = id("2100000000003");
        assert!(!c.pay(&smith, None, 99_999, None, now()).expect("db").0);
        assert!(c.pay(&smith, None, 600, None, now()).expect("db").0);
        let v = c.patron_view(&smith, now()).expect("db").expect("db");
        assert_eq!(v.fines_cents, 900);
        assert!(v.can_borrow());
    }

    #[test]
    fn holds_and_blocks() {
        let mut c = cat();
        let giulia = id("2100000000002");
        let out = c
            .hold(
                HoldMode::Add,
                &giulia,
                None,
                &id("3100000000002"),
                "",
                now(),
            )
            .expect("db");
        assert!(out.ok && !out.available);
        assert_eq!(out.queue_position, Some(2));
        assert!(
            c.hold(
                HoldMode::Delete,
                &giulia,
                None,
                &id("3100000000002"),
                "",
                now()
            )
            .expect("db")
            .ok
        );
        assert!(
            !c.hold(
                HoldMode::Delete,
                &giulia,
                None,
                &id("3100000000002"),
                "",
                now()
            )
            .expect("db")
            .ok
        );
        assert!(
            c.set_blocked(&giulia, true, "card retained", now())
                .expect("db")
        );
        assert!(
            !c.patron_view(&giulia, now())
                .expect("db")
                .expect("db")
                .can_borrow()
        );
        assert!(c.set_blocked(&giulia, false, "", now()).expect("db"));
        assert!(
            c.patron_view(&giulia, now())
                .expect("db")
                .expect("db")
                .can_borrow()
        );
        assert!(
            c.update_properties(&id("3100000000001"), "RFID", now())
                .expect("db")
        );
        assert!(!c.update_properties("3", "RFID", now()).expect("db"));
    }

    #[test]
    fn holds_move_between_pickup_locations_and_home() {
        let mut c = cat();
        let li = id("2100000000001");
        let frankenstein = id("3100000000023");
        let film = id("3100000000031");
        let view = c.patron_view(&li, now()).expect("db").expect("li");
        assert_eq!(view.holds_ready, vec![film.clone()]);
        assert_eq!(view.holds_waiting, vec![frankenstein.clone()]);
        assert_eq!(view.address, "Via Cavour 12, 50129 Firenze");
        let waiting = view
            .holds
            .iter()
            .find(|h| h.item_id == frankenstein)
            .expect("listed");
        assert_eq!(
            (waiting.ready, waiting.position, waiting.pickup.as_str()),
            (false, Some(1), sample::MAIN)
        );

        let hold = |c: &mut Catalogue, mode, item: &str, pickup: &str| {
            c.hold(mode, &li, None, item, pickup, now()).expect("db")
        };
        let out = hold(&mut c, HoldMode::Change, &frankenstein, sample::BRANCH);
        assert!(out.ok && !out.available, "{}", out.message);
        assert_eq!(
            (out.pickup.as_str(), out.queue_position),
            (sample::BRANCH, Some(1))
        );
        assert!(out.expires.is_some());
        let out = hold(&mut c, HoldMode::Change, &frankenstein, "Moon base");
        assert!(!out.ok && out.message.contains("not a pickup location"));
        let out = hold(
            &mut c,
            HoldMode::Change,
            &frankenstein,
            sample::HOME_DELIVERY,
        );
        assert!(out.ok && out.message.contains("home"), "{}", out.message);
        // Returned at the main library, it goes out for delivery.
        let back = c.checkin(&frankenstein, "", None, now()).expect("db");
        assert_eq!(back.destination, sample::HOME_DELIVERY);

        // A hold on the shelf moved to the branch travels there and waits again.
        let out = hold(&mut c, HoldMode::Change, &film, sample::BRANCH);
        assert!(out.ok && !out.available);
        let item = c.item(&film).expect("db").expect("film");
        assert_eq!(
            (item.state, item.destination.as_str()),
            (ItemState::InTransit, sample::BRANCH)
        );
        let arrived = c.checkin(&film, sample::BRANCH, None, now()).expect("db");
        assert_eq!(arrived.sort_bin, "H");
        assert!(hold(&mut c, HoldMode::Change, &film, sample::BRANCH).available);
        // Cancelled on the shelf, the item is free again and goes home.
        let out = hold(&mut c, HoldMode::Delete, &film, "");
        assert!(out.ok);
        let item = c.item(&film).expect("db").expect("film");
        assert_eq!(
            (item.state, item.destination.as_str()),
            (ItemState::InTransit, sample::MAIN)
        );
        let view = c.patron_view(&li, now()).expect("db").expect("li");
        let left: Vec<&str> = view.holds.iter().map(|h| h.item_id.as_str()).collect();
        assert_eq!(
            left,
            [frankenstein.as_str()],
            "the delivery is still to come"
        );
        assert_eq!(c.transaction_count(Some("hold")).expect("db"), 5);
    }

    #[test]
    fn home_delivery_needs_an_address() {
        let mut c = cat();
        let giulia = id("2100000000002");
        c.conn
            .execute("UPDATE patrons SET address = '' WHERE id = ?1", [&giulia])
            .expect("db");
        let out = c
            .hold(
                HoldMode::Change,
                &giulia,
                None,
                &id("3100000000005"),
                sample::HOME_DELIVERY,
                now(),
            )
            .expect("db");
        assert!(
            !out.ok && out.message.contains("home address"),
            "{}",
            out.message
        );
    }

    #[test]
    fn reopening_a_file_keeps_state() {
        let dir = tempfile::tempdir().expect("db");
        let path = dir.path().join("ils.sqlite");
        let (p, i) = (id("2100000000001"), id("3100000000001"));
        {
            let mut c = Catalogue::open(Some(&path), now()).expect("db");
            assert!(c.checkout(&loan(&p, &i), now()).expect("db").ok);
        }
        let c = Catalogue::open(Some(&path), now()).expect("db");
        assert!(c.loans_of(&p).expect("db").contains(&i));
        assert_eq!(c.transaction_count(None).expect("db"), 1);
    }
}
