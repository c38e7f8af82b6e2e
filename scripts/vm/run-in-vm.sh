#!/bin/bash
# Usage: run-in-vm.sh CMD [ARGS...]
#        go test -exec "$PWD/scripts/vm/run-in-vm.sh" ./...
#
# Boots a Debian kernel under qemu with the host's root filesystem shared
# read-only over 9p (tmpfs overlays on /var /etc /root /home /srv /opt and on
# the source tree around the current directory, fresh tmpfs on /tmp and /run;
# CMD's directory, when in /tmp, and VM_RW_DIRS shared read-write), runs CMD as root in the current directory with the
# current environment, streams its output (stdout and stderr merged) and exits
# with its exit code. No network device: only lo, create veths inside.
# Inside, BPFUNIT_VM is set to the guest's `uname -r`, BPFUNIT_VM_ACCEL to kvm or tcg.
#
# Env:
#   VM_KERNEL_DIR   a kernel extracted by fetch-kernel.sh (boot/, lib/modules/)
#   VM_KERNEL       or a package name for fetch-kernel.sh (cached: fast)
#   VM_CACHE        cache directory (/var/cache/bpfunit-vm): kernels, initramfs
#   VM_MEM (2G) VM_SMP (2) VM_APPEND (extra kernel cmdline)
#   VM_ACCEL        kvm or tcg (default: kvm only with real VMX/SVM)
#   VM_OVERLAY_DIR  directory made writable by a tmpfs overlay (default: the
#                   git or module root around the current directory; "" none)
#   VM_RW_DIRS      host directories shared read-write (space-separated)
#   VM_TCG_THREAD   single (default) or multi: multi-threaded TCG races with
#                   the kernel's live code patching (oopses, hangs)
#   VM_CONSOLE_LOG  file for the kernel console (default: printed only on a crash)
# Exit status: CMD's, 125 when the directory doesn't exist in the guest,
# 126 when the VM ended without an exit code (crash, panic, timeout).
set -euo pipefail
HERE=$(dirname "$(readlink -f "$0")")
CACHE=${VM_CACHE:-/var/cache/bpfunit-vm}
die() { echo "run-in-vm: $*" >&2; exit 126; }
[ $# -gt 0 ] || die "usage: run-in-vm.sh CMD [ARGS...]"

KDIR=${VM_KERNEL_DIR:-}
if [ -z "$KDIR" ]; then
  [ -n "${VM_KERNEL:-}" ] || die "set VM_KERNEL_DIR (see fetch-kernel.sh) or VM_KERNEL=PACKAGE"
  if [ -e "$CACHE/by-name/$VM_KERNEL/.complete" ]; then KDIR=$(readlink -f "$CACHE/by-name/$VM_KERNEL")
  else KDIR=$(VM_CACHE=$CACHE "$HERE/fetch-kernel.sh" "$VM_KERNEL") || die "fetch-kernel.sh $VM_KERNEL failed"; fi
fi
KVER=$(ls "$KDIR/lib/modules" 2>/dev/null | head -n1)
[ -n "$KVER" ] || die "no lib/modules/KVER in $KDIR"
VMLINUZ=$KDIR/boot/vmlinuz-$KVER
MODDIR=$(readlink -f "$KDIR/lib/modules/$KVER")
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing (make vm-deps)"
[ -x /bin/busybox ] || die "/bin/busybox missing (make vm-deps: busybox-static)"

# The initramfs: static busybox, init.sh, and the modules needed to mount the
# root (virtio-pci, 9p, overlay) plus veth, in dependency order, decompressed.
# Cached per kernel and per content of init.sh and this list.
MODS="virtio_pci 9pnet_virtio 9p overlay veth"
IDIR=$CACHE/initramfs
mkdir -p "$IDIR" 2>/dev/null && [ -w "$IDIR" ] || IDIR=${XDG_CACHE_HOME:-$HOME/.cache}/bpfunit-vm/initramfs
mkdir -p "$IDIR"
KEY=$( (cat "$HERE/init.sh"; echo "$MODS"; stat -c %s /bin/busybox) | sha256sum | cut -c1-12)
INITRD=$IDIR/$KVER-$KEY.cpio.gz
if [ ! -s "$INITRD" ]; then
  t=$(mktemp -d)
  trap 'rm -rf "$t" "$INITRD.$$"' EXIT
  mkdir -p "$t"/{bin,proc,sys,dev,rw,vmwork,newroot,modules}
  cp /bin/busybox "$t/bin/busybox"
  cp "$HERE/init.sh" "$t/init"; chmod 755 "$t/init"
  : >"$t/modules.list"
  for m in $MODS; do
    modprobe -d "$KDIR" -S "$KVER" --show-depends "$m" || die "module $m not found for $KVER"
  done | awk '$1 == "insmod" && !seen[$2]++ { print $2 }' | while read -r ko; do
    base=$(basename "$ko"); name=${base%%.ko*}.ko
    case $ko in
      *.xz) xz -dc "$ko" ;; *.zst) zstd -qdc "$ko" ;; *.gz) gzip -dc "$ko" ;; *) cat "$ko" ;;
    esac >"$t/modules/$name"
    echo "$name" >>"$t/modules.list"
  done
  (cd "$t" && find . | /bin/busybox cpio -o -H newc 2>/dev/null | gzip -1) >"$INITRD.$$"
  mv "$INITRD.$$" "$INITRD"
  for old in "$IDIR/$KVER"-*.cpio.gz; do [ "$old" = "$INITRD" ] || rm -f "$old"; done
  rm -rf "$t"; trap - EXIT
