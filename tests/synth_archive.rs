//! Integration tests of the synthetic CollecTor archive generator: format fidelity against real
//! fixtures, digest/fingerprint self-consistency, ground-truth consistency with the documents,
//! churn, missing consensuses, AS table coverage and determinism.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine as _;
use relaytrail::synth::truth::{OutageJson, RelayJson, RemovalJson, ReturnJson};
use relaytrail::synth::{consensus::bandwidth_weights, generate_archive, GenerateOptions};
use sha1::{Digest, Sha1};

/// One parsed consensus entry.
#[derive(Debug, Clone)]
struct Entry {
    fp: String,
    digest: String,
    published: String,
    addr: String,
    flags: Vec<String>,
    weight: i64,
}

struct Archive {
    _dir: tempfile::TempDir,
    root: PathBuf,
    /// valid-after -> (document text, entries)
    consensuses: BTreeMap<String, (String, Vec<Entry>)>,
    /// hex digest -> (tarball month, member name, bytes)
    descriptors: HashMap<String, (String, String, Vec<u8>)>,
    exit_lists: Vec<(String, String)>,
    relays: Vec<RelayJson>,
    removals: Vec<RemovalJson>,
    outages: Vec<OutageJson>,
    returns: Vec<ReturnJson>,
    missing: Vec<String>,
}

fn read_tar_xz(path: &Path) -> Vec<(String, Vec<u8>)> {
    let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut ar = tar::Archive::new(liblzma::read::XzDecoder::new(f));
    let mut out = Vec::new();
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let name = e.path().unwrap().to_string_lossy().to_string();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        out.push((name, data));
    }
    out
}

fn b64_to_hex(s: &str) -> String {
    hex::encode_upper(STANDARD_NO_PAD.decode(s).expect("base64 without padding"))
}

fn parse_entries(doc: &str) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    for line in doc.lines() {
        let t: Vec<&str> = line.split(' ').collect();
        match t[0] {
            "r" => out.push(Entry {
                fp: b64_to_hex(t[2]),
                digest: b64_to_hex(t[3]).to_lowercase(),
                published: format!("{} {}", t[4], t[5]),
                addr: t[6].to_string(),
                flags: Vec::new(),
                weight: 0,
            }),
            "s" => out.last_mut().unwrap().flags = t[1..].iter().map(|s| s.to_string()).collect(),
            "w" => {
                out.last_mut().unwrap().weight =
                    t[1].trim_start_matches("Bandwidth=").parse().unwrap()
            }
            _ => {}
        }
    }
    out
}

fn load<T: serde::de::DeserializeOwned>(root: &Path, name: &str) -> T {
    serde_json::from_str(&std::fs::read_to_string(root.join("ground_truth").join(name)).unwrap())
        .unwrap()
}

fn options(out: &Path, relays: u32, months: u32, seed: u64) -> GenerateOptions {
    let mut o = GenerateOptions::new(out);
    o.start = "2021-09".into();
    o.months = months;
    o.relays = relays;
    o.seed = seed;
    o.xz_preset = Some("0".into()); // fast; the format does not depend on the preset
    o
}

