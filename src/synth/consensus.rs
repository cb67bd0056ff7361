//! Network-status consensus rendering (2020-2022 shape, consensus methods 28-32): header with
//! the nine 2021 directory authorities, router entries with flags assigned by dir-spec-like
//! rules (see `status`, shared with the votes), and the footer with
//! `bandwidth-weights` computed by dir-spec 3.8.3.

use std::fmt::Write as _;

use super::authorities::AUTHORITIES;
use super::keys::{b64, hex_upper, push_object};
use super::rng::{tag, Rng};
use super::status::{entries_where, push_entry, push_period, Entry, F_EXIT, F_GUARD, PARAMS};
use super::time::DAY;
use super::versions;
use super::world::World;

/// The relays listed at hour `h` with their flags (consensus order).
fn entries(w: &World, h: i64) -> Vec<Entry> {
    entries_where(w, h, |r| w.present(r, h))
}

/// dir-spec 3.8.3 bandwidth weights (method >= 11), returned in the footer's key order.
pub fn bandwidth_weights(g: i64, m: i64, e: i64, d: i64) -> [(&'static str, i64); 19] {
    let (g, m, e, d) = (g.max(1), m.max(1), e.max(1), d.max(1));
    let ws: i64 = 10_000;
    let t = g + m + e + d;
    let (wgg, wgd, wmg, wme, wmd, wee, wed);
    if 3 * e >= t && 3 * g >= t {
        // Case 1: neither is scarce
        wgd = ws / 3;
        wed = ws / 3;
        wmd = ws / 3;
        wee = (ws * (e + g + m)) / (3 * e);
        wme = ws - wee;
        wmg = (ws * (2 * g - e - m)) / (3 * g);
        wgg = ws - wmg;
    } else if 3 * e < t && 3 * g < t {
        // Case 2: both scarce
        let r = e.min(g);
        let s = e.max(g);
        if r + d < s {
            wgg = ws;
            wee = ws;
            wmg = 0;
            wme = 0;
            wmd = 0;
            if e < g {
                wed = ws;
                wgd = 0;
            } else {
                wed = 0;
                wgd = ws;
            }
        } else {
            let mut x_wee = (ws * (e - g + m)) / e;
            let mut x_wed = (ws * (d - 2 * e + 4 * g - 2 * m)) / (3 * d);
            let mut x_wme = (ws * (g - m)) / e;
            let mut x_wmd = (ws - x_wed) / 2;
            let mut x_wgd = x_wmd;
            let bad = [x_wee, x_wed, x_wme, x_wmd]
                .iter()
                .any(|&v| !(0..=ws).contains(&v));
            if bad {
                // Case 2b2
                x_wee = ws;
                x_wed = (ws * (d - 2 * e + g + m)) / (3 * d);
                x_wmd = (ws * (d - 2 * m + g + e)) / (3 * d);
                x_wme = 0;
                if x_wmd < 0 {
                    x_wmd = 0;
                }
                x_wgd = ws - x_wed - x_wmd;
            }
            wgg = ws;
            wmg = 0;
            wee = x_wee;
            wed = x_wed;
            wme = x_wme;
            wmd = x_wmd;
            wgd = x_wgd;
        }
    } else {
        // Case 3: one of E or G is scarce
        let s = e.min(g);
        if 3 * (s + d) < t {
            if g < e {
                wgg = ws;
                wgd = ws;
                wmd = 0;
                wed = 0;
                wmg = 0;
                wme = if e < m { 0 } else { (ws * (e - m)) / (2 * e) };
                wee = ws - wme;
            } else {
                wee = ws;
                wed = ws;
                wmd = 0;
                wgd = 0;
                wme = 0;
                wmg = if g < m { 0 } else { (ws * (g - m)) / (2 * g) };
                wgg = ws - wmg;
            }
        } else if g < e {
            // Case 3bg
            wgg = ws;
            wgd = (ws * (d - 2 * g + e + m)) / (3 * d);
            wmg = 0;
            wee = (ws * (e + m)) / (2 * e);
            wme = ws - wee;
            wmd = (ws - wgd) / 2;
            wed = wmd;
        } else {
            // Case 3be
            wee = ws;
            wed = (ws * (d - 2 * e + g + m)) / (3 * d);
            wme = 0;
            wgg = (ws * (g + m)) / (2 * g);
            wmg = ws - wgg;
            wmd = (ws - wed) / 2;
            wgd = wmd;
        }
    }
    [
        ("Wbd", wmd),
        ("Wbe", wme),
        ("Wbg", wmg),
        ("Wbm", ws),
        ("Wdb", ws),
        ("Web", ws),
        ("Wed", wed),
        ("Wee", wee),
        ("Weg", wed),
        ("Wem", wee),
        ("Wgb", ws),
        ("Wgd", wgd),
        ("Wgg", wgg),
        ("Wgm", wgg),
        ("Wmb", ws),
        ("Wmd", wmd),
        ("Wme", wme),
        ("Wmg", wmg),
        ("Wmm", ws),
    ]
}

fn shared_random(w: &World, day: i64) -> String {
    b64(&Rng::stream(&[w.seed, tag("shared-rand"), day as u64]).bytes(32))
}

/// Renders the consensus of hour `h` (with its `@type` line).
pub fn render(w: &World, h: i64) -> String {
    let va = w.va(h);
    let list = entries(w, h);
    let mut s = String::with_capacity(list.len() * 360 + 12_000);
    s.push_str(
        "@type network-status-consensus-3 1.0\nnetwork-status-version 3\nvote-status consensus\n",
    );
    let _ = writeln!(s, "consensus-method {}", versions::consensus_method(va));
    push_period(&mut s, va);
    s.push_str("recommended-client-protocols Cons=1-2 Desc=1-2 DirCache=1 HSDir=1 HSIntro=3 HSRend=1 Link=4 Microdesc=1-2 Relay=2\n");
    s.push_str("recommended-relay-protocols Cons=1-2 Desc=1-2 DirCache=1 HSDir=1 HSIntro=3 HSRend=1 Link=4 Microdesc=1-2 Relay=2\n");
    s.push_str("required-client-protocols Cons=1-2 Desc=1-2 Link=4 Microdesc=1-2 Relay=2\n");
    s.push_str("required-relay-protocols Cons=1 Desc=1 DirCache=1 HSDir=1 HSIntro=3 HSRend=1 Link=3-4 Microdesc=1 Relay=1-2\n");
    let _ = writeln!(s, "params {PARAMS}");
    let day = va.div_euclid(DAY);
    let _ = writeln!(
        s,
        "shared-rand-previous-value 9 {}",
        shared_random(w, day - 1)
    );
    let _ = writeln!(s, "shared-rand-current-value 9 {}", shared_random(w, day));
    for (i, a) in AUTHORITIES.iter().enumerate() {
        let vd = Rng::stream(&[w.seed, tag("vote-digest"), h as u64, i as u64]).bytes(20);
        let _ = writeln!(
            s,
            "dir-source {} {} {} {} {} {}\ncontact {}\nvote-digest {}",
            a.0,
            a.1,
            a.2,
            a.3,
            a.4,
            a.5,
            a.6,
            hex_upper(&vd)
        );
    }
    let (mut g, mut m, mut e, mut d) = (0i64, 0i64, 0i64, 0i64);
    for en in &list {
        push_entry(&mut s, w, en);
        let wt = en.weight as i64;
        match (en.flags & F_GUARD != 0, en.flags & F_EXIT != 0) {
            (true, true) => d += wt,
            (true, false) => g += wt,
            (false, true) => e += wt,
            (false, false) => m += wt,
        }
    }
    s.push_str("directory-footer\nbandwidth-weights");
    for (k, v) in bandwidth_weights(g, m, e, d) {
        let _ = write!(s, " {k}={v}");
    }
    s.push('\n');
    let quarter = (va.div_euclid(DAY) / 91) as u64;
    for (i, a) in AUTHORITIES.iter().enumerate() {
        let skd = Rng::stream(&[w.seed, tag("auth-signing-key"), i as u64, quarter]).bytes(20);
        let _ = writeln!(s, "directory-signature {} {}", a.1, hex_upper(&skd));
        let sig = Rng::stream(&[w.seed, tag("consensus-signature"), h as u64, i as u64]).bytes(256);
        push_object(&mut s, "SIGNATURE", &sig);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_follow_dir_spec_case_3be() {
        // the 2026 fixture's totals are unknown, but its relations must hold in our output
        let w = bandwidth_weights(30_000_000, 20_000_000, 8_000_000, 9_000_000);
        let get = |k: &str| w.iter().find(|x| x.0 == k).unwrap().1;
        assert_eq!(get("Wee"), 10_000);
        assert_eq!(get("Wgd"), get("Wmd"));
        assert_eq!(get("Wgg") + get("Wmg"), 10_000);
        assert_eq!(get("Weg"), get("Wed"));
        assert_eq!(get("Wbd"), get("Wmd"));
        // case 1
        let w1 = bandwidth_weights(10, 10, 10, 10);
        assert_eq!(w1.iter().find(|x| x.0 == "Wgd").unwrap().1, 3333);
    }
}
