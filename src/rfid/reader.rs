//! The `TagReader` port: what the kiosk asks of an RFID pad, whatever the hardware.
//!
//! It is blocking on purpose: the kiosk runs its reader on a dedicated thread, and SPI or serial
//! readers are blocking underneath anyway. Writes that matter to the patron (security, data)
//! are retried and read back by the implementation, which reports a typed outcome so an item
//! whose security could not be verified is never shown as done.

use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::rfid::card::{CardMemoryRead, CardRead};
use crate::rfid::tag::{LibraryTag, Uid, uid_hex};

mod adapter;
mod cards;
pub use adapter::{Iso15693Reader, ReaderOptions};
pub use cards::{CardPoll, CardsOnSameChip, SameChip, WithCardReader};

/// The pad, shared between the kiosk shell's blocking calls and staff mode's diagnostics.
pub type SharedReader = std::sync::Arc<std::sync::Mutex<Box<dyn TagReader + Send>>>;

/// A failure of the reader itself or of a tag that must answer for the call to make sense.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReaderError {
    /// The reader hardware or its link failed (SPI, serial, USB): nothing was learnt about tags.
    #[error("reader link failed: {0}")]
    Link(String),
    /// The addressed tag did not answer (lifted from the pad, or out of range).
    #[error("tag {} did not answer", uid_hex(.0))]
    TagGone(Uid),
    /// The tag answered with an ISO 15693 error code.
    #[error("tag {} refused the command: {error}", uid_hex(.uid))]
    TagError {
        uid: Uid,
        error: crate::rfid::iso15693::TagErrorCode,
    },
    /// A reply that cannot be understood, even after retries.
    #[error("garbled reply: {0}")]
    Protocol(String),
    /// An ISO 14443A patron card could not be read: several cards at once, a refused
    /// authentication, an answer of the wrong shape. The patron presents the card again.
    #[error("patron card: {0}")]
    Card(String),
}

/// Which security state an item should be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Security {
    /// In the library: the gates alarm (AFI "secured", EAS on).
    Secured,
    /// On loan: the gates stay quiet (AFI "on loan", EAS off).
    Unsecured,
}

/// How this site marks an item's security; both AFI values are site settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SecurityConfig {
    /// AFI written when the item is secured (in the library). ISO 28560-1: 0xC2.
    pub afi_secured: u8,
    /// AFI written when the item is on loan. ISO 28560-1: 0x07.
    pub afi_on_loan: u8,
    /// Whether the gates look at the AFI.
    pub use_afi: bool,
    /// Whether the gates look at the NXP EAS bit.
    pub use_eas: bool,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        SecurityConfig {
            afi_secured: 0xC2,
            afi_on_loan: 0x07,
            use_afi: true,
            use_eas: false,
        }
    }
}

impl SecurityConfig {
    /// The AFI value that stands for `security` at this site.
    pub fn afi_for(&self, security: Security) -> u8 {
        match security {
            Security::Secured => self.afi_secured,
            Security::Unsecured => self.afi_on_loan,
        }
    }

    /// What a read-back AFI means at this site, if it is one of its two values.
    pub fn security_of_afi(&self, afi: u8) -> Option<Security> {
        if afi == self.afi_secured {
            Some(Security::Secured)
        } else if afi == self.afi_on_loan {
            Some(Security::Unsecured)
        } else {
            None
        }
    }
}

/// How a write that must be verified ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum WriteOutcome {
    /// Written and read back with the expected value.
    Verified,
    /// The tag is still there but the value read back is not the one written (or the tag kept
    /// refusing the write): the item must not be treated as done.
    NotVerified { reason: String },
    /// The tag stopped answering during the write or the read-back: ask the patron to put the
    /// item back on the pad.
    TagGone,
}

impl WriteOutcome {
    pub fn is_verified(&self) -> bool {
        matches!(self, WriteOutcome::Verified)
    }
}

impl fmt::Display for WriteOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteOutcome::Verified => f.write_str("verified"),
            WriteOutcome::NotVerified { reason } => write!(f, "not verified: {reason}"),
            WriteOutcome::TagGone => f.write_str("tag gone"),
        }
    }
}

/// [`TagReader::set_security`] tried up to `attempts` times (`rfid.security_retries`, at least
/// once) until it reads back verified. A tag that left the pad is not tried again: the patron
/// is asked to put it back.
pub fn set_security_retrying<R: TagReader + ?Sized>(
    reader: &mut R,
    uid: &Uid,
    security: Security,
    config: &SecurityConfig,
    attempts: u8,
) -> Result<WriteOutcome, ReaderError> {
    let mut last = reader.set_security(uid, security, config);
    for _ in 1..attempts.max(1) {
        match &last {
            Ok(WriteOutcome::NotVerified { .. }) => {}
            Err(e) if !matches!(e, ReaderError::TagGone(_)) => {}
            _ => break,
        }
        last = reader.set_security(uid, security, config);
    }
    last
}

