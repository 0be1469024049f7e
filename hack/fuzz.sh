#!/usr/bin/env bash
# Runs every Go fuzz target for a short time (FUZZTIME, default 10s each).
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-10s}
found=0
while IFS= read -r f; do
  dir=$(dirname "$f")
  for target in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)' "$f" | awk '{print $2}'); do
    found=1
    echo "fuzz $dir $target ($FUZZTIME)"
    (cd "$dir" && go test -run '^$' -fuzz "^$target\$" -fuzztime "$FUZZTIME" .)
  done
done < <(grep -rl --include='*_test.go' '^func Fuzz' proto apiserver controller-manager scheduler kubelet proxy kubectl e2e 2>/dev/null | sort)
[ $found = 1 ] || echo "no fuzz targets"
