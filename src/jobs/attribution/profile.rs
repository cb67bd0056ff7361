//! Per-relay profiles: the signals analysts compare between relays, read from the job
//! datasets (`relays`, `relay_sessions`, `removal_event_relays`) and `server_descriptors`.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use anyhow::{bail, Context, Result};
use polars::prelude::*;

use crate::jobs::columns::{floats, string_lists, strings, times, u32_lists};
use crate::jobs::io::{newest_descriptors, partition_files, scan_dataset, scan_file};
use crate::util::time::HOUR_MS;

/// One relay (fingerprint) and its signals.
#[derive(Debug, Clone, Default)]
pub struct Profile {
    pub fingerprint: String,
    pub first_seen: i64,
    pub last_seen: i64,
    pub nickname: String,
    /// Normalised contact (lower case, whitespace collapsed); None when blank.
    pub contact: Option<String>,
    /// Whether another relay writes the same contact (a declaration of an operator; a contact
    /// only this relay writes is its unverified claim).
    pub contact_shared: bool,
    /// Whether an imported server descriptor covers any consensus that lists the relay
    /// (`relays.hours_with_descriptor`): without one its contact, family, platform and exit
    /// policy are unknown, not "none".
    pub descriptor_known: bool,
    /// Consensuses that list the relay, and those of them a descriptor covers.
    pub hours_present: u32,
    pub hours_with_descriptor: u32,
    /// Declared family members given by fingerprint (`$HEX` → `HEX`).
    pub family: Vec<String>,
    pub ed25519: Option<String>,
    pub addresses: Vec<String>,
    /// IPv6 /48 prefixes of the newest descriptor's `or-address` lines.
    pub ipv6_prefixes: Vec<String>,
    pub asns: Vec<u32>,
    pub countries: Vec<String>,
    pub version: Option<String>,
    pub os: Option<String>,
    pub or_ports: Vec<u32>,
    pub dir_port: Option<u32>,
    pub exit_policy_hash: Option<String>,
    pub bandwidth_rate_burst: Option<(i64, i64)>,
    /// Hours (ms, floored) at which descriptors say the relay (re)started.
    pub restarts: BTreeSet<i64>,
    /// Last-seen hours of sessions that ended (presence transitions; not the ends that a gap
    /// of the data or its end censors).
    pub session_ends: BTreeSet<i64>,
    /// Whether the relay was first seen at the start of the data or right after a gap of it
    /// (it may have been running before: its first appearance is no join).
    pub first_seen_censored: bool,
    /// Removal events (event time) the relay left in.
    pub removed_in: Vec<i64>,
    /// The removal events of kind `rekey` it left in (most of the event's addresses back
    /// under new fingerprints within the return window).
    pub rekeyed_in: Vec<i64>,
    /// Of those, the events in which the authorities rejected it: at least
    /// `REJECTED_BY_AUTHORITIES` of them stopped listing it before the consensus did.
    pub rejected_in: Vec<i64>,
    pub peak_guard_probability: f64,
    pub peak_middle_probability: f64,
    pub peak_exit_probability: f64,
    pub peak_consensus_weight_fraction: f64,
}

/// What a relay says of its operator: nothing, a contact only it writes (an unverified claim,
/// as an independent operator's or a made-up one), a contact other relays share; or unknown
/// (no imported descriptor covers it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ContactStatus {
    None,
    Own,
    Shared,
    Unknown,
}

impl ContactStatus {
    pub fn name(self) -> &'static str {
        match self {
            ContactStatus::None => "none",
            ContactStatus::Own => "own",
            ContactStatus::Shared => "shared",
            ContactStatus::Unknown => "unknown",
        }
    }
}

impl Profile {
    pub fn contact_status(&self) -> ContactStatus {
        match (&self.contact, self.contact_shared, self.descriptor_known) {
            (_, _, false) => ContactStatus::Unknown,
            (None, _, true) => ContactStatus::None,
            (Some(_), false, true) => ContactStatus::Own,
            (Some(_), true, true) => ContactStatus::Shared,
        }
    }

    /// Whether the relay was an exit in some consensus (its exit probability was above 0).
    pub fn is_exit(&self) -> bool {
        self.peak_exit_probability > 0.0
    }
}

