//! The counter's core: one bookseller serving one patron at a time, as a state machine.
//!
//! Pure, like [`crate::kiosk`]: an [`Event`] goes in (what the bookseller did, or what the
//! shell found out), [`Effect`]s come out (what to show, what to ask the library system or
//! the store, which tag to program). The shell ([`super::shell`]) carries the effects out and
//! feeds their results back. The order of a loan is fixed here: the patron's standing, the
//! book, the rules, then (after the bookseller confirms) an item id reserved in the store, the
//! tag programmed and read back, and only then the purchase and the loan recorded. An id is
//! reserved before any use and never handed out again, so a crash at any point loses at most
//! an id, never lends a book twice.

use chrono::{Days, NaiveDate};
use serde::Serialize;

use crate::config::verify_pin;
use crate::counter::money::Cents;
use crate::counter::rules::{self, History, Refusal, Standing};
use crate::counter::settings::CounterSettings;
use crate::counter::stock::StockBook;
use crate::store::counter::PatronCounts;

/// Settings the core needs.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    pub counter: CounterSettings,
    /// The patron types their PIN after the card (`terminal.require_pin`).
    pub require_pin: bool,
    /// `staff.pin_hash`: logs a bookseller in as "staff" when `counter.booksellers` is empty.
    pub staff_pin_hash: String,
    /// Days of a counter loan (`offline.loan_days.default`, the site's loan period).
    pub loan_days: u32,
}

impl SessionConfig {
    pub fn from_settings(s: &crate::config::Settings) -> SessionConfig {
        SessionConfig {
            counter: s.counter.clone(),
            require_pin: s.terminal.require_pin,
            staff_pin_hash: s.staff.pin_hash.clone(),
            loan_days: s.offline_loan_days(None),
        }
    }
}

/// What the library system said about the patron (SIP2 63/64), as the shell read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatronFound {
    /// The ILS knows the patron.
    pub known: bool,
    /// The PIN was checked: `Some(false)` when wrong, `None` when none was asked.
    pub pin_ok: Option<bool>,
    pub standing: Standing,
    /// Items the ILS lists as charged to the patron (for the counter books on loan now).
    pub charged: Vec<String>,
}

/// Book data typed by the bookseller (the stock file lacks the book).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(default)]
pub struct TypedBook {
    pub title: String,
    pub author: String,
    pub publisher: String,
    pub year: String,
    /// As typed, e.g. "12.50".
    pub price: String,
    /// ISO 4217; empty: `counter.currency`.
    pub currency: String,
}

/// One input to the core.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A bookseller logs in (a name of `counter.booksellers`, or empty for the staff PIN).
    Login {
        name: String,
        pin: String,
    },
    Logout,
    /// The patron's card number (typed, scanned, or read from a card on the pad).
    Patron(String),
    Pin(String),
    /// The library system's answer about the patron; `Err`: no answer.
    PatronAnswer(Result<PatronFound, String>),
    /// An ISBN as scanned or typed.
    Isbn(String),
    /// The stock file's row for the book (`None`: not in the file); `Err`: unreadable file.
    Stock(Result<Option<StockBook>, String>),
    Typed(TypedBook),
    /// The counter's records for the decision, with today's date.
    Facts {
        counts: PatronCounts,
        last_same_isbn: Option<NaiveDate>,
        today: NaiveDate,
    },
    /// A blank tag is on the pad (its UID), or none is any more.
    Blank(Option<String>),
    /// The bookseller confirms the loan.
    Confirm,
    /// An item id reserved for the book; `Err`: none (the range is used up, or the store).
    Reserved(Result<String, String>),
    /// The tag (or the label) is done and verified; `Err`: why not.
    Marked(Result<(), String>),
    /// Purchase and loan are journaled (the purchase's id); `Err`: the store failed.
    Recorded(Result<i64, String>),
    /// Undo the patron's last counter loan (or the one with this item id).
    Undo(Option<String>),
    Undone(Result<(), String>),
    /// The patron leaves: the next patron may come.
    Done,
    /// Put the book in progress aside.
    Cancel,
}

/// The book as the rules and the purchase need it.
pub type BookData = StockBook;

