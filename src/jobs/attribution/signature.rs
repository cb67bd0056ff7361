//! A group's infrastructure signature (shares of its relays per AS, /16, ORPort, OS, version
//! line, nickname style, contact and exit status, exit policy), how similar a later group's
//! is to a removed one's (shared infrastructure credited by its rarity among the groups, ASes
//! by how far the later group spreads over them), and the return test.

use std::collections::{BTreeMap, HashMap};

use super::config::AttributionConfig;
use super::profile::{nickname_shape, ContactStatus, Profile};
use super::rarity::RarityWindows;
use super::signals::prefix;

/// A group's infrastructure signature: shares of its relays per value.
#[derive(Debug, Default)]
pub struct Signature {
    pub asns: BTreeMap<u32, f64>,
    pub slash16: BTreeMap<String, f64>,
    pub or_ports: BTreeMap<u32, f64>,
    pub os: BTreeMap<String, f64>,
    pub version_line: BTreeMap<String, f64>,
    pub nickname_shape: BTreeMap<String, f64>,
    pub contactless: f64,
    /// Share of the relays writing a contact no other relay writes (an unverified claim).
    pub own_contact: f64,
    /// Share of the relays whose contact is unknown (no imported descriptor covers them).
    pub contact_unknown: f64,
    /// Share of the relays that were exits (an exit operator comes back with exits).
    pub exits: f64,
    /// The exit policies of its exits (empty when it has none).
    pub exit_policies: BTreeMap<String, f64>,
    /// Its number of relays.
    pub relays: usize,
}

impl Signature {
    /// The shares of none, own and shared contacts among the relays whose contact is known
    /// (None when no relay's is).
    fn contact_shares(&self) -> Option<[f64; 3]> {
        let known = 1.0 - self.contact_unknown;
        (known > 1e-9).then(|| {
            let shared = (known - self.contactless - self.own_contact).max(0.0);
            [
                self.contactless / known,
                self.own_contact / known,
                shared / known,
            ]
        })
    }

    /// The contact status most of its relays with a known contact have (ties: none before own
    /// before shared); unknown when no relay's contact is known.
    pub fn contact_status(&self) -> ContactStatus {
        let Some([none, own, shared]) = self.contact_shares() else {
            return ContactStatus::Unknown;
        };
        if none >= own.max(shared) {
            ContactStatus::None
        } else if own >= shared {
            ContactStatus::Own
        } else {
            ContactStatus::Shared
        }
    }

    /// How far two groups' contact statuses lie apart: half the summed differences of their
    /// shares of none, own and shared contacts among their relays with a known contact (0
    /// alike, 1 nothing in common); None when either group's contacts are unknown.
    fn contact_distance(&self, other: &Signature) -> Option<f64> {
        let (a, b) = (self.contact_shares()?, other.contact_shares()?);
        Some(a.iter().zip(&b).map(|(x, y)| (x - y).abs()).sum::<f64>() / 2.0)
    }
}

pub fn version_line(v: &str) -> String {
    v.split('.').take(3).collect::<Vec<_>>().join(".")
}

pub fn signature(profiles: &[Profile], members: &[usize]) -> Signature {
    let mut s = Signature::default();
    let n = members.len().max(1) as f64;
    let bump_all = |map: &mut BTreeMap<String, f64>, values: Vec<String>| {
        let mut values = values;
        values.sort();
        values.dedup();
        for v in values {
            *map.entry(v).or_default() += 1.0 / n;
        }
    };
    for &i in members {
        let p = &profiles[i];
        let mut asns = p.asns.clone();
        asns.sort_unstable();
        asns.dedup();
        for a in asns {
            *s.asns.entry(a).or_default() += 1.0 / n;
        }
        let mut ports = p.or_ports.clone();
        ports.sort_unstable();
        ports.dedup();
        for port in ports {
            *s.or_ports.entry(port).or_default() += 1.0 / n;
        }
        bump_all(
            &mut s.slash16,
            p.addresses.iter().filter_map(|a| prefix(a, 2)).collect(),
        );
        bump_all(&mut s.os, p.os.iter().map(|o| o.to_lowercase()).collect());
        bump_all(
            &mut s.version_line,
            p.version.iter().map(|v| version_line(v)).collect(),
        );
        bump_all(&mut s.nickname_shape, vec![shape_class(&p.nickname)]);
        match p.contact_status() {
            ContactStatus::None => s.contactless += 1.0 / n,
            ContactStatus::Own => s.own_contact += 1.0 / n,
            ContactStatus::Shared => {}
            ContactStatus::Unknown => s.contact_unknown += 1.0 / n,
        }
        if p.is_exit() {
            s.exits += 1.0 / n;
            if let Some(policy) = &p.exit_policy_hash {
                *s.exit_policies.entry(policy.clone()).or_default() += 1.0 / n;
            }
        }
    }
    s.relays = members.len();
    s
}

