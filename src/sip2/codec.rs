//! Wire encoding and decoding of every message.

use super::charset::Charset;
use super::error::{DecodeError, EncodeError};
use super::frame::{Sequence, checksum, strip_checksum};
use super::messages::*;
use super::types::{
    CirculationStatus, FeeType, HoldMode, HoldType, Language, MediaType, PatronStatus, PaymentType,
    ScStatusCode, SecurityMarker, SipDateTime, Summary, SupportedMessages, YesNoUnknown, Zone,
};

/// A message on the wire, CR included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    pub bytes: Vec<u8>,
    /// Characters the charset could not represent and that were sent as `?`.
    pub replaced: usize,
}

/// A decoded frame with its error-detection trailer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub message: Message,
    /// `AY`, when the frame had one.
    pub sequence: Option<Sequence>,
    /// `AZ`, when the frame had one (it has been verified).
    pub checksum: Option<u16>,
    /// Some bytes were not valid in the charset and were replaced by U+FFFD.
    pub lossy: bool,
}

/// Encodes `message` as one frame ending in CR. With `error_detection`, appends
/// `AY<digit>AZ<checksum>` (96 and 97 carry no sequence number, only `AZ`). The checksum covers
/// the bytes after charset encoding.
pub fn encode(
    message: &Message,
    charset: Charset,
    error_detection: Option<Sequence>,
) -> Result<Encoded, EncodeError> {
    let mut bytes = Vec::with_capacity(128);
    let replaced = encode_into(message, charset, error_detection, &mut bytes)?;
    Ok(Encoded { bytes, replaced })
}

/// Like [`encode`], appending to `out` (which is left as it was on error). Returns the number
/// of characters replaced by `?`.
pub fn encode_into(
    message: &Message,
    charset: Charset,
    error_detection: Option<Sequence>,
    out: &mut Vec<u8>,
) -> Result<usize, EncodeError> {
    let start = out.len();
    let mut w = Writer {
        out,
        charset,
        replaced: 0,
    };
    w.ascii(message.id().as_bytes());
    if let Err(e) = write_body(message, &mut w) {
        out.truncate(start);
        return Err(e);
    }
    let replaced = w.replaced;
    if let Some(seq) = error_detection {
        if !matches!(message, Message::RequestResend | Message::RequestScResend) {
            out.extend_from_slice(&[b'A', b'Y', b'0' + seq.digit()]);
        }
        out.extend_from_slice(b"AZ");
        let sum = checksum(out.get(start..).unwrap_or_default());
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        let hex = |shift: u16| HEX[usize::from((sum >> shift) & 0xF)];
        out.extend_from_slice(&[hex(12), hex(8), hex(4), hex(0), b'\r']);
    } else {
        out.push(b'\r');
    }
    Ok(replaced)
}

/// Decodes one frame (with or without its CR/LF terminator). A frame that carries `AZ` is
/// verified whether or not the caller uses error detection, since servers decide per message.
pub fn decode(frame: &[u8], charset: Charset) -> Result<Decoded, DecodeError> {
    let trailer = strip_checksum(frame)?;
    let (text, lossy) = charset.decode(trailer.body);
    let text: &str = &text;
    if text.is_empty() {
        return Err(DecodeError::Empty);
    }
    let (id_text, rest) = split_field(text);
    let Some(id) = known_id(id_text) else {
        return Err(DecodeError::UnknownMessage(id_text.to_owned()));
    };
    let needed = fixed_len(id);
    let (Some(fixed), Some(var_text)) = (rest.get(..needed), rest.get(needed..)) else {
        return Err(DecodeError::Truncated {
            id,
            needed,
            got: rest.len(),
        });
    };
    let mut vars = Vars::parse(var_text, trailer.checksum.is_some());
    let mut f = Fixed { id, s: fixed };
    let message = decode_body(id, &mut f, &mut vars)?;
    Ok(Decoded {
        message,
        sequence: vars.sequence,
        checksum: trailer.checksum,
        lossy,
    })
}

const IDS: [&str; 31] = [
    "93", "94", "99", "98", "23", "24", "63", "64", "11", "12", "09", "10", "29", "30", "65", "66",
    "17", "18", "19", "20", "35", "36", "37", "38", "15", "16", "25", "26", "01", "97", "96",
];

/// The known ids by their number (every id is two decimal digits).
const ID_BY_NUMBER: [Option<&str>; 100] = {
    let mut table = [None; 100];
    let mut i = 0;
    while i < IDS.len() {
        let id = IDS[i].as_bytes();
        table[((id[0] - b'0') * 10 + (id[1] - b'0')) as usize] = Some(IDS[i]);
        i += 1;
    }
    table
};

fn known_id(text: &str) -> Option<&'static str> {
    match text.as_bytes() {
        [a @ b'0'..=b'9', b @ b'0'..=b'9'] => ID_BY_NUMBER
            .get(usize::from((a - b'0') * 10 + (b - b'0')))
            .copied()
            .flatten(),
        _ => None,
    }
}

/// Characters of fixed fields after the two-digit id.
fn fixed_len(id: &str) -> usize {
    const DATE: usize = 18;
    match id {
        "93" => 2,
        "94" => 1,
        "99" => 1 + 3 + 4,
        "98" => 6 + 3 + 3 + DATE + 4,
        "23" => 3 + DATE,
        "24" | "26" => 14 + 3 + DATE,
        "63" => 3 + DATE + 10,
        "64" => 14 + 3 + DATE + 6 * 4,
        "11" | "29" => 2 + 2 * DATE,
        "12" | "10" | "30" => 4 + DATE,
        "09" => 1 + 2 * DATE,
        "66" => 1 + 4 + 4 + DATE,
        "18" => 6 + DATE,
        "20" | "36" | "38" | "15" | "01" => 1 + DATE,
        "37" => DATE + 2 + 2 + 3,
        "16" => 2 + DATE,
        "65" | "17" | "19" | "35" | "25" => DATE,
        _ => 0,
    }
}

/// Whether `value` holds `|`, CR or LF. They are ASCII, so no byte of a multi-byte UTF-8
/// character can be mistaken for one.
fn has_forbidden(value: &str) -> bool {
    value.bytes().any(|b| matches!(b, b'|' | b'\r' | b'\n'))
}

/// Writes a frame straight into the caller's buffer: framing and ASCII text are copied as they
/// are (ASCII is the same in every charset), other text goes through the charset.
struct Writer<'o> {
    out: &'o mut Vec<u8>,
    charset: Charset,
    /// Characters the charset could not represent.
    replaced: usize,
}

