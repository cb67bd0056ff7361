//! The bad-input corpus: every file in `tests/bad_inputs/` (how each was made: the README
//! there) and the cases built here because they are large (a 10 MB line, multi-MB tarballs
//! cut short) or cannot be committed (symbolic links, permissions, a named pipe). The table
//! in [`cases`] states, for each, the errors `relaytrail import` must record in
//! `import_errors` and print (kind, file, member, line, message fragments), its exit
//! status, each input's status in the manifest, and the rows still imported, counted from
//! the documents themselves.
#![cfg(feature = "analytics")] // drives the relaytrail binary

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use arrow::record_batch::RecordBatch;
use common::*;

const CONSENSUS: &str = "real/metrics-lib/2017-07-17-17-00-00-consensus";
const DESCRIPTORS: &str = "real/metrics-lib/2017-07-17-17-20-00-server-descriptors";
const EXIT_LIST: &str = "real/metrics-lib/2017-07-17-17-02-00";
/// The members of `sample.tar`, the base of the committed archive cases.
const SAMPLE_MEMBERS: [(&str, &str); 3] = [
    ("sample/2017-07-17-17-00-00-consensus", CONSENSUS),
    ("sample/2017-07-17-17-20-00-server-descriptors", DESCRIPTORS),
    ("sample/2017-07-17-17-02-00", EXIT_LIST),
];
/// Longest message the importer keeps before cutting it (`MESSAGE_CHARS` in `src/import/input.rs`).
const MESSAGE_CHARS: usize = 300;
const TEN_MB: usize = 10 << 20;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_inputs")
}

fn corpus(name: &str) -> Vec<u8> {
    std::fs::read(corpus_dir().join(name)).unwrap()
}

/// Rows per importer dataset.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Rows {
    consensuses: usize,
    consensus_entries: usize,
    server_descriptors: usize,
    exit_lists: usize,
}

impl Rows {
    const NONE: Rows = Rows {
        consensuses: 0,
        consensus_entries: 0,
        server_descriptors: 0,
        exit_lists: 0,
    };

    /// A consensus: its row and one entry per `r` line.
    fn consensus(doc: &[u8]) -> Rows {
        Rows {
            consensuses: 1,
            consensus_entries: lines_starting(doc, "r ").len(),
            ..Rows::NONE
        }
    }

    /// Server descriptors: one per `router` line.
    fn descriptors(doc: &[u8]) -> Rows {
        Rows {
            server_descriptors: lines_starting(doc, "router ").len(),
            ..Rows::NONE
        }
    }

    /// An exit list: a row per `ExitAddress`, one for a node listed without any.
    fn exit_list(doc: &[u8]) -> Rows {
        let mut blocks: Vec<usize> = Vec::new();
        for line in doc.split(|&b| b == b'\n') {
            if line.starts_with(b"ExitNode ") {
                blocks.push(0);
            } else if line.starts_with(b"ExitAddress ") {
                *blocks.last_mut().unwrap() += 1;
            }
        }
        Rows {
            exit_lists: blocks.iter().map(|&n| n.max(1)).sum(),
            ..Rows::NONE
        }
    }

    /// The rows of a fixture, by its type.
    fn of_fixture(relative: &str) -> Rows {
        let doc = read_fixture(relative);
        if relative.contains("consensus") {
            Rows::consensus(&doc)
        } else if relative.contains("descriptors") {
            Rows::descriptors(&doc)
        } else {
            Rows::exit_list(&doc)
        }
    }

    fn plus(self, o: Rows) -> Rows {
        Rows {
            consensuses: self.consensuses + o.consensuses,
            consensus_entries: self.consensus_entries + o.consensus_entries,
            server_descriptors: self.server_descriptors + o.server_descriptors,
            exit_lists: self.exit_lists + o.exit_lists,
        }
    }

    fn in_warehouse(warehouse: &Path) -> Rows {
        let n = |d: &str| read_dataset(warehouse, d).map_or(0, |b| b.num_rows());
        Rows {
            consensuses: n("consensuses"),
            consensus_entries: n("consensus_entries"),
            server_descriptors: n("server_descriptors"),
            exit_lists: n("exit_lists"),
        }
    }
}

fn sample_rows() -> Rows {
    SAMPLE_MEMBERS
        .iter()
        .fold(Rows::NONE, |r, (_, f)| r.plus(Rows::of_fixture(f)))
}

/// The tar member an error must name.
#[derive(Debug, Clone)]
enum Member {
    None,
    Is(String),
    /// Where an xz decoder notices corruption depends on its buffering: one of these members,
    /// or none (after the last member). What is imported then follows from the error.
    Any,
}

/// What must still be imported.
#[derive(Debug, Clone)]
enum Imported {
    Rows(Rows),
    /// The members (name, rows) before the one the error names: all of them when it names
    /// none and says "after the last member", none when it names none otherwise.
    MembersBefore(Vec<(String, Rows)>),
}

#[derive(Debug, Clone)]
struct Expected {
    kind: &'static str,
    /// The input's path ends with this.
    file: String,
    member: Member,
    line: u32,
    fragments: Vec<String>,
    /// The `@type` name of the document, when the error is about one.
    doc_type: Option<&'static str>,
}

type Check = Box<dyn Fn(&Path) -> Result<(), String>>;

