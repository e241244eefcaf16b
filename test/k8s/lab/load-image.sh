#!/usr/bin/env bash
# Puts $IMAGE (built by app-image.sh into podman's store) into the node's containerd, where pods with
# imagePullPolicy Never find it. Skipped when containerd already holds that tag.
set -euo pipefail
source "$(dirname "$0")/env.sh"
[ -n "${IMAGE:-}" ] || die "IMAGE is not set"
ctr_() { ctr --address "$CONTAINERD_SOCK" -n k8s.io "$@"; }
if ctr_ images ls -q | grep -qx "$IMAGE"; then log "containerd has $IMAGE"; exit 0; fi
archive=$K8S_LAB_WORK/app-image.tar
rm -f "$archive"
podman save -q --format docker-archive -o "$archive" "$IMAGE"
ctr_ images import "$archive" >/dev/null
rm -f "$archive"
ctr_ images ls -q | grep -qx "$IMAGE" || die "containerd did not take $IMAGE"
log "imported $IMAGE into containerd"
