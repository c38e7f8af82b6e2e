#!/bin/busybox sh
# PID 1 of the test VM; run-in-vm.sh puts it into the initramfs as /init.
# Mounts the host's / (9p tag "root", read-only) on /newroot with tmpfs
# overlays on the directories programs write to, mounts the kernel API
# filesystems a BPF test needs, then runs /run/vm/cmd.sh (9p tag "work") in a
# chroot. The command's output goes to /run/vm/out, which the host streams;
# its exit code to /run/vm/exit. Kernel messages and init errors go to ttyS0.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
say() { echo "vm-init: $*" >/dev/ttyS0; }
fail() { say "$*"; echo "vm-init: $*" >>/vmwork/out 2>/dev/null; poweroff -f; }
for m in $(cat /modules.list); do insmod "/modules/$m" || say "insmod $m failed"; done

R=/newroot
mkdir -p $R /vmwork /rw
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 work /vmwork || fail "mount work"
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose root $R || fail "mount root"
mount -t tmpfs -o mode=0755 tmpfs /rw
for d in var etc root home srv opt; do
  [ -d $R/$d ] && [ ! -L $R/$d ] || continue
  mkdir -p /rw/$d/upper /rw/$d/work
  mount -t overlay overlay -o lowerdir=$R/$d,upperdir=/rw/$d/upper,workdir=/rw/$d/work $R/$d || fail "overlay $d"
done
# /tmp is a plain tmpfs, not an overlay: overlayfs can't have an upper
# layer on overlayfs, and tests build overlays in temporary directories.
# Directories of the host the command needs (go test's binary under
# /tmp/go-build*) come back read-write over 9p (tags rw0, rw1, ...).
# The source tree around the working directory gets a writable overlay
# below. Hold on to the host's copy first: when the tree lives under /tmp
# or /run (a CI clone in /tmp, say), the fresh tmpfs mounts would hide it.
OVL=$(cat /vmwork/overlay 2>/dev/null)
if [ -n "$OVL" ] && [ -d "$R$OVL" ]; then
  mkdir -p /rw/tree/lower /rw/tree/upper /rw/tree/work
  mount --bind "$R$OVL" /rw/tree/lower || say "bind $OVL"
fi
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs $R/tmp
i=0
while read -r d; do
  mkdir -p "$R$d" && mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 rw$i "$R$d" || say "mount $d"
  i=$((i + 1))
done </vmwork/rwdirs
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs $R/run
mkdir -p $R/run/lock $R/run/netns $R/run/vm
if [ -d /rw/tree/lower ]; then
  mkdir -p "$R$OVL"
  mount -t overlay overlay -o lowerdir=/rw/tree/lower,upperdir=/rw/tree/upper,workdir=/rw/tree/work "$R$OVL" || say "overlay $OVL"
fi
mount -t proc proc $R/proc
mount -t sysfs sysfs $R/sys
mount -t devtmpfs devtmpfs $R/dev
mkdir -p $R/dev/pts $R/dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts $R/dev/pts
mount -t tmpfs -o mode=1777 tmpfs $R/dev/shm
mount -t bpf -o mode=0700 bpf $R/sys/fs/bpf || say "no bpffs"
mount -t tracefs tracefs $R/sys/kernel/tracing || say "no tracefs"
mount -t debugfs debugfs $R/sys/kernel/debug || say "no debugfs"
mount -t cgroup2 -o nsdelegate cgroup2 $R/sys/fs/cgroup || say "no cgroup2"
mount -t securityfs securityfs $R/sys/kernel/security || say "no securityfs"
mount --bind /vmwork $R/run/vm

# The guest kernel's modules at /lib/modules/$(uname -r), for modprobe inside
# and for the kernel's own module autoloading (request_module runs
# /sbin/modprobe in the initramfs: a wrapper chroots into the host's).
ML=$R/lib/modules
if [ ! -d $ML ]; then  # the host has no /lib/modules: overlay /usr/lib to create it
  mkdir -p /rw/usrlib/upper /rw/usrlib/work
  mount -t overlay overlay -o lowerdir=$R/usr/lib,upperdir=/rw/usrlib/upper,workdir=/rw/usrlib/work $R/usr/lib || say "overlay /usr/lib"
  mkdir -p $ML
else
  mount -t tmpfs tmpfs $ML
fi
mkdir -p $ML/$(uname -r) && mount --bind $R$(cat /vmwork/moddir) $ML/$(uname -r) || say "no modules"
mkdir -p /sbin
printf '#!/bin/sh\nexec /bin/chroot /newroot /sbin/modprobe "$@"\n' >/sbin/modprobe
chmod 755 /sbin/modprobe
echo /sbin/modprobe >/proc/sys/kernel/modprobe

hostname bpfunit-vm
ip link set lo up
: >/vmwork/started
chroot $R /bin/bash /run/vm/cmd.sh </dev/null >>/vmwork/out 2>&1
echo $? >/vmwork/exit
sync
poweroff -f
