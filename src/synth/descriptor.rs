//! Server-descriptor rendering (2021 shape, like tor 0.4.5/0.4.6 relays): all key material is
//! derived deterministically from the relay's key seed and the publication time, and the
//! descriptor digest is the SHA-1 over `router ` .. `\nrouter-signature\n`.

use std::fmt::Write as _;

use super::asn::fmt_ipv4;
use super::keys::{self, b64, b64_nopad, push_object};
use super::policy::Policy;
use super::rng::{tag, Rng};
use super::time::{push_ts, Ts, DAY};
use super::versions::{proto, RELEASES};
use super::world::World;

const ED_SIGNING_PERIOD: Ts = 30 * DAY;
const ONION_KEY_PERIOD: Ts = 28 * DAY;

/// The complete archive file (with `@type`) of descriptor `d` and its digest.
pub fn render(w: &World, d: usize) -> (String, [u8; 20]) {
    let desc = &w.descs[d];
    let r = &w.relays[desc.relay];
    let mut s = String::with_capacity(3000);
    s.push_str("@type server-descriptor 1.0\n");
    let body_start = s.len();
    let ip = fmt_ipv4(desc.addr);
    let _ = writeln!(
        s,
        "router {} {} {} 0 {}",
        r.nickname, ip, r.or_port, r.dir_port
    );

    // Ed25519 signing key, rotated every 30 days (per-relay phase).
    let ed_epoch =
        (desc.published + (r.key_seed % ED_SIGNING_PERIOD as u64) as Ts) / ED_SIGNING_PERIOD;
    let mut erng = Rng::stream(&[r.key_seed, tag("ed-signing"), ed_epoch as u64]);
    let mut ed_signing = [0u8; 32];
    erng.fill(&mut ed_signing);
    let mut sig = [0u8; 64];
    erng.fill(&mut sig);
    let ed_expires = (ed_epoch + 1) * ED_SIGNING_PERIOD
        - (r.key_seed % ED_SIGNING_PERIOD as u64) as Ts
        + 2 * DAY;
    s.push_str("identity-ed25519\n");
    push_object(
        &mut s,
        "ED25519 CERT",
        &keys::ed_cert(4, ed_expires, &ed_signing, &r.master_ed, &sig),
    );
    s.push_str("master-key-ed25519 ");
    s.push_str(&b64_nopad(&r.master_ed));
    s.push('\n');
    if let Some(v6) = &r.ipv6 {
        let _ = writeln!(s, "or-address [{}]:{}", v6, r.or_port);
    }
    let _ = writeln!(
        s,
        "platform Tor {} on {}",
        RELEASES[desc.version].version, r.os
    );
    let _ = writeln!(s, "proto {}", proto(desc.version));
    s.push_str("published ");
    push_ts(&mut s, desc.published);
    s.push('\n');
    let _ = writeln!(s, "fingerprint {}", keys::fingerprint_groups(&r.fp));
    let _ = writeln!(s, "uptime {}", (desc.published - desc.proc_start).max(0));
    let _ = writeln!(
        s,
        "bandwidth {} {} {}",
        r.rate.0,
        r.rate.1,
        desc.observed.min(r.rate.0)
    );

    // Per-descriptor random parts: extra-info digests and the two signatures.
    let mut drng = Rng::stream(&[r.key_seed, tag("descriptor"), desc.published as u64]);
    let ei_sha1 = drng.bytes(20);
    let ei_sha256 = drng.bytes(32);
    let _ = writeln!(
        s,
        "extra-info-digest {} {}",
        keys::hex_upper(&ei_sha1),
        b64_nopad(&ei_sha256)
    );

    // Onion keys, rotated every 28 days.
    let onion_epoch =
        (desc.published + (r.key_seed % ONION_KEY_PERIOD as u64) as Ts) / ONION_KEY_PERIOD;
    let mut orng = Rng::stream(&[r.key_seed, tag("onion-key"), onion_epoch as u64]);
    let onion_der = keys::rsa_public_der(&mut orng);
    let ntor = orng.bytes(32);
    let onion_cross = orng.bytes(128);
    let mut ntor_sig = [0u8; 64];
    orng.fill(&mut ntor_sig);
    let ntor_bit = orng.below(2);
    s.push_str("onion-key\n");
    push_object(&mut s, "RSA PUBLIC KEY", &onion_der);
    s.push_str("signing-key\n");
    push_object(&mut s, "RSA PUBLIC KEY", &r.signing_der);
    s.push_str("onion-key-crosscert\n");
    push_object(&mut s, "CROSSCERT", &onion_cross);
    let _ = writeln!(s, "ntor-onion-key-crosscert {ntor_bit}");
    let ntor_expires = (onion_epoch + 2) * ONION_KEY_PERIOD;
    push_object(
        &mut s,
        "ED25519 CERT",
        &keys::ed_cert(0x0A, ntor_expires, &r.master_ed, &ed_signing, &ntor_sig),
    );

    if let Some(f) = r.family {
        s.push_str("family");
        for &m in &w.families[f] {
            if m != desc.relay || r.family_lists_self {
                s.push_str(" $");
                s.push_str(&keys::hex_upper(&w.relays[m].fp));
            }
        }
        s.push('\n');
    }
    if r.dircache {
        s.push_str("hidden-service-dir\n");
    }
    if let Some(c) = &r.contact {
        s.push_str("contact ");
        s.push_str(c);
        s.push('\n');
    }
    s.push_str("ntor-onion-key ");
    s.push_str(&b64(&ntor));
    s.push('\n');
    s.push_str(&r.policy.lines(&ip));
    if r.ipv6.is_some() && r.policy != Policy::RejectAll {
        let _ = writeln!(s, "ipv6-policy {}", r.policy.summary());
    }
    if r.dircache {
        s.push_str("tunnelled-dir-server\n");
    }
    s.push_str("router-sig-ed25519 ");
    s.push_str(&b64_nopad(&drng.bytes(64)));
    s.push('\n');
    s.push_str("router-signature\n");
    let digest = keys::sha1(&s.as_bytes()[body_start..]);
    push_object(&mut s, "SIGNATURE", &drng.bytes(128));
    (s, digest)
}
