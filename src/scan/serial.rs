//! Serial (RS-232 or USB CDC) scanners: each code is a line of ASCII ended by CR or CRLF.
//!
//! [`LineAssembler`] turns bytes into codes without a port; [`SerialScanner`] feeds it from
//! anything that implements `Read`, a `serialport` port in the kiosk.

use std::io::{ErrorKind, Read};
use std::time::{Duration, Instant};

use super::{DEFAULT_GAP, MAX_CODE_LEN, Pending, ScanError, Scanner};

const CR: u8 = b'\r';
const LF: u8 = b'\n';

/// Bytes in, codes out. Pure: the caller supplies the time each byte arrived.
#[derive(Debug)]
pub struct LineAssembler {
    pending: Pending,
    /// Position (1-based) and value of the first byte that is not printable ASCII.
    bad: Option<(usize, u8)>,
    len: usize,
    after_cr: bool,
}

impl Default for LineAssembler {
    fn default() -> Self {
        Self::new(DEFAULT_GAP, MAX_CODE_LEN)
    }
}

impl LineAssembler {
    pub fn new(gap: Duration, max_len: usize) -> Self {
        Self {
            pending: Pending::new(gap, max_len),
            bad: None,
            len: 0,
            after_cr: false,
        }
    }

    /// One byte; returns a code, or a bad scan, when the byte ends a line. Empty lines are
    /// skipped, and so is the LF of a CRLF. A lone LF also ends a line: some scanners are
    /// set up that way.
    pub fn feed(&mut self, byte: u8, now: Instant) -> Option<Result<String, ScanError>> {
        if self.pending.touch(now) {
            self.drop_partial();
        }
        let after_cr = std::mem::replace(&mut self.after_cr, byte == CR);
        match byte {
            LF if after_cr => None,
            CR | LF => self.finish(),
            b' '..=b'~' => {
                self.len += 1;
                self.pending.push(char::from(byte));
                None
            }
            _ => {
                self.len += 1;
                self.bad.get_or_insert((self.len, byte));
                None
            }
        }
    }

    /// Drops a partial line whose last byte is older than the gap (noise on the line, a
    /// scanner unplugged halfway), so it cannot prefix the next code.
    pub fn expire(&mut self, now: Instant) {
        if self.pending.is_stale(now) {
            self.drop_partial();
            self.pending.last = None;
        }
    }

    fn drop_partial(&mut self) {
        if self.len > 0 {
            tracing::debug!(partial = %self.pending.text, "scanner: incomplete line dropped");
        }
        self.pending.clear();
        self.bad = None;
        self.len = 0;
    }

    fn finish(&mut self) -> Option<Result<String, ScanError>> {
        let len = std::mem::take(&mut self.len);
        let bad = self.bad.take();
        let text = self.pending.take();
        match (len, bad) {
            (0, _) => None,
            (_, Some((position, byte))) => Some(Err(ScanError::NotPrintable { position, byte })),
            _ => Some(text),
        }
    }
}

/// A scanner on a serial line.
#[derive(Debug)]
pub struct SerialScanner<R> {
    port: R,
    lines: LineAssembler,
    buf: [u8; 64],
    start: usize,
    end: usize,
}

/// How long one read on the port may block: bounds how late `next_code` returns.
const READ_SLICE: Duration = Duration::from_millis(50);

impl SerialScanner<Box<dyn serialport::SerialPort>> {
    /// Opens `path` (e.g. `/dev/ttyACM0`) at `baud`, 8N1, no flow control: the settings
    /// scanners ship with.
    pub fn open(path: &str, baud: u32) -> Result<Self, ScanError> {
        let port = serialport::new(path, baud)
            .data_bits(serialport::DataBits::Eight)
            .parity(serialport::Parity::None)
            .stop_bits(serialport::StopBits::One)
            .flow_control(serialport::FlowControl::None)
            .timeout(READ_SLICE)
            .open()
            .map_err(std::io::Error::from)?;
        tracing::info!(path, baud, "serial scanner opened");
        Ok(Self::new(port))
    }
}

impl<R: Read> SerialScanner<R> {
    /// Reads codes from `port`. A read that blocks longer than the timeout given to
    /// `next_code` delays its return: give the port a short read timeout.
    pub fn new(port: R) -> Self {
        Self::with_assembler(port, LineAssembler::default())
    }

    pub fn with_assembler(port: R, lines: LineAssembler) -> Self {
        Self {
            port,
            lines,
            buf: [0; 64],
            start: 0,
            end: 0,
        }
    }
}

