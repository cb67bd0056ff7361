//! The attribution's settings: signal weights and thresholds (a pipeline's `[attribution]`
//! table, or `--set`; defaults and their reasons in `docs/attribution.md`).

use serde::{Deserialize, Serialize};

/// Signal weights (see `docs/attribution.md`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Weights {
    pub slash24: f64,
    pub slash16: f64,
    pub ipv6_slash48: f64,
    pub asn: f64,
    pub version: f64,
    pub os: f64,
    pub or_port: f64,
    pub dir_port: f64,
    pub nickname_shape: f64,
    pub similar_nickname: f64,
    pub exit_policy: f64,
    pub bandwidth_rate: f64,
    pub no_contact: f64,
    pub same_address: f64,
    /// On one address, a relay that left in a re-key event (most of the event's addresses
    /// back under new fingerprints within the return window) and the one first seen there
    /// after it: the operator's new key (instead of `same_address`).
    pub rekeyed: f64,
    pub restart_sync: f64,
    pub session_end_sync: f64,
    pub join_batch: f64,
    pub removed_together: f64,
    /// Relays of one removal event that at least two authorities stopped listing before
    /// the consensus did (a reject list): on top of `removed_together`, shared among the
    /// operators the rejected relays declare.
    pub rejected_together: f64,
}

impl Default for Weights {
    fn default() -> Self {
        Weights {
            slash24: 1.0,
            slash16: 0.5,
            ipv6_slash48: 1.0,
            asn: 0.6,
            version: 0.5,
            os: 0.3,
            or_port: 0.6,
            dir_port: 0.4,
            nickname_shape: 1.0,
            similar_nickname: 0.5,
            exit_policy: 2.0,
            bandwidth_rate: 0.8,
            no_contact: 0.3,
            same_address: 1.5,
            rekeyed: 2.5,
            restart_sync: 2.0,
            session_end_sync: 2.0,
            join_batch: 1.2,
            removed_together: 1.0,
            rejected_together: 1.0,
        }
    }
}

/// Attribution parameters (a pipeline's `[attribution]` table, or `--set`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AttributionConfig {
    /// A pair of relays links when its evidence reaches this score...
    pub link_threshold: f64,
    /// ...and it has a behaviour signal, or its configuration likeness alone reaches this.
    pub config_only_threshold: f64,
    /// Smallest group reported as an actor.
    pub min_group_relays: usize,
    /// Blocks (relays sharing a key) larger than this produce no candidate pairs.
    pub max_block_relays: usize,
    /// Relays with more restarts / session ends than this are left out of the sync signals
    /// (residential relays that come and go every day).
    pub sync_max_events: usize,
    /// Jaccard index of restart / session-end hours needed for a sync signal (each hour
    /// weighted by how rare it is: see `sync_full_evidence`).
    pub sync_min_jaccard: f64,
    /// Shared hours give their full sync weight when the rarity of the shared hours adds up
    /// to this (an hour shared by k of N relays counts ln(N/k)/ln(N): a lone pair's hour
    /// counts ~1, an hour in which a fifth of the network restarted ~0.2).
    pub sync_full_evidence: f64,
    /// How common a configuration value or a restart hour is, is counted among the relays of
    /// its time: windows of this many days from the first consensus of the data (a value
    /// shared by k of the N relays of a window weighs ln(N/k)/ln(N)). A decade of history
    /// then weighs a value as its own year does, not by how long the history is.
    pub rarity_window_days: u32,
    /// Behaviour evidence (sync, joins, same address, removals) a link needs before it may
    /// link on behaviour; below it, only `config_only_threshold` can.
    pub behaviour_min: f64,
    /// Relays on one IPv4 address are `same_address` only when their times in the network
    /// are at most this many days apart (cloud addresses are handed to the next customer).
    pub same_address_days: u32,
    /// Relays first seen within this many hours of each other form a join batch.
    pub join_window_hours: u32,
    /// A group appearing up to this many days after another group's removal may continue it...
    pub return_window_days: u32,
    /// ...when its infrastructure signature is at least this similar...
    pub return_similarity: f64,
    /// ...and the ASes, /16s and ORPorts it shares with the removed group, each credited by
    /// how rare it is among the groups, cover at least this share of it.
    pub return_min_rare_infrastructure: f64,
    /// Relays of a removed group's kind on its ASes left in no group that join within this
    /// many days after the removal...
    pub return_burst_days: u32,
    /// ...and within this many hours of each other form a return wave of their own
    /// ([`burst`])...
    pub return_burst_hours: u32,
    /// ...when so many joins in such a window have at most this probability at the usual
    /// rate, over all the windows tested (and the wave's signature matches the group's).
    pub return_burst_significance: f64,
    /// A relay in no group that left in a removal event with a group, or joined in a batch of
    /// an actor's relays, joins it when the odds that it is theirs reach this: the cohort's
    /// odds (their relays in it against the others) times how much likelier the relay's traits
    /// are under their habits than under the network's.
    pub adopt_min_odds: f64,
    pub weights: Weights,
}

impl Default for AttributionConfig {
    fn default() -> Self {
        AttributionConfig {
            link_threshold: 2.0,
            config_only_threshold: 3.5,
            min_group_relays: 3,
            max_block_relays: 2000,
            sync_max_events: 60,
            sync_min_jaccard: 0.5,
            sync_full_evidence: 2.0,
            rarity_window_days: 365,
            behaviour_min: 0.5,
            same_address_days: 30,
            join_window_hours: 3,
            return_window_days: 365,
            return_similarity: 0.75,
            return_min_rare_infrastructure: 0.5,
            return_burst_days: 30,
            return_burst_hours: 48,
            return_burst_significance: 0.001,
            adopt_min_odds: 20.0,
            weights: Weights::default(),
        }
    }
}
