//! `relaytrail attribute --explain FINGERPRINT`: why a relay is (or is not) in an actor. Every
//! candidate partner of the relay with all the evidence between them, whether it makes a
//! link, and the partner's actor in the last attribution run.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{bail, Result};

use super::config::AttributionConfig;
use super::grouping;
use super::profile::{self, Profile};
use crate::jobs::columns::strings;
use crate::jobs::io::scan_dataset;
use crate::util::display::format_time;

/// The explanation as text: the relay's facts, then its `limit` strongest partners.
pub fn explain(
    root: &Path,
    config: &AttributionConfig,
    fingerprint: &str,
    limit: usize,
) -> Result<String> {
    let profiles = profile::load(root)?;
    let wanted = fingerprint.trim_start_matches('$').to_ascii_uppercase();
    let Some(relay) = profiles.iter().position(|p| p.fingerprint == wanted) else {
        bail!("{}: no relay {wanted} in `relays`", root.display());
    };
    let actor_of = actors_of(root)?;
    let actor = |p: &Profile| {
        actor_of
            .get(&p.fingerprint)
            .map_or("-", String::as_str)
            .to_string()
    };
    let p = &profiles[relay];
    let mut out = String::new();
    writeln!(
        out,
        "{} {} ({}): {} .. {}{}, contact {}, version {}, ASes {:?}, ORPorts {:?}, {} restart hours, {} session ends, removed in {} event(s)",
        p.fingerprint,
        p.nickname,
        actor(p),
        format_time(p.first_seen),
        format_time(p.last_seen),
        if p.first_seen_censored { " (running when the data starts)" } else { "" },
        p.contact.as_deref().unwrap_or("none"),
        p.version.as_deref().unwrap_or("?"),
        p.asns,
        p.or_ports,
        p.restarts.len(),
        p.session_ends.len(),
        p.removed_in.len(),
    )?;
    let found = grouping::explain(&profiles, config, relay);
    let links = found.iter().filter(|f| f.2).count();
    writeln!(
        out,
        "{} candidate partners, {links} of them links (threshold {}):",
        found.len(),
        config.link_threshold
    )?;
    for (partner, link, accepted) in found.iter().take(limit) {
        let q = &profiles[*partner];
        let signals: Vec<String> = link
            .signals
            .iter()
            .map(|s| format!("{} {:.2}", s.name, s.weight))
            .collect();
        writeln!(
            out,
            "  {:.2} {} {} {} ({}): {}",
            link.score(),
            if *accepted { "LINK" } else { "    " },
            q.fingerprint,
            q.nickname,
            actor(q),
            signals.join(", ")
        )?;
    }
    Ok(out)
}

/// Each relay's actor in the last attribution run (none before one).
fn actors_of(root: &Path) -> Result<HashMap<String, String>> {
    let Some(scan) = scan_dataset(root, "actor_members")? else {
        return Ok(HashMap::new());
    };
    let members = scan.collect()?;
    Ok(strings(&members, "fingerprint")?
        .into_iter()
        .zip(strings(&members, "actor_id")?)
        .filter_map(|(f, a)| Some((f?, a?)))
        .collect())
}
