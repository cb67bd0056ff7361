//! TorDNSEL exit lists (`@type tordnsel 1.0`): one per hour, listing every exit-capable relay
//! seen in a consensus during the previous 24 hours with its descriptor time, last status
//! and the address the exit scanner observed (sometimes not the OR address).

use std::fmt::Write as _;

use super::asn::fmt_ipv4;
use super::keys::hex_upper;
use super::rng::{mix, tag};
use super::time::{push_ts, Ts, HOUR};
use super::world::World;

/// Download time of the exit list of hour `h` (a couple of minutes after valid-after).
pub fn downloaded(w: &World, h: i64) -> Ts {
    w.va(h) + 120 + (mix(&[w.seed, tag("exit-download"), h as u64]) % 5) as Ts
}

/// Renders the exit list fetched during hour `h`.
pub fn render(w: &World, h: i64) -> String {
    let dl = downloaded(w, h);
    let mut s = String::with_capacity(200_000);
    s.push_str("@type tordnsel 1.0\nDownloaded ");
    push_ts(&mut s, dl);
    s.push('\n');
    for &r in &w.by_fp {
        let rel = &w.relays[r];
        if !rel.policy.allows_exit() {
            continue;
        }
        // last published consensus (h-23 ..= h) listing the relay
        let Some(last) = (0..24)
            .map(|k| h - k)
            .find(|&x| w.published(x) && w.present(r, x))
        else {
            continue;
        };
        let va = w.va(last);
        let Some(d) = w.desc_before(r, va) else {
            continue;
        };
        let jitter = mix(&[w.seed, tag("exit-status"), r as u64, last as u64]);
        // the list is fetched two minutes past the hour, after the consensus was seen
        let last_status = va + 30 + (jitter % 80) as Ts;
        // scans every 6 h at a per-relay phase; never before the current presence interval
        let phase = (rel.key_seed % (6 * HOUR as u64)) as Ts;
        let scan = (last_status - phase).div_euclid(6 * HOUR) * 6 * HOUR + phase;
        let iv_start = rel.up[rel.up.partition_point(|x| x.0 <= last) - 1].0;
        let scan = scan
            .max(w.va(iv_start) + 240 + (jitter % 900) as Ts)
            .min(last_status);
        let addr = rel.exit_addr.unwrap_or_else(|| w.addr_at(r, va));
        let _ = write!(s, "ExitNode {}\nPublished ", hex_upper(&rel.fp));
        push_ts(&mut s, w.descs[d].published);
        s.push_str("\nLastStatus ");
        push_ts(&mut s, last_status);
        let _ = write!(s, "\nExitAddress {} ", fmt_ipv4(addr));
        push_ts(&mut s, scan);
        s.push('\n');
    }
    s
}