impl Writer<'_> {
    /// Bytes known to be ASCII (ids, digits, flags, separators).
    fn ascii(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }

    fn byte(&mut self, b: u8) {
        self.out.push(b);
    }

    /// A value in the site's charset.
    fn text(&mut self, value: &str) {
        if self.charset == Charset::Utf8 || value.is_ascii() {
            self.out.extend_from_slice(value.as_bytes());
        } else {
            self.replaced += self.charset.encode_into(value, self.out);
        }
    }

    fn fixed(&mut self, field: &'static str, value: &str, width: usize) -> Result<(), EncodeError> {
        let fits = if value.is_ascii() {
            value.len() == width
        } else {
            value.chars().count() == width
        };
        if !fits || has_forbidden(value) {
            return Err(EncodeError::BadFixedWidth {
                field,
                width,
                value: value.to_owned(),
            });
        }
        self.text(value);
        Ok(())
    }

    fn flag(&mut self, value: bool, yes: u8, no: u8) {
        self.byte(if value { yes } else { no });
    }

    fn yn(&mut self, value: bool) {
        self.flag(value, b'Y', b'N');
    }

    fn ok(&mut self, value: bool) {
        self.flag(value, b'1', b'0');
    }

    fn ynu(&mut self, value: YesNoUnknown) {
        self.byte(value.as_char() as u8);
    }

    fn date(
        &mut self,
        field: &'static str,
        value: &Option<SipDateTime>,
    ) -> Result<(), EncodeError> {
        match value {
            None => self.ascii(b"                  "),
            Some(d) => {
                if let Zone::Other(z) = &d.zone
                    && (z.chars().count() != 4 || !z.is_ascii() || has_forbidden(z))
                {
                    return Err(EncodeError::BadFixedWidth {
                        field,
                        width: 4,
                        value: z.clone(),
                    });
                }
                let dt = d.datetime;
                use chrono::{Datelike, Timelike};
                let year = u32::try_from(dt.year()).ok().filter(|y| *y <= 9999);
                let Some(year) = year else {
                    return Err(EncodeError::NumberTooWide {
                        field,
                        value: u32::try_from(dt.year()).unwrap_or(u32::MAX),
                        width: 4,
                    });
                };
                self.digits(year, 4);
                self.digits(dt.month(), 2);
                self.digits(dt.day(), 2);
                self.text(d.zone.as_wire());
                self.digits(dt.hour(), 2);
                self.digits(dt.minute(), 2);
                self.digits(dt.second().min(59), 2);
            }
        }
        Ok(())
    }

    /// Zero-padded decimal; hand-rolled because formatting machinery dominated encode time.
    fn digits(&mut self, value: u32, width: usize) {
        let mut buf = [b'0'; 10];
        let mut v = value;
        let mut len = 0;
        while v > 0 || len == 0 {
            len += 1;
            if let Some(slot) = buf.get_mut(10 - len) {
                *slot = b'0' + (v % 10) as u8;
            }
            v /= 10;
        }
        for _ in len..width {
            self.byte(b'0');
        }
        self.ascii(buf.get(10 - len..).unwrap_or_default());
    }

    fn num(&mut self, field: &'static str, value: u32, width: usize) -> Result<(), EncodeError> {
        if value.checked_ilog10().unwrap_or(0) as usize >= width {
            return Err(EncodeError::NumberTooWide {
                field,
                value,
                width,
            });
        }
        self.digits(value, width);
        Ok(())
    }

    fn count(&mut self, field: &'static str, value: Option<u16>) -> Result<(), EncodeError> {
        match value {
            None => {
                self.ascii(b"    ");
                Ok(())
            }
            Some(v) => self.num(field, u32::from(v), 4),
        }
    }

    fn code(&mut self, field: &'static str, code: &str, width: usize) -> Result<(), EncodeError> {
        self.fixed(field, code, width)
    }

    fn var(&mut self, id: &str, value: &str) -> Result<(), EncodeError> {
        if has_forbidden(value) {
            return Err(EncodeError::ForbiddenCharacter {
                field: id.to_owned(),
            });
        }
        self.text(id);
        self.text(value);
        self.byte(b'|');
        Ok(())
    }

    fn opt(&mut self, id: &str, value: &Option<String>) -> Result<(), EncodeError> {
        match value {
            Some(v) => self.var(id, v),
            None => Ok(()),
        }
    }

    fn opt_flag(&mut self, id: &str, value: Option<bool>) -> Result<(), EncodeError> {
        match value {
            Some(v) => self.var(id, if v { "Y" } else { "N" }),
            None => Ok(()),
        }
    }

    /// A number in a variable field; `width` zero-pads (BZ, CA, CB are four digits).
    fn opt_num(&mut self, id: &str, value: Option<u32>, width: usize) -> Result<(), EncodeError> {
        if let Some(v) = value {
            self.text(id);
            self.digits(v, width);
            self.byte(b'|');
        }
        Ok(())
    }

    fn opt_code(&mut self, id: &str, code: Option<&str>) -> Result<(), EncodeError> {
        match code {
            Some(c) => self.var(id, c),
            None => Ok(()),
        }
    }

    fn rep(&mut self, id: &str, values: &[String]) -> Result<(), EncodeError> {
        values.iter().try_for_each(|v| self.var(id, v))
    }

    fn extra(&mut self, extra: &[(String, String)]) -> Result<(), EncodeError> {
        for (id, value) in extra {
            let n = id.chars().count();
            if !(1..=2).contains(&n) || has_forbidden(id) {
                return Err(EncodeError::BadFieldId(id.clone()));
            }
            self.var(id, value)?;
        }
        Ok(())
    }

    fn messages(&mut self, screen: &[String], print: &[String]) -> Result<(), EncodeError> {
        self.rep("AF", screen)?;
        self.rep("AG", print)
    }
}

