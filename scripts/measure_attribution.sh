#!/usr/bin/env bash
# The attribution and removal-detection measurements quoted in docs/attribution.md ("Measured"):
#   1. the independent world (../shared/worlds/independent): gen.py seeds 7 and 23 (default
#      options), 19 (--realism, 3 months) and 31 (--realism), each scored by its own score.py;
#   2. the project's scenarios (default 1 and 101, eval 2024 and 303, quiet 77: 5 or 3 months of
#      1,500 relays; no-actor 5 and 808: a month of 7,000), scored by `relaytrail evaluate`, with
#      each behaviour signal switched off in turn (weights.<signal>=0).
# Same settings everywhere (pipelines/demo.toml). Archives and warehouses are kept in OUT
# (default /tmp/relaytrail-measure) and reused; delete it to start over.
#   scripts/measure_attribution.sh [OUT]
# Needs: the release binary ($BIN), python with polars ($PYTHON), python3 with numpy for gen.py.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-/tmp/relaytrail-measure}
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}
BIN=${BIN:-${CARGO_TARGET_DIR:-$CACHE/relaytrail-target}/release/relaytrail}
PYTHON=${PYTHON:-$CACHE/relaytrail-venv/bin/python}
WORLD=${WORLD:-../shared/worlds/independent}
mkdir -p "$OUT"

for spec in "7" "23" "19 --realism --months 3" "31 --realism"; do
  set -- $spec
  seed=$1; shift
  D=$OUT/world-$seed
  if [ ! -f "$D/.done" ]; then
    rm -rf "$D"
    "$PYTHON" "$WORLD/gen.py" --seed "$seed" "$@" --out "$D" > /dev/null
    touch "$D/.done"
  fi
  echo "=== independent world, seed $seed $*"
  [ -f "$D/wh/.imported" ] || { "$BIN" import "$D/archive" --warehouse "$D/wh" --quiet > /dev/null; touch "$D/wh/.imported"; }
  "$BIN" jobs --warehouse "$D/wh" --asn-db "$D/asn.tsv" --pipeline pipelines/demo.toml --quiet --force > /dev/null
  "$BIN" attribute --warehouse "$D/wh" --pipeline pipelines/demo.toml --quiet > /dev/null
  "$PYTHON" "$WORLD/score.py" --truth "$D/truth.json" --warehouse "$D/wh" \
    | grep -E "^SCORE|false merges =|background relays in truth" || true
done

signals="restart_sync session_end_sync exit_policy join_batch removed_together rejected_together same_address"
planted_f1() { grep -E '^\| [a-z0-9-]+ \| [a-z0-9-]+ \|' | awk -F'|' '{printf "%s%s;", $2, $8}'; }
for spec in "default 1 5 1500" "default 101 5 1500" "eval 2024 5 1500" "eval 303 5 1500" \
            "quiet 77 3 1500" "no-actor 5 1 7000" "no-actor 808 1 7000"; do
  set -- $spec
  D=$OUT/$1-$2
  if [ ! -f "$D/.done" ]; then
    rm -rf "$D" "$D-wh"
    "$BIN" generate --out "$D" --scenario "data/scenarios/$1.toml" --start 2021-08 --months "$3" \
      --relays "$4" --seed "$2" > /dev/null
    touch "$D/.done"
  fi
  echo "=== $1 $2"
  [ -f "$D-wh/.imported" ] || { "$BIN" import "$D" --warehouse "$D-wh" --quiet > /dev/null; touch "$D-wh/.imported"; }
  "$BIN" jobs --warehouse "$D-wh" --asn-db "$D/asn/ip2asn-v4.tsv" --pipeline pipelines/demo.toml --quiet --force > /dev/null
  if [ "$1" != no-actor ]; then
    for w in $signals; do
      "$BIN" attribute --warehouse "$D-wh" --pipeline pipelines/demo.toml --quiet --set "weights.$w=0" > /dev/null
      echo "without $w: $("$BIN" evaluate --warehouse "$D-wh" --truth "$D" | planted_f1)"
    done
  fi
  "$BIN" attribute --warehouse "$D-wh" --pipeline pipelines/demo.toml --quiet > /dev/null
  "$BIN" evaluate --warehouse "$D-wh" --truth "$D" | grep -vE "^\|---|^\| honest|^$"
done
