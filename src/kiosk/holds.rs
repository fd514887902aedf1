//! Holds on the account screen: cancel one, move it to another pickup location, or have it
//! delivered home (the fee and the masked address shown first; journaled like a loan and
//! queued for the sync when the link is down).

use super::events::{Effect, IlsAnswer, IlsRequest};
use super::model::{Activity, DeliveryOffer, Reason, ScreenModel};
use super::{Kiosk, Pending, Phase, Session, join};

impl Kiosk {
    pub(super) fn hold_lines(&self, s: &Session, m: &mut ScreenModel) {
        m.holds = s.holds.clone();
        m.pickup_locations = self.rules.pickup_locations.clone();
        m.delivery_offered = self.rules.delivery.is_some() && s.address.is_some();
        m.delivery = s.delivery.clone().map(Box::new);
    }

    /// The account session, if one is open and on its screen.
    fn account(&mut self) -> Option<&mut Session> {
        self.session
            .as_mut()
            .filter(|s| s.phase == Phase::Active && s.activity == Activity::Account)
    }

    /// Cancel (`location` none) or move a hold; online only.
    pub(super) fn on_hold_change(&mut self, item_id: String, location: Option<String>) {
        let online = self.online;
        let Some(s) = self.account() else {
            return;
        };
        if !s.holds.iter().any(|h| h.item_id == item_id) {
            return;
        }
        s.delivery = None;
        if !online {
            s.notice = Some(Reason::OfflineRules);
            return;
        }
        let patron_id = s.patron_id.clone().unwrap_or_default();
        let request = match &location {
            None => IlsRequest::CancelHold {
                patron_id,
                item_id: item_id.clone(),
            },
            Some(location) => {
                let location = location.trim().to_string();
                if location.is_empty() {
                    return;
                }
                IlsRequest::MoveHold {
                    patron_id,
                    item_id: item_id.clone(),
                    location,
                    delivery: false,
                    offline: false,
                    journal: None,
                }
            }
        };
        self.request(
            Pending::Hold {
                item_id,
                location: location.map(|l| l.trim().to_string()),
                delivery: false,
            },
            request,
        );
    }

    /// Show what a delivery of the hold costs and where it goes, for the patron's yes.
    pub(super) fn on_deliver(&mut self, item_id: String) {
        let Some(rules) = self.rules.delivery.clone() else {
            return;
        };
        let Some(s) = self.account() else {
            return;
        };
        let (Some(hold), Some(address)) = (
            s.holds.iter().find(|h| h.item_id == item_id),
            s.address.as_deref(),
        ) else {
            return;
        };
        s.delivery = Some(DeliveryOffer {
            item_id: hold.item_id.clone(),
            title: hold.title.clone(),
            fee: rules.fee,
            address: mask_address(address),
        });
    }

    pub(super) fn on_confirm_delivery(&mut self, yes: bool) {
        let Some(rules) = self.rules.delivery.clone() else {
            return;
        };
        let online = self.online;
        let Some(s) = self.account() else {
            return;
        };
        let Some(offer) = s.delivery.take() else {
            return;
        };
        if !yes {
            return;
        }
        let patron_id = s.patron_id.clone().unwrap_or_default();
        self.request(
            Pending::Hold {
                item_id: offer.item_id.clone(),
                location: Some(rules.pickup_location.clone()),
                delivery: true,
            },
            IlsRequest::MoveHold {
                patron_id,
                item_id: offer.item_id,
                location: rules.pickup_location,
                delivery: true,
                offline: !online,
                journal: None,
            },
        );
    }

    pub(super) fn on_hold_answer(
        &mut self,
        item_id: &str,
        location: Option<String>,
        delivery: bool,
        answer: IlsAnswer,
    ) {
        if matches!(answer, IlsAnswer::Unavailable { .. }) {
            self.online = false;
        }
        let Some(s) = self.session.as_mut() else {
            return;
        };
        let patron_id = s.patron_id.clone().unwrap_or_default();
        let address = s.address.clone().unwrap_or_default();
        let Some(index) = s.holds.iter().position(|h| h.item_id == item_id) else {
            return;
        };
        match answer {
            IlsAnswer::Hold {
                ok,
                offline,
                pickup,
                messages,
            } => {
                let hold = &mut s.holds[index];
                hold.changed = Some(ok);
                hold.message = join(&messages);
                if !ok {
                    return;
                }
                match location {
                    None => {
                        s.holds.remove(index);
                        s.messages.extend(messages);
                    }
                    Some(location) => {
                        hold.pickup = pickup.unwrap_or(location);
                        hold.delivery = delivery;
                        hold.queued = offline;
                        if delivery {
                            let (item_id, title) = (hold.item_id.clone(), hold.title.clone());
                            self.effects.push(Effect::DeliverySlip {
                                item_id,
                                title,
                                patron_id,
                                address,
                            });
                        }
                    }
                }
            }
            IlsAnswer::Unavailable {
                journal,
                maybe_sent,
            } => {
                if let (true, Some(location)) = (delivery, location.clone()) {
                    // Journaled like a loan: the sync sends it once the link is back.
                    self.request(
                        Pending::Hold {
                            item_id: item_id.to_string(),
                            location: Some(location.clone()),
                            delivery,
                        },
                        IlsRequest::MoveHold {
                            patron_id,
                            item_id: item_id.to_string(),
                            location,
                            delivery,
                            offline: true,
                            journal,
                        },
                    );
                } else {
                    s.holds[index].changed = Some(false);
                    s.notice = Some(if maybe_sent {
                        Reason::Unknown
                    } else {
                        Reason::OfflineRules
                    });
                }
            }
            _ => {
                s.holds[index].changed = Some(false);
                s.notice = Some(Reason::Unknown);
            }
        }
    }
}

/// An address with every word's letters but the first hidden, numbers kept: enough for the
/// patron to recognise it, little for the person behind them.
pub fn mask_address(address: &str) -> String {
    address
        .split(' ')
        .map(|word| {
            let mut out = String::new();
            let mut letters = 0usize;
            for c in word.chars() {
                if c.is_alphabetic() {
                    letters += 1;
                    out.push(if letters == 1 { c } else { '*' });
                } else {
                    letters = 0;
                    out.push(c);
                }
            }
            out
        })
        .collect::<Vec<_>>()
        .join(" ")
}