pub use crate::jobs::identity::normalise_contact;

/// The shape of a nickname: digits and hex runs replaced (`bignode12` → `bignode#`,
/// `x3fa9c1d` → `x<hex>`); used to compare naming habits.
pub fn nickname_shape(nickname: &str) -> String {
    let tail: String = nickname
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_hexdigit())
        .collect();
    let has_letter = tail.chars().any(|c| c.is_ascii_alphabetic());
    let has_digit = tail.chars().any(|c| c.is_ascii_digit());
    if tail.len() >= 6 && has_letter && has_digit {
        let head = &nickname[..nickname.len() - tail.len()];
        return format!("{}<hex>", head.to_lowercase());
    }
    let trimmed = nickname.trim_end_matches(|c: char| c.is_ascii_digit());
    if trimmed.len() < nickname.len() && !trimmed.is_empty() {
        return format!("{}#", trimmed.to_lowercase());
    }
    nickname.to_lowercase()
}

/// The /48 of an `or-address` value (`[2001:db8:1:2::1]:443` → `2001:db8:1::/48`).
pub fn ipv6_slash48(or_address: &str) -> Option<String> {
    let host = or_address.trim_start_matches('[').split(']').next()?;
    let ip: std::net::Ipv6Addr = host.parse().ok()?;
    let s = ip.segments();
    Some(format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2]))
}

/// Levenshtein distance of two short strings (nicknames).
pub fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(previous + 1);
        }
    }
    row[b.len()]
}

/// A hash of an exit policy without its single-address rules: tor adds `reject <own
/// address>:*` to every exit policy (ExitPolicyRejectPrivate), which would make every
/// relay's policy unique; the rest is the operator's choice.
pub fn policy_shape_hash(rules: &[String]) -> String {
    use sha2::Digest;
    let kept: Vec<&str> = rules
        .iter()
        .map(String::as_str)
        .filter(|rule| {
            let target = rule.split_whitespace().nth(1).unwrap_or("");
            let host = target.rsplit_once(':').map_or(target, |(h, _)| h);
            host.parse::<std::net::Ipv4Addr>().is_err() && !host.starts_with('[')
        })
        .collect();
    hex::encode(&sha2::Sha256::digest(kept.join("\n").as_bytes())[..8])
}

/// A job dataset the attribution cannot do without.
fn required_scan(root: &Path, dataset: &str) -> Result<LazyFrame> {
    match scan_dataset(root, dataset)? {
        Some(scan) => Ok(scan),
        None => bail!(
            "{}: no {dataset} dataset (run `relaytrail jobs` first)",
            root.display()
        ),
    }
}

fn read_table(root: &Path, dataset: &str) -> Result<DataFrame> {
    required_scan(root, dataset)?
        .collect()
        .map_err(anyhow::Error::from)
        .with_context(|| format!("cannot read {dataset}"))
}

