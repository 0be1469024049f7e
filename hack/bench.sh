#!/usr/bin/env bash
# Runs the benchmarks that docs/benchmarks.md reports: each does a fixed amount of work
# and prints its figures beside a baseline measured in the same run (-benchtime=1x).
# BENCH narrows the set (a go test -bench regexp), PKGS the packages.
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs=${PKGS:-$(ls -d */test/bench 2>/dev/null | sed 's|^|kube5/|; s|$|/...|')}
go test -run '^$' -bench "${BENCH:-.}" -benchtime 1x -timeout 60m $pkgs 2>&1 | grep -v '^{"level"'
