#!/usr/bin/env bash
# Runs relaytrail on an archive of the independent world (../shared/worlds/independent/gen.py
# output: DIR/archive, DIR/asn.tsv, DIR/truth.json) with the settings of pipelines/demo.toml (the
# same as every generated scenario) and scores it with that world's own score.py.
#   scripts/independent_world.sh DIR [WAREHOUSE] [-- extra attribute args, e.g. --set weights.x=0]
# Needs: the release binary ($BIN, default the cargo target's), python with polars and pyarrow
# ($PYTHON, default the project venv).
set -euo pipefail
DIR=$1; shift
WH=${1:-$DIR/warehouse}; [ $# -gt 0 ] && shift
[ "${1:-}" = "--" ] && shift
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}
BIN=${BIN:-${CARGO_TARGET_DIR:-$CACHE/relaytrail-target}/release/relaytrail}
PYTHON=${PYTHON:-$CACHE/relaytrail-venv/bin/python}
WORLD=${WORLD:-$(dirname "$0")/../../shared/worlds/independent}
"$BIN" import "$DIR/archive" --warehouse "$WH" --quiet
"$BIN" jobs --warehouse "$WH" --asn-db "$DIR/asn.tsv" --pipeline pipelines/demo.toml --quiet
"$BIN" attribute --warehouse "$WH" --pipeline pipelines/demo.toml --quiet "$@"
"$PYTHON" "$WORLD/score.py" --truth "$DIR/truth.json" --warehouse "$WH"
