//! Writes that fail: a full disk and a read-only warehouse stop `relaytrail import` with exit
//! status 2 and an error naming the path and the operating system's reason, and leave the
//! previous warehouse byte for byte as it was (no partition of the failed wave, no manifest
//! rows, no temporary file, no new folder). Each failure is produced on a real file system
//! where the test may mount one (a small tmpfs, a read-only bind mount, inside a private mount
//! namespace made by `unshare`), else with file permissions, and always with the importer's
//! `RELAYTRAIL_TEST_WRITE_FAULT` hook.
#![cfg(feature = "analytics")] // drives the relaytrail binary

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use common::*;

const EXIT_LIST: &str = "real/metrics-lib/2017-07-17-17-02-00";
const CONSENSUS_2017: &str = "real/metrics-lib/2017-07-17-17-00-00-consensus";
/// 7213 entries: a consensus_entries partition of about 570 KB.
const CONSENSUS_2016: &str = "real/collector/2016-09-20-13-00-00-consensus";

/// A good warehouse with an exit list and a small consensus (its own copy in `dir/name`).
fn good_warehouse(dir: &Path, name: &str) -> PathBuf {
    let warehouse = dir.join(name);
    let out = relaytrail(&[
        "import".as_ref(),
        fixture(EXIT_LIST).as_os_str(),
        fixture(CONSENSUS_2017).as_os_str(),
        "--warehouse".as_ref(),
        warehouse.as_os_str(),
        "--quiet".as_ref(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    warehouse
}

/// Every file (with its bytes) and every folder below `dir`.
fn state(dir: &Path) -> (BTreeMap<String, Vec<u8>>, Vec<String>) {
    let folders = walkdir::WalkDir::new(dir)
        .min_depth(1)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_dir())
        .map(|e| e.path().strip_prefix(dir).unwrap().display().to_string())
        .collect();
    (tree_bytes(dir), folders)
}

/// The failed import: status 2, a clear error, and the warehouse as it was.
fn assert_failed_cleanly(
    output: &Output,
    warehouse: &Path,
    before: &(BTreeMap<String, Vec<u8>>, Vec<String>),
    shown_path: &str,
    reason: &str,
) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    let error = stderr
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("no error line in {stderr}"));
    assert!(
        error.contains(shown_path) && error.contains(reason),
        "the error names neither {shown_path} nor {reason}: {error}"
    );
    assert!(
        leftover_temp_files(warehouse).is_empty(),
        "{:?}",
        leftover_temp_files(warehouse)
    );
    let after = state(warehouse);
    assert_eq!(after.1, before.1, "folders changed");
    let changed: Vec<&String> = before
        .0
        .keys()
        .chain(after.0.keys())
        .filter(|k| before.0.get(*k) != after.0.get(*k))
        .collect();
    assert!(changed.is_empty(), "files changed: {changed:?}");
}

/// Copies the warehouse `good` to `injected`, imports into it with the write fault `fault`
/// injected (`RELAYTRAIL_TEST_WRITE_FAULT`) and checks that it failed cleanly for `reason`.
fn import_with_fault(
    good: &Path,
    injected: &Path,
    before: &(BTreeMap<String, Vec<u8>>, Vec<String>),
    fault: &str,
    reason: &str,
) -> Output {
    copy_tree(good, injected);
    let output = run_with_timeout(
        import_2016(injected).env("RELAYTRAIL_TEST_WRITE_FAULT", fault),
        Duration::from_secs(120),
    );
    assert_failed_cleanly(
        &output,
        injected,
        before,
        &injected.display().to_string(),
        reason,
    );
    output
}

fn import_2016(warehouse: &Path) -> Command {
    let mut command = relaytrail_command();
    command
        .arg("import")
        .arg(fixture(CONSENSUS_2016))
        .arg("--warehouse")
        .arg(warehouse)
        .args(["--quiet", "--threads", "2"]);
    command
}

