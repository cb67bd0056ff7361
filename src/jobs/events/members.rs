//! What the event tables say about departed relays: their AS when they left, whether they
//! have a contact, the traits that tell an event's members from ordinary churn, and the
//! operator most of an event's relays declare (the same contact or mutual family).

use std::collections::HashMap;

use anyhow::Result;
use polars::prelude::*;

use super::churn::{tenure, Traits};
use super::departures::Departure;
use super::series::Series;
use crate::jobs::columns::{string_lists, strings};
use crate::jobs::identity::{largest_declared_group, normalise_contact};
use crate::jobs::presence::Presence;
use crate::jobs::settings::Jobs;

/// Facts about a departed relay used in the event tables.
pub(super) struct Member<'a> {
    pub(super) departure: &'a Departure,
    pub(super) asn: Option<u32>,
    pub(super) as_name: Option<String>,
    pub(super) has_contact: Option<bool>,
}

/// What is known about the relays (from `relays` and the presence pass) to describe the
/// departures of events.
pub(super) struct RelayFacts<'p> {
    jobs: &'p Jobs<'p>,
    presence: &'p Presence,
    /// Whether each relay has a contact (newest descriptor).
    contact: HashMap<&'p str, bool>,
    /// What each relay declares about its operator (newest descriptor), for operator
    /// departures.
    declared: HashMap<String, (Option<String>, Vec<String>)>,
    /// When each relay was first seen (for the tenure trait).
    first_seen: HashMap<&'p str, i64>,
}

impl<'p> RelayFacts<'p> {
    pub(super) fn new(
        jobs: &'p Jobs,
        presence: &'p Presence,
        relays: &'p DataFrame,
    ) -> Result<Self> {
        let times = &presence.times;
        let contact: HashMap<&str, bool> = match relays.column("has_contact") {
            Ok(has) => relays
                .column("fingerprint")?
                .str()?
                .iter()
                .zip(has.bool()?.iter())
                .filter_map(|(f, c)| Some((f?, c.unwrap_or(false))))
                .collect(),
            Err(_) => HashMap::new(),
        };
        let declared: HashMap<String, (Option<String>, Vec<String>)> =
            match (relays.column("contact"), relays.column("family")) {
                (Ok(_), Ok(_)) => {
                    let fps = strings(relays, "fingerprint")?;
                    let contacts = strings(relays, "contact")?;
                    let families = string_lists(relays, "family")?;
                    fps.into_iter()
                        .zip(contacts.into_iter().zip(families))
                        .filter_map(|(f, cf)| Some((f?, cf)))
                        .collect()
                }
                _ => HashMap::new(),
            };
        let mut first_seen: HashMap<&str, i64> = HashMap::new();
        for s in &presence.sessions {
            let t = times[s.start as usize];
            first_seen
                .entry(s.fingerprint.as_ref())
                .and_modify(|f| *f = (*f).min(t))
                .or_insert(t);
        }
        Ok(RelayFacts {
            jobs,
            presence,
            contact,
            declared,
            first_seen,
        })
    }

    /// The share of `removed` in the largest group declaring one operator, and who that is
    /// (its contact, or the size of the mutual family).
    pub(super) fn operator_of(&self, removed: &[Member]) -> (f64, Option<String>) {
        let presence = self.presence;
        let none = (None, Vec::new());
        let facts: Vec<(&str, Option<&str>, &[String])> = removed
            .iter()
            .map(|m| {
                let fp = presence.sessions[m.departure.session].fingerprint.as_ref();
                let (contact, family) = self.declared.get(fp).unwrap_or(&none);
                (fp, contact.as_deref(), family.as_slice())
            })
            .collect();
        let Some(group) = largest_declared_group(&facts) else {
            return (0.0, None);
        };
        let size = group.len();
        let contact = group
            .iter()
            .find_map(|&k| facts[k].1.and_then(normalise_contact));
        let who = contact.unwrap_or_else(|| format!("mutual family of {size} relays"));
        (size as f64 / removed.len() as f64, Some(who))
    }

    fn describe(&self, d: &Departure) -> (Option<u32>, Option<String>, Option<bool>) {
        let presence = self.presence;
        let times = &presence.times;
        let s = &presence.sessions[d.session];
        let info = s
            .last_address
            .as_deref()
            .map(|a| self.jobs.enricher.lookup(a, times[s.end as usize]))
            .unwrap_or_default();
        (
            info.asn,
            info.as_name,
            self.contact.get(s.fingerprint.as_ref()).copied(),
        )
    }

    /// A departure, described.
    pub(super) fn member<'a>(&self, d: &'a Departure) -> Member<'a> {
        let (asn, as_name, has_contact) = self.describe(d);
        Member {
            departure: d,
            asn,
            as_name,
            has_contact,
        }
    }

    /// The departures of an event that did (or did not) come back, described.
    pub(super) fn members_where<'a>(
        &self,
        series: &Series,
        gone: &[&'a Departure],
        back: bool,
    ) -> Vec<Member<'a>> {
        gone.iter()
            .filter(|d| series.comes_back(d) == back)
            .map(|d| self.member(d))
            .collect()
    }

    /// What tells a member from ordinary churn: its AS (or /16), contact, tenure and version.
    pub(super) fn traits(&self, m: &Member) -> Traits {
        let presence = self.presence;
        let times = &presence.times;
        let s = &presence.sessions[m.departure.session];
        let place = match m.asn {
            Some(asn) => format!("AS{asn}"),
            None => s
                .last_address
                .as_deref()
                .and_then(|a| a.rsplitn(3, '.').nth(2).map(str::to_string))
                .unwrap_or_default(),
        };
        let known = times[m.departure.at as usize] - self.first_seen[s.fingerprint.as_ref()];
        [
            place,
            format!("{:?}", m.has_contact),
            tenure(known).to_string(),
            s.last_version.as_deref().unwrap_or_default().to_string(),
        ]
    }
}
