#!/usr/bin/env bash
# The lab's dynamic volume provisioner: rancher/local-path-provisioner (what k3s ships), so that a
# PersistentVolumeClaim without a storageClassName gets a volume as it would on a managed cluster.
#   provisioner.sh build   go install github.com/rancher/local-path-provisioner@$LPP_VERSION into
#                          $K8S_LAB_CACHE (skipped when there; cold ~2 min on 2 cores, from the Go module proxy)
#   provisioner.sh start   runs it on the host with the lab's admin kubeconfig (pid in $RUN, stopped by stop.sh),
#                          with a default StorageClass `local-path`. Volumes are directories under
#                          $K8S_LAB_WORK/volumes on the node; the helper pod that makes and removes them runs
#                          $IMAGE (the app image, already in the node's containerd: nothing is pulled).
set -euo pipefail
source "$(dirname "$0")/env.sh"
lpp=$LPP_BIN/local-path-provisioner
ns=local-path-storage

build() {
  if [ -x "$lpp" ]; then log "local-path-provisioner $LPP_VERSION present"; return 0; fi
  command -v go >/dev/null || die "Go is needed to build local-path-provisioner (https://go.dev/dl)"
  local start=$SECONDS
  rm -rf "$LPP_BIN.tmp" && mkdir -p "$LPP_BIN.tmp"
  GOBIN=$LPP_BIN.tmp CGO_ENABLED=0 GOFLAGS=-mod=mod $NICE go install -trimpath -ldflags "-s -w" \
    "github.com/rancher/local-path-provisioner@$LPP_VERSION" || die "go install local-path-provisioner@$LPP_VERSION failed"
  rm -rf "$LPP_BIN" && mv "$LPP_BIN.tmp" "$LPP_BIN"
  log "local-path-provisioner $LPP_VERSION built in $((SECONDS - start))s"
}

start() {
  [ -n "${IMAGE:-}" ] || die "IMAGE (the helper pod's image, present in the node's containerd) is not set"
  [ -x "$lpp" ] || die "no $lpp: run provisioner.sh build first"
  local conf=$K8S_LAB_WORK/local-path
  mkdir -p "$conf" "$K8S_LAB_WORK/volumes"
  cat > "$conf/config.json" <<JSON
{"nodePathMap": [{"node": "DEFAULT_PATH_FOR_NON_LISTED_NODES", "paths": ["$K8S_LAB_WORK/volumes"]}]}
JSON
  # The helper runs as root (it makes and removes directories under a root-owned path); the command and
  # the scripts come from the provisioner.
  cat > "$conf/helper-pod.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: helper-pod
spec:
  automountServiceAccountToken: false
  containers:
    - name: helper-pod
      image: $IMAGE
      imagePullPolicy: Never
      securityContext:
        runAsUser: 0
        runAsGroup: 0
YAML
  kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Namespace
metadata: {name: $ns}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: local-path-provisioner-service-account, namespace: $ns}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: local-path-config, namespace: $ns}
data:
  setup: |-
    #!/bin/sh
    set -eu
    mkdir -m 0777 -p "\$VOL_DIR"
  teardown: |-
    #!/bin/sh
    set -eu
    rm -rf "\$VOL_DIR"
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: local-path
  annotations: {storageclass.kubernetes.io/is-default-class: "true"}
provisioner: rancher.io/local-path
volumeBindingMode: WaitForFirstConsumer
reclaimPolicy: Delete
YAML
  # A helper image changes with each app build: restart the provisioner when it is not the one running.
  if alive local-path-provisioner && [ "$(cat "$RUN/local-path-provisioner.image" 2>/dev/null)" != "$IMAGE" ]; then
    kill "$(cat "$RUN/local-path-provisioner.pid")"; sleep 1; rm -f "$RUN/local-path-provisioner.pid"
  fi
  start_bg local-path-provisioner "$lpp" --debug start --kubeconfig "$KUBECONFIG" --namespace "$ns" \
    --provisioner-name rancher.io/local-path --helper-image "$IMAGE" --config "$conf/config.json" \
    --helper-pod-file "$conf/helper-pod.yaml" --service-account-name local-path-provisioner-service-account
  echo "$IMAGE" > "$RUN/local-path-provisioner.image"
  sleep 2
  alive local-path-provisioner || die "local-path-provisioner exited: $(tail -5 "$LOGS/local-path-provisioner.log")"
  log "local-path-provisioner running; default StorageClass local-path -> $K8S_LAB_WORK/volumes"
}

case "${1:-}" in
  build) build ;;
  start) start ;;
  *) die "usage: provisioner.sh build|start" ;;
esac
