#!/usr/bin/env bash
# Installs the npm dependencies when they are missing or older than the lockfile (fresh clone).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x node_modules/.bin/tsc ] || [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "npm: installing dependencies (npm ci)" >&2
  npm ci --no-audit --no-fund
fi
