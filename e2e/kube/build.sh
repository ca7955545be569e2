#!/usr/bin/env bash
# Builds the e2e control plane's binaries (kube-apiserver, kubectl, etcd and
# helm) at pinned versions from the Go module proxy, into a cache outside the
# clone (see ../lib/go-build.sh):
#
#   kube-apiserver-<k8s version>-<hash>, kubectl-<k8s version>-<hash>,
#   etcd-<etcd version>-<hash>, helm-<helm version>
#
# Idempotent: an existing binary is not rebuilt. Prints the four paths at the
# end, one per line, in that order. A cold build takes about 12 minutes on
# 2 cores (about 600 CPU-seconds).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../lib/go-build.sh
source "$here/../lib/go-build.sh"

helm_version="v3.22.0"
k8s_version="$(mod_version "$here/k8s/go.mod" k8s.io/kubernetes)"
etcd_version="$(mod_version "$here/etcd/go.mod" go.etcd.io/etcd/server/v3)"
[ -n "$k8s_version" ] && [ -n "$etcd_version" ] || { echo "build.sh: cannot read pinned versions" >&2; exit 1; }

k8s_hash="$(wrapper_hash "$here/k8s")"
apiserver_bin="$bindir/kube-apiserver-$k8s_version-$k8s_hash"
kubectl_bin="$bindir/kubectl-$k8s_version-$k8s_hash"
etcd_bin="$bindir/etcd-$etcd_version-$(wrapper_hash "$here/etcd")"
helm_bin="$bindir/helm-$helm_version"

# Without these stamps /version says v0.0.0-master and kubectl warns on skew.
k8s_minor="$(echo "$k8s_version" | cut -d. -f2)"
k8s_ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$k8s_version -X k8s.io/client-go/pkg/version.gitVersion=$k8s_version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$k8s_minor"

if [ ! -x "$etcd_bin" ]; then
  go_build "$here/etcd" "$etcd_bin" go.etcd.io/etcd/server/v3 -ldflags "-s -w"
fi
if [ ! -x "$apiserver_bin" ]; then
  go_build "$here/k8s" "$apiserver_bin" k8s.io/kubernetes/cmd/kube-apiserver -ldflags "$k8s_ldflags"
fi
if [ ! -x "$kubectl_bin" ]; then
  go_build "$here/k8s" "$kubectl_bin" k8s.io/kubernetes/cmd/kubectl -ldflags "$k8s_ldflags"
fi
if [ ! -x "$helm_bin" ]; then
  echo "build: building $(basename "$helm_bin")" >&2
  start=$SECONDS
  gobin="$(mktemp -d "$bindir/.build.XXXXXX")"
  GOBIN="$gobin" nice -n 10 go install -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$helm_version" \
    "helm.sh/helm/v3/cmd/helm@$helm_version"
  mv -f "$gobin/helm" "$helm_bin"
  rm -rf "$gobin"
  echo "build: built $helm_bin in $((SECONDS - start)) s" >&2
fi

echo "$apiserver_bin"
echo "$kubectl_bin"
echo "$etcd_bin"
echo "$helm_bin"
