//! The SIP2 side of the demo ILS: sockets, framing, error detection and one answer per message.

use std::net::SocketAddr;
use std::sync::Arc;

use chrono::{Duration, NaiveDateTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::sip2::{
    AcsStatus, Charset, CheckinResponse, CheckoutResponse, CirculationStatus, DecodeError,
    EndSessionResponse, FeePaidResponse, FeeType, HoldResponse, ItemInformationResponse,
    ItemStatusUpdateResponse, Language, LoginResponse, MediaType, Message, PatronEnableResponse,
    PatronInformationResponse, PatronStatus, PatronStatusResponse, RenewAllResponse,
    SecurityMarker, Sequence, SipDateTime, SupportedMessages, YesNoUnknown,
};

use super::catalogue::{self, Catalogue, CheckinOutcome, HoldMode, LoanOutcome, LoanRequest};
use super::{DemoIls, DemoIlsError, now};

/// How the demo ILS behaves on the wire.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// When set, a connection must log in (93) with this user and password before anything
    /// but 99; anything else closes the connection, as Koha does.
    pub login: Option<(String, String)>,
    /// Refuse (answer 96) requests that come without AY/AZ. Requests that carry them are always
    /// checked and answered with them.
    pub error_detection: bool,
    pub charset: Charset,
    pub institution: String,
    pub library_name: String,
    /// Timeout period announced in 98, in tenths of a second (0 = none).
    pub timeout_period: u16,
    pub retries_allowed: u16,
    /// Check the PINs patron requests carry and answer CQ. Off: the PIN is ignored and CQ left
    /// out, as an ILS that cannot verify PINs does.
    pub verifies_pins: bool,
    /// How far this ILS's clock is from the machine's, in seconds (the date in its 98).
    pub clock_offset_secs: i64,
    /// What its ACS status (98) allows: checkout and checkin.
    pub checkout_ok: bool,
    pub checkin_ok: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            login: None,
            error_detection: false,
            charset: Charset::Utf8,
            institution: "DEMO".into(),
            library_name: "Selfcheck Demo Library".into(),
            timeout_period: 0,
            retries_allowed: 3,
            verifies_pins: true,
            clock_offset_secs: 0,
            checkout_ok: true,
            checkin_ok: true,
        }
    }
}

/// A running demo ILS. Dropping the handle stops it as well, without waiting.
pub struct ServerHandle {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl ServerHandle {
    /// The address it listens on (useful after binding port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, closes every connection and waits for the tasks to end.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

pub(super) fn serve(
    ils: DemoIls,
    listener: TcpListener,
    config: ServerConfig,
) -> Result<ServerHandle, DemoIlsError> {
    let addr = listener.local_addr()?;
    let (stop, mut stopped) = watch::channel(false);
    let config = Arc::new(config);
    let task = tokio::spawn(async move {
        let mut connections = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                _ = stopped.changed() => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        tracing::debug!(%peer, "demo ILS connection");
                        let conn = Connection::new(ils.clone(), config.clone());
                        connections.spawn(conn.run(stream, stopped.clone()));
                    }
                    Err(e) => tracing::warn!("demo ILS accept: {e}"),
                },
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
        while connections.join_next().await.is_some() {}
    });
    Ok(ServerHandle { addr, stop, task })
}

struct Connection {
    ils: DemoIls,
    config: Arc<ServerConfig>,
    logged_in: bool,
    last_response: Option<Vec<u8>>,
}

enum Step {
    Reply(Vec<u8>),
    Close,
}

impl Connection {
    fn new(ils: DemoIls, config: Arc<ServerConfig>) -> Self {
        let logged_in = config.login.is_none();
        Connection {
            ils,
            config,
            logged_in,
            last_response: None,
        }
    }

    async fn run(mut self, mut stream: TcpStream, mut stop: watch::Receiver<bool>) {
        let mut buf = Vec::with_capacity(1024);
        loop {
            while let Some(frame) = crate::sip2::split_frame(&mut buf) {
                let open = match self.step(&frame) {
                    Some(Step::Reply(bytes)) => stream.write_all(&bytes).await.is_ok(),
                    Some(Step::Close) => false,
                    None => true,
                };
                if !open {
                    return;
                }
            }
            if buf.len() > crate::sip2::MAX_FRAME_LEN {
                tracing::warn!("demo ILS: peer sent an over-long message, closing");
                return;
            }
            tokio::select! {
                _ = stop.changed() => return,
                read = stream.read_buf(&mut buf) => match read {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                },
            }
        }
    }