/// Builds every relay's profile.
pub fn load(root: &Path) -> Result<Vec<Profile>> {
    let relays = read_table(root, "relays")?;
    let n = relays.height();
    let fps = strings(&relays, "fingerprint")?;
    let first = times(&relays, "first_seen")?;
    let last = times(&relays, "last_seen")?;
    let data_start = first.iter().flatten().copied().min().unwrap_or(0);
    let censored: Vec<bool> = match relays.column("first_seen_censored") {
        Ok(c) => c.bool()?.iter().map(|v| v.unwrap_or(false)).collect(),
        // Datasets of an earlier relaytrail: only the start of the data censors.
        Err(_) => first.iter().map(|t| *t == Some(data_start)).collect(),
    };
    let nicknames = strings(&relays, "nickname")?;
    let addresses = string_lists(&relays, "addresses")?;
    let asns = u32_lists(&relays, "asns")?;
    let countries = strings(&relays, "country")?;
    let versions = strings(&relays, "version")?;
    let peak_guard = floats(&relays, "peak_guard_probability")?;
    let peak_middle = floats(&relays, "peak_middle_probability")?;
    let peak_exit = floats(&relays, "peak_exit_probability")?;
    let peak_cw = floats(&relays, "peak_consensus_weight_fraction")?;
    let has_descriptors = relays.column("contact").is_ok();
    let column_or_nulls = |name: &str| -> Result<Vec<Option<String>>> {
        if has_descriptors {
            strings(&relays, name)
        } else {
            Ok(vec![None; n])
        }
    };
    let contacts = column_or_nulls("contact")?;
    let oses = column_or_nulls("os")?;
    let ed25519 = column_or_nulls("ed25519_master_key")?;
    let families = if has_descriptors {
        string_lists(&relays, "family")?
    } else {
        vec![Vec::new(); n]
    };
    let rate_burst: Vec<Option<(i64, i64)>> = if has_descriptors {
        let rate = relays.column("bandwidth_avg")?.i64()?;
        let burst = relays.column("bandwidth_burst")?.i64()?;
        rate.iter()
            .zip(burst.iter())
            .map(|(r, b)| Some((r?, b?)))
            .collect()
    } else {
        vec![None; n]
    };
    // Descriptor coverage: hours listed and hours an imported descriptor covers (datasets of
    // an earlier relaytrail have no such column: a relay with a descriptor counts as covered).
    let hours_present: Vec<u32> = match relays.column("hours_present") {
        Ok(c) => c
            .cast(&DataType::UInt32)?
            .u32()?
            .iter()
            .map(|v| v.unwrap_or(0))
            .collect(),
        Err(_) => vec![0; n],
    };
    let hours_with_descriptor: Vec<Option<u32>> = match relays.column("hours_with_descriptor") {
        Ok(c) => c.cast(&DataType::UInt32)?.u32()?.iter().collect(),
        Err(_) => vec![None; n],
    };
    let has_descriptor: Vec<bool> = match relays.column("last_descriptor_published") {
        Ok(c) => c.is_not_null().iter().map(|v| v.unwrap_or(false)).collect(),
        Err(_) => vec![false; n],
    };
    let dir_ports: Vec<Option<u32>> = if let Ok(c) = relays.column("dir_port") {
        c.cast(&DataType::UInt32)?.u32()?.iter().collect()
    } else {
        vec![None; n]
    };

    let mut profiles: Vec<Profile> = (0..n)
        .map(|i| Profile {
            fingerprint: fps[i].clone().unwrap_or_default(),
            first_seen: first[i].unwrap_or(0),
            last_seen: last[i].unwrap_or(0),
            nickname: nicknames[i].clone().unwrap_or_default(),
            contact: contacts[i].as_deref().and_then(normalise_contact),
            contact_shared: false,
            descriptor_known: hours_with_descriptor[i].map_or(has_descriptor[i], |h| h > 0),
            hours_present: hours_present[i],
            hours_with_descriptor: hours_with_descriptor[i].unwrap_or(0),
            family: families[i]
                .iter()
                .filter_map(|f| f.strip_prefix('$').map(str::to_string))
                .collect(),
            ed25519: ed25519[i].clone(),
            addresses: addresses[i].clone(),
            ipv6_prefixes: Vec::new(),
            asns: asns[i].clone(),
            countries: countries[i].iter().cloned().collect(),
            version: versions[i].clone(),
            os: oses[i].clone(),
            or_ports: Vec::new(),
            dir_port: dir_ports[i].filter(|&p| p != 0),
            exit_policy_hash: None,
            bandwidth_rate_burst: rate_burst[i],
            restarts: BTreeSet::new(),
            session_ends: BTreeSet::new(),
            first_seen_censored: censored[i],
            removed_in: Vec::new(),
            rekeyed_in: Vec::new(),
            rejected_in: Vec::new(),
            peak_guard_probability: peak_guard[i],
            peak_middle_probability: peak_middle[i],
            peak_exit_probability: peak_exit[i],
            peak_consensus_weight_fraction: peak_cw[i],
        })
        .collect();
    let mut writers: HashMap<&str, usize> = HashMap::new();
    for p in &profiles {
        if let Some(c) = &p.contact {
            *writers.entry(c.as_str()).or_default() += 1;
        }
    }
    let shared: Vec<bool> = profiles
        .iter()
        .map(|p| p.contact.as_deref().is_some_and(|c| writers[c] > 1))
        .collect();
    for (p, shared) in profiles.iter_mut().zip(shared) {
        p.contact_shared = shared;
    }
    // (hashed: a sorted map's string comparisons grew with the number of relays, a tenth of
    // the profiles' time at ten years)
    let index: HashMap<String, usize> = profiles
        .iter()
        .enumerate()
        .map(|(i, p)| (p.fingerprint.clone(), i))
        .collect();

    // Sessions: ORPorts and the ends of sessions (presence transitions); only the columns
    // needed are read, and dropped once folded into the profiles.
    {
        let mut scan = required_scan(root, "relay_sessions")?;
        let has_gap_column = scan.collect_schema()?.contains("ends_at_gap");
        let mut columns = vec![
            col("fingerprint"),
            col("session_end"),
            col("running_at_end"),
            col("or_ports"),
        ];
        if has_gap_column {
            columns.push(col("ends_at_gap"));
        }
        let sessions = scan
            .select(columns)
            .collect()
            .map_err(anyhow::Error::from)
            .context("cannot read relay_sessions")?;
        let s_fps = strings(&sessions, "fingerprint")?;
        let s_ends = times(&sessions, "session_end")?;
        let s_open = sessions.column("running_at_end")?.bool()?.clone();
        // A session that ends before a gap of the data is no evidence of the relay leaving.
        let s_at_gap: Vec<bool> = if has_gap_column {
            sessions
                .column("ends_at_gap")?
                .bool()?
                .iter()
                .map(|v| v.unwrap_or(false))
                .collect()
        } else {
            vec![false; sessions.height()]
        };
        let s_ports = u32_lists(&sessions, "or_ports")?;
        for (i, fp) in s_fps.iter().enumerate() {
            let Some(&p) = fp.as_ref().and_then(|f| index.get(f)) else {
                continue;
            };
            let profile = &mut profiles[p];
            for port in &s_ports[i] {
                if !profile.or_ports.contains(port) {
                    profile.or_ports.push(*port);
                }
            }
            if s_open.get(i) == Some(false) && !s_at_gap[i] {
                if let Some(end) = s_ends[i] {
                    profile.session_ends.insert(end);
                }
            }
        }
    }

    // Removal events each relay left in (not long outages and data holes: relays of one
    // hoster down for weeks, or the departures of missing hours, say nothing about who runs
    // them).
    let kinds = event_kinds(root)?;
    let kind_of = |t: i64| kinds.get(&t).map(String::as_str);
    if let Some(scan) = scan_dataset(root, "removal_event_relays")? {
        let members = scan.collect()?;
        let m_fps = strings(&members, "fingerprint")?;
        let m_times = times(&members, "event_time")?;
        // (absent from warehouses whose jobs ran before the column existed)
        let dropped_early: Vec<Option<u32>> = match members.column("authorities_dropping_early") {
            Ok(column) => column.cast(&DataType::UInt32)?.u32()?.iter().collect(),
            Err(_) => vec![None; members.height()],
        };
        for ((fp, t), early) in m_fps.iter().zip(m_times).zip(dropped_early) {
            if let (Some(&p), Some(t)) = (fp.as_ref().and_then(|f| index.get(f)), t) {
                if matches!(kind_of(t), Some("long_outage" | "data_hole")) {
                    continue;
                }
                profiles[p].removed_in.push(t);
                if kind_of(t) == Some("rekey") {
                    profiles[p].rekeyed_in.push(t);
                }
                if early >= Some(crate::jobs::events::REJECTED_BY_AUTHORITIES) {
                    profiles[p].rejected_in.push(t);
                }
            }
        }
    }

    // Restart hours from every descriptor (published − uptime), a month at a time.
    for (_, file) in partition_files(root, "server_descriptors")? {
        let descriptors = scan_file(&file)?
            .select([
                col("fingerprint"),
                col("published").cast(DataType::Int64),
                col("uptime"),
            ])
            .filter(col("uptime").gt_eq(lit(0)))
            .collect()
            .map_err(anyhow::Error::from)
            .with_context(|| format!("cannot read {}", file.display()))?;
        let d_fps = descriptors.column("fingerprint")?.str()?;
        let d_published = descriptors.column("published")?.i64()?;
        let d_uptime = descriptors.column("uptime")?.i64()?;
        for ((fp, published), uptime) in d_fps.iter().zip(d_published.iter()).zip(d_uptime.iter()) {
            if let (Some(&p), Some(published), Some(uptime)) =
                (fp.and_then(|f| index.get(f)), published, uptime)
            {
                let started = published - uptime * 1000;
                profiles[p]
                    .restarts
                    .insert(started.div_euclid(HOUR_MS) * HOUR_MS);
            }
        }
    }
    // Exit policy shape and IPv6 prefixes of the newest descriptor.
    if let Some(newest) = newest_descriptors(root, &["exit_policy", "ipv6_or_addresses"])? {
        let fps = strings(&newest, "fingerprint")?;
        let policies = string_lists(&newest, "exit_policy")?;
        let ipv6 = string_lists(&newest, "ipv6_or_addresses")?;
        for (k, fp) in fps.iter().enumerate() {
            if let Some(&p) = fp.as_ref().and_then(|f| index.get(f)) {
                profiles[p].exit_policy_hash = Some(policy_shape_hash(&policies[k]));
                profiles[p].ipv6_prefixes =
                    ipv6[k].iter().filter_map(|a| ipv6_slash48(a)).collect();
            }
        }
    }
    Ok(profiles)
}

