//! Tor software history for the synthetic network: the release table (2018-2023, release
//! dates approximate), how relays pick and upgrade versions ("tracks"), the `platform` and
//! `proto` strings, the recommended-version lists and the consensus method of an era.

use super::rng::Rng;
use super::time::{self, Ts, DAY};

/// One tor release.
#[derive(Debug)]
pub struct Release {
    pub version: &'static str,
    /// (year, month, day) of the release.
    pub date: (i64, u32, u32),
}

impl Release {
    pub fn ts(&self) -> Ts {
        time::ts_from_civil(self.date.0, self.date.1, self.date.2, 16, 0, 0)
    }
    /// "0.4.5" of "0.4.5.10".
    pub fn series(&self) -> &'static str {
        let v = self.version;
        let third_dot = v
            .match_indices('.')
            .map(|(i, _)| i)
            .nth(2)
            .unwrap_or(v.len());
        &v[..third_dot]
    }
    pub fn is_alpha(&self) -> bool {
        self.version.contains('-')
    }
}

macro_rules! releases {
    ($( ($v:expr, $y:expr, $m:expr, $d:expr) ),* $(,)?) => { &[ $( Release { version: $v, date: ($y, $m, $d) } ),* ] };
}

/// Releases in chronological order.
pub static RELEASES: &[Release] = releases![
    ("0.2.9.17", 2018, 9, 10),
    ("0.3.4.9", 2018, 11, 2),
    ("0.3.5.7", 2019, 1, 7),
    ("0.3.5.8", 2019, 2, 21),
    ("0.4.0.5", 2019, 5, 2),
    ("0.4.1.5", 2019, 8, 20),
    ("0.4.1.6", 2019, 9, 19),
    ("0.3.5.9", 2019, 11, 6),
    ("0.4.2.5", 2019, 12, 9),
    ("0.4.2.6", 2020, 1, 30),
    ("0.3.5.10", 2020, 3, 18),
    ("0.4.1.9", 2020, 3, 18),
    ("0.4.2.7", 2020, 3, 18),
    ("0.4.3.5", 2020, 5, 15),
    ("0.3.5.11", 2020, 7, 9),
    ("0.4.2.8", 2020, 7, 9),
    ("0.4.3.6", 2020, 7, 9),
    ("0.4.4.5", 2020, 9, 15),
    ("0.3.5.12", 2020, 11, 12),
    ("0.4.3.7", 2020, 11, 12),
    ("0.4.4.6", 2020, 11, 12),
    ("0.4.5.3-rc", 2021, 1, 12),
    ("0.3.5.13", 2021, 2, 3),
    ("0.4.4.7", 2021, 2, 3),
    ("0.4.5.6", 2021, 2, 15),
    ("0.3.5.14", 2021, 3, 16),
    ("0.4.4.8", 2021, 3, 16),
    ("0.4.5.7", 2021, 3, 16),
    ("0.4.6.1-alpha", 2021, 3, 18),
    ("0.4.6.2-alpha", 2021, 4, 15),
    ("0.4.5.8", 2021, 5, 10),
    ("0.4.6.3-alpha", 2021, 5, 10),
    ("0.3.5.15", 2021, 6, 14),
    ("0.4.4.9", 2021, 6, 14),
    ("0.4.5.9", 2021, 6, 14),
    ("0.4.6.5", 2021, 6, 14),
    ("0.4.6.6", 2021, 6, 30),
    ("0.3.5.16", 2021, 8, 16),
    ("0.4.5.10", 2021, 8, 16),
    ("0.4.6.7", 2021, 8, 16),
    ("0.4.7.1-alpha", 2021, 9, 17),
    ("0.3.5.17", 2021, 10, 26),
    ("0.4.5.11", 2021, 10, 26),
    ("0.4.6.8", 2021, 10, 26),
    ("0.4.7.2-alpha", 2021, 10, 26),
    ("0.4.5.12", 2021, 12, 15),
    ("0.4.6.9", 2021, 12, 15),
    ("0.4.7.3-alpha", 2021, 12, 15),
    ("0.4.6.10", 2022, 2, 4),
    ("0.4.7.4-alpha", 2022, 2, 25),
    ("0.4.7.7", 2022, 4, 27),
    ("0.4.7.8", 2022, 6, 17),
    ("0.4.7.10", 2022, 8, 12),
    ("0.4.7.11", 2022, 11, 10),
    ("0.4.7.12", 2022, 12, 6),
    ("0.4.7.13", 2023, 1, 12),
    ("0.4.8.1-alpha", 2023, 5, 24),
    ("0.4.7.14", 2023, 8, 3),
    ("0.4.8.4", 2023, 8, 24),
    ("0.4.8.9", 2023, 11, 9),
    ("0.4.8.10", 2023, 12, 8),
];