    fn step(&mut self, frame: &[u8]) -> Option<Step> {
        let decoded = match crate::sip2::decode(frame, self.config.charset) {
            Ok(d) => d,
            Err(DecodeError::BadChecksum { .. }) => {
                return Some(self.reply(&Message::RequestScResend, None));
            }
            Err(e) => {
                tracing::debug!("demo ILS: undecodable request: {e}");
                return Some(self.reply(&Message::RequestScResend, None));
            }
        };
        let seq = decoded.sequence;
        if decoded.checksum.is_none() && self.config.error_detection {
            return Some(self.reply(&Message::RequestScResend, None));
        }
        if let Message::RequestResend = decoded.message {
            return match &self.last_response {
                Some(bytes) => Some(Step::Reply(bytes.clone())),
                None => Some(self.reply(&Message::RequestScResend, None)),
            };
        }
        let answer = match (&decoded.message, self.logged_in) {
            (Message::Login(l), _) => {
                let ok = match &self.config.login {
                    Some((user, pass)) => *user == l.login_user_id && *pass == l.login_password,
                    None => true,
                };
                self.logged_in |= ok;
                Message::LoginResponse(LoginResponse {
                    ok,
                    extra: Vec::new(),
                })
            }
            (Message::ScStatus(_), _) => self.acs_status(),
            (_, false) => return Some(Step::Close),
            (m, true) => match self.answer(m) {
                Ok(Some(a)) => a,
                Ok(None) => return None,
                Err(e) => {
                    tracing::error!("demo ILS: {e}");
                    return Some(Step::Close);
                }
            },
        };
        let step = self.reply(&answer, seq);
        if let Step::Reply(bytes) = &step {
            self.last_response = Some(bytes.clone());
        }
        Some(step)
    }

    fn reply(&self, message: &Message, seq: Option<Sequence>) -> Step {
        // 96 always carries AZ (`96AZFEF6`): it answers frames that may have had one.
        let seq = match message {
            Message::RequestScResend => Some(Sequence::default()),
            _ => seq,
        };
        match crate::sip2::encode(message, self.config.charset, seq) {
            Ok(encoded) => Step::Reply(encoded.bytes),
            Err(e) => {
                tracing::error!("demo ILS: cannot encode {}: {e}", message.id());
                Step::Close
            }
        }
    }

    fn acs_status(&self) -> Message {
        let all = SupportedMessages::from_wire("YYYYYYYYYYYYYYYY");
        Message::AcsStatus(AcsStatus {
            online_status: true,
            checkin_ok: self.config.checkin_ok,
            checkout_ok: self.config.checkout_ok,
            acs_renewal_policy: true,
            status_update_ok: true,
            offline_ok: true,
            timeout_period: self.config.timeout_period,
            retries_allowed: self.config.retries_allowed,
            date_time_sync: Some(SipDateTime::local(
                now() + Duration::seconds(self.config.clock_offset_secs),
            )),
            protocol_version: "2.00".into(),
            institution_id: self.config.institution.clone(),
            library_name: Some(self.config.library_name.clone()),
            supported_messages: Some(all),
            terminal_location: None,
            screen_messages: Vec::new(),
            print_lines: Vec::new(),
            extra: Vec::new(),
        })
    }

