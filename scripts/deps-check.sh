#!/usr/bin/env bash
# deps-check.sh PKG... -- [COMMAND...]: run COMMAND (default: a dry-run
# `make deps`) on this machine as it would be without the Debian packages
# PKG. In a private mount namespace, each file of the packages is covered
# by an empty non-executable file and dpkg's status is a copy without them,
# so both `command -v` and apt-get see them missing; nothing of the host
# changes. Used by internal/e2e/pkgtest (TestDepsNamesMissing); root.
set -euo pipefail
self=$(readlink -f "$0")
cd "$(dirname "$self")/.."
if [ -z "${DEPS_CHECK_INNER:-}" ]; then
	exec env DEPS_CHECK_INNER=1 unshare -m --propagation private "$self" "$@"
fi
hide=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do hide+=("$1"); shift; done
[ $# -eq 0 ] || shift
[ $# -gt 0 ] || set -- env BPFUNIT_DEPS_DRY_RUN=1 make --no-print-directory deps

tmp=$(mktemp -d)
mount -t tmpfs tmpfs "$tmp"
awk -v drop="${hide[*]}" 'BEGIN { RS = ""; ORS = "\n\n"; n = split(drop, d, " "); for (i = 1; i <= n; i++) hidden[d[i]] = 1 }
	{ split($0, l, "\n"); p = l[1]; sub(/^Package: /, "", p); if (!(p in hidden)) print }' /var/lib/dpkg/status >"$tmp/status"
mount --bind "$tmp/status" /var/lib/dpkg/status
: >"$tmp/empty"
for p in "${hide[@]}"; do
	list=/var/lib/dpkg/info/$p.list
	[ -f "$list" ] || list=/var/lib/dpkg/info/$p:amd64.list
	[ -f "$list" ] || continue
	while read -r f; do
		if [ -f "$f" ] && [ ! -L "$f" ]; then mount --bind "$tmp/empty" "$f"; fi
	done <"$list"
done
"$@"
