//! The SIP2 page: one SC status round trip to the library system, timed.

use super::*;

impl StaffMode {
    pub(super) fn sip2_test(&self) {
        self.touch();
        if self.inner.sip2_busy.replace(true) {
            return;
        }
        self.with_window(|w| w.global::<DiagnosticsAdapter>().set_sip2_busy(true));
        let sip2 = self.inner.ctx.sip2.clone();
        let job = self.inner.ctx.runtime.spawn(async move {
            let started = Instant::now();
            let answer = sip2
                .request(Message::ScStatus(ScStatus {
                    max_print_width: 40,
                    protocol_version: "2.00".into(),
                    ..ScStatus::default()
                }))
                .await;
            (answer, started.elapsed())
        });
        let m = self.clone();
        self.on_ui(async move {
            let outcome = match job.await {
                Ok((Ok(answer), took)) => Ok(describe_status_answer(&answer, took)),
                Ok((Err(e), _)) => Err(e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            m.inner.sip2_busy.set(false);
            m.with_window(|w| {
                let diagnostics = w.global::<DiagnosticsAdapter>();
                diagnostics.set_sip2_busy(false);
                let (ok, text) = match &outcome {
                    Ok(answer) => (answer.ok(), status_text(&diagnostics, answer)),
                    Err(e) => (false, e.into()),
                };
                diagnostics.set_sip2_ok(ok);
                diagnostics.set_sip2_result(text);
            });
        });
    }
}

/// What the ILS answered to the SIP2 test's SC status (99), and how fast.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusAnswer {
    /// ACS status (98), as it should be.
    Acs {
        ms: u128,
        online: bool,
        checkout: bool,
        checkin: bool,
        renewal: bool,
        institution: String,
    },
    /// Another message, by its two-digit code.
    Unexpected { id: &'static str, ms: u128 },
}

impl StatusAnswer {
    /// The ILS answered 98 and is online.
    pub fn ok(&self) -> bool {
        matches!(self, StatusAnswer::Acs { online: true, .. })
    }
}

/// The answer to the SIP2 test's SC status (99) for staff.
pub fn describe_status_answer(answer: &Message, took: Duration) -> StatusAnswer {
    let ms = took.as_millis();
    match answer {
        Message::AcsStatus(acs) => StatusAnswer::Acs {
            ms,
            online: acs.online_status,
            checkout: acs.checkout_ok,
            checkin: acs.checkin_ok,
            renewal: acs.acs_renewal_policy,
            institution: acs.institution_id.clone(),
        },
        other => StatusAnswer::Unexpected { id: other.id(), ms },
    }
}

/// The SIP2 test's answer in the UI's language.
pub(in crate::ui) fn status_text(
    diagnostics: &DiagnosticsAdapter<'_>,
    answer: &StatusAnswer,
) -> SharedString {
    match answer {
        StatusAnswer::Acs {
            ms,
            online,
            checkout,
            checkin,
            renewal,
            institution,
        } => diagnostics.invoke_status_answer(
            clamp_i32(*ms),
            *online,
            *checkout,
            *checkin,
            *renewal,
            institution.into(),
        ),
        StatusAnswer::Unexpected { id, ms } => {
            diagnostics.invoke_unexpected_answer((*id).into(), clamp_i32(*ms))
        }
    }
}
