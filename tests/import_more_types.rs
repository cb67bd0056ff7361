//! Imports real documents of the types beyond consensuses, server descriptors and exit lists
//! (extra-infos, votes, microdesc consensuses and microdescriptors, sanitized bridge
//! statuses, server descriptors and extra-infos; tests/fixtures/real, see its SOURCES.md) and
//! checks the warehouse against counts and values read from the documents themselves.

mod common;

use std::collections::BTreeMap;
use std::io::Read;

use common::*;

/// The file members of an (uncompressed) tar fixture: (path, bytes).
fn tar_members(relative: &str) -> Vec<(String, Vec<u8>)> {
    let mut archive = tar::Archive::new(std::fs::File::open(fixture(relative)).unwrap());
    let mut out = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.header().entry_type().is_file() {
            let path = entry.path().unwrap().display().to_string();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            out.push((path, bytes));
        }
    }
    out
}

/// Writes a test input into `dir`.
fn write_input(dir: &std::path::Path, name: &str, data: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, data).unwrap();
    path
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap()
}

fn rows(wh: &std::path::Path, dataset: &str) -> arrow::record_batch::RecordBatch {
    read_dataset(wh, dataset).unwrap_or_else(|| panic!("dataset {dataset} is empty"))
}

/// `document_counts` of the manifest row of `file`.
fn document_counts(wh: &std::path::Path, file: &str) -> String {
    let imports = rows(wh, "imports");
    value(
        &imports,
        "document_counts",
        find_row(&imports, "file_name", file),
    )
    .unwrap()
}

#[test]
fn relay_extra_infos_2016_2019_2026() {
    let recent = "real/collector/relay-2016-10-02-08-05-00-extra-infos";
    let tarball = "real/stem/extra-infos-2019-04-cropped.tar";
    let lisdex = "real/arti/tor-dirserver/descriptor1-extra-info";
    let lisdex_desc = "real/arti/tor-dirserver/descriptor1-ns";
    let (wh, summary) = import_fixtures(&[recent, tarball, lisdex, lisdex_desc]);
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    let members = tar_members(tarball);
    let recent_doc = read_fixture(recent);
    let expected = lines_starting(&recent_doc, "extra-info ").len() + members.len() + 1;
    let extra = rows(wh.path(), "extra_infos");
    assert_eq!(extra.num_rows(), expected);
    assert_eq!(extra.num_rows(), 9 + 7 + 1); // as SOURCES.md counts them
    assert_eq!(
        document_counts(wh.path(), "relay-2016-10-02-08-05-00-extra-infos"),
        "[extra-info=9/0/0]"
    );

    // Archive members are named by their digest, which is what the importer computes.
    for (path, bytes) in &members {
        let row = find_row(&extra, "digest", file_name(path));
        let fp = header(bytes, "extra-info");
        assert_eq!(
            value(&extra, "fingerprint", row).unwrap(),
            fp.split(' ').nth(1).unwrap()
        );
        assert_eq!(value(&extra, "source_member", row).unwrap(), *path);
        assert_eq!(
            value(&extra, "published", row).unwrap(),
            ts(&header(bytes, "published"))
        );
    }

    // grepular1 (2016): 4-hour histories, empty dirreq-v3-ips, directory responses.
    let row = find_row(&extra, "nickname", "grepular1");
    assert_eq!(
        value(&extra, "fingerprint", row).unwrap(),
        "0F408EA9DE6B40D695A4206B73ACBDE747DED7A4"
    );
    assert_eq!(
        value(&extra, "write_history_interval", row).unwrap(),
        "14400"
    );
    assert_eq!(
        value(&extra, "write_history_end", row).unwrap(),
        "2016-10-02T04:57:48"
    );
    assert_eq!(
        value(&extra, "write_history", row).unwrap(),
        "[3286129664, 4097942528, 4426873856, 4770973696, 3259864064, 2520341504]"
    );
    assert_eq!(value(&extra, "dirreq_read_history", row), None);
    assert_eq!(
        value(&extra, "dirreq_stats_end", row).unwrap(),
        "2016-10-01T08:19:32"
    );
    assert_eq!(
        value(&extra, "dirreq_stats_interval", row).unwrap(),
        "86400"
    );
    assert_eq!(value(&extra, "dirreq_v3_ips", row).unwrap(), "[]");
    assert!(value(&extra, "dirreq_v3_resp", row)
        .unwrap()
        .starts_with("[ok=0, not-enough-sigs=0"));
    assert_eq!(value(&extra, "entry_ips", row), None);
    assert_eq!(
        value(&extra, "geoip_db_digest", row).unwrap(),
        "C1EB5237F2FBAF63381D8551157F13D12EFCCA25"
    );

    // lisdex (2026): daily histories, IPv6 histories, onion-service counts, padding counts,
    // and the digest its server descriptor names.
    let doc = read_fixture(lisdex);
    let row = find_row(&extra, "nickname", "lisdex");
    assert_eq!(
        value(&extra, "ipv6_read_history_interval", row).unwrap(),
        "86400"
    );
    let ipv6_read = header(&doc, "ipv6-read-history");
    let first = ipv6_read
        .split(' ')
        .nth(4)
        .unwrap()
        .split(',')
        .next()
        .unwrap();
    assert!(value(&extra, "ipv6_read_history", row)
        .unwrap()
        .starts_with(&format!("[{first}, ")));
    let cells = header(&doc, "hidserv-rend-v3-relayed-cells");
    assert_eq!(
        value(&extra, "hidserv_rend_v3_relayed_cells", row).unwrap(),
        cells.split(' ').next().unwrap()
    );
    let padding = header(&doc, "padding-counts");
    assert_eq!(
        value(&extra, "padding_counts_end", row).unwrap(),
        ts(&padding[..19])
    );
    let pairs = value(&extra, "padding_counts", row).unwrap();
    assert!(pairs.starts_with("[bin-size=10000, write-drop="), "{pairs}");
    assert_eq!(
        pairs.matches('=').count(),
        padding.matches('=').count(),
        "every padding-counts pair is kept"
    );
    let descriptors = rows(wh.path(), "server_descriptors");
    assert_eq!(
        value(&descriptors, "extra_info_digest", 0).unwrap(),
        value(&extra, "digest", row).unwrap()
    );
}

