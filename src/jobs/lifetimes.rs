//! Relay lifetimes: `relay_sessions` (one row per continuous presence of a fingerprint in
//! the hourly consensuses, cut at gaps of the data and marked where a gap censors it) and
//! `relays` (one row per fingerprint, Onionoo-style first/last seen, with the newest server
//! descriptor's platform, contact and family, and AS data).

use std::collections::BTreeSet;

use anyhow::Result;
use polars::prelude::*;

use super::presence::{Presence, Session};
use super::{datetime_column, flags_column, string_lists, u32_lists, Jobs};

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

/// `relay_sessions`, sorted by fingerprint and start (sessions must be sorted).
pub fn sessions_table(jobs: &Jobs, presence: &Presence) -> Result<DataFrame> {
    let sessions = &presence.sessions;
    let time = |c: u32| Some(presence.times[c as usize]);
    let as_facts: Vec<SessionAs> = sessions
        .iter()
        .map(|s| session_as(jobs, presence, s))
        .collect();
    let text =
        |f: fn(&Session) -> Option<&str>| -> Vec<Option<&str>> { sessions.iter().map(f).collect() };
    let share =
        |f: fn(&Session) -> Option<f64>| -> Vec<Option<f64>> { sessions.iter().map(f).collect() };
    let columns = vec![
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
        string_lists(
            "nicknames",
            sessions.iter().map(|s| s.nicknames.iter().map(|x| &**x)),
        ),
        string_lists(
            "addresses",
            sessions.iter().map(|s| s.addresses.iter().map(|x| &**x)),
        ),
        u32_lists(
            "or_ports",
            sessions
                .iter()
                .map(|s| s.or_ports.iter().map(|&p| u32::from(p))),
        ),
        string_lists(
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
        Column::new(
            "consensus_weight_fraction".into(),
            share(|s| s.last_shares.consensus_weight_fraction),
        ),
        Column::new(
            "guard_probability".into(),
            share(|s| s.last_shares.guard_probability),
        ),
        Column::new(
            "middle_probability".into(),
            share(|s| s.last_shares.middle_probability),
        ),
        Column::new(
            "exit_probability".into(),
            share(|s| s.last_shares.exit_probability),
        ),
        Column::new(
            "peak_consensus_weight_fraction".into(),
            share(|s| s.peak_shares.consensus_weight_fraction),
        ),
        Column::new(
            "peak_guard_probability".into(),
            share(|s| s.peak_shares.guard_probability),
        ),
        Column::new(
            "peak_middle_probability".into(),
            share(|s| s.peak_shares.middle_probability),
        ),
        Column::new(
            "peak_exit_probability".into(),
            share(|s| s.peak_shares.exit_probability),
        ),
        u32_lists("asns", as_facts.iter().map(|a| a.asns.iter().copied())),
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
    ];
    Ok(DataFrame::new_infer_height(columns)?)
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
    let Some(newest) = super::newest_descriptors(jobs.root, &fields)? else {
        return Ok(None);
    };
    // The distinct (fingerprint, contact) pairs, gathered a month at a time: the whole
    // history of descriptors (4.5 million a year) never sits in memory.
    let distinct = |frame: LazyFrame| frame.unique_stable_generic(None, UniqueKeepStrategy::First);
    let contacts = super::fold_months(
        jobs.root,
        "server_descriptors",
        &[col("fingerprint"), col("contact")],
        distinct,
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

/// `relays`, one row per fingerprint, from the sorted sessions.
pub fn relays_table(jobs: &Jobs, sessions: &DataFrame) -> Result<DataFrame> {
    let list_union = |name: &str| {
        col(name)
            .explode(ExplodeOptions {
                empty_as_null: false,
                keep_nulls: false,
            })
            .drop_nulls()
            .unique()
            .sort(SortOptions::default())
            .alias(name)
    };
    let mut relays = sessions
        .clone()
        .lazy()
        .group_by_stable([col("fingerprint")])
        .agg([
            col("session_start").min().alias("first_seen"),
            col("start_censored").first().alias("first_seen_censored"),
            col("session_end").max().alias("last_seen"),
            col("hours").sum().alias("hours_present"),
            len().alias("sessions"),
            col("running_at_end").last().alias("running"),
            col("nickname").last(),
            col("address").last(),
            col("or_port").last(),
            col("version").last(),
            col("last_flags").last().alias("flags"),
            list_union("addresses"),
            list_union("nicknames"),
            list_union("asns"),
            col("as_number").last(),
            col("as_name").last(),
            col("country").last(),
            col("consensus_weight_fraction").last(),
            col("guard_probability").last(),
            col("middle_probability").last(),
            col("exit_probability").last(),
            col("peak_consensus_weight_fraction").max(),
            col("peak_guard_probability").max(),
            col("peak_middle_probability").max(),
            col("peak_exit_probability").max(),
        ])
        .with_columns([
            col("addresses").list().len().alias("distinct_addresses"),
            col("asns").list().len().alias("distinct_asns"),
        ]);
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