/// What the attribution needs of a removal event besides its relays.
#[derive(Debug, Clone, Copy, Default)]
pub struct EventFacts {
    /// The ordinary departures its hours were expected to have (`baseline_departures`).
    pub churn: f64,
    /// Whether most of its relays declare one operator switching them off
    /// (`kind = operator_departure`).
    pub operator_departure: bool,
}

/// The kind of each removal event, by event time (empty where the jobs predate kinds).
fn event_kinds(root: &Path) -> Result<std::collections::BTreeMap<i64, String>> {
    let Some(scan) = scan_dataset(root, "removal_events")? else {
        return Ok(Default::default());
    };
    let events = scan.select([col("event_time"), col("kind")]).collect()?;
    Ok(times(&events, "event_time")?
        .into_iter()
        .zip(strings(&events, "kind")?)
        .filter_map(|(t, kind)| Some((t?, kind?)))
        .collect())
}

/// The facts of each removal event, by event time; empty without removal events.
pub fn event_facts(root: &Path) -> Result<std::collections::BTreeMap<i64, EventFacts>> {
    let Some(scan) = scan_dataset(root, "removal_events")? else {
        return Ok(Default::default());
    };
    let events = scan
        .select([col("event_time"), col("baseline_departures"), col("kind")])
        .collect()?;
    Ok(times(&events, "event_time")?
        .into_iter()
        .zip(floats(&events, "baseline_departures")?)
        .zip(strings(&events, "kind")?)
        .filter_map(|((t, churn), kind)| {
            let operator_departure = kind.as_deref() == Some("operator_departure");
            Some((
                t?,
                EventFacts {
                    churn,
                    operator_departure,
                },
            ))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nickname_shapes() {
        assert_eq!(nickname_shape("bignode12"), "bignode#");
        assert_eq!(nickname_shape("UbuntuCore203"), "ubuntucore#");
        assert_eq!(nickname_shape("x3fa9c1d0"), "x<hex>");
        assert_eq!(nickname_shape("Unnamed"), "unnamed");
        assert_eq!(nickname_shape("123"), "123");
    }

    #[test]
    fn policy_shape_ignores_own_address_rules() {
        let rules = |own: &str| -> Vec<String> {
            vec![
                "reject 0.0.0.0/8:*".into(),
                format!("reject {own}:*"),
                "accept *:443".into(),
                "reject *:*".into(),
            ]
        };
        assert_eq!(
            policy_shape_hash(&rules("192.0.2.1")),
            policy_shape_hash(&rules("198.51.100.7"))
        );
        assert_ne!(
            policy_shape_hash(&rules("192.0.2.1")),
            policy_shape_hash(&["reject *:*".to_string()])
        );
    }

    #[test]
    fn distances_and_prefixes() {
        assert_eq!(levenshtein("UbuntuCore12", "UbuntuCore7"), 2);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(
            ipv6_slash48("[2001:db8:1:2::1]:443").as_deref(),
            Some("2001:db8:1::/48")
        );
        assert_eq!(ipv6_slash48("192.0.2.1:443"), None);
    }
}
