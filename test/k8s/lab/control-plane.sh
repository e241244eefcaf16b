#!/usr/bin/env bash
# Starts the control plane from $BIN: etcd (plain HTTP on loopback), kube-apiserver (:6443, advertising
# HOST_IP), kube-controller-manager and kube-scheduler. A self-signed PKI made with openssl ($PKI) and
# kubeconfigs for each component. Pids in $RUN.
set -euo pipefail
source "$(dirname "$0")/env.sh"
mkdir -p "$PKI" "$K8S_LAB_WORK/etcd-data"

ca() { # name CN
  [ -f "$PKI/$1.crt" ] && return 0
  openssl genrsa -out "$PKI/$1.key" 2048 2>/dev/null
  openssl req -x509 -new -key "$PKI/$1.key" -subj "/CN=$2" -days 30 -sha256 -out "$PKI/$1.crt" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature"
}
cert() { # name CN O SANs [ca]
  local n=$1 cn=$2 o=$3 sans=$4 signer=${5:-ca}
  [ -f "$PKI/$n.crt" ] && return 0
  openssl genrsa -out "$PKI/$n.key" 2048 2>/dev/null
  local subj="/CN=$cn"; [ -n "$o" ] && subj="/O=$o/CN=$cn"
  openssl req -new -key "$PKI/$n.key" -subj "$subj" -out "$PKI/$n.csr"
  { echo "basicConstraints=CA:FALSE"; echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=serverAuth,clientAuth"; [ -z "$sans" ] || echo "subjectAltName=$sans"; } > "$PKI/$n.ext"
  openssl x509 -req -in "$PKI/$n.csr" -CA "$PKI/$signer.crt" -CAkey "$PKI/$signer.key" -CAcreateserial \
    -days 30 -sha256 -extfile "$PKI/$n.ext" -out "$PKI/$n.crt" 2>/dev/null
}
ca ca invoice-k8s-lab-ca
ca front-proxy-ca invoice-k8s-lab-front-proxy-ca
cert apiserver kube-apiserver "" "DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost,IP:127.0.0.1,IP:$API_SVC_IP,IP:$HOST_IP"
cert apiserver-kubelet-client kube-apiserver-kubelet-client system:masters ""
cert admin kubernetes-admin system:masters ""
cert controller-manager system:kube-controller-manager "" ""
cert scheduler system:kube-scheduler "" ""
cert kube-proxy system:kube-proxy "" ""
cert kubelet "system:node:$NODE_NAME" system:nodes "DNS:$NODE_NAME,DNS:localhost,IP:127.0.0.1,IP:$HOST_IP"
cert front-proxy-client front-proxy-client "" "" front-proxy-ca
[ -f "$PKI/sa.key" ] || { openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null; openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null; }
for n in admin controller-manager scheduler kubelet kube-proxy; do
  k=$K8S_LAB_WORK/$n.kubeconfig
  [ -f "$k" ] && continue
  kubectl config set-cluster lab --server=https://127.0.0.1:6443 --certificate-authority="$PKI/ca.crt" --embed-certs --kubeconfig="$k" >/dev/null
  kubectl config set-credentials "$n" --client-certificate="$PKI/$n.crt" --client-key="$PKI/$n.key" --embed-certs --kubeconfig="$k" >/dev/null
  kubectl config set-context lab --cluster=lab --user="$n" --kubeconfig="$k" >/dev/null
  kubectl config use-context lab --kubeconfig="$k" >/dev/null
done

start_bg etcd etcd --name lab --data-dir "$K8S_LAB_WORK/etcd-data" \
  --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
  --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
  --initial-cluster lab=http://127.0.0.1:2380 --listen-metrics-urls http://127.0.0.1:2381
wait_for 60 etcd curl -fsS http://127.0.0.1:2379/health

start_bg kube-apiserver kube-apiserver --etcd-servers=http://127.0.0.1:2379 \
  --secure-port=6443 --bind-address=127.0.0.1 --advertise-address="$HOST_IP" --service-cluster-ip-range="$SERVICE_CIDR" \
  --authorization-mode=Node,RBAC --client-ca-file="$PKI/ca.crt" \
  --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
  --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
  --kubelet-preferred-address-types=InternalIP,Hostname \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
  --enable-admission-plugins=NodeRestriction \
  --requestheader-client-ca-file="$PKI/front-proxy-ca.crt" --requestheader-allowed-names=front-proxy-client \
  --requestheader-username-headers=X-Remote-User --requestheader-group-headers=X-Remote-Group \
  --requestheader-extra-headers-prefix=X-Remote-Extra- \
  --proxy-client-cert-file="$PKI/front-proxy-client.crt" --proxy-client-key-file="$PKI/front-proxy-client.key"
wait_for 120 "the API server" kubectl get --raw /readyz

start_bg kube-controller-manager kube-controller-manager --kubeconfig="$K8S_LAB_WORK/controller-manager.kubeconfig" \
  --authentication-kubeconfig="$K8S_LAB_WORK/controller-manager.kubeconfig" \
  --authorization-kubeconfig="$K8S_LAB_WORK/controller-manager.kubeconfig" \
  --bind-address=127.0.0.1 --leader-elect=false \
  --service-account-private-key-file="$PKI/sa.key" --root-ca-file="$PKI/ca.crt" \
  --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
  --use-service-account-credentials=true --service-cluster-ip-range="$SERVICE_CIDR" \
  --allocate-node-cidrs=true --cluster-cidr="$CLUSTER_CIDR" --node-cidr-mask-size=24
start_bg kube-scheduler kube-scheduler --kubeconfig="$K8S_LAB_WORK/scheduler.kubeconfig" \
  --authentication-kubeconfig="$K8S_LAB_WORK/scheduler.kubeconfig" --authorization-kubeconfig="$K8S_LAB_WORK/scheduler.kubeconfig" \
  --bind-address=127.0.0.1 --leader-elect=false
wait_for 60 "the default service account" kubectl -n default get serviceaccount default
log "control plane ready ($(kubectl version -o json | sed -n 's/.*"gitVersion": *"\([^"]*\)".*/\1/p' | tail -1))"
