#!/usr/bin/env bash
# `make release`: writes _output/kube5-<version>-linux-amd64.tar.gz with the static,
# version-stamped binaries (server/bin: the daemons and etcd; client/bin), the images the cluster needs as
# `docker save` archives (images/), the systemd units and INSTALL.md.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=${VERSION:-$(git describe --tags --match 'v*' --dirty 2>/dev/null || echo "v0.1.0-alpha.0+$(git rev-parse --short HEAD 2>/dev/null || echo unknown)")}
name="kube5-${VERSION}-linux-amd64"
out="_output/$name"
rm -rf "$out" && mkdir -p "$out/server/bin" "$out/client/bin" "$out/images" "$out/systemd"
echo "building binaries ($VERSION)"
make --no-print-directory build VERSION="$VERSION"
for b in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy etcd; do
  cp "bin/$b" "$out/server/bin/"
done
cp bin/kubectl "$out/client/bin/"
echo "building and saving images"
./hack/start-docker.sh
./hack/images.sh
mapfile -t images < <(docker images --format '{{.Repository}}:{{.Tag}}' --filter 'reference=kube5/*' | grep -v ':<none>$' | sort)
[ ${#images[@]} -gt 0 ] || { echo "no kube5/* images found after hack/images.sh" >&2; exit 1; }
for img in "${images[@]}"; do
  file="$out/images/$(echo "${img#kube5/}" | tr ':/' '__').tar"
  echo "  $img -> images/$(basename "$file")"
  docker save -o "$file" "$img"
done
cp deploy/systemd/*.service "$out/systemd/"
cp INSTALL.md "$out/INSTALL.md"
tar -C _output -czf "_output/$name.tar.gz" "$name"
echo "wrote _output/$name.tar.gz ($(du -h "_output/$name.tar.gz" | cut -f1))"
