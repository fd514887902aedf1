//! Holds at the kiosk: cancel (15 `-`), move to another pickup location (15 `*` with BS),
//! and home delivery, which is journaled like a loan (a row before the request leaves, the
//! answer after) and queued for the sync when the link is down.

use super::{Exchange, Shell, ShellError, nonempty, unexpected};
use crate::kiosk::{HoldLine, IlsAnswer};
use crate::sip2::{self, HoldMode, Message, PatronInformationResponse, SipDateTime};
use crate::store::journal::{self, Action, NewEntry, State};

/// One hold change the core asked for.
pub struct HoldChange {
    pub patron_id: String,
    pub item_id: String,
    /// `None`: cancel.
    pub location: Option<String>,
    pub delivery: bool,
    pub offline: bool,
    pub journal: Option<i64>,
}

impl HoldChange {
    fn request(&self) -> &'static str {
        match (&self.location, self.delivery) {
            (None, _) => "hold_cancel",
            (Some(_), false) => "hold_pickup",
            (Some(_), true) => "deliver",
        }
    }
}

fn hold_answer(r: &sip2::HoldResponse, location: Option<&str>) -> IlsAnswer {
    IlsAnswer::Hold {
        ok: r.ok,
        offline: false,
        pickup: r
            .pickup_location
            .as_deref()
            .and_then(nonempty)
            .or_else(|| location.map(str::to_string)),
        messages: r.screen_messages.clone(),
    }
}

/// The SIP2 extension field some systems (the demo ILS among them) describe each listed hold
/// in: `item id;ready|waiting;queue position;pickup location`. SIP2 itself has no field for
/// a hold's pickup location.
const HOLD_DETAIL: &str = "XH";

/// A hold from its item id and the details the ILS gave (if any).
fn hold_line(item_id: &str, ready: bool, details: &[(String, String)]) -> HoldLine {
    let mut line = HoldLine {
        item_id: item_id.to_string(),
        title: String::new(),
        ready,
        position: None,
        pickup: String::new(),
        delivery: false,
        changed: None,
        queued: false,
        message: None,
    };
    let detail = details
        .iter()
        .filter(|(k, _)| k == HOLD_DETAIL)
        .filter_map(|(_, v)| {
            let mut parts = v.splitn(4, ';');
            let id = parts.next()?;
            (id == item_id).then(|| {
                let state = parts.next().unwrap_or_default().to_string();
                let position = parts.next().and_then(|p| p.trim().parse().ok());
                let pickup = parts.next().unwrap_or_default().trim().to_string();
                (state, position, pickup)
            })
        })
        .next();
    if let Some((state, position, pickup)) = detail {
        line.ready = match state.as_str() {
            "ready" => true,
            "waiting" => false,
            _ => ready,
        };
        line.position = position;
        line.pickup = pickup;
    }
    line
}

impl Shell {
    /// The patron's holds: ready ones (AS) and waiting ones (CD), each asked with its own
    /// summary, titles from item information. Returns the ready ones' titles too.
    pub(super) async fn holds_of(
        &self,
        answer: &PatronInformationResponse,
        patron_id: &str,
        pin: Option<&str>,
    ) -> (Vec<String>, Vec<HoldLine>) {
        let ask = |summary: sip2::Summary| {
            self.sip2
                .request(Message::PatronInformation(sip2::PatronInformation {
                    transaction_date: Some(SipDateTime::now_local()),
                    summary,
                    patron_id: patron_id.to_string(),
                    patron_password: pin.map(str::to_string),
                    ..Default::default()
                }))
        };
        let mut holds = Vec::new();
        if !answer.hold_items.is_empty() {
            for id in &answer.hold_items {
                holds.push(hold_line(id, true, &answer.extra));
            }
        } else if answer.hold_items_count.unwrap_or(0) > 0 {
            let summary = sip2::Summary {
                hold_items: true,
                ..Default::default()
            };
            if let Ok(Message::PatronInformationResponse(r)) = ask(summary).await {
                for id in &r.hold_items {
                    holds.push(hold_line(id, true, &r.extra));
                }
            }
        }
        if answer.unavailable_holds_count.unwrap_or(0) > 0 {
            let summary = sip2::Summary {
                unavailable_holds: true,
                ..Default::default()
            };
            if let Ok(Message::PatronInformationResponse(r)) = ask(summary).await {
                for id in &r.unavailable_hold_items {
                    holds.push(hold_line(id, false, &r.extra));
                }
            }
        }
        for hold in &mut holds {
            let info = self
                .sip2
                .request(Message::ItemInformation(sip2::ItemInformation {
                    transaction_date: Some(SipDateTime::now_local()),
                    item_id: hold.item_id.clone(),
                    ..Default::default()
                }))
                .await;
            if let Ok(Message::ItemInformationResponse(i)) = info {
                hold.title = i.title_id.trim().to_string();
            }
        }
        let ready = holds
            .iter()
            .filter(|h| h.ready)
            .map(|h| {
                if h.title.is_empty() {
                    h.item_id.clone()
                } else {
                    h.title.clone()
                }
            })
            .collect();
        (ready, holds)
    }