/// A two-month archive of the default scenario, generated once per test binary.
fn archive() -> &'static Archive {
    static A: OnceLock<Archive> = OnceLock::new();
    A.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("raw");
        generate_archive(&options(&root, 120, 2, 7)).expect("generation works");
        let mut consensuses = BTreeMap::new();
        let mut descriptors = HashMap::new();
        let mut exit_lists = Vec::new();
        for entry in walk(&root) {
            let name = entry.file_name().unwrap().to_string_lossy().to_string();
            if name.starts_with("consensuses-") {
                for (member, data) in read_tar_xz(&entry) {
                    let text = String::from_utf8(data).unwrap();
                    let va = text
                        .lines()
                        .find(|l| l.starts_with("valid-after "))
                        .unwrap()[12..]
                        .to_string();
                    assert!(
                        member.ends_with(&format!("{}-consensus", va.replace([' ', ':'], "-"))),
                        "{member} vs {va}"
                    );
                    let entries = parse_entries(&text);
                    consensuses.insert(va, (text, entries));
                }
            } else if name.starts_with("server-descriptors-") {
                let month = name
                    .trim_start_matches("server-descriptors-")
                    .trim_end_matches(".tar.xz")
                    .to_string();
                for (member, data) in read_tar_xz(&entry) {
                    let digest = member.rsplit('/').next().unwrap().to_string();
                    descriptors.insert(digest, (month.clone(), member, data));
                }
            } else if name.starts_with("exit-list-") {
                for (member, data) in read_tar_xz(&entry) {
                    exit_lists.push((member, String::from_utf8(data).unwrap()));
                }
            }
        }
        Archive {
            relays: load(&root, "relays.json"),
            removals: load(&root, "removal_events.json"),
            outages: load(&root, "outages.json"),
            returns: load(&root, "return_waves.json"),
            missing: load(&root, "missing_consensuses.json"),
            _dir: dir,
            root,
            consensuses,
            descriptors,
            exit_lists,
        }
    })
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// Keyword -> set of token counts, over lines outside objects (and outside `@type`).
fn keyword_shapes(doc: &str) -> BTreeMap<String, BTreeSet<usize>> {
    let mut out: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    let mut in_object = false;
    for line in doc.lines() {
        if line.starts_with("-----BEGIN") {
            in_object = true;
            continue;
        }
        if line.starts_with("-----END") {
            in_object = false;
            continue;
        }
        if in_object || line.starts_with('@') || line.is_empty() {
            continue;
        }
        let toks: Vec<&str> = line.split(' ').collect();
        out.entry(toks[0].to_string())
            .or_default()
            .insert(toks.len());
    }
    out
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/real")
            .join(name),
    )
    .unwrap()
}

/// Keywords whose token count legitimately varies (free text, lists).
const VARIABLE: &[&str] = &[
    "contact",
    "family",
    "platform",
    "proto",
    "pr",
    "s",
    "params",
    "known-flags",
    "client-versions",
    "server-versions",
    "recommended-client-protocols",
    "recommended-relay-protocols",
    "required-client-protocols",
    "required-relay-protocols",
    "w",
    "ntor-onion-key-crosscert",
    "extra-info-digest",
];

fn assert_shapes_match(generated: &[&str], real: &[String], what: &str) {
    let mut real_shapes: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    for r in real {
        for (k, v) in keyword_shapes(r) {
            real_shapes.entry(k).or_default().extend(v);
        }
    }
    let mut seen = BTreeSet::new();
    for g in generated {
        for (k, counts) in keyword_shapes(g) {
            let real = real_shapes.get(&k).unwrap_or_else(|| {
                panic!("{what}: keyword {k:?} does not occur in the real fixtures")
            });
            if !VARIABLE.contains(&k.as_str()) {
                assert!(
                    counts.is_subset(real),
                    "{what}: {k} has {counts:?} tokens, real documents {real:?}"
                );
            }
            seen.insert(k);
        }
    }
    assert!(seen.len() >= 5, "{what}: too few keywords checked");
}