    /// The PIN a patron request carries, to be checked; none when this ILS does not verify
    /// PINs (its answers then have no CQ).
    fn pin_to_check<'a>(&self, pin: Option<&'a str>) -> Option<&'a str> {
        pin.filter(|p| !p.is_empty() && self.config.verifies_pins)
    }

    fn answer(&self, request: &Message) -> Result<Option<Message>, DemoIlsError> {
        let mut cat = self.ils.lock()?;
        let now = now();
        let date = Some(SipDateTime::local(now));
        let inst = self.config.institution.clone();
        Ok(Some(match request {
            Message::PatronStatusRequest(r) => {
                let pin = self.pin_to_check(Some(r.patron_password.as_str()));
                let s = patron_status(&cat, &r.patron_id, pin, now)?;
                Message::PatronStatusResponse(PatronStatusResponse {
                    transaction_date: date,
                    institution_id: inst,
                    ..s
                })
            }
            Message::BlockPatron(r) => {
                cat.set_blocked(&r.patron_id, true, &r.blocked_card_message, now)?;
                let s = patron_status(&cat, &r.patron_id, None, now)?;
                Message::PatronStatusResponse(PatronStatusResponse {
                    transaction_date: date,
                    institution_id: inst,
                    ..s
                })
            }
            Message::PatronEnable(r) => {
                let pin = self.pin_to_check(r.patron_password.as_deref());
                let pin_ok = pin
                    .map(|p| cat.check_pin(&r.patron_id, p))
                    .transpose()?
                    .flatten();
                if pin_ok != Some(false) {
                    cat.set_blocked(&r.patron_id, false, "", now)?;
                }
                let s = patron_status(&cat, &r.patron_id, pin, now)?;
                Message::PatronEnableResponse(PatronEnableResponse {
                    patron_status: s.patron_status,
                    language: s.language,
                    transaction_date: date,
                    institution_id: inst,
                    patron_id: s.patron_id,
                    personal_name: s.personal_name,
                    valid_patron: s.valid_patron,
                    valid_patron_password: s.valid_patron_password,
                    screen_messages: s.screen_messages,
                    print_lines: Vec::new(),
                    extra: Vec::new(),
                })
            }
            Message::PatronInformation(r) => {
                let pin = self.pin_to_check(r.patron_password.as_deref());
                Message::PatronInformationResponse(patron_information(&cat, r, pin, now, inst)?)
            }
            Message::Checkout(r) => {
                let req = LoanRequest {
                    patron: &r.patron_id,
                    item: &r.item_id,
                    pin: r.patron_password.as_deref(),
                    no_block: r.no_block,
                    nb_due: r.nb_due_date.as_ref().map(|d| d.datetime),
                    date: r.transaction_date.as_ref().map(|d| d.datetime),
                };
                let out = cat.checkout(&req, now)?;
                Message::CheckoutResponse(loan_response(out, &r.patron_id, &r.item_id, inst, date))
            }
            Message::Renew(r) => {
                let item = r.item_id.clone().unwrap_or_default();
                let req = LoanRequest {
                    patron: &r.patron_id,
                    item: &item,
                    pin: r.patron_password.as_deref(),
                    no_block: r.no_block,
                    nb_due: r.nb_due_date.as_ref().map(|d| d.datetime),
                    date: r.transaction_date.as_ref().map(|d| d.datetime),
                };
                let out = cat.renew(&req, now)?;
                Message::RenewResponse(loan_response(out, &r.patron_id, &item, inst, date))
            }
            Message::RenewAll(r) => {
                let (ok, renewed, unrenewed, screen) =
                    match cat.renew_all(&r.patron_id, r.patron_password.as_deref(), now)? {
                        Ok((done, not)) => (true, done, not, Vec::new()),
                        Err(msg) => (false, Vec::new(), Vec::new(), vec![msg]),
                    };
                Message::RenewAllResponse(RenewAllResponse {
                    ok,
                    renewed_count: count(renewed.len()),
                    unrenewed_count: count(unrenewed.len()),
                    transaction_date: date,
                    institution_id: inst,
                    renewed_items: renewed,
                    unrenewed_items: unrenewed,
                    screen_messages: screen,
                    print_lines: Vec::new(),
                    extra: Vec::new(),
                })
            }
            Message::Checkin(r) => {
                let returned = if r.no_block {
                    r.return_date.as_ref().map(|d| d.datetime)
                } else {
                    None
                };
                let out = cat.checkin(&r.item_id, &r.current_location, returned, now)?;
                Message::CheckinResponse(checkin_response(out, &r.item_id, inst, date))
            }
            Message::ItemInformation(r) => {
                let item = cat.item(&r.item_id)?;
                Message::ItemInformationResponse(item_information(item, &r.item_id, date))
            }
            Message::ItemStatusUpdate(r) => {
                let ok = cat.update_properties(&r.item_id, &r.item_properties, now)?;
                let item = cat.item(&r.item_id)?;
                Message::ItemStatusUpdateResponse(ItemStatusUpdateResponse {
                    item_properties_ok: ok,
                    transaction_date: date,
                    item_id: r.item_id.clone(),
                    title_id: item.as_ref().map(|i| i.title.clone()),
                    item_properties: item.map(|i| i.properties),
                    screen_messages: if ok {
                        Vec::new()
                    } else {
                        vec!["This item is not in the catalogue.".into()]
                    },
                    print_lines: Vec::new(),
                    extra: Vec::new(),
                })
            }
            Message::EndPatronSession(r) => Message::EndSessionResponse(EndSessionResponse {
                end_session: true,
                transaction_date: date,
                institution_id: inst,
                patron_id: r.patron_id.clone(),
                screen_messages: vec!["Goodbye, and thank you.".into()],
                print_lines: Vec::new(),
                extra: Vec::new(),
            }),
            Message::FeePaid(r) => {
                let (accepted, msg) = match catalogue::parse_amount(&r.fee_amount) {
                    Some(cents) => cat.pay(
                        &r.patron_id,
                        r.patron_password.as_deref(),
                        cents,
                        r.fee_id.as_deref(),
                        now,
                    )?,
                    None => (false, "The amount is not a number.".into()),
                };
                Message::FeePaidResponse(FeePaidResponse {
                    payment_accepted: accepted,
                    transaction_date: date,
                    institution_id: inst,
                    patron_id: r.patron_id.clone(),
                    transaction_id: r.transaction_id.clone(),
                    screen_messages: vec![msg],
                    print_lines: Vec::new(),
                    extra: Vec::new(),
                })
            }
            Message::Hold(r) => {
                let mode = match r.hold_mode {
                    crate::sip2::HoldMode::Delete => HoldMode::Delete,
                    crate::sip2::HoldMode::Change => HoldMode::Change,
                    _ => HoldMode::Add,
                };
                let item = r.item_id.clone().unwrap_or_default();
                let pickup = r.pickup_location.clone().unwrap_or_default();
                let out = cat.hold(
                    mode,
                    &r.patron_id,
                    r.patron_password.as_deref(),
                    &item,
                    &pickup,
                    now,
                )?;
                Message::HoldResponse(HoldResponse {
                    ok: out.ok,
                    available: out.available,
                    transaction_date: date,
                    expiration_date: out.expires.map(sip_date),
                    queue_position: out.queue_position,
                    pickup_location: Some(out.pickup).filter(|p| !p.is_empty()),
                    institution_id: inst,
                    patron_id: r.patron_id.clone(),
                    item_id: r.item_id.clone(),
                    title_id: out.item.map(|i| i.title),
                    screen_messages: vec![out.message],
                    print_lines: Vec::new(),
                    extra: Vec::new(),
                })
            }
            // Responses and anything a terminal should not send get no answer.
            _ => return Ok(None),
        }))
    }
}