#[test]
fn bridge_extra_infos_and_server_descriptors() {
    let extra_recent = "real/collector/bridge-2016-10-02-08-09-00-extra-infos";
    let extra_tar = "real/stem/bridge-extra-infos-2019-03-cropped.tar";
    let desc_recent = "real/collector/bridge-2016-10-02-16-09-00-server-descriptors";
    let desc_tar = "real/stem/bridge-server-descriptors-2019-02-cropped.tar";
    let desc_2008 = "real/stem/bridge_descriptor";
    let (wh, summary) =
        import_fixtures(&[extra_recent, extra_tar, desc_recent, desc_tar, desc_2008]);
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    // Bridge documents never land in the relay datasets.
    assert!(read_dataset(wh.path(), "server_descriptors").is_none());
    assert!(read_dataset(wh.path(), "extra_infos").is_none());

    let extra = rows(wh.path(), "bridge_extra_infos");
    let recent = read_fixture(extra_recent);
    let extra_members = tar_members(extra_tar);
    assert_eq!(
        extra.num_rows(),
        lines_starting(&recent, "extra-info ").len() + extra_members.len()
    );
    assert_eq!(extra.num_rows(), 10 + 6);
    // The digest is the router-digest line (the original document's), which also names the
    // archive member.
    for (path, bytes) in &extra_members {
        let digest = header(bytes, "router-digest").to_ascii_lowercase();
        assert_eq!(digest, file_name(path));
        find_row(&extra, "digest", &digest);
    }
    for line in lines_starting(&recent, "router-digest ") {
        let digest = String::from_utf8_lossy(&line[14..]).to_ascii_lowercase();
        find_row(&extra, "digest", &digest);
    }
    // Pluggable transports and bridge statistics of every 2016 document (null when absent).
    let text = String::from_utf8_lossy(&recent).to_string();
    for doc in text.split("@type ").skip(1) {
        let doc = doc.as_bytes();
        let row = find_row(
            &extra,
            "digest",
            &header(doc, "router-digest").to_ascii_lowercase(),
        );
        let transports: Vec<String> = lines_starting(doc, "transport ")
            .iter()
            .map(|l| String::from_utf8_lossy(&l[10..]).trim().to_string())
            .collect();
        let expected = (!transports.is_empty()).then(|| format!("[{}]", transports.join(", ")));
        assert_eq!(value(&extra, "transport", row), expected);
        let ips = lines_starting(doc, "bridge-ips ").first().map(|l| {
            format!(
                "[{}]",
                String::from_utf8_lossy(&l[11..]).trim().replace(',', ", ")
            )
        });
        assert_eq!(value(&extra, "bridge_ips", row), ips);
    }

    let desc = rows(wh.path(), "bridge_server_descriptors");
    let desc_members = tar_members(desc_tar);
    let recent = read_fixture(desc_recent);
    assert_eq!(
        desc.num_rows(),
        lines_starting(&recent, "router ").len() + desc_members.len() + 1
    );
    assert_eq!(desc.num_rows(), 8 + 4 + 1);
    for (path, _) in &desc_members {
        find_row(&desc, "digest", file_name(path));
    }
    // The 2008 descriptor (format 1.0): opt lines, sanitized address, router-digest.
    let row = find_row(&desc, "digest", "00f1cd29ad308a59a9ab5a88b49ecb46e0f215fd");
    assert_eq!(
        value(&desc, "fingerprint", row).unwrap(),
        "4ED573582B16ACDAF6E42AA044A038F83A7F6333"
    );
    assert_eq!(value(&desc, "address", row).unwrap(), "10.18.111.71");
    assert_eq!(value(&desc, "tor_version", row).unwrap(), "0.2.0.26-rc");
    assert_eq!(
        value(&desc, "published", row).unwrap(),
        "2008-05-20T19:45:00"
    );
    assert_eq!(
        document_counts(wh.path(), "bridge_descriptor"),
        "[bridge-server-descriptor=1/0/0]"
    );
}

