//! What the directory authorities' votes say about a removal event, where votes are imported.
//!
//! A relay is in the consensus while more than half of the authorities list it in their votes.
//! Authorities that reject relays add the reject lines one after another, so a removal by the
//! authorities shows in the votes before it shows in the consensus: some authorities stop
//! listing the relays hours before the consensus drops them, the rest at or after it. Relays
//! that go down (an operator switching them off, a hoster's outage) leave every vote at
//! once, at the consensus that drops them.
//!
//! For each event, over its hours and [`VOTE_WINDOW_HOURS`] on either side: an authority
//! *drops* a member at its first vote after the last vote of the window that listed it (a
//! member no vote of the authority in the window lists counts as dropped at its first vote
//! there; one listed in its last vote there is not dropped). The authority drops the event's
//! relays when it drops at least half of them; its drop time is the median of theirs, and it
//! drops them *early* when that median lies before the consensus that dropped each relay.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use anyhow::Result;
use polars::prelude::*;

use super::columns::{strings, times};
use super::io::{partition_files, scan_file};
use crate::util::stats::median;
use crate::util::time::HOUR_MS;

/// Hours of votes read on either side of an event.
pub const VOTE_WINDOW_HOURS: i64 = 48;

/// One removal event as the votes are asked about it.
pub struct EventRelays {
    /// First and last consensus of the event (ms).
    pub first: i64,
    pub last: i64,
    /// Each member's fingerprint, the first consensus without it and the last one listing
    /// it (ms; a consensus hour may be missing between the two).
    pub members: Vec<(String, i64, i64)>,
}

/// The vote evidence of one event; all None where no authority voted in its window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VoteEvidence {
    /// Authorities with votes in the window.
    pub authorities_voting: Option<u32>,
    /// Authorities that stopped listing at least half of the event's relays.
    pub authorities_dropping: Option<u32>,
    /// Of those, the ones that stopped before the consensus did (the reject-list pattern).
    pub authorities_dropping_early: Option<u32>,
    /// Hours from the first dropping authority's drop time to the last's.
    pub drop_spread_hours: Option<f64>,
    /// Per member (in the event's order): the authorities that stopped listing it while the
    /// consensus still listed it (their drop at or before the last consensus listing it: a
    /// relay leaving in a missing consensus hour left every vote before the next consensus,
    /// which is no rejection); empty where no authority voted.
    pub member_dropped_early: Vec<u32>,
}

/// Per authority: the hours it voted, and per fingerprint the hours it listed it.
#[derive(Default)]
struct AuthorityVotes {
    hours: Vec<i64>,
    listed: HashMap<String, Vec<i64>>,
}

/// The vote evidence of each event (in the order given); empty evidence without votes.
pub fn evidence(root: &Path, events: &[EventRelays]) -> Result<Vec<VoteEvidence>> {
    let windows: Vec<(i64, i64)> = events
        .iter()
        .map(|e| {
            (
                e.first - VOTE_WINDOW_HOURS * HOUR_MS,
                e.last + VOTE_WINDOW_HOURS * HOUR_MS,
            )
        })
        .collect();
    let wanted: HashSet<&str> = events
        .iter()
        .flat_map(|e| e.members.iter().map(|(f, _, _)| f.as_str()))
        .collect();
    let mut authorities: BTreeMap<String, AuthorityVotes> = BTreeMap::new();
    if !windows.is_empty() {
        for (time, authority, _) in rows(root, "votes", &windows, &[])? {
            authorities.entry(authority).or_default().hours.push(time);
        }
        for (time, authority, fingerprint) in
            rows(root, "vote_entries", &windows, &["fingerprint"])?
        {
            let fingerprint = fingerprint.expect("selected");
            if wanted.contains(fingerprint.as_str()) {
                let votes = authorities.entry(authority).or_default();
                votes.listed.entry(fingerprint).or_default().push(time);
            }
        }
    }
    for votes in authorities.values_mut() {
        votes.hours.sort_unstable();
        votes.hours.dedup();
        for hours in votes.listed.values_mut() {
            hours.sort_unstable();
        }
    }
    Ok(events
        .iter()
        .zip(&windows)
        .map(|(event, &window)| judge(event, window, &authorities))
        .collect())
}