struct Case {
    name: String,
    inputs: Vec<PathBuf>,
    exit: i32,
    errors: Vec<Expected>,
    imported: Imported,
    /// (input file name, status in the `imports` manifest)
    statuses: Vec<(String, &'static str)>,
    check: Option<Check>,
    /// Run without the right to bypass file permissions (the tests may run as root).
    unprivileged: bool,
}

impl Case {
    fn new(name: &str, inputs: Vec<PathBuf>) -> Case {
        Case {
            name: name.to_string(),
            inputs,
            exit: 0,
            errors: Vec::new(),
            imported: Imported::Rows(Rows::NONE),
            statuses: Vec::new(),
            check: None,
            unprivileged: false,
        }
    }

    /// A committed file of `tests/bad_inputs`, as the only input.
    fn committed(name: &str) -> Case {
        Case::new(name, vec![corpus_dir().join(name)])
    }

    /// Expects an error (and exit status 1).
    fn error(self, kind: &'static str, member: Member, line: u32, fragments: &[&str]) -> Case {
        let file = self.name.clone();
        self.error_in(&file, kind, member, line, fragments)
    }

    fn error_in(
        mut self,
        file: &str,
        kind: &'static str,
        member: Member,
        line: u32,
        fragments: &[&str],
    ) -> Case {
        self.exit = 1;
        self.errors.push(Expected {
            kind,
            file: file.to_string(),
            member,
            line,
            fragments: fragments.iter().map(|f| f.to_string()).collect(),
            doc_type: None,
        });
        self
    }

    /// The last expected error is about a document of this type.
    fn typed(mut self, doc_type: &'static str) -> Case {
        self.errors.last_mut().unwrap().doc_type = Some(doc_type);
        self
    }

    fn rows(mut self, rows: Rows) -> Case {
        self.imported = Imported::Rows(rows);
        self
    }

    fn members_before(mut self, members: Vec<(String, Rows)>) -> Case {
        self.imported = Imported::MembersBefore(members);
        self
    }

    /// The manifest status of the case's own file.
    fn status(self, status: &'static str) -> Case {
        let file = self.name.clone();
        self.status_of(&file, status)
    }

    fn status_of(mut self, file: &str, status: &'static str) -> Case {
        self.statuses.push((file.to_string(), status));
        self
    }

