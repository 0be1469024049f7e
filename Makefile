# kube5 — see README.md. `make test` is the one command that runs every test.
SHELL := /bin/bash
GO ?= go
BINARIES := kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl etcd
MODULES := proto apiserver controller-manager scheduler kubelet proxy kubectl e2e
# A release tag (v*) when there is one; otherwise a semver pre-release naming the commit,
# so clients that parse the server version (kubectl version) always see vMAJOR.MINOR.
VERSION ?= $(shell git describe --tags --match 'v*' --dirty 2>/dev/null || echo v0.1.0-alpha.0+$$(git rev-parse --short HEAD 2>/dev/null || echo unknown))
GIT_COMMIT ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
BUILD_DATE ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS := -s -w -X kube5/proto/version.gitVersion=$(VERSION) -X kube5/proto/version.gitCommit=$(GIT_COMMIT) -X kube5/proto/version.buildDate=$(BUILD_DATE)

.PHONY: all build $(BINARIES) test verify-proto proto lint bench fuzz images release cluster clean

all: build

build: $(BINARIES)

kube-apiserver:          ; CGO_ENABLED=0 $(GO) build -ldflags '$(LDFLAGS)' -o bin/$@ ./apiserver
kube-controller-manager: ; CGO_ENABLED=0 $(GO) build -ldflags '$(LDFLAGS)' -o bin/$@ ./controller-manager
kube-scheduler:          ; CGO_ENABLED=0 $(GO) build -ldflags '$(LDFLAGS)' -o bin/$@ ./scheduler
kubelet:                 ; CGO_ENABLED=0 $(GO) build -ldflags '$(LDFLAGS)' -o bin/$@ ./kubelet
kube-proxy:              ; CGO_ENABLED=0 $(GO) build -ldflags '$(LDFLAGS)' -o bin/$@ ./proxy
kubectl:                 ; CGO_ENABLED=0 $(GO) build -ldflags '$(LDFLAGS)' -o bin/$@ ./kubectl
etcd:                    ; CGO_ENABLED=0 $(GO) build -ldflags '$(LDFLAGS)' -o bin/$@ ./apiserver/cmd/etcd

# Everything: generated code is fresh, lint, unit + integration tests with -race, short fuzzing.
test:
	./hack/test.sh

proto:
	./hack/update-proto.sh

verify-proto:
	./hack/verify-proto.sh

lint:
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@for m in $(MODULES); do (cd $$m && $(GO) vet ./...) || exit 1; done

fuzz:
	./hack/fuzz.sh

bench: build
	KUBE5_APISERVER=$(CURDIR)/bin/kube-apiserver ./hack/bench.sh

# Container images the kubelet and the tests need, built locally FROM scratch (no registry).
images:
	./hack/start-docker.sh
	./hack/images.sh

# A one-node cluster in the foreground; Ctrl-C stops it (deploy/local-up.sh).
cluster:
	./deploy/local-up.sh

# The release tarball: binaries, images, systemd units, INSTALL.md (see INSTALL.md).
release:
	./hack/release.sh

clean:
	rm -rf bin _output
