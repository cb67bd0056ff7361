#!/usr/bin/env bash
# Runs the cargo-fuzz targets of fuzz/ (document parsers and archive framing) one after the
# other, FUZZ_SECONDS seconds each (default 60), and writes fuzz/results.md: executions,
# exec/s, coverage and crashes per target. Exits non-zero if any target crashed, timed out or
# ran out of memory; the input is then in fuzz/artifacts/<target>/ and the log in
# fuzz/logs/<target>.log.
#
# Seeds are rebuilt from tests/fixtures on every run into fuzz/seeds/<target>/ (real Tor
# documents, cropped to at most ~64 KB; for the archive target also small .tar, .tar.xz,
# .tar.gz, .xz and .gz files made from them with tar/xz/gzip). What libFuzzer finds goes to
# fuzz/corpus/<target>/ and is kept between runs. None of it is committed.
#
# Needs: a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`), tar, xz, gzip.
# Environment: FUZZ_SECONDS (per target), FUZZ_TARGETS (space-separated subset; default all),
# FUZZ_TIMEOUT (seconds for one input before it counts as a hang; default 10).
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_EACH=${FUZZ_SECONDS:-60}
TIMEOUT=${FUZZ_TIMEOUT:-10}
MAX_LEN=65536
FIXTURES=tests/fixtures/real
SEEDS=fuzz/seeds
RESULTS=fuzz/results.md
CARGO_FUZZ=(cargo +nightly fuzz)
# Build output stays in fuzz/target, even when run from make (which exports the main
# package's CARGO_TARGET_DIR).
export CARGO_TARGET_DIR="$PWD/fuzz/target"
# Debug assertions on: integer overflow is a finding too.
BUILD_FLAGS=(--debug-assertions)

TARGETS=${FUZZ_TARGETS:-$("${CARGO_FUZZ[@]}" list)}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# --- seeds -------------------------------------------------------------------------------

# Copies a document, cropping a large one to its first 300 lines plus its footer (so a
# consensus keeps `directory-footer` and signatures).
crop() {
  local src=$1 dst=$2
  if [ "$(stat -c %s "$src")" -le "$MAX_LEN" ]; then
    cp "$src" "$dst"
  else
    { head -n 300 "$src"; sed -n '/^directory-footer/,$p' "$src"; } | head -c "$MAX_LEN" > "$dst"
  fi
}

# The fuzz target whose parser reads a document: from its `@type` line, else from its first
# keyword (past `@` annotations and `opt`).
target_of() {
  local type keyword
  type=$(awk '/^@type / { print $2; exit } !/^@/ && NF { exit }' "$1")
  case "$type" in
    network-status-consensus-3 | network-status-microdesc-consensus-3) echo consensus ;;
    network-status-vote-3) echo vote ;;
    server-descriptor | bridge-server-descriptor) echo server_descriptor ;;
    extra-info | bridge-extra-info) echo extra_info ;;
    microdescriptor) echo microdescriptor ;;
    tordnsel) echo exit_list ;;
    bridge-network-status) echo bridge_status ;;
    bandwidth-file) echo bandwidth_file ;;
    bridge-pool-assignment) echo bridge_pool_assignment ;;
    "")
      keyword=$(awk '!/^@/ && NF { print ($1 == "opt" ? $2 : $1); exit }' "$1")
      case "$keyword" in
        network-status-version)
          if grep -q '^vote-status vote' "$1"; then echo vote; else echo consensus; fi
          ;;
        router) echo server_descriptor ;;
        extra-info) echo extra_info ;;
        onion-key) echo microdescriptor ;;
        Downloaded | ExitNode) echo exit_list ;;
        bridge-pool-assignment) echo bridge_pool_assignment ;;
        [0-9]*) echo bandwidth_file ;;
      esac
      ;;
  esac
}

# Parsers that read one document at a time get each document of a file separately: writes
# every document of $2 that starts with a line matching $1 (annotations dropped) to $3-NNN,
# at most 25.
split_at() {
  awk -v start="$1" -v out="$3" -v max=25 '
    /^@/ { next }
    $0 ~ start { if (f) close(f); n++; if (n > max) exit; f = sprintf("%s-%03d", out, n) }
    n { print > f }
  ' "$2"
}

