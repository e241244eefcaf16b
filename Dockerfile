# syntax=docker/dockerfile:1
# Invoice webhook receiver. Build:  docker build -t invoice-webhook:0.1.0 .
# Run (read-only root filesystem, as in the Helm chart):
#   docker run --rm -p 3000:3000 --read-only --tmpfs /tmp -v invoice-dead-letters:/var/lib/invoice-webhook \
#     -e SQS_QUEUE_URL=https://sqs.us-east-1.amazonaws.com/123456789012/invoices invoice-webhook:0.1.0
# `docker stop` waits 10 s by default, less than the 20 s drain budget: use `docker stop -t 30`.

# Node 24 LTS, the same release as package.json's "node" devDependency (what the tests run on);
# test/live/helm/dockerfile.test.ts keeps the two in step. Pin a digest (node:...@sha256:...) in your registry if you mirror it.
ARG NODE_IMAGE=node:24.21.0-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Dev dependencies are needed for tsc. --ignore-scripts: compiling needs no install script, and the
# "node" devDependency's script would only download a second Node binary.
RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
# Compile src only: tests and benchmarks are not shipped.
RUN printf '{"extends":"./tsconfig.json","include":["src/**/*.ts"]}' > tsconfig.image.json \
 && node node_modules/typescript/bin/tsc -p tsconfig.image.json

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    DEAD_LETTER_PATH=/var/lib/invoice-webhook/dead-letter.jsonl
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only, owned by root: the service cannot modify its own code.
# The dead-letter directory is the one place the service writes; mount a volume there.
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && mkdir -p /var/lib/invoice-webhook \
 && chown 1000:1000 /var/lib/invoice-webhook
# main.js reads ../../package.json (version) and ../../../config/default.json from dist/src.
COPY config/default.json ./config/default.json
COPY --from=build /app/dist/src ./dist/src
# The image's "node" user, by number so Kubernetes' runAsNonRoot can verify it is not root.
USER 1000:1000
EXPOSE 3000
# Exec form, node as PID 1: SIGTERM reaches the service directly (npm would not pass it on reliably),
# and the service exits by itself once drained. It starts no child processes, so nothing needs reaping.
# The preload starts the OpenTelemetry SDK before any instrumented module loads.
# --max-semi-space-size=4 (MB): V8's default young generation grows to tens of MB under load; 4 MB keeps
# RSS with a full default buffer at 155–160 MB for roughly 10–15% more CPU per request
# (bench/results/2026-11-25-inline-sender.md, bench/results/2026-11-29-memory.md; docs/operations.md, Memory).
CMD ["node", "--enable-source-maps", "--max-semi-space-size=4", "--require", "./dist/src/telemetry/preload.js", "dist/src/main.js"]
