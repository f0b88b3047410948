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

.PHONY: demo build tools test cluster bench

## demo: start a local cluster, run gitopsd against examples/repo, show the loop
demo: tools build
	go run ./hack/demo

## build: compile bin/gitopsd
build:
	go build -ldflags "$(LDFLAGS)" -o bin/gitopsd ./cmd/gitopsd

## tools: build the local control plane into $(GITOPSD_BIN_DIR) (once; ~15 min cold)
tools:
	@hack/tools/install.sh

## test: vet and race-test every module against the real local control plane
test: tools
	go vet ./...
	go test -race -count=1 ./...
	cd bench && go vet ./... && go test -race -count=1 ./...

## cluster: run the full local control plane in the foreground until Ctrl-C
cluster: tools
	go run ./hack/cluster

## bench: measure the apply engine against kubectl and Flux, drift detection, daemon memory and pull request plan checks; writes bench/RESULTS.md
bench: tools
	cd bench && go run ./cmd/applybench $(BENCH_FLAGS)
	cd bench && go run ./cmd/driftbench $(DRIFT_BENCH_FLAGS)
	cd bench && go run ./cmd/planbench $(PLAN_BENCH_FLAGS)