#[test]
fn votes_2012_2016_2026() {
    let maatuska = "real/collector/2016-09-20-13-00-00-vote-49015F787433103580E3B66A1707A00E60F2D15B-60ADC6BEC262AE921A1037D54C8A3976367DBE87";
    let tor26_2012 = "real/stem/metrics_vote";
    let tor26_2026 = "real/arti/testdata-live/authority";
    let (wh, summary) = import_fixtures(&[maatuska, tor26_2012, tor26_2026]);
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    let docs: Vec<Vec<u8>> = [maatuska, tor26_2012, tor26_2026]
        .iter()
        .map(|f| read_fixture(f))
        .collect();
    let votes = rows(wh.path(), "votes");
    assert_eq!(votes.num_rows(), 3);
    let entries = rows(wh.path(), "vote_entries");
    let r_lines: usize = docs.iter().map(|d| lines_starting(d, "r ").len()).sum();
    assert_eq!(entries.num_rows(), r_lines);
    assert_eq!(
        document_counts(wh.path(), file_name(maatuska)),
        "[network-status-vote-3=1/0/0]"
    );

    // maatuska's vote: authority and digest are the two parts of CollecTor's file name.
    let (authority, digest) = file_name(maatuska)
        .strip_prefix("2016-09-20-13-00-00-vote-")
        .unwrap()
        .split_once('-')
        .unwrap();
    let row = find_row(&votes, "authority", authority);
    assert_eq!(
        value(&votes, "digest", row).unwrap(),
        digest.to_ascii_lowercase()
    );
    assert_eq!(
        value(&votes, "authority_nickname", row).unwrap(),
        "maatuska"
    );
    assert_eq!(
        value(&votes, "valid_after", row).unwrap(),
        ts(&header(&docs[0], "valid-after"))
    );
    assert_eq!(
        value(&votes, "published", row).unwrap(),
        ts(&header(&docs[0], "published"))
    );
    assert_eq!(
        value(&votes, "consensus_methods", row).unwrap(),
        format!(
            "[{}]",
            header(&docs[0], "consensus-methods").replace(' ', ", ")
        )
    );
    assert!(value(&votes, "flag_thresholds", row)
        .unwrap()
        .contains("guard-wfu=98.000%"));
    assert_eq!(
        value(&votes, "relays", row).unwrap(),
        lines_starting(&docs[0], "r ").len().to_string()
    );
    assert_eq!(value(&votes, "relays", row).unwrap(), "7903");

    // What maatuska said about PDrelay1: measured bandwidth, ed25519 key, microdesc digests.
    let r = String::from_utf8_lossy(lines_starting(&docs[0], "r PDrelay1 ")[0]).to_string();
    let fp = b64_to_hex(r.split(' ').nth(2).unwrap());
    let row = (0..entries.num_rows())
        .find(|&i| {
            value(&entries, "fingerprint", i).unwrap() == fp
                && value(&entries, "authority", i).unwrap() == authority
        })
        .unwrap();
    assert_eq!(value(&entries, "nickname", row).unwrap(), "PDrelay1");
    assert_eq!(value(&entries, "bandwidth", row).unwrap(), "2992");
    assert_eq!(value(&entries, "measured_bandwidth", row).unwrap(), "8890");
    assert_eq!(
        value(&entries, "ed25519_id", row).unwrap(),
        "8RH34kO07Pp+XYwzdoATVyCibIvmbslUjRkAm7J4IA8"
    );
    let m = value(&entries, "microdesc_digests", row).unwrap();
    assert!(
        m.starts_with("[13 sha256=JtJq1Tt6Zcjfu7cwEIJcvhBQAymyAgFec7dsf3XGBvs, 14,15 sha256="),
        "{m}"
    );
    assert_eq!(m.matches("sha256=").count(), 5);
    assert_eq!(
        value(&entries, "flags", row).unwrap(),
        "[Fast, Guard, HSDir, Running, Stable, V2Dir, Valid]"
    );

    // tor26 in 2026: `stats` lines (tor 0.4.6+), digest over its own (cropped) bytes.
    let entry = read_fixture("real/arti/testdata-live/authority--entry--d2d4");
    let r = String::from_utf8_lossy(lines_starting(&entry, "r ")[0]).to_string();
    let row = find_row(
        &entries,
        "fingerprint",
        &b64_to_hex(r.split(' ').nth(2).unwrap()),
    );
    assert_eq!(
        value(&entries, "stats", row).unwrap(),
        format!("[{}]", header(&entry, "stats").replace(' ', ", "))
    );
    assert_eq!(
        value(&entries, "ipv6_addresses", row).unwrap(),
        format!("[{}]", header(&entry, "a"))
    );
    // The 2012 vote predates measured bandwidths in `w` lines of this authority.
    let row = find_row(&votes, "authority_nickname", "tor26");
    assert!(value(&votes, "valid_after", row).is_some());
}

