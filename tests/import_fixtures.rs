//! Imports real Tor documents (tests/fixtures/real, see its SOURCES.md) and checks the
//! warehouse against values read from the documents themselves, era by era.

mod common;

use base64::Engine;
use common::*;

#[test]
fn consensus_entry_counts_match_the_documents_in_every_era() {
    for relative in [
        "real/stem/metrics_consensus",                  // 2012, method 12
        "real/zoossh/consensus",                        // 2014, method 18
        "real/collector/2016-09-20-13-00-00-consensus", // 2016, method 20
        "real/zoossh/2017-04-15-00-00-00-consensus",    // 2017, method 25
        "real/arti/tor-dirserver/consensus-ns",         // 2026, method 33
        "real/arti/testdata-live/consensus",            // 2026, method 35
    ] {
        let doc = read_fixture(relative);
        let (wh, summary) = import_fixtures(&[relative]);
        assert!(
            summary.errors.is_empty(),
            "{relative}: {:?}",
            summary.errors
        );
        let entries = read_dataset(wh.path(), "consensus_entries").unwrap();
        let expected = lines_starting(&doc, "r ").len();
        assert_eq!(entries.num_rows(), expected, "{relative}");
        let consensuses = read_dataset(wh.path(), "consensuses").unwrap();
        assert_eq!(consensuses.num_rows(), 1);
        assert_eq!(
            value(&consensuses, "relays", 0).unwrap(),
            expected.to_string()
        );
        assert_eq!(
            value(&consensuses, "valid_after", 0).unwrap(),
            ts(&header(&doc, "valid-after"))
        );
        assert_eq!(
            value(&consensuses, "consensus_method", 0).unwrap(),
            header(&doc, "consensus-method")
        );
        assert_eq!(
            value(&consensuses, "source_file", 0).unwrap(),
            relative.rsplit('/').next().unwrap()
        );
    }
}

#[test]
fn documented_counts_2016_and_2017() {
    let (wh, _) = import_fixtures(&[
        "real/collector/2016-09-20-13-00-00-consensus",
        "real/zoossh/2017-04-15-00-00-00-consensus",
    ]);
    let consensuses = read_dataset(wh.path(), "consensuses").unwrap();
    let relays: Vec<String> = (0..2)
        .map(|i| value(&consensuses, "relays", i).unwrap())
        .collect();
    assert_eq!(relays, ["7213", "7347"]);
}

#[test]
fn consensus_2016_fields_and_bandwidth_weights() {
    let relative = "real/collector/2016-09-20-13-00-00-consensus";
    let doc = read_fixture(relative);
    let (wh, _) = import_fixtures(&[relative]);
    let consensuses = read_dataset(wh.path(), "consensuses").unwrap();
    for pair in header(&doc, "bandwidth-weights").split(' ') {
        let (key, v) = pair.split_once('=').unwrap();
        assert_eq!(value(&consensuses, key, 0).unwrap(), v, "{key}");
    }
    let known: Vec<&str> = header(&doc, "known-flags").leak().split(' ').collect();
    assert_eq!(
        value(&consensuses, "known_flags", 0).unwrap(),
        format!("[{}]", known.join(", "))
    );
    assert_eq!(
        value(&consensuses, "fresh_until", 0).unwrap(),
        ts(&header(&doc, "fresh-until"))
    );

    // Entries without a `v` line (the formats reference counts 2 in this document).
    let text = String::from_utf8_lossy(&doc);
    let blocks: Vec<&str> = text.split("\nr ").skip(1).collect();
    let without_v = blocks.iter().filter(|b| !b.contains("\nv ")).count();
    let entries = read_dataset(wh.path(), "consensus_entries").unwrap();
    let null_versions = (0..entries.num_rows())
        .filter(|&i| value(&entries, "version", i).is_none())
        .count();
    assert_eq!(null_versions, without_v);
    assert!(without_v > 0);

    // Spot check the first entry field by field against its lines.
    let first = blocks[0];
    let r: Vec<&str> = first.lines().next().unwrap().split(' ').collect();
    let row = find_row(&entries, "fingerprint", &b64_to_hex(r[1]));
    assert_eq!(value(&entries, "nickname", row).unwrap(), r[0]);
    let digest = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(r[2])
        .unwrap();
    assert_eq!(
        value(&entries, "descriptor_digest", row).unwrap(),
        hex::encode(digest)
    );
    assert_eq!(
        value(&entries, "published", row).unwrap(),
        ts(&format!("{} {}", r[3], r[4]))
    );
    assert_eq!(value(&entries, "address", row).unwrap(), r[5]);
    assert_eq!(value(&entries, "or_port", row).unwrap(), r[6]);
    assert_eq!(value(&entries, "dir_port", row).unwrap(), r[7]);
    let line = |k: &str| {
        first
            .lines()
            .find(|l| l.starts_with(k))
            .map(|l| l[k.len()..].to_string())
    };
    assert_eq!(
        value(&entries, "flags", row).unwrap(),
        format!("[{}]", line("s ").unwrap().replace(' ', ", "))
    );
    assert_eq!(value(&entries, "version", row), line("v Tor "));
    assert_eq!(
        value(&entries, "bandwidth", row),
        line("w Bandwidth=").map(|w| w.split(' ').next().unwrap().to_string())
    );
    assert_eq!(value(&entries, "exit_policy_summary", row), line("p "));
    assert_eq!(
        value(&entries, "protocols", row),
        None,
        "2016 consensuses have no pr lines"
    );
}

