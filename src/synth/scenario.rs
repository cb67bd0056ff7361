//! Scenario files: the TOML schema of `data/scenarios/*.toml` (background network, planted
//! actors, outages, missing consensuses), its defaults, and the resolution of date expressions
//! ("day 20", "35%", "2021-10-05 12:00") to hours of the run.

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

use super::time::{self, Ts, HOUR};

/// The embedded default scenario (`data/scenarios/default.toml`).
pub const DEFAULT_TOML: &str = include_str!("../../data/scenarios/default.toml");

/// A whole scenario file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Free-text name, copied to the ground truth.
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub network: NetworkCfg,
    #[serde(default)]
    pub background: BackgroundCfg,
    #[serde(default)]
    pub hard_negatives: HardNegativesCfg,
    #[serde(default, rename = "actor")]
    pub actors: Vec<ActorCfg>,
    #[serde(default, rename = "outage")]
    pub outages: Vec<OutageCfg>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkCfg {
    /// Expected number of hours per month without a consensus (randomly placed).
    pub missing_consensuses_per_month: f64,
    /// Explicit missing consensus hours (date expressions), in addition to the random ones.
    pub missing_consensuses: Vec<String>,
    /// The consensus just before every planted removal is missing too (real archives have
    /// holes next to events: the departures then show at the first consensus after the hole).
    pub missing_before_removals: bool,
    /// Authority votes (`votes-YYYY-MM.tar.xz`) for the hours within this many hours of each
    /// planted removal and outage, with the reject-list pattern of a removal (see
    /// `synth::vote`); 0 writes no votes.
    pub votes_around_events_hours: u32,
    /// xz preset for the tarballs: "0".."9" (0-4 with an 8 MiB dictionary), optional "e"
    /// (extreme), optional "hc" (hash-chain match finder). CLI `--xz-preset` overrides.
    pub xz_preset: String,
}

