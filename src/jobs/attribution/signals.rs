//! What evidence between two relays is: the signals (strong, behaviour, configuration), a
//! link's score and its behaviour and configuration parts, and the configuration values each
//! relay holds (the keys its likeness to others is judged by).

use super::config::AttributionConfig;
use super::profile::{nickname_shape, ContactStatus, Profile};

/// A signal that contributed to a link.
#[derive(Debug, Clone, PartialEq)]
pub struct Signal {
    pub name: &'static str,
    pub weight: f64,
}

/// Evidence between two relays.
#[derive(Debug, Clone, Default)]
pub struct Link {
    pub signals: Vec<Signal>,
}

impl Link {
    pub fn score(&self) -> f64 {
        self.signals.iter().map(|s| s.weight).sum()
    }
    /// Whether restart / session-end sync is the link's only behaviour evidence.
    pub fn sync_is_only_behaviour(&self) -> bool {
        let behaviour: Vec<&str> = self
            .signals
            .iter()
            .map(|s| s.name)
            .filter(|n| BEHAVIOUR.contains(n))
            .collect();
        !behaviour.is_empty()
            && behaviour
                .iter()
                .all(|n| *n == "restart_sync" || *n == "session_end_sync")
    }

    pub fn behaviour_score(&self) -> f64 {
        self.signals
            .iter()
            .filter(|s| BEHAVIOUR.contains(&s.name))
            .map(|s| s.weight)
            .sum()
    }
    pub fn config_score(&self) -> f64 {
        self.signals
            .iter()
            .filter(|s| !BEHAVIOUR.contains(&s.name) && !STRONG.contains(&s.name))
            .map(|s| s.weight)
            .sum()
    }
}

pub const STRONG: [&str; 3] = ["same_contact", "mutual_family", "same_ed25519_key"];
/// The strong signals that declare an operator: a contact several relays share, a mutual
/// family.
pub const DECLARATIONS: [&str; 2] = ["same_contact", "mutual_family"];
pub const BEHAVIOUR: [&str; 7] = [
    "same_address",
    "rekeyed",
    "restart_sync",
    "session_end_sync",
    "join_batch",
    "removed_together",
    "rejected_together",
];

pub fn prefix(address: &str, octets: usize) -> Option<String> {
    let parts: Vec<&str> = address.split('.').collect();
    (parts.len() == 4).then(|| parts[..octets].join("."))
}

/// The configuration values of a relay, per signal (several values per signal possible).
pub fn config_values(p: &Profile) -> Vec<(usize, String)> {
    let signal = |name: &str| CONFIG_SIGNALS.iter().position(|s| *s == name).unwrap();
    let mut out = Vec::new();
    for a in &p.addresses {
        if let Some(x) = prefix(a, 3) {
            out.push((signal("same_slash24"), x));
        }
        if let Some(x) = prefix(a, 2) {
            out.push((signal("same_slash16"), x));
        }
    }
    for asn in &p.asns {
        out.push((signal("same_as"), asn.to_string()));
    }
    for prefix in &p.ipv6_prefixes {
        out.push((signal("same_ipv6_slash48"), prefix.clone()));
    }
    if let Some(v) = &p.version {
        out.push((signal("same_version"), v.clone()));
    }
    if let Some(os) = &p.os {
        out.push((signal("same_os"), os.to_lowercase()));
    }
    for port in &p.or_ports {
        out.push((signal("same_or_port"), port.to_string()));
    }
    if let Some(port) = p.dir_port {
        out.push((signal("same_dir_port"), port.to_string()));
    }
    if !p.nickname.is_empty() {
        out.push((signal("nickname_shape"), nickname_shape(&p.nickname)));
    }
    if let Some(h) = &p.exit_policy_hash {
        out.push((signal("same_exit_policy"), h.clone()));
    }
    if let Some((rate, burst)) = p.bandwidth_rate_burst {
        out.push((signal("same_bandwidth_rate"), format!("{rate}/{burst}")));
    }
    if p.contact_status() == ContactStatus::None {
        out.push((signal("both_without_contact"), String::new()));
    }
    out.sort();
    out.dedup();
    out
}

pub fn config_weight(config: &AttributionConfig, signal: &str) -> f64 {
    let w = &config.weights;
    match signal {
        "same_slash24" => w.slash24,
        "same_slash16" => w.slash16,
        "same_ipv6_slash48" => w.ipv6_slash48,
        "same_as" => w.asn,
        "same_version" => w.version,
        "same_os" => w.os,
        "same_or_port" => w.or_port,
        "same_dir_port" => w.dir_port,
        "nickname_shape" => w.nickname_shape,
        "same_exit_policy" => w.exit_policy,
        "same_bandwidth_rate" => w.bandwidth_rate,
        "both_without_contact" => w.no_contact,
        _ => 0.0,
    }
}

/// The configuration signals in name order (the order a link lists them); the last,
/// `similar_nickname`, is judged between the two nicknames rather than by shared values.
pub const CONFIG_SIGNALS: [&str; 13] = [
    "both_without_contact",
    "nickname_shape",
    "same_as",
    "same_bandwidth_rate",
    "same_dir_port",
    "same_exit_policy",
    "same_ipv6_slash48",
    "same_or_port",
    "same_os",
    "same_slash16",
    "same_slash24",
    "same_version",
    "similar_nickname",
];
pub const NICKNAME_SHAPE: usize = 1;
pub const SIMILAR_NICKNAME: usize = 12;
/// The configuration signals of location nested inside `same_address`, most specific first
/// (indices into [`CONFIG_SIGNALS`]): a pair sharing several counts only the strongest.
pub const NESTED_LOCATION: [usize; 3] = [10, 9, 2];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_signals_are_listed_in_name_order() {
        let mut sorted = CONFIG_SIGNALS;
        sorted.sort_unstable();
        assert_eq!(
            sorted, CONFIG_SIGNALS,
            "links list their signals in name order"
        );
        assert_eq!(CONFIG_SIGNALS[NICKNAME_SHAPE], "nickname_shape");
        assert_eq!(CONFIG_SIGNALS[SIMILAR_NICKNAME], "similar_nickname");
        let nested = NESTED_LOCATION.map(|k| CONFIG_SIGNALS[k]);
        assert_eq!(nested, ["same_slash24", "same_slash16", "same_as"]);
    }
}
