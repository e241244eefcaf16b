#!/usr/bin/env bash
# The pod sandbox ("pause") image normally comes from registry.k8s.io, which these machines cannot reach: a
# static Go program that sleeps, reaps zombies and exits on SIGINT/SIGTERM, in a FROM-scratch image, saved as
# an archive containerd imports ($K8S_LAB_CACHE/pause.tar).
set -euo pipefail
source "$(dirname "$0")/env.sh"
out=$K8S_LAB_CACHE/pause.tar
[ -s "$out" ] && { log "pause image present"; exit 0; }
work=$K8S_LAB_WORK/pause && rm -rf "$work" && mkdir -p "$work"
(cd "$LAB_DIR/go/pause" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$work/pause" .)
ctr=$(buildah from scratch)
buildah copy "$ctr" "$work/pause" /pause >/dev/null
buildah config --entrypoint '["/pause"]' --user 65535:65535 "$ctr"
buildah commit -q --rm "$ctr" "$PAUSE_IMAGE" >/dev/null
podman save -q --format docker-archive -o "$out.tmp" "$PAUSE_IMAGE" && mv "$out.tmp" "$out"
log "pause image built"