#[test]
fn documents_use_the_keywords_and_line_shapes_of_real_ones() {
    let a = archive();
    let cons: Vec<&str> = a
        .consensuses
        .values()
        .take(3)
        .map(|c| c.0.as_str())
        .collect();
    assert_shapes_match(
        &cons,
        &[
            fixture("metrics-web/2018-10-15-00-00-00-consensus.part"),
            fixture("arti/testdata-live/consensus"),
        ],
        "consensus",
    );
    let descs: Vec<String> = a
        .descriptors
        .values()
        .take(400)
        .map(|d| String::from_utf8(d.2.clone()).unwrap())
        .collect();
    let descs: Vec<&str> = descs.iter().map(|s| s.as_str()).collect();
    assert_shapes_match(
        &descs,
        &[
            fixture("arti/tor-netdoc/routerdesc1.txt"),
            fixture("metrics-web/01003df74972ce952ebfa390f468ef63c50efa25"),
        ],
        "server descriptor",
    );
    let exits: Vec<&str> = a.exit_lists.iter().take(3).map(|e| e.1.as_str()).collect();
    assert_shapes_match(
        &exits,
        &[fixture("collector/2016-09-20-13-02-00")],
        "exit list",
    );
    // @type lines and the set of bandwidth-weights keys
    for c in &cons {
        assert!(c.starts_with("@type network-status-consensus-3 1.0\nnetwork-status-version 3\n"));
    }
    assert!(descs
        .iter()
        .all(|d| d.starts_with("@type server-descriptor 1.0\nrouter ")));
    assert!(exits
        .iter()
        .all(|e| e.starts_with("@type tordnsel 1.0\nDownloaded ")));
    let keys = |doc: &str| -> Vec<String> {
        let l = doc
            .lines()
            .find(|l| l.starts_with("bandwidth-weights "))
            .unwrap();
        l.split(' ')
            .skip(1)
            .map(|kv| kv.split('=').next().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        keys(cons[0]),
        keys(&fixture("arti/testdata-live/consensus"))
    );
    assert_eq!(keys(cons[0]).len(), 19);
    let sigs = cons[0].matches("\ndirectory-signature ").count();
    let sources = cons[0].matches("\ndir-source ").count();
    assert_eq!((sigs, sources), (9, 9));
}

#[test]
fn r_lines_reference_descriptors_by_sha1_and_fingerprints_hash_signing_keys() {
    let a = archive();
    let months: Vec<String> = {
        let mut m: Vec<String> = a.consensuses.keys().map(|va| va[..7].to_string()).collect();
        m.dedup();
        m
    };
    let mut checked = 0;
    for (va, (_, entries)) in &a.consensuses {
        let month = &va[..7];
        let prev = months.iter().position(|m| m == month).map(|i| {
            if i == 0 {
                // the month before the start (lead-in tarball)
                let (y, m): (i32, i32) =
                    (month[..4].parse().unwrap(), month[5..7].parse().unwrap());
                let (y, m) = if m == 1 { (y - 1, 12) } else { (y, m - 1) };
                format!("{y:04}-{m:02}")
            } else {
                months[i - 1].clone()
            }
        });
        for e in entries {
            let (dmonth, member, _) = a
                .descriptors
                .get(&e.digest)
                .unwrap_or_else(|| panic!("{va}: descriptor {} missing", e.digest));
            assert!(
                dmonth == month || Some(dmonth) == prev.as_ref(),
                "{member} in {dmonth} for consensus {va}"
            );
            assert!(e.published.as_str() < va.as_str());
            checked += 1;
        }
    }
    assert!(checked > 10_000);
    let mut by_fp: HashMap<String, Vec<String>> = HashMap::new();
    for (digest, (_, member, bytes)) in &a.descriptors {
        let text = std::str::from_utf8(bytes).unwrap();
        let start = text.find("router ").unwrap();
        let end = text.find("\nrouter-signature\n").unwrap() + "\nrouter-signature\n".len();
        let h = hex::encode(Sha1::digest(&bytes[start..end]));
        assert_eq!(&h, digest, "{member}");
        assert!(member.ends_with(&format!("/{}/{}/{}", &h[..1], &h[1..2], h)));
        // fingerprint = SHA-1 of the DER in signing-key
        let sk = text
            .split("signing-key\n-----BEGIN RSA PUBLIC KEY-----\n")
            .nth(1)
            .unwrap();
        let b64: String = sk.split("-----END").next().unwrap().lines().collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        let fp = hex::encode_upper(Sha1::digest(&der));
        let line = text
            .lines()
            .find(|l| l.starts_with("fingerprint "))
            .unwrap();
        assert_eq!(line[12..].replace(' ', ""), fp);
        let published =
            text.lines().find(|l| l.starts_with("published ")).unwrap()[10..].to_string();
        by_fp.entry(fp).or_default().push(published);
    }
    // the r line references the latest descriptor published before valid-after
    for (va, (_, entries)) in a.consensuses.iter().step_by(37) {
        for e in entries {
            let latest = by_fp[&e.fp]
                .iter()
                .filter(|p| p.as_str() < va.as_str())
                .max()
                .unwrap();
            assert_eq!(&e.published, latest, "{} at {va}", e.fp);
        }
    }
}

#[test]
fn ground_truth_sessions_match_the_consensuses() {
    let a = archive();
    let hours: Vec<&String> = a.consensuses.keys().collect();
    let idx: HashMap<&str, usize> = hours
        .iter()
        .enumerate()
        .map(|(i, h)| (h.as_str(), i))
        .collect();
    let mut presence: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, (_, (_, entries))) in a.consensuses.iter().enumerate() {
        for e in entries {
            presence.entry(e.fp.as_str()).or_default().push(i);
        }
    }
    assert_eq!(
        presence.len(),
        a.relays.len(),
        "relays.json lists every relay that appears"
    );
    for r in &a.relays {
        let mut expected = Vec::new();
        for [s, e] in &r.sessions {
            expected.extend(idx[s.as_str()]..=idx[e.as_str()]);
        }
        assert_eq!(
            presence[r.fingerprint.as_str()],
            expected,
            "{} ({:?})",
            r.fingerprint,
            r.actor_id
        );
        // sessions are separated by real absences
        for w in r.sessions.windows(2) {
            assert!(idx[w[1][0].as_str()] > idx[w[0][1].as_str()] + 1);
        }
    }
    let planted = a
        .relays
        .iter()
        .filter(|r| r.actor_id.as_deref() == Some("kax17"))
        .count();
    assert!(planted >= 12, "kax17 relays: {planted}");
}

