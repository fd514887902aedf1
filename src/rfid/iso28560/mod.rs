//! ISO 28560: the library data models stored in a tag's user memory.
//!
//! - [`part3`]: the fixed-length basic block of the Danish data model, with extension blocks.
//! - [`part2`]: ISO/IEC 15962 encoding of ISO 28560-1 data elements (DSFID 0x06).
//!
//! Both decoders are liberal (real tags carry vendor variants) and both encoders strict.

pub mod oid;
pub mod part2;
pub mod part3;