fn count(n: usize) -> u16 {
    u16::try_from(n).unwrap_or(u16::MAX)
}

fn language(code: &str) -> Language {
    code.parse().map(Language).unwrap_or(Language::UNKNOWN)
}

fn sip_date(t: NaiveDateTime) -> String {
    SipDateTime::local(t).to_string()
}

fn media(code: &str) -> MediaType {
    MediaType::from_code(code)
}

fn patron_status(
    cat: &Catalogue,
    patron: &str,
    pin: Option<&str>,
    now: NaiveDateTime,
) -> Result<PatronStatusResponse, DemoIlsError> {
    let Some(v) = cat.patron_view(patron, now)? else {
        return Ok(PatronStatusResponse {
            patron_status: PatronStatus::from_wire("YYYY          "),
            patron_id: patron.to_owned(),
            valid_patron: Some(false),
            screen_messages: vec![
                "This library card is not recognised. Please see the staff.".into(),
            ],
            ..PatronStatusResponse::default()
        });
    };
    let pin_ok = pin.map(|p| cat.check_pin(patron, p)).transpose()?.flatten();
    let mut screen = Vec::new();
    if pin_ok == Some(false) {
        screen.push("The PIN is not correct. Please try again.".to_owned());
    }
    if !v.message.is_empty() {
        screen.push(v.message.clone());
    }
    Ok(PatronStatusResponse {
        patron_status: PatronStatus::from_wire(&v.flags.as_sip()),
        language: language(&v.language),
        transaction_date: None,
        institution_id: String::new(),
        patron_id: v.id,
        personal_name: v.name,
        valid_patron: Some(true),
        valid_patron_password: pin_ok,
        currency_type: Some("EUR".into()),
        fee_amount: Some(catalogue::amount(v.fines_cents)),
        screen_messages: screen,
        print_lines: Vec::new(),
        extra: Vec::new(),
    })
}

