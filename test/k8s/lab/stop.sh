#!/usr/bin/env bash
# Stops everything the lab started, by the pids recorded in $RUN and nothing else: pods first (so the kubelet
# tears down their sandboxes, network namespaces and IPs), then the node, kube-proxy (--cleanup removes its
# KUBE-* chains), containerd, the control plane and the SQS relay. Then the egress guard's rules, the CNI
# bridge, and net.ipv4.ip_forward as it was. The lab bridge $LAB_BRIDGE with HOST_IP stays (it carries nothing
# without the lab; `ip link del k8slab0` removes it). Safe to run twice.
set -uo pipefail
source "$(dirname "$0")/env.sh"

stop() {
  local n=$1 p
  [ -f "$RUN/$n.pid" ] || return 0
  p=$(cat "$RUN/$n.pid")
  if kill -0 "$p" 2>/dev/null; then
    kill "$p"
    for _ in $(seq 1 40); do kill -0 "$p" 2>/dev/null || break; sleep 0.25; done
    kill -0 "$p" 2>/dev/null && kill -9 "$p"
    log "stopped $n (pid $p)"
  fi
  rm -f "$RUN/$n.pid"
}
tasks() { ctr --address "$CONTAINERD_SOCK" -n k8s.io tasks ls -q 2>/dev/null; }

if alive kube-apiserver && alive kubelet; then
  kubectl cordon "$NODE_NAME" >/dev/null 2>&1
  for ns in $(kubectl get ns -o jsonpath='{.items[*].metadata.name}' 2>/dev/null); do
    kubectl -n "$ns" delete deploy,rs,sts,ds,job --all --wait=false >/dev/null 2>&1
  done
  kubectl delete pods --all -A --grace-period=2 --timeout=60s >/dev/null 2>&1
  for _ in $(seq 1 60); do [ -z "$(tasks)" ] && break; sleep 1; done
fi
# The provisioner last among what talks to the API server from the host: the namespaces' claims, deleted
# above, had their volumes removed by its helper pods.
stop local-path-provisioner
rm -f "$RUN/local-path-provisioner.image"
stop kubelet
if [ -f "$RUN/kube-proxy.pid" ]; then
  stop kube-proxy
  kube-proxy --cleanup >/dev/null 2>&1 || true
fi
if alive containerd; then
  for t in $(tasks); do ctr --address "$CONTAINERD_SOCK" -n k8s.io tasks kill -s SIGKILL "$t" >/dev/null 2>&1; done
  sleep 1
  for t in $(tasks); do ctr --address "$CONTAINERD_SOCK" -n k8s.io tasks rm -f "$t" >/dev/null 2>&1; done
fi
stop containerd
for n in kube-scheduler kube-controller-manager kube-apiserver etcd; do stop "$n"; done
# The relays the lab and its tests started (sqs-relay and any test relay recorded as relay-*.pid).
for f in "$RUN"/sqs-relay.pid "$RUN"/relay-*.pid; do [ -f "$f" ] && stop "$(basename "$f" .pid)"; done

while iptables -D FORWARD -s "$POD_SUBNET" ! -d "$POD_SUBNET" -m comment --comment "$GUARD_COMMENT" -j REJECT 2>/dev/null; do :; done
while iptables -D OUTPUT -d "$SERVICE_CIDR" -m comment --comment "$GUARD_COMMENT" -j REJECT 2>/dev/null; do :; done
# Pod network namespaces the kubelet could not tear down (only when no other containerd runs on the host:
# then no cni-* namespace can be anyone else's).
if ! pgrep -x containerd >/dev/null; then
  for ns in /run/netns/cni-*; do [ -e "$ns" ] && { umount "$ns" 2>/dev/null; rm -f "$ns"; }; done
fi
ip link show "$CNI_BRIDGE" >/dev/null 2>&1 && ip link del "$CNI_BRIDGE"
findmnt -rn -o TARGET | grep -E "^($K8S_LAB_WORK|/run/invoice-k8s-lab)/" | sort -r | while read -r m; do
  umount "$m" 2>/dev/null || umount -l "$m"
done
rm -rf "$K8S_LAB_WORK/cni/ipam"
for ipt in iptables ip6tables; do
  if [ -f "$RUN/$ipt-kube-firewall.lab" ]; then
    while $ipt -D INPUT -j KUBE-FIREWALL 2>/dev/null; do :; done
    while $ipt -D OUTPUT -j KUBE-FIREWALL 2>/dev/null; do :; done
    $ipt -F KUBE-FIREWALL 2>/dev/null && $ipt -X KUBE-FIREWALL 2>/dev/null
    rm -f "$RUN/$ipt-kube-firewall.lab"
  fi
  rm -f "$RUN/$ipt-kube-firewall.host"
done
if [ -f "$RUN/ip_forward.orig" ]; then
  cat "$RUN/ip_forward.orig" > /proc/sys/net/ipv4/ip_forward && rm -f "$RUN/ip_forward.orig"
fi
log "stopped"
