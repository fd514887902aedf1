//! Whether the terminal's clock can be trusted. A Raspberry Pi has no battery-backed clock: after
//! a power cut it starts from the last saved time until NTP (or nothing) corrects it. Offline
//! loans carry the kiosk's dates, so they are refused while the clock is unsure.
//!
//! The clock counts as synchronised when `terminal.clock_check` is off, when the system says
//! NTP has synchronised it, or when an ILS date (SIP2 98) agreed with it within
//! `terminal.clock_skew_secs` during this run. A machine with no NTP state at all (a container,
//! CI) counts as unsynchronised until an ILS date agrees.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset};

use crate::config::Terminal;
use crate::sip2::{SipDateTime, Zone};

/// What the operating system says about NTP synchronisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NtpState {
    Synchronised {
        source: &'static str,
    },
    Unsynchronised {
        source: &'static str,
    },
    /// No NTP state could be read.
    Unknown {
        why: String,
    },
}

/// systemd-timesyncd touches this file once it has synchronised the clock.
pub const TIMESYNC_FLAG: &str = "/run/systemd/timesync/synchronized";

/// How long `timedatectl` may take (it asks timedated over D-Bus).
const TIMEDATECTL_TIMEOUT: Duration = Duration::from_secs(3);

/// `timedatectl show -p NTPSynchronized --value` prints `yes` or `no`.
pub fn parse_timedatectl(output: &str) -> Option<bool> {
    match output.trim() {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    }
}

/// The system's NTP state: timedatectl (which reports the kernel's synchronisation status,
/// whatever NTP client sets it), else systemd-timesyncd's flag file.
///
/// The kernel's adjtimex status is not read directly: that takes an unsafe system call, and
/// timedatectl reports the same flag.
pub fn system_ntp_state() -> NtpState {
    match run_timedatectl() {
        Ok(true) => NtpState::Synchronised {
            source: "timedatectl",
        },
        Ok(false) => NtpState::Unsynchronised {
            source: "timedatectl",
        },
        Err(why) => {
            if Path::new(TIMESYNC_FLAG).exists() {
                NtpState::Synchronised {
                    source: TIMESYNC_FLAG,
                }
            } else {
                NtpState::Unknown { why }
            }
        }
    }
}

fn run_timedatectl() -> Result<bool, String> {
    let mut child = Command::new("timedatectl")
        .args(["show", "-p", "NTPSynchronized", "--value"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("timedatectl: {e}"))?;
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if started.elapsed() < TIMEDATECTL_TIMEOUT => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err("timedatectl did not answer".into());
            }
            Err(e) => return Err(format!("timedatectl: {e}")),
        }
    }
    let output = child
        .wait_with_output()
        .map_err(|e| format!("timedatectl: {e}"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err("timedatectl found no time service (no systemd here)".into());
    }
    parse_timedatectl(&text).ok_or_else(|| format!("timedatectl said {:?}", text.trim()))
}

/// What one ILS date said about the local clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IlsDateCheck {
    /// Within the allowed skew; `offset_secs` is ILS minus local.
    Agreed { offset_secs: i64 },
    /// Further off than the allowed skew.
    Disagreed { offset_secs: i64 },
    /// A date in a named zone (`ZZZZ` neither blank nor `Z`) cannot be compared.
    UnknownZone(String),
}

/// The clock state the runtime keeps for one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockState {
    check: bool,
    skew_secs: u32,
    system: NtpState,
    ils: Option<IlsDateCheck>,
}

impl ClockState {
    pub fn new(terminal: &Terminal, system: NtpState) -> Self {
        ClockState {
            check: terminal.clock_check,
            skew_secs: terminal.clock_skew_secs,
            system,
            ils: None,
        }
    }

    /// The state with the system's NTP state read now (not read when the check is off).
    pub fn from_system(terminal: &Terminal) -> Self {
        let system = if terminal.clock_check {
            system_ntp_state()
        } else {
            NtpState::Unknown {
                why: "not asked (terminal.clock_check = false)".into(),
            }
        };
        Self::new(terminal, system)
    }

    /// A fresh reading of the system's NTP state (NTP may synchronise long after start).
    pub fn set_system(&mut self, system: NtpState) {
        self.system = system;
    }

    /// Compare an ILS date with the local clock at `now`. A local-time date (`ZZZZ` blank) is
    /// compared with local time, a `Z` date with UTC.
    pub fn observe_ils_date(
        &mut self,
        date: &SipDateTime,
        now: DateTime<FixedOffset>,
    ) -> IlsDateCheck {
        let local = match &date.zone {
            Zone::Local => now.naive_local(),
            Zone::Utc => now.naive_utc(),
            Zone::Other(name) => return IlsDateCheck::UnknownZone(name.trim().to_string()),
        };
        let offset_secs = (date.datetime - local).num_seconds();
        let check = if offset_secs.unsigned_abs() <= u64::from(self.skew_secs) {
            IlsDateCheck::Agreed { offset_secs }
        } else {
            IlsDateCheck::Disagreed { offset_secs }
        };
        self.ils = Some(check.clone());
        check
    }

