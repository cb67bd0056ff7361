//! What relays declare about their operator, shared by the removal events (operator
//! departures) and the attribution (strong signals, declared operators): the normalised
//! `contact` line with the placeholders people leave in it, and mutual `family` declarations.

use std::collections::HashMap;

/// Contact lines that identify nobody: torrc's sample line and the usual "nothing here"
/// answers. Compared after [`normalise_contact`]'s folding.
const PLACEHOLDERS: [&str; 16] = [
    "none",
    "n/a",
    "na",
    "-",
    "--",
    "?",
    "unknown",
    "nobody",
    "anonymous",
    "anon",
    "no",
    "null",
    "contact",
    "email",
    "your email",
    "admin",
];

/// Fragments that mark a copied sample contact (`Random Person <nobody AT example dot com>`,
/// `tor-operator@your-emailaddress-domain`).
const PLACEHOLDER_FRAGMENTS: [&str; 6] = [
    "nobody at example",
    "example dot com",
    "@example.com",
    "your-emailaddress-domain",
    "you@example",
    "<your email",
];

/// Whether a normalised contact is a placeholder.
pub fn is_placeholder_contact(normalised: &str) -> bool {
    PLACEHOLDERS.contains(&normalised)
        || PLACEHOLDER_FRAGMENTS.iter().any(|f| normalised.contains(f))
}

/// Normalised contact: lower case, whitespace collapsed; blank or a placeholder → None.
pub fn normalise_contact(raw: &str) -> Option<String> {
    let text = raw
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    (!text.is_empty() && !is_placeholder_contact(&text)).then_some(text)
}

/// Groups of relays that declare one operator: the same (non-placeholder) contact, or a
/// mutual family declaration, transitively. Input: each relay's fingerprint, raw contact and
/// `family` entries (`$HEX`); output: a group number per relay (relays declaring nothing
/// shared get a group of their own).
pub fn declared_groups(relays: &[(&str, Option<&str>, &[String])]) -> Vec<usize> {
    let n = relays.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn find(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    let union = |parent: &mut Vec<usize>, a: usize, b: usize| {
        let (ra, rb) = (find(parent, a), find(parent, b));
        if ra != rb {
            parent[ra.max(rb)] = ra.min(rb);
        }
    };
    let mut by_contact: HashMap<String, usize> = HashMap::new();
    let index: HashMap<&str, usize> = relays.iter().enumerate().map(|(i, r)| (r.0, i)).collect();
    for (i, (_, contact, _)) in relays.iter().enumerate() {
        if let Some(c) = contact.and_then(normalise_contact) {
            match by_contact.get(&c) {
                Some(&j) => union(&mut parent, i, j),
                None => {
                    by_contact.insert(c, i);
                }
            }
        }
    }
    for (i, (fp, _, family)) in relays.iter().enumerate() {
        for f in family.iter() {
            let Some(&j) = index.get(f.trim_start_matches('$')) else {
                continue;
            };
            let mutual = relays[j].2.iter().any(|g| g.trim_start_matches('$') == *fp);
            if mutual {
                union(&mut parent, i, j);
            }
        }
    }
    (0..n).map(|i| find(&mut parent, i)).collect()
}

/// The largest group of relays declaring one operator (see [`declared_groups`]), as indices
/// into `relays`, when it has at least two relays (ties: the group of the earliest relay).
pub fn largest_declared_group(relays: &[(&str, Option<&str>, &[String])]) -> Option<Vec<usize>> {
    let groups = declared_groups(relays);
    let mut sizes: std::collections::BTreeMap<usize, usize> = Default::default();
    for g in &groups {
        *sizes.entry(*g).or_default() += 1;
    }
    let (&group, &size) = sizes
        .iter()
        .max_by_key(|(g, n)| (**n, std::cmp::Reverse(**g)))?;
    (size >= 2).then(|| (0..relays.len()).filter(|&i| groups[i] == group).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contacts_normalise_and_placeholders_are_nobody() {
        assert_eq!(
            normalise_contact("  Tor  OPS <A@B>\t"),
            Some("tor ops <a@b>".into())
        );
        assert_eq!(normalise_contact(" \t"), None);
        assert_eq!(
            normalise_contact("Random Person <nobody AT example dot com>"),
            None
        );
        assert_eq!(
            normalise_contact("0xFFFFFFFF Random Person <nobody AT example dot com>"),
            None
        );
        assert_eq!(normalise_contact("None"), None);
        assert_eq!(
            normalise_contact("tor-operator@your-emailaddress-domain"),
            None
        );
        assert!(normalise_contact("noc at example dot org").is_some());
    }

    #[test]
    fn declared_groups_join_contacts_and_mutual_families_only() {
        let fam = |list: &[&str]| -> Vec<String> { list.iter().map(|s| format!("${s}")).collect() };
        let (a, b, c, d, e) = (fam(&["B"]), fam(&["A"]), fam(&["A"]), fam(&[]), fam(&[]));
        let relays: Vec<(&str, Option<&str>, &[String])> = vec![
            ("A", None, &a),
            ("B", None, &b),          // mutual with A
            ("C", Some("ops@x"), &c), // names A, A does not name C
            ("D", Some("OPS@x "), &d),
            ("E", Some("none"), &e),
        ];
        let g = declared_groups(&relays);
        assert_eq!(g[0], g[1]);
        assert_ne!(g[0], g[2]);
        assert_eq!(g[2], g[3]);
        assert_ne!(g[4], g[2]);
        // Two groups of two: the earlier one.
        assert_eq!(largest_declared_group(&relays), Some(vec![0, 1]));
        assert_eq!(largest_declared_group(&relays[3..]), None);
    }
}
