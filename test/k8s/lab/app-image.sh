#!/usr/bin/env bash
# Builds the repo's Dockerfile, unchanged, with podman (buildah inside, runc, host network for npm ci) on the
# base image from base-image.sh, and prints the image's name on stdout: localhost/invoice-webhook:lab-<id>.
# npm inside the build reaches the registry the host uses: a build-time-only npm config (registry= and
# cafile= the host's CA bundle, for egress proxies that present their own CA) is bind-mounted as npm's global
# config. Nothing of it lands in a layer. The build log is $LOGS/app-image.log.
set -euo pipefail
source "$(dirname "$0")/env.sh"
exec 3>&1 1>&2
node_image=$("$LAB_DIR/base-image.sh")
cfg=$K8S_LAB_WORK/build-npmrc
ca_bundle=/etc/ssl/certs/ca-certificates.crt
{ echo "registry=$(npm config get registry)"; [ -f "$ca_bundle" ] && echo "cafile=/etc/ssl/host-ca-bundle.crt"; } > "$cfg"
mounts=(-v "$cfg:/usr/local/etc/npmrc:ro")
[ -f "$ca_bundle" ] && mounts+=(-v "$ca_bundle:/etc/ssl/host-ca-bundle.crt:ro")
start=$SECONDS
$NICE podman build --runtime "$RUNC" --network host --layers --build-arg "NODE_IMAGE=$node_image" \
  "${mounts[@]}" -t localhost/invoice-webhook:lab-build -f "$REPO_ROOT/Dockerfile" "$REPO_ROOT" >"$LOGS/app-image.log" 2>&1 \
  || die "podman build failed: $(tail -15 "$LOGS/app-image.log")"
id=$(podman image inspect --format '{{.Id}}' localhost/invoice-webhook:lab-build)
image=localhost/invoice-webhook:lab-${id:0:12}
podman tag localhost/invoice-webhook:lab-build "$image"
# Earlier lab builds of the image: untagged, so the store keeps one.
old=$(podman images --format '{{.Repository}}:{{.Tag}}' localhost/invoice-webhook | grep -E ':lab-[0-9a-f]{12}$' | grep -vx "$image" || true)
[ -z "$old" ] || podman rmi $old >/dev/null 2>&1 || true
log "image $image built on $node_image in $((SECONDS - start))s ($(podman image inspect --format '{{.Size}}' "$image" | awk '{printf "%d MB", $1/1e6}'))"
echo "$image" >&3
