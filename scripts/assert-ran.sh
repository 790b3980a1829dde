#!/usr/bin/env bash
# Fail unless a wasm-bindgen-test log shows tests really ran, in the expected runtime.
# (A misconfigured browser run can report success with 0 tests.)
set -euo pipefail
log=$1 runtime=$2
passed=$(sed -n 's/^test result: ok\. \([0-9]*\) passed.*/\1/p' "$log" | sort -n | tail -1)
if [ -z "$passed" ] || [ "$passed" -eq 0 ]; then
  echo "error: no wasm tests ran in $runtime (see $log)" >&2
  exit 1
fi
if [ "$runtime" = chrome ] && ! grep -q "Running headless tests in Chrome" "$log"; then
  echo "error: the wasm tests did not run in headless Chrome (see $log)" >&2
  exit 1
fi
echo "$passed wasm tests ran in $runtime"