/// Runs `script` (sh) with `args` in a private mount namespace; `Err` says why that is not
/// possible here.
fn in_mount_namespace(script: &str, args: &[&Path]) -> Result<Output, String> {
    let probe = tempfile::tempdir().unwrap();
    let works = Command::new("unshare")
        .args([
            "-m",
            "sh",
            "-c",
            "mount -t tmpfs -o size=64k relaytrail-probe \"$1\"",
            "sh",
        ])
        .arg(probe.path())
        .output();
    match works {
        Ok(o) if o.status.success() => {}
        Ok(o) => {
            return Err(format!(
                "cannot mount in a private namespace: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            ))
        }
        Err(e) => return Err(format!("cannot run unshare: {e}")),
    }
    let mut command = Command::new("unshare");
    command.args(["-m", "sh", "-c", script, "sh"]).args(args);
    Ok(run_with_timeout(&mut command, Duration::from_secs(120)))
}

#[test]
fn a_full_disk_stops_the_import_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let good = good_warehouse(dir.path(), "good");
    let before = state(&good);

    // A 256 KiB tmpfs holding a copy of the warehouse: the new consensus's 2016-09 partitions
    // are written in parallel, the small one fits, the entries (~570 KB) do not.
    let mount = dir.path().join("mnt");
    let out = dir.path().join("out");
    std::fs::create_dir_all(&mount).unwrap();
    std::fs::create_dir_all(&out).unwrap();
    let script = r#"
        set -e
        mount -t tmpfs -o size=256k relaytrail-test "$1"
        cp -a "$2" "$1/wh"
        set +e
        "$3" import "$4" --warehouse "$1/wh" --quiet --threads 2 2> "$5/stderr"
        echo $? > "$5/code"
        cp -a "$1/wh" "$5/after"
    "#;
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_relaytrail"));
    let input = fixture(CONSENSUS_2016);
    match in_mount_namespace(script, &[&mount, &good, &binary, &input, &out]) {
        Ok(o) => {
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            let code: i32 = std::fs::read_to_string(out.join("code"))
                .unwrap()
                .trim()
                .parse()
                .unwrap();
            let output = Output {
                status: std::os::unix::process::ExitStatusExt::from_raw(code << 8),
                stdout: Vec::new(),
                stderr: std::fs::read(out.join("stderr")).unwrap(),
            };
            let shown = format!("{}/consensus", mount.join("wh").display());
            assert_failed_cleanly(
                &output,
                &out.join("after"),
                &before,
                &shown,
                "No space left on device",
            );
            eprintln!(
                "full tmpfs: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Err(why) => eprintln!("full tmpfs skipped ({why}); the injected error is tested below"),
    }

    // The same with the error injected after 40 kB of written files.
    let injected = dir.path().join("injected");
    let output = import_with_fault(
        &good,
        &injected,
        &before,
        "enospc@40000",
        "No space left on device",
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("nothing of") && stderr.contains("2016-09-20-13-00-00-consensus"),
        "{stderr}"
    );

    // Once there is room, the same import succeeds.
    let output = run_with_timeout(&mut import_2016(&injected), Duration::from_secs(120));
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        read_dataset(&injected, "consensus_entries")
            .unwrap()
            .num_rows(),
        7213 + lines_starting(&read_fixture(CONSENSUS_2017), "r ").len()
    );
}

#[test]
fn a_read_only_warehouse_stops_the_import_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let good = good_warehouse(dir.path(), "good");
    let before = state(&good);
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_relaytrail"));
    let input = fixture(CONSENSUS_2016);

    // The whole warehouse read-only, and only its consensus_entries folder read-only (the
    // wave's consensuses partition is written, its entries are not: both are discarded).
    let whole = dir.path().join("whole");
    let partial = dir.path().join("partial");
    copy_tree(&good, &whole);
    copy_tree(&good, &partial);
    let entries = partial.join("consensus_entries");
    let script = r#"
        set -e
        mount --bind "$1" "$1"
        mount -o remount,bind,ro "$1"
        mount --bind "$2" "$2"
        mount -o remount,bind,ro "$2"
        set +e
        "$3" import "$4" --warehouse "$5" --quiet --threads 2 2> "$6/whole-stderr"
        echo $? > "$6/whole-code"
        "$3" import "$4" --warehouse "$7" --quiet --threads 2 2> "$6/partial-stderr"
        echo $? > "$6/partial-code"
    "#;
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let read = |name: &str| -> Output {
        let code: i32 = std::fs::read_to_string(out.join(format!("{name}-code")))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        Output {
            status: std::os::unix::process::ExitStatusExt::from_raw(code << 8),
            stdout: Vec::new(),
            stderr: std::fs::read(out.join(format!("{name}-stderr"))).unwrap(),
        }
    };
    match in_mount_namespace(
        script,
        &[&whole, &entries, &binary, &input, &whole, &out, &partial],
    ) {
        Ok(o) => {
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            let lock = whole.join(".lock").display().to_string();
            assert_failed_cleanly(
                &read("whole"),
                &whole,
                &before,
                &lock,
                "Read-only file system",
            );
            assert_failed_cleanly(
                &read("partial"),
                &partial,
                &before,
                &entries.display().to_string(),
                "Read-only file system",
            );
            eprintln!(
                "read-only mounts: {} / {}",
                String::from_utf8_lossy(&read("whole").stderr).trim(),
                String::from_utf8_lossy(&read("partial").stderr).trim()
            );
        }
        Err(why) => {
            // File permissions instead, where they apply to this process.
            eprintln!("read-only mounts skipped ({why})");
            if permissions_apply() {
                use std::os::unix::fs::PermissionsExt;
                let lock_down = |mode| {
                    for e in walkdir::WalkDir::new(&entries) {
                        let e = e.unwrap();
                        if e.file_type().is_dir() {
                            std::fs::set_permissions(
                                e.path(),
                                std::fs::Permissions::from_mode(mode),
                            )
                            .unwrap();
                        }
                    }
                };
                lock_down(0o555);
                let output = run_with_timeout(&mut import_2016(&partial), Duration::from_secs(120));
                lock_down(0o755);
                assert_failed_cleanly(
                    &output,
                    &partial,
                    &before,
                    &entries.display().to_string(),
                    "Permission denied",
                );
            } else {
                eprintln!("read-only folder skipped: running as root; the injected error follows");
            }
        }
    }

    // The injected error: every write fails as on a read-only file system.
    import_with_fault(
        &good,
        &dir.path().join("injected"),
        &before,
        "erofs@0",
        "Read-only file system",
    );
}

/// Whether file permissions stop this process (they do not stop root).
fn permissions_apply() -> bool {
    use std::os::unix::fs::PermissionsExt;
    let probe = tempfile::tempdir().unwrap();
    std::fs::set_permissions(probe.path(), std::fs::Permissions::from_mode(0o555)).unwrap();
    let denied = std::fs::write(probe.path().join("x"), b"x").is_err();
    std::fs::set_permissions(probe.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    denied
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let target = to.join(entry.path().strip_prefix(from).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