/// A loan to record: the purchase and the journal row, in this order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLoan {
    pub book: BookData,
    pub item_id: String,
    pub patron_id: String,
    pub bookseller: String,
    pub due: NaiveDate,
    pub today: NaiveDate,
}

/// One output of the core.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Show(Box<CounterModel>),
    /// Ask the ILS about the patron (63, with the charged-items summary).
    AskPatron {
        patron_id: String,
        pin: Option<String>,
    },
    /// Look the ISBN up in the stock file (reread when it changed).
    LookUp {
        isbn13: String,
    },
    /// Read the counter's records: the patron's counter loans, the ISBN's last purchase.
    Facts {
        patron_id: String,
        isbn13: String,
    },
    /// Reserve the next item id of the range (durable before it is used).
    Reserve,
    /// Program the tag `uid` with the item id (owner, data model, on-loan security) and
    /// read it back.
    Program {
        uid: String,
        item_id: String,
    },
    /// Print the item id as a barcode label (a counter without an RFID writer).
    Label {
        item_id: String,
        title: String,
    },
    Record(Box<NewLoan>),
    /// Undo a loan: wipe its tag (when it has one on the pad) and mark the purchase undone.
    Undo {
        purchase_id: i64,
        item_id: String,
        uid: Option<String>,
    },
}

/// Which screen the counter shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Screen {
    /// No bookseller logged in.
    Login,
    /// Waiting for a patron's card.
    Patron,
    Pin,
    /// Asking the library system, the records, or writing: please wait.
    Working,
    /// The patron may borrow: scan a book.
    Isbn,
    /// The stock file lacks the book: type its data.
    BookData,
    /// The rules said yes: place a blank tag (when programming) and confirm.
    Approved,
    /// The rules said no.
    Refused,
    /// The book is lent: the due date.
    Lent,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BookView {
    pub isbn13: String,
    pub title: String,
    pub author: String,
    pub price: String,
    pub currency: String,
}

impl From<&BookData> for BookView {
    fn from(b: &BookData) -> BookView {
        BookView {
            isbn13: b.isbn13.clone(),
            title: b.title.clone(),
            author: b.author.clone(),
            price: b.price.to_string(),
            currency: b.currency.clone(),
        }
    }
}

/// A refusal as shown: the rule's code (translated on screen), its settings key, in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefusalView {
    pub code: &'static str,
    pub key: &'static str,
    pub text: String,
    pub detail: Refusal,
}

/// Something the bookseller should know: a stable code (translated on screen) and words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notice {
    pub code: &'static str,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoanView {
    pub item_id: String,
    pub title: String,
    #[serde(serialize_with = "date_text")]
    pub due: NaiveDate,
    pub undone: bool,
}

fn date_text<S: serde::Serializer>(d: &NaiveDate, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(d)
}

/// What the counter's screen shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CounterModel {
    pub screen: Screen,
    pub bookseller: Option<String>,
    /// The patron's number, all but the last four hidden.
    pub patron: Option<String>,
    pub tier: Option<String>,
    pub book: Option<BookView>,
    pub refusal: Option<RefusalView>,
    pub notice: Option<Notice>,
    /// Books are tagged (else labelled).
    pub program_tags: bool,
    /// The blank tag on the pad.
    pub blank_tag: Option<String>,
    /// This patron's counter loans in this visit.
    pub loans: Vec<LoanView>,
    pub can_undo: bool,
}

#[derive(Debug, Clone, PartialEq)]
struct Patron {
    id: String,
    found: PatronFound,
}