/// How far a later group spreads over an earlier group's ASes, against how far a sample of
/// its size drawn from the earlier group's relays would: distinct shared ASes over their
/// expected number `Σ 1 − (1 − p_a)^n` (at most 1). A return wave of an actor on eight
/// hosters lands on most of them; another customer of one or two of them does not.
pub fn as_spread(earlier: &Signature, later: &Signature) -> Option<f64> {
    let total: f64 = earlier.asns.values().sum();
    if total <= 0.0 || later.asns.is_empty() {
        return None;
    }
    let n = later.relays.max(1) as i32;
    let expected: f64 = earlier
        .asns
        .values()
        .map(|share| 1.0 - (1.0 - share / total).powi(n))
        .sum();
    let shared = later
        .asns
        .keys()
        .filter(|a| earlier.asns.contains_key(a))
        .count() as f64;
    Some((shared / expected.max(1.0)).min(1.0))
}

/// Coarse nickname style: `default`, `prefix#`, `<hex>`, or `word`.
pub fn shape_class(nickname: &str) -> String {
    let lower = nickname.to_lowercase();
    if [
        "unnamed",
        "default",
        "ididnteditheconfig",
        "myrelay",
        "noname",
    ]
    .contains(&lower.as_str())
    {
        return "default".into();
    }
    let shape = nickname_shape(nickname);
    if shape.ends_with("<hex>") {
        "hex".into()
    } else if shape.ends_with('#') {
        format!("numbered:{shape}")
    } else {
        "word".into()
    }
}

/// A shared value that every group uses still earns this much of full credit.
pub const COMMON_VALUE_CREDIT: f64 = 0.25;

/// How rare each AS, /16 and ORPort is among the groups: `ln(G/g)/ln(G/2)` for a value that
/// `g` of the `G` groups use, at most 1 (a value only the two compared groups use counts
/// fully, one that every group uses not at all). Sharing two big hosters' ASes or port 9001
/// with a removed group is what any group would; sharing its small hosters is evidence.
#[derive(Debug, Default)]
pub struct SignatureRarity {
    asns: HashMap<u32, f64>,
    slash16: HashMap<String, f64>,
    or_ports: HashMap<u32, f64>,
}

impl SignatureRarity {
    pub fn of<'s>(signatures: impl Iterator<Item = &'s Signature> + Clone) -> SignatureRarity {
        fn rarity<K: Clone + Eq + std::hash::Hash>(
            maps: impl Iterator<Item = Vec<K>>,
            groups: f64,
        ) -> HashMap<K, f64> {
            let mut used: HashMap<K, f64> = HashMap::new();
            for keys in maps {
                for k in keys {
                    *used.entry(k).or_default() += 1.0;
                }
            }
            let scale = (groups / 2.0).ln();
            used.into_iter()
                .map(|(k, g)| {
                    let r = if scale > 0.0 {
                        ((groups / g).ln() / scale).clamp(0.0, 1.0)
                    } else {
                        1.0
                    };
                    (k, r)
                })
                .collect()
        }
        let groups = signatures.clone().count() as f64;
        SignatureRarity {
            asns: rarity(
                signatures.clone().map(|s| s.asns.keys().copied().collect()),
                groups,
            ),
            slash16: rarity(
                signatures
                    .clone()
                    .map(|s| s.slash16.keys().cloned().collect()),
                groups,
            ),
            or_ports: rarity(
                signatures.map(|s| s.or_ports.keys().copied().collect()),
                groups,
            ),
        }
    }
}

/// Share of `later`'s relays whose value the earlier group also used (weighted overlap),
/// each shared value credited by `credit` (1 = fully).
pub fn coverage<K: Ord>(
    earlier: &BTreeMap<K, f64>,
    later: &BTreeMap<K, f64>,
    credit: impl Fn(&K) -> f64,
) -> Option<f64> {
    if later.is_empty() || earlier.is_empty() {
        return None;
    }
    let total: f64 = later.values().sum();
    let covered: f64 = later
        .iter()
        .filter(|(k, _)| earlier.contains_key(k))
        .map(|(k, v)| v * credit(k))
        .fold(0.0, |a, b| a + b);
    Some((covered / total).min(1.0))
}