#[test]
fn consensus_2012_method_12_keeps_named_flags() {
    let relative = "real/stem/metrics_consensus";
    let doc = read_fixture(relative);
    let (wh, _) = import_fixtures(&[relative]);
    let consensuses = read_dataset(wh.path(), "consensuses").unwrap();
    assert_eq!(value(&consensuses, "consensus_method", 0).unwrap(), "12");
    let wgg = header(&doc, "bandwidth-weights")
        .split(' ')
        .find_map(|kv| kv.strip_prefix("Wgg=").map(String::from));
    assert_eq!(value(&consensuses, "Wgg", 0), wgg);
    let entries = read_dataset(wh.path(), "consensus_entries").unwrap();
    // r sumkledi ABPSI4nNUNC3hKPkBhyzHozozrU ... / s Exit Fast Named Running Valid / w Bandwidth=38
    let row = find_row(
        &entries,
        "fingerprint",
        &b64_to_hex("ABPSI4nNUNC3hKPkBhyzHozozrU"),
    );
    assert_eq!(value(&entries, "nickname", row).unwrap(), "sumkledi");
    assert_eq!(
        value(&entries, "flags", row).unwrap(),
        "[Exit, Fast, Named, Running, Valid]"
    );
    assert_eq!(value(&entries, "bandwidth", row).unwrap(), "38");
    assert_eq!(value(&entries, "measured", row).unwrap(), "true");
    assert_eq!(value(&entries, "version", row).unwrap(), "0.2.2.35");
    assert_eq!(
        value(&entries, "exit_policy_summary", row).unwrap(),
        "accept 80,443"
    );
}

#[test]
fn consensus_2026_ipv6_protocols_and_digests_resolve_to_descriptors() {
    let nicks = ["Akka", "Ukko", "d2d4", "lisdex", "moria1"];
    let mut inputs = vec!["real/arti/testdata-live/consensus".to_string()];
    inputs.extend(
        nicks
            .iter()
            .map(|n| format!("real/arti/testdata-live/consensus--desc--{n}")),
    );
    let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
    let (wh, summary) = import_fixtures(&refs);
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    let entries = read_dataset(wh.path(), "consensus_entries").unwrap();
    let descriptors = read_dataset(wh.path(), "server_descriptors").unwrap();
    assert_eq!(descriptors.num_rows(), nicks.len());
    for i in 0..entries.num_rows() {
        let digest = value(&entries, "descriptor_digest", i).unwrap();
        let d = find_row(&descriptors, "digest", &digest);
        assert_eq!(
            value(&descriptors, "fingerprint", d),
            value(&entries, "fingerprint", i)
        );
        assert_eq!(
            value(&descriptors, "published", d),
            value(&entries, "published", i)
        );
        assert_eq!(
            value(&descriptors, "nickname", d),
            value(&entries, "nickname", i)
        );
    }
    let akka = find_row(&entries, "nickname", "Akka");
    assert_eq!(
        value(&entries, "ipv6_addresses", akka).unwrap(),
        "[[2a01:4f9:2a:2145::2]:443]"
    );
    assert_eq!(value(&entries, "version", akka).unwrap(), "0.4.9.5");
    assert!(value(&entries, "protocols", akka)
        .unwrap()
        .starts_with("Conflux=1 Cons=1-2"));
}

