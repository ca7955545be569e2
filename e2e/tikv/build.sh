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
# See ../lib/go-build.sh for the cache layout. A cold build takes a few
# minutes on 2 cores.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../lib/go-build.sh
source "$here/../lib/go-build.sh"

pd_version="$(mod_version "$here/pd/go.mod" github.com/tikv/pd)"
tidb_version="$(mod_version "$here/unistore/go.mod" github.com/pingcap/tidb)"
[ -n "$pd_version" ] && [ -n "$tidb_version" ] || { echo "build.sh: cannot read pinned versions" >&2; exit 1; }

pd_bin="$bindir/pd-server-$pd_version-$(wrapper_hash "$here/pd")"
unistore_bin="$bindir/unistore-server-$tidb_version-$(wrapper_hash "$here/unistore")"

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