fi

# KVM needs real VMX/SVM: a nested "KVM" without them in cpuinfo can't run a
# stock kernel (-cpu host aborts on an MSR). Then TCG, ~10x slower.
if [ -z "${VM_ACCEL:-}" ]; then
  if [ -w /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo; then VM_ACCEL=kvm; else VM_ACCEL=tcg; fi
fi
if [ "$VM_ACCEL" = kvm ]; then CPU=${VM_CPU:-host} ACCEL=kvm
else CPU=${VM_CPU:-max} ACCEL=tcg,thread=${VM_TCG_THREAD:-single}; fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/bpfunit-vm.XXXXXX")
QPID= TPID=
cleanup() {
  [ -z "$QPID" ] || kill "$QPID" 2>/dev/null || true
  [ -z "$TPID" ] || kill "$TPID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo "run-in-vm: interrupted, stopping the VM" >&2; exit 130' INT TERM QUIT HUP

echo "$MODDIR" >"$WORK/moddir"
# The guest's /tmp is empty: share the command's directory when it is in
# the host's /tmp (go test's binary in /tmp/go-build*/bNNN), read-write so
# that the binary can write its testlog or coverage there, plus VM_RW_DIRS.
RWDIRS=()
cmddir=$(dirname "$(readlink -f "$(command -v "$1" || echo "$1")")")
case $cmddir/ in /tmp/*) RWDIRS+=("$cmddir") ;; esac
for d in ${VM_RW_DIRS:-}; do RWDIRS+=("$(readlink -f "$d")"); done
# The module (or git) root around the working directory is writable in the
# guest through a tmpfs overlay: tests that build into the tree (make
# install, go build -o bin/) work, and nothing reaches the host's tree.
ovl=${VM_OVERLAY_DIR-}
if [ -z "${VM_OVERLAY_DIR+set}" ]; then
  d=$PWD
  while [ "$d" != / ]; do
    if [ -e "$d/go.mod" ] || [ -e "$d/.git" ]; then ovl=$d; fi
    [ ! -e "$d/.git" ] || break
    d=$(dirname "$d")
  done
fi
echo "$ovl" >"$WORK/overlay"
: >"$WORK/rwdirs"
RWFS=()
for i in "${!RWDIRS[@]}"; do
  echo "${RWDIRS[$i]}" >>"$WORK/rwdirs"
  RWFS+=(-virtfs "local,path=${RWDIRS[$i]},mount_tag=rw$i,security_model=none,multidevs=remap")
done
: >"$WORK/out"
{
  for v in $(compgen -e); do
    case $v in
      PWD|OLDPWD|SHLVL|_|HOSTNAME|TERM|DISPLAY|WAYLAND_DISPLAY|XDG_RUNTIME_DIR|DBUS_SESSION_BUS_ADDRESS|SSH_*|NOTIFY_SOCKET|LISTEN_*|INVOCATION_ID|JOURNAL_STREAM) continue ;;
    esac
    [[ $v =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || continue
    printf 'export %s=%q\n' "$v" "${!v}"
  done
  printf 'export BPFUNIT_VM=%q BPFUNIT_VM_ACCEL=%q TERM=dumb\n' "$KVER" "${ACCEL%%,*}"
  printf 'cd %q || exit 125\n' "$PWD"
  printf 'exec'; printf ' %q' "$@"; echo
} >"$WORK/cmd.sh"

# A boot can crash before the command starts: under multi-threaded TCG,
# the kernel's live text patching (int3 + cross-CPU sync) occasionally oopses
# (seen with VM_TCG_THREAD=multi). Nothing ran yet then: boot again.
CONSOLE=${VM_CONSOLE_LOG:-$WORK/console}
for attempt in 1 2 3; do
  rm -f "$WORK/started" "$WORK/exit"
  qemu-system-x86_64 -nodefaults -no-user-config -display none -no-reboot \
    -machine q35 -accel "$ACCEL" -cpu "$CPU" -m "${VM_MEM:-2G}" -smp "${VM_SMP:-2}" \
    -kernel "$VMLINUZ" -initrd "$INITRD" \
    -append "console=ttyS0 quiet panic=-1 mitigations=off ${VM_APPEND:-}" \
    -virtfs local,path=/,mount_tag=root,security_model=none,readonly=on,multidevs=remap \
    -virtfs local,path="$WORK",mount_tag=work,security_model=none,multidevs=remap "${RWFS[@]}" \
    -serial "file:$CONSOLE" </dev/null &
  QPID=$!
  tail -c +1 --pid=$QPID -f "$WORK/out" &
  TPID=$!
  set +e
  wait $QPID
  qrc=$?
  QPID=
  wait $TPID
  TPID=
  set -e
  if [ -s "$WORK/exit" ]; then exit "$(cat "$WORK/exit")"; fi
  [ ! -e "$WORK/started" ] || break
  echo "run-in-vm: the VM ($KVER) crashed while booting (attempt $attempt); console:" >&2
  grep -m1 -A3 -E 'Oops|BUG|panic' "$CONSOLE" >&2 || tail -n 5 "$CONSOLE" >&2 || true
done
echo "run-in-vm: the VM ($KVER) ended without an exit code (qemu status $qrc); console:" >&2
tail -n 40 "$CONSOLE" >&2 2>/dev/null || true
exit 126
