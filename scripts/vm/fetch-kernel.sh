#!/bin/bash
# Usage: fetch-kernel.sh PACKAGE
#
# Downloads a Debian kernel package with `apt-get download` (never installs it:
# nothing goes to the host's /boot or /lib/modules), extracts it into the cache
# and runs depmod there. Prints the extracted directory, the value for
# VM_KERNEL_DIR of run-in-vm.sh. Idempotent: a cached kernel is reused.
#
# PACKAGE is a concrete image (linux-image-6.1.0-56-amd64) or a metapackage
# (linux-image-amd64, linux-image-6.12-amd64) followed to the image it depends
# on. Layout:
#   $VM_CACHE/<image-pkg>_<version>/{boot,lib/modules/KVER}   extracted kernel
#   $VM_CACHE/by-name/<PACKAGE> -> ../<image-pkg>_<version>   last resolution,
#       used when apt can't resolve the name (no package lists, offline)
# Env: VM_CACHE (default /var/cache/bpfunit-vm).
set -euo pipefail
PKG=${1:?usage: fetch-kernel.sh PACKAGE}
CACHE=${VM_CACHE:-/var/cache/bpfunit-vm}
log() { echo "fetch-kernel: $*" >&2; }

mkdir -p "$CACHE/by-name"
exec 9>"$CACHE/.lock"
flock 9

candidate() { apt-cache show --no-all-versions "$1" 2>/dev/null | sed -n 's/^Version: //p' | head -n1; }

# Follow metapackages: the first linux-image-* dependency of a package that has one.
resolve() {
  local p=$1 dep
  for _ in 1 2 3 4; do
    dep=$(apt-cache depends --no-recommends --no-suggests "$p" 2>/dev/null |
      sed -n 's/^ *|\{0,1\}Depends: \(linux-image-[^ ]*\)$/\1/p' | head -n1)
    [ -n "$dep" ] || break
    p=$dep
  done
  echo "$p"
}

ver=$(candidate "$PKG")
if [ -z "$ver" ] && [ "$(id -u)" = 0 ]; then
  log "$PKG unknown to apt, running apt-get update"
  apt-get update -qq >&2 || true
  ver=$(candidate "$PKG")
fi
if [ -z "$ver" ]; then
  if [ -e "$CACHE/by-name/$PKG/.complete" ]; then
    log "apt can't resolve $PKG; using the cached $(readlink "$CACHE/by-name/$PKG")"
    readlink -f "$CACHE/by-name/$PKG"; exit 0
  fi
  log "no package $PKG (apt-cache search linux-image lists candidates)"; exit 1
fi
IMG=$(resolve "$PKG")
IVER=$(candidate "$IMG")
[ -n "$IVER" ] || { log "$PKG depends on $IMG, which apt doesn't know"; exit 1; }
DIR=$CACHE/${IMG}_$IVER

if [ ! -e "$DIR/.complete" ]; then
  tmp=$(mktemp -d "$CACHE/.fetch.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  log "downloading $IMG $IVER"
  (cd "$tmp" && apt-get download -q "$IMG=$IVER" >&2)
  deb=$(ls "$tmp"/*.deb)
  mkdir "$tmp/x"
  dpkg-deb -x "$deb" "$tmp/x"
  rm -f "$deb"
  # usr-merged packages (trixie and later) put modules under usr/lib
  [ -d "$tmp/x/lib/modules" ] || { mkdir -p "$tmp/x/lib"; ln -s ../usr/lib/modules "$tmp/x/lib/modules"; }
  KVER=$(ls "$tmp/x/lib/modules" | head -n1)
  [ -f "$tmp/x/boot/vmlinuz-$KVER" ] || { log "no boot/vmlinuz-$KVER in $IMG"; exit 1; }
  depmod -b "$tmp/x" "$KVER"
  echo "$IMG $IVER $KVER" > "$tmp/x/.complete"
  rm -rf "$DIR"
  mv "$tmp/x" "$DIR"
  log "extracted $KVER into $DIR"
fi
ln -sfn "../$(basename "$DIR")" "$CACHE/by-name/$PKG"
echo "$DIR"
