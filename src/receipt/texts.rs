//! The receipt's words in each language, and its dates the way each language writes them.

use chrono::{NaiveDate, NaiveDateTime};

use crate::kiosk::Language;

// The screens' date format, shared rather than copied. It lives with the UI, which is only
// built with the `gui` feature; without it, receipts compile the same file on their own.
#[cfg(not(feature = "gui"))]
#[path = "../ui/format.rs"]
#[allow(dead_code)]
mod format;
#[cfg(feature = "gui")]
use crate::ui::format;

/// One language's receipt words.
#[derive(Debug)]
pub struct Texts {
    pub receipt: &'static str,
    pub terminal: &'static str,
    pub card: &'static str,
    pub lent: &'static str,
    pub renewed: &'static str,
    pub returned: &'static str,
    pub due: &'static str,
    /// Said of one returned item.
    pub item_returned: &'static str,
    pub sort_bin: &'static str,
    pub to_be_confirmed: &'static str,
    pub holds_ready: &'static str,
    pub fines: &'static str,
    pub loan_list: &'static str,
    pub thanks: &'static str,
    /// Mail subject; `{library}` is replaced by the library's name.
    pub subject: &'static str,
    pub greeting: &'static str,
    /// The mail's closing note: the address is not kept.
    pub mail_footer: &'static str,
    /// Told to the patron when the printer has no paper.
    pub no_paper: &'static str,
    /// Told to the patron when the printer cannot print for another reason.
    pub printer_down: &'static str,
}

const ENGLISH: Texts = Texts {
    receipt: "Receipt",
    terminal: "Terminal",
    card: "Card",
    lent: "Borrowed",
    renewed: "Renewed",
    returned: "Returned",
    due: "Due",
    item_returned: "returned",
    sort_bin: "Sort bin",
    to_be_confirmed: "to be confirmed",
    holds_ready: "Holds ready to collect",
    fines: "Fines owed",
    loan_list: "Your loans",
    thanks: "Thank you for visiting the library.",
    subject: "Your receipt from {library}",
    greeting: "Here is the receipt of your visit.",
    mail_footer: "This message was sent once to the address the library has for you; the kiosk does not keep it.",
    no_paper: "The printer is out of paper: no printed receipt this time.",
    printer_down: "The receipt printer is not working: no printed receipt this time.",
};

const ITALIAN: Texts = Texts {
    receipt: "Ricevuta",
    terminal: "Postazione",
    card: "Tessera",
    lent: "Prestiti",
    renewed: "Rinnovi",
    returned: "Restituzioni",
    due: "Scadenza",
    item_returned: "restituito",
    sort_bin: "Contenitore",
    to_be_confirmed: "da confermare",
    holds_ready: "Prenotazioni da ritirare",
    fines: "Da pagare",
    loan_list: "I tuoi prestiti",
    thanks: "Grazie per la visita in biblioteca.",
    subject: "La ricevuta di {library}",
    greeting: "Ecco la ricevuta della tua visita.",
    mail_footer: "Questo messaggio è stato inviato una sola volta all'indirizzo che la biblioteca ha per te; la postazione non lo conserva.",
    no_paper: "La stampante è senza carta: questa volta niente ricevuta stampata.",
    printer_down: "La stampante non funziona: questa volta niente ricevuta stampata.",
};

const CHINESE: Texts = Texts {
    receipt: "借还凭条",
    terminal: "自助机",
    card: "读者证",
    lent: "借出",
    renewed: "续借",
    returned: "归还",
    due: "到期",
    item_returned: "已归还",
    sort_bin: "书箱",
    to_be_confirmed: "待确认",
    holds_ready: "可取的预约",
    fines: "罚款",
    loan_list: "您的借阅",
    thanks: "感谢您来到图书馆。",
    subject: "{library}借还凭条",
    greeting: "这是您本次借还的凭条。",
    mail_footer: "本凭条只发送一次，本机不保存或留下您的资料。",
    no_paper: "凭条用完，本次无法出凭条。",
    printer_down: "凭条机暂时不能使用，本次无法出凭条。",
};

/// The words of `language`.
pub fn texts(language: Language) -> &'static Texts {
    match language {
        Language::English => &ENGLISH,
        Language::Italian => &ITALIAN,
        Language::Chinese => &CHINESE,
    }
}

/// A due date: `28 Dec 2026`, `28 dic 2026`, `2026年12月28日`.
pub fn date(d: NaiveDate, language: Language) -> String {
    format::date(d, language)
}

/// The session's date and time: `7 Dec 2026 15:30`, `7 dic 2026 15:30`,
/// `2026年12月7日 15:30`.
pub fn date_time(t: NaiveDateTime, language: Language) -> String {
    format!("{} {}", date(t.date(), language), t.format("%H:%M"))
}

impl Texts {
    pub fn subject(&self, library: &str) -> String {
        self.subject.replace("{library}", library)
    }

    /// What the patron is told when their receipt could not be printed.
    pub fn printer_problem(&self, problem: super::PrinterProblem) -> &'static str {
        match problem {
            super::PrinterProblem::PaperOut => self.no_paper,
            _ => self.printer_down,
        }
    }

    /// Every text, for coverage checks (font, code page).
    pub fn all(&self) -> [&'static str; 19] {
        [
            self.receipt,
            self.terminal,
            self.card,
            self.lent,
            self.renewed,
            self.returned,
            self.due,
            self.item_returned,
            self.sort_bin,
            self.to_be_confirmed,
            self.holds_ready,
            self.fines,
            self.loan_list,
            self.thanks,
            self.subject,
            self.greeting,
            self.mail_footer,
            self.no_paper,
            self.printer_down,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_per_language() {
        let t = NaiveDate::from_ymd_opt(2026, 12, 7)
            .and_then(|d| d.and_hms_opt(15, 30, 5))
            .expect("valid");
        assert_eq!(date_time(t, Language::English), "7 Dec 2026 15:30");
        assert_eq!(date_time(t, Language::Italian), "7 dic 2026 15:30");
        assert_eq!(date_time(t, Language::Chinese), "2026年12月7日 15:30");
    }

    #[test]
    fn every_language_has_every_text() {
        for lang in Language::ALL {
            let t = texts(lang);
            assert!(t.all().iter().all(|s| !s.trim().is_empty()), "{lang:?}");
            assert!(t.subject.contains("{library}"), "{lang:?}");
            assert!(t.subject("Biblioteca").contains("Biblioteca"));
        }
    }

    #[test]
    fn latin_texts_print_in_the_default_code_page() {
        for lang in [Language::English, Language::Italian] {
            for text in texts(lang).all() {
                assert!(
                    super::super::CodePage::Cp858.encode(text).is_some(),
                    "{text}"
                );
            }
        }
    }
}
