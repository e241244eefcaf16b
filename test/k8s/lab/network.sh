#!/usr/bin/env bash
# The host side of the lab's network (idempotent). The lab talks only to loopback and to addresses it creates:
#  1. bridge $LAB_BRIDGE holding HOST_IP/32: the node address and the API server's advertise address, so the
#     lab never uses or advertises the machine's own interface (refused when HOST_IP sits on the default route's);
#  2. the SQS relay HOST_IP:$SQS_RELAY_PORT -> LocalStack on loopback (socat, pid in $RUN/sqs-relay.pid), so
#     pods reach LocalStack through an address of the lab;
#  3. the egress guard: iptables REJECT rules commented $GUARD_COMMENT. Pods may talk to each other and to the
#     host (that is INPUT, not FORWARD); anything they send elsewhere is refused. A pod that walks the AWS
#     credential chain tries the instance-metadata address 169.254.169.254: it never leaves the machine. Host
#     traffic to the ClusterIP range that kube-proxy did not translate is refused too (it would follow the
#     default route out).
# stop.sh removes the rules, stops the relay and restores net.ipv4.ip_forward (the CNI bridge turns it on).
set -euo pipefail
source "$(dirname "$0")/env.sh"

addrs=$(ip -4 -o addr show | awk '{print $4}')
if ! grep -qx "$HOST_IP/[0-9]*" <<<"$addrs"; then
  ip link show "$LAB_BRIDGE" >/dev/null 2>&1 || { ip link add "$LAB_BRIDGE" type bridge; log "created bridge $LAB_BRIDGE"; }
  ip addr add "$HOST_IP/32" dev "$LAB_BRIDGE"
fi
ip link set "$LAB_BRIDGE" up
# The first match only, chosen inside awk (which reads to the end): `| head -1` can SIGPIPE the writer.
dev=$(ip -4 -o addr show | awk -v ip="$HOST_IP" '{split($4,a,"/"); if (a[1]==ip && !n++) print $2}')
defdev=$(ip -4 route show default | awk '{for(i=1;i<=NF;i++) if($i=="dev" && !n++) print $(i+1)}')
[ -z "$defdev" ] || [ "$dev" != "$defdev" ] || die "HOST_IP $HOST_IP is on $dev, the default route's interface: use a lab address such as 10.250.0.1"
[ -f "$RUN/ip_forward.orig" ] || cat /proc/sys/net/ipv4/ip_forward > "$RUN/ip_forward.orig"
# The node's components add an (empty) KUBE-FIREWALL chain with jumps from INPUT and OUTPUT. Note whether the
# host had one before, so stop.sh removes only the lab's.
for ipt in iptables ip6tables; do
  [ -f "$RUN/$ipt-kube-firewall.lab" ] || [ -f "$RUN/$ipt-kube-firewall.host" ] || {
    if $ipt -S KUBE-FIREWALL >/dev/null 2>&1; then touch "$RUN/$ipt-kube-firewall.host"; else touch "$RUN/$ipt-kube-firewall.lab"; fi
  }
done

if ! alive sqs-relay; then
  reachable "${LOCALSTACK_TARGET%:*}" "${LOCALSTACK_TARGET#*:}" || die "LocalStack does not answer on $LOCALSTACK_TARGET: start it with .ci/localstack.sh start"
  ! reachable "$HOST_IP" "$SQS_RELAY_PORT" || die "$HOST_IP:$SQS_RELAY_PORT is taken by a process the lab did not start"
  start_bg sqs-relay socat "TCP-LISTEN:$SQS_RELAY_PORT,bind=$HOST_IP,fork,reuseaddr" "TCP:$LOCALSTACK_TARGET"
  wait_for 10 "the SQS relay on $HOST_IP:$SQS_RELAY_PORT" reachable "$HOST_IP" "$SQS_RELAY_PORT"
fi

guard() { iptables -C "$@" 2>/dev/null || iptables -I "$@"; }
guard FORWARD -s "$POD_SUBNET" ! -d "$POD_SUBNET" -m comment --comment "$GUARD_COMMENT" -j REJECT
guard OUTPUT -d "$SERVICE_CIDR" -m comment --comment "$GUARD_COMMENT" -j REJECT
log "network: $HOST_IP on $dev, SQS relay $HOST_IP:$SQS_RELAY_PORT -> $LOCALSTACK_TARGET, egress guard on"
