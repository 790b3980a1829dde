#!/usr/bin/env bash
# `make ci-count`: run what CI runs (`CI=true bash .ci/run`, which is `make test`)
# CI_RUNS times in a row, in one fresh clone of the committed HEAD, and stop at the
# first failure. This is the count that says `make test` does not flake: a run that
# fails by chance here would fail a submission in CI.
#
# CI_RUNS defaults to 20. The clone goes to CI_COUNT_DIR (a new temporary folder by
# default) and is kept, so a failed run's log and state can be read. The summary goes
# to tests/artifacts/ci-count/SUMMARY.md and is also printed. Exits non-zero when a
# run failed. Uncommitted changes are not in the clone, so they are not counted.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD

runs=${CI_RUNS:-20}
if ! [ "$runs" -ge 1 ] 2>/dev/null; then
  echo "error: CI_RUNS must be a whole number of runs, at least 1 (got \"$runs\")" >&2
  exit 2
fi
commit=$(git rev-parse HEAD) || exit 2
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
  echo "note: the working tree has uncommitted changes; the count runs $commit without them" >&2
fi

clone=${CI_COUNT_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/confab-ci-count.XXXXXX")}
if [ -d "$clone" ] && [ -n "$(ls -A "$clone")" ]; then
  echo "error: CI_COUNT_DIR ($clone) is not empty; the count needs a fresh clone" >&2
  exit 2
fi
git clone --quiet --no-local "$root" "$clone" && git -C "$clone" checkout --quiet "$commit" || exit 2

out=$root/tests/artifacts/ci-count
rm -rf "$out"
mkdir -p "$out"
echo "counting $runs runs of CI on $commit in $clone (logs: $out/)"

started=$(date +%s)
passed=0
failed_log=""
for i in $(seq 1 "$runs"); do
  t0=$(date +%s)
  log=$out/run-$i.log
  (cd "$clone" && CI=true bash .ci/run) > "$log" 2>&1
  rc=$?
  secs=$(( $(date +%s) - t0 ))
  js=$(grep -E '^# (pass|fail) ' "$log" | tail -2 | tr '\n' ' ')
  echo "run $i/$runs: $([ $rc -eq 0 ] && echo pass || echo "FAIL (exit $rc)") in $secs s; js: ${js:-none}" | tee -a "$out/runs.txt"
  if [ $rc -ne 0 ]; then
    failed_log=$log
    break
  fi
  passed=$((passed + 1))
done
elapsed=$(( $(date +%s) - started ))

{
  echo "# CI count"
  echo
  echo "Commit $commit, in a fresh clone at $clone."
  echo
  echo "$passed of $runs consecutive runs of \`CI=true bash .ci/run\` passed, in $((elapsed / 60)) min $((elapsed % 60)) s."
  echo
  echo "## Runs"
  echo
  sed 's/^/- /' "$out/runs.txt"
  if [ -n "$failed_log" ]; then
    echo
    echo "## The failure"
    echo
    echo "The count stopped at the first failed run. Its log: \`$failed_log\`; its last lines:"
    echo
    grep -E '^not ok|^# (pass|fail) |error|FAILED|panicked' "$failed_log" | tail -20 | sed 's/^/    /'
  fi
} > "$out/SUMMARY.md"
cat "$out/SUMMARY.md"
[ "$passed" -eq "$runs" ]
