//! The settings the core applies, copied out of [`crate::config::Settings`].

use std::time::Duration;

use super::model::Language;

/// Settings the core needs, copied out of [`crate::config::Settings`].
#[derive(Debug, Clone, PartialEq)]
pub struct KioskConfig {
    pub languages: Vec<Language>,
    pub idle_timeout: Duration,
}

impl KioskConfig {
    pub fn from_settings(s: &crate::config::Settings) -> KioskConfig {
        let mut languages: Vec<Language> = s
            .terminal
            .languages
            .iter()
            .filter_map(|c| Language::from_code(c))
            .collect();
        if languages.is_empty() {
            languages.push(Language::English);
        }
        KioskConfig {
            languages,
            idle_timeout: Duration::from_secs(u64::from(s.terminal.idle_timeout_secs)),
        }
    }
}

/// The circulation rules the core applies (beyond what the ILS decides).
#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    /// Ask for the PIN after the card.
    pub require_pin: bool,
    /// Wrong PINs before the session is refused.
    pub pin_attempts: u8,
    /// Ask for the PIN after an accepted phone code too (`[phone] require_pin`); a card
    /// number follows `require_pin` whatever it was shown on.
    pub phone_require_pin: bool,
    /// Items whose tag names another owner library are refused (ISIL, compared without
    /// hyphens, case-insensitively).
    pub owner_isil: Option<String>,
    /// How long before the idle timeout the warning shows.
    pub idle_warning: Duration,
    pub offline: OfflineRules,
    pub receipt: ReceiptRules,
    /// Home delivery of holds; `None` when the library does not deliver.
    pub delivery: Option<DeliveryRules>,
    /// Where a hold may be picked up (the ILS's location names), for the account screen.
    pub pickup_locations: Vec<String>,
}

/// Which receipts the summary screen may offer, as the settings and the hardware allow.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReceiptRules {
    /// A printer is configured and printing is offered.
    pub print: bool,
    /// A mail server is configured and e-mail is offered.
    pub email: bool,
    /// The patron may type an address when the ILS gives none.
    pub typed_address: bool,
}

/// `[delivery]`: holds delivered to the patron's home.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRules {
    /// The ILS's pickup location code for deliveries.
    pub pickup_location: String,
    /// Shown before the patron confirms; `None`: free.
    pub fee: Option<String>,
}

/// Offline lending rules (`[offline]` settings); the loan period is the shell's (by media type).
#[derive(Debug, Clone, PartialEq)]
pub struct OfflineRules {
    pub enabled: bool,
    pub max_items_per_patron: u32,
    pub allow_unknown_patrons: bool,
    pub max_fine_cents: i64,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            require_pin: true,
            pin_attempts: 3,
            phone_require_pin: false,
            owner_isil: None,
            idle_warning: Duration::from_secs(15),
            offline: OfflineRules {
                enabled: true,
                max_items_per_patron: 5,
                allow_unknown_patrons: false,
                max_fine_cents: 1000,
            },
            receipt: ReceiptRules::default(),
            delivery: None,
            pickup_locations: Vec::new(),
        }
    }
}

impl Rules {
    pub fn from_settings(s: &crate::config::Settings) -> Rules {
        Rules {
            require_pin: s.terminal.require_pin,
            pin_attempts: s.terminal.pin_attempts.max(1),
            phone_require_pin: s.phone.require_pin,
            owner_isil: s.rfid.owner_isil.clone(),
            idle_warning: Duration::from_secs(u64::from(s.terminal.idle_warning_secs)),
            offline: OfflineRules {
                enabled: s.offline.enabled,
                max_items_per_patron: s.offline.max_items_per_patron,
                allow_unknown_patrons: s.offline.allow_unknown_patrons,
                max_fine_cents: (s.offline.max_fine * 100.0).round() as i64,
            },
            // Printing needs to know the board's printer too: see [`Rules::with_printer`].
            receipt: ReceiptRules {
                print: false,
                email: s.receipt.offers("email", false),
                typed_address: s.receipt.email.allow_typed_address,
            },
            delivery: s.delivery.enabled.then(|| DeliveryRules {
                pickup_location: s.delivery.pickup_location.clone(),
                fee: s.delivery.fee.clone().filter(|f| !f.trim().is_empty()),
            }),
            pickup_locations: s.delivery.pickup_locations.clone(),
        }
    }

    /// Offer printed receipts when the terminal has a printer (and the settings offer them).
    pub fn with_printer(mut self, s: &crate::config::Settings, has_printer: bool) -> Rules {
        self.receipt.print = s.receipt.offers("print", has_printer);
        self
    }
}
