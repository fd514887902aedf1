//! What the kiosk publishes, as serde types. Each JSON payload has a schema in
//! `docs/fleet/schema/`; a field is only ever added, and a change that would break a reader
//! moves the topic prefix to a new version. No payload carries a patron id, a patron name, an
//! item id or a PIN.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::sip2::MediaType;
use crate::store::journal::Action;

/// The longest title an event carries (in characters); longer ones are cut.
pub const TITLE_MAX: usize = 200;

/// The word on the retained `state` topic (a plain word, not JSON, in the style of Homie).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    Online,
    OutOfOrder,
    /// The last will, and what a kiosk that closes says.
    Offline,
}

impl State {
    pub const ALL: [State; 3] = [State::Online, State::OutOfOrder, State::Offline];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Online => "online",
            State::OutOfOrder => "out-of-order",
            State::Offline => "offline",
        }
    }

    pub fn parse(text: &str) -> Option<State> {
        State::ALL.into_iter().find(|s| s.as_str() == text.trim())
    }
}

/// Who the terminal is: published retained when it connects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Info {
    pub terminal: String,
    pub site: String,
    pub version: String,
    pub board: String,
    pub languages: Vec<String>,
    pub location: String,
    pub library_name: String,
    /// A terminal of `selfcheck fleet simulate`, not a kiosk.
    pub simulated: bool,
    /// When the kiosk started (UTC, RFC 3339).
    pub started_at: String,
}

/// A part of the kiosk that can fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Component {
    #[default]
    Ok,
    Fault,
    /// The board has none.
    Absent,
}

/// What the runtime knows of the kiosk's health; the publisher adds the rest
/// ([`HealthReport`]).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Health {
    pub ils_online: bool,
    pub reader: Component,
    pub printer: Component,
    /// Offline actions waiting for the sync.
    pub queue_depth: u64,
    /// Actions the sync could not settle, waiting for staff.
    pub conflicts: u64,
    /// Whether the system clock is synchronised (NTP); `None` when it cannot be told.
    pub clock_synced: Option<bool>,
}

/// The retained `health` payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthReport {
    #[serde(flatten)]
    pub health: Health,
    /// Why the kiosk is out of order, when it is.
    pub out_of_order_reason: Option<String>,
    /// Free bytes on the file system of the data directory.
    pub disk_free_bytes: Option<u64>,
    pub uptime_secs: u64,
    /// Circulation events waiting in the outbox for the broker.
    pub outbox_pending: u64,
    /// Events the full outbox dropped (oldest first), ever.
    pub outbox_dropped: u64,
    /// When this report was made (UTC, RFC 3339).
    pub time: String,
}

/// Counts of circulation actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Tally {
    pub loans: u64,
    pub returns: u64,
    pub renewals: u64,
    pub refusals: u64,
}

/// One day's circulation at a terminal, from the daily statistics. `by_media_type` and
/// `by_language` count the actions that were done (not the refusals).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DayCounts {
    #[serde(flatten)]
    pub all: Tally,
    /// The part of `all` done while the library system was unreachable.
    pub offline: Tally,
    pub by_media_type: BTreeMap<String, u64>,
    pub by_language: BTreeMap<String, u64>,
}

/// The retained `metrics` payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// The calendar day counted (in `terminal.time_zone`), `YYYY-MM-DD`.
    pub day: String,
    #[serde(flatten)]
    pub counts: DayCounts,
    pub time: String,
}

/// How a circulation action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Done (online), or accepted offline to be confirmed by the sync.
    Ok,
    Refused,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Refused => "refused",
        }
    }

    pub fn parse(text: &str) -> Option<Outcome> {
        [Outcome::Ok, Outcome::Refused]
            .into_iter()
            .find(|o| o.as_str() == text)
    }
}

/// The item's kind, from its SIP2 media type, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    Book,
    Magazine,
    BoundJournal,
    AudioTape,
    VideoTape,
    Cd,
    Diskette,
    BookWithDiskette,
    BookWithCd,
    BookWithAudioTape,
    /// SIP2 "other", a code the standard does not name, or not told.
    Other,
}

impl MediaKind {
    pub const ALL: [MediaKind; 11] = [
        MediaKind::Book,
        MediaKind::Magazine,
        MediaKind::BoundJournal,
        MediaKind::AudioTape,
        MediaKind::VideoTape,
        MediaKind::Cd,
        MediaKind::Diskette,
        MediaKind::BookWithDiskette,
        MediaKind::BookWithCd,
        MediaKind::BookWithAudioTape,
        MediaKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Book => "book",
            MediaKind::Magazine => "magazine",
            MediaKind::BoundJournal => "bound_journal",
            MediaKind::AudioTape => "audio_tape",
            MediaKind::VideoTape => "video_tape",
            MediaKind::Cd => "cd",
            MediaKind::Diskette => "diskette",
            MediaKind::BookWithDiskette => "book_with_diskette",
            MediaKind::BookWithCd => "book_with_cd",
            MediaKind::BookWithAudioTape => "book_with_audio_tape",
            MediaKind::Other => "other",
        }
    }

    pub fn parse(text: &str) -> Option<MediaKind> {
        MediaKind::ALL.into_iter().find(|m| m.as_str() == text)
    }
}