impl Default for NetworkCfg {
    fn default() -> Self {
        NetworkCfg {
            missing_consensuses_per_month: 2.5,
            missing_consensuses: Vec::new(),
            missing_before_removals: false,
            votes_around_events_hours: 0,
            xz_preset: "4hc".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackgroundCfg {
    /// Share of background relays that allow exiting (reduced/default/web-only policies).
    pub exit_fraction: f64,
    /// Share of relays with an IPv6 ORPort (`or-address`, consensus `a` line).
    pub ipv6_fraction: f64,
    /// Share of relays that publish a `contact` line.
    pub contact_fraction: f64,
    /// Share of ContactInfo lines in the ContactInfo-spec form (`email:… url:… ciissversion:2`).
    pub ciiss_fraction: f64,
    /// Share of contact lines that are placeholders (`none`, torrc's sample `Random Person
    /// <nobody AT example dot com>`, …): many unrelated operators write the same one.
    pub placeholder_contact_fraction: f64,
    /// Share of background relays run by honest multi-relay operators with mutual MyFamily.
    pub family_fraction: f64,
    /// New background fingerprints per month, as a fraction of `--relays`.
    pub new_relays_per_month: f64,
    /// Share of new relays that are short-lived (days) rather than long-lived (months, years).
    pub short_lived_fraction: f64,
    /// Mean lifetime of short-lived relays, days. (The long-lived mean follows from keeping
    /// the network size flat: births balance deaths.)
    pub short_lifetime_days: f64,
    /// Share of relays on unstable (residential) connections: frequent, diurnal outages.
    pub flaky_fraction: f64,
    /// Mean hours between outages of an ordinary relay (a restart: gone one or two hours).
    pub mean_hours_between_restarts: f64,
    /// Mean hours between outages of a flaky relay.
    pub flaky_mean_up_hours: f64,
    /// Mean hours a flaky relay stays away.
    pub flaky_mean_down_hours: f64,
    /// Probability per relay and hour that its measured consensus weight is updated.
    pub weight_update_probability: f64,
    /// Hours between periodic descriptor re-publications.
    pub descriptor_interval_hours: f64,
    /// Median advertised bandwidth (kB/s) of background relays (log-normal).
    pub bandwidth_median_kbs: f64,
    /// Sigma of the log-normal bandwidth distribution.
    pub bandwidth_sigma: f64,
    /// Shared causes of restarts among unrelated relays, as on the real network: maintenance
    /// windows per hosting AS (per month; in each, this share of the AS's hosted relays
    /// restarts in the same hour)...
    pub hoster_maintenance_per_month: f64,
    pub hoster_maintenance_share: f64,
    /// ...and tor releases (per month), after which the relays with an automatic nightly
    /// upgrade (this share of the hosted ones) restart at 06:00 local time the next night, in
    /// a handful of time zones.
    pub releases_per_month: f64,
    pub nightly_upgrade_fraction: f64,
    /// Cloud addresses are handed to the next customer: this share of the hosted background
    /// relays born at least `address_reuse_min_days` after a planted actor's relay left for
    /// good takes over its address (they are hard negatives, `reused_address`).
    pub address_reuse_fraction: f64,
    pub address_reuse_min_days: f64,
    /// Share of the initial relays run by honest operators that declare nothing (no contact,
    /// no MyFamily), 3–15 relays each on one hosting AS (the big hosters most often): they
    /// look like KAX17 and are hard negatives (`contactless_operator`).
    pub contactless_group_fraction: f64,
}

impl Default for BackgroundCfg {
    fn default() -> Self {
        BackgroundCfg {
            exit_fraction: 0.17,
            ipv6_fraction: 0.30,
            contact_fraction: 0.78,
            ciiss_fraction: 0.12,
            placeholder_contact_fraction: 0.0,
            family_fraction: 0.25,
            new_relays_per_month: 0.25,
            short_lived_fraction: 0.55,
            short_lifetime_days: 9.0,
            flaky_fraction: 0.18,
            mean_hours_between_restarts: 120.0,
            flaky_mean_up_hours: 12.0,
            flaky_mean_down_hours: 6.0,
            weight_update_probability: 0.12,
            descriptor_interval_hours: 18.0,
            bandwidth_median_kbs: 2200.0,
            hoster_maintenance_per_month: 0.0,
            hoster_maintenance_share: 0.8,
            releases_per_month: 0.0,
            nightly_upgrade_fraction: 0.25,
            bandwidth_sigma: 1.3,
            address_reuse_fraction: 0.0,
            address_reuse_min_days: 14.0,
            contactless_group_fraction: 0.0,
        }
    }
}

/// Background relays planted to look like an actor on one feature only.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HardNegativesCfg {
    /// Fraction of `--relays`: contactless, familyless relays in the KAX17-like actor's ASes.
    pub popular_as: f64,
    /// Fraction of `--relays`: relays with default nicknames (`Unnamed`, `default`, ...).
    pub default_nickname: f64,
    /// Fraction of `--relays`: contactless relays on the actor's tor version and OS.
    pub common_version: f64,
    /// Per planted return wave: honest operators without contact or family, of the actor's
    /// exit status, that deploy several relays at once on one or two of the actor's ASes in
    /// the weeks after its removal (a return wave's look-alikes: another customer of the
    /// same hosters).
    pub return_lookalikes: u32,
    /// Per planted return wave: honest operators that declare one contact on all their
    /// relays, otherwise like the return look-alikes (several relays within a day on one or
    /// two of the actor's ASes, with one of its ports, after its removal).
    #[serde(default)]
    pub declared_lookalikes: u32,
    /// Per planted return wave: honest operators of one relay each, with a contact of their
    /// own, on one of the actor's ASes with one of its ports, deployed between the removal and
    /// a month after the return (the singleton contacts a per-relay-contact actor hides among).
    #[serde(default)]
    pub independent_lookalikes: u32,
}

impl Default for HardNegativesCfg {
    fn default() -> Self {
        HardNegativesCfg {
            popular_as: 0.02,
            default_nickname: 0.015,
            common_version: 0.02,
            return_lookalikes: 2,
            declared_lookalikes: 0,
            independent_lookalikes: 0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActorKind {
    Kax17Like,
    ExitActor,
    BenignOperator,
}

impl ActorKind {
    pub fn label(self) -> &'static str {
        match self {
            ActorKind::Kax17Like => "kax17-like",
            ActorKind::ExitActor => "exit-actor",
            ActorKind::BenignOperator => "benign-operator",
        }
    }
}

/// One planted actor.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActorCfg {
    pub id: String,
    pub kind: ActorKind,
    #[serde(default)]
    pub description: String,
    /// Relays at the actor's peak, as a fraction of `--relays` (waves' shares multiply this).
    pub size: f64,
    /// Never fewer relays than this at peak (keeps small test runs meaningful).
    #[serde(default = "one")]
    pub min_relays: u32,
    /// ContactInfo of its relays; empty = no contact line; `per-relay` = a different made-up
    /// contact on each relay (in the style of honest operators' contacts: they give an actor
    /// cover only where a contact is taken for a declaration).
    #[serde(default)]
    pub contact: String,
    /// Share of its relays that carry `contact` (the rest write none): a minority of an
    /// actor's relays sharing one contact, as KAX17 set e-mail addresses on some of its.
    #[serde(default = "one_f")]
    pub contact_share: f64,
    /// Contacts the relays that carry one pick from, each its own (instead of `contact`):
    /// minorities of an actor's relays sharing different contacts.
    #[serde(default)]
    pub contact_pool: Vec<String>,
    /// Whether its relays declare each other in mutual MyFamily.
    #[serde(default)]
    pub family: bool,
    /// Exit relays (true: `exit_policy`), or guard/middle only (`reject *:*`).
    #[serde(default)]
    pub exit: bool,
    /// Exit policy: "reduced", "default", "web", or "unusual" (a shared odd port list).
    #[serde(default = "default_policy")]
    pub exit_policy: String,
    /// Nicknames: "random-words", "default" (Unnamed etc.), "prefix-number", "hex", "operator".
    #[serde(default = "default_nick_style")]
    pub nickname_style: String,
    /// Prefix for "prefix-number" / "operator" nicknames.
    #[serde(default)]
    pub nickname_prefix: String,
    /// Tor versions: "latest", "alpha", "lts", "laggard" or "pinned:0.4.5.10".
    #[serde(default = "default_version")]
    pub version: String,
    /// Operating systems used (platform line), e.g. ["Linux"].
    #[serde(default = "default_os")]
    pub os: Vec<String>,
    /// Hosting ASes (numbers from the generator's AS catalogue); empty = pick `as_count` hosters.
    #[serde(default)]
    pub ases: Vec<u32>,
    #[serde(default = "default_as_count")]
    pub as_count: u32,
    /// Give every relay its own /16 where the ASes allow.
    #[serde(default = "yes")]
    pub spread_slash16: bool,
    /// ORPorts to choose from.
    #[serde(default = "default_orports")]
    pub or_ports: Vec<u16>,
    /// Share of its relays with a DirPort (9030).
    #[serde(default)]
    pub dirport_fraction: f64,
    #[serde(default)]
    pub ipv6_fraction: f64,
    /// Median advertised bandwidth (kB/s) and log-normal sigma.
    #[serde(default = "default_actor_bw")]
    pub bandwidth_median_kbs: f64,
    #[serde(default = "default_actor_sigma")]
    pub bandwidth_sigma: f64,
    /// Rate limit advertised in `bandwidth` (bytes/s); 0 = tor's default 1073741824.
    #[serde(default)]
    pub rate_limit: u64,
    /// All relays restart together every N days (0 = no synchronized restarts).
    #[serde(default)]
    pub synchronized_restart_days: f64,
    #[serde(default, rename = "wave")]
    pub waves: Vec<WaveCfg>,
    #[serde(default, rename = "removal")]
    pub removals: Vec<RemovalCfg>,
    #[serde(default, rename = "return")]
    pub returns: Vec<ReturnCfg>,
}

/// A join wave: `share` of the actor's size joins over `spread_hours` from `at`.
/// A wave at or before the start ("0%", "day 0") is already running when the archive begins.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaveCfg {
    pub at: String,
    pub share: f64,
    #[serde(default = "default_spread")]
    pub spread_hours: f64,
}

/// A bulk removal by the directory authorities: `fraction` of the actor's relays listed just
/// before `at` disappear over `consensuses` consecutive consensuses from `at` (authorities
/// adding the reject lines one after another; 1–4) and never come back with those
/// fingerprints; the rest of the actor's relays survive it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemovalCfg {
    pub at: String,
    #[serde(default = "one_f")]
    pub fraction: f64,
    #[serde(default = "one")]
    pub consensuses: u32,
    /// The operator switches the relays off (they leave every authority's vote at once)
    /// rather than the authorities rejecting them (some authorities drop them first).
    #[serde(default)]
    pub by_operator: bool,
}

/// A return wave after removal number `after_removal` (1-based): new fingerprints on the same
/// kind of infrastructure.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReturnCfg {
    #[serde(default = "one")]
    pub after_removal: u32,
    pub at: String,
    pub share: f64,
    #[serde(default = "default_spread")]
    pub spread_hours: f64,
    /// The returning relays run on the addresses of the actor's earlier relays (in order),
    /// under new keys: a re-key, when it comes within the outage window.
    #[serde(default)]
    pub same_addresses: bool,
}

