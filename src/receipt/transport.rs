//! The byte pipes to a printer: TCP, a usblp device, a serial port, a file. Every read and
//! write is bounded by a deadline, so a printer that stops answering never holds the kiosk.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::address::PrinterAddress;

/// An open connection to a printer.
pub trait Link {
    /// Bound the next read or write to `timeout`.
    fn set_timeout(&mut self, timeout: Duration) -> io::Result<()>;
    fn write_some(&mut self, bytes: &[u8]) -> io::Result<usize>;
    /// Read what the printer sent; `Ok(None)` on a one-way link (a file).
    fn read_some(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>>;
}

/// Write all of `bytes` before `deadline`, or fail with `TimedOut`.
pub fn write_all_by(link: &mut dyn Link, mut bytes: &[u8], deadline: Instant) -> io::Result<()> {
    while !bytes.is_empty() {
        let left = remaining(deadline)?;
        link.set_timeout(left)?;
        match link.write_some(&bytes[..bytes.len().min(4096)]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes = bytes.get(n..).unwrap_or_default(),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(timed_out_if_would_block(e)),
        }
    }
    Ok(())
}

/// One byte from the printer before `deadline`; `Ok(None)` on a one-way link.
pub fn read_byte_by(link: &mut dyn Link, deadline: Instant) -> io::Result<Option<u8>> {
    let mut buf = [0u8; 1];
    loop {
        let left = remaining(deadline)?;
        link.set_timeout(left)?;
        match link.read_some(&mut buf) {
            Ok(None) => return Ok(None),
            Ok(Some(0)) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(Some(_)) => return Ok(Some(buf[0])),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(timed_out_if_would_block(e)),
        }
    }
}

fn remaining(deadline: Instant) -> io::Result<Duration> {
    deadline
        .checked_duration_since(Instant::now())
        .filter(|d| !d.is_zero())
        .ok_or_else(|| io::ErrorKind::TimedOut.into())
}

/// Sockets report an expired timeout as `WouldBlock`; callers see one kind.
fn timed_out_if_would_block(e: io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::WouldBlock {
        io::ErrorKind::TimedOut.into()
    } else {
        e
    }
}

/// Open the printer at `address`, giving up after `timeout`.
pub fn open(address: &PrinterAddress, timeout: Duration) -> io::Result<Box<dyn Link>> {
    Ok(match address {
        PrinterAddress::Tcp { host, port } => Box::new(connect_tcp(host, *port, timeout)?),
        PrinterAddress::Usb { vendor, product } => {
            let device = find_usblp(*vendor, *product, Path::new("/sys"), Path::new("/dev"))
                .ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::NotFound,
                        format!("no USB printer {vendor:04x}:{product:04x} is plugged in"),
                    )
                })?;
            usb::open(&device)?
        }
        PrinterAddress::UsbDevice(device) => usb::open(device)?,
        PrinterAddress::Serial { path, baud } => {
            let port = serialport::new(path.to_string_lossy(), *baud)
                .timeout(timeout)
                .open()
                .map_err(io::Error::from)?;
            Box::new(SerialLink(port))
        }
        PrinterAddress::File(path) => Box::new(FileLink(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?,
        )),
    })
}

