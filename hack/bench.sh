#!/usr/bin/env bash
# Runs the benchmarks that docs/benchmarks.md reports. BENCHTIME overrides -benchtime.
set -euo pipefail
cd "$(dirname "$0")/.."
go test -run '^$' -bench . -benchtime "${BENCHTIME:-1x}" -timeout 30m kube5/apiserver/test/bench/...
