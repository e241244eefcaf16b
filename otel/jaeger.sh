#!/usr/bin/env bash
# Builds (once) and runs Jaeger v2 on 127.0.0.1 with in-memory storage (config: otel/jaeger.yaml).
#   otel/jaeger.sh install   build .cache/bin/jaeger from the pinned tool module otel/jaeger-tool
#   otel/jaeger.sh start     install if needed; start in the background unless something answers
#                            on 127.0.0.1:16686; wait until the query API answers
#   otel/jaeger.sh stop      stop the one this script started
# Why a tool module: `go install github.com/jaegertracing/jaeger/cmd/jaeger@v1.76.0` is refused
# (its go.mod has replace directives) and the v2.x pseudo-versions are not served by the proxy
# here. otel/jaeger-tool/go.mod pins v1.76.0 (which builds the v2 binary) and go.sum locks the graph.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/.cache/bin/jaeger"
pidfile="$root/.cache/jaeger.pid"
log="$root/.cache/jaeger.log"
query="http://127.0.0.1:16686"
# shellcheck source=../.ci/background.sh
. "$root/.ci/background.sh"

install() {
  if [ -x "$bin" ]; then return 0; fi
  command -v go >/dev/null || { echo "jaeger: Go is needed to build Jaeger (https://go.dev/dl)" >&2; return 1; }
  mkdir -p "$root/.cache/bin"
  echo "jaeger: building .cache/bin/jaeger from otel/jaeger-tool (first build: several minutes on 2 cores)" >&2
  # Build to a temporary name of its own first, so an interrupted build never leaves a half-written binary
  # and two builds into a shared .cache never race on one file.
  (cd "$root/otel/jaeger-tool" && with_progress jaeger go build -o "$bin.tmp.$$" github.com/jaegertracing/jaeger/cmd/jaeger)
  mv "$bin.tmp.$$" "$bin"
}

up() { curl -fsS -o /dev/null "$query/api/services" 2>/dev/null; }

start() {
  if up; then echo "jaeger: already answering on $query" >&2; return 0; fi
  install
  echo "jaeger: starting on 127.0.0.1 (OTLP 4317/4318, query $query; log: .cache/jaeger.log)" >&2
  nohup "$bin" --config "file:$root/otel/jaeger.yaml" >"$log" 2>&1 &
  echo $! >"$pidfile"
  wait_ready jaeger "$pidfile" "$log" 30
}

stop() { stop_pidfile "$pidfile"; }

case "${1:-start}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 install|start|stop" >&2; exit 2 ;;
esac
