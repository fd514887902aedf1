//! The counter's shell: carries out the core's effects ([`super::session`]) and turns their
//! results into events. The library system (SIP2 63/64 for the patron's standing), the
//! stock file, the store (item ids, purchases, the write-ahead journal) and the pad (blank
//! tags programmed and read back, patron cards).
//!
//! A loan is written in the order that survives a crash at any instant: the item id is
//! reserved (committed) before the tag is written, the purchase (with its id marked used)
//! before the loan's journal row, and the row is linked to the purchase last; on start
//! [`CounterShell::recover`] journals the loan of a purchase a crash left without one. The
//! loan reaches the ILS through the offline queue as a no-block checkout with the purchase's
//! date and due date (see [`crate::sync`]).

use chrono::{Local, NaiveDate};

use super::session::{Effect, Event, NewLoan, PatronFound};
use super::settings::CounterSettings;
use super::stock::StockFile;
use crate::counter::rules::Standing;
use crate::rfid::program::{self, DEFAULT_CAPACITY, Programming};
use crate::rfid::reader::SharedReader;
use crate::rfid::tag::{ItemRecord, TagData, TypeOfUsage, parse_uid, uid_hex};
use crate::rfid::{DataModel, Security, SecurityConfig};
use crate::runtime::shell::{Exchange, ShellError, due_sip};
use crate::sip2::client::Sip2Handle;
use crate::sip2::{self, Message, SipDateTime};
use crate::store::counter::{self as purchases, NewPurchase};
use crate::store::journal::{self, Action, NewEntry, State};
use crate::store::{StoreError, StoreHandle};

/// Settings the shell needs.
#[derive(Debug, Clone)]
pub struct CounterShellConfig {
    pub counter: CounterSettings,
    pub model: DataModel,
    pub owner_isil: Option<String>,
    pub security: SecurityConfig,
    /// Attempts at the security write and read-back (`rfid.security_retries`).
    pub security_attempts: u8,
    /// Days of a loan whose purchase a crash left without one.
    pub loan_days: u32,
}

impl CounterShellConfig {
    pub fn from_settings(s: &crate::config::Settings) -> CounterShellConfig {
        CounterShellConfig {
            counter: s.counter.clone(),
            model: program::model_to_write(s.rfid.data_model),
            owner_isil: s.rfid.owner_isil.clone(),
            security: s.rfid.security(),
            security_attempts: s.rfid.security_retries,
            loan_days: s.offline_loan_days(None),
        }
    }
}

/// What is on the pad, as the counter cares: a blank tag, a patron card.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PadView {
    pub blank: Option<String>,
    pub patron_card: Option<String>,
}

pub struct CounterShell {
    pub sip2: Sip2Handle,
    pub store: StoreHandle,
    pub reader: SharedReader,
    pub config: CounterShellConfig,
    stock: Option<StockFile>,
    /// Journal rows this shell is writing: a sync beside it leaves them be.
    pub in_flight: journal::InFlight,
}

fn exchange(
    request: &'static str,
    item: Option<String>,
    outcome: &'static str,
    journal: Option<i64>,
    message: Option<String>,
) -> Exchange {
    Exchange {
        request,
        item,
        outcome,
        journal,
        message,
    }
}

/// The tag reader's work off the async threads.
async fn with_reader<R: Send + 'static>(
    reader: &SharedReader,
    f: impl FnOnce(&mut dyn crate::rfid::reader::TagReader) -> R + Send + 'static,
) -> Result<R, ShellError> {
    let reader = reader.clone();
    tokio::task::spawn_blocking(move || {
        let mut r = reader
            .lock()
            .map_err(|_| "reader lock poisoned".to_string())?;
        Ok::<_, String>(f(&mut **r))
    })
    .await
    .map_err(|e| ShellError::Pad(e.to_string()))?
    .map_err(ShellError::Pad)
}

impl CounterShell {
    pub fn new(
        sip2: Sip2Handle,
        store: StoreHandle,
        reader: SharedReader,
        config: CounterShellConfig,
    ) -> CounterShell {
        CounterShell {
            sip2,
            store,
            reader,
            config,
            stock: None,
            in_flight: journal::InFlight::default(),
        }
    }

