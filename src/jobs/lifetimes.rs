//! Relay lifetimes: `relay_sessions` (one row per continuous presence of a fingerprint in
//! the hourly consensuses, cut at gaps of the data and marked where a gap censors it) and
//! `relays` (one row per fingerprint, Onionoo-style first/last seen, with the newest server
//! descriptor's platform, contact and family, and AS data).
//!
//! Both come from one walk over the pass's sorted sessions, a row group at a time: the
//! sessions are written as they are turned into rows and each relay is summed up as its last
//! session goes by, so neither table is ever held whole next to the sessions (a decade is
//! ten million sessions).

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;

use anyhow::Result;
use polars::prelude::*;

use super::columns::{build_string_lists, build_u32_lists, datetime_column};
use super::io::{
    distinct_rows, fold_months, newest_descriptors, write_parquet_parts, ROW_GROUP_ROWS,
};
use super::presence::{flags_column, push_distinct, Presence, Seen, Session, Shares};
use super::settings::Jobs;

/// AS facts of one session (distinct ASes of its addresses, AS and country of the last).
struct SessionAs {
    asns: Vec<u32>,
    asn: Option<u32>,
    as_name: Option<String>,
    country: Option<String>,
}

fn session_as(jobs: &Jobs, presence: &Presence, s: &Session) -> SessionAs {
    let start = presence.times[s.start as usize];
    let end = presence.times[s.end as usize];
    let mut asns = BTreeSet::new();
    for address in &s.addresses {
        if let Some(asn) = jobs.enricher.lookup(address, start).asn {
            asns.insert(asn);
        }
    }
    let last = s
        .last_address
        .as_deref()
        .map(|a| jobs.enricher.lookup(a, end))
        .unwrap_or_default();
    SessionAs {
        asns: asns.into_iter().collect(),
        asn: last.asn,
        as_name: last.as_name,
        country: last.country,
    }
}

/// Writes `relay_sessions` to `sessions_path` (when given) and returns `relays`, from the
/// pass's sessions (which must be sorted: [`Presence::sorted_sessions`]).
pub fn lifetimes(
    jobs: &Jobs,
    presence: &Presence,
    descriptor_hours: &HashMap<String, u32>,
    sessions_path: Option<&Path>,
) -> Result<DataFrame> {
    let mut relays = RelaySummaries::default();
    let mut parts = presence.sessions.chunks(ROW_GROUP_ROWS).map(|sessions| {
        let as_facts: Vec<SessionAs> = sessions
            .iter()
            .map(|s| session_as(jobs, presence, s))
            .collect();
        for (s, facts) in sessions.iter().zip(as_facts.iter()) {
            relays.add(presence, s, facts);
        }
        (sessions, as_facts)
    });
    match sessions_path {
        Some(path) => {
            let frames = parts
                .by_ref()
                .map(|(sessions, as_facts)| sessions_frame(presence, sessions, &as_facts));
            // No sessions at all: still a file, with the columns and no rows.
            let empty = presence
                .sessions
                .is_empty()
                .then(|| sessions_frame(presence, &[], &[]));
            write_parquet_parts(path, empty.into_iter().chain(frames))?;
        }
        None => parts.for_each(drop),
    }
    relays_table(jobs, relays, descriptor_hours)
}