#[derive(Debug, Clone, PartialEq)]
struct Lent {
    purchase_id: i64,
    item_id: String,
    uid: Option<String>,
    title: String,
    due: NaiveDate,
    undone: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum Stage {
    LoggedOut,
    WaitPatron,
    WaitPin {
        patron_id: String,
    },
    AskingPatron {
        patron_id: String,
    },
    WaitIsbn,
    LookingUp {
        isbn13: String,
    },
    NeedData {
        isbn13: String,
    },
    Deciding {
        book: BookData,
    },
    Approved {
        book: BookData,
        today: NaiveDate,
    },
    Reserving {
        book: BookData,
        today: NaiveDate,
    },
    Marking {
        book: BookData,
        item_id: String,
        today: NaiveDate,
    },
    Recording {
        book: BookData,
        item_id: String,
        due: NaiveDate,
    },
    Refused,
    Lent,
    Undoing {
        purchase_id: i64,
    },
}

/// The counter's core.
#[derive(Debug, Clone)]
pub struct Counter {
    config: SessionConfig,
    stage: Stage,
    bookseller: Option<String>,
    patron: Option<Patron>,
    tier: Option<String>,
    book: Option<BookData>,
    refusal: Option<Refusal>,
    notice: Option<Notice>,
    blank: Option<String>,
    loans: Vec<Lent>,
}

fn notice(code: &'static str, text: impl Into<String>) -> Option<Notice> {
    Some(Notice {
        code,
        text: text.into(),
    })
}

/// A patron id with all but its last four characters hidden.
pub fn mask_patron(id: &str) -> String {
    let chars: Vec<char> = id.trim().chars().collect();
    let tail: String = chars[chars.len().saturating_sub(4)..].iter().collect();
    if chars.len() > 4 {
        format!("••••{tail}")
    } else {
        "••••".into()
    }
}

impl Counter {
    pub fn new(config: SessionConfig) -> Counter {
        Counter {
            config,
            stage: Stage::LoggedOut,
            bookseller: None,
            patron: None,
            tier: None,
            book: None,
            refusal: None,
            notice: None,
            blank: None,
            loans: Vec::new(),
        }
    }

    /// The bookseller logged in, if any.
    pub fn bookseller(&self) -> Option<&str> {
        self.bookseller.as_deref()
    }

    /// The screen as it is now.
    pub fn model(&self) -> CounterModel {
        let screen = match &self.stage {
            Stage::LoggedOut => Screen::Login,
            Stage::WaitPatron => Screen::Patron,
            Stage::WaitPin { .. } => Screen::Pin,
            Stage::AskingPatron { .. }
            | Stage::LookingUp { .. }
            | Stage::Deciding { .. }
            | Stage::Reserving { .. }
            | Stage::Marking { .. }
            | Stage::Recording { .. }
            | Stage::Undoing { .. } => Screen::Working,
            Stage::WaitIsbn => Screen::Isbn,
            Stage::NeedData { .. } => Screen::BookData,
            Stage::Approved { .. } => Screen::Approved,
            Stage::Refused => Screen::Refused,
            Stage::Lent => Screen::Lent,
        };
        CounterModel {
            screen,
            bookseller: self.bookseller.clone(),
            patron: self.patron.as_ref().map(|p| mask_patron(&p.id)),
            tier: self.tier.clone(),
            book: self.book.as_ref().map(BookView::from),
            refusal: self.refusal.as_ref().map(|r| RefusalView {
                code: r.code(),
                key: r.key(),
                text: r.to_string(),
                detail: r.clone(),
            }),
            notice: self.notice.clone(),
            program_tags: self.config.counter.program_tags,
            blank_tag: self.blank.clone(),
            loans: self
                .loans
                .iter()
                .map(|l| LoanView {
                    item_id: l.item_id.clone(),
                    title: l.title.clone(),
                    due: l.due,
                    undone: l.undone,
                })
                .collect(),
            can_undo: self.undoable(None).is_some() && self.idle_with_patron(),
        }
    }

    fn idle_with_patron(&self) -> bool {
        matches!(
            self.stage,
            Stage::WaitIsbn | Stage::Lent | Stage::Refused | Stage::NeedData { .. }
        ) || matches!(self.stage, Stage::Approved { .. })
    }

    fn undoable(&self, item: Option<&str>) -> Option<&Lent> {
        self.loans
            .iter()
            .rev()
            .filter(|l| !l.undone)
            .find(|l| item.is_none_or(|i| i.trim() == l.item_id))
    }

    /// Handle one event; the effects to carry out, in order (the last one shows the screen).
    pub fn handle(&mut self, event: Event) -> Vec<Effect> {
        let mut out = Vec::new();
        self.step(event, &mut out);
        out.push(Effect::Show(Box::new(self.model())));
        out
    }

