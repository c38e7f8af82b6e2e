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
#      VM_JOBS test binaries booted at once per kernel (1), KERNEL_JOBS VM
#      kernels tested at once (2), RESULTS (build/test-kernels),
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
rm -f "$RESULTS"/*.json "$RESULTS"/*.label

REPORT=$(mktemp -d)
trap 'rm -rf "$REPORT"' EXIT
"$GO" build -o "$REPORT/kernel-report" ./internal/testenv/vm/cmd/kernel-report

# run_kernel ENTRY LABELFILE: runs the suite under one kernel into
# $RESULTS/ENTRY.json, prints a progress line per package.
run_kernel() {
  local k=$1 t0 dir kver label out
  t0=$(date +%s)
  out=$RESULTS/$k.json
  if [ "$k" = host ]; then
    label="$(uname -r) (host)"
    echo "== $label"
    cmd=(flock "$LOCK" "$GO" test -json -p 1 -count=1 -timeout "$TEST_TIMEOUT")
  else
    if ! dir=$("$HERE/fetch-kernel.sh" "$k"); then
      echo "== $k: fetch-kernel.sh failed" >&2
      echo "$k" >"$RESULTS/$k.label"
      echo '{"Action":"fail","Package":"(fetch-kernel.sh '"$k"')"}' >"$out"
      return
    fi
    kver=$(ls "$dir/lib/modules" | head -n1)
    label="$kver ($k)"
    echo "== $label: $dir"
    # One VM per test binary; each VM is its own kernel: no host lock.
    cmd=(env VM_KERNEL_DIR="$dir" "$GO" test -json -p "${VM_JOBS:-1}" -count=1 -timeout "$TEST_TIMEOUT"
         -exec "$HERE/run-in-vm.sh")
  fi
  echo "$label" >"$RESULTS/$k.label"
  # shellcheck disable=SC2086
  "${cmd[@]}" ${TEST_FLAGS:-} "${PKGS[@]}" 2>&1 | tee "$out" | "$REPORT/kernel-report" -progress "$label" || true
  echo "== $label: $(( $(date +%s) - t0 )) s"
}

T0=$(date +%s)
# The host first, alone (its tests time things); then the VM kernels,
# KERNEL_JOBS at a time (default 2: under TCG a VM keeps about one core busy).
vms=()
for k in $KERNELS; do
  if [ "$k" = host ]; then run_kernel host; else vms+=("$k"); fi
done
jobs_max=${KERNEL_JOBS:-2}
for k in "${vms[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n || true; done
  run_kernel "$k" &
done
wait
args=()
for k in $KERNELS; do args+=("$(cat "$RESULTS/$k.label")" "$RESULTS/$k.json"); done
echo
echo "Kernel matrix ($(( $(date +%s) - T0 )) s; go test -json output in $RESULTS):"
"$REPORT/kernel-report" "${args[@]}"