/// The `relay_sessions` rows of some sessions (with their AS facts).
fn sessions_frame(
    presence: &Presence,
    sessions: &[Session],
    as_facts: &[SessionAs],
) -> Result<DataFrame> {
    let time = |c: u32| Some(presence.times[c as usize]);
    let text =
        |f: fn(&Session) -> Option<&str>| -> Vec<Option<&str>> { sessions.iter().map(f).collect() };
    let mut columns = vec![
        Column::new(
            "fingerprint".into(),
            sessions
                .iter()
                .map(|s| s.fingerprint.as_ref())
                .collect::<Vec<_>>(),
        ),
        datetime_column(
            "session_start",
            sessions.iter().map(|s| time(s.start)).collect(),
        )?,
        datetime_column(
            "session_end",
            sessions.iter().map(|s| time(s.end)).collect(),
        )?,
        Column::new(
            "hours".into(),
            sessions.iter().map(|s| s.hours).collect::<Vec<_>>(),
        ),
        Column::new(
            "consensuses_spanned".into(),
            sessions
                .iter()
                .map(|s| s.end - s.start + 1)
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "first_session".into(),
            sessions
                .iter()
                .map(|s| s.first_of_relay)
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "running_at_end".into(),
            sessions
                .iter()
                .map(|s| presence.is_open(s))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "starts_after_gap".into(),
            sessions
                .iter()
                .map(|s| presence.starts_after_gap(s))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "ends_at_gap".into(),
            sessions
                .iter()
                .map(|s| presence.ends_at_gap(s))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "start_censored".into(),
            sessions
                .iter()
                .map(|s| presence.start_censored(s))
                .collect::<Vec<_>>(),
        ),
        build_string_lists(
            "nicknames",
            sessions.iter().map(|s| s.nicknames.iter().map(|x| &**x)),
        ),
        build_string_lists(
            "addresses",
            sessions.iter().map(|s| s.addresses.iter().map(|x| &**x)),
        ),
        build_u32_lists(
            "or_ports",
            sessions
                .iter()
                .map(|s| s.or_ports.iter().map(|&p| u32::from(p))),
        ),
        build_string_lists(
            "versions",
            sessions.iter().map(|s| s.versions.iter().map(|x| &**x)),
        ),
        flags_column("flags", sessions.iter().map(|s| s.flags_ever)),
        flags_column("last_flags", sessions.iter().map(|s| s.last_flags)),
        Column::new("nickname".into(), text(|s| s.last_nickname.as_deref())),
        Column::new("address".into(), text(|s| s.last_address.as_deref())),
        Column::new(
            "or_port".into(),
            sessions
                .iter()
                .map(|s| s.last_or_port.map(u32::from))
                .collect::<Vec<_>>(),
        ),
        Column::new("version".into(), text(|s| s.last_version.as_deref())),
        Column::new(
            "last_bandwidth".into(),
            sessions
                .iter()
                .map(|s| s.last_bandwidth)
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "max_bandwidth".into(),
            sessions.iter().map(|s| s.max_bandwidth).collect::<Vec<_>>(),
        ),
    ];
    columns.extend(share_columns("", sessions.iter().map(|s| &s.last_shares)));
    columns.extend(share_columns(
        "peak_",
        sessions.iter().map(|s| &s.peak_shares),
    ));
    columns.extend([
        build_u32_lists("asns", as_facts.iter().map(|a| a.asns.iter().copied())),
        Column::new(
            "as_number".into(),
            as_facts.iter().map(|a| a.asn).collect::<Vec<_>>(),
        ),
        Column::new(
            "as_name".into(),
            as_facts
                .iter()
                .map(|a| a.as_name.clone())
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "country".into(),
            as_facts
                .iter()
                .map(|a| a.country.clone())
                .collect::<Vec<_>>(),
        ),
    ]);
    Ok(DataFrame::new_infer_height(columns)?)
}

/// The four share columns (`consensus_weight_fraction`, `guard_probability`,
/// `middle_probability`, `exit_probability`) of some rows' shares, named with `prefix`.
fn share_columns<'s>(
    prefix: &str,
    shares: impl Iterator<Item = &'s Shares> + Clone,
) -> [Column; 4] {
    let column = |name: &str, share: fn(&Shares) -> Option<f64>| {
        Column::new(
            format!("{prefix}{name}").into(),
            shares.clone().map(share).collect::<Vec<_>>(),
        )
    };
    [
        column("consensus_weight_fraction", |s| s.consensus_weight_fraction),
        column("guard_probability", |s| s.guard_probability),
        column("middle_probability", |s| s.middle_probability),
        column("exit_probability", |s| s.exit_probability),
    ]
}