/// The slice BP..=BQ (1-based) of a list, or all of it.
fn window(list: &[String], start: Option<u32>, end: Option<u32>) -> Vec<String> {
    let from = start.map_or(0, |s| {
        usize::try_from(s.saturating_sub(1)).unwrap_or(usize::MAX)
    });
    let to = end
        .map_or(list.len(), |e| usize::try_from(e).unwrap_or(usize::MAX))
        .min(list.len());
    list.get(from..to)
        .map(<[String]>::to_vec)
        .unwrap_or_default()
}

fn patron_information(
    cat: &Catalogue,
    r: &crate::sip2::PatronInformation,
    pin: Option<&str>,
    now: NaiveDateTime,
    inst: String,
) -> Result<PatronInformationResponse, DemoIlsError> {
    let date = Some(SipDateTime::local(now));
    let Some(v) = cat.patron_view(&r.patron_id, now)? else {
        return Ok(PatronInformationResponse {
            patron_status: PatronStatus::from_wire("YYYY          "),
            transaction_date: date,
            institution_id: inst,
            patron_id: r.patron_id.clone(),
            valid_patron: Some(false),
            screen_messages: vec![
                "This library card is not recognised. Please see the staff.".into(),
            ],
            hold_items_count: Some(0),
            overdue_items_count: Some(0),
            charged_items_count: Some(0),
            fine_items_count: Some(0),
            recall_items_count: Some(0),
            unavailable_holds_count: Some(0),
            ..PatronInformationResponse::default()
        });
    };
    let pin_ok = pin
        .map(|p| cat.check_pin(&r.patron_id, p))
        .transpose()?
        .flatten();
    let s = &r.summary;
    let pick = |wanted: bool, list: &[String]| {
        if wanted {
            window(list, r.start_item, r.end_item)
        } else {
            Vec::new()
        }
    };
    let mut screen = Vec::new();
    if pin_ok == Some(false) {
        screen.push("The PIN is not correct. Please try again.".to_owned());
    }
    if !v.message.is_empty() {
        screen.push(v.message.clone());
    }
    if !v.holds_ready.is_empty() {
        screen.push(format!(
            "{} reserved item(s) are waiting for you at the hold shelf.",
            v.holds_ready.len()
        ));
    }
    let hold_items = pick(s.hold_items, &v.holds_ready);
    let unavailable_hold_items = pick(s.unavailable_holds, &v.holds_waiting);
    let hold_details = v
        .holds
        .iter()
        .filter(|h| hold_items.contains(&h.item_id) || unavailable_hold_items.contains(&h.item_id))
        .map(|h| {
            let (state, position) = if h.ready {
                ("ready", String::new())
            } else {
                (
                    "waiting",
                    h.position.map(|n| n.to_string()).unwrap_or_default(),
                )
            };
            (
                HOLD_DETAIL.to_string(),
                format!("{};{state};{position};{}", h.item_id, h.pickup),
            )
        })
        .collect();
    Ok(PatronInformationResponse {
        patron_status: PatronStatus::from_wire(&v.flags.as_sip()),
        language: language(&v.language),
        transaction_date: date,
        hold_items_count: Some(count(v.holds_ready.len())),
        overdue_items_count: Some(count(v.overdue.len())),
        charged_items_count: Some(count(v.charged.len())),
        fine_items_count: Some(count(v.fines.len())),
        recall_items_count: Some(0),
        unavailable_holds_count: Some(count(v.holds_waiting.len())),
        institution_id: inst,
        patron_id: v.id.clone(),
        personal_name: v.name.clone(),
        hold_items_limit: Some(10),
        overdue_items_limit: Some(3),
        charged_items_limit: Some(u16::try_from(v.loan_limit).unwrap_or(u16::MAX)),
        valid_patron: Some(true),
        valid_patron_password: pin_ok,
        currency_type: Some("EUR".into()),
        fee_amount: Some(catalogue::amount(v.fines_cents)),
        fee_limit: Some(catalogue::amount(v.fee_limit_cents)),
        hold_items,
        overdue_items: pick(s.overdue_items, &v.overdue),
        charged_items: pick(s.charged_items, &v.charged),
        fine_items: pick(s.fine_items, &v.fines),
        recall_items: Vec::new(),
        unavailable_hold_items,
        home_address: Some(v.address.clone()),
        email_address: Some(v.email.clone()),
        home_phone_number: Some(v.phone.clone()),
        screen_messages: screen,
        print_lines: Vec::new(),
        extra: hold_details,
    })
}

