#!/usr/bin/env bash
# `make flake-check`: run the suites that could fail by chance again and again, and
# report every failure with a one-line command that runs that test alone.
#
#   - the JS suites (`node --test tests/`, as `make test` runs them), FLAKE_RUNS times;
#   - the Rust suites (`cargo test --workspace`), FLAKE_RUNS times, each with fresh
#     random proptest cases (no PROPTEST_RNG_SEED: proptest draws new seeds every run).
#
# FLAKE_RUNS defaults to 20. Logs and the summary go to tests/artifacts/flake/; the
# summary (SUMMARY.md) is also printed. Exits non-zero when any run failed.
set -uo pipefail
cd "$(dirname "$0")/.."

runs=${FLAKE_RUNS:-20}
if ! [ "$runs" -ge 1 ] 2>/dev/null; then
  echo "error: FLAKE_RUNS must be a whole number of runs, at least 1 (got \"$runs\")" >&2
  exit 2
fi
out=tests/artifacts/flake
rm -rf "$out"
mkdir -p "$out"
summary="$out/SUMMARY.md"
failures="$out/failures.txt"
: > "$failures"

# The failed tests of one TAP log, each as a command that runs it alone: the name as
# TAP escapes it (\# and \\) read back, made a regular expression matching only it, and
# single-quoted for the shell.
js_failures() {
  awk -v q="'" '
    /^ *not ok [0-9]+ - / { sub(/^ *not ok [0-9]+ - /, ""); sub(/ # (SKIP|TODO).*$/, ""); name = $0; next }
    name != "" && /^ *location: / {
      loc = $0; sub(/^ *location: .?/, "", loc); sub(/:[0-9]+:[0-9]+.?$/, "", loc)
      sub("^" ENVIRON["PWD"] "/", "", loc)
      gsub(/\\\\/, "\001", name); gsub(/\\#/, "#", name); gsub(/\001/, "\\", name)
      gsub(/[][\\^$.|?*+(){}]/, "\\\\&", name)
      gsub(q, q "\\" q q, name)
      printf "node --test --test-concurrency=1 --test-name-pattern=%s^%s$%s %s\n", q, name, q, loc
      name = ""
    }
  ' "$1"
}

# The failed tests of one cargo log, each as a command that runs it alone.
rust_failures() {
  sed -n 's/^test \(.*\) \.\.\. FAILED$/cargo test --workspace -- --exact \1/p' "$1"
}

started=$(date +%s)
js_failed=0
rust_failed=0
for i in $(seq 1 "$runs"); do
  t0=$(date +%s)
  if node --test --test-concurrency=1 --test-timeout=180000 --test-reporter=tap tests/ > "$out/js-$i.tap" 2>&1; then
    js="pass"
  else
    js="FAIL"
    js_failed=$((js_failed + 1))
    js_failures "$out/js-$i.tap" | sed "s/^/js run $i: /" >> "$failures"
  fi
  t1=$(date +%s)
  if cargo test --workspace > "$out/rust-$i.log" 2>&1; then
    rust="pass"
  else
    rust="FAIL"
    rust_failed=$((rust_failed + 1))
    rust_failures "$out/rust-$i.log" | sed "s/^/rust run $i: /" >> "$failures"
    # The convergence test names the command that runs its seed again; other property
    # tests keep a failing case in their regression file (see the summary's end).
    grep -h "reproduce:" "$out/rust-$i.log" | sed "s/^/rust run $i: /" >> "$failures" || true
  fi
  t2=$(date +%s)
  echo "run $i/$runs: js $js ($((t1 - t0)) s), rust $rust ($((t2 - t1)) s)" | tee -a "$out/runs.txt"
done
elapsed=$(( $(date +%s) - started ))

{
  echo "# Flake check"
  echo
  echo "$runs runs of the JS suites and of the Rust suites (fresh proptest cases each run), in $((elapsed / 60)) min $((elapsed % 60)) s."
  echo
  echo "- JS suites: $((runs - js_failed)) of $runs runs passed."
  echo "- Rust suites: $((runs - rust_failed)) of $runs runs passed."
  echo
  echo "## Runs"
  echo
  sed 's/^/- /' "$out/runs.txt"
  echo
  echo "## Failures"
  echo
  if [ -s "$failures" ]; then
    echo "Each with the command that runs it alone (logs: \`$out/\`):"
    echo
    sed 's/^/    /' "$failures"
  else
    echo "None."
  fi
  changed=$(git status --porcelain -- '*.proptest-regressions' 'core/proptest-regressions' 2>/dev/null)
  if [ -n "$changed" ]; then
    echo
    echo "Proptest kept new failing cases: commit them, so every later run tries them first."
    echo
    echo "$changed" | sed 's/^/    /'
  fi
} > "$summary"
cat "$summary"
[ "$js_failed" -eq 0 ] && [ "$rust_failed" -eq 0 ]
