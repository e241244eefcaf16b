#!/usr/bin/env bash
# Builds the cluster's binaries from the Go module proxy into $BIN (skipped when they are there):
# kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy, kubectl
# (k8s.io/kubernetes $K8S_VERSION, tool module go/kubernetes: every k8s.io staging module replaced by
# its published v0 release) and etcd + etcdctl ($ETCD_VERSION, tool module go/etcd).
# Cold: ~7 min on 2 cores, ~1 GB module cache, ~3.5 GB build cache. Warm: seconds.
set -euo pipefail
source "$(dirname "$0")/env.sh"
command -v go >/dev/null || die "Go is needed to build Kubernetes (https://go.dev/dl; Debian: apt-get install golang-go >= 1.24)"
want=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl etcd etcdctl)
missing=0
for b in "${want[@]}"; do [ -x "$BIN/$b" ] || missing=1; done
if [ $missing = 0 ]; then log "binaries present in $BIN"; exit 0; fi
mkdir -p "$BIN.tmp"
export CGO_ENABLED=0 GOFLAGS=-mod=readonly
minor=$(echo "$K8S_VERSION" | cut -d. -f2)
# The version the binaries report (helm and kubectl read it): without it they say v0.0.0.
V="-X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1"
V="$V -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"
V="$V -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION -X k8s.io/client-go/pkg/version.gitMajor=1"
V="$V -X k8s.io/client-go/pkg/version.gitMinor=$minor"
grep -q "k8s.io/kubernetes $K8S_VERSION" "$LAB_DIR/go/kubernetes/go.mod" || die "go/kubernetes/go.mod does not pin $K8S_VERSION"
start=$SECONDS
(cd "$LAB_DIR/go/kubernetes" && $NICE go build -trimpath -ldflags "-s -w $V" -o "$BIN.tmp/" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubelet \
  k8s.io/kubernetes/cmd/kube-proxy k8s.io/kubernetes/cmd/kubectl)
log "kubernetes $K8S_VERSION built in $((SECONDS - start))s"
start=$SECONDS
(cd "$LAB_DIR/go/etcd" && $NICE go build -trimpath -ldflags "-s -w" -o "$BIN.tmp/etcd" ./etcd \
  && $NICE go build -trimpath -ldflags "-s -w" -o "$BIN.tmp/etcdctl" go.etcd.io/etcd/etcdctl/v3)
log "etcd $ETCD_VERSION built in $((SECONDS - start))s"
rm -rf "$BIN" && mv "$BIN.tmp" "$BIN"
# Not `| head -1`: head exits after one line, kubectl gets SIGPIPE writing the next, and pipefail fails
# the script with 141 after a good build.
log "$("$BIN/kubectl" version --client 2>&1 | sed -n 1p)"
