#!/usr/bin/env bash
# Import and jobs benchmark: a generated full-size month (7000 relays, 720 hourly consensuses and its
# server descriptors) is imported tarball by tarball; each import is timed next to decode-only
# (the same liblzma build decompressing the same tarball to nowhere), with peak RSS. The other
# document types are timed on tarballs of copied real fixtures.
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

# The other CollecTor types: the generator does not write them, so each of these rows imports
# a tarball built once from the real fixtures of the type (tests/fixtures/real), copied N times
# under distinct member names to 10-30 MB (copies de-duplicate in the warehouse; decoding,
# parsing and staging see every one). BENCH_REAL_SCALE multiplies the copies.
FIXTURES="$(cd "$(dirname "$0")/.." && pwd)/tests/fixtures/real"
SCALE=${BENCH_REAL_SCALE:-1}
# real_tarball <name> <copies> <fixture>...: prints $DIR/real/<name>.tar.xz, building it first
# if needed; a fixture that is itself a tar contributes its members.
real_tarball() {
  local name=$1 copies=$(( $2 * SCALE )) out stage f i member
  shift 2
  out="$DIR/real/$name-x$copies-$(echo "$*" | sha256sum | cut -c1-8).tar.xz"
  if [ ! -f "$out" ]; then
    stage=$(mktemp -d)
    mkdir -p "$stage/$name" "$stage/src"
    for f in "$@"; do
      case "$f" in
        *.tar) tar -xf "$FIXTURES/$f" -C "$stage/src" ;;
        *) cp "$FIXTURES/$f" "$stage/src/" ;;
      esac
    done
    for i in $(seq 1 "$copies"); do
      find "$stage/src" -type f | while read -r member; do
        cp "$member" "$stage/$name/$i-$(basename "$member")"
      done
    done
    mkdir -p "$DIR/real"
    tar -C "$stage" -cf - "$name" | xz -T2 -6 > "$out.tmp"
    mv "$out.tmp" "$out"
    rm -rf "$stage"
  fi
  echo "$out"
}
row "votes (2016, real, x4)" "$(real_tarball votes 4 \
  collector/2016-09-20-13-00-00-vote-49015F787433103580E3B66A1707A00E60F2D15B-60ADC6BEC262AE921A1037D54C8A3976367DBE87 \
  collector/2016-10-01-16-00-00-vote-0232AF901C31A04EE9848595AF9BB7620D4C5B2E-FEE63B4AB7CE5A6BDD09E9A5C4F01BD61EB7E4F1)"
row "microdesc consensuses (2016, real, x10)" "$(real_tarball microdesc-consensuses 10 \
  collector/2016-10-02-17-00-00-consensus-microdesc)"
row "microdescriptors (2013-2026, real, x1000)" "$(real_tarball microdescriptors 1000 \
  metrics-lib/2017-07-17-17-20-00-micro stem/cached-microdescs arti/tor-netdoc/microdesc2.txt \
  arti/testdata-live/consensus-microdesc--desc--Akka arti/testdata-live/consensus-microdesc--desc--d2d4)"
row "extra-infos (2016-2026, real, x500)" "$(real_tarball extra-infos 500 \
  collector/relay-2016-10-02-08-05-00-extra-infos metrics-lib/2017-07-17-17-20-00-extra-infos \
  stem/extra-infos-2019-04-cropped.tar arti/tor-dirserver/descriptor1-extra-info)"
row "bridge statuses (2016-2019, real, x10)" "$(real_tarball bridge-statuses 10 \
  collector/20160920-063816-1D8F3A91C37C5D1C4C19B1AD1D0CFBE8BF72D8E1 stem/bridge-statuses-2019-05-cropped.tar)"
row "bridge server descriptors (real, x1000)" "$(real_tarball bridge-server-descriptors 1000 \
  collector/bridge-2016-10-02-16-09-00-server-descriptors metrics-lib/2017-07-17-17-09-00-server-descriptors)"
row "bridge extra-infos (real, x800)" "$(real_tarball bridge-extra-infos 800 \
  collector/bridge-2016-10-02-08-09-00-extra-infos metrics-lib/2017-07-17-17-09-00-extra-infos)"
row "bandwidth files (2019, real, x500)" "$(real_tarball bandwidths 500 stem/bandwidths-2019-05-cropped.tar)"
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