    fn clear_patron(&mut self) {
        self.patron = None;
        self.tier = None;
        self.book = None;
        self.refusal = None;
        self.loans.clear();
    }

    fn step(&mut self, event: Event, out: &mut Vec<Effect>) {
        // A blank tag may come and go at any time.
        if let Event::Blank(uid) = event {
            self.blank = uid;
            return;
        }
        if !matches!(
            event,
            Event::PatronAnswer(_) | Event::Stock(_) | Event::Facts { .. }
        ) {
            self.notice = None;
        }
        match (self.stage.clone(), event) {
            (Stage::LoggedOut, Event::Login { name, pin }) => self.login(&name, &pin),
            (Stage::LoggedOut, _) => {
                self.notice = notice("login_first", "a bookseller must log in first");
            }
            (stage, Event::Logout) if !busy(&stage) => {
                self.clear_patron();
                self.bookseller = None;
                self.stage = Stage::LoggedOut;
            }
            (stage, Event::Done) if !busy(&stage) => {
                self.clear_patron();
                self.stage = Stage::WaitPatron;
            }
            (Stage::WaitPatron, Event::Patron(id)) => self.patron_number(id, out),
            (Stage::WaitPin { patron_id }, Event::Pin(pin)) => {
                out.push(Effect::AskPatron {
                    patron_id: patron_id.clone(),
                    pin: Some(pin),
                });
                self.stage = Stage::AskingPatron { patron_id };
            }
            (Stage::WaitPin { .. }, Event::Cancel) => self.stage = Stage::WaitPatron,
            (Stage::AskingPatron { patron_id }, Event::PatronAnswer(answer)) => {
                self.patron_answer(patron_id, answer)
            }
            (
                Stage::WaitIsbn | Stage::Lent | Stage::Refused | Stage::NeedData { .. },
                Event::Isbn(raw),
            )
            | (Stage::Approved { .. }, Event::Isbn(raw)) => self.isbn(&raw, out),
            (Stage::LookingUp { isbn13 }, Event::Stock(found)) => self.stock(isbn13, found, out),
            (Stage::NeedData { isbn13 }, Event::Typed(typed)) => self.typed(isbn13, typed, out),
            (
                Stage::Deciding { book },
                Event::Facts {
                    counts,
                    last_same_isbn,
                    today,
                },
            ) => self.decide(book, &counts, last_same_isbn, today),
            (Stage::Approved { book, today }, Event::Confirm) => {
                if self.config.counter.program_tags && self.blank.is_none() {
                    self.notice = notice("place_blank_tag", "place a blank tag on the pad");
                    return;
                }
                out.push(Effect::Reserve);
                self.stage = Stage::Reserving { book, today };
            }
            (Stage::Reserving { book, today }, Event::Reserved(Ok(item_id))) => {
                match &self.blank {
                    Some(uid) if self.config.counter.program_tags => out.push(Effect::Program {
                        uid: uid.clone(),
                        item_id: item_id.clone(),
                    }),
                    _ => out.push(Effect::Label {
                        item_id: item_id.clone(),
                        title: book.title.clone(),
                    }),
                }
                self.stage = Stage::Marking {
                    book,
                    item_id,
                    today,
                };
            }
            (Stage::Reserving { .. }, Event::Reserved(Err(why))) => {
                self.notice = notice("no_item_id", why);
                self.stage = Stage::WaitIsbn;
            }
            (
                Stage::Marking {
                    book,
                    item_id,
                    today,
                },
                Event::Marked(result),
            ) => match result {
                Ok(()) => {
                    let Some(patron) = &self.patron else {
                        self.stage = Stage::WaitPatron;
                        return;
                    };
                    let due = today
                        .checked_add_days(Days::new(u64::from(self.config.loan_days)))
                        .unwrap_or(today);
                    out.push(Effect::Record(Box::new(NewLoan {
                        book: book.clone(),
                        item_id: item_id.clone(),
                        patron_id: patron.id.clone(),
                        bookseller: self.bookseller.clone().unwrap_or_default(),
                        due,
                        today,
                    })));
                    self.stage = Stage::Recording { book, item_id, due };
                }
                Err(why) => {
                    // The id stays reserved and unused; confirming again takes the next one.
                    self.notice = notice(
                        "tag_not_verified",
                        format!("item {item_id} was not written: {why}"),
                    );
                    self.stage = Stage::Approved { book, today };
                }
            },
            (Stage::Recording { book, item_id, due }, Event::Recorded(result)) => match result {
                Ok(purchase_id) => {
                    let uid = self
                        .config
                        .counter
                        .program_tags
                        .then(|| self.blank.take())
                        .flatten();
                    self.loans.push(Lent {
                        purchase_id,
                        item_id,
                        uid,
                        title: book.title,
                        due,
                        undone: false,
                    });
                    self.stage = Stage::Lent;
                }
                Err(why) => {
                    self.notice = notice("not_recorded", why);
                    self.stage = Stage::WaitIsbn;
                }
            },
            (stage, Event::Undo(item)) if !busy(&stage) && self.patron.is_some() => {
                let Some(lent) = self.undoable(item.as_deref()).cloned() else {
                    self.notice = notice("nothing_to_undo", "no loan of this visit to undo");
                    return;
                };
                out.push(Effect::Undo {
                    purchase_id: lent.purchase_id,
                    item_id: lent.item_id,
                    uid: lent.uid,
                });
                self.stage = Stage::Undoing {
                    purchase_id: lent.purchase_id,
                };
            }
            (Stage::Undoing { purchase_id }, Event::Undone(result)) => {
                match result {
                    Ok(()) => {
                        if let Some(l) =
                            self.loans.iter_mut().find(|l| l.purchase_id == purchase_id)
                        {
                            l.undone = true;
                        }
                        self.notice = notice("undone", "the loan is undone");
                    }
                    Err(why) => self.notice = notice("not_undone", why),
                }
                self.stage = Stage::WaitIsbn;
            }
            (Stage::Approved { .. } | Stage::Refused | Stage::NeedData { .. }, Event::Cancel) => {
                self.book = None;
                self.refusal = None;
                self.stage = Stage::WaitIsbn;
            }
            (_, _) => {}
        }
    }

