//! Removal events and their relays: the anomalous spans of the decided removal series (and,
//! provisionally, of the undecided one), each cut to the departures that share its evidence,
//! its kind (`removal`, or `operator_departure` when most of its relays declare one
//! operator), and what the authorities' votes say about it ([`crate::jobs::votes`]).

use anyhow::Result;
use polars::prelude::*;

use super::baseline::{baseline_hours, Baseline};
use super::churn::{looks_like_churn, sharing_the_evidence, Traits};
use super::departures::{not_back_within, Departure};
use super::kinds::{ranks, AddressIndex, KindEvidence, LONG_OUTAGE_DAYS};
use super::members::{Member, RelayFacts};
use super::series::Series;
use super::spans::{anomalies, group_anomalies, span_baseline, EventSpan};
use super::tables::{EventColumns, MemberColumns};
use crate::jobs::presence::Presence;
use crate::jobs::settings::Jobs;
use crate::jobs::votes::{EventRelays, VoteEvidence};
use crate::util::time::DAY_MS;

/// A removal event most of whose relays declare one operator (the same contact or a mutual
/// family) is that operator switching them off, not the authorities removing them.
const OPERATOR_DEPARTURE_SHARE: f64 = 0.5;
/// ...unless at least this many authorities' votes dropped them before the consensus did
/// (reject lines added one by one; one authority early can be chance).
pub(crate) const REJECTED_BY_AUTHORITIES: u32 = 2;

/// The removal events found, before the authorities' votes are asked about them.
pub(super) struct Removals {
    removal: EventColumns,
    members: MemberColumns,
    /// Each removal event as the authorities' votes are asked about it.
    asked_of_votes: Vec<EventRelays>,
}

