//! A demo ILS: a SIP2 server over its own SQLite catalogue with multilingual sample data.
//!
//! It exists for the demo (`selfcheck demo-ils`) and for end-to-end tests; real sites point the
//! kiosk at their own ILS. One tokio task serves each connection; the catalogue is one SQLite
//! connection behind a mutex, held only for the few statements of one message (no lock is
//! held across an `.await`).
//!
//! Holds (15) are placed, cancelled and moved to another pickup location, home delivery
//! included ([`sample::PICKUP_LOCATIONS`], [`sample::HOME_DELIVERY`]). Patron information (64)
//! lists them as SIP2 says, item ids in AS (on the hold shelf) and CD (waiting), and adds one
//! extension field per listed hold, which SIP2 has no field for:
//! `XH<item id>;<ready|waiting>;<queue position, empty when ready>;<pickup location>` (the
//! pickup location last, as it may hold any character but `|`).
//!
//! Sample patron PINs are listed in [`sample`] in clear (it is a demo); the database keeps only
//! a salted SHA-256 of each. Four-digit PINs are trivially brute-forced from any hash, so this
//! only keeps them out of casual view.

mod catalogue;
mod import;
pub mod sample;
mod server;

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use thiserror::Error;

pub use catalogue::{HoldView, ItemState, ItemView, PatronFlags, PatronView};
pub use import::{ImportReport, WatchedFolder};
pub use server::{HOLD_DETAIL, ServerConfig, ServerHandle};

/// The address the demo ILS listens on unless told otherwise: loopback only.
pub const DEFAULT_ADDR: &str = "127.0.0.1:6001";

#[derive(Debug, Error)]
pub enum DemoIlsError {
    #[error("demo catalogue database: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("demo catalogue sample data is inconsistent at {0:?}")]
    Sample(String),
    #[error("demo catalogue lock poisoned by a panicked connection task")]
    Poisoned,
    #[error("demo ILS socket: {0}")]
    Io(#[from] std::io::Error),
}

/// The demo ILS: its catalogue, shareable between connection tasks.
#[derive(Clone)]
pub struct DemoIls {
    catalogue: Arc<Mutex<catalogue::Catalogue>>,
}

fn now() -> chrono::NaiveDateTime {
    chrono::Local::now().naive_local()
}

impl DemoIls {
    /// Opens the catalogue in `db` (created with its schema and sample data when new), or an
    /// in-memory one for `None`.
    pub fn open(db: Option<&Path>) -> Result<DemoIls, DemoIlsError> {
        let cat = catalogue::Catalogue::open(db, now())?;
        Ok(DemoIls {
            catalogue: Arc::new(Mutex::new(cat)),
        })
    }

    fn lock(&self) -> Result<MutexGuard<'_, catalogue::Catalogue>, DemoIlsError> {
        self.catalogue.lock().map_err(|_| DemoIlsError::Poisoned)
    }

    /// Serves SIP2 on `listener` until [`ServerHandle::shutdown`].
    pub async fn serve(
        &self,
        listener: tokio::net::TcpListener,
        config: ServerConfig,
    ) -> Result<ServerHandle, DemoIlsError> {
        server::serve(self.clone(), listener, config)
    }

    /// Item ids on loan to `patron`.
    pub fn loans_of(&self, patron: &str) -> Result<Vec<String>, DemoIlsError> {
        self.lock()?.loans_of(patron)
    }

    /// The item's record (state, borrower, due date, holds), `None` if unknown.
    pub fn item_status(&self, item: &str) -> Result<Option<ItemView>, DemoIlsError> {
        self.lock()?.item(item)
    }

    /// The patron's record, `None` if unknown.
    pub fn patron(&self, patron: &str) -> Result<Option<PatronView>, DemoIlsError> {
        self.lock()?.patron_view(patron, now())
    }

    /// Transactions applied so far: of one kind (`checkout`, `checkin`, `renew`, `fee_paid`,
    /// `hold`, `status_update`, `block`, `enable`) or all of them.
    pub fn transaction_count(&self, kind: Option<&str>) -> Result<u64, DemoIlsError> {
        self.lock()?.transaction_count(kind)
    }
}
