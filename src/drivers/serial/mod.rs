//! Serial RFID readers and the byte-stream port they talk over.
//!
//! [`SerialLink`] is our own small port (write, read with a deadline, drop stale input) so the
//! reader protocols are tested against scripted transcripts ([`ScriptedLink`]) and run on real
//! ports through [`SerialPortLink`] (the `serialport` crate).
//!
//! - [`bibliotheca`]: 3M 810 / Bibliotheca 210 style readers (19200 8N1).
//! - [`feig`]: FEIG ISC readers, standard protocol with 0xB0 ISO host commands (38400 8E1).

use std::time::{Duration, Instant};

use thiserror::Error;

use crate::rfid::tag::Uid;

pub mod bibliotheca;
pub mod feig;
mod mock;
mod tag_reader;

pub use mock::ScriptedLink;
pub use tag_reader::{SerialTagReader, TagOps};

/// A UID as both serial protocols send it: least significant byte first.
fn uid_wire(uid: &Uid) -> [u8; 8] {
    let mut w = *uid;
    w.reverse();
    w
}

/// A UID from the wire order of [`uid_wire`]; `None` unless there are 8 bytes.
fn uid_from_wire(bytes: &[u8]) -> Option<Uid> {
    let mut uid: Uid = bytes.try_into().ok()?;
    uid.reverse();
    Some(uid)
}

/// A failure of the byte stream itself.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SerialError {
    #[error("no complete reply within the timeout")]
    Timeout,
    #[error("serial port error: {0}")]
    Io(String),
}

/// A bidirectional byte stream with read deadlines.
pub trait SerialLink {
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), SerialError>;

    /// Fill `buf` completely within `timeout`, or fail with [`SerialError::Timeout`].
    fn read_exact(&mut self, buf: &mut [u8], timeout: Duration) -> Result<(), SerialError>;

    /// Drop unread input: the rest of a reply abandoned after an error must not be taken for
    /// the start of the next one.
    fn discard_input(&mut self) -> Result<(), SerialError>;
}

impl<L: SerialLink + ?Sized> SerialLink for Box<L> {
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), SerialError> {
        (**self).write_all(bytes)
    }
    fn read_exact(&mut self, buf: &mut [u8], timeout: Duration) -> Result<(), SerialError> {
        (**self).read_exact(buf, timeout)
    }
    fn discard_input(&mut self) -> Result<(), SerialError> {
        (**self).discard_input()
    }
}

/// Parity of a serial line (the readers use 8 data bits and 1 stop bit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parity {
    None,
    Even,
}

/// A real serial port through the `serialport` crate (built without libudev).
pub struct SerialPortLink {
    port: Box<dyn serialport::SerialPort>,
}

impl SerialPortLink {
    pub fn open(path: &str, baud: u32, parity: Parity) -> Result<Self, SerialError> {
        let parity = match parity {
            Parity::None => serialport::Parity::None,
            Parity::Even => serialport::Parity::Even,
        };
        let port = serialport::new(path, baud)
            .data_bits(serialport::DataBits::Eight)
            .stop_bits(serialport::StopBits::One)
            .flow_control(serialport::FlowControl::None)
            .parity(parity)
            .timeout(Duration::from_millis(100))
            .open()
            .map_err(|e| SerialError::Io(format!("{path}: {e}")))?;
        Ok(SerialPortLink { port })
    }

    pub fn into_inner(self) -> Box<dyn serialport::SerialPort> {
        self.port
    }
}

impl SerialLink for SerialPortLink {
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), SerialError> {
        std::io::Write::write_all(&mut self.port, bytes)
            .and_then(|()| std::io::Write::flush(&mut self.port))
            .map_err(|e| SerialError::Io(e.to_string()))
    }

    fn read_exact(&mut self, buf: &mut [u8], timeout: Duration) -> Result<(), SerialError> {
        let deadline = Instant::now() + timeout;
        let mut filled = 0;
        while filled < buf.len() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(SerialError::Timeout);
            }
            self.port
                .set_timeout(left)
                .map_err(|e| SerialError::Io(e.to_string()))?;
            let Some(rest) = buf.get_mut(filled..) else {
                break;
            };
            match std::io::Read::read(&mut self.port, rest) {
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                    return Err(SerialError::Timeout);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(SerialError::Io(e.to_string())),
            }
        }
        Ok(())
    }

    fn discard_input(&mut self) -> Result<(), SerialError> {
        self.port
            .clear(serialport::ClearBuffer::Input)
            .map_err(|e| SerialError::Io(e.to_string()))
    }
}