/// Finds the removal events: decided ones, and provisional ones where the return window is
/// not covered yet.
pub(super) fn find(
    jobs: &Jobs,
    presence: &Presence,
    series: &Series,
    facts: &RelayFacts,
) -> Removals {
    let times = &presence.times;
    let not_back_yet = series.not_back_yet();
    // Continuous data after an hour (days).
    let covered_days_after = |h: usize| presence.covered_after_ms(h as u32) as f64 / DAY_MS as f64;
    let mut removal = EventColumns::default();
    let mut members = MemberColumns::default();
    let mut asked_of_votes = Vec::new();
    let addresses = AddressIndex::new(presence);
    let return_ms = i64::from(jobs.config.outage_return_days) * DAY_MS;
    let decided = Baseline::Series(&series.staying_away);
    let decided_events = group_anomalies(
        anomalies(&series.staying_away, decided, presence, jobs),
        &series.staying_away,
        decided,
        presence,
        jobs,
    );
    // Hours whose return window runs into a gap or past the end of the data: relays that
    // left and are not back yet, against the departures of the baseline hours not back
    // within as long (a removal reported before it can be decided; it stays provisional).
    let provisional_events = group_anomalies(
        anomalies(&series.undecided, not_back_yet, presence, jobs),
        &series.undecided,
        not_back_yet,
        presence,
        jobs,
    );
    let groups = decided_events
        .into_iter()
        .map(|g| (g, decided, false))
        .chain(
            provisional_events
                .into_iter()
                .map(|g| (g, not_back_yet, true)),
        );
    for (span, baseline, undecided_hours) in groups {
        let gone = series.departures_in(&span);
        let candidates = facts.members_where(series, &gone, false);
        // The departures the baseline was made of, for what ordinary churn looks like.
        let first = span.first as usize;
        let mut baseline_hours_seen: Vec<usize> = (span.first..=span.last)
            .flat_map(|h| baseline_hours(h as usize, presence, jobs))
            .filter(|&j| baseline.value(first, j).is_some())
            .collect();
        baseline_hours_seen.sort_unstable();
        baseline_hours_seen.dedup();
        let baseline_gone: Vec<&Departure> = baseline_hours_seen
            .iter()
            .flat_map(|j| {
                series
                    .by_hour
                    .get(&(*j as u32))
                    .into_iter()
                    .flatten()
                    .copied()
            })
            .collect();
        // The departures the baseline counted: not back within the return window, or (for
        // undecided hours) within as long as the event has been observed.
        let observed = series.observed_ms[span.first as usize];
        let churn_traits: Vec<Traits> = baseline_gone
            .iter()
            .filter(|d| {
                if undecided_hours {
                    not_back_within(d, observed)
                } else {
                    !series.comes_back(d)
                }
            })
            .map(|d| facts.traits(&facts.member(d)))
            .collect();
        let expected = span_baseline(&span, baseline, presence, jobs);
        let candidate_traits: Vec<Traits> = candidates.iter().map(|m| facts.traits(m)).collect();
        // More departures than usual that look like the usual ones in every trait are no
        // removal (the windows' many tests find such chance excesses now and then).
        if expected > 0.0
            && !churn_traits.is_empty()
            && looks_like_churn(&candidate_traits, &churn_traits)
        {
            continue;
        }
        let keep = sharing_the_evidence(&candidate_traits, &churn_traits, expected);
        let mut removed: Vec<Member> = Vec::new();
        let mut churn: Vec<Member> = Vec::new();
        for (m, k) in candidates.into_iter().zip(keep) {
            if k {
                removed.push(m)
            } else {
                churn.push(m)
            }
        }
        // The event begins and ends with its relays' departures: a window may reach over an
        // ordinary consensus before them (a missing consensus before the removal's first
        // hour makes the consensus before it look like part of it).
        let span = EventSpan {
            first: removed
                .iter()
                .map(|m| m.departure.at)
                .min()
                .unwrap_or(span.first),
            last: removed
                .iter()
                .map(|m| m.departure.at)
                .max()
                .unwrap_or(span.last),
            ..span
        };
        let expected = span_baseline(&span, baseline, presence, jobs);
        let gone = series.departures_in(&span);
        let churn_excluded = churn
            .iter()
            .filter(|m| (span.first..=span.last).contains(&m.departure.at))
            .count() as u32;
        let event_time = times[span.first as usize];
        let counts = if undecided_hours {
            &series.undecided
        } else {
            &series.staying_away
        };
        let count: u32 = (span.first..=span.last)
            .filter_map(|h| counts[h as usize])
            .sum();
        removal.push_common(presence, &span, expected, count, &removed, gone.len());
        removal.churn_excluded.push(churn_excluded);
        // What the relays did afterwards and the data around it say.
        let departed: Vec<&Departure> = removed.iter().map(|m| m.departure).collect();
        let evidence = KindEvidence::of(presence, &addresses, &departed, span.first, return_ms);
        removal.returned_30d.push(evidence.back_within_30d);
        removal.returned_later.push(
            departed
                .iter()
                .filter(|d| {
                    d.back_after_ms
                        .is_some_and(|ms| ms > LONG_OUTAGE_DAYS * DAY_MS)
                })
                .count() as u32,
        );
        removal
            .came_back_7d
            .push(gone.iter().filter(|d| series.comes_back(d)).count() as u32);
        let observed = covered_days_after(span.first as usize);
        removal.observed_days_after.push(observed);
        removal.provisional.push(undecided_hours || observed < 30.0);
        // Most of the relays declaring one operator: that operator switched them off; else
        // the kind the evidence says.
        let (share, operator) = facts.operator_of(&removed);
        removal.kind.push(if share >= OPERATOR_DEPARTURE_SHARE {
            "operator_departure"
        } else {
            evidence.kind(removed.len() as u32, expected, jobs.config.event_min_relays)
        });
        removal.rekeyed.push(evidence.rekeyed);
        removal
            .missing_hours_before
            .push(evidence.missing_hours_before);
        let listed_before = presence.totals[span.first as usize - 1].relays.max(1);
        removal
            .network_share
            .push((removed.len() as f64 - expected).max(0.0) / f64::from(listed_before));
        removal.operator_share.push(share);
        removal.operator.push(operator);
        asked_of_votes.push(EventRelays {
            first: event_time,
            last: times[span.last as usize],
            members: removed
                .iter()
                .map(|m| {
                    let fingerprint = &presence.sessions[m.departure.session].fingerprint;
                    let at = m.departure.at as usize;
                    (fingerprint.to_string(), times[at], times[at - 1])
                })
                .collect(),
        });
        for m in &removed {
            members.push(presence, event_time, m);
        }
    }

    Removals {
        removal,
        members,
        asked_of_votes,
    }
}