/// How much two distributions of values overlap: `Σ min(p_k, q_k)` over their shares (a policy
/// one of fifty removed exits used is not the group's policy).
pub fn overlap<K: Ord>(earlier: &BTreeMap<K, f64>, later: &BTreeMap<K, f64>) -> Option<f64> {
    let (te, tl): (f64, f64) = (earlier.values().sum(), later.values().sum());
    if te <= 0.0 || tl <= 0.0 {
        return None;
    }
    Some(
        later
            .iter()
            .filter_map(|(k, v)| Some((v / tl).min(earlier.get(k)? / te)))
            .sum(),
    )
}

/// Full credit for every shared value.
pub fn full_credit<K>(_: &K) -> f64 {
    1.0
}

/// Weights of the AS, /16 and ORPort components, in the similarity and in the rare shared
/// infrastructure alike.
pub const ASNS_WEIGHT: f64 = 3.0;
pub const SLASH16_WEIGHT: f64 = 1.0;
pub const OR_PORTS_WEIGHT: f64 = 1.5;
/// The exits' policies weigh this many times `weights.exit_policy` in the similarity (4 by
/// default: a policy written by hand says more of its operator than its hosters do; 0 in
/// the `exit_policy` ablation).
pub const EXIT_POLICIES_PER_WEIGHT: f64 = 2.0;

/// The credit of a shared value of rarity `r` (unknown values count as rare).
pub fn rare_credit<K: Eq + std::hash::Hash>(rarity: &HashMap<K, f64>, k: &K) -> f64 {
    let r = rarity.get(k).copied().unwrap_or(1.0);
    COMMON_VALUE_CREDIT + (1.0 - COMMON_VALUE_CREDIT) * r
}

/// Similarity of a later group to an earlier one, with its components (every shared value
/// counted fully), and how much of the later group's infrastructure (ASes, /16s, ORPorts) the
/// earlier group used, each shared value credited by its `rarity` among the groups: any
/// contactless Linux group resembles a removed one in OS, version, nickname style and contact
/// status, and shares big hosters and port 9001 with it; only the rare infrastructure it
/// shares says it is the same operator.
pub fn signature_similarity(
    earlier: &Signature,
    later: &Signature,
    rarity: &SignatureRarity,
    config: &AttributionConfig,
) -> (f64, f64, Vec<(String, f64)>) {
    // The ASes count as far as the later group spreads over them.
    let spread = as_spread(earlier, later);
    let spread_over = |c: Option<f64>| Some(c? * spread.unwrap_or(1.0));
    let infrastructure: Vec<(f64, Option<f64>)> = vec![
        (
            ASNS_WEIGHT,
            spread_over(coverage(&earlier.asns, &later.asns, |k| {
                rare_credit(&rarity.asns, k)
            })),
        ),
        (
            SLASH16_WEIGHT,
            coverage(&earlier.slash16, &later.slash16, |k| {
                rare_credit(&rarity.slash16, k)
            }),
        ),
        (
            OR_PORTS_WEIGHT,
            coverage(&earlier.or_ports, &later.or_ports, |k| {
                rare_credit(&rarity.or_ports, k)
            }),
        ),
    ];
    let components: Vec<(&str, f64, Option<f64>)> = vec![
        (
            "asns",
            ASNS_WEIGHT,
            spread_over(coverage(&earlier.asns, &later.asns, full_credit)),
        ),
        (
            "slash16",
            SLASH16_WEIGHT,
            coverage(&earlier.slash16, &later.slash16, full_credit),
        ),
        (
            "or_ports",
            OR_PORTS_WEIGHT,
            coverage(&earlier.or_ports, &later.or_ports, full_credit),
        ),
        ("os", 1.0, coverage(&earlier.os, &later.os, full_credit)),
        (
            "version_line",
            1.0,
            coverage(&earlier.version_line, &later.version_line, full_credit),
        ),
        (
            "nickname_style",
            1.5,
            coverage(&earlier.nickname_shape, &later.nickname_shape, full_credit),
        ),
        (
            "contact_status",
            2.0,
            earlier.contact_distance(later).map(|d| 1.0 - d),
        ),
        (
            "exit_status",
            2.0,
            Some(1.0 - (earlier.exits - later.exits).abs()),
        ),
        (
            "exit_policies",
            EXIT_POLICIES_PER_WEIGHT * config.weights.exit_policy,
            overlap(&earlier.exit_policies, &later.exit_policies),
        ),
    ];
    let mean = |parts: &[(f64, Option<f64>)]| {
        let (total, weight) = parts
            .iter()
            .filter_map(|(w, v)| v.map(|v| (w * v, *w)))
            .fold((0.0, 0.0), |(t, w), (a, b)| (t + a, w + b));
        if weight > 0.0 {
            total / weight
        } else {
            0.0
        }
    };
    let similarity = mean(
        &components
            .iter()
            .map(|(_, w, v)| (*w, *v))
            .collect::<Vec<_>>(),
    );
    let rare_shared = mean(&infrastructure);
    let mut parts: Vec<(String, f64)> = components
        .into_iter()
        .filter_map(|(name, _, v)| Some((name.to_string(), v?)))
        .collect();
    if let Some(spread) = spread {
        parts.push(("as_spread".to_string(), spread));
    }
    parts.push(("rare_infrastructure".to_string(), rare_shared));
    (similarity, rare_shared, parts)
}

