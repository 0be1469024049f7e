#!/usr/bin/env bash
# Regenerates the Go code for every .proto under proto/api with pinned tool versions:
# protoc from Debian's protobuf-compiler (3.21.12), protoc-gen-go and protoc-gen-go-grpc
# built from the Go module proxy at the versions below.
set -euo pipefail
cd "$(dirname "$0")/.."
PROTOC_GEN_GO_VERSION=v1.36.12
PROTOC_GEN_GO_GRPC_VERSION=v1.5.1
tools="$PWD/_output/tools"
mkdir -p "$tools"
if ! command -v protoc >/dev/null; then
  echo "protoc missing: installing Debian's protobuf-compiler" >&2
  apt-get install -y -qq protobuf-compiler >/dev/null
fi
[ -x "$tools/protoc-gen-go-$PROTOC_GEN_GO_VERSION" ] || {
  GOWORK=off GOBIN="$tools" go install "google.golang.org/protobuf/cmd/protoc-gen-go@$PROTOC_GEN_GO_VERSION"
  mv "$tools/protoc-gen-go" "$tools/protoc-gen-go-$PROTOC_GEN_GO_VERSION"
}
[ -x "$tools/protoc-gen-go-grpc-$PROTOC_GEN_GO_GRPC_VERSION" ] || {
  GOWORK=off GOBIN="$tools" go install "google.golang.org/grpc/cmd/protoc-gen-go-grpc@$PROTOC_GEN_GO_GRPC_VERSION"
  mv "$tools/protoc-gen-go-grpc" "$tools/protoc-gen-go-grpc-$PROTOC_GEN_GO_GRPC_VERSION"
}
cd proto
files=$(find api -name '*.proto' | sort)
protoc -I . \
  --plugin=protoc-gen-go="$tools/protoc-gen-go-$PROTOC_GEN_GO_VERSION" \
  --plugin=protoc-gen-go-grpc="$tools/protoc-gen-go-grpc-$PROTOC_GEN_GO_GRPC_VERSION" \
  --go_out=. --go_opt=paths=source_relative \
  --go-grpc_out=. --go-grpc_opt=paths=source_relative \
  $files
# The protoc version line differs between Debian releases; drop it so that only a change of
# the .proto sources or of the pinned plugins makes the generated code differ.
find api -name '*.pb.go' -exec sed -i -e '/^\/\/ \tprotoc  /d' -e '/^\/\/ - protoc  /d' {} +
