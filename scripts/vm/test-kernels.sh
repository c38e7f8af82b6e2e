#!/bin/bash
# Usage: test-kernels.sh [PACKAGES...]   (default ./...)
#
# Runs the test suite under every kernel of the matrix (scripts/vm/kernels,
# or $KERNELS, space-separated) and prints a table kernel × package ×
# pass/skip/fail, then every skip's reason. Exit 1 on any failure.
# "host" runs on the running kernel under the test lock, like `make test`;
# every other entry is a Debian kernel package, fetched into the cache with
# fetch-kernel.sh and booted per test binary by run-in-vm.sh (go test -exec).
#
# Env: KERNELS, GO (go), TEST_FLAGS (extra go test flags, e.g. -run X),
#      TEST_TIMEOUT per binary (20m; TCG is ~5-10x slower than the host),
#      VM_JOBS test binaries booted at once (1), RESULTS (build/test-kernels),
#      and run-in-vm.sh's VM_* variables.
set -euo pipefail
HERE=$(dirname "$(readlink -f "$0")")
ROOT=$(cd "$HERE/../.." && pwd)
cd "$ROOT"
GO=${GO:-go}
PKGS=("${@:-./...}")
if [ -z "${KERNELS:-}" ]; then KERNELS=$(sed -e 's/#.*//' "$HERE/kernels" | xargs); fi
RESULTS=${RESULTS:-$ROOT/build/test-kernels}
TEST_TIMEOUT=${TEST_TIMEOUT:-20m}
LOCK=/run/bpfunit-tests.lock
mkdir -p "$RESULTS"
rm -f "$RESULTS"/*.json

REPORT=$(mktemp -d)
trap 'rm -rf "$REPORT"' EXIT
"$GO" build -o "$REPORT/kernel-report" ./internal/testenv/vm/cmd/kernel-report

args=()
T0=$(date +%s)
for k in $KERNELS; do
  t0=$(date +%s)
  if [ "$k" = host ]; then
    label="$(uname -r) (host)"
    out=$RESULTS/host.json
    echo "== $label"
    cmd=(flock "$LOCK" "$GO" test -json -p 1 -count=1 -timeout "$TEST_TIMEOUT")
  else
    if ! dir=$("$HERE/fetch-kernel.sh" "$k"); then
      echo "== $k: fetch failed" >&2
      label="$k"; out=$RESULTS/$k.json
      echo '{"Action":"fail","Package":"(fetch-kernel.sh '"$k"')"}' >"$out"
      args+=("$label" "$out"); continue
    fi
    kver=$(ls "$dir/lib/modules" | head -n1)
    label="$kver ($k)"
    out=$RESULTS/$k.json
    echo "== $label: $dir"
    # One VM per test binary; binaries of different packages may boot in
    # parallel (each VM is its own kernel, no need for the host's lock).
    cmd=(env VM_KERNEL_DIR="$dir" "$GO" test -json -p "${VM_JOBS:-1}" -count=1 -timeout "$TEST_TIMEOUT"
         -exec "$HERE/run-in-vm.sh")
  fi
  # shellcheck disable=SC2086
  "${cmd[@]}" ${TEST_FLAGS:-} "${PKGS[@]}" 2>&1 | tee "$out" | "$REPORT/kernel-report" -progress "$label" || true
  echo "   $(( $(date +%s) - t0 )) s"
  args+=("$label" "$out")
done
echo
echo "Kernel matrix ($(( $(date +%s) - T0 )) s; go test -json output in $RESULTS):"
"$REPORT/kernel-report" "${args[@]}"