/// The (valid_after ms, authority, other selected column) rows of a vote dataset in the
/// windows, read only from the months the windows touch.
fn rows(
    root: &Path,
    dataset: &str,
    windows: &[(i64, i64)],
    extra: &[&str],
) -> Result<Vec<(i64, String, Option<String>)>> {
    let mut out = Vec::new();
    for (_, file) in partition_files(root, dataset)? {
        let mut select = vec![col("valid_after"), col("authority")];
        select.extend(extra.iter().map(|c| col(*c)));
        let time = col("valid_after").cast(DataType::Int64);
        let in_windows = windows
            .iter()
            .map(|&(a, b)| time.clone().gt_eq(lit(a)).and(time.clone().lt_eq(lit(b))))
            .reduce(|x, y| x.or(y))
            .expect("windows");
        let frame = scan_file(&file)?
            .select(select)
            .with_column(time.alias("valid_after"))
            .filter(in_windows)
            .collect()?;
        let hours = times(&frame, "valid_after")?;
        let authority = strings(&frame, "authority")?;
        let other = match extra.first() {
            Some(name) => strings(&frame, name)?,
            None => vec![None; frame.height()],
        };
        for ((t, a), o) in hours.into_iter().zip(authority).zip(other) {
            if let (Some(t), Some(a)) = (t, a) {
                out.push((t, a, o));
            }
        }
    }
    Ok(out)
}

