//! The air-interface port: one ISO 15693 exchange between the reader chip and the tags in its
//! field. Anything that can send a raw ISO 15693 request and report what came back (a PN5180,
//! a TRF7970A, the simulated pad) implements it; the protocol logic above it (commands,
//! anti-collision, tag memory) is written once against this trait.

use std::fmt;

/// What the reader heard after a request (or after an end-of-frame that opens the next slot of a
/// 16-slot inventory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// One well-formed response frame: flags byte onward, CRC already checked and removed.
    Frame(Vec<u8>),
    /// Nothing answered before the response timeout.
    Silent,
    /// Two or more tags answered at once (the chip saw a collision, or a frame arrived whose
    /// CRC is wrong while several tags may be answering).
    Collision,
}

/// Raw ISO 15693 exchanges at the air interface.
///
/// Request frames are given without SOF, CRC and EOF: the implementation appends the CRC
/// (in hardware or software) and checks the CRC of the reply, dropping it.
pub trait Transceiver {
    type Error: fmt::Debug + fmt::Display;

    /// Send one request frame and wait for the reply (or the first slot's reply for a
    /// 16-slot inventory).
    fn transceive(&mut self, request: &[u8]) -> Result<Reply, Self::Error>;

    /// Send a lone end-of-frame, which moves the tags of a 16-slot inventory to the next slot,
    /// and report what answered in it.
    fn next_slot(&mut self) -> Result<Reply, Self::Error>;
}
