#!/usr/bin/env bash
# Maintains a single-node cluster (single-node OpenShift) from a host OUTSIDE it: the recipe of
# docs/small-clusters.md#single-node-openshift. Pitstop refuses such a node (SingleNodeCluster): its API server and
# etcd run on the node, so a worker inside the cluster would go down with it.
#
#   1. record every VM's runStrategy in STATE_FILE (on this host: the cluster is about to go away), then
#   2. shut every VM down (runStrategy Halted) and wait until no VMI is left,
#   3. reboot the machine through its BMC (Redfish ComputerSystem.Reset), and see it go down,
#   4. wait for the API server to answer and the node to be Ready again,
#   5. restore every VM's recorded runStrategy (a Manual VM is started once, as Pitstop's restore does).
#
# Run again after a failure, it resumes: VMs already in STATE_FILE keep their recorded runStrategy.
# Environment (the BMC password never goes on a command line, where `ps` shows it):
#   KUBECONFIG     the cluster's kubeconfig (kubectl's usual variable)
#   NODE           the cluster's only node
#   BMC_URL        https://<bmc>, BMC_SYSTEM: the Redfish ComputerSystem id (e.g. 1, System.Embedded.1)
#   BMC_USER, BMC_PASSWORD
#   STATE_FILE     default ./<NODE>-vms.json
#   RESET_TYPE     default GracefulRestart (ForceRestart for a hung OS)
#   BMC_INSECURE=1 skip the BMC's TLS verification (self-signed BMC certificates)
#   TIMEOUT        seconds for each wait, default 1800
set -euo pipefail

: "${NODE:?the only node of the cluster}" "${BMC_URL:?}" "${BMC_SYSTEM:?}" "${BMC_USER:?}" "${BMC_PASSWORD:?}"
STATE_FILE=${STATE_FILE:-./$NODE-vms.json}
RESET_TYPE=${RESET_TYPE:-GracefulRestart}
TIMEOUT=${TIMEOUT:-1800}
VM=virtualmachines.kubevirt.io
VMI=virtualmachineinstances.kubevirt.io
say() { echo "maintain-single-node: $*" >&2; }
fail() {
  say "$*"
  exit 1
}

# 0. It is a single-node cluster, and every VMI has a VirtualMachine (a standalone VMI stopped is gone for good).
nodes=$(kubectl get nodes -o jsonpath='{.items[*].metadata.name}')
[ "$nodes" = "$NODE" ] || fail "the cluster's nodes are \"$nodes\", not just $NODE: use Pitstop itself"
standalone=$(kubectl get $VMI -A -o json |
  jq -r '.items[] | select([.metadata.ownerReferences[]? | .kind] | index("VirtualMachine") | not)
         | "\(.metadata.namespace)/\(.metadata.name)"')
[ -z "$standalone" ] || fail "standalone VMIs would be lost by the reboot: $standalone (move or delete them first)"

# 1. Record each VM's runStrategy (a Halted VM stays off); an earlier record wins (a second run after a failure).
[ -s "$STATE_FILE" ] || echo '[]' >"$STATE_FILE"
kubectl get $VM -A -o json | jq --slurpfile old "$STATE_FILE" '
  ($old[0] | map({key: "\(.namespace)/\(.name)", value: .}) | from_entries) as $seen
  | [.items[] | {namespace: .metadata.namespace, name: .metadata.name,
                 runStrategy: (.spec.runStrategy // (if .spec.running then "Always" else "Halted" end))}
     | $seen["\(.namespace)/\(.name)"] // .]' >"$STATE_FILE.new"
mv "$STATE_FILE.new" "$STATE_FILE"
say "recorded $(jq length "$STATE_FILE") VMs in $STATE_FILE"

# 2. Shut every VM down, and wait until no VMI is left.
jq -r '.[] | select(.runStrategy != "Halted") | "\(.namespace) \(.name)"' "$STATE_FILE" | while read -r ns name; do
  kubectl patch $VM -n "$ns" "$name" --type merge -p '{"spec":{"runStrategy":"Halted"}}' >/dev/null
done
say "waiting for every VMI to be gone"
deadline=$((SECONDS + TIMEOUT))
while [ -n "$(kubectl get $VMI -A -o name)" ]; do
  [ $SECONDS -lt $deadline ] || fail "VMIs still there after ${TIMEOUT}s: $(kubectl get $VMI -A -o name | xargs)"
  sleep 2
done

# 3. Reboot through the BMC, and see the node go down (the API stops answering, or the node is not Ready).
curl_bmc=(curl --fail --silent --show-error --user "$BMC_USER:$BMC_PASSWORD")
[ "${BMC_INSECURE:-}" = 1 ] && curl_bmc+=(--insecure)
"${curl_bmc[@]}" -X POST -H 'Content-Type: application/json' -d "{\"ResetType\":\"$RESET_TYPE\"}" \
  "$BMC_URL/redfish/v1/Systems/$BMC_SYSTEM/Actions/ComputerSystem.Reset" >/dev/null
say "reset $RESET_TYPE sent; waiting for the node to go down"
ready() { kubectl get node "$NODE" --request-timeout=5s -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}'; }
deadline=$((SECONDS + TIMEOUT))
while [ "$(ready 2>/dev/null || echo unreachable)" = True ]; do
  [ $SECONDS -lt $deadline ] || fail "the node did not go down after the reset"
  sleep 2
done

# 4. Wait for the API server, then for the node to be Ready.
say "waiting for the API server and the node"
deadline=$((SECONDS + TIMEOUT))
until kubectl get --raw /readyz --request-timeout=5s >/dev/null 2>&1 && [ "$(ready 2>/dev/null)" = True ]; do
  [ $SECONDS -lt $deadline ] || fail "the API server or the node did not come back; run this script again later"
  sleep 5
done

# 5. Restore every VM as it was. A Manual VM does not start by itself: it is started the portable way Pitstop's
# restoreVm uses (runStrategy Always until its VMI exists, then Manual again, which keeps a running VMI).
patch_strategy() {
  kubectl patch $VM -n "$1" "$2" --type merge -p "{\"spec\":{\"runStrategy\":\"$3\"}}" >/dev/null
}
jq -r '.[] | select(.runStrategy != "Halted") | "\(.namespace) \(.name) \(.runStrategy)"' "$STATE_FILE" |
  while read -r ns name strategy; do
    if [ "$strategy" = Manual ]; then
      patch_strategy "$ns" "$name" Always
      until kubectl get $VMI -n "$ns" "$name" >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || fail "VM $ns/$name did not start; its recorded runStrategy is in $STATE_FILE"
        sleep 2
      done
    fi
    patch_strategy "$ns" "$name" "$strategy"
  done
say "every VM restored; $STATE_FILE can go"
rm -f "$STATE_FILE"
