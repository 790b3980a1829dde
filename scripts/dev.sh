#!/usr/bin/env bash
# Serve the edge and the demo under local workerd (`wrangler dev`), quiet and offline,
# and print the URL once the room server answers.
set -euo pipefail
cd "$(dirname "$0")/../edge"
PORT=${PORT:-8787}
url="http://127.0.0.1:$PORT"

# Refuse a port another program holds, before anything starts: its health check could
# answer for us, and wrangler would fail later with "Address already in use".
if ! node -e '
  const server = require("node:net").createServer();
  server.once("error", () => process.exit(1));
  server.listen(Number(process.argv[1]), "127.0.0.1", () => server.close(() => process.exit(0)));
' "$PORT"; then
  echo "error: port $PORT on 127.0.0.1 is in use by another program. Stop it, or pick another port: PORT=$((PORT + 1)) make dev" >&2
  exit 1
fi

# A room for this session, so every tab opened from the printed link lands in it.
room="team-$(node -e 'process.stdout.write(require("node:crypto").randomBytes(3).toString("hex"))')"

export WRANGLER_SEND_METRICS=false WRANGLER_SEND_ERROR_REPORTS=false
export CLOUDFLARE_CF_FETCH_ENABLED=false WRANGLER_HIDE_BANNER=true

# Stopping is quiet. Ctrl-C reaches only this script: wrangler runs in a process group of
# its own (`set -m` while it starts), and the trap stops it. Its output passes through two
# forwarders, which drop whatever comes once stopping has begun: what workerd says about
# the connections the stop cuts (a red "✘ [ERROR] Uncaught Error: Network connection
# lost.", "Logs were written to …") is not news.
run="$(mktemp -d "${TMPDIR:-/tmp}/confab-dev.XXXXXX")"
trap 'rm -rf "$run"' EXIT
mkfifo "$run/out" "$run/err"
forward() {
  trap '' INT
  local line
  while IFS= read -r line || [ -n "$line" ]; do
    [ -e "$run/stopping" ] || printf '%s\n' "$line"
  done
}
pid=""
agents=""
# Stop a process group as a terminal would (`$2`: the signal), give it 5 s, then kill it.
stop_group() {
  kill "-$2" -- "-$1" 2>/dev/null || true
  for _ in $(seq 50); do
    kill -0 "$1" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL -- "-$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
# The demo's agents first (they release their leases and leave the room), then wrangler.
stop_agents() {
  [ -n "$agents" ] || return 0
  stop_group "$agents" TERM
}
# Stop wrangler's whole group (wrangler, its second Node process, workerd) as a terminal's
# Ctrl-C would, then wait for the forwarders to pass on (or drop) its last words.
stop_wrangler() {
  [ -n "$pid" ] || return 0
  stop_group "$pid" INT
  wait "$forward_out" "$forward_err" 2>/dev/null || true
}
stop() {
  trap '' INT TERM HUP
  : >"$run/stopping"
  stop_agents
  stop_wrangler
  printf '\nConfab stopped.\n'
  exit 0
}
# HUP too: a closed terminal sends it to this script only, no longer to wrangler.
trap stop INT TERM HUP

forward <"$run/out" &
forward_out=$!
forward <"$run/err" >&2 &
forward_err=$!
# Pages of another origin may use the rooms when allowed, as in a deployment: an app's own
# dev server, e.g. CONFAB_ALLOWED_ORIGINS=http://localhost:5173 make dev for Vite's.
allowed=()
if [ -n "${CONFAB_ALLOWED_ORIGINS:-}" ]; then
  allowed=(--var "CONFAB_ALLOWED_ORIGINS:$CONFAB_ALLOWED_ORIGINS")
fi
set -m
wrangler dev --ip 127.0.0.1 --port "$PORT" --persist-to .wrangler/state \
  --show-interactive-dev-session=false --log-level warn ${allowed[@]+"${allowed[@]}"} \
  </dev/null >"$run/out" 2>"$run/err" &
pid=$!
set +m

ready=""
deadline=$((SECONDS + 60))
while [ "$SECONDS" -lt "$deadline" ]; do
  if node -e 'fetch(process.argv[1], { signal: AbortSignal.timeout(1000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' "$url/health"; then
    # The room is listed in the team space, the demo's home (its agents are the space's
    # shared agents, in use there).
    node -e 'fetch(process.argv[1], { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ name: process.argv[2], title: "Welcome room" }) }).catch(() => {})' "$url/spaces/team/rooms" "$room"
    ready=1
    printf '\n  \033[1mConfab is running:\033[0m %s/?room=%s\n' "$url" "$room"
    printf '  Open that link in two tabs (or send it to a teammate) to collaborate in one room.\n'
    printf '  Your team space, with every room and who is in it: %s/?space=team\n' "$url"
    printf '  Rooms for your own clients: ws://127.0.0.1:%s/rooms/<room>\n' "$PORT"
    if [ "${CONFAB_DEMO_AGENTS:-1}" != 0 ]; then
      if [ -n "${OPENAI_BASE_URL:-}" ]; then
        model="${CONFAB_AGENT_MODEL:-gpt-4o-mini} at $OPENAI_BASE_URL"
      else
        model="the offline model (set OPENAI_BASE_URL and OPENAI_API_KEY for a real one)"
      fi
      printf '  Agents Researcher and Reviewer are in that room, on %s: mention @Researcher.\n' "$model"
    fi
    printf '  Rooms persist in edge/.wrangler/state. Stop with Ctrl-C.\n\n'
    break
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    break
  fi
  sleep 0.25
done
if [ -z "$ready" ]; then
  stop_wrangler
  echo "error: the edge did not answer on $url/health (see wrangler's message above; if port $PORT is in use, run PORT=8788 make dev)" >&2
  exit 1
fi
# The demo's agents, in a process group of their own like wrangler, their log through the
# same forwarders (CONFAB_DEMO_AGENTS=0 starts none).
if [ "${CONFAB_DEMO_AGENTS:-1}" != 0 ]; then
  set -m
  node ../scripts/dev-agents.mjs "$url" "$room" </dev/null >"$run/out" 2>"$run/err" &
  agents=$!
  set +m
fi
status=0
wait "$pid" || status=$?
wait "$forward_out" "$forward_err" || true
exit "$status"