    /// After a restart: journal the loan of every purchase a crash left without one (a
    /// loan already journaled is linked, not written twice), and forget patrons of purchases
    /// older than the quotas need. Returns the loans journaled.
    pub async fn recover(&self) -> Result<Vec<i64>, ShellError> {
        let loan_days = self.config.loan_days;
        let keep_since = self
            .config
            .counter
            .patron_retention_start(Local::now().date_naive());
        Ok(self
            .store
            .call(move |c| {
                let mut journaled = Vec::new();
                for p in purchases::purchases_needing_a_loan(c)? {
                    let Some(patron) = purchases::patron_of(c, p.id)? else {
                        continue;
                    };
                    let day = NaiveDate::parse_from_str(&p.day, "%Y-%m-%d")
                        .unwrap_or_else(|_| Local::now().date_naive());
                    let due = day
                        .checked_add_days(chrono::Days::new(u64::from(loan_days)))
                        .unwrap_or(day);
                    let at = chrono::DateTime::parse_from_rfc3339(&p.purchased_at)
                        .map(|t| SipDateTime::local(t.with_timezone(&Local).naive_local()))
                        .unwrap_or_else(|_| SipDateTime::now_local());
                    journaled.push(journal_loan(c, p.id, &patron, &p.item_id, &at, due)?);
                }
                purchases::purge_patron_ids(c, keep_since)?;
                Ok(journaled)
            })
            .await?)
    }

    /// Read the pad: the first blank tag and the first patron card on it.
    pub async fn read_pad(&self) -> Result<PadView, ShellError> {
        with_reader(&self.reader, |r| {
            let mut view = PadView::default();
            for uid in r.inventory().map_err(|e| e.to_string())? {
                match r.read_tag(&uid) {
                    Ok(tag) => match tag.data {
                        TagData::Blank if view.blank.is_none() => {
                            view.blank = Some(uid_hex(&uid));
                        }
                        TagData::Decoded(rec)
                            if rec.type_of_usage == TypeOfUsage::PatronCard
                                && view.patron_card.is_none() =>
                        {
                            view.patron_card = Some(rec.primary_id.trim().to_string());
                        }
                        _ => {}
                    },
                    Err(crate::rfid::ReaderError::TagGone(_)) => {}
                    Err(e) => return Err(e.to_string()),
                }
            }
            Ok(view)
        })
        .await?
        .map_err(ShellError::Pad)
    }

    /// Carry out one effect; the event it results in (none for `Show`) and the exchange with
    /// the ILS or the journal to report.
    pub async fn run(
        &mut self,
        effect: Effect,
    ) -> Result<(Option<Event>, Option<Exchange>), ShellError> {
        Ok(match effect {
            Effect::Show(_) => (None, None),
            Effect::AskPatron { patron_id, pin } => {
                let (answer, x) = self.patron(patron_id, pin).await;
                (Some(Event::PatronAnswer(answer)), Some(x))
            }
            Effect::LookUp { isbn13 } => (Some(Event::Stock(self.look_up(&isbn13))), None),
            Effect::Facts { patron_id, isbn13 } => {
                (Some(self.facts(patron_id, isbn13).await?), None)
            }
            Effect::Reserve => (Some(Event::Reserved(self.reserve().await?)), None),
            Effect::Program { uid, item_id } => (
                Some(Event::Marked(self.program(&uid, &item_id).await?)),
                None,
            ),
            Effect::Label { item_id, .. } => (
                Some(Event::Marked(Err(format!(
                    "this counter cannot print a label for {item_id}"
                )))),
                None,
            ),
            Effect::Record(loan) => {
                let item = loan.item_id.clone();
                match self.record(*loan).await {
                    Ok((purchase, row)) => (
                        Some(Event::Recorded(Ok(purchase))),
                        Some(exchange("checkout", Some(item), "queued", Some(row), None)),
                    ),
                    Err(e) => (Some(Event::Recorded(Err(e.to_string()))), None),
                }
            }
            Effect::Undo {
                purchase_id,
                item_id,
                uid,
            } => {
                let (result, x) = self.undo(purchase_id, item_id, uid).await?;
                (Some(Event::Undone(result)), x)
            }
        })
    }