    fn check(mut self, check: impl Fn(&Path) -> Result<(), String> + 'static) -> Case {
        self.check = Some(Box::new(check));
        self
    }
}

/// 1-based number of the first line of `doc` starting with `prefix`.
fn line_of(doc: &[u8], prefix: &str) -> u32 {
    let index = doc
        .split(|&b| b == b'\n')
        .position(|l| l.starts_with(prefix.as_bytes()))
        .unwrap_or_else(|| panic!("no line starts with {prefix}"));
    index as u32 + 1
}

/// The committed cases.
fn committed_cases() -> Vec<Case> {
    let c = read_fixture(CONSENSUS);
    let d = read_fixture(DESCRIPTORS);
    let consensus = Rows::consensus(&c);
    let descriptors = Rows::descriptors(&d);
    let one_entry_less = Rows {
        consensus_entries: consensus.consensus_entries - 1,
        ..consensus
    };
    let one_descriptor_less = Rows {
        server_descriptors: descriptors.server_descriptors - 1,
        ..Rows::NONE
    };
    let sample_members: Vec<(String, Rows)> = SAMPLE_MEMBERS
        .iter()
        .map(|(m, f)| (m.to_string(), Rows::of_fixture(f)))
        .collect();
    let member = |i: usize| Member::Is(SAMPLE_MEMBERS[i].0.to_string());
    let after_last = format!("after the last member ({})", SAMPLE_MEMBERS[2].0);
    let file = corpus;
    vec![
        // Containers: compression and tar framing.
        Case::committed("sample.tar")
            .rows(sample_rows())
            .status("ok"),
        Case::committed("sample.tar.xz")
            .rows(sample_rows())
            .status("ok"),
        Case::committed("sample-cut-in-stream-header.tar.xz")
            .error("archive", Member::None, 0, &["compressed data ends early"])
            .status("failed"),
        Case::committed("sample-cut-at-30-percent.tar.xz")
            .error(
                "archive",
                Member::Any,
                0,
                &["member cut short", "ends early"],
            )
            .members_before(sample_members.clone())
            .status("failed"),
        Case::committed("sample-cut-at-70-percent.tar.xz")
            .error(
                "archive",
                Member::Any,
                0,
                &["member cut short", "ends early"],
            )
            .members_before(sample_members.clone())
            .status("failed"),
        Case::committed("sample-cut-in-stream-footer.tar.xz")
            .error("archive", Member::None, 0, &[&after_last, "ends early"])
            .rows(sample_rows())
            .status("failed"),
        Case::committed("sample-corrupt-block-header.tar.xz")
            .error("archive", Member::None, 0, &["cannot decompress"])
            .status("failed"),
        Case::committed("sample-corrupt-block-check.tar.xz")
            .error("archive", Member::Any, 0, &["lzma data error"])
            .members_before(sample_members.clone())
            .status("failed"),
        Case::committed("sample-broken-second-tar-header.tar.xz")
            .error(
                "archive",
                Member::None,
                0,
                &[
                    &format!("broken tar header after member {}", SAMPLE_MEMBERS[0].0),
                    "checksum",
                ],
            )
            .rows(consensus)
            .status("failed"),
        Case::committed("sample-cut-in-second-member.tar")
            .error(
                "archive",
                member(1),
                0,
                &["member cut short", &format!("of its {} bytes", d.len())],
            )
            .rows(consensus)
            .status("failed"),
        Case::committed("sample-cut-in-half.tar.gz")
            .error(
                "archive",
                Member::Any,
                0,
                &["member cut short", "ends early"],
            )
            .members_before(sample_members.clone())
            .status("failed"),
        Case::committed("sample-bad-crc.tar.gz")
            .error("archive", Member::None, 0, &[&after_last, "checksum"])
            .rows(sample_rows())
            .status("failed"),
        Case::committed("xz-magic-then-zeros.xz")
            .error("archive", Member::None, 0, &["cannot decompress"])
            .status("failed"),
        Case::committed("member-claims-2-gib.tar")
            .error(
                "too_large",
                Member::Is("server-descriptors-2017-07/huge".into()),
                0,
                &["member is 2147483648 bytes"],
            )
            .status("failed"),
        Case::committed("empty-file")
            .error("truncated", Member::None, 0, &["empty member"])
            .status("errors"),
        Case::committed("whitespace-only")
            .error("truncated", Member::None, 0, &["empty member"])
            .status("errors"),
        Case::committed("zero-byte-member.tar")
            .error(
                "truncated",
                Member::Is("consensuses-2017-07/17/2017-07-17-16-00-00-consensus".into()),
                0,
                &["empty member"],
            )
            .rows(consensus)
            .status("errors"),
        // The same consensus twice in one tarball: both read, stored once.
        Case::committed("duplicate-documents.tar")
            .rows(consensus)
            .status("ok")
            .check(|wh| {
                let imports = read_dataset(wh, "imports").unwrap();
                expect_eq(value(&imports, "documents_imported", 0), Some("2".into()))
            }),
        Case::committed("garbage.bin")
            .error(
                "unrecognised",
                Member::None,
                1,
                &["cannot tell the document type"],
            )
            .status("errors"),
        // NULs are shown escaped, and the quote is cut.
        Case::committed("nul-bytes")
            .error(
                "unrecognised",
                Member::None,
                1,
                &[
                    "cannot tell the document type",
                    "\\u{0}\\u{0}",
                    "more bytes)",
                ],
            )
            .status("errors"),
        // Consensuses (metrics-lib 2017-07-17 17:00, 5 entries).
        Case::committed("consensus-crlf-line-ends")
            .rows(consensus)
            .status("ok"),
        Case::committed("consensus-cr-only-line-ends")
            .error("malformed", Member::None, 1, &["bare CR"])
            .status("errors"),
        Case::committed("consensus-no-valid-after")
            .error(
                "missing_line",
                Member::None,
                line_of(&file("consensus-no-valid-after"), "network-status-version"),
                &["consensus has no valid-after line"],
            )
            .typed("network-status-consensus-3")
            .status("errors"),
        Case::committed("consensus-valid-after-month-13")
            .error(
                "bad_timestamp",
                Member::None,
                line_of(&c, "valid-after"),
                &["'2017-13-17 17:00:00' in valid-after"],
            )
            .typed("network-status-consensus-3")
            .status("errors"),
        Case::committed("consensus-valid-after-year-2200")
            .error(
                "bad_timestamp",
                Member::None,
                line_of(&c, "valid-after"),
                &["'2200-07-17 17:00:00' in valid-after"],
            )
            .typed("network-status-consensus-3")
            .status("errors"),
        Case::committed("consensus-r-line-missing-fields")
            .error(
                "missing_field",
                Member::None,
                line_of(&c, "r MehlTor1"),
                &["r line has 4 fields, expected 8"],
            )
            .typed("network-status-consensus-3")
            .rows(one_entry_less)
            .status("errors"),
        Case::committed("consensus-r-line-bad-base64")
            .error(
                "bad_value",
                Member::None,
                line_of(&c, "r weiner"),
                &["bad identity '//DRJmufk5GRK!Tm0fz2ctgvuOA'"],
            )
            .typed("network-status-consensus-3")
            .rows(one_entry_less)
            .status("errors"),
        Case::committed("consensus-r-line-digest-too-long")
            .error(
                "bad_value",
                Member::None,
                line_of(&c, "r enam1ak"),
                &["bad descriptor digest 'ANY9f5unsgGFiZWM7XbikDWfAYwAAAA'"],
            )
            .typed("network-status-consensus-3")
            .rows(one_entry_less)
            .status("errors"),
        Case::committed("consensus-r-line-or-port-70000")
            .error(
                "bad_value",
                Member::None,
                line_of(&c, "r Sepiidae"),
                &["bad ORPort '70000'"],
            )
            .typed("network-status-consensus-3")
            .rows(one_entry_less)
            .status("errors"),
        Case::committed("consensus-r-line-negative-dir-port")
            .error(
                "bad_value",
                Member::None,
                line_of(&c, "r enam1ak"),
                &["bad DirPort '-1'"],
            )
            .typed("network-status-consensus-3")
            .rows(one_entry_less)
            .status("errors"),
        Case::committed("consensus-r-line-published-1970")
            .error(
                "bad_timestamp",
                Member::None,
                line_of(&c, "r ddetor2"),
                &["bad publication time '1970-01-01 00:00:00'"],
            )
            .typed("network-status-consensus-3")
            .rows(one_entry_less)
            .status("errors"),
        // A bad `w` value is recorded; the entry stays, without a bandwidth.
        Case::committed("consensus-w-line-bad-value")
            .error(
                "bad_value",
                Member::None,
                line_of(&file("consensus-w-line-bad-value"), "w Bandwidth=22x80"),
                &["w line: bad value 'Bandwidth=22x80'"],
            )
            .typed("network-status-consensus-3")
            .rows(consensus)
            .status("errors")
            .check(|wh| {
                let entries = read_dataset(wh, "consensus_entries").unwrap();
                let row = row_where(&entries, "nickname", |n| n == "MehlTor1")?;
                expect_eq(value(&entries, "bandwidth", row), None)
            }),
        Case::committed("consensus-non-utf8-free-text")
            .rows(consensus)
            .status("ok")
            .check(|wh| {
                let entries = read_dataset(wh, "consensus_entries").unwrap();
                let row = row_where(&entries, "nickname", |n| n.starts_with("Sepi"))?;
                expect_eq(
                    value(&entries, "nickname", row),
                    Some("Sepi\u{FFFD}dae".into()),
                )?;
                expect_eq(
                    value(&entries, "version", row),
                    Some("0.2.5.14 (\u{FFFD}\u{FFFD})".into()),
                )?;
                expect_contains(&entries, "flags", row, "Sch\u{FFFD}n")?;
                expect_contains(&entries, "protocols", row, "Caf\u{FFFD}=1")?;
                expect_eq(
                    value(&entries, "exit_policy_summary", row),
                    Some("reject 1-65535 \u{FFFD}".into()),
                )
            }),
        Case::committed("consensus-type-major-2")
            .error(
                "unsupported_version",
                Member::None,
                1,
                &["major version 2; relaytrail reads 1.x"],
            )
            .status("errors"),
        Case::committed("consensus-type-version-not-a-number")
            .error("bad_value", Member::None, 1, &["bad @type version"])
            .status("errors"),
        Case::committed("unknown-type")
            .error(
                "unknown_type",
                Member::None,
                1,
                &["unknown document type '@type frobnicator-status 1.0'"],
            )
            .status("errors"),
        Case::committed("type-line-without-document")
            .error(
                "truncated",
                Member::None,
                1,
                &["@type line without a document"],
            )
            .status("errors"),
        // Server descriptors (metrics-lib 2017-07-17 17:20, 4 descriptors).
        Case::committed("server-descriptor-or-port-65536")
            .error(
                "bad_value",
                Member::None,
                line_of(&d, "router WinterNight0"),
                &["bad ORPort '65536'"],
            )
            .typed("server-descriptor")
            .rows(one_descriptor_less)
            .status("errors"),
        Case::committed("server-descriptor-no-published")
            .error(
                "missing_line",
                Member::None,
                line_of(&d, "router tortomofterelay"),
                &["no published line"],
            )
            .typed("server-descriptor")
            .rows(one_descriptor_less)
            .status("errors"),
        Case::committed("server-descriptor-no-router-signature")
            .error(
                "truncated",
                Member::None,
                line_of(&d, "router tortomofterelay"),
                &["no router-signature line"],
            )
            .typed("server-descriptor")
            .rows(one_descriptor_less)
            .status("errors"),
        Case::committed("server-descriptor-unterminated-signature")
            .error(
                "truncated",
                Member::None,
                {
                    let doc = file("server-descriptor-unterminated-signature");
                    lines_numbered(&doc, "-----BEGIN SIGNATURE-----")[1]
                },
                &["object 'SIGNATURE' has no END line"],
            )
            .typed("server-descriptor")
            .rows(Rows {
                server_descriptors: Rows::descriptors(&file(
                    "server-descriptor-unterminated-signature",
                ))
                .server_descriptors
                    - 1,
                ..Rows::NONE
            })
            .status("errors"),
        // A bad optional value: recorded, the field left null, the descriptor kept.
        Case::committed("server-descriptor-bad-uptime")
            .error(
                "bad_value",
                Member::None,
                line_of(&file("server-descriptor-bad-uptime"), "uptime 19467three"),
                &["bad uptime '19467three'"],
            )
            .typed("server-descriptor")
            .rows(descriptors)
            .status("errors")
            .check(|wh| {
                let d = read_dataset(wh, "server_descriptors").unwrap();
                let row = row_where(&d, "nickname", |n| n == "Ajorcel")?;
                expect_eq(value(&d, "uptime", row), None)
            }),
        Case::committed("server-descriptor-non-utf8-free-text")
            .rows(descriptors)
            .status("ok")
            .check(|wh| {
                let d = read_dataset(wh, "server_descriptors").unwrap();
                let row = row_where(&d, "nickname", |n| n.starts_with("Winter"))?;
                expect_eq(
                    value(&d, "nickname", row),
                    Some("Winter\u{FFFD}Night".into()),
                )?;
                expect_eq(
                    value(&d, "platform", row),
                    Some("Tor 0.2.5.12 on Lin\u{FFFD}x".into()),
                )?;
                expect_eq(value(&d, "os", row), Some("Lin\u{FFFD}x".into()))?;
                expect_eq(
                    value(&d, "contact", row),
                    Some("B\u{FFFD}ro office@wn.systems \u{FFFD}(".into()),
                )?;
                expect_contains(&d, "family", row, "N\u{FFFD}he")
            }),
        Case::committed("server-descriptor-nul-bytes")
            .rows(descriptors)
            .status("ok")
            .check(|wh| {
                let d = read_dataset(wh, "server_descriptors").unwrap();
                let row = row_where(&d, "nickname", |n| n == "WinterNight0")?;
                expect_eq(
                    value(&d, "contact", row),
                    Some("office\0@wn.systems\0\0".into()),
                )
            }),
        // Exit lists (metrics-lib 2017-07-17 17:02, 44 exit nodes).
        Case::committed("exit-list-bad-fingerprint")
            .error(
                "bad_value",
                Member::None,
                line_of(
                    &file("exit-list-bad-fingerprint"),
                    "ExitNode F115B8EFF7BAF0A70B75248519DDDE4A926BF9",
                ),
                &["bad ExitNode fingerprint 'F115B8EFF7BAF0A70B75248519DDDE4A926BF9'"],
            )
            .typed("tordnsel")
            .rows(Rows {
                exit_lists: Rows::exit_list(&file("exit-list-bad-fingerprint")).exit_lists - 1,
                ..Rows::NONE
            })
            .status("errors"),
        Case::committed("exit-list-address-year-2200")
            .error(
                "bad_timestamp",
                Member::None,
                line_of(
                    &file("exit-list-address-year-2200"),
                    "ExitAddress 103.56.207.84 2200",
                ),
                &["bad ExitAddress time"],
            )
            .typed("tordnsel")
            .rows(Rows::exit_list(&file("exit-list-address-year-2200")))
            .status("errors")
            .check(|wh| {
                let lists = read_dataset(wh, "exit_lists").unwrap();
                let row = row_where(&lists, "fingerprint", |f| {
                    f == "F115B8EFF7BAF0A70B75248519DDDE4A926BF9CE"
                })?;
                expect_eq(value(&lists, "exit_address", row), None)
            }),
        Case::committed("exit-list-without-times")
            .error(
                "missing_line",
                Member::None,
                2,
                &["exit list has no Downloaded line and no times"],
            )
            .typed("tordnsel")
            .status("errors"),
    ]
}

/// 1-based numbers of the lines of `doc` starting with `prefix`.
fn lines_numbered(doc: &[u8], prefix: &str) -> Vec<u32> {
    doc.split(|&b| b == b'\n')
        .enumerate()
        .filter(|(_, l)| l.starts_with(prefix.as_bytes()))
        .map(|(i, _)| i as u32 + 1)
        .collect()
}

/// The cases built in `dir`: large inputs, and what git cannot hold.
fn generated_cases(dir: &Path) -> Vec<Case> {
    let mut cases = Vec::new();

    // Multi-MB .tar.xz cut at several offsets.
    let members: Vec<(String, &str)> = [
        "real/collector/2016-09-20-13-00-00-consensus",
        "real/zoossh/server-descriptors",
        "real/collector/2016-09-20-13-02-00",
    ]
    .iter()
    .map(|f| (format!("big/{}", f.rsplit('/').next().unwrap()), *f))
    .collect();
    let tar = tar_of(
        &members
            .iter()
            .map(|(name, fixture)| (name.clone(), read_fixture(fixture)))
            .collect::<Vec<_>>(),
    );
    let compressed = xz(&tar);
    let member_rows: Vec<(String, Rows)> = members
        .iter()
        .map(|(name, fixture)| {
            let doc = read_fixture(fixture);
            let rows = if fixture.contains("consensus") {
                Rows::consensus(&doc)
            } else if fixture.contains("descriptors") {
                Rows::descriptors(&doc)
            } else {
                Rows::exit_list(&doc)
            };
            (name.clone(), rows)
        })
        .collect();
    for percent in [20, 55, 90] {
        let name = format!("big-cut-at-{percent}-percent.tar.xz");
        let path = write(dir, &name, &compressed[..compressed.len() * percent / 100]);
        cases.push(
            Case::new(&name, vec![path])
                .error(
                    "archive",
                    Member::Any,
                    0,
                    &["member cut short", "ends early"],
                )
                .members_before(member_rows.clone())
                .status("failed"),
        );
    }

    // A 10 MB line: as a whole file, as an r-line value, as a descriptor's contact.
    let name = "ten-mb-line";
    cases.push(
        Case::new(name, vec![write(dir, name, &vec![b'x'; TEN_MB])])
            .error(
                "unrecognised",
                Member::None,
                1,
                &["no @type line; first line 'xxxxxxxx"],
            )
            .status("errors"),
    );
    let c = read_fixture(CONSENSUS);
    let huge = "A".repeat(TEN_MB);
    let text = String::from_utf8(c.clone()).unwrap();
    let name = "consensus-ten-mb-identity";
    let doc = text.replace(
        "r weiner //DRJmufk5GRKETm0fz2ctgvuOA",
        &format!("r weiner {huge}"),
    );
    cases.push(
        Case::new(name, vec![write(dir, name, doc.as_bytes())])
            .error(
                "bad_value",
                Member::None,
                line_of(&c, "r weiner"),
                &["r line: bad identity 'AAAA", "more bytes)"],
            )
            .typed("network-status-consensus-3")
            .rows(Rows {
                consensus_entries: Rows::consensus(&c).consensus_entries - 1,
                ..Rows::consensus(&c)
            })
            .status("errors"),
    );
    let d = read_fixture(DESCRIPTORS);
    let name = "server-descriptor-ten-mb-contact";
    let doc = String::from_utf8(d.clone())
        .unwrap()
        .replace("contact office@wn.systems", &format!("contact {huge}"));
    cases.push(
        Case::new(name, vec![write(dir, name, doc.as_bytes())])
            .rows(Rows::descriptors(&d))
            .status("ok")
            .check(|wh| {
                let d = read_dataset(wh, "server_descriptors").unwrap();
                let row = row_where(&d, "nickname", |n| n == "WinterNight0")?;
                expect_eq(value(&d, "contact", row).map(|c| c.len()), Some(TEN_MB))
            }),
    );

    // The same tarball under two names: the second is a duplicate of the first.
    let sample = corpus("sample.tar.xz");
    let first = write(dir, "two-names/a/consensuses-2017-07.tar.xz", &sample);
    write(dir, "two-names/b/copy-of-consensuses.tar.xz", &sample);
    let first_path = first.display().to_string();
    cases.push(
        Case::new("same-tarball-under-two-names", vec![dir.join("two-names")])
            .rows(sample_rows())
            .status_of("consensuses-2017-07.tar.xz", "ok")
            .status_of("copy-of-consensuses.tar.xz", "duplicate")
            .check(move |wh| {
                let imports = read_dataset(wh, "imports").unwrap();
                let row = row_where(&imports, "status", |s| s == "duplicate")?;
                expect_eq(
                    value(&imports, "duplicate_of", row),
                    Some(first_path.clone()),
                )
            }),
    );

    // A folder with a symbolic link back to its parent, and a broken one.
    let exit_list = read_fixture(EXIT_LIST);
    let tree = dir.join("loop");
    write(&tree, "sub/2017-07-17-17-02-00", &exit_list);
    std::os::unix::fs::symlink("..", tree.join("sub/back-up")).unwrap();
    cases.push(
        Case::new("directory-loop-via-symlink", vec![tree])
            .error_in(
                "loop/sub/back-up",
                "io",
                Member::None,
                0,
                &["symbolic link loop", "not followed"],
            )
            .rows(Rows::exit_list(&exit_list))
            .status_of("2017-07-17-17-02-00", "ok"),
    );
    let tree = dir.join("broken-link");
    write(&tree, "2017-07-17-17-02-00", &exit_list);
    std::os::unix::fs::symlink("/nonexistent/relaytrail", tree.join("dangling")).unwrap();
    cases.push(
        Case::new("broken-symlink", vec![tree])
            .error_in(
                "broken-link/dangling",
                "io",
                Member::None,
                0,
                &["broken symbolic link to /nonexistent/relaytrail"],
            )
            .rows(Rows::exit_list(&exit_list))
            .status_of("2017-07-17-17-02-00", "ok"),
    );

    // An unreadable file and an unreadable folder next to a good file.
    let tree = dir.join("unreadable");
    write(&tree, "2017-07-17-17-02-00", &exit_list);
    let locked = write(&tree, "2017-07-17-17-00-00-consensus", &c);
    let closed = tree.join("closed");
    write(&closed, "2017-07-17-17-00-00-consensus", &c);
    use std::os::unix::fs::PermissionsExt;
    for path in [&locked, &closed] {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o000)).unwrap();
    }
    let mut unreadable = Case::new("unreadable-file-and-folder", vec![tree])
        .error_in(
            "unreadable/2017-07-17-17-00-00-consensus",
            "io",
            Member::None,
            0,
            &["cannot read", "Permission denied"],
        )
        .error_in(
            "unreadable/closed",
            "io",
            Member::None,
            0,
            &["cannot read", "Permission denied"],
        )
        .rows(Rows::exit_list(&exit_list))
        .status_of("2017-07-17-17-02-00", "ok");
    unreadable.unprivileged = true;
    cases.push(unreadable);

    // A named pipe, named on the command line and inside a folder: reported, not read (reading
    // one would wait for a writer forever).
    let fifo = dir.join("pipe/fifo");
    std::fs::create_dir_all(fifo.parent().unwrap()).unwrap();
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if made.is_ok_and(|s| s.success()) {
        let good = write(dir, "pipe/2017-07-17-17-02-00", &exit_list);
        cases.push(
            Case::new("named-pipe", vec![fifo, dir.join("pipe"), good])
                .error_in("pipe/fifo", "io", Member::None, 0, &["a named pipe"])
                .rows(Rows::exit_list(&exit_list))
                .status_of("2017-07-17-17-02-00", "ok"),
        );
    } else {
        eprintln!("named-pipe case skipped: mkfifo is not available");
    }

    let missing = dir.join("no-such-file.tar.xz");
    cases.push(Case::new("missing-path", vec![missing]).error_in(
        "no-such-file.tar.xz",
        "io",
        Member::None,
        0,
        &["cannot read", "No such file or directory"],
    ));
    cases
}

