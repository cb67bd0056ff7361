//! Habits: how a set of relays is configured, trait by trait (AS, /16, ORPort, DirPort, tor
//! version, OS, nickname style, contact and exit status), as smoothed shares; and how much
//! more likely one relay's traits are under an actor's habits than under the network's (a
//! naive-Bayes likelihood ratio). One relay can't be compared with an actor's signature the
//! way a group is (a single relay either shares a value or not, and every contact-less Linux
//! relay shares the universal ones); against the network's own shares, a value the actor
//! uses and few others do (its odd ORPort, its /16s) counts for a lot, a popular hoster or
//! port 9001 for nothing or against.

use std::collections::HashMap;

use super::profile::Profile;
use super::signals::prefix;
use super::signature::shape_class;

/// The traits compared, in order.
pub const TRAITS: [&str; 9] = [
    "as", "slash16", "or_port", "dir_port", "version", "os", "nickname", "contact", "exit",
];

/// How many relays of the network's habits an actor's shares are smoothed with.
const PRIOR_RELAYS: f64 = 2.0;

/// The value of a trait the data does not hold (a contact without a descriptor).
const UNKNOWN: &str = "unknown";

/// A relay's value of each trait.
pub fn traits(p: &Profile) -> [String; 9] {
    [
        p.asns.first().map_or(String::new(), u32::to_string),
        p.addresses
            .first()
            .and_then(|a| prefix(a, 2))
            .unwrap_or_default(),
        p.or_ports.first().map_or(String::new(), u32::to_string),
        p.dir_port.is_some().to_string(),
        p.version.clone().unwrap_or_default(),
        p.os.as_deref().unwrap_or_default().to_lowercase(),
        // The style, not the name: `numbered`, not `numbered:relay#` (a value the group has
        // never used is no evidence it is the group's).
        shape_class(&p.nickname)
            .split(':')
            .next()
            .unwrap_or_default()
            .to_string(),
        p.contact_status().name().to_string(),
        p.is_exit().to_string(),
    ]
}

/// Counts of each trait's values among some relays.
#[derive(Debug, Clone)]
pub struct Habits {
    counts: Vec<HashMap<String, f64>>,
    relays: f64,
    /// Per trait, how many of its values exactly one relay has.
    used_once: Vec<f64>,
}