    /// [`observe_ils_date`](Self::observe_ils_date) against the clock now.
    pub fn observe_ils_date_now(&mut self, date: &SipDateTime) -> IlsDateCheck {
        self.observe_ils_date(date, chrono::Local::now().fixed_offset())
    }

    /// Whether offline loans may carry this clock's dates.
    pub fn is_synchronised(&self) -> bool {
        !self.check
            || matches!(self.system, NtpState::Synchronised { .. })
            || matches!(self.ils, Some(IlsDateCheck::Agreed { .. }))
    }

    /// Why the clock is (or is not) trusted, for staff and the doctor.
    pub fn reason(&self) -> String {
        if !self.check {
            return "not checked (terminal.clock_check = false: a battery-backed clock)".into();
        }
        let ils = match &self.ils {
            None => "no ILS date has been compared yet".to_string(),
            Some(IlsDateCheck::Agreed { offset_secs }) => format!(
                "the ILS date agreed within {} s (allowed {} s)",
                offset_secs.unsigned_abs(),
                self.skew_secs
            ),
            Some(IlsDateCheck::Disagreed { offset_secs }) => format!(
                "the last ILS date is {} s {} the local clock (allowed {} s, terminal.clock_skew_secs)",
                offset_secs.unsigned_abs(),
                if *offset_secs > 0 {
                    "ahead of"
                } else {
                    "behind"
                },
                self.skew_secs
            ),
            Some(IlsDateCheck::UnknownZone(zone)) => {
                format!("the ILS sent a date in zone {zone:?}, which cannot be compared")
            }
        };
        let system = match &self.system {
            NtpState::Synchronised { source } => format!("NTP synchronised ({source})"),
            NtpState::Unsynchronised { source } => format!("NTP not synchronised ({source})"),
            NtpState::Unknown { why } => format!("no NTP state ({why})"),
        };
        format!("{system}; {ils}")
    }
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone};

    use super::*;

    fn terminal(check: bool) -> Terminal {
        Terminal {
            clock_check: check,
            clock_skew_secs: 120,
            ..Terminal::default()
        }
    }

    /// 2026-03-01 12:00:00 at UTC+1.
    fn now() -> DateTime<FixedOffset> {
        FixedOffset::east_opt(3600)
            .and_then(|z| z.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).single())
            .expect("date")
    }

    fn local(h: u32, m: u32, s: u32) -> SipDateTime {
        SipDateTime::local(
            NaiveDate::from_ymd_opt(2026, 3, 1)
                .and_then(|d| d.and_hms_opt(h, m, s))
                .expect("date"),
        )
    }

    const NO_NTP: NtpState = NtpState::Unsynchronised {
        source: "timedatectl",
    };

    #[test]
    fn timedatectl_output() {
        assert_eq!(parse_timedatectl("yes\n"), Some(true));
        assert_eq!(parse_timedatectl("no"), Some(false));
        assert_eq!(parse_timedatectl(""), None);
    }

    #[test]
    fn unsynchronised_until_an_ils_date_agrees_then_a_disagreeing_one_undoes_it() {
        let mut clock = ClockState::new(&terminal(true), NO_NTP);
        assert!(!clock.is_synchronised());
        assert!(clock.reason().contains("no ILS date"), "{}", clock.reason());
        assert_eq!(
            clock.observe_ils_date(&local(12, 1, 30), now()),
            IlsDateCheck::Agreed { offset_secs: 90 }
        );
        assert!(clock.is_synchronised());
        assert_eq!(
            clock.observe_ils_date(&local(11, 50, 0), now()),
            IlsDateCheck::Disagreed { offset_secs: -600 }
        );
        assert!(!clock.is_synchronised());
        assert!(
            clock.reason().contains("600 s behind"),
            "{}",
            clock.reason()
        );
    }

    #[test]
    fn utc_dates_are_compared_with_utc() {
        let mut clock = ClockState::new(&terminal(true), NO_NTP);
        let utc = SipDateTime::utc(local(11, 0, 10).datetime);
        assert_eq!(
            clock.observe_ils_date(&utc, now()),
            IlsDateCheck::Agreed { offset_secs: 10 }
        );
        let mut named = local(12, 0, 0);
        named.zone = Zone::Other(" EST".into());
        assert_eq!(
            clock.observe_ils_date(&named, now()),
            IlsDateCheck::UnknownZone("EST".into())
        );
        // A date that cannot be compared leaves the last verdict standing.
        assert!(clock.is_synchronised());
    }

    #[test]
    fn ntp_or_no_check_is_enough() {
        let synced = NtpState::Synchronised {
            source: TIMESYNC_FLAG,
        };
        assert!(ClockState::new(&terminal(true), synced).is_synchronised());
        let unknown = NtpState::Unknown {
            why: "no systemd".into(),
        };
        assert!(!ClockState::new(&terminal(true), unknown.clone()).is_synchronised());
        let unchecked = ClockState::new(&terminal(false), unknown);
        assert!(unchecked.is_synchronised());
        assert!(unchecked.reason().contains("clock_check = false"));
    }
}
