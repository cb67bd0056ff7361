//! What consensuses and votes share (network-status documents): the header constants, the
//! period lines, and the router entries with the flags the dir-spec-like rules give the
//! listed relays.

use std::fmt::Write as _;

use super::asn::fmt_ipv4;
use super::keys::b64_nopad;
use super::time::{push_ts, Ts, DAY, HOUR};
use super::versions::{self, proto, RELEASES};
use super::world::World;

pub(super) const KNOWN_FLAGS: &str =
    "Authority BadExit Exit Fast Guard HSDir NoEdConsensus Running Stable StaleDesc V2Dir Valid";

pub(super) const PARAMS: &str = "CircuitPriorityHalflifeMsec=30000 DoSCircuitCreationEnabled=1 DoSConnectionEnabled=1 DoSConnectionMaxConcurrentCount=50 DoSRefuseSingleHopClientRendezvous=1 ExtendByEd25519ID=1 KISTSchedRunInterval=2 NumDirectoryGuards=3 NumEntryGuards=1 NumNTorsPerTAP=100 UseOptimisticData=1 bwauthpid=1 cbttestfreq=10 hs_service_max_rdv_failures=1 hsdir_spread_store=4 pb_disablepct=0 sendme_emit_min_version=1 usecreatefast=0";

/// One listed relay with what its entry needs.
pub(super) struct Entry {
    relay: usize,
    desc: usize,
    pub(super) weight: u32,
    measured: bool,
    bw_kbs: u64,
    uptime: Ts,
    pub(super) flags: u16,
}

pub(super) const F_EXIT: u16 = 1;
const F_FAST: u16 = 2;
pub(super) const F_GUARD: u16 = 4;
const F_HSDIR: u16 = 8;
const F_STABLE: u16 = 16;
const F_STALE: u16 = 32;
const F_V2DIR: u16 = 64;

fn flag_line(f: u16) -> String {
    let mut s = String::from("s");
    for (bit, name) in [
        (F_EXIT, "Exit"),
        (F_FAST, "Fast"),
        (F_GUARD, "Guard"),
        (F_HSDIR, "HSDir"),
        (0, "Running"),
        (F_STABLE, "Stable"),
        (F_STALE, "StaleDesc"),
        (F_V2DIR, "V2Dir"),
        (0, "Valid"),
    ] {
        if bit == 0 || f & bit != 0 {
            s.push(' ');
            s.push_str(name);
        }
    }
    s
}

fn percentile(mut v: Vec<u64>, q: f64) -> u64 {
    if v.is_empty() {
        return 0;
    }
    v.sort_unstable();
    v[((v.len() - 1) as f64 * q) as usize]
}

/// The relays `listed` selects at hour `h` (those with a descriptor by then), with the flags
/// the dir-spec-like rules give them among each other, in consensus order.
pub(super) fn entries_where(w: &World, h: i64, listed: impl Fn(usize) -> bool) -> Vec<Entry> {
    let va = w.va(h);
    let mut out: Vec<Entry> = Vec::with_capacity(w.relays.len());
    for &r in &w.by_fp {
        if !listed(r) {
            continue;
        }
        let Some(d) = w.desc_before(r, va) else {
            continue;
        };
        let desc = &w.descs[d];
        let (weight, measured) = w.weight(r, h, desc.observed);
        let rel = &w.relays[r];
        out.push(Entry {
            relay: r,
            desc: d,
            weight,
            measured,
            bw_kbs: desc.observed.min(rel.rate.0) / 1000,
            uptime: va - desc.proc_start,
            flags: 0,
        });
    }
    // Thresholds after dir-spec 3.4.2, with uptime standing in for MTBF/WFU: Fast = top 7/8
    // or >= 100 kB/s; Stable = uptime in the top 70 % or >= 7 days; Guard = Fast, Stable,
    // known >= 8 days, measured, and weight in the top quarter or >= 2000.
    let fast_min = percentile(out.iter().map(|e| e.bw_kbs).collect(), 0.125).min(100);
    let stable_min =
        percentile(out.iter().map(|e| e.uptime as u64).collect(), 0.3).min(7 * DAY as u64) as Ts;
    let guard_w = percentile(
        out.iter()
            .filter(|e| e.measured)
            .map(|e| e.weight as u64)
            .collect(),
        0.75,
    )
    .min(2000);
    for e in &mut out {
        let rel = &w.relays[e.relay];
        let desc = &w.descs[e.desc];
        let mut f = 0;
        if rel.policy.exit_flag() {
            f |= F_EXIT;
        }
        let fast = e.bw_kbs >= fast_min;
        let stable = e.uptime >= stable_min;
        if fast {
            f |= F_FAST;
        }
        if stable {
            f |= F_STABLE;
        }
        if rel.dircache {
            f |= F_V2DIR;
            if fast && stable && e.uptime >= 96 * HOUR {
                f |= F_HSDIR;
            }
        }
        let known = h - rel.birth >= 8 * 24;
        if fast && stable && known && e.measured && !rel.flaky && e.weight as u64 >= guard_w {
            f |= F_GUARD;
        }
        if va - desc.published > 18 * HOUR {
            f |= F_STALE;
        }
        e.flags = f;
    }
    out
}

/// Appends a relay's `r`, `a`, `s`, `v`, `pr`, `w` and `p` lines.
pub(super) fn push_entry(s: &mut String, w: &World, en: &Entry) {
    let rel = &w.relays[en.relay];
    let desc = &w.descs[en.desc];
    s.push_str("r ");
    s.push_str(&rel.nickname);
    s.push(' ');
    s.push_str(&b64_nopad(&rel.fp));
    s.push(' ');
    s.push_str(&b64_nopad(&desc.digest));
    s.push(' ');
    push_ts(s, desc.published);
    let _ = writeln!(
        s,
        " {} {} {}",
        fmt_ipv4(desc.addr),
        rel.or_port,
        rel.dir_port
    );
    if let Some(v6) = &rel.ipv6 {
        let _ = writeln!(s, "a [{}]:{}", v6, rel.or_port);
    }
    s.push_str(&flag_line(en.flags));
    let _ = writeln!(
        s,
        "\nv Tor {}\npr {}",
        RELEASES[desc.version].version,
        proto(desc.version)
    );
    if en.measured {
        let _ = writeln!(s, "w Bandwidth={}", en.weight);
    } else {
        let _ = writeln!(s, "w Bandwidth={} Unmeasured=1", en.weight);
    }
    s.push_str("p ");
    s.push_str(rel.policy.summary());
    s.push('\n');
}

/// The header lines a consensus and the votes for it share: the period's times, the voting
/// delays, the recommended versions and the known flags.
pub(super) fn push_period(s: &mut String, va: Ts) {
    for (kw, t) in [
        ("valid-after", va),
        ("fresh-until", va + HOUR),
        ("valid-until", va + 3 * HOUR),
    ] {
        s.push_str(kw);
        s.push(' ');
        push_ts(s, t);
        s.push('\n');
    }
    s.push_str("voting-delay 300 300\n");
    let _ = writeln!(s, "client-versions {}", versions::recommended(va, true));
    let _ = writeln!(s, "server-versions {}", versions::recommended(va, false));
    let _ = writeln!(s, "known-flags {KNOWN_FLAGS}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_lines_are_sorted() {
        assert_eq!(
            flag_line(F_EXIT | F_FAST | F_GUARD | F_STABLE | F_V2DIR),
            "s Exit Fast Guard Running Stable V2Dir Valid"
        );
    }
}
