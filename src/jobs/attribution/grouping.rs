//! Relays into groups: the strong signals' groups first, then every candidate pair scored
//! (in parallel, only accepted links kept) and groups merged along the links only where
//! enough of them support a merge, never two groups that each declare a contact.

use std::collections::{BTreeMap, HashMap};

use rayon::prelude::*;

use super::candidates::{Blocks, JoinWindows, Partners};
use super::config::AttributionConfig;
use super::profile::Profile;
use super::score::{accepts, PairScorer};
use super::signals::{Link, Signal, DECLARATIONS, STRONG};

pub struct UnionFind {
    parent: Vec<usize>,
}

impl UnionFind {
    pub fn new(n: usize) -> Self {
        UnionFind {
            parent: (0..n).collect(),
        }
    }
    pub fn find(&mut self, x: usize) -> usize {
        let mut root = x;
        while self.parent[root] != root {
            root = self.parent[root];
        }
        let mut y = x;
        while self.parent[y] != root {
            let next = self.parent[y];
            self.parent[y] = root;
            y = next;
        }
        root
    }
    pub fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            // Smaller index wins: deterministic roots.
            let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.parent[hi] = lo;
        }
    }
}

/// Merges the groups the strong signals formed (in `uf`) along the accepted links, resisting
/// the chaining of single-link clustering: two groups merge only when enough links join them
/// (one for two lone relays; otherwise at least two, and a tenth of the smaller group's
/// relays), the best-supported merges first, repeated until nothing changes; and never two
/// declared operators: groups most of whose relays declare an operator, by a contact several
/// relays share or a mutual family (had two declared the same one, the strong signals would
/// have joined them already). A contact only one relay writes is that relay's unverified
/// claim and declares nothing (a made-up contact per relay would otherwise hide a whole actor);
/// a minority of an actor's relays sharing a contact (or two minorities, two) does not make
/// the actor a declared operator.
pub fn merge_with_support(
    profiles: &[Profile],
    links: &BTreeMap<(usize, usize), Link>,
    uf: &mut UnionFind,
) {
    let n = profiles.len();
    let mut size = vec![0usize; n];
    let mut declaring_relays = vec![0usize; n];
    let mut declaring = vec![false; n];
    for ((a, b), link) in links {
        if link.signals.iter().any(|s| DECLARATIONS.contains(&s.name)) {
            declaring[*a] = true;
            declaring[*b] = true;
        }
    }
    for (i, &declares) in declaring.iter().enumerate() {
        let root = uf.find(i);
        size[root] += 1;
        declaring_relays[root] += usize::from(declares);
    }
    let declared = |root: usize, size: &[usize], declaring_relays: &[usize]| {
        declaring_relays[root] > 0 && 2 * declaring_relays[root] >= size[root]
    };
    let required = |a: usize, b: usize| -> usize {
        if a == 1 && b == 1 {
            1
        } else {
            2.max(a.min(b).div_ceil(10))
        }
    };
    loop {
        // Links and summed scores between current groups.
        let mut between: BTreeMap<(usize, usize), (usize, f64)> = BTreeMap::new();
        for (&(a, b), link) in links {
            let (ra, rb) = (uf.find(a), uf.find(b));
            if ra != rb {
                let e = between.entry((ra.min(rb), ra.max(rb))).or_default();
                e.0 += 1;
                e.1 += link.score();
            }
        }
        let mut ready: Vec<((usize, usize), f64)> = between
            .into_iter()
            .filter(|((a, b), (count, _))| *count >= required(size[*a], size[*b]))
            .map(|(key, (_, score))| (key, score))
            .collect();
        ready.sort_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
        let mut merged = false;
        for ((a, b), _) in ready {
            let (ra, rb) = (uf.find(a), uf.find(b));
            if ra == rb
                || (declared(ra, &size, &declaring_relays)
                    && declared(rb, &size, &declaring_relays))
            {
                continue;
            }
            uf.union(ra, rb);
            let root = uf.find(ra);
            let other = if root == ra { rb } else { ra };
            size[root] += size[other];
            declaring_relays[root] += declaring_relays[other];
            merged = true;
        }
        if !merged {
            break;
        }
    }
}

/// The relays numbered by first appearance: the profile index of each number, and the profiles
/// in that order.
fn by_first_appearance(profiles: &[Profile]) -> (Vec<usize>, Vec<&Profile>) {
    let mut by_time: Vec<usize> = (0..profiles.len()).collect();
    by_time.sort_by_key(|&i| (profiles[i].first_seen, i));
    let timed = by_time.iter().map(|&i| &profiles[i]).collect();
    (by_time, timed)
}

