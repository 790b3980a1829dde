#!/usr/bin/env bash
# `make fuzz`: the long hostile suite. Runs every cargo-fuzz target in fuzz/ for a fixed
# number of executions (at least 10 million in all by default), keeps each crash,
# minimized, under fuzz/fixtures/<target>/ (replayed by `make test`), writes the counts
# to fuzz/RESULTS.md, then runs the long forms of the convergence test and of the
# durability test (kill -9 of the edge with writers running).
#
#   FUZZ_RUNS=<n>          total executions across the targets (default 10000000)
#   CONFAB_CONVERGENCE_OPS random operations for the convergence long form (1000000)
#   CONFAB_KILLS           kill -9s for the durability long form (50)
#
# cargo-fuzz is pinned and installed, like the other tools, into the per-user cache
# keyed by its version. libFuzzer needs the nightly toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

CARGO_FUZZ_VERSION=0.13.2
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}
TOOLS=${CONFAB_TOOLS:-$CACHE/confab/tools}
# Its own target dir: the fuzz build uses nightly and instrumentation flags.
FUZZ_TARGET_DIR=${CONFAB_FUZZ_TARGET:-$CACHE/confab/fuzz-target}
FUZZ_RUNS=${FUZZ_RUNS:-10000000}
MAX_RESTARTS=3
step() { printf '\033[1m==> %s\033[0m\n' "$*"; }

if ! rustup toolchain list | grep -q '^nightly'; then
  step "installing the nightly Rust toolchain (for libFuzzer)"
  rustup toolchain install nightly --profile minimal
fi
cf="$TOOLS/cargo-fuzz-$CARGO_FUZZ_VERSION/bin/cargo-fuzz"
if [ ! -x "$cf" ]; then
  step "installing cargo-fuzz $CARGO_FUZZ_VERSION into $TOOLS (a few minutes, once per machine)"
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked \
    --root "$TOOLS/cargo-fuzz-$CARGO_FUZZ_VERSION"
fi

# Targets and their share of the executions, in thousandths: the scanner, differential
# and token targets run tens of thousands of inputs a second, the ones that build a room
# about a thousand.
TARGETS=(update_diff:450 token:350 update_scan:100 rest:60 frame:25 room_load:15)

step "building the fuzz targets (nightly, libFuzzer; no sanitizer: core is safe Rust)"
# No sanitizer: confab-core forbids unsafe code, and AddressSanitizer's allocation limit
# stops the run on yrs reserving memory for counts it has not read yet (see RESULTS.md).
(cd fuzz && PATH="$(dirname "$cf"):$PATH" CARGO_TARGET_DIR="$FUZZ_TARGET_DIR" \
  cargo +nightly fuzz build -O -s none)
host=$(rustc +nightly -vV | sed -n 's/^host: //p')
BIN="$FUZZ_TARGET_DIR/$host/release"

step "writing the seed corpora (real sessions and a real room) into fuzz/corpus/"
CONFAB_FUZZ_SEEDS="$ROOT/fuzz/corpus" cargo test -q -p confab-core --test fuzz_fixtures \
  write_fuzz_inputs -- --ignored >/dev/null