/// The extension field with one hold's state, queue position and pickup location (see the
/// module docs).
pub const HOLD_DETAIL: &str = "XH";

fn loan_response(
    out: LoanOutcome,
    patron: &str,
    item: &str,
    inst: String,
    date: Option<SipDateTime>,
) -> CheckoutResponse {
    let av = out
        .item
        .as_ref()
        .is_some_and(|i| matches!(i.media_type.as_str(), "005" | "006"));
    CheckoutResponse {
        ok: out.ok,
        renewal_ok: out.renewed,
        magnetic_media: if out.item.is_none() {
            YesNoUnknown::Unknown
        } else if av {
            YesNoUnknown::Yes
        } else {
            YesNoUnknown::No
        },
        desensitize: if out.ok {
            YesNoUnknown::Yes
        } else {
            YesNoUnknown::No
        },
        transaction_date: date,
        institution_id: inst,
        patron_id: patron.to_owned(),
        item_id: item.to_owned(),
        title_id: out
            .item
            .as_ref()
            .map(|i| i.title.clone())
            .unwrap_or_default(),
        due_date: out.due.map(sip_date).unwrap_or_default(),
        media_type: out.item.as_ref().map(|i| media(&i.media_type)),
        item_properties: out
            .item
            .as_ref()
            .map(|i| i.properties.clone())
            .filter(|p| !p.is_empty()),
        screen_messages: if out.message.is_empty() {
            Vec::new()
        } else {
            vec![out.message]
        },
        ..CheckoutResponse::default()
    }
}

fn checkin_response(
    out: CheckinOutcome,
    item: &str,
    inst: String,
    date: Option<SipDateTime>,
) -> CheckinResponse {
    let i = out.item.as_ref();
    let av = i.is_some_and(|i| matches!(i.media_type.as_str(), "005" | "006"));
    CheckinResponse {
        ok: out.ok,
        resensitize: out.resensitize,
        magnetic_media: match i {
            None => YesNoUnknown::Unknown,
            Some(_) if av => YesNoUnknown::Yes,
            Some(_) => YesNoUnknown::No,
        },
        alert: out.alert,
        transaction_date: date,
        institution_id: inst,
        item_id: item.to_owned(),
        permanent_location: i.map(|i| i.home_location.clone()).unwrap_or_default(),
        title_id: i.map(|i| i.title.clone()),
        sort_bin: Some(out.sort_bin).filter(|s| !s.is_empty()),
        patron_id: out.patron,
        media_type: i.map(|i| media(&i.media_type)),
        item_properties: i.map(|i| i.properties.clone()).filter(|p| !p.is_empty()),
        collection_code: None,
        call_number: i.map(|i| i.call_number.clone()),
        destination_location: Some(out.destination).filter(|d| !d.is_empty()),
        alert_type: out.alert_type.map(str::to_owned),
        screen_messages: vec![out.message],
        print_lines: Vec::new(),
        extra: Vec::new(),
    }
}

