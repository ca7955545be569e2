# Shared helpers of the e2e build scripts (sourced, not run). Each builds Go
# programs from a pinned wrapper module into a cache outside the clone:
#
#   ${KUBE_ACS_CACHE:-$HOME/.cache/kube-acs}/bin/<name>-<version>-<hash>
#
# <hash> is a short content hash of the wrapper (go.mod, go.sum, *.go), so a
# changed wrapper gets a new binary; an existing binary is never rebuilt.
#
# The Go module proxy reachable here only serves versions somebody fetched
# before, so builds use the pinned go.sum as is (-mod=mod, never `go get` or
# `go mod tidy`). The module files are copied to a scratch dir so a build
# never rewrites the clone.

cache="${KUBE_ACS_CACHE:-$HOME/.cache/kube-acs}"
bindir="$cache/bin"
mkdir -p "$bindir"

command -v go >/dev/null || { echo "build: go is not installed" >&2; exit 1; }

# version of a required module, read from a wrapper's go.mod
mod_version() { # <go.mod> <module path>
  awk -v m="$2" '$1 == m && $2 ~ /^v/ { print $2; exit } $1 == "require" && $2 == m { print $3; exit }' "$1"
}

wrapper_hash() { # <dir>
  (cd "$1" && cat go.mod go.sum $(ls *.go 2>/dev/null | sort)) | sha256sum | cut -c1-10
}

# go build of one package inside a wrapper module
go_build() { # <wrapper dir> <output> <package> [go build args...]
  local dir="$1" out="$2" pkg="$3"
  shift 3
  local work
  work="$(mktemp -d "$bindir/.build.XXXXXX")"
  cp "$dir"/go.mod "$dir"/go.sum "$work"/
  cp "$dir"/*.go "$work"/ 2>/dev/null || true
  echo "build: building $(basename "$out") (this takes a few minutes cold)" >&2
  local start=$SECONDS
  if ! (cd "$work" && GOFLAGS="${GOFLAGS:-} -mod=mod" nice -n 10 go build "$@" -o "$out.tmp" "$pkg"); then
    rm -rf "$work" "$out.tmp"
    echo "build: building $pkg failed" >&2
    return 1
  fi
  mv -f "$out.tmp" "$out"
  rm -rf "$work"
  echo "build: built $out in $((SECONDS - start)) s" >&2
}

# One build at a time per cache (parallel test binaries may call a script).
exec 9>"$bindir/.build.lock"
flock 9
