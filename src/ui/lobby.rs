//! The lobby screen's bridge: the view model's figures, formatted for the screen's language,
//! written into the `LobbyAdapter` global.

use chrono::{DateTime, Utc};
use slint::{ComponentHandle, SharedString};

use super::format;
use super::{LobbyAdapter, LobbyBar, LobbyTile, LobbyWindow, rows};
use crate::config::time_zone::Zone;
use crate::kiosk::Language;
use crate::lobby::model::local_time;
use crate::lobby::{Figures, TileState};

/// The hours the chart always covers (a library's opening day); it widens for loans outside.
const CHART_HOURS: std::ops::Range<u32> = 8..21;

/// How a language is named on the screen (in itself).
pub fn language_name(code: &str) -> String {
    match Language::from_code(code) {
        Some(Language::English) => "English".into(),
        Some(Language::Italian) => "Italiano".into(),
        Some(Language::Chinese) => "中文".into(),
        None => code.to_string(),
    }
}

/// A share as a percentage: `62%`, `0.4%`, `<0.1%`.
pub fn percent(share: f32) -> String {
    let p = share * 100.0;
    if p > 0.0 && p < 0.1 {
        "<0.1%".into()
    } else if p < 10.0 && p.fract() != 0.0 {
        format!("{p:.1}%")
    } else {
        format!("{p:.0}%")
    }
}

/// Bars scaled to the largest value.
fn bars(items: impl Iterator<Item = (String, u64)> + Clone, language: Language) -> Vec<LobbyBar> {
    let max = items.clone().map(|(_, n)| n).max().unwrap_or(0).max(1);
    items
        .map(|(label, n)| LobbyBar {
            label: label.into(),
            value: n as f32 / max as f32,
            text: format::count(n, language).into(),
        })
        .collect()
}

/// The hours the chart shows: the opening day, widened to every hour with loans and to now.
fn chart_range(f: &Figures) -> std::ops::Range<u32> {
    let busy = (0..24u32).filter(|h| f.hours.get(*h as usize).is_some_and(|n| *n > 0));
    let first = busy.clone().min().unwrap_or(CHART_HOURS.start);
    let last = busy.max().unwrap_or(CHART_HOURS.start);
    let start = CHART_HOURS.start.min(first).min(f.hour_now);
    let end = CHART_HOURS.end.max(last + 1).max(f.hour_now + 1).min(24);
    start..end
}

/// Write the figures into the window, in `language`, times on `zone`'s clock.
pub fn show(
    window: &LobbyWindow,
    f: &Figures,
    library_name: &str,
    zone: Zone,
    language: Language,
    now: DateTime<Utc>,
) {
    let a = window.global::<LobbyAdapter>();
    let n = |v: u64| -> SharedString { format::count(v, language).into() };
    a.set_library_name(library_name.into());
    a.set_date(format::date(f.day, language).into());
    a.set_clock(local_time(zone, now).format("%H:%M").to_string().into());
    a.set_live(f.connected);
    a.set_as_of(
        f.as_of
            .map(|t| local_time(zone, t).format("%H:%M").to_string())
            .unwrap_or_else(|| "--:--".into())
            .into(),
    );
    a.set_loans(n(f.loans));
    a.set_returns(n(f.returns));
    let (loans_lw, returns_lw) = match f.last_week {
        Some((l, r)) => (n(l), n(r)),
        None => (SharedString::new(), SharedString::new()),
    };
    a.set_loans_last_week(loans_lw);
    a.set_returns_last_week(returns_lw);

    let range = chart_range(f);
    let hours = range
        .clone()
        .map(|h| (h.to_string(), f.hours.get(h as usize).copied().unwrap_or(0)));
    a.set_hours(rows(bars(hours, language)));
    a.set_hour_now(if range.contains(&f.hour_now) {
        (f.hour_now - range.start) as i32
    } else {
        -1
    });
    a.set_branches(rows(bars(f.branches.iter().cloned(), language)));
    let top_share = f
        .languages
        .first()
        .map(|l| l.1)
        .unwrap_or(1.0)
        .max(f32::EPSILON);
    a.set_languages(rows(
        f.languages
            .iter()
            .map(|(code, share)| LobbyBar {
                label: language_name(code).into(),
                value: share / top_share,
                text: percent(*share).into(),
            })
            .collect(),
    ));
    a.set_offline_share(f.offline_share.map(percent).unwrap_or_default().into());
    a.set_offline_fraction(f.offline_share.unwrap_or(0.0));
    a.set_top_titles(rows(bars(f.top_titles.iter().cloned(), language)));
    a.set_ticker(f.ticker.join("  ·  ").into());
    a.set_wall(rows(
        f.wall
            .iter()
            .map(|t| LobbyTile {
                name: t.name.as_str().into(),
                state: t.state.as_str().into(),
                queue: t.queue_depth.min(i32::MAX as u64) as i32,
            })
            .collect(),
    ));
    let counts = f.wall_counts();
    a.set_online(counts[TileState::Online as usize] as i32);
    a.set_out_of_order(counts[TileState::OutOfOrder as usize] as i32);
    a.set_offline(counts[TileState::Offline as usize] as i32);
    a.set_queued(f.queued().min(i32::MAX as u64) as i32);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_read_as_percentages() {
        assert_eq!(percent(0.62), "62%");
        assert_eq!(percent(0.004), "0.4%");
        assert_eq!(percent(0.0), "0%");
        assert_eq!(percent(0.0000001), "<0.1%");
        assert_eq!(percent(1.0), "100%");
        assert_eq!(language_name("zh_CN"), "中文");
        assert_eq!(language_name("fr"), "fr");
    }
}