# Run one target for `runs` executions; after a crash, keep it (minimized) and go on
# with the rest of the budget. Prints the executions done.
run_target() {
  local t=$1 runs=$2 done=0 restarts=0 log
  mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
  log=$(mktemp)
  while [ "$done" -lt "$runs" ]; do
    rm -f "fuzz/artifacts/$t"/*
    local rc=0
    nice -n 10 "$BIN/$t" "fuzz/corpus/$t" -runs=$((runs - done)) -max_len=65536 \
      -timeout=30 -rss_limit_mb=4096 -print_final_stats=1 \
      -artifact_prefix="fuzz/artifacts/$t/" >"$log" 2>&1 || rc=$?
    local n
    n=$(sed -n 's/^stat::number_of_executed_units: //p' "$log" | tail -1)
    done=$((done + ${n:-0}))
    [ "$rc" -eq 0 ] && break
    local crash
    crash=$(ls "fuzz/artifacts/$t"/* 2>/dev/null | head -1 || true)
    if [ -z "$crash" ]; then
      echo "error: fuzz target $t stopped (exit $rc) without an artifact:" >&2
      tail -20 "$log" >&2
      exit 1
    fi
    local name
    name="crash-$(sha1sum "$crash" | cut -c1-16)"
    mkdir -p "fuzz/fixtures/$t"
    grep -E 'panicked at|ERROR:|^ +#[0-9]+ .*(confab|yrs)' "$log" | head -12 >&2 || true
    nice -n 10 "$BIN/$t" -minimize_crash=1 -runs=20000 \
      -exact_artifact_path="fuzz/fixtures/$t/$name" "$crash" >/dev/null 2>&1 \
      || cp "$crash" "fuzz/fixtures/$t/$name"
    [ -f "fuzz/fixtures/$t/$name" ] || cp "$crash" "fuzz/fixtures/$t/$name"
    echo "$t: CRASH kept as fuzz/fixtures/$t/$name" >&2
    echo "$t/$name" >>"$CRASH_LIST"
    restarts=$((restarts + 1))
    [ "$restarts" -gt "$MAX_RESTARTS" ] && break
  done
  rm -f "$log"
  echo "$done"
}

CRASH_LIST=fuzz/artifacts/crashes.txt
mkdir -p fuzz/artifacts
: >"$CRASH_LIST"
declare -A COUNT
total=0
for entry in "${TARGETS[@]}"; do
  t=${entry%%:*}
  share=${entry##*:}
  runs=$((FUZZ_RUNS * share / 1000))
  step "fuzzing $t for $runs executions"
  start=$SECONDS
  n=$(run_target "$t" "$runs")
  COUNT[$t]=$n
  total=$((total + n))
  printf '%-12s %12d executions in %ds\n' "$t" "$n" $((SECONDS - start))
done
printf '%-12s %12d executions\n' total "$total"

step "convergence long form (release)"
conv=$(CONFAB_CONVERGENCE_OPS=${CONFAB_CONVERGENCE_OPS:-1000000} \
  CONFAB_CONVERGENCE_SEED=${CONFAB_CONVERGENCE_SEED:-$(date +%s)} \
  nice -n 10 cargo test --release -q -p confab-core --test convergence \
  a_million_operations_converge -- --ignored --nocapture 2>&1) || {
  echo "$conv" >&2
  echo "error: the convergence long form failed" >&2
  exit 1
}
conv=$(grep '^convergence:' <<<"$conv")
echo "$conv"

step "durability long form: kill -9 the edge ${CONFAB_KILLS:-50} times with writers running"
durability=$(scripts/durability-long.sh | tail -1) || {
  echo "error: the durability long form failed (see tests/artifacts/durability-long.log)" >&2
  exit 1
}
echo "$durability"

mapfile -t CRASHES <"$CRASH_LIST"
{
  echo "# Fuzzing results"
  echo
  echo "Written by \`make fuzz\` (scripts/fuzz.sh) on $(date -u +%Y-%m-%d) at commit"
  echo "$(git rev-parse --short HEAD 2>/dev/null || echo unknown); libFuzzer through cargo-fuzz"
  echo "$CARGO_FUZZ_VERSION, no sanitizer."
  echo
  echo "| target | executions |"
  echo "|---|---:|"
  for entry in "${TARGETS[@]}"; do
    t=${entry%%:*}
    echo "| \`$t\` | ${COUNT[$t]} |"
  done
  echo "| **total** | **$total** |"
  echo
  if [ "${#CRASHES[@]}" -eq 0 ]; then
    echo "Crashes: none."
  else
    echo "Crashes (kept, minimized, under \`fuzz/fixtures/\`):"
    for c in "${CRASHES[@]}"; do echo "- \`$c\`"; done
  fi
  echo
  echo "Convergence long form: ${conv#convergence: }"
  echo
  echo "Durability long form: ${durability#durability (long): }"
} >fuzz/RESULTS.md
step "wrote fuzz/RESULTS.md"
if [ "${#CRASHES[@]}" -gt 0 ]; then
  echo "error: ${#CRASHES[@]} crash(es) found; see fuzz/RESULTS.md" >&2
  exit 1
fi
