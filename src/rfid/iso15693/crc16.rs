//! The ISO 15693 frame check: CRC-16/X-25, sent low byte first.

use crc::{CRC_16_IBM_SDLC, Crc};

const X25: Crc<u16> = Crc::<u16>::new(&CRC_16_IBM_SDLC);

/// CRC-16/X-25 of `data`.
pub fn crc16(data: &[u8]) -> u16 {
    X25.checksum(data)
}

/// Append the frame CRC, low byte first.
pub fn append_crc(frame: &mut Vec<u8>) {
    let crc = crc16(frame);
    frame.extend_from_slice(&crc.to_le_bytes());
}

/// The frame without its CRC if the CRC is right.
pub fn check_crc(frame: &[u8]) -> Option<&[u8]> {
    let split = frame.len().checked_sub(2)?;
    let (body, crc) = frame.split_at(split);
    let expected = crc16(body).to_le_bytes();
    (crc == expected).then_some(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_value() {
        assert_eq!(crc16(b"123456789"), 0x906E);
    }

    #[test]
    fn reference_frames() {
        for (body, full) in [
            (
                &[0x26u8, 0x01, 0x00][..],
                &[0x26u8, 0x01, 0x00, 0xF6, 0x0A][..],
            ),
            (&[0x06, 0x01, 0x00], &[0x06, 0x01, 0x00, 0xCD, 0x09]),
            (
                &[0x16, 0x01, 0xC2, 0x00],
                &[0x16, 0x01, 0xC2, 0x00, 0x23, 0xD7],
            ),
        ] {
            let mut frame = body.to_vec();
            append_crc(&mut frame);
            assert_eq!(frame, full);
            assert_eq!(check_crc(full), Some(body));
        }
    }

    #[test]
    fn bad_crc_rejected() {
        assert_eq!(check_crc(&[0x26, 0x01, 0x00, 0xF6, 0x0B]), None);
        assert_eq!(check_crc(&[0x26]), None);
        assert_eq!(check_crc(&[]), None);
    }
}
