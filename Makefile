# gitopsd — the two commands a newcomer needs are `make demo` and `make test`.
SHELL := /bin/bash
export GOTOOLCHAIN := local

K8S_VERSION := v1.37.2
CACHE_DIR := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/gitopsd
export GITOPSD_BIN_DIR ?= $(CACHE_DIR)/bin/$(K8S_VERSION)

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS := -X github.com/gitopsd/gitopsd/internal/app.version=$(VERSION) \
	-X github.com/gitopsd/gitopsd/internal/app.commit=$(COMMIT)

# Without kustomize's Go plugin loader the binary maps ~20 MiB less (see
# internal/image.BuildTags, which the image and the benchmarks use too).
BUILD_TAGS := kustomize_disable_go_plugin_support

KUSTOMIZE_VERSION := v5.8.1
KUSTOMIZE := $(CACHE_DIR)/bin/kustomize-$(KUSTOMIZE_VERSION)/kustomize

# The image make image writes into bin/gitopsd-image.tar, dated at the commit
# so that one commit always makes the same image.
IMAGE ?= ghcr.io/gitopsd/gitopsd:$(VERSION)
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)

.PHONY: demo build image tools chromium test screenshots cluster bench corpus

## demo: start a local cluster, run gitopsd against examples/repo, show the loop
# Built, not go run: go run exits 1 on Ctrl-C whatever the demo returns.
demo: tools build
	go build -o bin/demo ./hack/demo
	bin/demo

## build: compile bin/gitopsd
build:
	go build -tags "$(BUILD_TAGS)" -ldflags "$(LDFLAGS)" -o bin/gitopsd ./cmd/gitopsd

## image: build the container image into bin/gitopsd-image.tar without Docker (IMAGE=REPO:TAG names it)
image:
	go run ./hack/image -version="$(VERSION)" -commit="$(COMMIT)" -created="$(SOURCE_DATE_EPOCH)" -tag="$(IMAGE)" -out=bin/gitopsd-image.tar

## tools: build the local control plane into $(GITOPSD_BIN_DIR) (once; ~15 min cold)
tools:
	@hack/tools/install.sh

## chromium: install Debian's chromium for the status page's browser test, when missing
chromium:
	@command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)

## test: vet and race-test every module against the real local control plane
test: tools chromium
	go vet ./...
	go test -race -count=1 ./...
	cd bench && go vet ./... && go test -race -count=1 ./...

## screenshots: write the status page's screenshots in docs/ from its browser test
screenshots: tools chromium
	go test -count=1 -run TestStatusPageInBrowser ./internal/web -args -update

## cluster: run the full local control plane in the foreground until Ctrl-C
cluster: tools
	go run ./hack/cluster

## bench: measure the apply engine against kubectl, Flux and the limit, drift detection, the daemon at rest, pull request plan checks, and blue/green cutovers; writes bench/RESULTS.md
bench: tools
	cd bench && go run ./cmd/applybench $(BENCH_FLAGS)
	cd bench && go run ./cmd/driftbench $(DRIFT_BENCH_FLAGS)
	cd bench && go run ./cmd/steadybench $(STEADY_BENCH_FLAGS)
	cd bench && go run ./cmd/planbench $(PLAN_BENCH_FLAGS)
	cd bench && go run ./cmd/cutoverbench $(CUTOVER_BENCH_FLAGS)

## corpus: compare `gitopsd render` with `kustomize build` $(KUSTOMIZE_VERSION) on the kustomizations in CORPUS=<dir> (kept outside the repository; see its compare.py)
corpus: build
	@test -n "$(CORPUS)" || { echo "usage: make corpus CORPUS=<directory holding compare.py and the cases>"; exit 2; }
	@test -x "$(KUSTOMIZE)" || GOBIN="$(dir $(KUSTOMIZE))" go install sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION)
	python3 "$(CORPUS)/compare.py" bin/gitopsd "$(KUSTOMIZE)" "$(CORPUS)"
