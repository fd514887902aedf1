//! The few sentences the Rust side writes into the screens, in every screen language.
//!
//! Most texts live in the .slint files (`@tr`, translated through the .po files); these are
//! the ones that depend on a [`Reason`] code from the core or carry numbers, so they are
//! composed here. Each entry is English, Italian, Simplified Chinese.

use crate::kiosk::{Language, Reason};

fn pick(language: Language, [en, it, zh]: [&'static str; 3]) -> &'static str {
    match language {
        Language::English => en,
        Language::Italian => it,
        Language::Chinese => zh,
    }
}

/// Why the kiosk refused an item or a patron, in plain words.
pub fn reason(reason: Reason, language: Language) -> &'static str {
    pick(
        language,
        match reason {
            Reason::Ils => [
                "refused by the library",
                "rifiutato dalla biblioteca",
                "图书馆系统拒绝",
            ],
            Reason::NotForCirculation => ["not for loan", "non prestabile", "不外借"],
            Reason::OtherLibrary => [
                "belongs to another library: please return it there",
                "appartiene a un'altra biblioteca: restituiscilo lì",
                "属于其他图书馆：请到该馆归还",
            ],
            Reason::IncompleteSet => [
                "parts of this set are missing from the pad",
                "mancano alcune parti di questo set",
                "感应区上缺少本套资料的部分内容",
            ],
            Reason::SecurityNotVerified => [
                "the security tag could not be set: put it back on the pad",
                "non è stato possibile impostare l'antitaccheggio: rimettilo sul piano",
                "无法设置防盗标签：请放回感应区",
            ],
            Reason::Lifted => [
                "taken off too early: put it back on the pad",
                "tolto troppo presto: rimettilo sul piano",
                "拿开过早：请放回感应区",
            ],
            Reason::UnreadableTag => [
                "the tag cannot be read: please ask at the desk",
                "l'etichetta non è leggibile: chiedi al banco",
                "无法读取标签：请到服务台咨询",
            ],
            Reason::NotAnItem => [
                "this is a card, not a library item",
                "questa è una tessera, non un documento",
                "这是读者证，不是馆藏资料",
            ],
            Reason::OfflineRules => [
                "cannot be lent while the library system is offline",
                "non prestabile finché il sistema della biblioteca è offline",
                "图书馆系统离线期间无法借出",
            ],
            Reason::Unknown => [
                "could not be confirmed: please ask at the desk",
                "non è stato possibile confermare: chiedi al banco",
                "无法确认：请到服务台咨询",
            ],
            Reason::Blocked => [
                "Your card cannot be used here now. Please ask at the desk.",
                "La tua tessera non può essere usata ora. Chiedi al banco.",
                "您的读者证目前无法在此使用，请到服务台咨询。",
            ],
            Reason::UnknownPatron => [
                "Card not recognised. Please try again or ask at the desk.",
                "Tessera non riconosciuta. Riprova o chiedi al banco.",
                "无法识别此读者证，请重试或到服务台咨询。",
            ],
            Reason::WrongPin => [
                "Wrong PIN. Please try again.",
                "PIN errato. Riprova.",
                "密码错误，请重试。",
            ],
            Reason::OfflineDisabled => [
                "The library system cannot be reached. Please try again later.",
                "Il sistema della biblioteca non è raggiungibile. Riprova più tardi.",
                "暂时无法连接图书馆系统，请稍后再试。",
            ],
            Reason::PinNotVerified => [
                "Your PIN cannot be checked here now. Please ask at the desk.",
                "Il PIN non può essere verificato qui ora. Chiedi al banco.",
                "目前无法在此验证您的密码，请到服务台咨询。",
            ],
            Reason::NoOfflinePin => [
                "The library system cannot be reached and your PIN cannot be checked without it. Please ask at the desk or try again later.",
                "Il sistema della biblioteca non è raggiungibile e senza di esso il PIN non può essere verificato. Chiedi al banco o riprova più tardi.",
                "暂时无法连接图书馆系统，无法验证您的密码。请到服务台咨询或稍后再试。",
            ],
            Reason::SecurityAtDesk => [
                "lent: please take it to the desk, where staff will release its security",
                "prestato: portalo al banco, dove il personale disattiverà l'antitaccheggio",
                "已借出：请带到服务台，由工作人员解除防盗",
            ],
            Reason::DeskShelfHold => [
                "please put this on the desk shelf: it is on hold for another patron",
                "mettilo sullo scaffale del banco: è prenotato per un altro utente",
                "请放到服务台书架上：已被其他读者预约",
            ],
            Reason::DeskShelfTransit => [
                "please put this on the desk shelf: it goes to another branch",
                "mettilo sullo scaffale del banco: va a un'altra sede",
                "请放到服务台书架上：需送往其他分馆",
            ],
            Reason::DeskShelf => [
                "please put this on the desk shelf: the library needs to see it",
                "mettilo sullo scaffale del banco: la biblioteca deve controllarlo",
                "请放到服务台书架上：图书馆需要查看",
            ],
            Reason::NoLoansNow => [
                "Borrowing is not possible at this kiosk just now. Returns are. Please ask at the desk.",
                "Al momento non è possibile prendere in prestito da questa postazione; la restituzione sì. Chiedi al banco.",
                "本机暂时无法借书，但可以还书。请到服务台咨询。",
            ],
            Reason::NoReturnsNow => [
                "Returns are not possible at this kiosk just now. Please use the returns box or ask at the desk.",
                "Al momento non è possibile restituire a questa postazione. Usa il cassetto delle restituzioni o chiedi al banco.",
                "本机暂时无法还书。请使用还书箱或到服务台咨询。",
            ],
            Reason::ClockUnsure => [
                "cannot be lent while the library system is offline: the kiosk's clock is not confirmed",
                "non prestabile finché il sistema della biblioteca è offline: l'orologio della postazione non è verificato",
                "图书馆系统离线期间无法借出：本机时钟未经校准",
            ],
            phone => return phone_reason(phone, language),
        },
    )
}

/// Why a phone code (the library app's QR code) was refused, and what to do.
fn phone_reason(reason: Reason, language: Language) -> &'static str {
    pick(
        language,
        match reason {
            Reason::PhoneDisabled => [
                "This kiosk does not take phone codes: please use your library card.",
                "Questo terminale non accetta codici dal telefono: usa la tessera della biblioteca.",
                "本机不支持手机二维码：请使用读者证。",
            ],
            Reason::PhoneTruncated => [
                "Only part of the code was read: hold the phone still and scan it again.",
                "È stata letta solo una parte del codice: tieni fermo il telefono e riprova.",
                "只读取到部分二维码：请拿稳手机后重新扫描。",
            ],
            Reason::PhoneMalformed => [
                "This code cannot be read: refresh it in the app.",
                "Questo codice non è leggibile: aggiornalo nell'app.",
                "无法读取此二维码：请在应用中刷新。",
            ],
            Reason::PhoneWrongAlgorithm => [
                "This code is signed in a way this kiosk does not accept: update the app.",
                "Questo codice è firmato in un modo che il terminale non accetta: aggiorna l'app.",
                "本机不接受此二维码的签名方式：请更新应用。",
            ],
            Reason::PhoneUnknownKey => [
                "This code was signed with a key this kiosk does not know: update the app or ask at the desk.",
                "Questo codice è firmato con una chiave che il terminale non conosce: aggiorna l'app o chiedi al banco.",
                "本机无法识别此二维码的签名密钥：请更新应用或到服务台咨询。",
            ],
            Reason::PhoneBadSignature => [
                "This code's signature is not valid: it was altered or not made by the library.",
                "La firma di questo codice non è valida: è stato alterato o non è della biblioteca.",
                "此二维码的签名无效：它已被篡改或并非图书馆签发。",
            ],
            Reason::PhoneWrongIssuer => [
                "This code was not issued for this library.",
                "Questo codice non è stato emesso per questa biblioteca.",
                "此二维码不是本馆签发的。",
            ],
            Reason::PhoneLifetimeTooLong => [
                "This code is valid for longer than this kiosk allows: refresh it in the app.",
                "Questo codice vale più a lungo di quanto il terminale ammetta: aggiornalo nell'app.",
                "此二维码的有效期超出本机允许的范围：请在应用中刷新。",
            ],
            Reason::PhoneClockNotSynchronised => [
                "This kiosk's clock is not set, so it cannot check phone codes: use your library card or ask at the desk.",
                "L'orologio di questo terminale non è regolato e non può verificare i codici dal telefono: usa la tessera o chiedi al banco.",
                "本机时钟尚未校准，无法验证手机二维码：请使用读者证或到服务台咨询。",
            ],
            Reason::PhoneNotYetValid => [
                "This code is not valid yet: check the time on your phone and refresh it in the app.",
                "Questo codice non è ancora valido: controlla l'ora del telefono e aggiornalo nell'app.",
                "此二维码尚未生效：请检查手机时间并在应用中刷新。",
            ],
            Reason::PhoneExpired => [
                "This code has expired: refresh it in the app.",
                "Questo codice è scaduto: aggiornalo nell'app.",
                "此二维码已过期：请在应用中刷新。",
            ],
            Reason::PhoneReplayed => [
                "This code has already been used: refresh it in the app.",
                "Questo codice è già stato usato: aggiornalo nell'app.",
                "此二维码已被使用：请在应用中刷新。",
            ],
            Reason::PhoneUnavailable => [
                "This kiosk cannot check phone codes right now: use your library card or ask at the desk.",
                "Questo terminale ora non può verificare i codici dal telefono: usa la tessera o chiedi al banco.",
                "本机暂时无法验证手机二维码：请使用读者证或到服务台咨询。",
            ],
            // Too long, or not `SC1:` at all: not the library's code.
            _ => [
                "This is not a library phone code.",
                "Questo non è un codice della biblioteca.",
                "这不是图书馆的手机二维码。",
            ],
        },
    )
}