build_seeds() {
  rm -rf "$SEEDS"
  local t
  for t in $TARGETS; do mkdir -p "$SEEDS/$t"; done
  mkdir -p "$WORK/docs" "$WORK/tars"

  # Every document: plain fixtures and the regular members of the fixture tarballs, cropped,
  # named after their path.
  local f name
  while IFS= read -r -d '' f; do
    name=$(echo "${f#"$FIXTURES"/}" | tr '/' '_')
    case "$f" in
      *.tar)
        mkdir -p "$WORK/tars/$name"
        tar -xf "$f" -C "$WORK/tars/$name"
        ;;
      *.md | *.json) ;;
      *) crop "$f" "$WORK/docs/$name" ;;
    esac
  done < <(find "$FIXTURES" -type f -print0 | sort -z)
  while IFS= read -r -d '' f; do
    name=$(echo "${f#"$WORK"/tars/}" | tr '/' '_')
    crop "$f" "$WORK/docs/$name"
  done < <(find "$WORK/tars" -type f -print0 | sort -z)

  # No bridge pool assignment file is among the fixtures: the 2011-03-13 excerpt quoted on
  # CollecTor's format page (as in tests/import_more_types.rs).
  printf '%s\n' '@type bridge-pool-assignment 1.0' 'bridge-pool-assignment 2011-03-13 14:38:03' \
    '00b834117566035736fc6bd4ece950eace8e057a unallocated' \
    '00e923e7a8d87d28954fee7503e480f3a03ce4ee email port=443 flag=stable' \
    '0103bb5b00ad3102b2dbafe9ce709a0a7c1060e4 https ring=2 port=443 flag=stable' \
    > "$WORK/docs/collector-format-page_bridge-pool-assignment"

  # Per parser, the documents it reads; splitting and type sniffing get all of them.
  local target
  for f in "$WORK"/docs/*; do
    name=$(basename "$f")
    [ -d "$SEEDS/split_documents" ] && cp "$f" "$SEEDS/split_documents/$name"
    target=$(target_of "$f")
    [ -n "$target" ] && [ -d "$SEEDS/$target" ] || continue
    case "$target" in
      server_descriptor) split_at '^router ' "$f" "$SEEDS/$target/$name" ;;
      extra_info) split_at '^extra-info ' "$f" "$SEEDS/$target/$name" ;;
      microdescriptor) split_at '^onion-key' "$f" "$SEEDS/$target/$name" ;;
      *) cp "$f" "$SEEDS/$target/$name" ;;
    esac
  done

  if [ -d "$SEEDS/archive" ]; then build_archive_seeds "$SEEDS/archive"; fi

  for t in $TARGETS; do
    if [ -z "$(ls -A "$SEEDS/$t")" ]; then
      # A target without a rule of its own (a new parser) starts from every document.
      cp "$WORK"/docs/* "$SEEDS/$t/"
    fi
  done
}

# Small containers around real documents: tar in three header formats, compressed with xz
# (several check types) and gzip, concatenated streams, single compressed files, and the
# small fixture tarballs compressed.
build_archive_seeds() {
  local out=$1 pack="$WORK/pack"
  mkdir -p "$pack/consensuses-2017-07/17" "$pack/server-descriptors-2017-07/0/1" \
    "$pack/exit-list-2018-11/02"
  cp "$FIXTURES/metrics-lib/2017-07-17-17-00-00-consensus" "$pack/consensuses-2017-07/17/"
  cp "$FIXTURES/arti/tor-netdoc/routerdesc1.txt" \
    "$pack/server-descriptors-2017-07/0/1/01a2a52e3860a669805dc32a88d118a801bf56b1"
  head -n 60 "$(find "$WORK/tars" -path '*exit-list*' -type f | sort | head -n 1)" \
    > "$pack/exit-list-2018-11/02/2018-11-02-01-02-01"
  local format
  for format in ustar gnu pax; do
    tar --format=$format -C "$pack" -cf "$out/mixed-$format.tar" .
  done
  tar --format=gnu -C "$pack" -cf "$out/consensus-only.tar" consensuses-2017-07
  xz -c "$out/mixed-ustar.tar" > "$out/mixed.tar.xz"
  xz -0 --check=none -c "$out/mixed-gnu.tar" > "$out/mixed-check-none.tar.xz"
  xz --check=sha256 -c "$out/consensus-only.tar" > "$out/consensus-only-sha256.tar.xz"
  gzip -9 -c "$out/mixed-pax.tar" > "$out/mixed.tar.gz"
  gzip -1 -c "$out/consensus-only.tar" > "$out/consensus-only.tar.gz"
  { xz -c "$FIXTURES/stem/example_descriptor"; xz -c "$FIXTURES/stem/metrics_consensus"; } \
    > "$out/two-streams.xz"
  { gzip -c "$FIXTURES/stem/example_descriptor"; gzip -c "$FIXTURES/stem/metrics_consensus"; } \
    > "$out/two-members.gz"
  xz -c "$FIXTURES/arti/tor-netdoc/routerdesc1.txt" > "$out/descriptor.xz"
  gzip -c "$FIXTURES/arti/tor-dirserver/consensus-ns" > "$out/consensus.gz"
  cp "$FIXTURES/stem/metrics_server_desc_multiple" "$out/plain"
  local tarball
  for tarball in certs-cropped descriptor_archive server-descriptors-2005-12-cropped \
    bridge-server-descriptors-2019-02-cropped; do
    cp "$FIXTURES/stem/$tarball.tar" "$out/$tarball.tar"
    xz -c "$FIXTURES/stem/$tarball.tar" > "$out/$tarball.tar.xz"
    gzip -c "$FIXTURES/stem/$tarball.tar" > "$out/$tarball.tar.gz"
  done
}

# --- runs --------------------------------------------------------------------------------

# The last value of a libFuzzer `stat::<name>:` line in a log.
stat_of() {
  grep -a "stat::$1:" "$2" | tail -n 1 | awk '{ print $2 }'
}

echo "building seeds from $FIXTURES"
build_seeds
echo "building fuzz targets"
"${CARGO_FUZZ[@]}" build "${BUILD_FLAGS[@]}"

mkdir -p fuzz/logs
rows=()
findings=()
failed=0
for t in $TARGETS; do
  mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
  log="fuzz/logs/$t.log"
  marker="$WORK/started-$t"
  touch "$marker"
  echo "fuzzing $t for ${SECONDS_EACH}s ($(ls "$SEEDS/$t" | wc -l) seeds, $(ls "fuzz/corpus/$t" | wc -l) corpus units)"
  status=0
  "${CARGO_FUZZ[@]}" run "${BUILD_FLAGS[@]}" "$t" "fuzz/corpus/$t" "$SEEDS/$t" -- \
    -max_total_time="$SECONDS_EACH" -timeout="$TIMEOUT" -max_len="$MAX_LEN" \
    -print_final_stats=1 > "$log" 2>&1 || status=$?
  execs=$(stat_of number_of_executed_units "$log")
  rate=$(stat_of average_exec_per_sec "$log")
  status_line=$(grep -a -E '^#[0-9]+\s.* cov: ' "$log" | tail -n 1 || true)
  cov=$(echo "$status_line" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
  corp=$(echo "$status_line" | sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p')
  mapfile -t found < <(find "fuzz/artifacts/$t" -type f -newer "$marker" \
    \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) | sort)
  crashes=${#found[@]}
  if [ "$status" -ne 0 ] && [ "$crashes" -eq 0 ]; then
    findings+=("- \`$t\`: libFuzzer exited with status $status without an artifact; see \`$log\`")
    crashes="failed"
  fi
  for a in "${found[@]}"; do
    findings+=("- \`$t\`: \`$a\` (log: \`$log\`)")
  done
  if [ "$status" -ne 0 ] || [ "${#found[@]}" -ne 0 ]; then failed=1; fi
  rows+=("| $t | $SECONDS_EACH | ${execs:-?} | ${rate:-?} | ${cov:-?} | ${corp:-?} | $crashes |")
  echo "  $t: ${execs:-?} execs, ${rate:-?} exec/s, crashes: $crashes"
done

{
  echo "# Fuzzing results"
  echo
  echo "\`scripts/fuzz.sh\` (\`make fuzz FUZZ_SECONDS=$SECONDS_EACH\`), $(date -u '+%Y-%m-%d %H:%M UTC'),"
  echo "commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(rustc +nightly --version),"
  echo "$(nproc) cores; address sanitizer, debug assertions, \`-timeout=$TIMEOUT -max_len=$MAX_LEN\`,"
  echo "one target at a time. Execs and exec/s are libFuzzer's final \`stat::\` lines; cov and corpus"
  echo "its last status line (coverage counters, units in the corpus)."
  echo
  echo "| target | seconds | total execs | exec/s | cov | corpus | crashes |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  printf '%s\n' "${rows[@]}"
  echo
  if [ "${#findings[@]}" -eq 0 ]; then
    echo "No crashes, timeouts or out-of-memory inputs."
  else
    echo "Findings (reproduce: \`cargo +nightly fuzz run <target> <file>\`):"
    echo
    printf '%s\n' "${findings[@]}"
  fi
} > "$RESULTS"
echo "wrote $RESULTS"
exit "$failed"