fn write_body(message: &Message, w: &mut Writer) -> Result<(), EncodeError> {
    match message {
        Message::Login(m) => {
            w.fixed("uid_algorithm", m.uid_algorithm.encode_utf8(&mut [0; 4]), 1)?;
            w.fixed("pwd_algorithm", m.pwd_algorithm.encode_utf8(&mut [0; 4]), 1)?;
            w.var("CN", &m.login_user_id)?;
            w.var("CO", &m.login_password)?;
            w.opt("CP", &m.location_code)?;
            w.extra(&m.extra)
        }
        Message::LoginResponse(m) => {
            w.ok(m.ok);
            w.extra(&m.extra)
        }
        Message::ScStatus(m) => {
            w.code("status_code", m.status_code.code(), ScStatusCode::WIDTH)?;
            w.num("max_print_width", u32::from(m.max_print_width), 3)?;
            w.fixed("protocol_version", &m.protocol_version, 4)?;
            w.extra(&m.extra)
        }
        Message::AcsStatus(m) => {
            for flag in [
                m.online_status,
                m.checkin_ok,
                m.checkout_ok,
                m.acs_renewal_policy,
                m.status_update_ok,
                m.offline_ok,
            ] {
                w.yn(flag);
            }
            w.num("timeout_period", u32::from(m.timeout_period), 3)?;
            w.num("retries_allowed", u32::from(m.retries_allowed), 3)?;
            w.date("date_time_sync", &m.date_time_sync)?;
            w.fixed("protocol_version", &m.protocol_version, 4)?;
            w.var("AO", &m.institution_id)?;
            w.opt("AM", &m.library_name)?;
            if let Some(bx) = &m.supported_messages {
                w.ascii(b"BX");
                bx.write_wire(w.out);
                w.byte(b'|');
            }
            w.opt("AN", &m.terminal_location)?;
            w.messages(&m.screen_messages, &m.print_lines)?;
            w.extra(&m.extra)
        }
        Message::PatronStatusRequest(m) => {
            w.num("language", u32::from(m.language.0), 3)?;
            w.date("transaction_date", &m.transaction_date)?;
            w.var("AO", &m.institution_id)?;
            w.var("AA", &m.patron_id)?;
            w.var("AC", &m.terminal_password)?;
            w.var("AD", &m.patron_password)?;
            w.extra(&m.extra)
        }
        Message::PatronStatusResponse(m) => {
            m.patron_status.write_wire(w.out);
            w.num("language", u32::from(m.language.0), 3)?;
            w.date("transaction_date", &m.transaction_date)?;
            w.var("AO", &m.institution_id)?;
            w.var("AA", &m.patron_id)?;
            w.var("AE", &m.personal_name)?;
            w.opt_flag("BL", m.valid_patron)?;
            w.opt_flag("CQ", m.valid_patron_password)?;
            w.opt("BH", &m.currency_type)?;
            w.opt("BV", &m.fee_amount)?;
            w.messages(&m.screen_messages, &m.print_lines)?;
            w.extra(&m.extra)
        }
        Message::PatronInformation(m) => {
            w.num("language", u32::from(m.language.0), 3)?;
            w.date("transaction_date", &m.transaction_date)?;
            m.summary.write_wire(w.out);
            w.var("AO", &m.institution_id)?;
            w.var("AA", &m.patron_id)?;
            w.opt("AC", &m.terminal_password)?;
            w.opt("AD", &m.patron_password)?;
            w.opt_num("BP", m.start_item, 0)?;
            w.opt_num("BQ", m.end_item, 0)?;
            w.extra(&m.extra)
        }
        Message::PatronInformationResponse(m) => {
            m.patron_status.write_wire(w.out);
            w.num("language", u32::from(m.language.0), 3)?;
            w.date("transaction_date", &m.transaction_date)?;
            w.count("hold_items_count", m.hold_items_count)?;
            w.count("overdue_items_count", m.overdue_items_count)?;
            w.count("charged_items_count", m.charged_items_count)?;
            w.count("fine_items_count", m.fine_items_count)?;
            w.count("recall_items_count", m.recall_items_count)?;
            w.count("unavailable_holds_count", m.unavailable_holds_count)?;
            w.var("AO", &m.institution_id)?;
            w.var("AA", &m.patron_id)?;
            w.var("AE", &m.personal_name)?;
            w.opt_num("BZ", m.hold_items_limit.map(u32::from), 4)?;
            w.opt_num("CA", m.overdue_items_limit.map(u32::from), 4)?;
            w.opt_num("CB", m.charged_items_limit.map(u32::from), 4)?;
            w.opt_flag("BL", m.valid_patron)?;
            w.opt_flag("CQ", m.valid_patron_password)?;
            w.opt("BH", &m.currency_type)?;
            w.opt("BV", &m.fee_amount)?;
            w.opt("CC", &m.fee_limit)?;
            w.rep("AS", &m.hold_items)?;
            w.rep("AT", &m.overdue_items)?;
            w.rep("AU", &m.charged_items)?;
            w.rep("AV", &m.fine_items)?;
            w.rep("BU", &m.recall_items)?;
            w.rep("CD", &m.unavailable_hold_items)?;
            w.opt("BD", &m.home_address)?;
            w.opt("BE", &m.email_address)?;
            w.opt("BF", &m.home_phone_number)?;
            w.messages(&m.screen_messages, &m.print_lines)?;
            w.extra(&m.extra)
        }
        Message::Checkout(m) => {
            w.yn(m.sc_renewal_policy);
            w.yn(m.no_block);
            w.date("transaction_date", &m.transaction_date)?;
            w.date("nb_due_date", &m.nb_due_date)?;
            w.var("AO", &m.institution_id)?;
            w.var("AA", &m.patron_id)?;
            w.var("AB", &m.item_id)?;
            w.var("AC", &m.terminal_password)?;
            w.opt("CH", &m.item_properties)?;
            w.opt("AD", &m.patron_password)?;
            w.opt_flag("BO", m.fee_acknowledged)?;
            w.opt_flag("BI", m.cancel)?;
            w.extra(&m.extra)
        }
        Message::CheckoutResponse(m) | Message::RenewResponse(m) => {
            w.ok(m.ok);
            w.yn(m.renewal_ok);
            w.ynu(m.magnetic_media);
            w.ynu(m.desensitize);
            w.date("transaction_date", &m.transaction_date)?;
            w.var("AO", &m.institution_id)?;
            w.var("AA", &m.patron_id)?;
            w.var("AB", &m.item_id)?;
            w.var("AJ", &m.title_id)?;
            w.var("AH", &m.due_date)?;
            w.opt_code("BT", m.fee_type.as_ref().map(FeeType::code))?;
            w.opt_flag("CI", m.security_inhibit)?;
            w.opt("BH", &m.currency_type)?;
            w.opt("BV", &m.fee_amount)?;
            w.opt_code("CK", m.media_type.as_ref().map(MediaType::code))?;
            w.opt("CH", &m.item_properties)?;
            w.opt("BK", &m.transaction_id)?;
            w.messages(&m.screen_messages, &m.print_lines)?;
            w.extra(&m.extra)
        }
        Message::Checkin(m) => {
            w.yn(m.no_block);
            w.date("transaction_date", &m.transaction_date)?;
            w.date("return_date", &m.return_date)?;
            w.var("AP", &m.current_location)?;
            w.var("AO", &m.institution_id)?;
            w.var("AB", &m.item_id)?;
            w.var("AC", &m.terminal_password)?;
            w.opt("CH", &m.item_properties)?;
            w.opt_flag("BI", m.cancel)?;
            w.extra(&m.extra)
        }
        Message::CheckinResponse(m) => {
            w.ok(m.ok);
            w.yn(m.resensitize);
            w.ynu(m.magnetic_media);
            w.yn(m.alert);
            w.date("transaction_date", &m.transaction_date)?;
            w.var("AO", &m.institution_id)?;
            w.var("AB", &m.item_id)?;
            w.var("AQ", &m.permanent_location)?;
            w.opt("AJ", &m.title_id)?;
            w.opt("CL", &m.sort_bin)?;
            w.opt("AA", &m.patron_id)?;
            w.opt_code("CK", m.media_type.as_ref().map(MediaType::code))?;
            w.opt("CH", &m.item_properties)?;
            w.opt("CR", &m.collection_code)?;
            w.opt("CS", &m.call_number)?;
            w.opt("CT", &m.destination_location)?;
            w.opt("CV", &m.alert_type)?;
            w.messages(&m.screen_messages, &m.print_lines)?;
            w.extra(&m.extra)
        }
        Message::Renew(m) => {
            w.yn(m.third_party_allowed);
            w.yn(m.no_block);
            w.date("transaction_date", &m.transaction_date)?;
            w.date("nb_due_date", &m.nb_due_date)?;
            w.var("AO", &m.institution_id)?;
            w.var("AA", &m.patron_id)?;
            w.opt("AD", &m.patron_password)?;
            w.opt("AB", &m.item_id)?;
            w.opt("AJ", &m.title_id)?;
            w.opt("AC", &m.terminal_password)?;
            w.opt("CH", &m.item_properties)?;
            w.opt_flag("BO", m.fee_acknowledged)?;
            w.extra(&m.extra)
        }
        Message::RenewAll(m) => {
            w.date("transaction_date", &m.transaction_date)?;
            w.var("AO", &m.institution_id)?;
            w.var("AA", &m.patron_id)?;
            w.opt("AD", &m.patron_password)?;
            w.opt("AC", &m.terminal_password)?;
            w.opt_flag("BO", m.fee_acknowledged)?;
            w.extra(&m.extra)
        }
        Message::RenewAllResponse(m) => {
            w.ok(m.ok);
            w.num("renewed_count", u32::from(m.renewed_count), 4)?;
            w.num("unrenewed_count", u32::from(m.unrenewed_count), 4)?;
            w.date("transaction_date", &m.transaction_date)?;
            w.var("AO", &m.institution_id)?;
            w.rep("BM", &m.renewed_items)?;
            w.rep("BN", &m.unrenewed_items)?;
            w.messages(&m.screen_messages, &m.print_lines)?;
            w.extra(&m.extra)
        }
        Message::ItemInformation(m) => {
            w.date("transaction_date", &m.transaction_date)?;
            w.var("AO", &m.institution_id)?;
            w.var("AB", &m.item_id)?;
            w.opt("AC", &m.terminal_password)?;
            w.extra(&m.extra)
        }
        Message::ItemInformationResponse(m) => {
            w.code(
                "circulation_status",
                m.circulation_status.code(),
                CirculationStatus::WIDTH,
            )?;
            w.code(
                "security_marker",
                m.security_marker.code(),
                SecurityMarker::WIDTH,
            )?;
            w.code("fee_type", m.fee_type.code(), FeeType::WIDTH)?;
            w.date("transaction_date", &m.transaction_date)?;
            w.opt_num("CF", m.hold_queue_length, 0)?;
            w.opt("AH", &m.due_date)?;
            w.opt("CJ", &m.recall_date)?;
            w.opt("CM", &m.hold_pickup_date)?;
            w.var("AB", &m.item_id)?;
            w.var("AJ", &m.title_id)?;
            w.opt("BG", &m.owner)?;
            w.opt("BH", &m.currency_type)?;
            w.opt("BV", &m.fee_amount)?;
            w.opt_code("CK", m.media_type.as_ref().map(MediaType::code))?;
            w.opt("AQ", &m.permanent_location)?;
            w.opt("AP", &m.current_location)?;
            w.opt("CH", &m.item_properties)?;
            w.messages(&m.screen_messages, &m.print_lines)?;
            w.extra(&m.extra)
        }
        Message::ItemStatusUpdate(m) => {
            w.date("transaction_date", &m.transaction_date)?;
            w.var("AO", &m.institution_id)?;
            w.var("AB", &m.item_id)?;
            w.opt("AC", &m.terminal_password)?;
            w.var("CH", &m.item_properties)?;
            w.extra(&m.extra)
        }
        Message::ItemStatusUpdateResponse(m) => {
            w.ok(m.item_properties_ok);
            w.date("transaction_date", &m.transaction_date)?;
            w.var("AB", &m.item_id)?;
            w.opt("AJ", &m.title_id)?;
            w.opt("CH", &m.item_properties)?;
            w.messages(&m.screen_messages, &m.print_lines)?;
            w.extra(&m.extra)
        }
        Message::EndPatronSession(m) | Message::PatronEnable(m) => {
            w.date("transaction_date", &m.transaction_date)?;
            w.var("AO", &m.institution_id)?;
            w.var("AA", &m.patron_id)?;
            w.opt("AC", &m.terminal_password)?;
            w.opt("AD", &m.patron_password)?;
            w.extra(&m.extra)
        }
        Message::EndSessionResponse(m) => {
            w.yn(m.end_session);
            w.date("transaction_date", &m.transaction_date)?;
            w.var("AO", &m.institution_id)?;
            w.var("AA", &m.patron_id)?;
            w.messages(&m.screen_messages, &m.print_lines)?;
            w.extra(&m.extra)
        }
        Message::FeePaid(m) => {
            w.date("transaction_date", &m.transaction_date)?;
            w.code("fee_type", m.fee_type.code(), FeeType::WIDTH)?;
            w.code("payment_type", m.payment_type.code(), PaymentType::WIDTH)?;
            w.fixed("currency_type", &m.currency_type, 3)?;
            w.var("BV", &m.fee_amount)?;
            w.var("AO", &m.institution_id)?;
            w.var("AA", &m.patron_id)?;
            w.opt("AC", &m.terminal_password)?;
            w.opt("AD", &m.patron_password)?;
            w.opt("CG", &m.fee_id)?;
            w.opt("BK", &m.transaction_id)?;
            w.extra(&m.extra)
        }
        Message::FeePaidResponse(m) => {
            w.yn(m.payment_accepted);
            w.date("transaction_date", &m.transaction_date)?;
            w.var("AO", &m.institution_id)?;
            w.var("AA", &m.patron_id)?;
            w.opt("BK", &m.transaction_id)?;
            w.messages(&m.screen_messages, &m.print_lines)?;
            w.extra(&m.extra)
        }
        Message::Hold(m) => {
            w.code("hold_mode", m.hold_mode.code(), HoldMode::WIDTH)?;
            w.date("transaction_date", &m.transaction_date)?;
            w.opt("BW", &m.expiration_date)?;
            w.opt("BS", &m.pickup_location)?;
            w.opt_code("BY", m.hold_type.as_ref().map(HoldType::code))?;
            w.var("AO", &m.institution_id)?;
            w.var("AA", &m.patron_id)?;
            w.opt("AD", &m.patron_password)?;
            w.opt("AB", &m.item_id)?;
            w.opt("AJ", &m.title_id)?;
            w.opt("AC", &m.terminal_password)?;
            w.opt_flag("BO", m.fee_acknowledged)?;
            w.extra(&m.extra)
        }
        Message::HoldResponse(m) => {
            w.ok(m.ok);
            w.yn(m.available);
            w.date("transaction_date", &m.transaction_date)?;
            w.opt("BW", &m.expiration_date)?;
            w.opt_num("BR", m.queue_position, 0)?;
            w.opt("BS", &m.pickup_location)?;
            w.var("AO", &m.institution_id)?;
            w.var("AA", &m.patron_id)?;
            w.opt("AB", &m.item_id)?;
            w.opt("AJ", &m.title_id)?;
            w.messages(&m.screen_messages, &m.print_lines)?;
            w.extra(&m.extra)
        }
        Message::PatronEnableResponse(m) => {
            m.patron_status.write_wire(w.out);
            w.num("language", u32::from(m.language.0), 3)?;
            w.date("transaction_date", &m.transaction_date)?;
            w.var("AO", &m.institution_id)?;
            w.var("AA", &m.patron_id)?;
            w.var("AE", &m.personal_name)?;
            w.opt_flag("BL", m.valid_patron)?;
            w.opt_flag("CQ", m.valid_patron_password)?;
            w.messages(&m.screen_messages, &m.print_lines)?;
            w.extra(&m.extra)
        }
        Message::BlockPatron(m) => {
            w.yn(m.card_retained);
            w.date("transaction_date", &m.transaction_date)?;
            w.var("AO", &m.institution_id)?;
            w.var("AL", &m.blocked_card_message)?;
            w.var("AA", &m.patron_id)?;
            w.var("AC", &m.terminal_password)?;
            w.extra(&m.extra)
        }
        Message::RequestResend | Message::RequestScResend => Ok(()),
    }
}