#[test]
fn microdesc_consensuses_and_microdescriptors_join() {
    let md_2016 = "real/collector/2016-10-02-17-00-00-consensus-microdesc";
    let tarball = "real/stem/microdescs-2019-05-cropped.tar";
    let md_2026 = "real/arti/testdata-live/consensus-microdesc";
    let cache = "real/stem/cached-microdescs";
    let nicknames = ["Akka", "Ukko", "d2d4", "lisdex", "moria1"];
    let descs: Vec<String> = nicknames
        .iter()
        .map(|n| format!("real/arti/testdata-live/consensus-microdesc--desc--{n}"))
        .collect();
    let mut inputs = vec![md_2016, tarball, md_2026, cache];
    inputs.extend(descs.iter().map(String::as_str));
    let (wh, summary) = import_fixtures(&inputs);
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    // Microdesc consensuses never land in `consensuses` / `consensus_entries`.
    assert!(read_dataset(wh.path(), "consensus_entries").is_none());

    let members = tar_members(tarball);
    let (md_members, micro_members): (Vec<_>, Vec<_>) = members
        .iter()
        .partition(|(p, _)| p.contains("consensus-microdesc"));
    let entries = rows(wh.path(), "microdesc_consensus_entries");
    let expected = lines_starting(&read_fixture(md_2016), "r ").len()
        + lines_starting(&md_members[0].1, "r ").len()
        + lines_starting(&read_fixture(md_2026), "r ").len();
    assert_eq!(entries.num_rows(), expected);
    assert_eq!(entries.num_rows(), 7284 + 556 + 5);

    let micro = rows(wh.path(), "microdescriptors");
    let cache_doc = read_fixture(cache);
    assert_eq!(
        micro.num_rows(),
        micro_members.len() + nicknames.len() + lines_starting(&cache_doc, "onion-key").len()
    );
    // Archive members are named by the SHA-256 the importer computes, and filed under the
    // archive's month; the tor cache file (no date in its name) under 1970-01.
    for (path, _) in &micro_members {
        let row = find_row(&micro, "digest", file_name(path));
        assert_eq!(
            value(&micro, "archive_month", row).unwrap(),
            "2019-05-01T00:00:00"
        );
    }
    let cached: Vec<usize> = (0..micro.num_rows())
        .filter(|&i| value(&micro, "source_file", i).unwrap() == "cached-microdescs")
        .collect();
    assert_eq!(cached.len(), 3);
    assert!(cached
        .iter()
        .all(|&i| value(&micro, "archive_month", i).unwrap() == "1970-01-01T00:00:00"));

    // Each 2026 md consensus entry's `m` digest is the digest of its microdescriptor.
    for n in nicknames {
        let entry = read_fixture(&format!(
            "real/arti/testdata-live/consensus-microdesc--entry--{n}"
        ));
        let r = header(&entry, "r");
        let fp = b64_to_hex(r.split(' ').nth(1).unwrap());
        let row = (0..entries.num_rows())
            .find(|&i| {
                value(&entries, "fingerprint", i).unwrap() == fp
                    && value(&entries, "valid_after", i).unwrap() == "2026-07-27T10:00:00"
            })
            .unwrap();
        let digest = b64_to_hex(&header(&entry, "m")).to_ascii_lowercase();
        assert_eq!(value(&entries, "microdesc_digest", row).unwrap(), digest);
        assert_eq!(value(&entries, "descriptor_digest", row), None);
        assert_eq!(
            value(&entries, "published", row).unwrap(),
            "2038-01-01T00:00:00"
        );
        let m = find_row(&micro, "digest", &digest);
        assert_eq!(
            value(&micro, "source_file", m).unwrap(),
            format!("consensus-microdesc--desc--{n}")
        );
    }
    // d2d4's microdescriptor: family, IPv4 and IPv6 port summaries, ed25519 id.
    let doc = read_fixture(&descs[2]);
    let row = find_row(&micro, "source_file", "consensus-microdesc--desc--d2d4");
    assert_eq!(
        value(&micro, "family", row).unwrap(),
        format!("[{}]", header(&doc, "family").replace(' ', ", "))
    );
    assert_eq!(
        value(&micro, "policy6_summary", row).unwrap(),
        header(&doc, "p6")
    );
    assert_eq!(
        value(&micro, "ed25519_id", row).unwrap(),
        header(&doc, "id").strip_prefix("ed25519 ").unwrap()
    );
}