/// The newest server descriptor of each fingerprint (platform, contact, family, …) and the
/// number of distinct contacts over all its descriptors.
fn latest_descriptors(jobs: &Jobs) -> Result<Option<LazyFrame>> {
    let fields = [
        "platform",
        "tor_version",
        "os",
        "contact",
        "family",
        "bandwidth_avg",
        "bandwidth_burst",
        "bandwidth_observed",
        "exit_policy_hash",
        "ed25519_master_key",
        "uptime",
        "dir_port",
    ];
    let Some(newest) = newest_descriptors(jobs.root, &fields)? else {
        return Ok(None);
    };
    // The distinct (fingerprint, contact) pairs, gathered a month at a time: the whole
    // history of descriptors (4.5 million a year) never sits in memory.
    let contacts = fold_months(
        jobs.root,
        "server_descriptors",
        &[col("fingerprint"), col("contact")],
        distinct_rows,
    )?
    .expect("descriptors exist")
    .lazy()
    .group_by([col("fingerprint")])
    .agg([col("contact").n_unique().alias("distinct_contacts")]);
    let mut join = JoinArgs::new(JoinType::Left);
    join.maintain_order = MaintainOrderJoin::Left;
    Ok(Some(
        newest
            .lazy()
            .rename(["published"], ["last_descriptor_published"], true)
            .join(contacts, [col("fingerprint")], [col("fingerprint")], join),
    ))
}

/// What `relays` says of one fingerprint, summed over its sessions in time order.
struct RelaySummary {
    fingerprint: Arc<str>,
    first_seen: i64,
    first_seen_censored: bool,
    last_seen: i64,
    hours_present: u32,
    sessions: u32,
    running: bool,
    /// The last session (its last values are the relay's).
    last: LastValues,
    /// Distinct values over the sessions (held inline for most relays; sorted when written).
    addresses: Seen<Arc<str>>,
    nicknames: Seen<Arc<str>>,
    asns: Seen<u32>,
    peak_shares: Shares,
}

/// The values of a relay's last session.
struct LastValues {
    nickname: Option<Arc<str>>,
    address: Option<Arc<str>>,
    or_port: Option<u16>,
    version: Option<Arc<str>>,
    flags: u32,
    asn: Option<u32>,
    as_name: Option<String>,
    country: Option<String>,
    shares: Shares,
}

/// The relays summed up so far, in fingerprint order.
#[derive(Default)]
struct RelaySummaries(Vec<RelaySummary>);

impl RelaySummaries {
    /// Adds the next session (sessions arrive sorted by fingerprint and start).
    fn add(&mut self, presence: &Presence, s: &Session, facts: &SessionAs) {
        let last = LastValues {
            nickname: s.last_nickname.clone(),
            address: s.last_address.clone(),
            or_port: s.last_or_port,
            version: s.last_version.clone(),
            flags: s.last_flags,
            asn: facts.asn,
            as_name: facts.as_name.clone(),
            country: facts.country.clone(),
            shares: s.last_shares,
        };
        match self.0.last_mut() {
            Some(relay) if relay.fingerprint == s.fingerprint => relay.last = last,
            _ => self.0.push(RelaySummary {
                fingerprint: s.fingerprint.clone(),
                first_seen: presence.times[s.start as usize],
                first_seen_censored: presence.start_censored(s),
                last_seen: i64::MIN,
                hours_present: 0,
                sessions: 0,
                running: false,
                last,
                addresses: Seen::new(),
                nicknames: Seen::new(),
                asns: Seen::new(),
                peak_shares: Shares::default(),
            }),
        }
        let relay = self.0.last_mut().expect("a relay per session");
        relay.add(presence, s, facts);
    }
}

impl RelaySummary {
    fn add(&mut self, presence: &Presence, s: &Session, facts: &SessionAs) {
        self.last_seen = self.last_seen.max(presence.times[s.end as usize]);
        self.hours_present += s.hours;
        self.sessions += 1;
        self.running = presence.is_open(s);
        for address in &s.addresses {
            push_distinct(&mut self.addresses, address.clone());
        }
        for nickname in &s.nicknames {
            push_distinct(&mut self.nicknames, nickname.clone());
        }
        for &asn in &facts.asns {
            push_distinct(&mut self.asns, asn);
        }
        self.peak_shares = self.peak_shares.max(&s.peak_shares);
    }
}