/// One event's evidence from the authorities' votes in its window.
fn judge(
    event: &EventRelays,
    (from, to): (i64, i64),
    authorities: &BTreeMap<String, AuthorityVotes>,
) -> VoteEvidence {
    let mut voting = 0;
    // Per dropping authority: its drop time and whether it came before the consensus.
    let mut drops: Vec<(f64, bool)> = Vec::new();
    let mut member_dropped_early = vec![0u32; event.members.len()];
    for votes in authorities.values() {
        let hours: Vec<i64> = votes
            .hours
            .iter()
            .copied()
            .filter(|t| (from..=to).contains(t))
            .collect();
        let Some(&last_vote) = hours.last() else {
            continue;
        };
        voting += 1;
        let mut dropped_at: Vec<f64> = Vec::new();
        let mut leads: Vec<f64> = Vec::new();
        for ((fingerprint, gone, last_in_consensus), early) in
            event.members.iter().zip(&mut member_dropped_early)
        {
            let last_listed = votes
                .listed
                .get(fingerprint)
                .and_then(|listed| listed.iter().copied().rfind(|t| (from..=to).contains(t)));
            let drop = match last_listed {
                Some(t) if t >= last_vote => continue,
                Some(t) => hours[hours.partition_point(|&h| h <= t)],
                None => hours[0],
            };
            if drop <= *last_in_consensus {
                *early += 1;
            }
            dropped_at.push(drop as f64);
            leads.push((gone - drop) as f64 / HOUR_MS as f64);
        }
        if dropped_at.is_empty() || 2 * dropped_at.len() < event.members.len() {
            continue;
        }
        drops.push((median(&mut dropped_at), median(&mut leads) >= 1.0));
    }
    if voting == 0 {
        return VoteEvidence::default();
    }
    let first = drops.iter().map(|d| d.0).reduce(f64::min);
    let last = drops.iter().map(|d| d.0).reduce(f64::max);
    VoteEvidence {
        authorities_voting: Some(voting),
        authorities_dropping: Some(drops.len() as u32),
        authorities_dropping_early: Some(drops.iter().filter(|d| d.1).count() as u32),
        drop_spread_hours: first.zip(last).map(|(a, b)| (b - a) / HOUR_MS as f64),
        member_dropped_early,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = HOUR_MS;

    /// An authority voting every hour from `from` to `to`, listing each relay until (not at)
    /// its own hour of `until` (None: in every vote).
    fn authority(from: i64, to: i64, until: &[(&str, Option<i64>)]) -> AuthorityVotes {
        let hours: Vec<i64> = (from..=to).map(|h| h * H).collect();
        let listed = until
            .iter()
            .map(|(f, u)| {
                let listed = hours
                    .iter()
                    .copied()
                    .filter(|t| u.is_none_or(|u| *t < u * H))
                    .collect();
                (f.to_string(), listed)
            })
            .collect();
        AuthorityVotes { hours, listed }
    }

    /// Two relays dropped by the consensus at hour 100: one authority drops them at 94 and 96
    /// (early), one at 100 and 101 (with it), one never; a fourth voted only after both were
    /// gone and lists neither (they count as dropped at its first vote, 110: late).
    #[test]
    fn authorities_dropping_relays_before_the_consensus_are_early() {
        let event = EventRelays {
            first: 100 * H,
            last: 100 * H,
            members: vec![("A".into(), 100 * H, 99 * H), ("B".into(), 100 * H, 99 * H)],
        };
        let window = (52 * H, 148 * H);
        let authorities: BTreeMap<String, AuthorityVotes> = [
            (
                "early",
                authority(60, 140, &[("A", Some(94)), ("B", Some(96))]),
            ),
            (
                "with",
                authority(60, 140, &[("A", Some(100)), ("B", Some(101))]),
            ),
            ("never", authority(60, 140, &[("A", None), ("B", None)])),
            ("late", authority(110, 140, &[])),
        ]
        .into_iter()
        .map(|(name, votes)| (name.to_string(), votes))
        .collect();
        let evidence = judge(&event, window, &authorities);
        assert_eq!(evidence.authorities_voting, Some(4));
        assert_eq!(evidence.authorities_dropping, Some(3));
        assert_eq!(evidence.authorities_dropping_early, Some(1));
        // Drop times: early 95 (median of 94 and 96), with 100.5, late 110.
        assert_eq!(evidence.drop_spread_hours, Some(15.0));
        // Each relay on its own: only the early authority stopped listing it while the
        // consensus (to hour 99) still listed it (94 and 96).
        assert_eq!(evidence.member_dropped_early, vec![1, 1]);
        // The consensus of hour 99 missing (the relays last listed at 98): C left every
        // vote at 99, in the hole, an hour before the consensus of 100 dropped it, but no
        // authority stopped listing it while the consensus listed it: no rejection.
        let hole = EventRelays {
            members: vec![
                ("A".into(), 100 * H, 98 * H),
                ("B".into(), 100 * H, 98 * H),
                ("C".into(), 100 * H, 98 * H),
            ],
            ..event
        };
        let all_at_99: BTreeMap<String, AuthorityVotes> = (0..5)
            .map(|k| {
                let votes = authority(60, 140, &[("A", None), ("B", None), ("C", Some(99))]);
                (format!("auth{k}"), votes)
            })
            .collect();
        let evidence = judge(&hole, window, &all_at_99);
        assert_eq!(evidence.member_dropped_early, vec![0, 0, 0]);
        // No authority voted in the window: unknown, not zero.
        let elsewhere = judge(&event, (500 * H, 600 * H), &authorities);
        assert_eq!(elsewhere, VoteEvidence::default());
    }

    #[test]
    fn without_votes_imported_the_evidence_is_unknown() {
        let root = tempfile::tempdir().unwrap();
        let event = EventRelays {
            first: 100 * H,
            last: 101 * H,
            members: vec![("A".into(), 100 * H, 99 * H)],
        };
        let evidence = evidence(root.path(), &[event]).unwrap();
        assert_eq!(evidence, vec![VoteEvidence::default()]);
    }
}