#[test]
fn bridge_network_statuses_1_0_to_1_2() {
    let status_2016 = "real/collector/20160920-063816-1D8F3A91C37C5D1C4C19B1AD1D0CFBE8BF72D8E1";
    let tarball = "real/stem/bridge-statuses-2019-05-cropped.tar";
    let status_2012 = "real/stem/bridge_network_status";
    let (wh, summary) = import_fixtures(&[status_2016, tarball, status_2012]);
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    let members = tar_members(tarball);
    let statuses = rows(wh.path(), "bridge_network_statuses");
    assert_eq!(statuses.num_rows(), 1 + members.len() + 1);
    let entries = rows(wh.path(), "bridge_status_entries");
    let doc_2016 = read_fixture(status_2016);
    let doc_2012 = read_fixture(status_2012);
    let expected = lines_starting(&doc_2016, "r ").len()
        + members
            .iter()
            .map(|(_, b)| lines_starting(b, "r ").len())
            .sum::<usize>()
        + lines_starting(&doc_2012, "r ").len();
    assert_eq!(entries.num_rows(), expected);
    assert_eq!(entries.num_rows(), 1906 + 2593 + 4);

    let row = find_row(&statuses, "published", &ts(&header(&doc_2016, "published")));
    assert_eq!(
        value(&statuses, "authority", row).unwrap(),
        header(&doc_2016, "fingerprint")
    );
    assert_eq!(value(&statuses, "relays", row).unwrap(), "1906");
    assert!(value(&statuses, "flag_thresholds", row)
        .unwrap()
        .starts_with("[stable-uptime=1293451, "));
    // Format 1.2 members name the authority in the header and in the file name.
    for (path, bytes) in &members {
        let row = find_row(&statuses, "published", &ts(&header(bytes, "published")));
        let fp = header(bytes, "fingerprint");
        assert!(path.ends_with(&fp));
        assert_eq!(value(&statuses, "authority", row).unwrap(), fp);
    }
    // Format 1.0 has neither.
    let row = find_row(&statuses, "published", "2012-06-01T04:07:04");
    assert_eq!(value(&statuses, "authority", row), None);

    // An entry of 2012: TolFuin.
    let row = find_row(&entries, "nickname", "TolFuin");
    let r = String::from_utf8_lossy(lines_starting(&doc_2012, "r TolFuin ")[0]).to_string();
    let f: Vec<&str> = r.split(' ').collect();
    assert_eq!(
        value(&entries, "fingerprint", row).unwrap(),
        b64_to_hex(f[2])
    );
    assert_eq!(
        value(&entries, "descriptor_digest", row).unwrap(),
        b64_to_hex(f[3]).to_ascii_lowercase()
    );
    assert_eq!(
        value(&entries, "status_published", row).unwrap(),
        "2012-06-01T04:07:04"
    );
    assert_eq!(value(&entries, "address", row).unwrap(), f[6]);
    assert_eq!(value(&entries, "bandwidth", row).unwrap(), "32");
    assert_eq!(
        value(&entries, "exit_policy_summary", row).unwrap(),
        "reject 1-65535"
    );
}