fn expect_eq<T: std::fmt::Debug + PartialEq>(got: T, wanted: T) -> Result<(), String> {
    if got == wanted {
        Ok(())
    } else {
        Err(format!("got {got:?}, wanted {wanted:?}"))
    }
}

fn expect_contains(
    batch: &RecordBatch,
    column: &str,
    row: usize,
    part: &str,
) -> Result<(), String> {
    match value(batch, column, row) {
        Some(v) if v.contains(part) => Ok(()),
        other => Err(format!(
            "{column} is {other:?}, wanted it to contain {part:?}"
        )),
    }
}

/// The first row whose `column` satisfies `wanted`.
fn row_where(
    batch: &RecordBatch,
    column: &str,
    wanted: impl Fn(&str) -> bool,
) -> Result<usize, String> {
    (0..batch.num_rows())
        .find(|&i| value(batch, column, i).is_some_and(|v| wanted(&v)))
        .ok_or_else(|| format!("no row with the wanted {column}"))
}

/// Whether the process may read files whatever their permissions (root).
fn bypasses_permissions() -> bool {
    let probe = tempfile::NamedTempFile::new().unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(probe.path(), std::fs::Permissions::from_mode(0o000)).unwrap();
    std::fs::File::open(probe.path()).is_ok()
}

/// How to run the binary so that permissions apply: as it is when they already do, else
/// (as root) under `setpriv` without the capabilities that bypass them; `None` when neither
/// works.
fn unprivileged_prefix() -> Option<Vec<String>> {
    if !bypasses_permissions() {
        return Some(Vec::new());
    }
    let prefix: Vec<String> = [
        "setpriv",
        "--inh-caps=-dac_override,-dac_read_search",
        "--bounding-set=-dac_override,-dac_read_search",
    ]
    .map(String::from)
    .to_vec();
    let probe = tempfile::NamedTempFile::new().unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(probe.path(), std::fs::Permissions::from_mode(0o000)).unwrap();
    let denied = std::process::Command::new(&prefix[0])
        .args(&prefix[1..])
        .arg("cat")
        .arg(probe.path())
        .stderr(std::process::Stdio::null())
        .status();
    // `cat` failing means setpriv ran and the permission applied.
    matches!(denied, Ok(s) if s.code() == Some(1)).then_some(prefix)
}

