//! Framing: message boundaries in a byte stream, the AY/AZ error-detection trailer.

use std::fmt;

use super::error::DecodeError;

/// The checksum SIP2 puts after `AZ`: the two's complement of the 16-bit sum of every byte from
/// the start of the message up to and including `AZ`.
pub fn checksum(bytes: &[u8]) -> u16 {
    let sum = bytes
        .iter()
        .fold(0u16, |acc, &b| acc.wrapping_add(u16::from(b)));
    sum.wrapping_neg()
}

/// The one-digit sequence number of error detection (`AY`). The ILS echoes it in its answer,
/// so the terminal can tell a late answer from the one it waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Sequence(u8);

impl Sequence {
    /// `None` unless `digit` is 0-9.
    pub const fn new(digit: u8) -> Option<Sequence> {
        if digit <= 9 {
            Some(Sequence(digit))
        } else {
            None
        }
    }

    pub const fn digit(self) -> u8 {
        self.0
    }

    /// The number after this one: 9 wraps to 0.
    pub const fn next(self) -> Sequence {
        if self.0 >= 9 {
            Sequence(0)
        } else {
            Sequence(self.0 + 1)
        }
    }

    /// Returns the current number and moves the counter on, for numbering outgoing requests.
    pub fn advance(&mut self) -> Sequence {
        let current = *self;
        *self = current.next();
        current
    }
}

impl fmt::Display for Sequence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Takes the first complete message off the front of `buffer`, without its terminator.
///
/// A message ends at CR; a lone LF also ends one, and the LF of a CRLF (or any run of CR/LF) is
/// skipped, so servers that send CRLF or bare LF frame the same way. Returns `None` until a
/// terminator has arrived; the bytes stay in `buffer` for the next read. Bounding the buffer
/// against a peer that never sends CR is the caller's job (see [`MAX_FRAME_LEN`]).
pub fn split_frame(buffer: &mut Vec<u8>) -> Option<Vec<u8>> {
    let start = buffer
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buffer.len());
    if start > 0 {
        buffer.drain(..start);
    }
    let end = buffer.iter().position(|&b| b == b'\r' || b == b'\n')?;
    let frame: Vec<u8> = buffer.drain(..end).collect();
    // Drop the terminator now; a following LF is dropped by the next call or stays harmless.
    buffer.drain(..1);
    if buffer.first() == Some(&b'\n') {
        buffer.drain(..1);
    }
    Some(frame)
}

/// A sane bound for one SIP2 message (patron information with long item lists stays well
/// below it); a buffer that grows past this without a terminator means a broken peer.
pub const MAX_FRAME_LEN: usize = 64 * 1024;

/// What [`strip_checksum`] found at the end of a frame.
pub(crate) struct Trailer<'a> {
    /// The frame without terminator and without `AZxxxx`.
    pub body: &'a [u8],
    pub checksum: Option<u16>,
}

fn hex_value(b: u8) -> Option<u16> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u16::try_from(d).ok())
}

/// Drops trailing CR/LF and verifies and removes an `AZxxxx` trailer if there is one.
pub(crate) fn strip_checksum(frame: &[u8]) -> Result<Trailer<'_>, DecodeError> {
    let end = frame
        .iter()
        .rposition(|&b| b != b'\r' && b != b'\n')
        .map_or(0, |p| p + 1);
    let frame = frame.get(..end).unwrap_or_default();
    let Some(split) = end.checked_sub(6) else {
        return Ok(Trailer {
            body: frame,
            checksum: None,
        });
    };
    let (body_with_az, hex) = frame.split_at(split + 2);
    if !body_with_az.ends_with(b"AZ") {
        return Ok(Trailer {
            body: frame,
            checksum: None,
        });
    }
    let Some(received) = hex
        .iter()
        .try_fold(0u16, |acc, &b| Some((acc << 4) | hex_value(b)?))
    else {
        return Ok(Trailer {
            body: frame,
            checksum: None,
        });
    };
    let computed = checksum(body_with_az);
    if computed != received {
        return Err(DecodeError::BadChecksum { received, computed });
    }
    Ok(Trailer {
        body: body_with_az.get(..split).unwrap_or_default(),
        checksum: Some(received),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_checksums() {
        for wire in [
            "9300CNkiosk01|COsecret|CPLOBBY|AY0AZF425",
            "9900302.00AY1AZFCA5",
            "11YN20261128    101500                  AOHZLIB|AA21234000012345|AB31234000987654|AC|BON|AY2AZEBA7",
            "97AZFEF5",
            "96AZFEF6",
        ] {
            let (prefix, hex) = wire.split_at(wire.len() - 4);
            let expected = u16::from_str_radix(hex, 16).expect("hex");
            assert_eq!(checksum(prefix.as_bytes()), expected, "{wire}");
            let t = strip_checksum(wire.as_bytes()).expect("valid");
            assert_eq!(t.checksum, Some(expected));
            assert_eq!(t.body, &wire.as_bytes()[..wire.len() - 6]);
        }
    }

    #[test]
    fn lower_case_hex_and_line_ends() {
        for wire in [
            &b"9900302.00AY1AZfca5"[..],
            b"9900302.00AY1AZFCA5\r",
            b"9900302.00AY1AZFCA5\r\n",
            b"9900302.00AY1AZFCA5\n",
        ] {
            let t = strip_checksum(wire).expect("valid");
            assert_eq!(t.checksum, Some(0xFCA5));
            assert_eq!(t.body, b"9900302.00AY1");
        }
    }

    #[test]
    fn wrong_checksum_is_an_error() {
        assert_eq!(
            strip_checksum(b"9900302.00AY1AZFCA6").err(),
            Some(DecodeError::BadChecksum {
                received: 0xFCA6,
                computed: 0xFCA5
            })
        );
    }

    #[test]
    fn sequence_wraps() {
        let mut seq = Sequence::new(8).expect("digit");
        assert_eq!(seq.advance().digit(), 8);
        assert_eq!(seq.advance().digit(), 9);
        assert_eq!(seq.advance().digit(), 0);
        assert_eq!(seq.digit(), 1);
        assert_eq!(Sequence::new(10), None);
        assert_eq!(Sequence::default().digit(), 0);
    }

    #[test]
    fn splits_cr_crlf_and_lf() {
        let mut buf = b"941\r\n9900302.00\r98Y".to_vec();
        assert_eq!(split_frame(&mut buf), Some(b"941".to_vec()));
        assert_eq!(split_frame(&mut buf), Some(b"9900302.00".to_vec()));
        assert_eq!(split_frame(&mut buf), None);
        assert_eq!(buf, b"98Y");
        buf.extend_from_slice(b"YYY\n\n\r");
        assert_eq!(split_frame(&mut buf), Some(b"98YYYY".to_vec()));
        assert_eq!(split_frame(&mut buf), None);
        assert!(buf.is_empty());
    }
}