#[test]
fn removals_outages_and_returns_are_visible_in_the_consensuses() {
    let a = archive();
    let hours: Vec<&String> = a.consensuses.keys().collect();
    let present =
        |h: &str| -> HashSet<String> { a.consensuses[h].1.iter().map(|e| e.fp.clone()).collect() };
    assert!(!a.removals.is_empty() && !a.outages.is_empty() && !a.returns.is_empty());
    for ev in &a.removals {
        let i = hours
            .iter()
            .position(|h| **h == ev.event_time)
            .expect("event time is a consensus");
        assert!(i > 0);
        let before = present(hours[i - 1]);
        assert_eq!(ev.fingerprints.len(), ev.relays_removed);
        // Spread over `consensuses` consecutive consensuses from the event's first: every
        // relay listed before it, each consensus of the spread losing some, none listed after.
        let spread = ev.consensuses as usize;
        for fp in &ev.fingerprints {
            assert!(before.contains(fp), "{fp} listed before the removal");
            for h in &hours[i + spread - 1..] {
                assert!(!present(h).contains(fp), "{fp} never returns");
            }
        }
        for k in 0..spread {
            let listed = |h: &str| {
                ev.fingerprints
                    .iter()
                    .filter(|fp| present(h).contains(*fp))
                    .count()
            };
            assert!(
                listed(hours[i + k]) < listed(hours[i + k - 1]),
                "consensus {k} of the removal loses relays"
            );
        }
    }
    for o in &a.outages {
        let i = hours.iter().position(|h| **h == o.start).unwrap();
        let j = hours.iter().position(|h| **h == o.end).unwrap();
        assert!(j > i && !o.fingerprints.is_empty());
        let before = present(hours[i - 1]);
        let back = present(hours[j]);
        for fp in &o.fingerprints {
            assert!(
                before.contains(fp) && back.contains(fp),
                "{fp} before and after the outage"
            );
            for h in &hours[i..j] {
                assert!(!present(h).contains(fp));
            }
        }
        // nobody of that AS is listed during the outage
        let during: HashSet<String> = hours[i..j].iter().flat_map(|h| present(h)).collect();
        assert!(a
            .relays
            .iter()
            .filter(|r| r.asn == o.asn)
            .all(|r| !during.contains(&r.fingerprint)));
    }
    for rw in &a.returns {
        let i = hours
            .iter()
            .position(|h| **h == rw.after_event_time)
            .unwrap();
        let earlier: HashSet<String> = hours[..i].iter().flat_map(|h| present(h)).collect();
        let first = hours.iter().position(|h| **h == rw.first_seen).unwrap();
        assert!(first > i);
        assert!(
            rw.fingerprints.iter().all(|fp| !earlier.contains(fp)),
            "new fingerprints"
        );
        assert!(rw
            .fingerprints
            .iter()
            .any(|fp| present(hours[first]).contains(fp)));
    }
}

