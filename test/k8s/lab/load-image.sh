#!/usr/bin/env bash
# Puts $IMAGE (built by app-image.sh into podman's store) into the node's containerd, where pods with
# imagePullPolicy Never find it. Skipped when containerd already holds that tag.
set -euo pipefail
source "$(dirname "$0")/env.sh"
[ -n "${IMAGE:-}" ] || die "IMAGE is not set"
ctr_() { ctr --address "$CONTAINERD_SOCK" -n k8s.io "$@"; }
# The list is read whole first: `ctr ... | grep -q` fails under pipefail when grep stops reading early.
has_image() { local names; names=$(ctr_ images ls -q); grep -qx "$IMAGE" <<<"$names"; }
if has_image; then log "containerd has $IMAGE"; exit 0; fi
archive=$K8S_LAB_WORK/app-image.tar
rm -f "$archive"
podman save -q --format docker-archive -o "$archive" "$IMAGE"
ctr_ images import "$archive" >/dev/null
rm -f "$archive"
has_image || die "containerd did not take $IMAGE"
for old in $(ctr_ images ls -q | grep -E '^localhost/invoice-webhook:lab-[0-9a-f]{12}$' | grep -vx "$IMAGE" || true); do
  ctr_ images rm "$old" >/dev/null
done
log "imported $IMAGE into containerd"
