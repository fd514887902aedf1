//! The summary screen's receipt: what it offers, the patron's choice, and how it went.

use super::events::{Effect, ReceiptAddress, ReceiptRequest};
use super::model::{ItemState, ReceiptKind, ReceiptLine, ReceiptState};
use super::{Kiosk, Phase, Session};

/// The receipts of one session.
#[derive(Debug, Clone, Default)]
pub(super) struct ReceiptChoice {
    print: Option<ReceiptState>,
    email: Option<ReceiptState>,
    declined: bool,
}

impl Kiosk {
    /// What the summary may offer this session: a printer for anyone, e-mail when the ILS
    /// gave the patron's address (or the site lets them type one).
    fn receipt_offers(&self, s: &Session) -> Vec<ReceiptKind> {
        let rules = &self.rules.receipt;
        let mut offers = Vec::new();
        if rules.print {
            offers.push(ReceiptKind::Print);
        }
        let has_patron = s.patron_id.is_some();
        if rules.email && has_patron && (s.email.is_some() || rules.typed_address) {
            offers.push(ReceiptKind::Email);
        }
        offers
    }

    pub(super) fn receipt_line(&self, s: &Session) -> Option<ReceiptLine> {
        let offers = self.receipt_offers(s);
        if offers.is_empty() {
            return None;
        }
        Some(ReceiptLine {
            offers,
            print: s.receipt.print,
            email: s.receipt.email,
            declined: s.receipt.declined,
            typed_address: s.email.is_none() && self.rules.receipt.typed_address,
        })
    }

    pub(super) fn on_receipt(&mut self, kind: Option<ReceiptKind>, typed: Option<String>) {
        let Some(s) = self.session.as_ref() else {
            return;
        };
        if s.phase != Phase::Summary {
            return;
        }
        let offers = self.receipt_offers(s);
        let typed_allowed = self.rules.receipt.typed_address;
        let language = self.language;
        let Some(s) = self.session.as_mut() else {
            return;
        };
        let Some(kind) = kind else {
            s.receipt.declined = true;
            return;
        };
        if !offers.contains(&kind) {
            return;
        }
        let state = match kind {
            ReceiptKind::Print => &mut s.receipt.print,
            ReceiptKind::Email => &mut s.receipt.email,
        };
        // Once is enough; a failed one may be tried again.
        if matches!(
            state,
            Some(ReceiptState::Working | ReceiptState::Printed | ReceiptState::Queued)
        ) {
            return;
        }
        let address = match kind {
            ReceiptKind::Print => None,
            ReceiptKind::Email => {
                let typed = typed
                    .map(|a| a.trim().to_string())
                    .filter(|a| !a.is_empty() && typed_allowed);
                match (typed, &s.email) {
                    (Some(a), _) => Some(ReceiptAddress::Typed(a)),
                    (None, Some(a)) => Some(ReceiptAddress::FromIls(a.clone())),
                    (None, None) => {
                        *state = Some(ReceiptState::NotSent);
                        return;
                    }
                }
            }
        };
        *state = Some(ReceiptState::Working);
        s.receipt.declined = false;
        let receipt = ReceiptRequest {
            language,
            activity: s.activity,
            patron_id: s.patron_id.clone(),
            items: s
                .items
                .iter()
                .filter(|i| matches!(i.line.state, ItemState::Done | ItemState::DoneOffline))
                .map(|i| i.line.clone())
                .collect(),
            holds_ready: if s.holds.iter().any(|h| h.ready) {
                s.holds
                    .iter()
                    .filter(|h| h.ready)
                    .map(|h| {
                        if h.title.trim().is_empty() {
                            h.item_id.clone()
                        } else {
                            h.title.clone()
                        }
                    })
                    .collect()
            } else {
                s.patron
                    .as_ref()
                    .map(|p| p.holds_ready.clone())
                    .unwrap_or_default()
            },
            fines: s.patron.as_ref().and_then(|p| p.fines.clone()),
        };
        self.effects.push(Effect::Receipt {
            kind,
            receipt,
            address,
        });
    }

    pub(super) fn on_receipt_done(&mut self, kind: ReceiptKind, state: ReceiptState) {
        let Some(s) = self.session.as_mut() else {
            return;
        };
        if s.phase != Phase::Summary {
            return;
        }
        match kind {
            ReceiptKind::Print => s.receipt.print = Some(state),
            ReceiptKind::Email => s.receipt.email = Some(state),
        }
    }
}