fn connect_tcp(host: &str, port: u16, timeout: Duration) -> io::Result<TcpStream> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the host has no address");
    for addr in (host, port).to_socket_addrs()? {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(stream) => {
                stream.set_nodelay(true)?;
                return Ok(stream);
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

impl Link for TcpStream {
    fn set_timeout(&mut self, timeout: Duration) -> io::Result<()> {
        self.set_read_timeout(Some(timeout))?;
        self.set_write_timeout(Some(timeout))
    }

    fn write_some(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.write(bytes)
    }

    fn read_some(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        self.read(buf).map(Some)
    }
}

struct SerialLink(Box<dyn serialport::SerialPort>);

impl Link for SerialLink {
    fn set_timeout(&mut self, timeout: Duration) -> io::Result<()> {
        self.0.set_timeout(timeout).map_err(io::Error::from)
    }

    fn write_some(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.write(bytes)
    }

    fn read_some(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        self.0.read(buf).map(Some)
    }
}

struct FileLink(std::fs::File);

impl Link for FileLink {
    fn set_timeout(&mut self, _: Duration) -> io::Result<()> {
        Ok(())
    }

    fn write_some(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.write(bytes)
    }

    fn read_some(&mut self, _: &mut [u8]) -> io::Result<Option<usize>> {
        Ok(None)
    }
}

/// The usblp node (`/dev/usb/lpN`) whose USB device has this vendor and product id: the
/// kernel lists them in `/sys/class/usbmisc/lpN`, whose `device` is the printer interface;
/// the ids are in the USB device above it.
pub fn find_usblp(vendor: u16, product: u16, sys: &Path, dev: &Path) -> Option<PathBuf> {
    let read_id = |dir: &Path, file: &str| {
        std::fs::read_to_string(dir.join(file))
            .ok()
            .and_then(|s| u16::from_str_radix(s.trim(), 16).ok())
    };
    let mut names: Vec<String> = std::fs::read_dir(sys.join("class/usbmisc"))
        .ok()?
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.starts_with("lp"))
        .collect();
    names.sort();
    names.into_iter().find_map(|name| {
        let interface =
            std::fs::canonicalize(sys.join("class/usbmisc").join(&name).join("device")).ok()?;
        let matches = interface.ancestors().take(3).any(|dir| {
            read_id(dir, "idVendor") == Some(vendor) && read_id(dir, "idProduct") == Some(product)
        });
        matches.then(|| dev.join("usb").join(&name))
    })
}

#[cfg(target_os = "linux")]
mod usb {
    use std::io::{self, Read, Write};
    use std::os::fd::AsFd;
    use std::os::unix::fs::OpenOptionsExt;
    use std::path::Path;
    use std::time::Duration;

    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

    use super::Link;

    /// A usblp node opened non-blocking: every read and write first waits on `poll` for at
    /// most the timeout, so a printer that stopped taking data cannot block the caller.
    pub struct UsbLink {
        file: std::fs::File,
        timeout: Duration,
    }

    pub fn open(device: &Path) -> io::Result<Box<dyn Link>> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
            .open(device)?;
        Ok(Box::new(UsbLink {
            file,
            timeout: Duration::from_secs(1),
        }))
    }

    impl UsbLink {
        fn wait(&self, flags: PollFlags) -> io::Result<()> {
            let ms = u16::try_from(self.timeout.as_millis()).unwrap_or(u16::MAX);
            let mut fds = [PollFd::new(self.file.as_fd(), flags)];
            match poll(&mut fds, PollTimeout::from(ms)) {
                Ok(0) => Err(io::ErrorKind::TimedOut.into()),
                Ok(_) => Ok(()),
                Err(e) => Err(io::Error::from(e)),
            }
        }
    }

    impl Link for UsbLink {
        fn set_timeout(&mut self, timeout: Duration) -> io::Result<()> {
            self.timeout = timeout;
            Ok(())
        }

        fn write_some(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.wait(PollFlags::POLLOUT)?;
            self.file.write(bytes)
        }

        fn read_some(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
            self.wait(PollFlags::POLLIN)?;
            self.file.read(buf).map(Some)
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod usb {
    use std::io;
    use std::path::Path;

    pub fn open(_: &Path) -> io::Result<Box<dyn super::Link>> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "USB printers are driven through Linux's usblp",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_usb_printer_is_found_by_its_ids() {
        let root = tempfile::tempdir().expect("tmp");
        let sys = root.path().join("sys");
        let device = sys.join("devices/pci0/usb1/1-1");
        let interface = device.join("1-1:1.0");
        std::fs::create_dir_all(&interface).expect("dirs");
        std::fs::write(device.join("idVendor"), "04b8\n").expect("vid");
        std::fs::write(device.join("idProduct"), "0e27\n").expect("pid");
        let class = sys.join("class/usbmisc/lp1");
        std::fs::create_dir_all(&class).expect("class");
        std::os::unix::fs::symlink(&interface, class.join("device")).expect("link");
        // Another class device that is not a printer.
        std::fs::create_dir_all(sys.join("class/usbmisc/hiddev0")).expect("hid");

        let dev = Path::new("/dev");
        assert_eq!(
            find_usblp(0x04b8, 0x0e27, &sys, dev),
            Some(PathBuf::from("/dev/usb/lp1"))
        );
        assert_eq!(find_usblp(0x04b8, 0x0202, &sys, dev), None);
        assert_eq!(
            find_usblp(0x04b8, 0x0e27, Path::new("/nonexistent"), dev),
            None
        );
    }

    #[test]
    fn a_file_printer_appends_and_is_one_way() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("out.bin");
        let address = PrinterAddress::File(path.clone());
        for chunk in [&b"one"[..], b"two"] {
            let mut link = open(&address, Duration::from_secs(1)).expect("open");
            let deadline = Instant::now() + Duration::from_secs(1);
            write_all_by(link.as_mut(), chunk, deadline).expect("write");
            assert_eq!(read_byte_by(link.as_mut(), deadline).expect("read"), None);
        }
        assert_eq!(std::fs::read(&path).expect("read"), b"onetwo");
    }

    #[test]
    fn a_silent_peer_times_out_on_read() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let address = PrinterAddress::Tcp {
            host: "127.0.0.1".into(),
            port,
        };
        let mut link = open(&address, Duration::from_secs(1)).expect("connect");
        let (_peer, _) = listener.accept().expect("accept");
        let started = Instant::now();
        let e = read_byte_by(link.as_mut(), started + Duration::from_millis(200))
            .expect_err("nothing to read");
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
    }
}