/// A wrong PIN with `left` tries remaining.
pub fn wrong_pin(left: u8, language: Language) -> String {
    match language {
        Language::English if left == 1 => "Wrong PIN. Please try again (1 try left).".into(),
        Language::English => format!("Wrong PIN. Please try again ({left} tries left)."),
        Language::Italian if left == 1 => "PIN errato. Riprova (ancora 1 tentativo).".into(),
        Language::Italian => format!("PIN errato. Riprova (ancora {left} tentativi)."),
        Language::Chinese => format!("密码错误，请重试（还可尝试{left}次）。"),
    }
}

/// A set with `seen` of `total` parts on the pad.
pub fn parts_missing(seen: u8, total: u8, language: Language) -> String {
    match language {
        Language::English => format!("{seen} of {total} parts on the pad: add the missing ones"),
        Language::Italian => {
            format!("{seen} parti su {total} sul piano: aggiungi quelle mancanti")
        }
        Language::Chinese => format!("感应区上只有{total}件中的{seen}件：请放上缺少的部分"),
    }
}

/// Lent or returned offline: the library system confirms it later.
pub fn to_be_confirmed(language: Language) -> &'static str {
    pick(
        language,
        [
            "will be confirmed by the library",
            "sarà confermato dalla biblioteca",
            "将由图书馆系统确认",
        ],
    )
}

