//! Staff tools on the command line: SIP2 diagnostics, tag and barcode inspection, the fleet. Each tool
//! returns a serialisable report; the command line prints it as text or, with `--json`, as
//! JSON.

pub mod barcode;
pub mod demo_ils;
pub mod fleet;
pub mod report;
pub mod sip2;
pub mod tag;