/// Every candidate partner of one relay with all the evidence between them (not only what
/// an accepted link keeps), strongest first: (partner, evidence, whether it is a link).
pub fn explain(
    profiles: &[Profile],
    config: &AttributionConfig,
    relay: usize,
) -> Vec<(usize, Link, bool)> {
    let (by_time, timed) = by_first_appearance(profiles);
    let blocks = Blocks::of(&timed, config);
    let joins = JoinWindows::of(&timed, config);
    let scorer = PairScorer::new(&timed, config, &blocks);
    let a = by_time
        .iter()
        .position(|&i| i == relay)
        .expect("a relay of the profiles");
    let mut partners = Partners::new(timed.len());
    partners.collect(a, &timed, config, &blocks, &joins, true);
    let mut found: Vec<(usize, Link, bool)> = partners
        .list
        .iter()
        .filter_map(|c| {
            let link = scorer.evidence(a, c, true)?;
            let accepted = accepts(&link, config);
            Some((by_time[c.relay], link, accepted))
        })
        .collect();
    found.sort_by(|x, y| y.1.score().total_cmp(&x.1.score()).then(x.0.cmp(&y.0)));
    found
}

/// The result of grouping.
pub struct Grouping {
    /// Group number of each relay (index into `groups`), None for relays in no group.
    pub group_of: Vec<Option<usize>>,
    /// Members of each group (relay indices, sorted).
    pub groups: Vec<Vec<usize>>,
    /// Accepted links (i < j) with their evidence.
    pub links: BTreeMap<(usize, usize), Link>,
    /// The keys of `links` touching each relay.
    pub links_of: Vec<Vec<(usize, usize)>>,
}

impl Grouping {
    /// Whether each group is a declared operator: most of its relays declare one (a contact
    /// several of them share, or a mutual family). A minority of an actor's relays sharing a
    /// contact does not make the actor a declared operator.
    pub fn declared_groups(&self) -> Vec<bool> {
        let mut declaring: Vec<bool> = vec![false; self.group_of.len()];
        for ((a, b), link) in &self.links {
            if link.signals.iter().any(|s| DECLARATIONS.contains(&s.name)) {
                declaring[*a] = true;
                declaring[*b] = true;
            }
        }
        self.groups
            .iter()
            .map(|members| 2 * members.iter().filter(|&&m| declaring[m]).count() >= members.len())
            .collect()
    }
}