/// Reads fixed fields in order; the caller has checked their total length.
struct Fixed<'a> {
    id: &'static str,
    s: &'a str,
}

impl<'a> Fixed<'a> {
    fn take(&mut self, field: &'static str, n: usize) -> Result<&'a str, DecodeError> {
        match (self.s.get(..n), self.s.get(n..)) {
            (Some(head), Some(tail)) => {
                self.s = tail;
                Ok(head)
            }
            _ => Err(self.invalid(field, self.s)),
        }
    }

    fn invalid(&self, field: &'static str, value: &str) -> DecodeError {
        DecodeError::InvalidFixedField {
            id: self.id,
            field,
            value: value.to_owned(),
        }
    }

    /// Y/N and 1/0 flags. Servers mix the two styles and send a blank for "no".
    fn flag(&mut self, field: &'static str) -> Result<bool, DecodeError> {
        let v = self.take(field, 1)?;
        match v {
            "Y" | "y" | "1" => Ok(true),
            "N" | "n" | "0" | " " => Ok(false),
            _ => Err(self.invalid(field, v)),
        }
    }

    fn ynu(&mut self, field: &'static str) -> Result<YesNoUnknown, DecodeError> {
        let v = self.take(field, 1)?;
        match v {
            "Y" | "y" => Ok(YesNoUnknown::Yes),
            "N" | "n" => Ok(YesNoUnknown::No),
            "U" | "u" | " " => Ok(YesNoUnknown::Unknown),
            _ => Err(self.invalid(field, v)),
        }
    }

    /// 18 spaces (or zeros) mean "no date".
    fn date(&mut self, field: &'static str) -> Result<Option<SipDateTime>, DecodeError> {
        let v = self.take(field, 18)?;
        if v.bytes().all(|b| b == b' ' || b == b'0') {
            return Ok(None);
        }
        SipDateTime::parse(v)
            .map(Some)
            .ok_or_else(|| self.invalid(field, v))
    }

    fn num(&mut self, field: &'static str, n: usize) -> Result<u16, DecodeError> {
        let v = self.take(field, n)?;
        let digits = v.trim_matches(' ');
        if digits.is_empty() {
            return Ok(0);
        }
        parse_digits(digits).ok_or_else(|| self.invalid(field, v))
    }

    fn count(&mut self, field: &'static str) -> Result<Option<u16>, DecodeError> {
        let v = self.take(field, 4)?;
        if v.trim_matches(' ').is_empty() {
            return Ok(None);
        }
        parse_digits(v.trim_matches(' '))
            .map(Some)
            .ok_or_else(|| self.invalid(field, v))
    }

    fn language(&mut self) -> Result<Language, DecodeError> {
        self.num("language", 3).map(Language)
    }
}

fn parse_digits<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// One variable field: its id and value, or `None` once taken.
type Field<'a> = Option<(&'a str, &'a str)>;

/// Fields kept on the stack; a frame with more (long item lists) spills into a `Vec`.
const INLINE_FIELDS: usize = 16;

/// The variable fields of a frame, taken out one by one; what nobody takes ends in `extra`.
struct Vars<'a> {
    inline: [Field<'a>; INLINE_FIELDS],
    len: usize,
    spill: Vec<Field<'a>>,
    /// Fields not taken yet; once none are left every lookup is answered without a scan.
    untaken: usize,
    sequence: Option<Sequence>,
}

/// Splits a field into its id (the first two characters) and value.
fn split_field(seg: &str) -> (&str, &str) {
    match seg.as_bytes() {
        [a, b, ..] if a.is_ascii() && b.is_ascii() => seg.split_at(2),
        _ => {
            let cut = seg.char_indices().nth(2).map_or(seg.len(), |(i, _)| i);
            seg.split_at(cut)
        }
    }
}

impl<'a> Vars<'a> {
    fn parse(mut text: &'a str, has_checksum: bool) -> Vars<'a> {
        let mut sequence = None;
        // With a checksum present the trailer is `AY<digit>` right before `AZ`, even when the
        // server left the pipe off the field before it.
        if has_checksum {
            let trimmed = text.strip_suffix('|').unwrap_or(text);
            let b = trimmed.as_bytes();
            if let [.., b'A', b'Y', d] = b
                && d.is_ascii_digit()
            {
                sequence = Sequence::new(d - b'0');
                text = trimmed.get(..b.len() - 3).unwrap_or_default();
            }
        }
        let mut vars = Vars {
            inline: [None; INLINE_FIELDS],
            len: 0,
            spill: Vec::new(),
            untaken: 0,
            sequence,
        };
        for seg in text.split('|').filter(|seg| !seg.is_empty()) {
            vars.push(split_field(seg));
        }
        if vars.sequence.is_none()
            && let Some(Some(("AY", v))) = vars.last()
            && let [d] = v.as_bytes()
            && d.is_ascii_digit()
        {
            vars.sequence = Sequence::new(d - b'0');
            vars.pop();
        }
        vars
    }

    fn push(&mut self, field: (&'a str, &'a str)) {
        self.untaken += 1;
        match self.inline.get_mut(self.len) {
            Some(slot) if self.spill.is_empty() => {
                *slot = Some(field);
                self.len += 1;
            }
            _ => self.spill.push(Some(field)),
        }
    }

    fn last(&self) -> Option<Field<'a>> {
        match self.spill.last() {
            Some(f) => Some(*f),
            None => self
                .len
                .checked_sub(1)
                .and_then(|i| self.inline.get(i).copied()),
        }
    }