    async fn patron(
        &mut self,
        patron_id: String,
        pin: Option<String>,
    ) -> (Result<PatronFound, String>, Exchange) {
        let msg = Message::PatronInformation(sip2::PatronInformation {
            transaction_date: Some(SipDateTime::now_local()),
            summary: sip2::Summary {
                charged_items: true,
                ..Default::default()
            },
            patron_id,
            patron_password: pin.clone(),
            ..Default::default()
        });
        match self.sip2.request(msg).await {
            Ok(Message::PatronInformationResponse(r)) => {
                let known = r.valid_patron != Some(false);
                let pin_ok = pin.as_ref().and(r.valid_patron_password);
                let found = PatronFound {
                    known,
                    pin_ok,
                    standing: Standing::from_patron_information(
                        &r,
                        self.config.counter.tier_field.as_deref(),
                    ),
                    charged: r.charged_items.clone(),
                };
                let ok = known && pin_ok != Some(false);
                let x = exchange(
                    "patron",
                    None,
                    if ok { "ok" } else { "refused" },
                    None,
                    Some(r.screen_messages.join(" ")).filter(|m| !m.trim().is_empty()),
                );
                (Ok(found), x)
            }
            Ok(other) => {
                let why = format!("unexpected answer {}", other.id());
                (
                    Err(why.clone()),
                    exchange("patron", None, "unavailable", None, Some(why)),
                )
            }
            Err(e) => (
                Err(e.to_string()),
                exchange("patron", None, "unavailable", None, Some(e.to_string())),
            ),
        }
    }

    fn look_up(&mut self, isbn13: &str) -> Result<Option<super::stock::StockBook>, String> {
        let Some(path) = self.config.counter.stock_file.clone() else {
            return Ok(None);
        };
        if self.stock.is_none() {
            self.stock = Some(StockFile::open(&path).map_err(|e| e.to_string())?);
        }
        match self.stock.as_mut() {
            Some(stock) => stock.lookup(isbn13).map_err(|e| e.to_string()),
            None => Ok(None),
        }
    }

    async fn facts(&self, patron_id: String, isbn13: String) -> Result<Event, ShellError> {
        let today = Local::now().date_naive();
        let pending_since = today
            .checked_sub_days(chrono::Days::new(u64::from(
                self.config.counter.pending_max_days,
            )))
            .unwrap_or(NaiveDate::MIN);
        let (counts, last) = self
            .store
            .call(move |c| {
                Ok((
                    purchases::patron_counts(c, &patron_id, today, pending_since)?,
                    purchases::last_purchase_of(c, &isbn13)?,
                ))
            })
            .await?;
        Ok(Event::Facts {
            counts,
            last_same_isbn: last,
            today,
        })
    }

    async fn reserve(&self) -> Result<Result<String, String>, ShellError> {
        let Some(range) = self.config.counter.range() else {
            return Ok(Err("counter.id_range is not set".into()));
        };
        Ok(self
            .store
            .call(move |c| purchases::allocate_id(c, &range))
            .await?
            .map_err(|e| e.to_string()))
    }

    async fn program(&self, uid: &str, item_id: &str) -> Result<Result<(), String>, ShellError> {
        let Some(parsed) = parse_uid(uid) else {
            return Ok(Err(format!("bad UID {uid}")));
        };
        let mut record = ItemRecord::new(self.config.model, TypeOfUsage::Circulating, item_id);
        record.owner_isil = self.config.owner_isil.clone();
        let security_config = self.config.security;
        let security_attempts = self.config.security_attempts;
        with_reader(&self.reader, move |r| {
            let p = Programming {
                record: &record,
                // The book leaves on loan at once.
                security: Security::Unsecured,
                security_config,
                security_attempts,
                lock: false,
                capacity: DEFAULT_CAPACITY,
            };
            let uid = program::pick_tag(r, Some(parsed)).map_err(|e| e.to_string())?;
            let written = program::program_tag(r, &uid, &p).map_err(|e| e.to_string())?;
            if written.is_verified() {
                Ok(())
            } else {
                Err(format!(
                    "the tag did not read back as written (data: {:?}, security: {:?})",
                    written.data, written.security
                ))
            }
        })
        .await
    }