#[test]
fn missing_consensus_hours_are_exactly_the_listed_ones() {
    let a = archive();
    let first = a.consensuses.keys().next().unwrap().clone();
    assert_eq!(first, "2021-09-01 00:00:00");
    // every hour of September and October 2021
    let mut expected_missing = Vec::new();
    for (month, days) in [(9, 30), (10, 31)] {
        for d in 1..=days {
            for h in 0..24 {
                let t = format!("2021-{month:02}-{d:02} {h:02}:00:00");
                if !a.consensuses.contains_key(&t) {
                    expected_missing.push(t);
                }
            }
        }
    }
    assert_eq!(a.missing, expected_missing);
    assert!(
        a.missing.len() >= 2,
        "default scenario drops a few consensuses per month"
    );
    assert_eq!(a.consensuses.len() + a.missing.len(), 61 * 24);
    assert_eq!(
        a.exit_lists.len(),
        61 * 24,
        "exit lists are fetched every hour"
    );
}

#[test]
fn background_churn_is_between_one_and_three_percent_per_hour() {
    let a = archive();
    let background: HashSet<&str> = a
        .relays
        .iter()
        .filter(|r| {
            r.actor_id
                .as_deref()
                .is_none_or(|id| id.starts_with("family-"))
        })
        .map(|r| r.fingerprint.as_str())
        .collect();
    let sets: Vec<HashSet<&str>> = a
        .consensuses
        .values()
        .map(|c| {
            c.1.iter()
                .map(|e| e.fp.as_str())
                .filter(|f| background.contains(f))
                .collect()
        })
        .collect();
    let mut gone = 0.0;
    let mut new = 0.0;
    for w in sets.windows(2) {
        gone += w[0].difference(&w[1]).count() as f64 / w[0].len() as f64;
        new += w[1].difference(&w[0]).count() as f64 / w[1].len() as f64;
    }
    let n = (sets.len() - 1) as f64;
    let (gone, new) = (gone / n, new / n);
    eprintln!("background churn per hour: gone {gone:.4}, new {new:.4}");
    assert!((0.01..=0.03).contains(&gone), "gone churn {gone}");
    assert!((0.01..=0.03).contains(&new), "new churn {new}");
    let sizes: Vec<usize> = sets.iter().map(|s| s.len()).collect();
    let mean = sizes.iter().sum::<usize>() as f64 / sizes.len() as f64;
    assert!(
        (100.0..=140.0).contains(&mean),
        "background relays per consensus {mean} for --relays 120"
    );
}

