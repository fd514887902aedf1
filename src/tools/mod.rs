//! Staff tools on the command line: SIP2 diagnostics, tag and barcode inspection, phone token
//! keys and checks, receipts, the offline queue and its conflicts, the fleet, the
//! technician's `doctor`. Each tool returns a serialisable report; the command line prints it
//! as text or, with `--json`, as JSON.

pub mod barcode;
pub mod counter;
pub mod demo_ils;
pub mod doctor;
pub mod fleet;
pub mod receipt;
pub mod report;
pub mod sip2;
pub mod sync;
pub mod tag;
pub mod token;