#[test]
fn archive_file_names_are_the_descriptor_digests() {
    let members = [
        "real/zoossh/collector-descriptors/server-descriptors-2014-11/8/8/88827c73d5fd35e9638f820c44187ccdf8403b0f",
        "real/zoossh/collector-descriptors/server-descriptors-2014-12/7/a/7aef3ff4d6a3b20c03ebefef94e6dfca4d9b663a",
    ];
    let (wh, _) = import_fixtures(&members);
    let descriptors = read_dataset(wh.path(), "server_descriptors").unwrap();
    for m in members {
        find_row(&descriptors, "digest", m.rsplit('/').next().unwrap());
    }
}

#[test]
fn server_descriptors_2014_recent_style_file() {
    let relative = "real/zoossh/server-descriptors";
    let doc = read_fixture(relative);
    let (wh, summary) = import_fixtures(&[relative]);
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    let descriptors = read_dataset(wh.path(), "server_descriptors").unwrap();
    assert_eq!(
        descriptors.num_rows(),
        lines_starting(&doc, "router ").len()
    );
    assert_eq!(descriptors.num_rows(), 867);
    // Family entries: every `$hex` form is normalised to `$HEX`.
    let families = (0..descriptors.num_rows())
        .filter_map(|i| value(&descriptors, "family", i))
        .collect::<Vec<_>>()
        .join(" ");
    assert!(!families.contains('~') && !families.contains('='));
    let lower_hex = families
        .split([' ', ',', '[', ']'])
        .filter(|e| e.starts_with('$'))
        .any(|e| e.chars().any(|c| c.is_ascii_lowercase()));
    assert!(!lower_hex);
}

#[test]
fn server_descriptor_2005_with_opt_lines_and_netmask_policy() {
    let relative = "real/stem/old_descriptor";
    let doc = read_fixture(relative);
    let (wh, _) = import_fixtures(&[relative]);
    let d = read_dataset(wh.path(), "server_descriptors").unwrap();
    let router: Vec<String> = header(&doc, "router")
        .split(' ')
        .map(String::from)
        .collect();
    assert_eq!(value(&d, "nickname", 0).unwrap(), router[0]);
    assert_eq!(value(&d, "address", 0).unwrap(), router[1]);
    assert_eq!(value(&d, "or_port", 0).unwrap(), router[2]);
    assert_eq!(value(&d, "platform", 0).unwrap(), header(&doc, "platform"));
    assert_eq!(value(&d, "tor_version", 0).unwrap(), "0.1.0.14");
    assert_eq!(value(&d, "os", 0).unwrap(), "FreeBSD i386");
    assert_eq!(
        value(&d, "published", 0).unwrap(),
        ts(&header(&doc, "published"))
    );
    assert_eq!(
        value(&d, "fingerprint", 0).unwrap(),
        header(&doc, "opt fingerprint").replace(' ', "")
    );
    assert_eq!(value(&d, "uptime", 0).unwrap(), header(&doc, "uptime"));
    let bw: Vec<String> = header(&doc, "bandwidth")
        .split(' ')
        .map(String::from)
        .collect();
    assert_eq!(value(&d, "bandwidth_avg", 0).unwrap(), bw[0]);
    assert_eq!(value(&d, "bandwidth_burst", 0).unwrap(), bw[1]);
    assert_eq!(value(&d, "bandwidth_observed", 0).unwrap(), bw[2]);
    let policy: Vec<String> = doc
        .split(|&b| b == b'\n')
        .filter(|l| l.starts_with(b"accept ") || l.starts_with(b"reject "))
        .map(|l| String::from_utf8_lossy(l).to_string())
        .collect();
    assert_eq!(
        value(&d, "exit_policy", 0).unwrap(),
        format!("[{}]", policy.join(", "))
    );
    assert!(policy[0].contains("/255.255.0.0"));
    assert_eq!(value(&d, "exit_policy_hash", 0).unwrap().len(), 16);
}

