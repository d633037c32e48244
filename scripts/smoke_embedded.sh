#!/usr/bin/env bash
# Embedded-mode smoke test: start the `make run` stack (SQLite + filesystem broker) in the
# background, wait for /readyz, log in as the demo user over HTTP, fetch the dashboard,
# then stop the whole stack by its process group id.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT=${SMOKE_PORT:-8000}
BASE="http://127.0.0.1:${PORT}"
WORK=$(mktemp -d)
LOG="$WORK/run.log"
JAR="$WORK/cookies.txt"

# Embedded means no servers: make sure nothing points the stack at PostgreSQL or Redis.
unset DATABASE_URL REDIS_URL
export DATA_DIR="$WORK/data" RUN_PORT="$PORT"

setsid make run >"$LOG" 2>&1 &
PGID=$!

stop() {
  if kill -0 -- "-$PGID" 2>/dev/null; then
    kill -INT -- "-$PGID" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 -- "-$PGID" 2>/dev/null || break; sleep 1; done
    kill -KILL -- "-$PGID" 2>/dev/null || true
  fi
}
fail() {
  echo "smoke: FAILED: $*" >&2
  echo "---- last lines of the stack's output ----" >&2
  grep -v "WARNING: Location" "$LOG" | tail -40 >&2 || true
  stop
  exit 1
}
trap stop EXIT

start=$(date +%s)
until curl -fsS "$BASE/readyz" >/dev/null 2>&1; do
  kill -0 -- "-$PGID" 2>/dev/null || fail "the stack exited before it was ready"
  [ $(( $(date +%s) - start )) -lt 180 ] || fail "/readyz not ready within 180 s"
  sleep 1
done
echo "smoke: /readyz ready after $(( $(date +%s) - start )) s: $(curl -fsS "$BASE/readyz")"

grep -q "Log in as demo@healthhub.local" "$LOG" || fail "the demo login was not printed"

curl -fsS -c "$JAR" -b "$JAR" "$BASE/accounts/login/" -o "$WORK/login.html" \
  || fail "login page"
csrf=$(awk '$6 == "csrftoken" {print $7}' "$JAR")
[ -n "$csrf" ] || fail "no CSRF cookie"
status=$(curl -sS -o /dev/null -w '%{http_code} %{redirect_url}' -c "$JAR" -b "$JAR" \
  -H "Referer: $BASE/accounts/login/" \
  --data-urlencode "csrfmiddlewaretoken=$csrf" \
  --data-urlencode "login=demo@healthhub.local" \
  --data-urlencode "password=healthhub-demo" \
  "$BASE/accounts/login/")
[ "$status" = "302 $BASE/" ] || fail "demo login answered '$status'"

curl -fsS -b "$JAR" "$BASE/" -o "$WORK/dashboard.html" || fail "dashboard"
grep -q "<h1>Dashboard</h1>" "$WORK/dashboard.html" || fail "dashboard page has no heading"
grep -q ">Demo<" "$WORK/dashboard.html" || fail "dashboard is not the demo user's"
grep -q 'id="m-steps"' "$WORK/dashboard.html" || fail "dashboard shows no demo data"
echo "smoke: demo login and dashboard OK"

stop
trap - EXIT
if pgrep -g "$PGID" >/dev/null 2>&1; then
  echo "smoke: FAILED: processes left behind: $(pgrep -g "$PGID" | tr '\n' ' ')" >&2
  exit 1
fi
echo "smoke: stack stopped; embedded smoke test passed"
rm -rf "$WORK"