/// SHA-256 of every Parquet file of the datasets this file covers.
fn new_dataset_hashes(wh: &std::path::Path) -> BTreeMap<String, String> {
    use sha2::Digest;
    let mut out = BTreeMap::new();
    for dataset in [
        "extra_infos",
        "bridge_extra_infos",
        "votes",
        "vote_entries",
        "microdesc_consensus_entries",
        "microdescriptors",
        "bridge_network_statuses",
        "bridge_status_entries",
        "bridge_server_descriptors",
    ] {
        for file in dataset_files(wh, dataset) {
            let rel = file.strip_prefix(wh).unwrap().display().to_string();
            out.insert(
                rel,
                hex::encode(sha2::Sha256::digest(std::fs::read(&file).unwrap())),
            );
        }
    }
    out
}

#[test]
fn output_does_not_depend_on_order_threads_or_spilling() {
    let inputs = [
        "real/collector/relay-2016-10-02-08-05-00-extra-infos",
        "real/stem/extra-infos-2019-04-cropped.tar",
        "real/collector/bridge-2016-10-02-08-09-00-extra-infos",
        "real/stem/bridge-server-descriptors-2019-02-cropped.tar",
        "real/metrics-lib/2017-07-17-17-00-00-vote-0232AF901C31A04EE9848595AF9BB7620D4C5B2E-6C2F5B0D52DFB3E4CA3DDEEAD690CC563CAF0601",
        "real/stem/metrics_vote",
        "real/stem/microdescs-2019-05-cropped.tar",
        "real/metrics-lib/2017-07-17-17-20-00-micro",
        "real/stem/bridge-statuses-2019-05-cropped.tar",
    ];
    let paths: Vec<_> = inputs.iter().map(|r| fixture(r)).collect();
    let one = tempfile::tempdir().unwrap();
    import_with(one.path(), &paths, 1, None);
    let reversed: Vec<_> = paths.iter().rev().cloned().collect();
    let two = tempfile::tempdir().unwrap();
    import_with(two.path(), &reversed, 3, Some(50));
    let hashes = new_dataset_hashes(one.path());
    // extra_infos (2016-10, 2019-04), votes and vote_entries (2012-07, 2017-07) and
    // microdescriptors (2017-07, 2019-05) have two partitions each.
    assert_eq!(hashes.len(), 9 + 4, "{hashes:?}");
    assert_eq!(hashes, new_dataset_hashes(two.path()));
    // Importing in two runs (the second merging into existing partitions) gives the same.
    let three = tempfile::tempdir().unwrap();
    import_with(three.path(), &paths[..4], 1, None);
    import_with(three.path(), &paths, 2, None);
    assert_eq!(hashes, new_dataset_hashes(three.path()));
}

