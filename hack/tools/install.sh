#!/usr/bin/env bash
# Builds the local control plane (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kubectl, kwok) into the binary cache, skipping what is there.
# The directory is $GITOPSD_BIN_DIR, or ${XDG_CACHE_HOME:-$HOME/.cache}/gitopsd/bin/<k8s version>.
set -euo pipefail

k8s_version=v1.37.2
kwok_version=v0.8.0
here=$(cd "$(dirname "$0")" && pwd)
bin_dir=${GITOPSD_BIN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/gitopsd/bin/$k8s_version}
mkdir -p "$bin_dir"

export GOTOOLCHAIN=local GOFLAGS=-mod=mod
# The version stamp kubectl and clients see; without it the server reports v0.0.0.
ldflags="-s -w \
 -X k8s.io/component-base/version.gitVersion=$k8s_version \
 -X k8s.io/component-base/version.gitMajor=${k8s_version:1:1} \
 -X k8s.io/component-base/version.gitMinor=$(echo "$k8s_version" | cut -d. -f2) \
 -X k8s.io/component-base/version.gitTreeState=clean"

build() { # name package
	local name=$1 pkg=$2
	if [ -x "$bin_dir/$name" ]; then return; fi
	local start=$SECONDS
	echo "tools: building $name ($pkg) into $bin_dir ..."
	(cd "$here" && go build -trimpath -ldflags "$ldflags" -o "$bin_dir/$name.tmp" "$pkg")
	mv "$bin_dir/$name.tmp" "$bin_dir/$name"
	echo "tools: built $name in $((SECONDS - start))s"
}

build etcd go.etcd.io/etcd/server/v3
build kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
build kubectl k8s.io/kubernetes/cmd/kubectl
build kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager
build kube-scheduler k8s.io/kubernetes/cmd/kube-scheduler

if [ ! -x "$bin_dir/kwok" ]; then
	start=$SECONDS
	echo "tools: building kwok $kwok_version into $bin_dir ..."
	tmp=$(mktemp -d)
	GOBIN=$tmp GOFLAGS= go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$kwok_version"
	mv "$tmp/kwok" "$bin_dir/kwok" && rmdir "$tmp"
	echo "tools: built kwok in $((SECONDS - start))s"
fi

# kwok runs no Stage unless given one; collect the fast node, lease heartbeat and
# fast pod stages from kwok's own module into one --config file.
if [ ! -s "$bin_dir/kwok-stages.yaml" ]; then
	kwok_dir=$(GOFLAGS= go mod download -json "sigs.k8s.io/kwok@$kwok_version" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
	for f in "$kwok_dir"/kustomize/stage/node/fast/*.yaml \
		"$kwok_dir"/kustomize/stage/node/heartbeat-with-lease/*.yaml \
		"$kwok_dir"/kustomize/stage/pod/fast/*.yaml; do
		case $(basename "$f") in kustomization.yaml) continue ;; esac
		echo "---"
		cat "$f"
	done > "$bin_dir/kwok-stages.yaml.tmp"
	mv "$bin_dir/kwok-stages.yaml.tmp" "$bin_dir/kwok-stages.yaml"
	echo "tools: wrote kwok-stages.yaml"
fi