#[test]
fn server_descriptor_oddities_negative_uptime_non_utf8_and_cr() {
    let (wh, summary) = import_fixtures(&[
        "real/stem/negative_uptime",
        "real/stem/non-ascii_descriptor",
        "real/stem/cr_in_contact_line",
    ]);
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    let d = read_dataset(wh.path(), "server_descriptors").unwrap();
    assert_eq!(d.num_rows(), 3);
    let tip = find_row(&d, "nickname", "TipTor");
    assert_eq!(
        value(&d, "uptime", tip).unwrap(),
        header(&read_fixture("real/stem/negative_uptime"), "uptime")
    );
    assert!(value(&d, "uptime", tip).unwrap().starts_with('-'));
    for relative in [
        "real/stem/non-ascii_descriptor",
        "real/stem/cr_in_contact_line",
    ] {
        let doc = read_fixture(relative);
        let contact_line = lines_starting(&doc, "contact ")[0];
        let mut contact = &contact_line[8..];
        if contact.ends_with(b"\r") {
            contact = &contact[..contact.len() - 1];
        }
        let expected = String::from_utf8_lossy(contact).to_string();
        let nick = header(&doc, "router")
            .split(' ')
            .next()
            .unwrap()
            .to_string();
        let row = find_row(&d, "nickname", &nick);
        assert_eq!(value(&d, "contact", row).unwrap(), expected, "{relative}");
    }
}

#[test]
fn server_descriptors_with_ed25519_2015_and_2022() {
    let (wh, _) = import_fixtures(&[
        "real/stem/server_descriptor_with_ed25519",
        "real/arti/tor-netdoc/routerdesc1.txt",
    ]);
    let d = read_dataset(wh.path(), "server_descriptors").unwrap();
    for (relative, nick) in [
        ("real/stem/server_descriptor_with_ed25519", "destiny"),
        ("real/arti/tor-netdoc/routerdesc1.txt", "Akka"),
    ] {
        let doc = read_fixture(relative);
        let row = find_row(&d, "nickname", nick);
        assert_eq!(
            value(&d, "ed25519_master_key", row).unwrap(),
            header(&doc, "master-key-ed25519")
        );
        assert_eq!(
            value(&d, "platform", row).unwrap(),
            header(&doc, "platform")
        );
    }
    let doc = read_fixture("real/arti/tor-netdoc/routerdesc1.txt");
    let akka = find_row(&d, "nickname", "Akka");
    assert_eq!(value(&d, "contact", akka).unwrap(), header(&doc, "contact"));
    assert_eq!(
        value(&d, "family", akka).unwrap(),
        format!("[{}]", header(&doc, "family").replace(' ', ", "))
    );
    assert_eq!(
        value(&d, "ipv6_or_addresses", akka).unwrap(),
        format!("[{}]", header(&doc, "or-address"))
    );
    assert_eq!(value(&d, "proto", akka).unwrap(), header(&doc, "proto"));
    assert_eq!(
        value(&d, "extra_info_digest", akka).unwrap(),
        header(&doc, "extra-info-digest")
            .split(' ')
            .next()
            .unwrap()
            .to_lowercase()
    );
    assert_eq!(value(&d, "hidden_service_dir", akka).unwrap(), "true");
    assert_eq!(value(&d, "tunnelled_dir_server", akka).unwrap(), "true");
    assert_eq!(value(&d, "exit_policy", akka).unwrap(), "[reject *:*]");
    assert_eq!(value(&d, "tor_version", akka).unwrap(), "0.4.8.0-alpha-dev");
}

