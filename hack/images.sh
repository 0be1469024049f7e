#!/usr/bin/env bash
# Builds every image in deploy/images (make images): static Go binaries (CGO_ENABLED=0)
# copied into FROM-scratch images with fixed tags. Needs a running dockerd
# (hack/start-docker.sh). With --save DIR, also writes each image as DIR/<name>_<tag>.tar.
set -euo pipefail
cd "$(dirname "$0")/.."
save=""
if [[ "${1:-}" == "--save" ]]; then save="$2"; mkdir -p "$save"; fi

# image dir -> program under kubelet/cmd/images, and tag.
images=(
  "pause pause kube5/pause:3.10"
  "httpenv httpenv kube5/httpenv:1.0"
  "httpenv httpenv kube5/httpenv:1.1"
  "testbox testbox kube5/testbox:1.0"
  "crasher testbox kube5/crasher:1.0"
  "slowstart testbox kube5/slowstart:1.0"
  "noterm testbox kube5/noterm:1.0"
)
# The legacy builder is all Debian's docker.io has; saying so silences its deprecation notice.
export DOCKER_BUILDKIT=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for prog in pause httpenv testbox; do
  CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$tmp/bin/$prog" "./kubelet/cmd/images/$prog"
done
for entry in "${images[@]}"; do
  read -r dir prog tag <<<"$entry"
  ctx="$tmp/ctx-$dir"
  mkdir -p "$ctx"
  cp "deploy/images/$dir/Dockerfile" "$ctx/"
  cp "$tmp/bin/$prog" "$ctx/$prog"
  # The version label makes each tag its own image (httpenv:1.0 and :1.1 run the same
  # program), so a rollout between them really changes the image ID.
  docker build -q --label "org.opencontainers.image.version=${tag##*:}" -t "$tag" "$ctx" >/dev/null
  echo "built $tag"
  if [[ -n "$save" ]]; then docker save -o "$save/$(echo "${tag#kube5/}" | tr ':/' '__').tar" "$tag"; fi
done
