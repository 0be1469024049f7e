#!/usr/bin/env bash
# `make cluster`: a one-node kube5 cluster on this machine, in the foreground. Builds,
# installs what is missing (Docker from Debian's docker.io, iptables), starts dockerd if
# needed, builds the images, then starts kube-apiserver (embedded etcd), the
# controller-manager, the scheduler, the kubelet and kube-proxy with their logs under
# _output/local-up/logs, writes a kubeconfig and waits for the node to be Ready.
# Ctrl-C stops everything and removes this node's pod containers and kube-proxy's rules.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
dir="$root/_output/local-up"
logs="$dir/logs"
mkdir -p "$logs"
export KUBECONFIG="$dir/kubeconfig"
kubectl="$root/bin/kubectl"
# The node's name, as the kubelet derives it from the hostname (lower-cased). The kubelet
# labels every container it starts io.kube5.node=<node>; cleanup removes only those, never
# the containers of another kube5 node sharing this Docker (e2e tests, a second cluster).
node=$(hostname | tr '[:upper:]' '[:lower:]')
pids=()

say() { printf '\033[1m%s\033[0m\n' "$*"; }

cleanup() {
  # Ignore further signals rather than die of them halfway: make forwards a SIGTERM to
  # this script, which then gets it twice, and a second Ctrl-C would leave containers.
  trap '' INT TERM
  trap - EXIT
  stopping=1
  say "Stopping the cluster"
  for ((i=${#pids[@]}-1; i>=0; i--)); do kill -TERM "${pids[i]}" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  # The kubelet stops pods it runs on SIGTERM only when asked to drain; remove what is left
  # of this node's pods.
  ids=$(docker ps -aq --filter label=io.kubernetes.pod.uid --filter "label=io.kube5.node=$node" 2>/dev/null || true)
  [ -n "$ids" ] && docker rm -f $ids >/dev/null 2>&1 || true
  "$root/bin/kube-proxy" --cleanup >/dev/null 2>&1 || true
  say "Stopped. Logs are in $logs"
}

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
  local deadline=$((SECONDS + $1)) what=$2; shift 2
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then
      echo "timed out waiting for $what; see $logs" >&2
      exit 1
    fi
    sleep 0.5
  done
}

start() { # start NAME ARGS...
  local name=$1; shift
  "$root/bin/$name" "$@" >"$logs/$name.log" 2>&1 &
  pids+=($!)
  echo "  $name (pid $!, log $logs/$name.log)"
}

say "Building"
make --no-print-directory build
say "Docker and images"
./hack/start-docker.sh
./hack/images.sh
trap cleanup INT TERM EXIT

say "Starting the control plane"
start kube-apiserver --data-dir="$dir/etcd" --v=1
wait_for 60 "kube-apiserver" curl -sf http://127.0.0.1:8080/readyz
"$kubectl" config set-cluster local --server=http://127.0.0.1:8080 >/dev/null
"$kubectl" config set-context local --cluster=local >/dev/null
"$kubectl" config use-context local >/dev/null
start kube-controller-manager --master=http://127.0.0.1:8080
start kube-scheduler --master=http://127.0.0.1:8080
say "Starting the node"
# Eviction thresholds as upstream's local-up-cluster.sh takes them: EVICTION_HARD,
# EVICTION_SOFT (with EVICTION_SOFT_GRACE_PERIOD). On a machine whose disk is over 85%
# full the default imagefs.available<15% puts the node under DiskPressure, which refuses
# every new pod: lower it (EVICTION_HARD='memory.available<100Mi,imagefs.available<5%').
start kubelet --kubeconfig="$KUBECONFIG" --root-dir="$dir/kubelet" --hostname-override="$node" \
  --eviction-hard="${EVICTION_HARD:-memory.available<100Mi,nodefs.available<10%,nodefs.inodesFree<5%,imagefs.available<15%}" \
  --eviction-soft="${EVICTION_SOFT:-}" --eviction-soft-grace-period="${EVICTION_SOFT_GRACE_PERIOD:-}"
start kube-proxy --master=http://127.0.0.1:8080 --hostname-override="$node"
wait_for 90 "node $node to be Ready" sh -c "'$kubectl' get node '$node' -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}' | grep -qx True"

cat <<EOT

$(say "kube5 is running.")
  export KUBECONFIG=$KUBECONFIG PATH=$root/bin:\$PATH
  kubectl get nodes
  kubectl create deployment web --image=kube5/httpenv:1.0 --replicas=3
  kubectl expose deployment web --port=80 --target-port=8888
  curl \$(kubectl get svc web -o jsonpath='{.spec.clusterIP}')

Logs: $logs. Press Ctrl-C to stop the cluster.
EOT
wait -n "${pids[@]}" || true
[ -n "${stopping:-}" ] || echo "a daemon exited (see $logs); stopping the cluster" >&2
