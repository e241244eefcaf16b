# Shared by .ci/localstack.sh, .ci/tools.sh and otel/jaeger.sh: wait for a background service, stop it, and
# show progress on a long step.
# Source it; the caller defines `up` (exit 0 when the service answers).

# wait_ready NAME PIDFILE LOG SECONDS: polls `up` every 0.5 s; fails early if the process died.
wait_ready() {
  local name=$1 pidfile=$2 log=$3 seconds=$4 i
  for ((i = 0; i < seconds * 2; i++)); do
    if up; then echo "$name: ready" >&2; return 0; fi
    if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      echo "$name: process exited; last log lines:" >&2; tail -20 "$log" >&2; rm -f "$pidfile"; return 1
    fi
    sleep 0.5
  done
  echo "$name: not ready after ${seconds} s; see $log" >&2
  return 1
}

# stop_pidfile PIDFILE: SIGTERM, up to 15 s to exit, then SIGKILL, so the port is free on return.
stop_pidfile() {
  local pidfile=$1 pid i
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  kill "$pid" 2>/dev/null || true
  for ((i = 0; i < 30; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

# with_progress WHAT CMD...: runs CMD in the foreground and, while it runs, prints
# "WHAT: still working (N min)" every minute, so a long build (go build: minutes) never leaves a silent screen.
with_progress() {
  local what=$1 ticker rc=0
  shift
  (
    minutes=0 nap=
    trap 'kill "$nap" 2>/dev/null; exit 0' TERM
    while true; do
      sleep 60 &
      nap=$!
      wait "$nap"
      minutes=$((minutes + 1))
      echo "$what: still working (${minutes} min)" >&2
    done
  ) &
  ticker=$!
  "$@" || rc=$?
  kill "$ticker" 2>/dev/null || true
  wait "$ticker" 2>/dev/null || true
  return "$rc"
}