/// Imports a case's inputs into `warehouse` with the binary; `None` if it must be skipped.
fn run_case(case: &Case, warehouse: &Path) -> Option<std::process::Output> {
    let mut command = if case.unprivileged {
        let Some(prefix) = unprivileged_prefix() else {
            eprintln!(
                "{}: skipped: running as root, and setpriv cannot drop the capabilities \
                 that bypass file permissions",
                case.name
            );
            return None;
        };
        let mut command = std::process::Command::new(
            prefix
                .first()
                .map_or(env!("CARGO_BIN_EXE_relaytrail"), String::as_str),
        );
        if !prefix.is_empty() {
            command
                .args(&prefix[1..])
                .arg(env!("CARGO_BIN_EXE_relaytrail"));
        }
        command
    } else {
        relaytrail_command()
    };
    command
        .arg("import")
        .args(&case.inputs)
        .arg("--warehouse")
        .arg(warehouse)
        .args(["--quiet", "--threads", "2"]);
    Some(run_with_timeout(&mut command, Duration::from_secs(60)))
}

/// Checks one case's outcome; returns what is wrong.
fn verify(case: &Case, output: &std::process::Output, warehouse: &Path) -> Vec<String> {
    let mut wrong = Vec::new();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.code() != Some(case.exit) {
        wrong.push(format!(
            "exit status {:?}, wanted {}",
            output.status.code(),
            case.exit
        ));
    }
    let printed: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("rejected: "))
        .collect();
    if printed.len() != case.errors.len() {
        wrong.push(format!(
            "{} errors printed, wanted {}",
            printed.len(),
            case.errors.len()
        ));
    }
    let errors = read_dataset(warehouse, "import_errors");
    let n_rows = errors.as_ref().map_or(0, |e| e.num_rows());
    if n_rows != case.errors.len() {
        wrong.push(format!(
            "{n_rows} import_errors rows, wanted {}",
            case.errors.len()
        ));
    }
    let mut error_member: Option<Option<String>> = None;
    let mut error_message = String::new();
    if let Some(errors) = &errors {
        let mut used = vec![false; errors.num_rows()];
        for expected in &case.errors {
            let found = (0..errors.num_rows()).find(|&i| {
                !used[i] && matches_row(expected, errors, i) && {
                    let member = value(errors, "source_member", i);
                    let line = value(errors, "line", i).unwrap();
                    let file = value(errors, "source_file", i).unwrap();
                    // The printed line names the same file, member, line and kind.
                    printed.iter().any(|p| {
                        p.contains(&format!("rejected: {file}"))
                            && member
                                .as_ref()
                                .is_none_or(|m| p.contains(&format!("member {m}")))
                            && (line == "0" || p.contains(&format!(": line {line}: ")))
                            && p.ends_with(&format!("[{}]", expected.kind))
                            && expected.fragments.iter().all(|f| p.contains(f.as_str()))
                    })
                }
            });
            match found {
                Some(i) => {
                    used[i] = true;
                    error_member = Some(value(errors, "source_member", i));
                    error_message = value(errors, "message", i).unwrap();
                }
                None => wrong.push(format!(
                    "no recorded and printed error matches {expected:?}; recorded: {}",
                    describe_errors(errors)
                )),
            }
        }
        for i in 0..errors.num_rows() {
            let message = value(errors, "message", i).unwrap();
            let shown = message.split("… (").next().unwrap();
            if shown.chars().count() > MESSAGE_CHARS
                || message.chars().any(|c| c.is_control() && c != '\t')
            {
                wrong.push(format!(
                    "message not cut or not escaped: {:?}",
                    &message[..message.len().min(400)]
                ));
            }
        }
    }

    let rows = Rows::in_warehouse(warehouse);
    let wanted = match &case.imported {
        Imported::Rows(rows) => *rows,
        Imported::MembersBefore(members) => match error_member {
            Some(Some(m)) => members
                .iter()
                .take_while(|(name, _)| *name != m)
                .fold(Rows::NONE, |r, (_, rows)| r.plus(*rows)),
            _ if error_message.contains("after the last member") => members
                .iter()
                .fold(Rows::NONE, |r, (_, rows)| r.plus(*rows)),
            _ => Rows::NONE,
        },
    };
    if rows != wanted {
        wrong.push(format!("imported {rows:?}, wanted {wanted:?}"));
    }

    if let Some(imports) = read_dataset(warehouse, "imports") {
        for (file, status) in &case.statuses {
            match (0..imports.num_rows())
                .find(|&i| value(&imports, "file_name", i).as_deref() == Some(file))
            {
                Some(i) => {
                    let got = value(&imports, "status", i).unwrap();
                    if got != *status {
                        wrong.push(format!("{file}: manifest status {got}, wanted {status}"));
                    }
                }
                None => wrong.push(format!("{file} is not in the manifest")),
            }
        }
    } else if !case.statuses.is_empty() {
        wrong.push("no manifest written".into());
    }
    let leftovers = leftover_temp_files(warehouse);
    if !leftovers.is_empty() {
        wrong.push(format!("temporary files left: {leftovers:?}"));
    }
    if let Some(check) = &case.check {
        if let Err(e) = check(warehouse) {
            wrong.push(e);
        }
    }
    wrong
}

