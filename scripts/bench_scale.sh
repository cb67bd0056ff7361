#!/usr/bin/env bash
# Scale benchmark (issue 17): jobs, attribution and report over 1, 2, 5 and 10 years of a
# network of today's size. A generated half year (7000 relays) is imported once; a Y-year
# warehouse is that half year followed by 2Y-1 copies of it (scripts/replicate_warehouse.py),
# copy k shifted by k half years and given new fingerprints, addresses, ed25519 keys and
# contacts, so that each copy is a new network to the jobs and the attribution. Each stage
# (jobs, attribute, report) is timed with its peak RSS, under a timeout; the table goes to <bench folder>/scale.md and replaces the
# "## Scale" section of <bench folder>/results.md (the rest of that file, `make bench`'s, stays).
# Usage: scripts/bench_scale.sh <relaytrail binary> <bench folder>   (PYTHON= a python with polars)
# Settings (environment): SCALE_RELAYS (7000), SCALE_START (2021-01), SCALE_BASE_MONTHS (6),
# SCALE_YEARS ("1 2 5 10"), SCALE_STAGE_TIMEOUT (3600 s per stage), SCALE_SEAM_GAP_HOURS (see
# below), SCALE_NICE (10: niceness of the heavy commands), SCALE_KEEP_DERIVED (0: after a
# warehouse is measured, its job and attribution datasets are removed, the report kept).
# The generated archive, the base warehouse and every replica are kept and reused by later
# runs (each has a .complete marker); delete <bench folder>/scale to start over.
set -euo pipefail
BIN=$(realpath "${1:?relaytrail binary}")
DIR=${2:?bench folder}
PYTHON=${PYTHON:-python3}
RELAYS=${SCALE_RELAYS:-7000}
START=${SCALE_START:-2021-01}
BASE_MONTHS=${SCALE_BASE_MONTHS:-6}
YEARS=${SCALE_YEARS:-1 2 5 10}
STAGE_TIMEOUT=${SCALE_STAGE_TIMEOUT:-3600}
NICE=${SCALE_NICE:-10}
KEEP_DERIVED=${SCALE_KEEP_DERIVED:-0}
# Hours left out at the start of each copy. 7 (6 or more: the seam is then longer than the
# jobs' max_gap_hours of 6) makes every seam a gap of the data: sessions end there and nothing (departures, joins, removal events,
# join bursts, returns after a removal) is counted across it, as between the coverage segments
# of real archives. 0 makes the copies contiguous: then at every seam the whole network leaves
# at once and a new one joins an hour later, which the jobs see as a removal event of every
# relay and a join burst of every relay, and which the attribution's return matching links
# across copies.
SEAM_GAP=${SCALE_SEAM_GAP_HOURS:-7}
SCRIPTS=$(cd "$(dirname "$0")" && pwd)

WORK="$DIR/scale"
NAME="$START-${BASE_MONTHS}m-$RELAYS"
ARCHIVE="$WORK/archive-$NAME"
BASE="$WORK/base-$NAME"
LOGS="$WORK/logs"
TSV="$WORK/scale-$NAME-gap$SEAM_GAP.tsv"
SCALE_MD="$DIR/scale.md"
RESULTS="$DIR/results.md"
mkdir -p "$WORK" "$LOGS"

# Copies per warehouse: Y years = Y*12/BASE_MONTHS spans of the base, the base included.
sorted_years=$(tr ' ' '\n' <<< "$YEARS" | grep . | sort -n -u | tr '\n' ' ')
for y in $sorted_years; do
  if (( y * 12 % BASE_MONTHS != 0 )); then
    echo "bench_scale: $y years is not a whole number of $BASE_MONTHS-month bases" >&2
    exit 2
  fi
done
df -h "$WORK" | sed 's/^/bench_scale: /'

# 1. The base: a generated half year at today's size, imported (once; reused afterwards).
if [ ! -f "$ARCHIVE/.complete" ]; then
  echo "bench_scale: generating $BASE_MONTHS months ($RELAYS relays from $START) into $ARCHIVE"
  rm -rf "$ARCHIVE" "$BASE"
  nice -n "$NICE" "$BIN" generate --out "$ARCHIVE" --start "$START" --months "$BASE_MONTHS" \
    --relays "$RELAYS" --seed 11 --quiet
  touch "$ARCHIVE/.complete"
