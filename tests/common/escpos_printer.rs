//! A simulated ESC/POS network printer: listens on loopback, records every byte it is sent,
//! and answers real-time status queries (`DLE EOT n`) with the status it is given, or not
//! at all.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

/// What the printer answers to `DLE EOT 1..=4`.
#[derive(Debug, Clone, Copy)]
pub enum Answers {
    /// The four answer bytes, for n = 1, 2, 3, 4.
    Status([u8; 4]),
    /// Takes the bytes, answers nothing (a hung printer or one without real-time status).
    Silent,
}

/// An idle printer with paper.
pub const READY: Answers = Answers::Status([0x12, 0x12, 0x12, 0x12]);
/// Out of paper: offline, stopped by paper end, sensor at paper end.
pub const PAPER_OUT: Answers = Answers::Status([0x1A, 0x32, 0x12, 0x72]);
/// Cover open.
pub const COVER_OPEN: Answers = Answers::Status([0x1A, 0x16, 0x12, 0x12]);

pub struct SimPrinter {
    pub port: u16,
    received: Arc<Mutex<Vec<u8>>>,
    answers: Arc<Mutex<Answers>>,
    stop: Arc<AtomicBool>,
}

impl SimPrinter {
    pub fn start(answers: Answers) -> SimPrinter {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the simulated printer");
        let port = listener.local_addr().expect("address").port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let answers = Arc::new(Mutex::new(answers));
        let stop = Arc::new(AtomicBool::new(false));
        let (r, a, s) = (received.clone(), answers.clone(), stop.clone());
        thread::spawn(move || {
            for stream in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    let (r, a) = (r.clone(), a.clone());
                    thread::spawn(move || serve(stream, &r, &a));
                }
            }
        });
        SimPrinter {
            port,
            received,
            answers,
            stop,
        }
    }

    pub fn url(&self) -> String {
        format!("tcp://127.0.0.1:{}", self.port)
    }

    /// Every byte received so far, over all connections.
    pub fn received(&self) -> Vec<u8> {
        self.received.lock().map(|r| r.clone()).unwrap_or_default()
    }

    pub fn set(&self, answers: Answers) {
        if let Ok(mut a) = self.answers.lock() {
            *a = answers;
        }
    }
}

impl Drop for SimPrinter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the stop flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(mut stream: TcpStream, received: &Mutex<Vec<u8>>, answers: &Mutex<Answers>) {
    let mut buf = [0u8; 4096];
    // The last two bytes seen, to find DLE EOT n across reads.
    let mut tail = [0u8; 2];
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if let Ok(mut r) = received.lock() {
            r.extend_from_slice(&buf[..n]);
        }
        for &b in &buf[..n] {
            if tail == [0x10, 0x04] && (1..=4).contains(&b) {
                let answer = answers.lock().map(|a| *a).unwrap_or(Answers::Silent);
                if let Answers::Status(bytes) = answer {
                    let _ = stream.write_all(&[bytes[usize::from(b - 1)]]);
                }
            }
            tail = [tail[1], b];
        }
    }
}
