#!/usr/bin/env bash
# Installs (once) and runs LocalStack 4.13.1 in host mode, SQS only, on 127.0.0.1:4566.
#   .ci/localstack.sh install   create the venv under .cache/localstack if missing
#   .ci/localstack.sh start     install if needed, start in the background, wait until SQS is up
#   .ci/localstack.sh stop      stop the one this script started
# Why pinned: 4.14+ needs Python 3.12, the 2026.x releases need an auth token.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.cache/localstack"
pidfile="$root/.cache/localstack.pid"
log="$root/.cache/localstack.log"
port="${LOCALSTACK_PORT:-4566}"
health="http://127.0.0.1:${port}/_localstack/health"
# shellcheck source=background.sh
. "$root/.ci/background.sh"

install() {
  # The marker is written last, so a half-finished install is redone.
  if [ -f "$venv/.installed-4.13.1" ]; then return 0; fi
  echo "localstack: installing localstack-core 4.13.1 into .cache/localstack (one-time, ~1 min)" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -c "$root/.ci/localstack-constraints.txt" \
    'localstack-core[base-runtime]==4.13.1' service-identity
  touch "$venv/.installed-4.13.1"
}

up() { curl -fsS "$health" 2>/dev/null | grep -Eq '"sqs": *"(available|running)"'; }

start() {
  if up; then echo "localstack: already answering on 127.0.0.1:${port}" >&2; return 0; fi
  install
  mkdir -p "$root/.cache/localstack-fs"
  echo "localstack: starting on 127.0.0.1:${port} (log: .cache/localstack.log)" >&2
  env OVERRIDE_IN_DOCKER=0 SERVICES=sqs EAGER_SERVICE_LOADING=1 GATEWAY_LISTEN="127.0.0.1:${port}" \
    LOCALSTACK_HOST="127.0.0.1:${port}" SQS_ENDPOINT_STRATEGY=path DNS_ADDRESS=0 \
    SKIP_SSL_CERT_DOWNLOAD=1 DISABLE_EVENTS=1 SQS_DISABLE_CLOUDWATCH_METRICS=1 \
    FILESYSTEM_ROOT="$root/.cache/localstack-fs" \
    nohup "$venv/bin/python" -m localstack.runtime.main >"$log" 2>&1 &
  echo $! >"$pidfile"
  wait_ready localstack "$pidfile" "$log" 60
}

stop() { stop_pidfile "$pidfile"; }

case "${1:-start}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 install|start|stop" >&2; exit 2 ;;
esac