impl Habits {
    pub fn of<'p>(relays: impl Iterator<Item = &'p Profile>) -> Habits {
        let mut habits = Habits {
            counts: vec![HashMap::new(); TRAITS.len()],
            relays: 0.0,
            used_once: vec![0.0; TRAITS.len()],
        };
        for p in relays {
            habits.add(&traits(p));
        }
        habits
    }

    pub fn add(&mut self, values: &[String; 9]) {
        self.change(values, 1.0);
    }

    /// Takes one relay's values out again (to compare it with the others' habits).
    pub fn remove(&mut self, values: &[String; 9]) {
        self.change(values, -1.0);
    }

    fn change(&mut self, values: &[String; 9], by: f64) {
        for (t, v) in values.iter().enumerate() {
            let count = self.counts[t].entry(v.clone()).or_default();
            if *count == 1.0 {
                self.used_once[t] -= 1.0;
            }
            *count += by;
            if *count == 1.0 {
                self.used_once[t] += 1.0;
            }
            if *count <= 0.0 {
                self.counts[t].remove(v);
            }
        }
        self.relays += by;
    }

    /// The smoothed share of value `v` of trait `t` (half a relay added to each of the
    /// `values` values the trait can take).
    fn share(&self, t: usize, v: &str, values: f64) -> f64 {
        (self.counts[t].get(v).copied().unwrap_or(0.0) + 0.5) / (self.relays + 0.5 * values)
    }

    /// How likely the actor's next relay has a value of trait `t` it has not used yet
    /// (Good–Turing: its values used once, plus `PRIOR_RELAYS`, over its relays plus
    /// `PRIOR_RELAYS`). Such a value is drawn like anyone's: an actor on one hoster rarely
    /// moves (a new hoster counts against a relay), an actor spread over a thousand residential
    /// /16s often does (a /16 it has not used yet costs little).
    fn new_value_share(&self, t: usize) -> f64 {
        ((self.used_once[t] + PRIOR_RELAYS) / (self.relays + PRIOR_RELAYS)).min(1.0)
    }

    /// How many times more likely the relay's traits are under `self` (an actor's habits)
    /// than under `network`'s, and each trait's factor. The actor's share of a value mixes
    /// its own shares with the network's, weighted by how often it takes up new values
    /// ([`Self::new_value_share`]; with no value used once this is `PRIOR_RELAYS` relays of
    /// the network's habits added to its own): a value it never used counts against the
    /// relay, however rare it is, the more the more settled its habits are.
    pub fn likelihood_ratio(
        &self,
        network: &Habits,
        values: &[String; 9],
    ) -> (f64, Vec<(String, f64)>) {
        let mut log_ratio = 0.0;
        let mut factors = Vec::with_capacity(TRAITS.len());
        for (t, v) in values.iter().enumerate() {
            // A value the data does not hold is no evidence either way.
            if v == UNKNOWN {
                continue;
            }
            // The vocabulary: the network's values of the trait, and one for the unseen.
            let vocabulary = network.counts[t].len() as f64 + 1.0;
            let in_network = network.share(t, v, vocabulary);
            let own = self.counts[t].get(v).copied().unwrap_or(0.0);
            let in_actor = self.new_value_share(t) * in_network
                + (own / self.relays.max(1.0)) * (1.0 - self.new_value_share(t));
            let ratio = in_actor / in_network;
            log_ratio += ratio.ln();
            factors.push((
                format!("{} {}", TRAITS[t], if v.is_empty() { "?" } else { v }),
                ratio,
            ));
        }
        (log_ratio.exp(), factors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A network of 200 relays on two big hosters with port 9001, and an actor of 20 there on
    /// two odd ports and an old version of its own: a relay of the actor's is tens of times
    /// likelier under its habits than under the network's; a relay of the network on the
    /// actor's hoster is less likely under them.
    #[test]
    fn odd_values_count_and_popular_ones_do_not() {
        let relay = |asn: u32, port: u32, version: &str| Profile {
            asns: vec![asn],
            or_ports: vec![port],
            version: Some(version.to_string()),
            addresses: vec![format!("10.{}.0.1", asn % 250)],
            ..Profile::default()
        };
        let mut network: Vec<Profile> = (0..200)
            .map(|i| relay(1 + i % 2, 9001, "0.4.8.9"))
            .collect();
        let actor: Vec<Profile> = (0..20)
            .map(|i| relay(1 + i % 2, 7443 + 1000 * (i % 2), "0.4.7.1"))
            .collect();
        network.extend(actor.iter().cloned());
        let (actor_habits, network_habits) = (Habits::of(actor.iter()), Habits::of(network.iter()));
        let (of_actor, _) =
            actor_habits.likelihood_ratio(&network_habits, &traits(&relay(2, 8443, "0.4.7.1")));
        let (of_stranger, factors) =
            actor_habits.likelihood_ratio(&network_habits, &traits(&relay(2, 9001, "0.4.8.9")));
        assert!(of_actor > 50.0, "{of_actor}");
        assert!(of_stranger < 1.0, "{of_stranger} {factors:?}");
        // Taking a relay out leaves the habits of the others.
        let mut all = Habits::of(actor.iter());
        all.remove(&traits(&actor[3]));
        let others = Habits::of(
            actor
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != 3)
                .map(|(_, p)| p),
        );
        let probe = traits(&relay(2, 8443, "0.4.7.1"));
        assert_eq!(
            all.likelihood_ratio(&network_habits, &probe).0,
            others.likelihood_ratio(&network_habits, &probe).0
        );
        assert_eq!(all.used_once, others.used_once);
    }
}
