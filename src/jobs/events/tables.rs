//! The columns of the event tables: those removal events and outages share (time, size,
//! baseline, score, shares, ASes, versions, contacts) and the `removal_event_relays` rows,
//! with the AS labels and top-value lists they show.

use std::collections::BTreeMap;

use anyhow::Result;
use polars::prelude::*;

use super::members::Member;
use super::spans::EventSpan;
use crate::jobs::columns::{datetime_column, string_list_column};
use crate::jobs::presence::{flags_column, Presence};
use crate::util::time::HOUR_MS;

fn top_counts<'a>(values: impl Iterator<Item = &'a str>, limit: usize) -> Vec<String> {
    let mut counts: BTreeMap<&str, u32> = BTreeMap::new();
    for v in values {
        *counts.entry(v).or_default() += 1;
    }
    let mut ranked: Vec<(&str, u32)> = counts.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    ranked
        .into_iter()
        .take(limit)
        .map(|(v, c)| format!("{v}: {c}"))
        .collect()
}

pub(super) fn as_label(asn: Option<u32>, name: Option<&str>) -> String {
    match (asn, name) {
        (Some(n), Some(name)) => format!("AS{n} {name}"),
        (Some(n), None) => format!("AS{n}"),
        _ => "unknown AS".to_string(),
    }
}

/// Columns shared by removal events and outages.
#[derive(Default)]
pub(super) struct EventColumns {
    event_time: Vec<Option<i64>>,
    last_seen_before: Vec<Option<i64>>,
    hours: Vec<u32>,
    relays: Vec<u32>,
    departures: Vec<u32>,
    baseline: Vec<f64>,
    pub(super) excess: Vec<f64>,
    score: Vec<f64>,
    shares: [Vec<f64>; 4],
    top_asns: Vec<Vec<String>>,
    /// `None` where no member's AS is known (no AS data): unknown, not zero.
    distinct_asns: Vec<Option<u32>>,
    top_versions: Vec<Vec<String>>,
    contactless_share: Vec<Option<f64>>,
    pub(super) returned_30d: Vec<u32>,
    pub(super) returned_later: Vec<u32>,
    pub(super) came_back_7d: Vec<u32>,
    pub(super) churn_excluded: Vec<u32>,
    pub(super) observed_days_after: Vec<f64>,
    pub(super) provisional: Vec<bool>,
    pub(super) kind: Vec<&'static str>,
    pub(super) operator_share: Vec<f64>,
    pub(super) operator: Vec<Option<String>>,
    /// Removal events: relays whose address was listed again under another fingerprint.
    pub(super) rekeyed: Vec<u32>,
    /// Removal events: hours without a consensus right before the event.
    pub(super) missing_hours_before: Vec<u32>,
    /// Removal events: the excess relays as a share of the relays listed before.
    pub(super) network_share: Vec<f64>,
}

impl EventColumns {
    /// One event's common columns: `count` departures of its series over its consensuses
    /// against `baseline` expected.
    pub(super) fn push_common(
        &mut self,
        presence: &Presence,
        span: &EventSpan,
        baseline: f64,
        count: u32,
        members: &[Member],
        departures: usize,
    ) {
        let first = span.first as usize;
        self.event_time.push(Some(presence.times[first]));
        self.last_seen_before
            .push(first.checked_sub(1).map(|p| presence.times[p]));
        self.hours.push(span.last - span.first + 1);
        self.relays.push(members.len() as u32);
        self.departures.push(departures as u32);
        self.baseline.push(baseline);
        self.excess.push(f64::from(count) - baseline);
        self.score.push(span.score);
        let session = |m: &Member| &presence.sessions[m.departure.session];
        let sums = [
            members
                .iter()
                .filter_map(|m| session(m).last_shares.consensus_weight_fraction)
                .sum(),
            members
                .iter()
                .filter_map(|m| session(m).last_shares.guard_probability)
                .sum(),
            members
                .iter()
                .filter_map(|m| session(m).last_shares.middle_probability)
                .sum(),
            members
                .iter()
                .filter_map(|m| session(m).last_shares.exit_probability)
                .sum(),
        ];
        for (column, value) in self.shares.iter_mut().zip(sums) {
            column.push(value);
        }
        let labels: Vec<String> = members
            .iter()
            .map(|m| as_label(m.asn, m.as_name.as_deref()))
            .collect();
        self.top_asns
            .push(top_counts(labels.iter().map(String::as_str), 5));
        let mut asns: Vec<u32> = members.iter().filter_map(|m| m.asn).collect();
        asns.sort_unstable();
        asns.dedup();
        self.distinct_asns
            .push((!asns.is_empty()).then_some(asns.len() as u32));
        self.top_versions.push(top_counts(
            members
                .iter()
                .map(|m| session(m).last_version.as_deref().unwrap_or("unknown")),
            5,
        ));
        let known: Vec<bool> = members.iter().filter_map(|m| m.has_contact).collect();
        self.contactless_share.push(
            (!known.is_empty())
                .then(|| known.iter().filter(|c| !**c).count() as f64 / known.len() as f64),
        );
    }

