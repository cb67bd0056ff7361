# Helpers shared by the benchmark scripts (sourced, not run): timing a stage with its peak RSS
# under a timeout, and replacing one "## " section of results.md.

# run_stage <log file> <timeout s> <niceness> <command...>: runs the command under a timeout and
# /usr/bin/time and sets SECONDS_OUT and RSS_OUT (MiB), or both to "timeout" or "failed".
# Exit status 1 counts as success when ALLOW_STATUS_1=1 (the import's "some documents rejected").
run_stage() {
  local log=$1 timeout_s=$2 niceness=$3 times rc=0 secs kib
  shift 3
  times=$(mktemp)
  /usr/bin/time -f "%e %M" -o "$times" \
    timeout --kill-after=60 "$timeout_s" nice -n "$niceness" "$@" > "$log" 2>&1 || rc=$?
  # With a non-zero status GNU time writes "Command exited with non-zero status N" first.
  secs="" kib=""
  read -r secs kib < <(tail -n 1 "$times") || true
  rm -f "$times"
  if [ "$rc" -eq 1 ] && [ "${ALLOW_STATUS_1:-0}" = 1 ]; then rc=0; fi
  # 124: timeout stopped it; 137 (SIGKILL) after the timeout: it ignored the TERM. A 137
  # before the timeout is something else (the kernel's OOM killer): failed.
  if [ "$rc" -eq 124 ] || { [ "$rc" -eq 137 ] && awk -v s="$secs" -v t="$timeout_s" 'BEGIN { exit !(s >= t) }'; }; then
    SECONDS_OUT=timeout RSS_OUT=timeout
    echo "bench: timeout after ${timeout_s}s: $1 ${2:-} (log: $log)" >&2
  elif [ "$rc" -ne 0 ]; then
    SECONDS_OUT=failed RSS_OUT=failed
    echo "bench: failed (exit status $rc): ${*:1:2} (log: $log)" >&2
    tail -n 5 "$log" | sed 's/^/  /' >&2
  else
    SECONDS_OUT=$secs
    RSS_OUT=$(awk -v k="$kib" 'BEGIN { printf "%.0f", k / 1024 }')
  fi
}

# splice_section <results.md> <section file>: the section file starts with a "## Title" line;
# the section of results.md with the same first word after "## " is replaced by it (up to the
# next "## " heading), or it is appended. The rest of results.md stays as it was.
splice_section() {
  local results=$1 section=$2 key
  key=$(head -n 1 "$section" | awk '{ print $2 }')
  {
    if [ -f "$results" ]; then
      awk -v key="$key" -v file="$section" '
        function emit(between,  last) {
          while ((getline line < file) > 0) { print line; last = line }
          close(file); done = 1
          if (between && last != "") print ""
        }
        /^## / { skipping = ($2 == key); if (skipping) { if (!done) emit(1); next } }
        !skipping { print }
        END { if (!done) { print ""; emit(0) } }' "$results"
    else
      cat "$section"
    fi
  } > "$results.tmp"
  mv "$results.tmp" "$results"
}
