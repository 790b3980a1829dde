#!/usr/bin/env bash
# The long form of the durability test: kill -9 the edge CONFAB_KILLS times (50 unless
# set) while three clients write, and fail if any acknowledged edit is lost. Needs a
# built worker (`make build`). Prints the kills, acknowledged edits and lost edits.
set -euo pipefail
cd "$(dirname "$0")/.."

kills=${CONFAB_KILLS:-50}
mkdir -p tests/artifacts
log=tests/artifacts/durability-long.log
status=0
CONFAB_KILLS=$kills node --test --test-name-pattern "kill -9" \
  tests/durability.test.mjs 2>&1 | tee "$log" || status=$?
line=$(grep -o 'durability: kills=[0-9]* inflight=[0-9]* acked=[0-9]* lost=[0-9]* [a-z]*' "$log" | tail -1 || true)
if [ -z "$line" ]; then
  echo "error: the durability test printed no counts (see $log)" >&2
  exit 1
fi
read -r kills_done inflight acked lost outcome < <(sed 's/durability: kills=\([0-9]*\) inflight=\([0-9]*\) acked=\([0-9]*\) lost=\([0-9]*\) \([a-z]*\)/\1 \2 \3 \4 \5/' <<<"$line")
echo "durability (long): $kills_done of $kills kills with writers running ($inflight with edits in flight), $acked acknowledged edits, $lost lost ($outcome)"
if [ "$status" -ne 0 ] || [ "$outcome" != passed ] || [ "$lost" -ne 0 ] || [ "$kills_done" -ne "$kills" ]; then
  exit 1
fi