    pub(super) async fn hold(
        &mut self,
        change: HoldChange,
    ) -> Result<(IlsAnswer, Exchange), ShellError> {
        if change.delivery && change.offline {
            return self.queue_delivery(change).await;
        }
        let journal = if change.delivery {
            Some(self.record_delivery(&change, State::Pending).await?)
        } else {
            None
        };
        let msg = Message::Hold(sip2::Hold {
            hold_mode: if change.location.is_some() {
                HoldMode::Change
            } else {
                HoldMode::Delete
            },
            transaction_date: Some(SipDateTime::now_local()),
            pickup_location: change.location.clone(),
            patron_id: change.patron_id.clone(),
            item_id: Some(change.item_id.clone()),
            ..Default::default()
        });
        let request = change.request();
        let item = Some(change.item_id.clone());
        match (self.sip2.request(msg).await, journal) {
            (Ok(Message::HoldResponse(r)), journal) => {
                let exchange = match journal {
                    Some(id) => {
                        // A hold change is journaled but is no circulation action: not counted.
                        let state = if r.ok { State::Done } else { State::Refused };
                        self.settle(id, state, nonempty(&r.screen_messages.join(" ")))
                            .await?;
                        Exchange::answered(request, item, r.ok, id, &r.screen_messages)
                    }
                    None => Exchange {
                        request,
                        item,
                        outcome: if r.ok { "ok" } else { "refused" },
                        journal: None,
                        message: nonempty(&r.screen_messages.join(" ")),
                    },
                };
                Ok((hold_answer(&r, change.location.as_deref()), exchange))
            }
            (other, Some(id)) => {
                let e = other.map_or_else(|e| e, unexpected);
                self.unavailable(id, &e, request, item).await
            }
            (other, None) => {
                let e = other.map_or_else(|e| e, unexpected);
                Ok((
                    IlsAnswer::Unavailable {
                        journal: None,
                        maybe_sent: !matches!(
                            e,
                            crate::sip2::client::ClientError::Offline(_)
                                | crate::sip2::client::ClientError::Closed
                        ),
                    },
                    Exchange {
                        request,
                        item,
                        outcome: "unavailable",
                        journal: None,
                        message: Some(e.to_string()),
                    },
                ))
            }
        }
    }

    /// A delivery while the ILS cannot be reached: queued for the sync (the row of a request
    /// that may have been sent, or a new one).
    async fn queue_delivery(
        &mut self,
        change: HoldChange,
    ) -> Result<(IlsAnswer, Exchange), ShellError> {
        let id = match change.journal {
            Some(id) => {
                self.store
                    .call(move |c| journal::queue(c, id, None, true))
                    .await?;
                id
            }
            None => self.record_delivery(&change, State::Queued).await?,
        };
        Ok((
            IlsAnswer::Hold {
                ok: true,
                offline: true,
                pickup: change.location.clone(),
                messages: Vec::new(),
            },
            Exchange::queued("deliver", change.item_id, id),
        ))
    }

    async fn record_delivery(&self, change: &HoldChange, state: State) -> Result<i64, ShellError> {
        let at = SipDateTime::now_local().to_string();
        let patron = change.patron_id.clone();
        let item = change.item_id.clone();
        let pickup = change.location.clone();
        let in_flight = self.in_flight.clone();
        Ok(self
            .store
            .call(move |c| {
                journal::record_with_pickup(
                    c,
                    &NewEntry {
                        action: Action::Deliver,
                        patron_id: Some(&patron),
                        item_id: Some(&item),
                        state,
                        transaction_at: &at,
                        due_at: None,
                    },
                    pickup.as_deref(),
                )
                .inspect(|id| {
                    if state == State::Pending {
                        in_flight.insert(*id);
                    }
                })
            })
            .await?)
    }
}