fn matches_row(expected: &Expected, errors: &RecordBatch, i: usize) -> bool {
    let get = |c: &str| value(errors, c, i);
    let member_ok = match &expected.member {
        Member::None => get("source_member").is_none(),
        Member::Is(m) => get("source_member").as_deref() == Some(m.as_str()),
        Member::Any => true,
    };
    get("kind").as_deref() == Some(expected.kind)
        && expected
            .doc_type
            .is_none_or(|t| get("document_type").as_deref() == Some(t))
        && get("source_file").is_some_and(|f| f.ends_with(&expected.file))
        && member_ok
        && get("line") == Some(expected.line.to_string())
        && get("message").is_some_and(|m| expected.fragments.iter().all(|f| m.contains(f.as_str())))
}

fn describe_errors(errors: &RecordBatch) -> String {
    (0..errors.num_rows())
        .map(|i| {
            let get = |c: &str| value(errors, c, i).unwrap_or_default();
            let message = get("message");
            format!(
                "[{} {} member={} line={} {:?}]",
                get("kind"),
                get("source_file"),
                get("source_member"),
                get("line"),
                &message[..message.len().min(200)]
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn every_bad_input_is_recorded_named_and_the_rest_imported() {
    let dir = tempfile::tempdir().unwrap();
    let mut cases = committed_cases();
    // Every committed file is a case, and every case's file is committed.
    let mut committed: Vec<String> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "README.md")
        .collect();
    committed.sort();
    let mut named: Vec<String> = cases.iter().map(|c| c.name.clone()).collect();
    named.sort();
    assert_eq!(
        committed, named,
        "tests/bad_inputs and the case table differ"
    );
    cases.extend(generated_cases(&dir.path().join("inputs")));

    let mut failures = Vec::new();
    let mut run = 0;
    for (i, case) in cases.iter().enumerate() {
        let warehouse = dir.path().join(format!("wh-{i}"));
        let Some(output) = run_case(case, &warehouse) else {
            continue;
        };
        run += 1;
        let wrong = verify(case, &output, &warehouse);
        eprintln!(
            "{:<45} exit {:?}, {} error(s), {:?}{}",
            case.name,
            output.status.code(),
            case.errors.len(),
            Rows::in_warehouse(&warehouse),
            if wrong.is_empty() { "" } else { "  <-- WRONG" }
        );
        for w in wrong {
            failures.push(format!("{}: {w}", case.name));
        }
    }
    eprintln!("{run} of {} bad-input cases run", cases.len());
    // Let the temporary folder be removed also when the tests do not run as root.
    for entry in walkdir::WalkDir::new(dir.path()).into_iter().flatten() {
        use std::os::unix::fs::PermissionsExt;
        let mode = if entry.file_type().is_dir() {
            0o755
        } else {
            0o644
        };
        let _ = std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(mode));
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    assert!(run >= 30, "only {run} cases could run");
}

/// The whole corpus in one run: nothing stops it, every case's errors are recorded, and the
/// warehouse (errors included) is byte-identical with one thread and with three.
#[test]
fn the_whole_corpus_in_one_run_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let mut trees = Vec::new();
    for threads in ["1", "3"] {
        let wh = dir.path().join(format!("wh-{threads}"));
        let out = relaytrail(&[
            "import".as_ref(),
            corpus_dir().as_os_str(),
            "--warehouse".as_ref(),
            wh.as_os_str(),
            "--quiet".as_ref(),
            "--threads".as_ref(),
            threads.as_ref(),
        ]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let expected_errors: usize = committed_cases().iter().map(|c| c.errors.len()).sum();
        let errors = read_dataset(&wh, "import_errors").unwrap();
        assert_eq!(errors.num_rows(), expected_errors);
        let mut tree = tree_bytes(&wh);
        // The manifest holds wall-clock times; its other columns are compared below.
        tree.remove("imports/part-0.parquet");
        trees.push((tree, manifest_without_times(&wh)));
    }
    assert_eq!(trees[0].1, trees[1].1);
    assert!(trees[0].0 == trees[1].0, "the warehouses differ");
}