/// A renewal went through, until `due`.
pub fn renewed_until(due: &str, language: Language) -> String {
    match language {
        Language::English => format!("Renewed until {due}"),
        Language::Italian => format!("Rinnovato: nuova scadenza {due}"),
        Language::Chinese => format!("已续借至{due}"),
    }
}

/// A renewal was refused and the library system said nothing more.
pub fn not_renewed(language: Language) -> &'static str {
    pick(language, ["Not renewed", "Non rinnovato", "未能续借"])
}

/// The one line of the fines list when the library system gives only a total.
pub fn fines_owed(language: Language) -> &'static str {
    pick(
        language,
        ["Fines and fees", "Multe e tariffe", "罚款和费用"],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const REASONS: [Reason; 38] = [
        Reason::Ils,
        Reason::NotForCirculation,
        Reason::OtherLibrary,
        Reason::IncompleteSet,
        Reason::SecurityNotVerified,
        Reason::Lifted,
        Reason::UnreadableTag,
        Reason::NotAnItem,
        Reason::OfflineRules,
        Reason::Unknown,
        Reason::Blocked,
        Reason::UnknownPatron,
        Reason::WrongPin,
        Reason::OfflineDisabled,
        Reason::PinNotVerified,
        Reason::NoOfflinePin,
        Reason::SecurityAtDesk,
        Reason::DeskShelfHold,
        Reason::DeskShelfTransit,
        Reason::DeskShelf,
        Reason::NoLoansNow,
        Reason::NoReturnsNow,
        Reason::ClockUnsure,
        Reason::PhoneDisabled,
        Reason::PhoneOversized,
        Reason::PhoneBadPrefix,
        Reason::PhoneTruncated,
        Reason::PhoneMalformed,
        Reason::PhoneWrongAlgorithm,
        Reason::PhoneUnknownKey,
        Reason::PhoneBadSignature,
        Reason::PhoneWrongIssuer,
        Reason::PhoneLifetimeTooLong,
        Reason::PhoneClockNotSynchronised,
        Reason::PhoneNotYetValid,
        Reason::PhoneExpired,
        Reason::PhoneReplayed,
        Reason::PhoneUnavailable,
    ];

    #[test]
    fn every_phone_refusal_has_its_own_sentence_on_screen() {
        use std::collections::BTreeSet;
        let phone: Vec<Reason> = REASONS[23..].to_vec();
        for language in Language::ALL {
            let texts: BTreeSet<&str> = phone.iter().map(|r| reason(*r, language)).collect();
            // Too long and not `SC1:` share "not a library phone code".
            assert_eq!(texts.len(), phone.len() - 1, "{language:?}");
        }
        assert_eq!(
            reason(Reason::PhoneExpired, Language::English),
            "This code has expired: refresh it in the app."
        );
        assert_eq!(
            reason(Reason::PhoneReplayed, Language::Italian),
            "Questo codice è già stato usato: aggiornalo nell'app."
        );
        assert_eq!(
            reason(Reason::PhoneExpired, Language::Chinese),
            "此二维码已过期：请在应用中刷新。"
        );
    }

    #[test]
    fn every_reason_has_three_different_texts() {
        for r in REASONS {
            let texts: Vec<&str> = Language::ALL.iter().map(|l| reason(r, *l)).collect();
            assert!(texts.iter().all(|t| !t.is_empty()), "{r:?}");
            assert_ne!(texts[0], texts[1], "{r:?}: Italian is a copy of English");
            assert_ne!(texts[0], texts[2], "{r:?}: Chinese is a copy of English");
        }
    }

    #[test]
    fn numbers_in_sentences() {
        assert_eq!(
            wrong_pin(1, Language::English),
            "Wrong PIN. Please try again (1 try left)."
        );
        assert_eq!(
            wrong_pin(2, Language::Italian),
            "PIN errato. Riprova (ancora 2 tentativi)."
        );
        assert_eq!(
            parts_missing(2, 3, Language::Chinese),
            "感应区上只有3件中的2件：请放上缺少的部分"
        );
        assert_eq!(
            renewed_until("11 dic 2026", Language::Italian),
            "Rinnovato: nuova scadenza 11 dic 2026"
        );
    }
}