/// The RFID pad as the kiosk sees it.
///
/// Implemented by [`Iso15693Reader`] over any [`Transceiver`](crate::rfid::transceiver::Transceiver)
/// (PN5180, simulated pad), and directly by readers that do the ISO 15693 work themselves
/// (3M/Bibliotheca and FEIG serial readers).
pub trait TagReader {
    /// The UIDs of every tag on the pad now (anti-collision done by the implementation).
    fn inventory(&mut self) -> Result<Vec<Uid>, ReaderError>;

    /// Read one tag: system information (AFI, DSFID, memory size), its data memory decoded,
    /// and its EAS state where the tag has one.
    fn read_tag(&mut self, uid: &Uid) -> Result<LibraryTag, ReaderError>;

    /// Write a memory image from block 0 on (padded to whole blocks), with retries, and read
    /// it back.
    fn write_data(&mut self, uid: &Uid, memory: &[u8]) -> Result<WriteOutcome, ReaderError>;

    /// Put the item into `security` as `config` says (AFI and/or EAS), with retries, and read
    /// it back.
    fn set_security(
        &mut self,
        uid: &Uid,
        security: Security,
        config: &SecurityConfig,
    ) -> Result<WriteOutcome, ReaderError>;

    /// The ISO 14443A patron card on the reader now, with `read` done, if there is one; called
    /// between item inventories. Readers without a patron-card chip see no card.
    fn poll_patron_card(&mut self, read: &CardMemoryRead) -> Result<Option<CardRead>, ReaderError> {
        let _ = read;
        Ok(None)
    }

    /// Write the tag's DSFID (which data model its memory follows) and read it back.
    /// `None`: this reader cannot write it (the memory is still decoded by its content).
    fn write_dsfid(&mut self, _uid: &Uid, _dsfid: u8) -> Result<Option<WriteOutcome>, ReaderError> {
        Ok(None)
    }

    /// Lock `count` blocks from `first` for good (they can never be written again) and read
    /// their lock status back. Readers that cannot lock blocks say so.
    fn lock_blocks(
        &mut self,
        _uid: &Uid,
        _first: u8,
        _count: u8,
    ) -> Result<WriteOutcome, ReaderError> {
        Ok(WriteOutcome::NotVerified {
            reason: "this reader cannot lock blocks".into(),
        })
    }

    /// Whether [`read_tag`](Self::read_tag) asks for the EAS state (one more exchange per tag
    /// on NXP tags). Sites whose gates do not use EAS turn it off. Readers that get the state
    /// for free ignore this.
    fn set_eas_reads(&mut self, _on: bool) {}

    /// Inventory the pad and read every tag found; a tag lifted between the two steps is left
    /// out rather than failing the whole pad.
    fn read_all(&mut self) -> Result<Vec<LibraryTag>, ReaderError> {
        let uids = self.inventory()?;
        let mut tags = Vec::with_capacity(uids.len());
        for uid in &uids {
            match self.read_tag(uid) {
                Ok(tag) => tags.push(tag),
                Err(ReaderError::TagGone(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(tags)
    }
}

impl<R: TagReader + ?Sized> TagReader for Box<R> {
    fn inventory(&mut self) -> Result<Vec<Uid>, ReaderError> {
        (**self).inventory()
    }
    fn read_tag(&mut self, uid: &Uid) -> Result<LibraryTag, ReaderError> {
        (**self).read_tag(uid)
    }
    fn write_data(&mut self, uid: &Uid, memory: &[u8]) -> Result<WriteOutcome, ReaderError> {
        (**self).write_data(uid, memory)
    }
    fn set_security(
        &mut self,
        uid: &Uid,
        security: Security,
        config: &SecurityConfig,
    ) -> Result<WriteOutcome, ReaderError> {
        (**self).set_security(uid, security, config)
    }
    fn read_all(&mut self) -> Result<Vec<LibraryTag>, ReaderError> {
        (**self).read_all()
    }
    fn set_eas_reads(&mut self, on: bool) {
        (**self).set_eas_reads(on)
    }
    fn poll_patron_card(&mut self, read: &CardMemoryRead) -> Result<Option<CardRead>, ReaderError> {
        (**self).poll_patron_card(read)
    }
    fn write_dsfid(&mut self, uid: &Uid, dsfid: u8) -> Result<Option<WriteOutcome>, ReaderError> {
        (**self).write_dsfid(uid, dsfid)
    }
    fn lock_blocks(
        &mut self,
        uid: &Uid,
        first: u8,
        count: u8,
    ) -> Result<WriteOutcome, ReaderError> {
        (**self).lock_blocks(uid, first, count)
    }
}
