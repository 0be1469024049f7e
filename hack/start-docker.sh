#!/usr/bin/env bash
# Makes sure a Docker daemon answers: installs docker.io and iptables from Debian when
# missing, starts dockerd in the background when it is not running (there is no systemd
# on our machines), and waits for `docker info`, at most 60s.
set -euo pipefail
if ! command -v dockerd >/dev/null || ! command -v iptables >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq docker.io iptables >/dev/null
fi
if docker info >/dev/null 2>&1; then exit 0; fi
if ! pgrep -x dockerd >/dev/null; then
  nohup dockerd >/var/log/dockerd.log 2>&1 &
fi
for _ in $(seq 1 120); do
  if docker info >/dev/null 2>&1; then exit 0; fi
  sleep 0.5
done
echo "start-docker: dockerd did not answer within 60s; see /var/log/dockerd.log" >&2
exit 1