pub fn index_of(version: &str) -> Option<usize> {
    RELEASES.iter().position(|r| r.version == version)
}

/// How a relay chooses versions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Track {
    /// Newest stable release, upgraded after a per-relay delay.
    Latest,
    /// Alpha/rc releases too.
    Alpha,
    /// Stays on the 0.3.5 LTS series (until 2022), then latest.
    Lts,
    /// Upgrades only when the operator occasionally logs in (every few months).
    Laggard,
    /// Always exactly this release.
    Pinned(usize),
}

impl Track {
    pub fn parse(s: &str) -> anyhow::Result<Track> {
        Ok(match s {
            "latest" => Track::Latest,
            "alpha" => Track::Alpha,
            "lts" => Track::Lts,
            "laggard" => Track::Laggard,
            _ => {
                let v = s
                    .strip_prefix("pinned:")
                    .ok_or_else(|| anyhow::anyhow!("unknown version habit {s:?}"))?;
                Track::Pinned(
                    index_of(v).ok_or_else(|| anyhow::anyhow!("unknown tor version {v:?}"))?,
                )
            }
        })
    }

    fn allows(self, r: &Release, t: Ts) -> bool {
        match self {
            Track::Alpha => true,
            Track::Lts => {
                !r.is_alpha()
                    && (r.series() == "0.3.5" || t >= time::ts_from_civil(2022, 6, 1, 0, 0, 0))
            }
            _ => !r.is_alpha(),
        }
    }
}

/// A relay's version behaviour: its track and upgrade delay.
#[derive(Debug, Clone, Copy)]
pub struct VersionHabit {
    pub track: Track,
    /// Seconds between a release and this relay's upgrade to it.
    pub delay: Ts,
    /// Laggards: period of the operator's visits and their phase.
    pub visit_period: Ts,
    pub visit_phase: Ts,
}

impl VersionHabit {
    pub fn random(rng: &mut Rng) -> VersionHabit {
        let track = match rng.weighted(&[0.62, 0.04, 0.10, 0.24]) {
            0 => Track::Latest,
            1 => Track::Alpha,
            2 => Track::Lts,
            _ => Track::Laggard,
        };
        Self::with_track(rng, track)
    }

    pub fn with_track(rng: &mut Rng, track: Track) -> VersionHabit {
        let delay_days = rng.lognormal(9.0, 1.0).clamp(0.2, 120.0);
        VersionHabit {
            track,
            delay: (delay_days * DAY as f64) as Ts,
            visit_period: ((rng.range(60, 300)) * DAY),
            visit_phase: rng.range(0, 300) * DAY,
        }
    }

    /// The release this relay runs at time `t`.
    pub fn version_at(&self, t: Ts) -> usize {
        if let Track::Pinned(i) = self.track {
            return i;
        }
        let horizon = match self.track {
            Track::Laggard => {
                // the last operator visit before t
                let k = (t - self.visit_phase).div_euclid(self.visit_period);
                self.visit_phase + k * self.visit_period
            }
            _ => t - self.delay,
        };
        let mut best = 0;
        for (i, r) in RELEASES.iter().enumerate() {
            if r.ts() <= horizon
                && self.track.allows(r, t)
                && version_key(r.version) >= version_key(RELEASES[best].version)
            {
                best = i;
            }
        }
        best
    }

    /// Times in (from, to) at which the version changes (upgrades), with the new release.
    pub fn upgrades(&self, from: Ts, to: Ts) -> Vec<(Ts, usize)> {
        if let Track::Pinned(_) = self.track {
            return Vec::new();
        }
        let mut out = Vec::new();
        let mut current = self.version_at(from);
        let mut candidates: Vec<Ts> = RELEASES
            .iter()
            .map(|r| match self.track {
                Track::Laggard => {
                    let k = (r.ts() - self.visit_phase).div_euclid(self.visit_period) + 1;
                    self.visit_phase + k * self.visit_period
                }
                _ => r.ts() + self.delay,
            })
            .filter(|&t| t > from && t < to)
            .collect();
        candidates.sort();
        candidates.dedup();
        for t in candidates {
            let v = self.version_at(t);
            if v != current {
                out.push((t, v));
                current = v;
            }
        }
        out
    }
}

/// Sort key of a version string ("0.4.5.10" > "0.4.5.9"; "-alpha" < "-rc" < release).
pub fn version_key(v: &str) -> (u32, u32, u32, u32, u32) {
    let (nums, tag) = v.split_once('-').unwrap_or((v, ""));
    let mut it = nums.split('.').map(|x| x.parse::<u32>().unwrap_or(0));
    let t = match tag {
        "" => 3,
        t if t.starts_with("rc") => 2,
        _ => 1,
    };
    (
        it.next().unwrap_or(0),
        it.next().unwrap_or(0),
        it.next().unwrap_or(0),
        it.next().unwrap_or(0),
        t,
    )
}

