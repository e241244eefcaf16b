#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks for the lab (apt), quietly and only when missing:
# podman + buildah (image build), runc, debootstrap (base image), containerd (the node's runtime),
# containernetworking-plugins (CNI bridge), socat (SQS relay), conntrack + iptables (kube-proxy), ethtool.
set -euo pipefail
source "$(dirname "$0")/env.sh"
[ "$(id -u)" = 0 ] || die "the lab needs root (containers, bridges, iptables): run npm run test:k8s as root"
pkgs=(podman buildah runc debootstrap containerd containernetworking-plugins socat conntrack iptables ethtool openssl curl)
missing=()
for p in "${pkgs[@]}"; do
  [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" == *'install ok installed'* ]] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then log "apt packages present"; exit 0; fi
command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get: install them with your package manager"
log "apt-get install ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null || die "apt-get update failed"
apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$LOGS/apt.log" 2>&1 \
  || die "apt-get install ${missing[*]} failed: $(tail -5 "$LOGS/apt.log")"
# Debian starts the containerd service on install; the lab runs its own (own socket, root and state)
# and leaves that one alone.
log "installed ${missing[*]}"