#[test]
fn bandwidth_weights_follow_from_the_listed_relays() {
    let a = archive();
    for (va, (text, entries)) in a.consensuses.iter().step_by(50) {
        let (mut g, mut m, mut e, mut d) = (0, 0, 0, 0);
        for en in entries {
            let guard = en.flags.iter().any(|f| f == "Guard");
            let exit = en.flags.iter().any(|f| f == "Exit");
            match (guard, exit) {
                (true, true) => d += en.weight,
                (true, false) => g += en.weight,
                (false, true) => e += en.weight,
                _ => m += en.weight,
            }
            assert!(
                en.flags.iter().any(|f| f == "Running") && en.flags.iter().any(|f| f == "Valid")
            );
        }
        let line: String = bandwidth_weights(g, m, e, d)
            .iter()
            .map(|(k, v)| format!(" {k}={v}"))
            .collect();
        assert!(
            text.contains(&format!("\nbandwidth-weights{line}\n")),
            "{va}"
        );
    }
}

#[test]
fn ip2asn_table_covers_every_address() {
    let a = archive();
    let text = std::fs::read_to_string(a.root.join("asn/ip2asn-v4.tsv")).unwrap();
    let ip = |s: &str| {
        s.split('.')
            .fold(0u64, |acc, o| acc * 256 + o.parse::<u64>().unwrap())
    };
    let ranges: Vec<(u64, u64, u32)> = text
        .lines()
        .map(|l| {
            let t: Vec<&str> = l.split('\t').collect();
            assert_eq!(t.len(), 5);
            (ip(t[0]), ip(t[1]), t[2].parse().unwrap())
        })
        .collect();
    assert!(
        ranges.windows(2).all(|w| w[0].1 < w[1].0),
        "sorted, non-overlapping"
    );
    let asn_of = |addr: &str| {
        let x = ip(addr);
        let i = ranges.partition_point(|r| r.0 <= x);
        assert!(i > 0 && x <= ranges[i - 1].1, "{addr} not covered");
        ranges[i - 1].2
    };
    for (_, entries) in a.consensuses.values().step_by(20) {
        for e in entries {
            asn_of(&e.addr);
        }
    }
    for r in &a.relays {
        assert_eq!(asn_of(&r.address), r.asn, "{}", r.fingerprint);
    }
    for (_, text) in a.exit_lists.iter().step_by(50) {
        for l in text.lines().filter(|l| l.starts_with("ExitAddress ")) {
            asn_of(l.split(' ').nth(1).unwrap());
        }
    }
}

#[test]
fn same_seed_gives_identical_bytes_and_another_seed_does_not() {
    let d = tempfile::tempdir().unwrap();
    let gen = |name: &str, seed: u64, threads: usize| {
        let root = d.path().join(name);
        let mut o = options(&root, 40, 1, seed);
        o.threads = Some(threads); // output must not depend on scheduling
        generate_archive(&o).unwrap();
        walk(&root)
            .into_iter()
            .map(|p| {
                (
                    p.strip_prefix(&root).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                )
            })
            .collect::<Vec<_>>()
    };
    let a = gen("a", 3, 2);
    let b = gen("b", 3, 1);
    assert!(a.len() >= 12, "{} files", a.len());
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.0, y.0);
        assert!(x.1 == y.1, "{} differs", x.0.display());
    }
    // even a one-month run of the default scenario has every kind of event
    let root = d.path().join("a");
    assert!(!load::<Vec<RemovalJson>>(&root, "removal_events.json").is_empty());
    assert!(!load::<Vec<ReturnJson>>(&root, "return_waves.json").is_empty());
    assert!(!load::<Vec<OutageJson>>(&root, "outages.json").is_empty());
    assert!(!load::<Vec<String>>(&root, "missing_consensuses.json").is_empty());
    let c = gen("c", 4, 2);
    let cons = |v: &Vec<(PathBuf, Vec<u8>)>| {
        v.iter()
            .find(|f| f.0.to_string_lossy().contains("consensuses-"))
            .unwrap()
            .1
            .clone()
    };
    assert_ne!(cons(&a), cons(&c));
}