/// The `proto` line content a release advertises.
pub fn proto(release: usize) -> &'static str {
    let v = RELEASES[release].version;
    let k = version_key(v);
    if k < (0, 4, 0, 0, 0) {
        "Cons=1-2 Desc=1-2 DirCache=1-2 HSDir=1-2 HSIntro=3-4 HSRend=1-2 Link=1-5 LinkAuth=1,3 Microdesc=1-2 Relay=1-2"
    } else if k < (0, 4, 4, 0, 0) {
        "Cons=1-2 Desc=1-2 DirCache=1-2 FlowCtrl=1 HSDir=1-2 HSIntro=3-4 HSRend=1-2 Link=1-5 LinkAuth=1,3 Microdesc=1-2 Padding=2 Relay=1-2"
    } else if k < (0, 4, 5, 0, 0) {
        "Cons=1-2 Desc=1-2 DirCache=1-2 FlowCtrl=1 HSDir=1-2 HSIntro=3-5 HSRend=1-2 Link=1-5 LinkAuth=1,3 Microdesc=1-2 Padding=2 Relay=1-2"
    } else if k < (0, 4, 7, 0, 0) {
        "Cons=1-2 Desc=1-2 DirCache=1-2 FlowCtrl=1 HSDir=1-2 HSIntro=3-5 HSRend=1-2 Link=1-5 LinkAuth=1,3 Microdesc=1-2 Padding=2 Relay=1-3"
    } else {
        "Cons=1-2 Desc=1-2 DirCache=2 FlowCtrl=1-2 HSDir=2 HSIntro=4-5 HSRend=1-2 Link=1-5 LinkAuth=1,3 Microdesc=1-2 Padding=2 Relay=1-4"
    }
}

/// Operating-system part of a `platform` line.
pub const OSES: &[&str] = &[
    "Linux",
    "FreeBSD",
    "Windows 8 [server]",
    "OpenBSD",
    "NetBSD",
    "Darwin",
];
pub const OS_WEIGHTS: &[f64] = &[0.86, 0.07, 0.025, 0.02, 0.01, 0.015];

/// Resolves a scenario OS name ("Linux", "Windows", ...) to the platform spelling.
pub fn os_named(name: &str) -> &'static str {
    OSES.iter()
        .find(|o| o.to_lowercase().starts_with(&name.to_lowercase()))
        .copied()
        .unwrap_or("Linux")
}

/// Versions the authorities recommend at time `t`: the newest releases of each live series.
pub fn recommended(t: Ts, include_alpha: bool) -> String {
    let mut out: Vec<&Release> = Vec::new();
    let mut series: Vec<&str> = Vec::new();
    for r in RELEASES.iter().rev() {
        if r.ts() > t || (r.is_alpha() && !include_alpha) {
            continue;
        }
        let s = r.series();
        let n_series = series.iter().filter(|x| **x == s).count();
        if n_series >= 3 || (!series.contains(&s) && series.len() >= 3 && s != "0.3.5") {
            continue;
        }
        if r.ts() < t - 600 * DAY {
            continue;
        }
        series.push(s);
        out.push(r);
    }
    out.sort_by_key(|r| version_key(r.version));
    out.iter().map(|r| r.version).collect::<Vec<_>>().join(",")
}

/// Consensus method in use at time `t` (2019-2022 authorities).
pub fn consensus_method(t: Ts) -> u32 {
    let ym = time::Month::of(t);
    match (ym.year, ym.month) {
        (y, _) if y < 2019 => 28,
        (2019, m) if m < 11 => 28,
        (2019, _) | (2020, _) => 29,
        (2021, m) if m < 6 => 30,
        (2021, _) => 31,
        (2022, m) if m < 6 => 31,
        _ => 32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_chronological_and_versions_upgrade() {
        assert!(RELEASES.windows(2).all(|w| w[0].ts() <= w[1].ts()));
        let mut r = Rng::new(5);
        let h = VersionHabit::with_track(&mut r, Track::Latest);
        let a = time::ts_from_civil(2021, 8, 1, 0, 0, 0);
        let b = time::ts_from_civil(2021, 12, 31, 0, 0, 0);
        let v0 = h.version_at(a);
        let ups = h.upgrades(a, b);
        assert!(!ups.is_empty());
        assert!(
            version_key(RELEASES[ups.last().unwrap().1].version)
                > version_key(RELEASES[v0].version)
        );
        assert_eq!(RELEASES[index_of("0.4.5.10").unwrap()].series(), "0.4.5");
        let rec = recommended(b, false);
        assert!(rec.contains("0.4.6.9") && rec.contains("0.3.5.17"), "{rec}");
    }
}