/// Scores candidate pairs and groups relays.
pub fn group(profiles: &[Profile], config: &AttributionConfig) -> Grouping {
    let n = profiles.len();
    let mut uf = UnionFind::new(n);
    let mut links: BTreeMap<(usize, usize), Link> = BTreeMap::new();
    let strong = |links: &mut BTreeMap<(usize, usize), Link>,
                  uf: &mut UnionFind,
                  members: &[usize],
                  name: &'static str| {
        // A star is enough to connect them; evidence recorded on each star edge.
        for &m in &members[1..] {
            let key = (members[0].min(m), members[0].max(m));
            links.entry(key).or_default().signals.push(Signal {
                name,
                weight: config.link_threshold,
            });
            uf.union(members[0], m);
        }
    };

    // 1. Strong signals.
    let mut by_contact: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    let mut by_ed: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    let index: HashMap<&str, usize> = profiles
        .iter()
        .enumerate()
        .map(|(i, p)| (p.fingerprint.as_str(), i))
        .collect();
    for (i, p) in profiles.iter().enumerate() {
        if let Some(c) = &p.contact {
            by_contact.entry(c).or_default().push(i);
        }
        if let Some(k) = &p.ed25519 {
            by_ed.entry(k).or_default().push(i);
        }
    }
    for members in by_contact.values().filter(|m| m.len() > 1) {
        strong(&mut links, &mut uf, members, "same_contact");
    }
    for members in by_ed.values().filter(|m| m.len() > 1) {
        strong(&mut links, &mut uf, members, "same_ed25519_key");
    }
    for (i, p) in profiles.iter().enumerate() {
        for f in &p.family {
            if let Some(&j) = index.get(f.as_str()) {
                if i < j && profiles[j].family.contains(&p.fingerprint) {
                    strong(&mut links, &mut uf, &[i, j], "mutual_family");
                }
            }
        }
    }

    // 2. and 3. Candidate pairs (relays sharing a block key), each scored once from its
    // lower-numbered relay, in parallel; only the accepted links are kept. Here relays are
    // numbered by first appearance: a relay's candidates are mostly relays of its own months,
    // so the per-relay tables the scorer reads for them lie near each other in memory (in
    // fingerprint order they are spread over the whole history, and a long history's reads
    // miss the cache). A pair's evidence does not depend on which of its relays is first.
    let (by_time, timed) = by_first_appearance(profiles);
    let blocks = Blocks::of(&timed, config);
    let joins = JoinWindows::of(&timed, config);
    let scorer = PairScorer::new(&timed, config, &blocks);
    let accepted: Vec<((usize, usize), Link)> = (0..n)
        .into_par_iter()
        .map_init(
            || Partners::new(n),
            |partners, a| {
                partners.collect(a, &timed, config, &blocks, &joins, false);
                partners
                    .list
                    .iter()
                    .filter_map(|c| {
                        let (x, y) = (by_time[a], by_time[c.relay]);
                        scorer.score(a, c).map(|link| ((x.min(y), x.max(y)), link))
                    })
                    .collect::<Vec<_>>()
            },
        )
        .flatten_iter()
        .collect();
    for (key, link) in accepted {
        links.entry(key).or_default().signals.extend(link.signals);
    }
    merge_with_support(profiles, &links, &mut uf);

    // 4. Groups.
    let mut members_of: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..n {
        members_of.entry(uf.find(i)).or_default().push(i);
    }
    // Groups held together by a strong signal (a declared operator) count from two relays;
    // groups found through behaviour and likeness need `min_group_relays`.
    let mut strongly_linked = vec![false; n];
    for ((a, b), link) in &links {
        if link.signals.iter().any(|s| STRONG.contains(&s.name)) {
            strongly_linked[*a] = true;
            strongly_linked[*b] = true;
        }
    }
    let mut groups: Vec<Vec<usize>> = members_of
        .into_values()
        .filter(|m| {
            m.len() >= config.min_group_relays
                || (m.len() >= 2 && m.iter().any(|&i| strongly_linked[i]))
        })
        .collect();
    groups.sort_by_key(|m| (profiles[m[0]].first_seen, m[0]));
    let mut group_of = vec![None; n];
    for (g, members) in groups.iter().enumerate() {
        for &i in members {
            group_of[i] = Some(g);
        }
    }
    let mut links_of = vec![Vec::new(); n];
    for &(a, b) in links.keys() {
        links_of[a].push((a, b));
        links_of[b].push((a, b));
    }
    Grouping {
        group_of,
        groups,
        links,
        links_of,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::time::HOUR_MS;

    /// Three relays on one address among 40 with addresses, ports and versions of their own:
    /// the two that ran at the same time are linked by `same_address`, the one that took the
    /// address a year later is linked to neither.
    #[test]
    fn one_address_links_relays_near_in_time_only() {
        const DAY: i64 = 86_400_000;
        let mut profiles: Vec<Profile> = (0..40)
            .map(|i| Profile {
                fingerprint: format!("{i:040X}"),
                first_seen: 0,
                last_seen: 30 * DAY,
                nickname: format!("filler{i}x{}", i * 7),
                contact: Some(format!("operator {i}")),
                addresses: vec![format!("198.{i}.{i}.1")],
                version: Some(format!("0.4.{i}.1")),
                or_ports: vec![1000 + i],
                ..Profile::default()
            })
            .collect();
        for (k, first_seen) in [(37, 0), (38, 5 * DAY), (39, 400 * DAY)] {
            let p = &mut profiles[k];
            p.addresses = vec!["203.0.113.5".to_string()];
            p.first_seen = first_seen;
            p.last_seen = first_seen + 20 * DAY;
            p.or_ports = vec![9001];
            p.version = Some("0.4.9.9".to_string());
            p.contact = None;
        }
        let grouping = super::group(&profiles, &AttributionConfig::default());
        let names = |a: usize, b: usize| -> Vec<&str> {
            grouping
                .links
                .get(&(a, b))
                .map_or(Vec::new(), |l| l.signals.iter().map(|s| s.name).collect())
        };
        assert!(
            names(37, 38).contains(&"same_address"),
            "{:?}",
            names(37, 38)
        );
        assert!(
            grouping.links_of[39].is_empty(),
            "{:?}",
            grouping.links_of[39]
        );
    }

    /// Two contactless relays sharing a /24, a version, a port and restart hours among 40
    /// relays of their year: the evidence between them is the same when nine later years of
    /// unrelated relays follow (rarity is counted among the relays of a window), and it would
    /// not be with one window over the whole history (`ln(N)` grows with it).
    #[test]
    fn a_pairs_evidence_does_not_depend_on_the_length_of_the_history() {
        const DAY: i64 = 86_400_000;
        let relay = |i: u32, first_seen: i64| Profile {
            fingerprint: format!("{i:040X}"),
            first_seen,
            last_seen: first_seen + 200 * DAY,
            nickname: format!("filler{i}x{}", i * 7),
            contact: Some(format!("operator {i}")),
            addresses: vec![format!("{}.{}.{}.1", 11 + i / 250, i % 250, i / 7)],
            version: Some(format!("0.4.{}.{}", i % 9, i % 5)),
            or_ports: vec![1000 + i],
            restarts: [first_seen + i64::from(i % 24 + 1) * HOUR_MS].into(),
            ..Profile::default()
        };
        let mut year: Vec<Profile> = (0..40)
            .map(|i| relay(i, (i64::from(i) % 30) * DAY))
            .collect();
        for (k, address) in [(37, "203.0.113.5"), (38, "203.0.113.77")] {
            let p = &mut year[k];
            p.addresses = vec![address.to_string()];
            p.or_ports = vec![9001];
            p.version = Some("0.4.9.9".to_string());
            p.contact = None;
            p.restarts = [10, 50, 90].iter().map(|d| d * DAY).collect();
        }
        let decade: Vec<Profile> = year
            .iter()
            .cloned()
            .chain((40..400).map(|i| relay(i, (400 + 37 * i64::from(i - 40) % 3285) * DAY)))
            .collect();
        let evidence =
            |profiles: &[Profile], config: &AttributionConfig| -> Vec<(&'static str, f64)> {
                let grouping = super::group(profiles, config);
                let link = grouping.links.get(&(37, 38)).expect("the pair links");
                link.signals.iter().map(|s| (s.name, s.weight)).collect()
            };
        let config = AttributionConfig::default();
        let in_its_year = evidence(&year, &config);
        assert!(
            in_its_year.iter().any(|(name, _)| *name == "same_slash24"),
            "{in_its_year:?}"
        );
        assert_eq!(evidence(&decade, &config), in_its_year);
        let whole_history = AttributionConfig {
            rarity_window_days: 100_000,
            ..AttributionConfig::default()
        };
        assert_eq!(evidence(&year, &whole_history), in_its_year);
        assert_ne!(evidence(&decade, &whole_history), in_its_year);
    }

    /// One removal event of 30 relays that share nothing else (different hosters, versions,
    /// ports, nicknames): the 12 the authorities rejected (their votes dropped them first)
    /// become one group when they declare no operator, whether they write no contact or each a
    /// contact only it writes (made-up ones give no cover); rejected as relays of six declared
    /// operators (a policy rejection, end-of-life versions say), no group holds relays of two
    /// operators; the relays that merely left in the same hour link nothing.
    #[test]
    fn relays_the_authorities_rejected_together_link_unless_they_declare_many_operators() {
        const DAY: i64 = 86_400_000;
        let event = 40 * DAY;
        let relays = |contact: &dyn Fn(u32) -> Option<String>| -> Vec<Profile> {
            let mut relays: Vec<Profile> = (0..30u32)
                .map(|i| Profile {
                    fingerprint: format!("{i:040X}"),
                    first_seen: i64::from(i) * DAY,
                    last_seen: event - HOUR_MS,
                    nickname: format!("n{i}q{}", i * 31 % 97),
                    contact: if i < 12 { contact(i) } else { None },
                    addresses: vec![format!("{}.{}.7.1", 20 + i, i * 3)],
                    version: Some(format!("0.4.{}.{}", i % 7, i % 11)),
                    or_ports: vec![2000 + i],
                    removed_in: vec![event],
                    rejected_in: if i < 12 { vec![event] } else { Vec::new() },
                    ..Profile::default()
                })
                .collect();
            for i in 0..relays.len() {
                let c = relays[i].contact.clone();
                relays[i].contact_shared =
                    c.is_some() && relays.iter().filter(|p| p.contact == c).count() > 1;
            }
            relays
        };
        let config = AttributionConfig::default();
        for undeclared in [relays(&|_| None), relays(&|i| Some(format!("made up {i}")))] {
            let grouping = super::group(&undeclared, &config);
            assert_eq!(grouping.groups.len(), 1, "{:?}", grouping.groups);
            assert_eq!(grouping.groups[0], (0..12).collect::<Vec<usize>>());
            let link = &grouping.links[&(0, 1)];
            assert!(link.signals.iter().any(|s| s.name == "rejected_together"));
        }
        let policy = relays(&|i| Some(format!("operator {}", i / 2)));
        let grouping = super::group(&policy, &config);
        for members in &grouping.groups {
            let contacts: std::collections::BTreeSet<_> =
                members.iter().map(|&m| policy[m].contact.clone()).collect();
            assert_eq!(contacts.len(), 1, "{:?}", grouping.groups);
        }
    }
}
