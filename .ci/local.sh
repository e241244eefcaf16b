#!/usr/bin/env bash
# Quick start: installs what is missing, starts LocalStack (SQS) on 127.0.0.1:4566, creates the
# queue `invoices`, builds and runs the service on http://127.0.0.1:3000 in the foreground.
# Ctrl-C drains and stops the service; LocalStack keeps running (.ci/localstack.sh stop ends it).
#   .ci/local.sh            npm run local: as npm start runs it
#   .ci/local.sh --watch    npm run dev: the same, with tsc in watch mode beside it and node --watch
#                           restarting the service whenever its compiled files change
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash .ci/preflight.sh --local
bash .ci/ensure-node-deps.sh
npm run --silent build
bash .ci/localstack.sh start

queue=${QUEUE_NAME:-invoices}
queue_url=$(curl -fsS -X POST http://127.0.0.1:4566/ \
  -H 'Content-Type: application/x-amz-json-1.0' -H 'X-Amz-Target: AmazonSQS.CreateQueue' \
  -d "{\"QueueName\":\"${queue}\"}" | sed -E 's/.*"QueueUrl": *"([^"]+)".*/\1/')
echo "local: queue ready: ${queue_url}" >&2

export SQS_QUEUE_URL="$queue_url" SQS_ENDPOINT=http://127.0.0.1:4566 AWS_REGION=us-east-1
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-test} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-test}
export HOST=${HOST:-127.0.0.1} PORT=${PORT:-3000}
# Traces go to a local Jaeger when one is running (otel/jaeger.sh start); otherwise tracing is off.
if [ -z "${OTEL_SDK_DISABLED:-}" ]; then
  if curl -fsS -o /dev/null http://127.0.0.1:16686/api/services 2>/dev/null; then
    export OTEL_SDK_DISABLED=false OTEL_EXPORTER_OTLP_ENDPOINT=${OTEL_EXPORTER_OTLP_ENDPOINT:-http://127.0.0.1:4318}
  else
    export OTEL_SDK_DISABLED=true
  fi
fi

cat >&2 <<MSG

local: service starting on http://${HOST}:${PORT}  (tracing disabled: ${OTEL_SDK_DISABLED})
  send an invoice:
    curl -i -X POST http://127.0.0.1:${PORT}/webhooks/invoice -H 'Content-Type: application/json' \\
      -d '{"id":"inv_1MtHbELkdIwHu7ix","customer_id":"cus_NffrFeUfNV2Hib","status":"open","currency":"USD","amount_due":2500,"created_at":"2026-11-24T10:15:00Z","lines":[{"description":"Label purchase","quantity":5,"unit_amount":500}]}'
  read it back from the queue:
    curl -s -X POST http://127.0.0.1:4566/ -H 'Content-Type: application/x-amz-json-1.0' \\
      -H 'X-Amz-Target: AmazonSQS.ReceiveMessage' -d '{"QueueUrl":"${queue_url}","MessageAttributeNames":["All"],"WaitTimeSeconds":10}'

MSG
if [ "${1:-}" != --watch ]; then exec npm start; fi

# npm start's own node arguments (package.json), so dev runs what production runs.
read -r -a start_args <<<"$(node -p "require('./package.json').scripts.start.replace(/^node\s+/, '')")"
node_modules/.bin/tsc -p tsconfig.json --watch --preserveWatchOutput &
tsc_pid=$!
trap 'kill "$tsc_pid" 2>/dev/null || true' EXIT
echo "local: watching src/ (tsc --watch); the service restarts when a compiled file changes" >&2
node --watch "${start_args[@]}"