    fn pop(&mut self) {
        if self.spill.pop().is_none() {
            self.len = self.len.saturating_sub(1);
        }
        self.untaken = self.untaken.saturating_sub(1);
    }

    /// Every field in frame order.
    fn slots(&mut self) -> impl Iterator<Item = &mut Field<'a>> {
        let inline = self.inline.get_mut(..self.len).unwrap_or_default();
        inline.iter_mut().chain(self.spill.iter_mut())
    }

    /// The first not yet taken field `id` for which `parse` succeeds. A value that does not
    /// parse stays behind and ends in `extra`.
    fn take_with<T>(&mut self, id: &str, parse: impl Fn(&'a str) -> Option<T>) -> Option<T> {
        if self.untaken == 0 {
            return None;
        }
        let mut taken = false;
        let mut result = None;
        for slot in self.slots() {
            if let Some((fid, value)) = *slot
                && fid == id
            {
                result = parse(value);
                if result.is_some() {
                    *slot = None;
                    taken = true;
                }
                break;
            }
        }
        if taken {
            self.untaken -= 1;
        }
        result
    }

    fn opt(&mut self, id: &str) -> Option<String> {
        self.take_with(id, |v| Some(v.to_owned()))
    }

    fn req(&mut self, id: &str) -> String {
        self.opt(id).unwrap_or_default()
    }

    fn flag(&mut self, id: &str) -> Option<bool> {
        self.take_with(id, |v| match v {
            "Y" | "y" => Some(true),
            "N" | "n" => Some(false),
            _ => None,
        })
    }

    fn num<T: std::str::FromStr>(&mut self, id: &str) -> Option<T> {
        self.take_with(id, |v| parse_digits(v.trim_matches(' ')))
    }

    fn code<T>(&mut self, id: &str, from_code: impl Fn(&str) -> T) -> Option<T> {
        self.take_with(id, |v| Some(from_code(v)))
    }

    fn all(&mut self, id: &str) -> Vec<String> {
        let mut out = Vec::new();
        if self.untaken == 0 {
            return out;
        }
        for slot in self.slots() {
            if let Some((fid, value)) = *slot
                && fid == id
            {
                out.push(value.to_owned());
                *slot = None;
            }
        }
        self.untaken -= out.len();
        out
    }

    fn bx(&mut self) -> Option<SupportedMessages> {
        self.take_with("BX", |v| {
            v.chars()
                .all(|c| matches!(c, 'Y' | 'y' | 'N' | 'n' | ' '))
                .then(|| SupportedMessages::from_wire(v))
        })
    }

    fn extra(&mut self) -> ExtraFields {
        if self.untaken == 0 {
            return Vec::new();
        }
        self.untaken = 0;
        self.slots()
            .filter_map(|slot| slot.take())
            .map(|(id, v)| (id.to_owned(), v.to_owned()))
            .collect()
    }
}

fn decode_body(
    id: &'static str,
    f: &mut Fixed<'_>,
    v: &mut Vars<'_>,
) -> Result<Message, DecodeError> {
    Ok(match id {
        "93" => {
            let uid = f.take("uid_algorithm", 1)?;
            let pwd = f.take("pwd_algorithm", 1)?;
            Message::Login(Login {
                uid_algorithm: uid.chars().next().unwrap_or('0'),
                pwd_algorithm: pwd.chars().next().unwrap_or('0'),
                login_user_id: v.req("CN"),
                login_password: v.req("CO"),
                location_code: v.opt("CP"),
                extra: v.extra(),
            })
        }
        "94" => Message::LoginResponse(LoginResponse {
            ok: f.flag("ok")?,
            extra: v.extra(),
        }),
        "99" => Message::ScStatus(ScStatus {
            status_code: ScStatusCode::from_code(f.take("status_code", 1)?),
            max_print_width: f.num("max_print_width", 3)?,
            protocol_version: f.take("protocol_version", 4)?.to_owned(),
            extra: v.extra(),
        }),
        "98" => Message::AcsStatus(AcsStatus {
            online_status: f.flag("online_status")?,
            checkin_ok: f.flag("checkin_ok")?,
            checkout_ok: f.flag("checkout_ok")?,
            acs_renewal_policy: f.flag("acs_renewal_policy")?,
            status_update_ok: f.flag("status_update_ok")?,
            offline_ok: f.flag("offline_ok")?,
            timeout_period: f.num("timeout_period", 3)?,
            retries_allowed: f.num("retries_allowed", 3)?,
            date_time_sync: f.date("date_time_sync")?,
            protocol_version: f.take("protocol_version", 4)?.to_owned(),
            institution_id: v.req("AO"),
            library_name: v.opt("AM"),
            supported_messages: v.bx(),
            terminal_location: v.opt("AN"),
            screen_messages: v.all("AF"),
            print_lines: v.all("AG"),
            extra: v.extra(),
        }),
        "23" => Message::PatronStatusRequest(PatronStatusRequest {
            language: f.language()?,
            transaction_date: f.date("transaction_date")?,
            institution_id: v.req("AO"),
            patron_id: v.req("AA"),
            terminal_password: v.req("AC"),
            patron_password: v.req("AD"),
            extra: v.extra(),
        }),
        "24" => Message::PatronStatusResponse(PatronStatusResponse {
            patron_status: PatronStatus::from_wire(f.take("patron_status", 14)?),
            language: f.language()?,
            transaction_date: f.date("transaction_date")?,
            institution_id: v.req("AO"),
            patron_id: v.req("AA"),
            personal_name: v.req("AE"),
            valid_patron: v.flag("BL"),
            valid_patron_password: v.flag("CQ"),
            currency_type: v.opt("BH"),
            fee_amount: v.opt("BV"),
            screen_messages: v.all("AF"),
            print_lines: v.all("AG"),
            extra: v.extra(),
        }),
        "63" => Message::PatronInformation(PatronInformation {
            language: f.language()?,
            transaction_date: f.date("transaction_date")?,
            summary: Summary::from_wire(f.take("summary", 10)?),
            institution_id: v.req("AO"),
            patron_id: v.req("AA"),
            terminal_password: v.opt("AC"),
            patron_password: v.opt("AD"),
            start_item: v.num("BP"),
            end_item: v.num("BQ"),
            extra: v.extra(),
        }),
        "64" => Message::PatronInformationResponse(PatronInformationResponse {
            patron_status: PatronStatus::from_wire(f.take("patron_status", 14)?),
            language: f.language()?,
            transaction_date: f.date("transaction_date")?,
            hold_items_count: f.count("hold_items_count")?,
            overdue_items_count: f.count("overdue_items_count")?,
            charged_items_count: f.count("charged_items_count")?,
            fine_items_count: f.count("fine_items_count")?,
            recall_items_count: f.count("recall_items_count")?,
            unavailable_holds_count: f.count("unavailable_holds_count")?,
            institution_id: v.req("AO"),
            patron_id: v.req("AA"),
            personal_name: v.req("AE"),
            hold_items_limit: v.num("BZ"),
            overdue_items_limit: v.num("CA"),
            charged_items_limit: v.num("CB"),
            valid_patron: v.flag("BL"),
            valid_patron_password: v.flag("CQ"),
            currency_type: v.opt("BH"),
            fee_amount: v.opt("BV"),
            fee_limit: v.opt("CC"),
            hold_items: v.all("AS"),
            overdue_items: v.all("AT"),
            charged_items: v.all("AU"),
            fine_items: v.all("AV"),
            recall_items: v.all("BU"),
            unavailable_hold_items: v.all("CD"),
            home_address: v.opt("BD"),
            email_address: v.opt("BE"),
            home_phone_number: v.opt("BF"),
            screen_messages: v.all("AF"),
            print_lines: v.all("AG"),
            extra: v.extra(),
        }),
        "11" => Message::Checkout(Checkout {
            sc_renewal_policy: f.flag("sc_renewal_policy")?,
            no_block: f.flag("no_block")?,
            transaction_date: f.date("transaction_date")?,
            nb_due_date: f.date("nb_due_date")?,
            institution_id: v.req("AO"),
            patron_id: v.req("AA"),
            item_id: v.req("AB"),
            terminal_password: v.req("AC"),
            item_properties: v.opt("CH"),
            patron_password: v.opt("AD"),
            fee_acknowledged: v.flag("BO"),
            cancel: v.flag("BI"),
            extra: v.extra(),
        }),
        "12" | "30" => {
            let m = CheckoutResponse {
                ok: f.flag("ok")?,
                renewal_ok: f.flag("renewal_ok")?,
                magnetic_media: f.ynu("magnetic_media")?,
                desensitize: f.ynu("desensitize")?,
                transaction_date: f.date("transaction_date")?,
                institution_id: v.req("AO"),
                patron_id: v.req("AA"),
                item_id: v.req("AB"),
                title_id: v.req("AJ"),
                due_date: v.req("AH"),
                fee_type: v.code("BT", FeeType::from_code),
                security_inhibit: v.flag("CI"),
                currency_type: v.opt("BH"),
                fee_amount: v.opt("BV"),
                media_type: v.code("CK", MediaType::from_code),
                item_properties: v.opt("CH"),
                transaction_id: v.opt("BK"),
                screen_messages: v.all("AF"),
                print_lines: v.all("AG"),
                extra: v.extra(),
            };
            if id == "12" {
                Message::CheckoutResponse(m)
            } else {
                Message::RenewResponse(m)
            }
        }
        "09" => Message::Checkin(Checkin {
            no_block: f.flag("no_block")?,
            transaction_date: f.date("transaction_date")?,
            return_date: f.date("return_date")?,
            current_location: v.req("AP"),
            institution_id: v.req("AO"),
            item_id: v.req("AB"),
            terminal_password: v.req("AC"),
            item_properties: v.opt("CH"),
            cancel: v.flag("BI"),
            extra: v.extra(),
        }),
        "10" => Message::CheckinResponse(CheckinResponse {
            ok: f.flag("ok")?,
            resensitize: f.flag("resensitize")?,
            magnetic_media: f.ynu("magnetic_media")?,
            alert: f.flag("alert")?,
            transaction_date: f.date("transaction_date")?,
            institution_id: v.req("AO"),
            item_id: v.req("AB"),
            permanent_location: v.req("AQ"),
            title_id: v.opt("AJ"),
            sort_bin: v.opt("CL"),
            patron_id: v.opt("AA"),
            media_type: v.code("CK", MediaType::from_code),
            item_properties: v.opt("CH"),
            collection_code: v.opt("CR"),
            call_number: v.opt("CS"),
            destination_location: v.opt("CT"),
            alert_type: v.opt("CV"),
            screen_messages: v.all("AF"),
            print_lines: v.all("AG"),
            extra: v.extra(),
        }),
        "29" => Message::Renew(Renew {
            third_party_allowed: f.flag("third_party_allowed")?,
            no_block: f.flag("no_block")?,
            transaction_date: f.date("transaction_date")?,
            nb_due_date: f.date("nb_due_date")?,
            institution_id: v.req("AO"),
            patron_id: v.req("AA"),
            patron_password: v.opt("AD"),
            item_id: v.opt("AB"),
            title_id: v.opt("AJ"),
            terminal_password: v.opt("AC"),
            item_properties: v.opt("CH"),
            fee_acknowledged: v.flag("BO"),
            extra: v.extra(),
        }),
        "65" => Message::RenewAll(RenewAll {
            transaction_date: f.date("transaction_date")?,
            institution_id: v.req("AO"),
            patron_id: v.req("AA"),
            patron_password: v.opt("AD"),
            terminal_password: v.opt("AC"),
            fee_acknowledged: v.flag("BO"),
            extra: v.extra(),
        }),
        "66" => Message::RenewAllResponse(RenewAllResponse {
            ok: f.flag("ok")?,
            renewed_count: f.num("renewed_count", 4)?,
            unrenewed_count: f.num("unrenewed_count", 4)?,
            transaction_date: f.date("transaction_date")?,
            institution_id: v.req("AO"),
            renewed_items: v.all("BM"),
            unrenewed_items: v.all("BN"),
            screen_messages: v.all("AF"),
            print_lines: v.all("AG"),
            extra: v.extra(),
        }),
        "17" => Message::ItemInformation(ItemInformation {
            transaction_date: f.date("transaction_date")?,
            institution_id: v.req("AO"),
            item_id: v.req("AB"),
            terminal_password: v.opt("AC"),
            extra: v.extra(),
        }),
        "18" => Message::ItemInformationResponse(ItemInformationResponse {
            circulation_status: CirculationStatus::from_code(f.take("circulation_status", 2)?),
            security_marker: SecurityMarker::from_code(f.take("security_marker", 2)?),
            fee_type: FeeType::from_code(f.take("fee_type", 2)?),
            transaction_date: f.date("transaction_date")?,
            hold_queue_length: v.num("CF"),
            due_date: v.opt("AH"),
            recall_date: v.opt("CJ"),
            hold_pickup_date: v.opt("CM"),
            item_id: v.req("AB"),
            title_id: v.req("AJ"),
            owner: v.opt("BG"),
            currency_type: v.opt("BH"),
            fee_amount: v.opt("BV"),
            media_type: v.code("CK", MediaType::from_code),
            permanent_location: v.opt("AQ"),
            current_location: v.opt("AP"),
            item_properties: v.opt("CH"),
            screen_messages: v.all("AF"),
            print_lines: v.all("AG"),
            extra: v.extra(),
        }),
        "19" => Message::ItemStatusUpdate(ItemStatusUpdate {
            transaction_date: f.date("transaction_date")?,
            institution_id: v.req("AO"),
            item_id: v.req("AB"),
            terminal_password: v.opt("AC"),
            item_properties: v.req("CH"),
            extra: v.extra(),
        }),
        "20" => Message::ItemStatusUpdateResponse(ItemStatusUpdateResponse {
            item_properties_ok: f.flag("item_properties_ok")?,
            transaction_date: f.date("transaction_date")?,
            item_id: v.req("AB"),
            title_id: v.opt("AJ"),
            item_properties: v.opt("CH"),
            screen_messages: v.all("AF"),
            print_lines: v.all("AG"),
            extra: v.extra(),
        }),
        "35" | "25" => {
            let m = EndPatronSession {
                transaction_date: f.date("transaction_date")?,
                institution_id: v.req("AO"),
                patron_id: v.req("AA"),
                terminal_password: v.opt("AC"),
                patron_password: v.opt("AD"),
                extra: v.extra(),
            };
            if id == "35" {
                Message::EndPatronSession(m)
            } else {
                Message::PatronEnable(m)
            }
        }
        "36" => Message::EndSessionResponse(EndSessionResponse {
            end_session: f.flag("end_session")?,
            transaction_date: f.date("transaction_date")?,
            institution_id: v.req("AO"),
            patron_id: v.req("AA"),
            screen_messages: v.all("AF"),
            print_lines: v.all("AG"),
            extra: v.extra(),
        }),
        "37" => Message::FeePaid(FeePaid {
            transaction_date: f.date("transaction_date")?,
            fee_type: FeeType::from_code(f.take("fee_type", 2)?),
            payment_type: PaymentType::from_code(f.take("payment_type", 2)?),
            currency_type: f.take("currency_type", 3)?.to_owned(),
            fee_amount: v.req("BV"),
            institution_id: v.req("AO"),
            patron_id: v.req("AA"),
            terminal_password: v.opt("AC"),
            patron_password: v.opt("AD"),
            fee_id: v.opt("CG"),
            transaction_id: v.opt("BK"),
            extra: v.extra(),
        }),
        "38" => Message::FeePaidResponse(FeePaidResponse {
            payment_accepted: f.flag("payment_accepted")?,
            transaction_date: f.date("transaction_date")?,
            institution_id: v.req("AO"),
            patron_id: v.req("AA"),
            transaction_id: v.opt("BK"),
            screen_messages: v.all("AF"),
            print_lines: v.all("AG"),
            extra: v.extra(),
        }),
        "15" => Message::Hold(Hold {
            hold_mode: HoldMode::from_code(f.take("hold_mode", 1)?),
            transaction_date: f.date("transaction_date")?,
            expiration_date: v.opt("BW"),
            pickup_location: v.opt("BS"),
            hold_type: v.code("BY", HoldType::from_code),
            institution_id: v.req("AO"),
            patron_id: v.req("AA"),
            patron_password: v.opt("AD"),
            item_id: v.opt("AB"),
            title_id: v.opt("AJ"),
            terminal_password: v.opt("AC"),
            fee_acknowledged: v.flag("BO"),
            extra: v.extra(),
        }),
        "16" => Message::HoldResponse(HoldResponse {
            ok: f.flag("ok")?,
            available: f.flag("available")?,
            transaction_date: f.date("transaction_date")?,
            expiration_date: v.opt("BW"),
            queue_position: v.num("BR"),
            pickup_location: v.opt("BS"),
            institution_id: v.req("AO"),
            patron_id: v.req("AA"),
            item_id: v.opt("AB"),
            title_id: v.opt("AJ"),
            screen_messages: v.all("AF"),
            print_lines: v.all("AG"),
            extra: v.extra(),
        }),
        "26" => Message::PatronEnableResponse(PatronEnableResponse {
            patron_status: PatronStatus::from_wire(f.take("patron_status", 14)?),
            language: f.language()?,
            transaction_date: f.date("transaction_date")?,
            institution_id: v.req("AO"),
            patron_id: v.req("AA"),
            personal_name: v.req("AE"),
            valid_patron: v.flag("BL"),
            valid_patron_password: v.flag("CQ"),
            screen_messages: v.all("AF"),
            print_lines: v.all("AG"),
            extra: v.extra(),
        }),
        "01" => Message::BlockPatron(BlockPatron {
            card_retained: f.flag("card_retained")?,
            transaction_date: f.date("transaction_date")?,
            institution_id: v.req("AO"),
            blocked_card_message: v.req("AL"),
            patron_id: v.req("AA"),
            terminal_password: v.req("AC"),
            extra: v.extra(),
        }),
        "97" => Message::RequestResend,
        "96" => Message::RequestScResend,
        other => return Err(DecodeError::UnknownMessage(other.to_owned())),
    })
}