impl From<Option<&MediaType>> for MediaKind {
    fn from(media: Option<&MediaType>) -> MediaKind {
        match media {
            Some(MediaType::Book) => MediaKind::Book,
            Some(MediaType::Magazine) => MediaKind::Magazine,
            Some(MediaType::BoundJournal) => MediaKind::BoundJournal,
            Some(MediaType::AudioTape) => MediaKind::AudioTape,
            Some(MediaType::VideoTape) => MediaKind::VideoTape,
            Some(MediaType::CdOrCdRom) => MediaKind::Cd,
            Some(MediaType::Diskette) => MediaKind::Diskette,
            Some(MediaType::BookWithDiskette) => MediaKind::BookWithDiskette,
            Some(MediaType::BookWithCd) => MediaKind::BookWithCd,
            Some(MediaType::BookWithAudioTape) => MediaKind::BookWithAudioTape,
            Some(MediaType::Unspecified | MediaType::Other(_)) | None => MediaKind::Other,
        }
    }
}

/// One circulation action, as the kiosk hands it to the outbox. Nothing in it names the
/// patron or the item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventPayload {
    /// `checkout`, `checkin` or `renew`, as SIP2 names them.
    #[serde(serialize_with = "action_out", deserialize_with = "action_in")]
    pub action: Action,
    pub outcome: Outcome,
    /// Decided while the library system was unreachable.
    pub offline: bool,
    pub media_type: MediaKind,
    /// The session's language (`en`, `it`, `zh_CN`).
    pub language: String,
    pub title: Option<String>,
    /// When it happened (UTC, RFC 3339).
    pub time: String,
}

impl EventPayload {
    /// An action that happened now; a long title is cut to [`TITLE_MAX`] characters.
    pub fn now(
        action: Action,
        outcome: Outcome,
        offline: bool,
        media_type: MediaKind,
        language: &str,
        title: Option<&str>,
    ) -> EventPayload {
        EventPayload {
            action,
            outcome,
            offline,
            media_type,
            language: language.to_string(),
            title: title
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(|t| t.chars().take(TITLE_MAX).collect()),
            time: now_stamp(),
        }
    }
}

/// The published `event` payload: the action and the id a reader drops a redelivered copy
/// by (QoS 1 may deliver one twice).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventMessage {
    pub id: String,
    #[serde(flatten)]
    pub event: EventPayload,
}

/// The answer on `cmd/{name}/reply`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandReply {
    /// The request's `id`, when it had one.
    pub id: Option<String>,
    pub command: String,
    pub ok: bool,
    pub message: String,
    /// What was wrong, one line each (a refused `settings` lists every problem).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// Now, as every payload's `time` field has it.
pub fn now_stamp() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn action_out<S: Serializer>(action: &Action, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(action.as_str())
}

fn action_in<'de, D: Deserializer<'de>>(d: D) -> Result<Action, D::Error> {
    let text = String::deserialize(d)?;
    Action::parse(&text).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "unknown action \"{text}\" (checkout, checkin, renew)"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_are_plain_words() {
        for state in State::ALL {
            assert_eq!(State::parse(state.as_str()), Some(state));
            assert_eq!(
                serde_json::to_string(&state).expect("json"),
                format!("\"{}\"", state.as_str())
            );
        }
        assert_eq!(State::parse("lost"), None);
    }

    #[test]
    fn media_kinds_from_sip2() {
        assert_eq!(
            MediaKind::from(Some(&MediaType::from_code("001"))),
            MediaKind::Book
        );
        assert_eq!(
            MediaKind::from(Some(&MediaType::from_code("006"))),
            MediaKind::Cd
        );
        assert_eq!(
            MediaKind::from(Some(&MediaType::from_code("XYZ"))),
            MediaKind::Other
        );
        assert_eq!(MediaKind::from(None), MediaKind::Other);
        for m in MediaKind::ALL {
            assert_eq!(MediaKind::parse(m.as_str()), Some(m));
            assert_eq!(
                serde_json::to_value(m).expect("json"),
                serde_json::Value::String(m.as_str().into())
            );
        }
    }

    #[test]
    fn an_event_reads_back_and_cuts_long_titles() {
        let long = "x".repeat(TITLE_MAX + 50);
        let event = EventPayload::now(
            Action::Renew,
            Outcome::Ok,
            false,
            MediaKind::Book,
            "it",
            Some(&long),
        );
        assert_eq!(
            event.title.as_ref().map(|t| t.chars().count()),
            Some(TITLE_MAX)
        );
        let message = EventMessage {
            id: "k1-7".into(),
            event,
        };
        let json = serde_json::to_string(&message).expect("json");
        assert!(json.contains("\"action\":\"renew\""), "{json}");
        let back: EventMessage = serde_json::from_str(&json).expect("parse");
        assert_eq!(back, message);
        let bad = json.replace("\"renew\"", "\"steal\"");
        assert!(serde_json::from_str::<EventMessage>(&bad).is_err());
    }
}