    /// The purchase, then its loan's journal row (queued: the sync sends it), linked.
    async fn record(&self, loan: NewLoan) -> Result<(i64, i64), StoreError> {
        let c = &self.config.counter;
        let store_code = c.bookstore_code.clone();
        let store_name = c.bookstore_name.clone();
        let at = SipDateTime::now_local();
        self.store
            .call(move |conn| {
                let b = &loan.book;
                let purchase = purchases::record_purchase(
                    conn,
                    &NewPurchase {
                        purchased_at: &journal::now_stamp(),
                        day: &loan.today.to_string(),
                        isbn13: &b.isbn13,
                        title: &b.title,
                        author: &b.author,
                        publisher: &b.publisher,
                        year: &b.year,
                        price: b.price,
                        currency: &b.currency,
                        item_id: &loan.item_id,
                        bookstore_code: &store_code,
                        bookstore_name: &store_name,
                        bookseller: &loan.bookseller,
                        patron_id: &loan.patron_id,
                    },
                )?;
                let row = journal_loan(
                    conn,
                    purchase,
                    &loan.patron_id,
                    &loan.item_id,
                    &at,
                    loan.due,
                )?;
                Ok((purchase, row))
            })
            .await
    }

    /// Wipe the tag (it must be on the pad and read back blank), then mark the purchase
    /// undone and take its loan back: a loan still queued is never sent; one the ILS already
    /// has gets a return queued.
    async fn undo(
        &self,
        purchase_id: i64,
        item_id: String,
        uid: Option<String>,
    ) -> Result<(Result<(), String>, Option<Exchange>), ShellError> {
        if let Some(uid) = uid {
            let Some(parsed) = parse_uid(&uid) else {
                return Ok((Err(format!("bad UID {uid}")), None));
            };
            let wiped = with_reader(&self.reader, move |r| {
                program::wipe_tag(r, &parsed, DEFAULT_CAPACITY)
            })
            .await?;
            match wiped {
                Ok(outcome) if outcome.is_verified() => {}
                Ok(outcome) => {
                    return Ok((
                        Err(format!("the book's tag was not wiped: {outcome:?}")),
                        None,
                    ));
                }
                Err(e) => {
                    return Ok((
                        Err(format!("put the book's tag on the pad to undo: {e}")),
                        None,
                    ));
                }
            }
        }
        let in_flight = self.in_flight.clone();
        let item = item_id.clone();
        let (undone, returned) = self
            .store
            .call(move |c| {
                if !purchases::undo_purchase(c, purchase_id)? {
                    return Ok((false, None));
                }
                let loan = purchases::purchase(c, purchase_id)?
                    .and_then(|p| p.journal_id)
                    .map(|id| journal::get(c, id))
                    .transpose()?
                    .flatten();
                let mut returned = None;
                if let Some(row) = loan {
                    match row.state {
                        State::Queued | State::Pending if !in_flight.contains(row.id) => {
                            journal::settle(
                                c,
                                row.id,
                                State::Refused,
                                Some("undone at the counter before it reached the library"),
                            )?;
                        }
                        State::Conflict => {}
                        _ => {
                            let at = SipDateTime::now_local().to_string();
                            returned = Some(journal::record(
                                c,
                                &NewEntry {
                                    action: Action::Checkin,
                                    patron_id: None,
                                    item_id: Some(&item),
                                    state: State::Queued,
                                    transaction_at: &at,
                                    due_at: None,
                                },
                            )?);
                        }
                    }
                }
                Ok((true, returned))
            })
            .await?;
        if !undone {
            return Ok((Err("the purchase was not active".into()), None));
        }
        let x = returned.map(|row| exchange("checkin", Some(item_id), "queued", Some(row), None));
        Ok((Ok(()), x))
    }
}

/// The loan of a purchase as a queued journal row (the sync sends it as a no-block checkout
/// with this date and due date), linked to the purchase.
fn journal_loan(
    conn: &mut rusqlite::Connection,
    purchase: i64,
    patron_id: &str,
    item_id: &str,
    at: &SipDateTime,
    due: NaiveDate,
) -> Result<i64, StoreError> {
    let at = at.to_string();
    let due = due_sip(due);
    let row = journal::record(
        conn,
        &NewEntry {
            action: Action::Checkout,
            patron_id: Some(patron_id),
            item_id: Some(item_id),
            state: State::Queued,
            transaction_at: &at,
            due_at: Some(&due),
        },
    )?;
    purchases::attach_loan(conn, purchase, row)?;
    Ok(row)
}