    pub(super) fn columns(&self, relays_name: &str) -> Result<Vec<Column>> {
        Ok(vec![
            datetime_column("event_time", self.event_time.clone())?,
            datetime_column("last_seen_before", self.last_seen_before.clone())?,
            Column::new("consensuses".into(), self.hours.clone()),
            Column::new(relays_name.into(), self.relays.clone()),
            Column::new("departures_total".into(), self.departures.clone()),
            Column::new("baseline_departures".into(), self.baseline.clone()),
            Column::new("excess".into(), self.excess.clone()),
            Column::new("score".into(), self.score.clone()),
            Column::new("consensus_weight_fraction".into(), self.shares[0].clone()),
            Column::new("guard_probability".into(), self.shares[1].clone()),
            Column::new("middle_probability".into(), self.shares[2].clone()),
            Column::new("exit_probability".into(), self.shares[3].clone()),
            string_list_column("top_asns", &self.top_asns),
            Column::new("distinct_asns".into(), self.distinct_asns.clone()),
            string_list_column("top_versions", &self.top_versions),
            Column::new("contactless_share".into(), self.contactless_share.clone()),
        ])
    }
}

/// `removal_event_relays` rows.
#[derive(Default)]
pub(super) struct MemberColumns {
    event_time: Vec<Option<i64>>,
    fingerprint: Vec<String>,
    nickname: Vec<Option<String>>,
    address: Vec<Option<String>>,
    asn: Vec<Option<u32>>,
    version: Vec<Option<String>>,
    flags: Vec<u32>,
    has_contact: Vec<Option<bool>>,
    session_start: Vec<Option<i64>>,
    shares: [Vec<Option<f64>>; 4],
    back_after_hours: Vec<Option<f64>>,
    /// Filled once the votes are read, in the order the members were pushed.
    pub(super) dropped_early_by: Vec<Option<u32>>,
}

impl MemberColumns {
    pub(super) fn push(&mut self, presence: &Presence, event_time: i64, m: &Member) {
        let s = &presence.sessions[m.departure.session];
        self.event_time.push(Some(event_time));
        self.fingerprint.push(s.fingerprint.to_string());
        self.nickname
            .push(s.last_nickname.as_deref().map(str::to_string));
        self.address
            .push(s.last_address.as_deref().map(str::to_string));
        self.asn.push(m.asn);
        self.version
            .push(s.last_version.as_deref().map(str::to_string));
        self.flags.push(s.last_flags);
        self.has_contact.push(m.has_contact);
        self.session_start
            .push(Some(presence.times[s.start as usize]));
        let shares = [
            s.last_shares.consensus_weight_fraction,
            s.last_shares.guard_probability,
            s.last_shares.middle_probability,
            s.last_shares.exit_probability,
        ];
        for (column, value) in self.shares.iter_mut().zip(shares) {
            column.push(value);
        }
        self.back_after_hours.push(
            m.departure
                .back_after_ms
                .map(|ms| ms as f64 / HOUR_MS as f64),
        );
    }

    pub(super) fn frame(self) -> Result<DataFrame> {
        let frame = DataFrame::new_infer_height(vec![
            datetime_column("event_time", self.event_time)?,
            Column::new("fingerprint".into(), self.fingerprint),
            Column::new("nickname".into(), self.nickname),
            Column::new("address".into(), self.address),
            Column::new("as_number".into(), self.asn),
            Column::new("version".into(), self.version),
            flags_column("flags", self.flags.into_iter()),
            Column::new("has_contact".into(), self.has_contact),
            datetime_column("session_start", self.session_start)?,
            Column::new("consensus_weight_fraction".into(), self.shares[0].clone()),
            Column::new("guard_probability".into(), self.shares[1].clone()),
            Column::new("middle_probability".into(), self.shares[2].clone()),
            Column::new("exit_probability".into(), self.shares[3].clone()),
            Column::new("back_after_hours".into(), self.back_after_hours),
            Column::new("authorities_dropping_early".into(), self.dropped_early_by),
        ])?;
        Ok(frame.sort(
            ["event_time", "fingerprint"],
            SortMultipleOptions::default(),
        )?)
    }
}
