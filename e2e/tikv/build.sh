#!/usr/bin/env bash
# Builds the TiKV-protocol test cluster's binaries (pd-server and
# unistore-server) from the pinned wrapper modules beside this script, into a
# cache outside the clone:
#
#   ${KUBE_ACS_CACHE:-$HOME/.cache/kube-acs}/bin/pd-server-<pd-version>-<hash>
#   ${KUBE_ACS_CACHE:-$HOME/.cache/kube-acs}/bin/unistore-server-<tidb-version>-<hash>
#
# <hash> is a short content hash of the wrapper (go.mod, go.sum, *.go), so a
# changed wrapper gets a new binary. Idempotent: an existing binary is not
# rebuilt. Prints the two paths at the end (pd first, then unistore).
#
# The Go module proxy reachable here only serves versions somebody fetched
# before, so the builds use the pinned go.sum as is (-mod=mod, never
# `go get`/`go mod tidy`). A cold build takes a few minutes on 2 cores.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${KUBE_ACS_CACHE:-$HOME/.cache/kube-acs}"
bindir="$cache/bin"
mkdir -p "$bindir"

command -v go >/dev/null || { echo "build.sh: go is not installed" >&2; exit 1; }

# version of a required module, read from a wrapper's go.mod
mod_version() { # <go.mod> <module path>
  awk -v m="$2" '$1 == m && $2 ~ /^v/ { print $2; exit } $1 == "require" && $2 == m { print $3; exit }' "$1"
}

wrapper_hash() { # <dir>
  (cd "$1" && cat go.mod go.sum $(ls *.go 2>/dev/null | sort)) | sha256sum | cut -c1-10
}

pd_version="$(mod_version "$here/pd/go.mod" github.com/tikv/pd)"
tidb_version="$(mod_version "$here/unistore/go.mod" github.com/pingcap/tidb)"
[ -n "$pd_version" ] && [ -n "$tidb_version" ] || { echo "build.sh: cannot read pinned versions" >&2; exit 1; }

pd_bin="$bindir/pd-server-$pd_version-$(wrapper_hash "$here/pd")"
unistore_bin="$bindir/unistore-server-$tidb_version-$(wrapper_hash "$here/unistore")"

# A go build inside a wrapper; -mod=mod with the pinned go.sum. The module
# files are copied to a scratch dir so the build never rewrites the clone.
go_build() { # <wrapper dir> <output> <package> [go build args...]
  local dir="$1" out="$2" pkg="$3"
  shift 3
  local work
  work="$(mktemp -d "$bindir/.build.XXXXXX")"
  cp "$dir"/go.mod "$dir"/go.sum "$work"/
  cp "$dir"/*.go "$work"/ 2>/dev/null || true
  echo "build.sh: building $(basename "$out") (this takes a few minutes cold)" >&2
  local start=$SECONDS
  if ! (cd "$work" && GOFLAGS="${GOFLAGS:-} -mod=mod" nice -n 10 go build "$@" -o "$out.tmp" "$pkg"); then
    rm -rf "$work" "$out.tmp"
    echo "build.sh: building $pkg failed" >&2
    return 1
  fi
  mv -f "$out.tmp" "$out"
  rm -rf "$work"
  echo "build.sh: built $out in $((SECONDS - start)) s" >&2
}

# One build at a time per cache (parallel test binaries may call this).
exec 9>"$bindir/.build.lock"
flock 9

if [ ! -x "$pd_bin" ]; then
  # Release version left at PD's default ("None"): PD then assumes its
  # minimum supported version, which suits unistore's version-less store.
  go_build "$here/pd" "$pd_bin" github.com/tikv/pd/cmd/pd-server -tags without_dashboard
fi
if [ ! -x "$unistore_bin" ]; then
  go_build "$here/unistore" "$unistore_bin" .
fi

echo "$pd_bin"
echo "$unistore_bin"