/// `relays`, one row per fingerprint: the summaries with the newest descriptor's fields.
fn relays_table(
    jobs: &Jobs,
    mut summaries: RelaySummaries,
    descriptor_hours: &HashMap<String, u32>,
) -> Result<DataFrame> {
    for relay in &mut summaries.0 {
        relay.addresses.sort_unstable();
        relay.nicknames.sort_unstable();
        relay.asns.sort_unstable();
    }
    let rows = &summaries.0;
    let text = |f: fn(&RelaySummary) -> Option<&str>| -> Vec<Option<&str>> {
        rows.iter().map(f).collect()
    };
    let mut columns = vec![
        Column::new(
            "fingerprint".into(),
            rows.iter()
                .map(|r| r.fingerprint.as_ref())
                .collect::<Vec<_>>(),
        ),
        datetime_column(
            "first_seen",
            rows.iter().map(|r| Some(r.first_seen)).collect(),
        )?,
        Column::new(
            "first_seen_censored".into(),
            rows.iter()
                .map(|r| r.first_seen_censored)
                .collect::<Vec<_>>(),
        ),
        datetime_column(
            "last_seen",
            rows.iter().map(|r| Some(r.last_seen)).collect(),
        )?,
        Column::new(
            "hours_present".into(),
            rows.iter().map(|r| r.hours_present).collect::<Vec<_>>(),
        ),
        Column::new(
            "hours_with_descriptor".into(),
            rows.iter()
                .map(|r| {
                    descriptor_hours
                        .get(r.fingerprint.as_ref())
                        .copied()
                        .unwrap_or(0)
                })
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "sessions".into(),
            rows.iter()
                .map(|r| r.sessions as IdxSize)
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "running".into(),
            rows.iter().map(|r| r.running).collect::<Vec<_>>(),
        ),
        Column::new("nickname".into(), text(|r| r.last.nickname.as_deref())),
        Column::new("address".into(), text(|r| r.last.address.as_deref())),
        Column::new(
            "or_port".into(),
            rows.iter()
                .map(|r| r.last.or_port.map(u32::from))
                .collect::<Vec<_>>(),
        ),
        Column::new("version".into(), text(|r| r.last.version.as_deref())),
        flags_column("flags", rows.iter().map(|r| r.last.flags)),
        build_string_lists(
            "addresses",
            rows.iter().map(|r| r.addresses.iter().map(|x| &**x)),
        ),
        build_string_lists(
            "nicknames",
            rows.iter().map(|r| r.nicknames.iter().map(|x| &**x)),
        ),
        build_u32_lists("asns", rows.iter().map(|r| r.asns.iter().copied())),
        Column::new(
            "as_number".into(),
            rows.iter().map(|r| r.last.asn).collect::<Vec<_>>(),
        ),
        Column::new("as_name".into(), text(|r| r.last.as_name.as_deref())),
        Column::new("country".into(), text(|r| r.last.country.as_deref())),
    ];
    columns.extend(share_columns("", rows.iter().map(|r| &r.last.shares)));
    columns.extend(share_columns("peak_", rows.iter().map(|r| &r.peak_shares)));
    columns.extend([
        Column::new(
            "distinct_addresses".into(),
            rows.iter()
                .map(|r| r.addresses.len() as u32)
                .collect::<Vec<_>>(),
        ),
        // Without AS data the count is unknown, not zero.
        Column::new(
            "distinct_asns".into(),
            rows.iter()
                .map(|r| (!jobs.enricher.is_empty()).then_some(r.asns.len() as u32))
                .collect::<Vec<_>>(),
        ),
    ]);
    let mut relays = DataFrame::new_infer_height(columns)?.lazy();
    if let Some(descriptors) = latest_descriptors(jobs)? {
        let mut join = JoinArgs::new(JoinType::Left);
        join.maintain_order = MaintainOrderJoin::Left;
        relays = relays
            .join(
                descriptors,
                [col("fingerprint")],
                [col("fingerprint")],
                join,
            )
            .with_column(
                col("contact")
                    .is_not_null()
                    .and(
                        col("contact")
                            .str()
                            .strip_chars(lit(NULL))
                            .str()
                            .len_bytes()
                            .gt(lit(0)),
                    )
                    .alias("has_contact"),
            );
    }
    let frame = relays
        .sort(["fingerprint"], SortMultipleOptions::default())
        .collect()?;
    Ok(frame)
}