#[test]
fn bad_lines_and_documents_are_recorded_with_line_numbers() {
    let dir = tempfile::tempdir().unwrap();
    // stem's 2012 vote with the second r line's address broken: that entry alone is skipped.
    let vote = read_fixture("real/stem/metrics_vote");
    let text = String::from_utf8(vote.clone()).unwrap();
    let second_r = text.lines().filter(|l| l.starts_with("r ")).nth(1).unwrap();
    let line_no = text.lines().position(|l| l == second_r).unwrap() as u32 + 1;
    let address = second_r.split(' ').nth(6).unwrap();
    let broken = text.replacen(second_r, &second_r.replacen(address, "10.0.0.999", 1), 1);
    let vote_path = write_input(dir.path(), "broken-vote", broken.as_bytes());
    // An extra-info descriptor without its published line is rejected whole; one with a
    // broken history keeps everything else.
    let extra = read_fixture("real/stem/extrainfo_relay_descriptor");
    let text = String::from_utf8(extra).unwrap();
    let no_published: String = text
        .lines()
        .filter(|l| !l.starts_with("published "))
        .map(|l| format!("{l}\n"))
        .collect();
    let history_line = text
        .lines()
        .position(|l| l.starts_with("read-history "))
        .unwrap() as u32
        + 1;
    let bad_history = text.replacen("read-history ", "read-history 2012-13-45 ", 1);
    let extra_a = write_input(dir.path(), "no-published", no_published.as_bytes());
    let extra_b = write_input(dir.path(), "bad-history", bad_history.as_bytes());

    let wh = dir.path().join("wh");
    let summary = import_into(&wh, &[vote_path, extra_a, extra_b], 1);
    let by_file = |name: &str| -> Vec<_> {
        summary
            .errors
            .iter()
            .filter(|e| e.source_file.ends_with(name))
            .collect()
    };
    let vote_errors = by_file("broken-vote");
    assert_eq!(vote_errors.len(), 1, "{vote_errors:?}");
    assert_eq!(vote_errors[0].line, line_no);
    assert_eq!(vote_errors[0].kind, "bad_value");
    assert_eq!(
        rows(&wh, "vote_entries").num_rows(),
        lines_starting(&vote, "r ").len() - 1
    );
    let rejected = by_file("no-published");
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].kind, "missing_line");
    assert_eq!(document_counts(&wh, "no-published"), "[extra-info=0/0/1]");
    let warned = by_file("bad-history");
    assert_eq!(warned.len(), 1);
    assert_eq!(warned[0].line, history_line);
    assert_eq!(warned[0].kind, "bad_timestamp");
    let extra = rows(&wh, "extra_infos");
    assert_eq!(extra.num_rows(), 1);
    assert_eq!(value(&extra, "read_history", 0), None);
    assert!(value(&extra, "write_history", 0).is_some());
    // Everything recorded is also in the import_errors dataset.
    assert_eq!(rows(&wh, "import_errors").num_rows(), 3);
}

