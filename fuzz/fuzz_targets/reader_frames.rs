//! Arbitrary bytes from the readers' side: 3M/Bibliotheca and FEIG frames (as whole frames and
//! as a stream answering driver commands), and PN5180 register values and reception buffers
//! answering the ISO 15693 and ISO 14443A exchanges (patron-card polls with memory reads
//! included). Nothing may panic or hang.

#![no_main]

use std::convert::Infallible;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use selfcheck::drivers::hal::delay::DelayNs;
use selfcheck::drivers::hal::digital::{ErrorType as PinErrorType, InputPin, OutputPin};
use selfcheck::drivers::hal::spi::{ErrorKind, ErrorType as SpiErrorType, Operation, SpiDevice};
use selfcheck::drivers::pn5180::{Pn5180, PollConfig};
use selfcheck::drivers::serial::bibliotheca::{self, Bibliotheca};
use selfcheck::drivers::serial::feig::{self, Feig};
use selfcheck::drivers::serial::{SerialError, SerialLink};
use selfcheck::rfid::card::CardMemoryRead;
use selfcheck::rfid::transceiver::Transceiver;

/// Every byte the chip clocks out comes from the fuzz input; zeros once it runs out.
struct FuzzSpi<'a> {
    data: &'a [u8],
}

impl FuzzSpi<'_> {
    fn fill(&mut self, buf: &mut [u8]) {
        for b in buf.iter_mut() {
            let (first, rest) = self
                .data
                .split_first()
                .map_or((0, &[][..]), |(f, r)| (*f, r));
            *b = first;
            self.data = rest;
        }
    }
}

impl SpiErrorType for FuzzSpi<'_> {
    type Error = ErrorKind;
}

impl SpiDevice for FuzzSpi<'_> {
    fn transaction(&mut self, ops: &mut [Operation<'_, u8>]) -> Result<(), ErrorKind> {
        for op in ops {
            match op {
                Operation::Read(buf) | Operation::TransferInPlace(buf) => self.fill(buf),
                Operation::Transfer(read, _) => self.fill(read),
                Operation::Write(_) | Operation::DelayNs(_) => {}
            }
        }
        Ok(())
    }
}

/// BUSY always low, IRQ always raised, RST accepts anything.
struct Line(bool);

impl PinErrorType for Line {
    type Error = Infallible;
}

impl InputPin for Line {
    fn is_high(&mut self) -> Result<bool, Infallible> {
        Ok(self.0)
    }
    fn is_low(&mut self) -> Result<bool, Infallible> {
        Ok(!self.0)
    }
}

impl OutputPin for Line {
    fn set_low(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
    fn set_high(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
}

struct NoDelay;

impl DelayNs for NoDelay {
    fn delay_ns(&mut self, _: u32) {}
}

/// A serial line whose reader answers every command with the fuzz input, then goes quiet.
struct FuzzLink<'a> {
    data: &'a [u8],
}

impl SerialLink for FuzzLink<'_> {
    fn write_all(&mut self, _: &[u8]) -> Result<(), SerialError> {
        Ok(())
    }
    fn read_exact(&mut self, buf: &mut [u8], _: Duration) -> Result<(), SerialError> {
        let Some((head, rest)) = self.data.split_at_checked(buf.len()) else {
            self.data = &[];
            return Err(SerialError::Timeout);
        };
        buf.copy_from_slice(head);
        self.data = rest;
        Ok(())
    }
    fn discard_input(&mut self) -> Result<(), SerialError> {
        self.data = &[];
        Ok(())
    }
}

const UID: [u8; 8] = [0x3E, 0x0A, 0x53, 0x31, 0x00, 0x01, 0x04, 0xE0];

fuzz_target!(|data: &[u8]| {
    let _ = bibliotheca::decode_frame(data);
    let _ = feig::decode_response(data);

    let mut r = Bibliotheca::new(FuzzLink { data });
    let _ = r.inventory();
    let _ = r.read_blocks(&UID, 0, 8);
    let mut r = Feig::new(FuzzLink { data });
    let _ = r.inventory();
    let _ = r.read_blocks(&UID, 0, 8);
    let _ = r.system_info(&UID);

    let poll = PollConfig {
        busy_polls: 4,
        busy_backoff_us: 0,
        irq_polls: 4,
        irq_backoff_us: 0,
    };
    for irq in [None, Some(Line(true))] {
        let mut chip = Pn5180::new(FuzzSpi { data }, Line(false), Line(true), irq, NoDelay)
            .with_poll_config(poll);
        let _ = chip.transceive(&[0x26, 0x01, 0x00]);
        let _ = chip.next_slot();
        let _ = chip.read_14443a_uid();
        let _ = chip.poll_card(&CardMemoryRead::UltralightPages { page: 4 });
        let _ = chip.poll_card(&CardMemoryRead::ClassicBlock {
            block: 4,
            key_a: [0xFF; 6],
        });
    }
});
