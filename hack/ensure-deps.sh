#!/usr/bin/env bash
# Installs the Debian packages the build and tests need when they are missing (a fresh
# machine has none of them): protoc for the generated-code check.
set -euo pipefail
need=()
command -v protoc >/dev/null || need+=(protobuf-compiler)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]} from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
