"""Removal detection next to gaps of the data: for every planted removal, a copy of the warehouse
with consensus hours cut out (HOURS-long gaps DAYS days before it, after it, or both), the jobs
re-run on it, and each planted removal looked for within one consensus of its hour; events the
uncut warehouse does not have and no planted removal explains are invented.

    scripts/gap_sweep.py WAREHOUSE TRUTH ASN_DB [--hours 24] [--days 1,3,7,10] [--both]

TRUTH: a generated archive's `ground_truth/removal_events.json` (relaytrail generate) or the
independent world's `truth.json`. The jobs run with `pipelines/demo.toml`; the binary is $BIN
(default: the cargo target's release build). Needs polars."""
import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile

import polars as pl

ENTRY_DATASETS = ["consensuses", "consensus_entries", "microdesc_consensus_entries"]


def planted_removals(path):
    truth = json.load(open(path))
    events = truth["removal_events"] if isinstance(truth, dict) else truth
    return [dt.datetime.fromisoformat(e.get("event_time") or e["time"]) for e in events]


def cut_copy(src, dst, gaps):
    """A copy of warehouse `src` in `dst` without the consensus hours of `gaps` (start, hours)."""
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("_jobs", "*.lock"))
    cut = {start + dt.timedelta(hours=k) for start, hours in gaps for k in range(hours)}
    for dataset in ENTRY_DATASETS:
        for root, _, files in os.walk(os.path.join(dst, dataset)):
            for name in files:
                if not name.endswith(".parquet"):
                    continue
                path = os.path.join(root, name)
                frame = pl.read_parquet(path, hive_partitioning=False)
                kept = frame.filter(~pl.col("valid_after").dt.replace_time_zone(None).is_in(list(cut)))
                if kept.height != frame.height:
                    kept.write_parquet(path, compression="zstd")


def event_times(binary, warehouse, asn):
    subprocess.run([binary, "jobs", "--warehouse", warehouse, "--asn-db", asn, "--pipeline",
                    "pipelines/demo.toml", "--quiet", "--force"], check=True, capture_output=True)
    return pl.read_parquet(os.path.join(warehouse, "removal_events", "part-0.parquet"))["event_time"].to_list()


def near(times, t):
    return any(abs((e - t).total_seconds()) <= 3600 for e in times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("warehouse")
    ap.add_argument("truth")
    ap.add_argument("asn_db")
    ap.add_argument("--hours", type=int, default=24)
    ap.add_argument("--days", default="1,3,7,10")
    ap.add_argument("--both", action="store_true",
                    help="cut before and after every removal at once (one run per DAYS)")
    args = ap.parse_args()
    cache = os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache"))
    binary = os.environ.get("BIN") or os.path.join(
        os.environ.get("CARGO_TARGET_DIR", os.path.join(cache, "relaytrail-target")), "release", "relaytrail")
    planted = planted_removals(args.truth)
    hours = dt.timedelta(hours=args.hours)
    with tempfile.TemporaryDirectory() as tmp:
        whole = event_times(binary, shutil.copytree(args.warehouse, os.path.join(tmp, "whole"),
                                                   ignore=shutil.ignore_patterns("_jobs", "*.lock")),
                            args.asn_db)
        runs = []
        for days in [int(d) for d in args.days.split(",")]:
            offset = dt.timedelta(days=days)
            if args.both:
                starts = [s for t in planted for s in (t - offset - hours, t + offset)]
                runs.append((f"{args.hours} h gaps {days} d before and after every removal", starts))
            else:
                for t in planted:
                    runs.append((f"{args.hours} h gap {days} d before {t}", [t - offset - hours]))
                    runs.append((f"{args.hours} h gap {days} d after {t}", [t + offset]))
        ok = 0
        for label, starts in runs:
            # A gap never cuts a removal's own hours.
            gaps = [(s, args.hours) for s in starts
                    if not any(s - dt.timedelta(hours=1) <= t < s + hours for t in planted)]
            warehouse = os.path.join(tmp, "cut")
            cut_copy(args.warehouse, warehouse, gaps)
            found = event_times(binary, warehouse, args.asn_db)
            missed = [t for t in planted if not near(found, t)]
            invented = [e for e in found if not near(planted, e) and e not in whole]
            if missed or invented:
                print(f"  {label}: missed {missed}, invented {invented}")
            else:
                ok += 1
        print(f"{ok} of {len(runs)} runs: every planted removal found within one consensus, none invented "
              f"(events of the uncut warehouse no planted removal explains: {[e for e in whole if not near(planted, e)]})")
        return 0 if ok == len(runs) else 1


if __name__ == "__main__":
    sys.exit(main())