/// A natural outage: every relay of one AS is gone for `hours`, then back.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutageCfg {
    /// AS number, or 0 = the most populated residential/hosting AS not used by actors.
    #[serde(default)]
    pub asn: u32,
    pub at: String,
    pub hours: u32,
}

fn one() -> u32 {
    1
}
fn one_f() -> f64 {
    1.0
}
fn yes() -> bool {
    true
}
fn default_policy() -> String {
    "reduced".into()
}
fn default_nick_style() -> String {
    "random-words".into()
}
fn default_version() -> String {
    "latest".into()
}
fn default_os() -> Vec<String> {
    vec!["Linux".into()]
}
fn default_as_count() -> u32 {
    8
}
fn default_orports() -> Vec<u16> {
    vec![9001]
}
fn default_actor_bw() -> f64 {
    3000.0
}
fn default_actor_sigma() -> f64 {
    0.5
}
fn default_spread() -> f64 {
    6.0
}

impl Scenario {
    pub fn parse(text: &str) -> anyhow::Result<Scenario> {
        let s: Scenario = toml::from_str(text).context("invalid scenario TOML")?;
        s.validate()?;
        Ok(s)
    }

    pub fn load(path: Option<&std::path::Path>) -> anyhow::Result<Scenario> {
        match path {
            None => Scenario::parse(DEFAULT_TOML),
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("reading scenario {}", p.display()))?;
                Scenario::parse(&text).with_context(|| format!("in scenario {}", p.display()))
            }
        }
    }

    fn validate(&self) -> anyhow::Result<()> {
        let mut ids = std::collections::HashSet::new();
        for a in &self.actors {
            if !ids.insert(a.id.as_str()) {
                bail!("duplicate actor id {:?}", a.id);
            }
            if a.waves.is_empty() {
                bail!("actor {:?} has no [[actor.wave]]", a.id);
            }
            for r in &a.returns {
                if r.after_removal == 0 || r.after_removal as usize > a.removals.len() {
                    bail!(
                        "actor {:?}: return refers to missing removal {}",
                        a.id,
                        r.after_removal
                    );
                }
            }
            if a.or_ports.is_empty() || a.os.is_empty() {
                bail!("actor {:?}: or_ports and os must not be empty", a.id);
            }
        }
        Ok(())
    }
}