fi
if [ ! -f "$BASE/.complete" ]; then
  echo "bench_scale: importing $ARCHIVE into $BASE"
  rm -rf "$BASE"
  # Exit status 1 = some documents rejected (recorded in import_errors): still a warehouse.
  rc=0
  nice -n "$NICE" "$BIN" import "$ARCHIVE" --warehouse "$BASE" --quiet 2> "$LOGS/import.log" || rc=$?
  if [ "$rc" -gt 1 ]; then
    cat "$LOGS/import.log" >&2
    exit 2
  fi
  touch "$BASE/.complete"
fi

source "$SCRIPTS/bench_common.sh"

# The scale section (scale.md) from the rows measured so far, spliced into results.md.
render() {
  local span_days
  span_days=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["span_days"])' "$1/_replica.json")
  {
    echo "## Scale (jobs, attribute, report over Y years)"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(uname -m), $("$BIN" --version); \`make bench-scale\` (scripts/bench_scale.sh)."
    echo "Base: a generated network of $RELAYS relays over $BASE_MONTHS months from $START ($span_days days), imported once;"
    echo "a Y-year warehouse is the base and Y x 12 / $BASE_MONTHS - 1 copies of it. Each stage runs alone (\`jobs all --force\` with"
    echo "AS data, \`attribute\`, \`report\`), timed by /usr/bin/time (wall seconds, peak RSS); months = the days covered / 30.44."
    echo
    echo "| years | months | consensus entries | sessions | jobs s | jobs RSS MiB | jobs s/month | attribute s | attribute RSS MiB | attribute s/month | report s | report MB | report s/month | commit |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    awk -F'\t' '
      function per(s, m) { return (s ~ /^[0-9.]+$/) ? sprintf("%.3g", s / m) : s }
      function num(s, f) { return (s ~ /^[0-9.]+$/) ? sprintf(f, s) : s }
      { printf "| %s | %.1f | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
          $1, $2, $3, $4, num($5, "%.1f"), $6, per($5, $2), num($7, "%.1f"), $8, per($7, $2),
          num($9, "%.1f"), num($10, "%.1f"), per($9, $2), ($13 == "" ? "n/a" : $13) }' "$TSV"
    echo
    echo "How the copies differ from the base (scripts/replicate_warehouse.py): copy k is shifted by"
    echo "k x $span_days days (whole days, so consensus hours stay on the hour and time-of-day patterns"
    echo "are kept) and has new identities: every fingerprint is SHA-1(\"k:<old>\") (in the consensus"
    echo "entries, the descriptors and their family lists), every IPv4 address has its first octet"
    echo "moved by a per-copy bijection of the public first octets (/16 and /24 structure kept, no"
    echo "address shared with the base or another copy), IPv6 addresses get a new /32 (the /48"
    echo "structure kept), ed25519 keys are rehashed, contacts get \" copy<k>\" appended (placeholder"
    echo "contacts such as \`none\` stay). Nicknames, platforms and versions, flags, bandwidths, ports,"
    echo "exit policies and uptimes are the base's, and so are the ASes: the jobs get one AS snapshot"
    echo "per copy (the base's ranges moved like the addresses), dated so each copy resolves with its"
    echo "own. So every copy repeats the base's actors, removal events, outages and join bursts under"
    echo "new names, once per $BASE_MONTHS months. Seams: $(if [ "$SEAM_GAP" -ge 6 ]; then
      echo "each copy's first $SEAM_GAP consensus hours are left out, so every seam is a gap of the data (over"
      echo "the jobs' max_gap_hours): sessions end at it and no departure, join or event is counted across it."
    else
      echo "the copies are contiguous (${SEAM_GAP} hours left out): at every seam all relays of one copy leave"
      echo "and all relays of the next join, which the jobs count as departures and joins."
    fi)"
    echo
    awk -F'\t' '
      { line = line (NR > 1 ? ", " : "") $1 " years " $12 " of " $11 }
      END { if (NR) printf "Actors holding relays of more than one copy: %s.\n\n", line }' "$TSV"
    awk -F'\t' '
      function rate(s, m) { return (s ~ /^[0-9.]+$/ && s > 0) ? s / m : "" }
      NR == 1 { y0 = $1; j0 = rate($5, $2); a0 = rate($7, $2); r0 = rate($9, $2) }
      { y1 = $1; j1 = rate($5, $2); a1 = rate($7, $2); r1 = rate($9, $2) }
      function ratio(a, b) { return (a != "" && b != "") ? sprintf("%.2f", b / a) : "n/a" }
      END { if (NR > 1) printf "%s-year cost per month / %s-year cost per month: jobs %s, attribute %s, report %s.\n",
            y1, y0, ratio(j0, j1), ratio(a0, a1), ratio(r0, r1) }' "$TSV"
  } > "$SCALE_MD.tmp"
  mv "$SCALE_MD.tmp" "$SCALE_MD"
  splice_section "$RESULTS" "$SCALE_MD"
}

# Removes a replica's job and attribution datasets (all but the imported ones, the AS
# snapshots and the report), so that no stage can read what an earlier run left.
clean_derived() {
  find "$1" -mindepth 1 -maxdepth 1 -type d ! -name consensuses ! -name consensus_entries \
    ! -name server_descriptors ! -name imports ! -name import_errors ! -name watchlists \
    ! -name watchlist_notes ! -name asn ! -name report -exec rm -rf {} +
}

# Actors of the attribution, and how many of them hold relays of more than one copy (a copy's
# relays are those first seen in its span): "<actors> <across copies>".
actors_across() {
  "$PYTHON" - "$1" <<'EOF'
import json, pathlib, sys
import polars as pl
w = pathlib.Path(sys.argv[1])
replica = json.loads((w / "_replica.json").read_text())
start = pl.lit(replica["start"]).str.to_datetime(time_zone="UTC").dt.epoch("ms")
copy = (pl.col("first_seen").dt.epoch("ms") - start) // (replica["span_days"] * 86_400_000)
relays = pl.read_parquet(w / "relays" / "part-0.parquet", columns=["fingerprint", "first_seen"])
relays = relays.with_columns(pl.col("first_seen").dt.replace_time_zone("UTC")).with_columns(copy.alias("copy"))
members = pl.read_parquet(w / "actor_members" / "part-0.parquet", columns=["actor_id", "fingerprint"])
spans = members.join(relays, on="fingerprint").group_by("actor_id").agg(pl.col("copy").n_unique())
print(members.get_column("actor_id").n_unique(), spans.filter(pl.col("copy") > 1).height)
EOF
}

# Rows of what a warehouse holds: consensus entries and sessions (from the Parquet footers).
count_rows() {
  "$PYTHON" - "$1" <<'EOF'
import pathlib, sys
import pyarrow.parquet as pq
w = pathlib.Path(sys.argv[1])
def rows(dataset):
    files = list((w / dataset).glob("**/part-0.parquet"))
    return sum(pq.ParquetFile(f).metadata.num_rows for f in files) if files else "n/a"
print(rows("consensus_entries"), rows("relay_sessions"))
EOF
}

# 2. and 3. For each Y (ascending): the replica (hard-linked from the previous one, which gives
# its files and copies; only the new copies are written), then the three stages.
# Rows of the years measured now replace their earlier rows; other years' rows are kept (each
# row names the commit that measured it).
COMMIT=$(git -C "$SCRIPTS/.." rev-parse --short HEAD 2> /dev/null || echo unknown)
git -C "$SCRIPTS/.." diff --quiet HEAD -- src Cargo.toml Cargo.lock scripts 2> /dev/null || COMMIT="$COMMIT+changes"
touch "$TSV"
awk -F'\t' -v years=" $sorted_years " 'index(years, " " $1 " ") == 0' "$TSV" > "$TSV.tmp"
mv "$TSV.tmp" "$TSV"
prev=""
for y in $sorted_years; do
  copies=$(( y * 12 / BASE_MONTHS - 1 ))
  W="$WORK/wh-$NAME-gap$SEAM_GAP-${y}y"
  if [ ! -f "$W/.complete" ]; then
    # (and what a killed run of the script left: its hidden temporary folder)
    rm -rf "$W" "$WORK/.$(basename "$W").tmp-"*
    echo "bench_scale: $y years: the base and $copies copies into $W${prev:+ (from $prev)}"
    started=$SECONDS
    nice -n "$NICE" "$PYTHON" "$SCRIPTS/replicate_warehouse.py" --base "$BASE" --out "$W" \
      --copies "$copies" --asn-tsv "$ARCHIVE/asn/ip2asn-v4.tsv" --seam-gap-hours "$SEAM_GAP" \
      ${prev:+--link-from "$prev"} 2> "$LOGS/${y}y-replicate.log" || {
        cat "$LOGS/${y}y-replicate.log" >&2
        exit 2
      }
    touch "$W/.complete"
    echo "bench_scale: $y years: replica written in $((SECONDS - started)) s"
  fi
  prev=$W
  asn_args=()
  while read -r snapshot; do
    asn_args+=(--asn-db "$W/$snapshot")
  done < "$W/asn/snapshots.txt"
  months=$("$PYTHON" -c 'import json,sys; r=json.load(open(sys.argv[1])); print(round((r["copies"]+1)*r["span_days"]/30.4375, 2))' "$W/_replica.json")

  clean_derived "$W"
  echo "bench_scale: $y years: jobs"
  run_stage "$LOGS/${y}y-jobs.log" "$STAGE_TIMEOUT" "$NICE" "$BIN" jobs all --warehouse "$W" --force --quiet "${asn_args[@]}"
  jobs_s=$SECONDS_OUT jobs_rss=$RSS_OUT
  entries="n/a" sessions="n/a"
  read -r entries sessions < <(count_rows "$W") || true
  [[ $jobs_s =~ ^[0-9] ]] || sessions="n/a"
  echo "bench_scale: $y years: attribute"
  run_stage "$LOGS/${y}y-attribute.log" "$STAGE_TIMEOUT" "$NICE" "$BIN" attribute --warehouse "$W" --quiet
  attribute_s=$SECONDS_OUT attribute_rss=$RSS_OUT
  actors="n/a" across="n/a"
  if [[ $attribute_s =~ ^[0-9] ]]; then
    read -r actors across < <(actors_across "$W" 2>> "$LOGS/${y}y-attribute.log") || true
  fi
  echo "bench_scale: $y years: report"
  rm -rf "$W/report"
  run_stage "$LOGS/${y}y-report.log" "$STAGE_TIMEOUT" "$NICE" "$BIN" report --warehouse "$W" --out "$W/report"
  report_s=$SECONDS_OUT report_mb=$SECONDS_OUT
  if [[ $report_s =~ ^[0-9] ]]; then
    report_mb=$(awk -v b="$(stat -c %s "$W/report/index.html")" 'BEGIN { printf "%.1f", b / 1e6 }')
  fi
  row=$(printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s' "$y" "$months" "$entries" "$sessions" \
    "$jobs_s" "$jobs_rss" "$attribute_s" "$attribute_rss" "$report_s" "$report_mb" "$actors" "$across" \
    "$COMMIT")
  echo "$row" >> "$TSV"
  sort -n -k1,1 "$TSV" > "$TSV.tmp" && mv "$TSV.tmp" "$TSV"
  echo "bench_scale: $y years: $(tr '\t' ' ' <<< "$row")"
  render "$W"
  echo "bench_scale: $(du -sh "$W" | cut -f1) in $W (with the files it shares with smaller replicas)"
  if [ "$KEEP_DERIVED" = 0 ]; then
    # relay_probabilities alone is about as large as the entries; the larger replicas need
    # only the imported datasets.
    clean_derived "$W"
  fi
done
du -sh "$WORK" | sed 's/^/bench_scale: total /'
cat "$SCALE_MD"