impl<R: Read> Scanner for SerialScanner<R> {
    fn next_code(&mut self, timeout: Duration) -> Result<Option<String>, ScanError> {
        let deadline = Instant::now() + timeout;
        loop {
            let now = Instant::now();
            while let Some(&byte) = self.buf.get(self.start..self.end).and_then(|b| b.first()) {
                self.start += 1;
                if let Some(code) = self.lines.feed(byte, now) {
                    return code.map(Some);
                }
            }
            if now >= deadline {
                self.lines.expire(now);
                return Ok(None);
            }
            match self.port.read(&mut self.buf) {
                Ok(0) => return Err(ScanError::Closed),
                Ok(n) => (self.start, self.end) = (0, n.min(self.buf.len())),
                Err(e) if matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn lines(bytes: &[u8]) -> Vec<Result<String, String>> {
        let mut lines = LineAssembler::default();
        let t = Instant::now();
        bytes
            .iter()
            .filter_map(|&b| lines.feed(b, t))
            .map(|r| r.map_err(|e| e.to_string()))
            .collect()
    }

    #[test]
    fn cr_crlf_and_lf_end_lines() {
        let got = lines(b"9780306406157\r33191000105864\r\nITEM-7\n\r\n\rlast");
        assert_eq!(
            got,
            [
                Ok("9780306406157".into()),
                Ok("33191000105864".into()),
                Ok("ITEM-7".into())
            ]
        );
    }

    #[test]
    fn non_printable_bytes_spoil_only_their_line() {
        let got = lines(b"\x02123\x03\r456\r12\xC3\xA9\r");
        assert_eq!(
            got,
            [
                Err("byte 1 of the scan is 0x02, not printable ASCII".into()),
                Ok("456".into()),
                Err("byte 3 of the scan is 0xC3, not printable ASCII".into()),
            ]
        );
    }

    #[test]
    fn overlong_line_is_refused() {
        let mut bytes = vec![b'7'; MAX_CODE_LEN + 1];
        bytes.extend_from_slice(b"\r42\r");
        let got = lines(&bytes);
        assert_eq!(
            got,
            [
                Err(format!("the scan is longer than {MAX_CODE_LEN} characters")),
                Ok("42".into())
            ]
        );
    }

    #[test]
    fn stale_partial_line_is_dropped() {
        let mut lines = LineAssembler::default();
        let t = Instant::now();
        for &b in b"noise" {
            assert!(lines.feed(b, t).is_none());
        }
        let later = t + DEFAULT_GAP * 2;
        let got: Vec<_> = b"123\r"
            .iter()
            .filter_map(|&b| lines.feed(b, later))
            .collect();
        assert!(matches!(got.as_slice(), [Ok(code)] if code == "123"));
        lines.feed(b'9', later);
        lines.expire(later + DEFAULT_GAP * 2);
        assert!(lines.feed(CR, later + DEFAULT_GAP * 2).is_none());
    }

    /// Hands out its data a few bytes per read, then reports timeouts, like a real port.
    struct Trickle<'a> {
        data: &'a [u8],
        chunk: usize,
        then_eof: bool,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.data.is_empty() {
                return if self.then_eof {
                    Ok(0)
                } else {
                    Err(ErrorKind::TimedOut.into())
                };
            }
            let n = self.chunk.min(buf.len()).min(self.data.len());
            let (head, tail) = self.data.split_at(n);
            if let Some(b) = buf.get_mut(..n) {
                b.copy_from_slice(head);
            }
            self.data = tail;
            Ok(n)
        }
    }

    #[test]
    fn scanner_reads_codes_across_reads() {
        let port = Trickle {
            data: b"0306406152\r\n12\x07\rABC\r",
            chunk: 3,
            then_eof: false,
        };
        let mut scanner = SerialScanner::new(port);
        let wait = Duration::from_secs(5);
        assert_eq!(
            scanner.next_code(wait).ok(),
            Some(Some("0306406152".into()))
        );
        assert!(matches!(
            scanner.next_code(wait),
            Err(ScanError::NotPrintable {
                position: 3,
                byte: 7
            })
        ));
        assert_eq!(scanner.next_code(wait).ok(), Some(Some("ABC".into())));
        assert!(matches!(scanner.next_code(Duration::ZERO), Ok(None)));
    }

    #[test]
    fn several_codes_in_one_read_are_all_delivered_then_eof_closes() {
        let port = std::io::Cursor::new(b"111\r222\r333".to_vec());
        let mut scanner = SerialScanner::new(port);
        let wait = Duration::from_secs(5);
        assert_eq!(scanner.next_code(wait).ok(), Some(Some("111".into())));
        assert_eq!(scanner.next_code(wait).ok(), Some(Some("222".into())));
        assert!(matches!(scanner.next_code(wait), Err(ScanError::Closed)));
    }

    #[test]
    fn a_phone_token_arrives_whole_with_its_spaces() {
        let token = crate::phone::testing::token(9, "23191000123457");
        assert!(token.contains(' ') && token.len() > crate::scan::symbology::MAX_LEN);
        let mut bytes = token.clone().into_bytes();
        bytes.extend_from_slice(b"\r\n");
        let got = lines(&bytes);
        assert!(crate::phone::testing::accepts(9, &token));
        assert_eq!(got, [Ok(token)]);
        // The longest token a QR code of version 10-M holds passes; one more is too long.
        let longest = "0".repeat(crate::phone::MAX_TOKEN_LEN);
        let got = lines(format!("{longest}\r{longest}0\r").as_bytes());
        assert_eq!(got[0], Ok(longest));
        assert!(got[1].is_err());
    }

    proptest! {
        #[test]
        fn any_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400), chunk in 1usize..70) {
            for line in lines(&bytes).into_iter().flatten() {
                prop_assert!(line.len() <= MAX_CODE_LEN);
                prop_assert!(line.bytes().all(|b| (b' '..=b'~').contains(&b)));
            }
            let mut scanner = SerialScanner::new(Trickle { data: &bytes, chunk, then_eof: true });
            for _ in 0..=bytes.len() {
                if matches!(scanner.next_code(Duration::from_secs(5)), Err(ScanError::Closed)) {
                    break;
                }
            }
        }

        #[test]
        fn printable_lines_come_back(codes in prop::collection::vec("[ -~]{1,48}", 1..5), crlf in any::<bool>()) {
            let end: &[u8] = if crlf { b"\r\n" } else { b"\r" };
            let bytes: Vec<u8> = codes.iter().flat_map(|c| c.bytes().chain(end.iter().copied())).collect();
            let got: Vec<String> = lines(&bytes).into_iter().flatten().collect();
            prop_assert_eq!(got, codes);
        }
    }
}
