#!/usr/bin/env bash
# The KAX17-size study end to end (issue 17): a generated network of today's size (7000 relays)
# over the 29 months of pipelines/kax17-2019-2021.toml (2019-08 .. 2021-12), with the default
# scenario's planted actors, from its tarballs to the report: import (consensus, server-descriptor
# and exit-list tarballs), jobs (with the archive's AS data), attribute, report, each timed with
# its peak RSS under a timeout; then `evaluate` against the planted truth (not timed). The table
# goes to <bench folder>/study.md and replaces the "## Study" section of <bench folder>/results.md.
# Usage: scripts/bench_study.sh <relaytrail binary> <bench folder>
# Settings (environment): STUDY_RELAYS (7000), STUDY_START (2019-08), STUDY_MONTHS (29),
# STUDY_SEED (29), STUDY_STAGE_TIMEOUT (3600 s per stage), STUDY_NICE (10), STUDY_COMMIT (the
# commit the binary was built from; default: the tree's HEAD).
# The generated archive is kept and reused (it has a .complete marker); the warehouse is
# rebuilt from it on every run.
set -euo pipefail
BIN=$(realpath "${1:?relaytrail binary}")
DIR=${2:?bench folder}
RELAYS=${STUDY_RELAYS:-7000}
START=${STUDY_START:-2019-08}
MONTHS=${STUDY_MONTHS:-29}
SEED=${STUDY_SEED:-29}
STAGE_TIMEOUT=${STUDY_STAGE_TIMEOUT:-3600}
NICE=${STUDY_NICE:-10}
SCRIPTS=$(cd "$(dirname "$0")" && pwd)
source "$SCRIPTS/bench_common.sh"

WORK="$DIR/study"
NAME="$START-${MONTHS}m-$RELAYS"
ARCHIVE="$WORK/archive-$NAME"
W="$WORK/warehouse-$NAME"
LOGS="$WORK/logs"
STUDY_MD="$DIR/study.md"
mkdir -p "$WORK" "$LOGS"
# The commit the binary was built from, read before the long run (the tree may move on meanwhile).
# STUDY_COMMIT names it when the binary is not built from the tree's HEAD.
COMMIT=${STUDY_COMMIT:-$(git -C "$SCRIPTS/.." rev-parse --short HEAD 2> /dev/null || echo unknown)}
[ -n "${STUDY_COMMIT:-}" ] || git -C "$SCRIPTS/.." diff --quiet HEAD -- src Cargo.toml Cargo.lock scripts 2> /dev/null || COMMIT="$COMMIT+changes"

if [ ! -f "$ARCHIVE/.complete" ]; then
  echo "bench_study: generating $MONTHS months ($RELAYS relays from $START, seed $SEED) into $ARCHIVE"
  rm -rf "$ARCHIVE"
  started=$SECONDS
  nice -n "$NICE" "$BIN" generate --out "$ARCHIVE" --start "$START" --months "$MONTHS" \
    --relays "$RELAYS" --seed "$SEED" --quiet
  echo "$((SECONDS - started))" > "$ARCHIVE/.complete"
  echo "bench_study: generated in $((SECONDS - started)) s"
fi
generate_s=$(cat "$ARCHIVE/.complete")
archive_mb=$(du -sm "$ARCHIVE/relay-descriptors" | cut -f1)
rm -rf "$W"
echo "bench_study: import"
ALLOW_STATUS_1=1 run_stage "$LOGS/import.log" "$STAGE_TIMEOUT" "$NICE" \
  "$BIN" import "$ARCHIVE/relay-descriptors" --warehouse "$W" --quiet
import_s=$SECONDS_OUT import_rss=$RSS_OUT
echo "bench_study: jobs"
run_stage "$LOGS/jobs.log" "$STAGE_TIMEOUT" "$NICE" \
  "$BIN" jobs all --warehouse "$W" --force --asn-db "$ARCHIVE/asn/ip2asn-v4.tsv"
jobs_s=$SECONDS_OUT jobs_rss=$RSS_OUT
echo "bench_study: attribute"
run_stage "$LOGS/attribute.log" "$STAGE_TIMEOUT" "$NICE" "$BIN" attribute --warehouse "$W" --quiet
attribute_s=$SECONDS_OUT attribute_rss=$RSS_OUT
echo "bench_study: report"
run_stage "$LOGS/report.log" "$STAGE_TIMEOUT" "$NICE" "$BIN" report --warehouse "$W" --out "$W/report"
report_s=$SECONDS_OUT report_rss=$RSS_OUT
"$BIN" evaluate --warehouse "$W" --truth "$ARCHIVE" > "$LOGS/evaluate.txt" 2>&1 || true

jobs_line=$(grep '^jobs:' "$LOGS/jobs.log" | tail -n 1 || true)
total=$(awk -v a="$import_s" -v b="$jobs_s" -v c="$attribute_s" -v d="$report_s" 'BEGIN {
  if (a b c d ~ /[a-z]/) print "n/a"; else printf "%.0f", a + b + c + d }')
{
  echo "## Study (the KAX17-size study end to end: $MONTHS months, $RELAYS relays)"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(uname -m), $("$BIN" --version), commit $COMMIT; \`make bench-study\` (scripts/bench_study.sh)."
  echo "A generated network of $RELAYS relays over $MONTHS months from $START (the span of pipelines/kax17-2019-2021.toml;"
  echo "seed $SEED, data/scenarios/default.toml's planted actors), $archive_mb MB of tarballs, from the tarballs to the report."
  echo "Each stage is timed alone by /usr/bin/time (wall seconds, peak RSS)."
  echo
  echo "| stage | command | s | peak RSS MiB |"
  echo "|---|---|---|---|"
  echo "| import | \`relaytrail import <archive>/relay-descriptors\` | $import_s | $import_rss |"
  echo "| jobs | \`relaytrail jobs all --force --asn-db <archive>/asn/ip2asn-v4.tsv\` | $jobs_s | $jobs_rss |"
  echo "| attribute | \`relaytrail attribute\` | $attribute_s | $attribute_rss |"
  echo "| report | \`relaytrail report\` | $report_s | $report_rss |"
  echo "| **end to end** | | **$total** | |"
  echo
  echo "Generating the archive (\`relaytrail generate\`, not part of the study) took ${generate_s:-?} s."
  echo
  [ -z "$jobs_line" ] || echo "Jobs: ${jobs_line#jobs: }"
  echo
  echo "Planted actors (\`relaytrail evaluate --truth <archive>\`):"
  echo
  echo '```'
  cat "$LOGS/evaluate.txt"
  echo '```'
  echo
} > "$STUDY_MD.tmp"
mv "$STUDY_MD.tmp" "$STUDY_MD"
splice_section "$DIR/results.md" "$STUDY_MD"
cat "$STUDY_MD"
