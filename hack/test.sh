#!/usr/bin/env bash
# The one test command (`make test`): installs what the tests need when missing, checks the
# generated code and formatting, then runs every module's tests with the race detector and
# a short fuzzing pass. Exits non-zero on the first failing stage.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS=0
stage() { printf '\n=== %s (%ds)\n' "$*" "$SECONDS"; }

stage "prerequisites"
./hack/ensure-deps.sh

stage "generated code"
./hack/verify-proto.sh

stage "lint (gofmt, go vet)"
make --no-print-directory lint

stage "build"
make --no-print-directory build
# Tests of the other modules run this binary (kube5/proto/apiservertest) instead of
# building their own copy per test process.
export KUBE5_APISERVER="$PWD/bin/kube-apiserver"

if [ -x hack/start-docker.sh ]; then
  stage "docker and images (node tests)"
  ./hack/start-docker.sh
  [ -x hack/images.sh ] && ./hack/images.sh
fi

stage "unit and integration tests (-race)"
pkgs=()
for m in proto apiserver controller-manager scheduler kubelet proxy kubectl e2e; do pkgs+=("kube5/$m/..."); done
go test -race -count=1 -timeout 20m "${pkgs[@]}"

stage "fuzzing (short)"
./hack/fuzz.sh

stage "done"