/// Whether a later group (or a join burst) with this signature similarity and rare shared
/// infrastructure continues the removed group.
pub fn is_return(similarity: f64, rare_shared: f64, config: &AttributionConfig) -> bool {
    similarity >= config.return_similarity && rare_shared >= config.return_min_rare_infrastructure
}

/// Every group's signature, when it appeared, and how rare infrastructure is among the groups
/// of each rarity window (a value counts as rare among the groups in the network in its time).
pub struct GroupSignatures {
    pub signatures: Vec<Signature>,
    /// When each group appeared: by the time half of its relays had (a few survivors of a
    /// partial removal that joined a return wave do not make it "earlier").
    pub appeared: Vec<i64>,
    rarity: Vec<SignatureRarity>,
    windows: RarityWindows,
}

impl GroupSignatures {
    pub fn of(profiles: &[Profile], groups: &[Vec<usize>], config: &AttributionConfig) -> Self {
        let signatures: Vec<Signature> = groups.iter().map(|m| signature(profiles, m)).collect();
        let appeared: Vec<i64> = groups
            .iter()
            .map(|members| {
                let mut starts: Vec<i64> =
                    members.iter().map(|&i| profiles[i].first_seen).collect();
                starts.sort_unstable();
                starts[(starts.len() - 1) / 2]
            })
            .collect();
        let windows = RarityWindows::of(profiles, config);
        let present: Vec<std::ops::RangeInclusive<usize>> = groups
            .iter()
            .map(|members| {
                let first = members.iter().map(|&i| profiles[i].first_seen).min();
                let last = members.iter().map(|&i| profiles[i].last_seen).max();
                windows.at(first.unwrap_or(0))..=windows.at(last.unwrap_or(0))
            })
            .collect();
        let rarity = (0..present.iter().map(|r| r.end() + 1).max().unwrap_or(0))
            .map(|w| {
                SignatureRarity::of(
                    signatures
                        .iter()
                        .zip(&present)
                        .filter(move |(_, windows)| windows.contains(&w))
                        .map(|(s, _)| s),
                )
            })
            .collect();
        GroupSignatures {
            signatures,
            appeared,
            rarity,
            windows,
        }
    }