#[test]
fn ed25519_key_is_taken_from_the_certificate_when_the_line_is_missing() {
    // Remove the master-key-ed25519 line: the key must come out of identity-ed25519.
    let doc = read_fixture("real/arti/tor-netdoc/routerdesc1.txt");
    let key = header(&doc, "master-key-ed25519");
    let text = String::from_utf8(doc).unwrap();
    let stripped: String = text
        .lines()
        .filter(|l| !l.starts_with("master-key-ed25519"))
        .map(|l| format!("{l}\n"))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("desc");
    std::fs::write(&input, stripped).unwrap();
    let wh = dir.path().join("wh");
    import_into(&wh, &[input], 1);
    let d = read_dataset(&wh, "server_descriptors").unwrap();
    assert_eq!(value(&d, "ed25519_master_key", 0).unwrap(), key);
}

#[test]
fn exit_lists_one_row_per_address() {
    let relative = "real/collector/2016-09-20-13-02-00";
    let doc = read_fixture(relative);
    let (wh, summary) = import_fixtures(&[relative]);
    assert!(summary.errors.is_empty());
    let rows = read_dataset(wh.path(), "exit_lists").unwrap();
    // Every node in this list has at least one ExitAddress line.
    assert_eq!(rows.num_rows(), lines_starting(&doc, "ExitAddress ").len());
    let first_node = header(&doc, "ExitNode");
    let row = find_row(&rows, "fingerprint", &first_node);
    assert_eq!(
        value(&rows, "downloaded", row).unwrap(),
        ts(&header(&doc, "Downloaded"))
    );
    assert_eq!(
        value(&rows, "published", row).unwrap(),
        ts(&header(&doc, "Published"))
    );
    assert_eq!(
        value(&rows, "last_status", row).unwrap(),
        ts(&header(&doc, "LastStatus"))
    );
    let addr = header(&doc, "ExitAddress");
    let (ip, time) = addr.split_once(' ').unwrap();
    assert_eq!(value(&rows, "exit_address", row).unwrap(), ip);
    assert_eq!(value(&rows, "address_time", row).unwrap(), ts(time));
}

#[test]
fn collector_tarballs_import_member_by_member() {
    let (wh, summary) = import_fixtures(&[
        "real/stem/consensuses-2018-06-cropped.tar",
        "real/stem/exit-list-2018-11-cropped.tar",
        "real/stem/server-descriptors-2005-12-cropped.tar",
        "real/stem/extra-infos-2019-04-cropped.tar",
    ]);
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    let consensuses = read_dataset(wh.path(), "consensuses").unwrap();
    assert_eq!(consensuses.num_rows(), 2);
    let member = value(&consensuses, "source_member", 0).unwrap();
    assert!(
        member.starts_with("consensuses-2018-06/01/2018-06-01-0"),
        "{member}"
    );
    let exits = read_dataset(wh.path(), "exit_lists").unwrap();
    let lists: std::collections::BTreeSet<String> = (0..exits.num_rows())
        .map(|i| value(&exits, "downloaded", i).unwrap())
        .collect();
    assert_eq!(lists.len(), 4);
    assert_eq!(
        read_dataset(wh.path(), "server_descriptors")
            .unwrap()
            .num_rows(),
        5
    );
    // Extra-info descriptors are imported too (tests/import_more_types.rs checks them).
    let imports = read_dataset(wh.path(), "imports").unwrap();
    let row = find_row(&imports, "file_name", "extra-infos-2019-04-cropped.tar");
    assert_eq!(value(&imports, "documents_imported", row).unwrap(), "7");
    assert_eq!(
        value(&imports, "document_counts", row).unwrap(),
        "[extra-info=7/0/0]"
    );
}