    fn login(&mut self, name: &str, pin: &str) {
        let list = &self.config.counter.booksellers;
        let who = if list.is_empty() {
            (!self.config.staff_pin_hash.is_empty() && verify_pin(pin, &self.config.staff_pin_hash))
                .then(|| "staff".to_string())
        } else {
            list.iter()
                .find(|b| b.name == name.trim())
                .filter(|b| verify_pin(pin, &b.pin_hash))
                .map(|b| b.name.clone())
        };
        match who {
            Some(name) => {
                self.bookseller = Some(name);
                self.stage = Stage::WaitPatron;
            }
            None => self.notice = notice("login_refused", "unknown bookseller or wrong PIN"),
        }
    }

    fn patron_number(&mut self, id: String, out: &mut Vec<Effect>) {
        let id = id.trim().to_string();
        if id.is_empty() || id.chars().any(char::is_control) || id.len() > 64 {
            self.notice = notice("patron_unreadable", "not a patron number");
            return;
        }
        if self.config.require_pin {
            self.stage = Stage::WaitPin { patron_id: id };
        } else {
            out.push(Effect::AskPatron {
                patron_id: id.clone(),
                pin: None,
            });
            self.stage = Stage::AskingPatron { patron_id: id };
        }
    }

    fn patron_answer(&mut self, patron_id: String, answer: Result<PatronFound, String>) {
        self.stage = Stage::WaitPatron;
        match answer {
            Err(why) => {
                // Standing cannot be checked without the library system: fail closed.
                self.notice = notice(
                    "ils_unavailable",
                    format!("the library system cannot be asked about the patron: {why}"),
                );
            }
            Ok(found) if !found.known => {
                self.notice = notice("patron_unknown", "the library does not know this card");
            }
            Ok(found) if found.pin_ok == Some(false) => {
                self.notice = notice("pin_wrong", "the PIN is wrong");
            }
            Ok(found) if self.config.require_pin && found.pin_ok != Some(true) => {
                self.notice = notice("pin_unchecked", "the library system did not check the PIN");
            }
            Ok(found) => {
                self.tier = self
                    .config
                    .counter
                    .tier_of(found.standing.tier_value.as_deref())
                    .map(|t| t.name.clone());
                self.patron = Some(Patron {
                    id: patron_id,
                    found,
                });
                self.stage = Stage::WaitIsbn;
            }
        }
    }