    /// How rare infrastructure is among the groups of the rarity window of `time` (the last
    /// window with groups for a later time).
    pub fn rarity_at(&self, time: i64) -> &SignatureRarity {
        static NONE: std::sync::OnceLock<SignatureRarity> = std::sync::OnceLock::new();
        match self.rarity.len() {
            0 => NONE.get_or_init(SignatureRarity::default),
            n => &self.rarity[self.windows.at(time).min(n - 1)],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shares<K: Ord + Clone>(values: &[K]) -> BTreeMap<K, f64> {
        let mut map = BTreeMap::new();
        for v in values {
            *map.entry(v.clone()).or_default() += 1.0 / values.len() as f64;
        }
        map
    }

    fn group(asns: &[u32], ports: &[u32]) -> Signature {
        Signature {
            asns: shares(asns),
            or_ports: shares(ports),
            os: shares(&["linux".to_string()]),
            version_line: shares(&["0.4.8".to_string()]),
            nickname_shape: shares(&["word".to_string()]),
            contactless: 1.0,
            ..Signature::default()
        }
    }

    /// A removed group on ten hosters (two of them the network's biggest); an unrelated
    /// contactless group on the two big hosters with port 9001, like forty other groups;
    /// the real return wave on eight of the small hosters. Counting every shared value fully,
    /// both pass `return_similarity` (the issue measured 0.909 for such a group); credited by
    /// rarity, only the return wave's shared infrastructure passes.
    #[test]
    fn common_hosters_and_ports_do_not_make_a_return() {
        let removed = group(
            &[1, 2, 101, 102, 103, 104, 105, 106, 107, 108],
            &[9001, 443, 9100],
        );
        let unrelated = group(&[1, 2, 1, 2, 1, 2, 1, 2], &[9001]);
        let wave = group(
            &[101, 102, 103, 104, 105, 106, 107, 108, 1],
            &[9001, 443, 9100],
        );
        let mut all = vec![removed, unrelated, wave];
        for k in 0..40 {
            all.push(group(&[1 + k % 2, 200 + k], &[9001, 443]));
        }
        let rarity = SignatureRarity::of(all.iter());
        let config = AttributionConfig::default();
        let (similarity, rare, parts) = signature_similarity(&all[0], &all[1], &rarity, &config);
        assert!(similarity >= config.return_similarity, "{similarity}");
        assert!(rare < config.return_min_rare_infrastructure, "{parts:?}");
        let (similarity, rare, parts) = signature_similarity(&all[0], &all[2], &rarity, &config);
        assert!(similarity >= config.return_similarity, "{parts:?}");
        assert!(rare >= config.return_min_rare_infrastructure, "{parts:?}");
    }

    /// A removed contactless group on eight hosters; ten relays of another operator on two of
    /// them (its port, its version line, its own nicknames) against ten relays of the return
    /// wave spread over seven: the same hosters, but only the wave spreads over them as the
    /// group did; and exits of the default policy on two of an unusual-policy exit group's
    /// three hosters are no return of it.
    #[test]
    fn another_customer_of_the_same_hosters_is_no_return() {
        let config = AttributionConfig::default();
        let hosters = [101, 102, 103, 104, 105, 106, 107, 108];
        let removed = Signature {
            relays: 80,
            nickname_shape: shares(&["default".to_string()]),
            ..group(&hosters, &[9001, 443])
        };
        let customer = Signature {
            relays: 10,
            ..group(&[101, 101, 101, 101, 101, 102, 102, 102, 102, 102], &[9001])
        };
        let wave = Signature {
            relays: 10,
            nickname_shape: shares(&["default".to_string()]),
            ..group(
                &[101, 102, 103, 104, 105, 106, 107, 101, 102, 103],
                &[9001, 443],
            )
        };
        let mut all = vec![removed, customer, wave];
        for k in 0..20 {
            all.push(group(&[1 + k % 2, 200 + k], &[9001]));
        }
        let rarity = SignatureRarity::of(all.iter());
        let (of_customer, _, parts) = signature_similarity(&all[0], &all[1], &rarity, &config);
        assert!(of_customer < config.return_similarity, "{parts:?}");
        let (of_wave, _, parts) = signature_similarity(&all[0], &all[2], &rarity, &config);
        assert!(of_wave >= config.return_similarity, "{parts:?}");

        let exits = |policy: &str, asns: &[u32]| Signature {
            relays: 10,
            exits: 1.0,
            exit_policies: shares(&[policy.to_string()]),
            ..group(asns, &[9001, 443])
        };
        let (removed, honest, returned) = (
            exits("unusual", &[101, 102, 103]),
            exits("default", &[101, 102, 101, 102]),
            exits("unusual", &[101, 102, 103]),
        );
        let mut all = vec![removed, honest, returned];
        for k in 0..20 {
            all.push(group(&[1 + k % 2, 200 + k], &[9001]));
        }
        let rarity = SignatureRarity::of(all.iter());
        let (of_honest, _, parts) = signature_similarity(&all[0], &all[1], &rarity, &config);
        let (of_returned, _, _) = signature_similarity(&all[0], &all[2], &rarity, &config);
        assert!(of_honest < of_returned, "{parts:?}");
        assert!(of_honest < config.return_similarity, "{parts:?}");
    }

    /// Two removed groups on the same hosters and ports, one of exits, one of guards and
    /// middles, and a later wave of exits there: the wave continues the exit group (in the
    /// 29-month study a KAX17-like group's removal claimed an exit actor's return wave before
    /// the signature compared exit status).
    #[test]
    fn an_exit_group_returns_as_exits() {
        let exits = |asns: &[u32]| Signature {
            exits: 1.0,
            ..group(asns, &[9001, 443])
        };
        let removed_exits = exits(&[101, 102, 103]);
        let removed_middles = group(&[101, 102, 103], &[9001, 443]);
        let wave = exits(&[101, 102, 103]);
        let mut all = vec![removed_exits, removed_middles, wave];
        for k in 0..20 {
            all.push(group(&[1 + k % 2, 200 + k], &[9001]));
        }
        let rarity = SignatureRarity::of(all.iter());
        let config = AttributionConfig::default();
        let (of_exits, _, parts) = signature_similarity(&all[0], &all[2], &rarity, &config);
        assert!(of_exits >= config.return_similarity, "{parts:?}");
        let (of_middles, _, parts) = signature_similarity(&all[1], &all[2], &rarity, &config);
        assert!(of_middles < of_exits, "{parts:?}");
    }
}
