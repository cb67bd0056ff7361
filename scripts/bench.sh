#!/usr/bin/env bash
# Import and jobs benchmark: a generated full-size month (7000 relays, 720 hourly consensuses and its
# server descriptors) is imported tarball by tarball; each import is timed next to decode-only
# (the same liblzma build decompressing the same tarball to nowhere), with peak RSS.
# Usage: scripts/bench.sh <relaytrail binary> <bench folder>; writes <bench folder>/results.md.
set -euo pipefail
BIN=${1:?relaytrail binary}
DIR=${2:?bench folder}
MONTH=${BENCH_MONTH:-2021-10}
RELAYS=${BENCH_RELAYS:-7000}
mkdir -p "$DIR"
ARCHIVE="$DIR/archive-$MONTH-$RELAYS"
if [ ! -f "$ARCHIVE/.complete" ]; then
  echo "generating a full-size month ($RELAYS relays, $MONTH) into $ARCHIVE (once; reused afterwards)"
  rm -rf "$ARCHIVE"
  "$BIN" generate --out "$ARCHIVE" --start "$MONTH" --months 1 --relays "$RELAYS" --seed 7
  touch "$ARCHIVE/.complete"
fi
CONS="$ARCHIVE/relay-descriptors/consensuses/consensuses-$MONTH.tar.xz"
DESC="$ARCHIVE/relay-descriptors/server-descriptors/server-descriptors-$MONTH.tar.xz"
WORK="$DIR/work"
RESULTS="$DIR/results.md"

# Runs a command under /usr/bin/time; prints "<wall seconds> <peak RSS KiB>"; the
# command's stderr goes to $DIR/last.log.
measure() {
  local log
  log=$(mktemp)
  /usr/bin/time -f "%e %M" -o "$log" "$@" > /dev/null 2> "$DIR/last.log" || true
  cat "$log"
  rm -f "$log"
}

row() {
  local name=$1 tarball=$2
  local decoded_bytes decode_s import_s rss docs
  # Warm the page cache so both runs read from memory.
  cat "$tarball" > /dev/null
  decoded_bytes=$("$BIN" decode "$tarball" | awk '{print $2}')
  read -r decode_s _ < <(measure "$BIN" decode "$tarball")
  rm -rf "$WORK"
  read -r import_s rss < <(measure "$BIN" import "$tarball" --warehouse "$WORK/wh" --quiet --threads 2)
  docs=$(sed -n 's/.*: \([0-9]*\) documents imported.*/\1/p' "$DIR/last.log")
  awk -v n="$name" -v sz="$(stat -c %s "$tarball")" -v dec="$decoded_bytes" -v ds="$decode_s" -v is="$import_s" -v rss="$rss" -v docs="$docs" 'BEGIN {
    printf "| %s | %.1f | %.0f | %d | %.2f | %.2f | %.2fx | %.0f | %.0f | %.0f |\n",
      n, sz/1e6, dec/1e6, docs, ds, is, is/ds, dec/1e6/is, docs/is, rss/1024 }' >> "$RESULTS"
}

{
  echo "# relaytrail import benchmark"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(uname -m); generated month $MONTH with $RELAYS relays."
  echo "Decode = liblzma (same build) decompressing the tarball to nowhere; import = full import into an empty warehouse (2 threads)."
  echo
  echo "| tarball | xz MB | decompressed MB | documents | decode s | import s | import/decode | import MB/s | docs/s | peak RSS MiB |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
} > "$RESULTS"
row "consensuses-$MONTH" "$CONS"
row "server-descriptors-$MONTH" "$DESC"
rm -rf "$WORK"

# Jobs: the same network over 1, 3 and 6 months (a generated half year, imported in steps),
# all jobs rebuilt (--force) with AS enrichment from the archive's TSV.
JOBS_START=${BENCH_JOBS_START:-2021-07}
JOBS_MONTHS=${BENCH_JOBS_MONTHS:-6}
HALF="$DIR/archive-$JOBS_START-${JOBS_MONTHS}m-$RELAYS"
if [ ! -f "$HALF/.complete" ]; then
  echo "generating $JOBS_MONTHS months ($RELAYS relays from $JOBS_START) into $HALF (once; reused afterwards)"
  rm -rf "$HALF"
  "$BIN" generate --out "$HALF" --start "$JOBS_START" --months "$JOBS_MONTHS" --relays "$RELAYS" --seed 7 --quiet
  touch "$HALF/.complete"
fi
{
  echo
  echo "## Jobs (relaytrail jobs all --force), $RELAYS relays"
  echo
  echo "| months | consensuses | consensus entries | sessions | jobs s | peak RSS MiB | s per month |"
  echo "|---|---|---|---|---|---|---|"
} >> "$RESULTS"
rm -rf "$WORK"
imported=0
for upto in 1 3 6; do
  [ "$upto" -le "$JOBS_MONTHS" ] || break
  while [ "$imported" -lt "$upto" ]; do
    month=$(date -u -d "$JOBS_START-01 +$imported month" +%Y-%m)
    "$BIN" import --quiet --warehouse "$WORK/wh" \
      "$HALF/relay-descriptors/consensuses/consensuses-$month.tar.xz" \
      "$HALF/relay-descriptors/server-descriptors/server-descriptors-$month.tar.xz" 2> "$DIR/last.log" || true
    imported=$((imported + 1))
  done
  read -r jobs_s rss < <(measure "$BIN" jobs all --force --quiet --warehouse "$WORK/wh" --asn-db "$HALF/asn/ip2asn-v4.tsv")
  line=$(grep '^jobs:' "$DIR/last.log" || true)
  consensuses=$(sed -n 's/^jobs: \([0-9]*\) consensuses.*/\1/p' <<< "$line")
  entries=$(sed -n 's/.* consensuses, \([0-9]*\) entries.*/\1/p' <<< "$line")
  sessions=$(sed -n 's/.*-> \([0-9]*\) sessions.*/\1/p' <<< "$line")
  awk -v m="$upto" -v c="$consensuses" -v e="$entries" -v s="$sessions" -v t="$jobs_s" -v rss="$rss" 'BEGIN {
    printf "| %d | %s | %s | %s | %.1f | %.0f | %.1f |\n", m, c, e, s, t, rss/1024, t/m }' >> "$RESULTS"
done
if [ "$upto" -eq 6 ] && [ -n "${PYTHON:-}" ]; then
  # A year: the half year followed by itself shifted by 184 days (Jul 1 -> Jan 1).
  "$PYTHON" scripts/shift_warehouse.py "$WORK/wh" 184
  read -r jobs_s rss < <(measure "$BIN" jobs all --force --quiet --warehouse "$WORK/wh" --asn-db "$HALF/asn/ip2asn-v4.tsv")
  line=$(grep '^jobs:' "$DIR/last.log" || true)
  consensuses=$(sed -n 's/^jobs: \([0-9]*\) consensuses.*/\1/p' <<< "$line")
  entries=$(sed -n 's/.* consensuses, \([0-9]*\) entries.*/\1/p' <<< "$line")
  sessions=$(sed -n 's/.*-> \([0-9]*\) sessions.*/\1/p' <<< "$line")
  awk -v c="$consensuses" -v e="$entries" -v s="$sessions" -v t="$jobs_s" -v rss="$rss" 'BEGIN {
    printf "| 12 (6 + the same 6 shifted) | %s | %s | %s | %.1f | %.0f | %.1f |\n", c, e, s, t, rss/1024, t/12 }' >> "$RESULTS"
fi
rm -rf "$WORK"
cat "$RESULTS"