    fn isbn(&mut self, raw: &str, out: &mut Vec<Effect>) {
        match crate::scan::symbology::book_number(raw) {
            Ok(n) => {
                self.book = None;
                self.refusal = None;
                out.push(Effect::LookUp {
                    isbn13: n.isbn13.clone(),
                });
                self.stage = Stage::LookingUp { isbn13: n.isbn13 };
            }
            Err(e) => self.notice = notice("not_isbn", e.to_string()),
        }
    }

    fn stock(
        &mut self,
        isbn13: String,
        found: Result<Option<StockBook>, String>,
        out: &mut Vec<Effect>,
    ) {
        match found {
            Ok(Some(book)) => self.ask_facts(book, out),
            Ok(None) => {
                self.notice = notice(
                    "not_in_stock",
                    "the stock file lacks this book: type its data",
                );
                self.stage = Stage::NeedData { isbn13 };
            }
            Err(why) => {
                self.notice = notice("stock_unreadable", why);
                self.stage = Stage::NeedData { isbn13 };
            }
        }
    }

    fn typed(&mut self, isbn13: String, t: TypedBook, out: &mut Vec<Effect>) {
        let Some(price) = Cents::parse(t.price.trim()) else {
            self.notice = notice("bad_price", format!("\"{}\" is not a price", t.price));
            self.stage = Stage::NeedData { isbn13 };
            return;
        };
        if t.title.trim().is_empty() {
            self.notice = notice("no_title", "the title is needed");
            self.stage = Stage::NeedData { isbn13 };
            return;
        }
        let currency = match t.currency.trim() {
            "" => self.config.counter.currency.clone(),
            c => c.to_uppercase(),
        };
        let book = StockBook {
            isbn13,
            title: t.title.trim().into(),
            author: t.author.trim().into(),
            publisher: t.publisher.trim().into(),
            year: t.year.trim().into(),
            price,
            currency,
        };
        self.ask_facts(book, out);
    }

    fn ask_facts(&mut self, book: BookData, out: &mut Vec<Effect>) {
        let Some(patron) = &self.patron else {
            self.stage = Stage::WaitPatron;
            return;
        };
        out.push(Effect::Facts {
            patron_id: patron.id.clone(),
            isbn13: book.isbn13.clone(),
        });
        self.book = Some(book.clone());
        self.stage = Stage::Deciding { book };
    }

    fn decide(
        &mut self,
        book: BookData,
        counts: &PatronCounts,
        last_same_isbn: Option<NaiveDate>,
        today: NaiveDate,
    ) {
        let Some(patron) = &self.patron else {
            self.stage = Stage::WaitPatron;
            return;
        };
        let c = &self.config.counter;
        let history = History {
            out_now: History::out_now_from(
                &patron.found.charged,
                &c.site_ranges(),
                &counts.recent_item_ids,
            ),
            this_month: counts.this_month,
            this_year: counts.this_year,
            spent_this_month: counts.spent_this_month,
        };
        let rule_book = rules::Book {
            isbn13: book.isbn13.clone(),
            title: book.title.clone(),
            price: book.price,
            currency: book.currency.clone(),
        };
        match rules::decide(
            &patron.found.standing,
            &history,
            &rule_book,
            last_same_isbn,
            c,
            today,
        ) {
            Ok(approval) => {
                self.refusal = None;
                self.tier = approval.tier;
                self.stage = Stage::Approved { book, today };
            }
            Err(refusal) => {
                self.refusal = Some(refusal);
                self.stage = Stage::Refused;
            }
        }
    }
}

/// A request of the stage is out: the bookseller waits for its answer.
fn busy(stage: &Stage) -> bool {
    matches!(
        stage,
        Stage::AskingPatron { .. }
            | Stage::LookingUp { .. }
            | Stage::Deciding { .. }
            | Stage::Reserving { .. }
            | Stage::Marking { .. }
            | Stage::Recording { .. }
            | Stage::Undoing { .. }
    )
}

#[cfg(test)]
mod tests;