impl Removals {
    /// `removal_events` and `removal_event_relays`, with the vote evidence where votes are
    /// imported.
    pub(super) fn tables(self, jobs: &Jobs) -> Result<(DataFrame, DataFrame)> {
        let Removals {
            mut removal,
            mut members,
            asked_of_votes,
        } = self;
        // The authorities' votes, where imported: relays some authorities stopped listing before
        // the consensus dropped them were rejected, whatever operator they declare.
        let votes = crate::jobs::votes::evidence(jobs.root, &asked_of_votes)?;
        for (kind, evidence) in removal.kind.iter_mut().zip(&votes) {
            if evidence.authorities_dropping_early >= Some(REJECTED_BY_AUTHORITIES) {
                *kind = "removal";
            }
        }
        // Each member's own count (unknown where no authority voted around its event).
        for (event, evidence) in asked_of_votes.iter().zip(&votes) {
            if evidence.member_dropped_early.is_empty() {
                members
                    .dropped_early_by
                    .extend(std::iter::repeat_n(None, event.members.len()));
            } else {
                members
                    .dropped_early_by
                    .extend(evidence.member_dropped_early.iter().copied().map(Some));
            }
        }
        // The authorities removed them: at least two dropped the relays early (unknown where
        // no authority's vote around the event is imported).
        let by_authorities: Vec<Option<bool>> = votes
            .iter()
            .map(|v| {
                v.authorities_dropping_early
                    .map(|early| early >= REJECTED_BY_AUTHORITIES)
            })
            .collect();
        let rank = ranks(
            &removal.kind,
            &by_authorities,
            &removal.excess,
            &removal.network_share,
        );
        let mut removal_columns = removal.columns("relays_removed")?;
        removal_columns.push(Column::new("rank".into(), rank));
        removal_columns.push(Column::new("by_authorities".into(), by_authorities));
        removal_columns.push(Column::new("network_share".into(), removal.network_share));
        removal_columns.push(Column::new("rekeyed".into(), removal.rekeyed));
        removal_columns.push(Column::new(
            "missing_hours_before".into(),
            removal.missing_hours_before,
        ));
        removal_columns.push(Column::new(
            "returned_within_30d".into(),
            removal.returned_30d,
        ));
        removal_columns.push(Column::new(
            "returned_after_30d".into(),
            removal.returned_later,
        ));
        removal_columns.push(Column::new("churn_excluded".into(), removal.churn_excluded));
        removal_columns.push(Column::new(
            "came_back_within_return_days".into(),
            removal.came_back_7d,
        ));
        removal_columns.push(Column::new(
            "observed_days_after".into(),
            removal.observed_days_after,
        ));
        removal_columns.push(Column::new("provisional".into(), removal.provisional));
        removal_columns.push(Column::new("kind".into(), removal.kind));
        removal_columns.push(Column::new("operator_share".into(), removal.operator_share));
        removal_columns.push(Column::new("operator".into(), removal.operator));
        let vote_column = |name: &str, value: fn(&VoteEvidence) -> Option<u32>| {
            Column::new(name.into(), votes.iter().map(value).collect::<Vec<_>>())
        };
        removal_columns.push(vote_column("authorities_voting", |v| v.authorities_voting));
        removal_columns.push(vote_column("authorities_dropping", |v| {
            v.authorities_dropping
        }));
        removal_columns.push(vote_column("authorities_dropping_early", |v| {
            v.authorities_dropping_early
        }));
        removal_columns.push(Column::new(
            "authority_drop_spread_hours".into(),
            votes
                .iter()
                .map(|v| v.drop_spread_hours)
                .collect::<Vec<_>>(),
        ));

        Ok((
            DataFrame::new_infer_height(removal_columns)?.sort(
                ["event_time"],
                SortMultipleOptions::default().with_maintain_order(true),
            )?,
            members.frame()?,
        ))
    }
}