/// Resolves date expressions against a run of `hours` hours starting at `start`.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    pub start: Ts,
    pub hours: i64,
}

impl Clock {
    /// Hour index (from the start, may be negative or beyond the end) of a date expression:
    /// `"day N"` / `"day N HH:MM"` (day 0 = first day), `"hour N"`, `"P%"` of the run,
    /// or an absolute `"YYYY-MM-DD[ HH:MM[:SS]]"` (rounded down to the hour).
    pub fn hour_of(&self, expr: &str) -> anyhow::Result<i64> {
        let e = expr.trim();
        if let Some(p) = e.strip_suffix('%') {
            let p: f64 = p
                .trim()
                .parse()
                .with_context(|| format!("bad percentage {e:?}"))?;
            return Ok((self.hours as f64 * p / 100.0).floor() as i64);
        }
        if let Some(rest) = e.strip_prefix("hour ") {
            return rest
                .trim()
                .parse()
                .with_context(|| format!("bad hour {e:?}"));
        }
        if let Some(rest) = e.strip_prefix("day ") {
            let mut it = rest.split_whitespace();
            let day: f64 = it
                .next()
                .context("day number missing")?
                .parse()
                .with_context(|| format!("bad day in {e:?}"))?;
            let mut h = (day * 24.0).floor() as i64;
            if let Some(t) = it.next() {
                let hh: i64 = t
                    .split(':')
                    .next()
                    .unwrap_or("0")
                    .parse()
                    .with_context(|| format!("bad time in {e:?}"))?;
                h += hh;
            }
            return Ok(h);
        }
        let ts = time::parse_datetime(e).with_context(|| format!("bad date expression {e:?}"))?;
        Ok((ts - self.start).div_euclid(HOUR))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_scenarios_parse() {
        let s = Scenario::parse(DEFAULT_TOML).unwrap();
        assert!(s.actors.len() >= 3);
        Scenario::parse(include_str!("../../data/scenarios/eval.toml")).unwrap();
    }

    #[test]
    fn date_expressions() {
        let c = Clock {
            start: time::parse_datetime("2021-08-01").unwrap(),
            hours: 720,
        };
        assert_eq!(c.hour_of("day 20").unwrap(), 480);
        assert_eq!(c.hour_of("day 2 06:00").unwrap(), 54);
        assert_eq!(c.hour_of("50%").unwrap(), 360);
        assert_eq!(c.hour_of("hour 7").unwrap(), 7);
        assert_eq!(c.hour_of("2021-08-03 05:30").unwrap(), 53);
        assert_eq!(c.hour_of("2021-07-31").unwrap(), -24);
        assert!(c.hour_of("soon").is_err());
    }
}