#[test]
fn bandwidth_files_1_0_and_1_4() {
    let tarball = "real/stem/bandwidths-2019-05-cropped.tar";
    let (wh, summary) = import_fixtures(&[tarball]);
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    let members = tar_members(tarball);
    let files = rows(wh.path(), "bandwidth_files");
    assert_eq!(files.num_rows(), members.len());
    assert_eq!(files.num_rows(), 2);
    let entries = rows(wh.path(), "bandwidth_file_entries");
    let relay_lines = |doc: &[u8]| {
        doc.split(|&b| b == b'\n')
            .filter(|l| l.starts_with(b"node_id=") || l.windows(9).any(|w| w == b" node_id="))
            .count()
    };
    let expected: usize = members.iter().map(|(_, d)| relay_lines(d)).sum();
    assert_eq!(entries.num_rows(), expected);
    for (path, doc) in &members {
        let text = String::from_utf8_lossy(doc).to_string();
        let time: i64 = text.lines().nth(1).unwrap().parse().unwrap();
        let shown = ts(&relaytrail::descriptor::values::format_timestamp(time));
        let row = find_row(&files, "source_member", path);
        assert_eq!(value(&files, "timestamp", row).unwrap(), shown);
        assert_eq!(
            value(&files, "relays", row).unwrap(),
            relay_lines(doc).to_string()
        );
        let version = text
            .lines()
            .find_map(|l| l.strip_prefix("version="))
            .map(str::to_string);
        assert_eq!(value(&files, "version", row), version);
    }
    // sbws 1.4.0 file: header and ripple's line.
    let row = find_row(&files, "version", "1.4.0");
    assert_eq!(value(&files, "software", row).unwrap(), "sbws");
    assert_eq!(value(&files, "software_version", row).unwrap(), "1.1.0");
    assert!(value(&files, "header", row)
        .unwrap()
        .contains("file_created=2019-05-14T12:35:04"));
    let row = find_row(&entries, "nick", "ripple");
    assert_eq!(
        value(&entries, "fingerprint", row).unwrap(),
        "BAF94556C27AA9A988199DC275E4E1BEEE9612DA"
    );
    assert_eq!(value(&entries, "bw", row).unwrap(), "1");
    assert!(value(&entries, "attributes", row)
        .unwrap()
        .starts_with("[bw_mean=184684, bw_median=218280"));
    // Torflow 1.0.0 file: no header, measured_at as a time.
    let row = find_row(&entries, "nick", "tor6zXLCtAn");
    assert_eq!(
        value(&entries, "fingerprint", row).unwrap(),
        "35BD292A0F86C06A4753FF6F66505FF04B561986"
    );
    assert_eq!(value(&entries, "bw", row).unwrap(), "1210");
    assert_eq!(
        value(&entries, "measured_at", row).unwrap(),
        "2019-05-13T23:14:04"
    );
    assert_eq!(
        document_counts(wh.path(), "bandwidths-2019-05-cropped.tar"),
        "[bandwidth-file=2/0/0]"
    );
}

#[test]
fn bridge_pool_assignments_from_the_collector_page_excerpt() {
    // No real assignment file is among the fixtures (CollecTor stopped archiving them in
    // 2014-12); these lines are the excerpt of the 2011-03-13 list quoted on CollecTor's
    // format page, with the `@type` line CollecTor puts before it.
    let excerpt = "@type bridge-pool-assignment 1.0
bridge-pool-assignment 2011-03-13 14:38:03
00b834117566035736fc6bd4ece950eace8e057a unallocated
00e923e7a8d87d28954fee7503e480f3a03ce4ee email port=443 flag=stable
0103bb5b00ad3102b2dbafe9ce709a0a7c1060e4 https ring=2 port=443 flag=stable
";
    let dir = tempfile::tempdir().unwrap();
    let input = write_input(dir.path(), "2011-03-13-14-38-03", excerpt.as_bytes());
    let wh = dir.path().join("wh");
    let summary = import_into(&wh, &[input], 1);
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    let rows = rows(&wh, "bridge_pool_assignments");
    assert_eq!(rows.num_rows(), excerpt.lines().count() - 2);
    let row = find_row(
        &rows,
        "fingerprint",
        "0103BB5B00AD3102B2DBAFE9CE709A0A7C1060E4",
    );
    assert_eq!(value(&rows, "pool", row).unwrap(), "https");
    assert_eq!(
        value(&rows, "details", row).unwrap(),
        "[ring=2, port=443, flag=stable]"
    );
    assert_eq!(
        value(&rows, "published", row).unwrap(),
        "2011-03-13T14:38:03"
    );
    assert_eq!(
        document_counts(&wh, "2011-03-13-14-38-03"),
        "[bridge-pool-assignment=1/0/0]"
    );
}
