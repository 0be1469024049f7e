#!/usr/bin/env bash
# Fails when the committed generated Go code differs from what `make proto` produces.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cp -a proto/api "$tmp/before"
./hack/update-proto.sh
if ! diff -r "$tmp/before" proto/api >/dev/null; then
  diff -r "$tmp/before" proto/api | head -40
  rm -rf proto/api && cp -a "$tmp/before" proto/api
  echo "generated code is stale: run 'make proto' and commit the result" >&2
  exit 1
fi
echo "generated code is up to date"