fn item_information(
    item: Option<catalogue::ItemView>,
    id: &str,
    date: Option<SipDateTime>,
) -> ItemInformationResponse {
    let Some(i) = item else {
        return ItemInformationResponse {
            circulation_status: CirculationStatus::Unspecified,
            security_marker: SecurityMarker::Unspecified,
            fee_type: FeeType::Unspecified,
            transaction_date: date,
            item_id: id.to_owned(),
            screen_messages: vec!["This item is not in the catalogue.".into()],
            ..ItemInformationResponse::default()
        };
    };
    ItemInformationResponse {
        circulation_status: CirculationStatus::from_code(i.state.circulation_status()),
        security_marker: SecurityMarker::Unspecified,
        fee_type: FeeType::Unspecified,
        transaction_date: date,
        hold_queue_length: Some(i.hold_queue),
        due_date: i.due.map(sip_date),
        recall_date: None,
        hold_pickup_date: i.hold_ready_at.map(|t| sip_date(t + Duration::days(7))),
        item_id: i.id.clone(),
        title_id: i.title.clone(),
        owner: None,
        currency_type: None,
        fee_amount: None,
        media_type: Some(media(&i.media_type)),
        permanent_location: Some(i.home_location.clone()),
        current_location: Some(i.current_location.clone()),
        item_properties: Some(i.properties.clone()).filter(|p| !p.is_empty()),
        screen_messages: if i.parts > 1 {
            vec![format!("Set of {} parts.", i.parts)]
        } else {
            Vec::new()
        },
        print_lines: Vec::new(),
        // Not in SIP2 2.00, but common (Koha, Evergreen send AA with the borrower): lets an
        // offline sync learn whether a loan it is unsure of is already recorded.
        extra: i
            .borrower
            .map(|b| vec![("AA".to_string(), b)])
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn conn(config: ServerConfig) -> Connection {
        let ils = DemoIls::open(None).expect("demo catalogue");
        Connection::new(ils, Arc::new(config))
    }

    fn reply(step: Option<Step>) -> Vec<u8> {
        match step {
            Some(Step::Reply(bytes)) => bytes,
            Some(Step::Close) => b"<close>".to_vec(),
            None => b"<none>".to_vec(),
        }
    }

    #[test]
    fn corrupt_request_gets_96_and_97_replays_the_last_answer() {
        let mut c = conn(ServerConfig::default());
        assert_eq!(reply(c.step(b"9900302.00AY1AZFCA6")), b"96AZFEF6\r");
        let status = reply(c.step(b"9900302.00AY1AZFCA5"));
        assert!(
            status.starts_with(b"98YYYYYY") && status.ends_with(b"\r"),
            "{status:?}"
        );
        // The answer carries the request's sequence number and a checksum that verifies.
        let decoded = crate::sip2::decode(&status, Charset::Utf8).expect("valid answer");
        assert_eq!(decoded.sequence.map(Sequence::digit), Some(1));
        assert_eq!(reply(c.step(b"97AZFEF5")), status);
    }

    #[test]
    fn an_ils_that_does_not_verify_pins_leaves_cq_out() {
        let li = crate::sip2::demo_ils::sample::with_luhn("2100000000001").expect("id");
        let text = format!("6300120261128    101500          AODEMO|AA{li}|AC|AD9999|");
        let request = text.as_bytes();
        let wrong = reply(conn(ServerConfig::default()).step(request));
        assert!(
            wrong.windows(4).any(|w| w == b"|CQN"),
            "{}",
            String::from_utf8_lossy(&wrong)
        );
        let unchecked = reply(
            conn(ServerConfig {
                verifies_pins: false,
                ..ServerConfig::default()
            })
            .step(request),
        );
        let text = String::from_utf8_lossy(&unchecked);
        assert!(text.starts_with("64") && text.contains("|BLY"), "{text}");
        assert!(!text.contains("|CQ"), "{text}");
    }

    #[test]
    fn error_detection_required_refuses_plain_requests() {
        let mut c = conn(ServerConfig {
            error_detection: true,
            ..ServerConfig::default()
        });
        assert_eq!(reply(c.step(b"9900302.00")), b"96AZFEF6\r");
    }

    #[test]
    fn login_gates_everything_but_status() {
        let config = ServerConfig {
            login: Some(("kiosk".into(), "secret".into())),
            ..ServerConfig::default()
        };
        let mut c = conn(config);
        assert!(reply(c.step(b"9900302.00")).starts_with(b"98"));
        assert_eq!(
            reply(c.step(b"2300120261128    101500AODEMO|AA21000000000012|AC|AD|")),
            b"<close>"
        );
        let mut c = conn(ServerConfig {
            login: Some(("kiosk".into(), "secret".into())),
            ..ServerConfig::default()
        });
        assert_eq!(reply(c.step(b"9300CNkiosk|COwrong|")), b"940\r");
        assert_eq!(reply(c.step(b"9300CNkiosk|COsecret|")), b"941\r");
        assert!(
            reply(c.step(b"2300120261128    101500AODEMO|AA21000000000012|AC|AD|"))
                .starts_with(b"24")
        );
    }

    #[test]
    fn patron_information_honours_summary_and_range() {
        let mut c = conn(ServerConfig::default());
        let wang = super::super::sample::with_luhn("2100000000007").unwrap_or_default();
        let frame = format!("6300120261128    101500  Y       AODEMO|AA{wang}|BP2|BQ3|");
        let answer = reply(c.step(frame.as_bytes()));
        match crate::sip2::decode(&answer, Charset::Utf8).map(|d| d.message) {
            Ok(Message::PatronInformationResponse(r)) => {
                assert_eq!(r.charged_items_count, Some(4));
                assert_eq!(r.charged_items.len(), 2, "items 2..=3 only");
                assert!(r.hold_items.is_empty() && r.fine_items.is_empty());
                assert_eq!(r.fine_items_count, Some(1));
            }
            other => panic!("{other:?}"),
        }
    }

    fn answer(c: &mut Connection, frame: &str) -> Message {
        let bytes = reply(c.step(frame.as_bytes()));
        crate::sip2::decode(&bytes, Charset::Utf8)
            .map(|d| d.message)
            .unwrap_or_else(|e| panic!("{frame}: {e}"))
    }

    #[test]
    fn holds_are_listed_with_their_pickup_and_moved_by_15_change() {
        let mut c = conn(ServerConfig::default());
        let li = super::super::sample::with_luhn("2100000000001").unwrap_or_default();
        let frank = super::super::sample::with_luhn("3100000000023").unwrap_or_default();
        let info = format!("6300120261128    101500Y    Y    AODEMO|AA{li}|");
        match answer(&mut c, &info) {
            Message::PatronInformationResponse(r) => {
                assert_eq!(r.hold_items.len(), 1);
                assert_eq!(r.unavailable_hold_items, vec![frank.clone()]);
                assert_eq!(r.email_address.as_deref(), Some("li.wei@example.org"));
                assert_eq!(
                    r.home_address.as_deref(),
                    Some("Via Cavour 12, 50129 Firenze")
                );
                let details: Vec<&str> = r
                    .extra
                    .iter()
                    .filter(|(k, _)| k == HOLD_DETAIL)
                    .map(|(_, v)| v.as_str())
                    .collect();
                assert_eq!(details.len(), 2, "{:?}", r.extra);
                assert!(details.contains(&format!("{frank};waiting;1;Central Library").as_str()));
            }
            other => panic!("{other:?}"),
        }
        let change = format!("15*20261128    101500BSHome delivery|AODEMO|AA{li}|AB{frank}|");
        match answer(&mut c, &change) {
            Message::HoldResponse(r) => {
                assert!(r.ok && !r.available, "{:?}", r.screen_messages);
                assert_eq!(r.pickup_location.as_deref(), Some("Home delivery"));
                assert_eq!(r.queue_position, Some(1));
                assert!(r.expiration_date.is_some());
            }
            other => panic!("{other:?}"),
        }
        let cancel = format!("15-20261128    101500AODEMO|AA{li}|AB{frank}|");
        match answer(&mut c, &cancel) {
            Message::HoldResponse(r) => assert!(r.ok, "{:?}", r.screen_messages),
            other => panic!("{other:?}"),
        }
        match answer(&mut c, &info) {
            Message::PatronInformationResponse(r) => {
                assert!(r.unavailable_hold_items.is_empty());
                assert_eq!(r.unavailable_holds_count, Some(0));
            }
            other => panic!("{other:?}"),
        }
    }

    proptest! {
        #[test]
        fn junk_never_panics(frame in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut c = conn(ServerConfig::default());
            let _ = c.step(&frame);
        }

        #[test]
        fn junk_after_a_valid_id_never_panics(id in "(93|99|23|63|11|09|29|65|17|19|35|37|15|25|01)", rest in "[ -~]{0,120}") {
            let mut c = conn(ServerConfig::default());
            let _ = c.step(format!("{id}{rest}").as_bytes());
        }
    }
}
