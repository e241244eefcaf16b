#!/usr/bin/env bash
# Starts the node: Debian's containerd (its own socket, root and state; the host's containerd, if any, is left
# alone) with runc, the CNI bridge $CNI_BRIDGE on $POD_SUBNET (no ipMasq/portmap: no host NAT rules), the
# kubelet, and kube-proxy in iptables mode so Service ClusterIPs answer (stop.sh runs kube-proxy --cleanup).
set -euo pipefail
source "$(dirname "$0")/env.sh"
mkdir -p "$K8S_LAB_WORK/containerd" "$K8S_LAB_WORK/cni/net.d" "$K8S_LAB_WORK/kubelet-root" "$K8S_LAB_WORK/manifests"
[ -x "$CNI_BIN/bridge" ] || die "no CNI bridge plugin in $CNI_BIN (apt-get install containernetworking-plugins)"

write_if_changed "$K8S_LAB_WORK/containerd/config.toml" <<TOML
version = 2
root = "$K8S_LAB_WORK/containerd/root"
state = "$CONTAINERD_STATE"
[grpc]
  address = "$CONTAINERD_SOCK"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  # Root may lack CAP_SYS_RESOURCE (as in some VMs): runc then cannot lower a sandbox's oom_score_adj to -998
  # and fails with "can't get final child's PID from pipe: EOF". Clamp scores to containerd's own.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = "$RUNC"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$CNI_BIN"
    conf_dir = "$K8S_LAB_WORK/cni/net.d"
TOML
write_if_changed "$K8S_LAB_WORK/cni/net.d/10-lab.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "invoice-k8s-lab",
  "plugins": [
    {"type": "bridge", "bridge": "$CNI_BRIDGE", "isGateway": true, "ipMasq": false, "hairpinMode": true,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": "$POD_SUBNET"}]], "routes": [{"dst": "0.0.0.0/0"}],
              "dataDir": "$K8S_LAB_WORK/cni/ipam"}}
  ]
}
JSON
if ! alive containerd; then rm -f "$CONTAINERD_SOCK"; fi
start_bg containerd containerd --config "$K8S_LAB_WORK/containerd/config.toml"
wait_for 60 containerd ctr --address "$CONTAINERD_SOCK" version
ctr --address "$CONTAINERD_SOCK" -n k8s.io images import "$K8S_LAB_CACHE/pause.tar" >/dev/null

write_if_changed "$K8S_LAB_WORK/kubelet-config.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# Hosts with cgroup v1 (or a hybrid layout): allowed up to Kubernetes 1.34 with this switch.
failCgroupV1: false
cgroupDriver: cgroupfs
failSwapOn: false
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
staticPodPath: $K8S_LAB_WORK/manifests
address: $HOST_IP
port: 10250
healthzBindAddress: 127.0.0.1
healthzPort: 10248
readOnlyPort: 0
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: Webhook}
tlsCertFile: $PKI/kubelet.crt
tlsPrivateKeyFile: $PKI/kubelet.key
clusterDomain: cluster.local
resolvConf: /etc/resolv.conf
podCIDR: $POD_SUBNET
serializeImagePulls: false
# Leave the host's iptables alone (the default adds KUBE-FIREWALL jumps to INPUT/OUTPUT).
makeIPTablesUtilChains: false
imageGCHighThresholdPercent: 100
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%"}
YAML
start_bg kubelet kubelet --config="$K8S_LAB_WORK/kubelet-config.yaml" --kubeconfig="$K8S_LAB_WORK/kubelet.kubeconfig" \
  --root-dir="$K8S_LAB_WORK/kubelet-root" --hostname-override="$NODE_NAME" --node-ip="$HOST_IP" -v=1
node_ready() { [ "$(kubectl get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]; }
wait_for 120 "node $NODE_NAME Ready" node_ready
kubectl uncordon "$NODE_NAME" >/dev/null

write_if_changed "$K8S_LAB_WORK/kube-proxy-config.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $K8S_LAB_WORK/kube-proxy.kubeconfig}
mode: iptables
clusterCIDR: $CLUSTER_CIDR
hostnameOverride: $NODE_NAME
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
# No conntrack sysctl writes and no route_localnet: the host's settings stay as they are.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
iptables: {localhostNodePorts: false}
# NodePorts (none here) only on the lab's node address, never on the machine's own interfaces.
nodePortAddresses: [$HOST_IP/32]
YAML
start_bg kube-proxy kube-proxy --config="$K8S_LAB_WORK/kube-proxy-config.yaml"
wait_for 60 kube-proxy curl -fsS http://127.0.0.1:10256/healthz
log "node $NODE_NAME Ready, kube-proxy healthy"
