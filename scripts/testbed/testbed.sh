#!/bin/bash
# testbed.sh — boot a real systemd as PID 1 in its own namespaces, for bpfunit's
# tests and for humans (`make testbed-shell`, `make demo`).
#
#   testbed.sh start        boot; prints "pid=PID state=STATE boot_seconds=S"
#   testbed.sh sh [CMD...]  run CMD (default: bash) in every namespace of the testbed
#   testbed.sh stop         power off; SIGKILL fallback; remove the delegated cgroup
#   testbed.sh clean        stop if running, then delete the state dir (the "disk")
#
# The testbed gets new pid/mount/uts/ipc/cgroup namespaces; the network namespace
# is the host's (put traffic into `ip netns` namespaces of your own). Nothing the
# testbed writes reaches the host's files: /etc, /usr and /var are overlayfs
# mounts whose upper layers live in $TESTBED_STATE/disk, /run /tmp /dev are
# private tmpfs. The disk survives stop/start, which is how a reboot is modelled.
#
# Environment:
#   TESTBED_STATE   state dir (default /tmp/bpfunit-testbed): pid files, console.log, disk/
#   TESTBED_STAGE   a `make install DESTDIR=` tree copied over / at every boot (optional)
#   TESTBED_BPFFS   1 (default): mount a fresh bpffs on /sys/fs/bpf; 0: leave it to units
#   TESTBED_NAME    hostname inside (default bpfunit-testbed)
#   TESTBED_WANTS   units the boot target pulls in, space-separated (e.g. bpf.target)
#
# Used by internal/testenv/testbed; keep the output of `start` and the files in
# $TESTBED_STATE (pid, unshare.pid, cgroup, console.log) stable.
set -euo pipefail
STATE=${TESTBED_STATE:-/tmp/bpfunit-testbed}
NAME=${TESTBED_NAME:-bpfunit-testbed}
SELF=$(readlink -f "$0")
BOOT_TARGET=bpfunit-testbed.target

# Units that would change host-wide kernel state (sysctl, modules, binfmt, swap,
# udev, clock, audit...) or start host services. Masked in
# /run/systemd/system.control, which outranks /etc and /usr.
MASK="systemd-remount-fs.service systemd-journald-audit.socket
systemd-udevd.service systemd-udevd-control.socket systemd-udevd-kernel.socket
systemd-udev-trigger.service systemd-udev-settle.service
systemd-sysctl.service systemd-modules-load.service kmod-static-nodes.service
systemd-binfmt.service proc-sys-fs-binfmt_misc.automount proc-sys-fs-binfmt_misc.mount
systemd-timesyncd.service systemd-pstore.service systemd-random-seed.service
systemd-firstboot.service systemd-machine-id-commit.service systemd-repart.service
systemd-pcrphase.service systemd-pcrphase-sysinit.service systemd-sysusers.service
systemd-tmpfiles-setup.service systemd-tmpfiles-setup-dev.service systemd-tmpfiles-clean.timer
systemd-update-utmp.service systemd-journal-flush.service systemd-hwdb-update.service
systemd-ask-password-console.path systemd-ask-password-wall.path
cryptsetup.target integritysetup.target veritysetup.target swap.target
console-getty.service getty@.service serial-getty@.service container-getty@.service
systemd-logind.service apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer
fstrim.timer man-db.timer logrotate.timer"

log() { echo "testbed: $*" >&2; }

host_cg2() {
    # the host's cgroup2 mount (/sys/fs/cgroup/unified on hybrid hosts)
    awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo
}

stage2() {
    # ---- PID 1 of the new namespaces; mount propagation is already private ----
    # The host's other mounts (other tests' bpffs, netns files, ...) were
    # copied into this namespace; a copy would keep a bpffs, and its pins,
    # alive after the host unmounted it. Drop them all, deepest first, except
    # /, the API filesystems replaced below, and what holds $STATE.
    awk '{ print $5 }' /proc/self/mountinfo | sort -ru | while read -r m; do
        case $m in /|/dev|/dev/*|/proc|/proc/*|/sys|/sys/*) continue ;; esac
        case $STATE/ in "$m"/*) continue ;; esac
        case ${TESTBED_STAGE:-/nonexistent}/ in "$m"/*) continue ;; esac
        umount -l "$m" 2>/dev/null || true
    done
    # Disk: overlays over /etc /usr /var, upper layers in $STATE/disk.
    for d in etc usr var; do
        mkdir -p "$STATE/disk/$d/upper" "$STATE/disk/$d/work"
        mount -t overlay overlay \
            -o "lowerdir=/$d,upperdir=$STATE/disk/$d/upper,workdir=$STATE/disk/$d/work" "/$d"
    done
    # The project's installed tree, as a package would put it. Only into the
    # overlays, one directory at a time: `cp -a STAGE/. /` would also copy
    # STAGE's own mode and owner onto the host's real / (it did, once).
    if [ -n "${TESTBED_STAGE:-}" ]; then
        for e in "$TESTBED_STAGE"/* "$TESTBED_STAGE"/.[!.]*; do
            [ -e "$e" ] || continue
            case ${e##*/} in
            etc|usr|var) cp -a "$e/." "/${e##*/}/" ;;
            *) echo "testbed: $e: only etc/, usr/ and var/ can be installed" >&2; exit 1 ;;
            esac
        done
    fi
    mount -t tmpfs -o mode=755 tmpfs /var/log/journal 2>/dev/null || true
    mount -t tmpfs -o mode=755,nosuid,nodev tmpfs /run
    # Private minimal /dev: nothing below touches the host's /dev.
    mkdir -p /run/.dev
    mount -t tmpfs -o mode=755,nosuid tmpfs /run/.dev
    for n in null zero full random urandom tty; do
        touch "/run/.dev/$n"; mount --bind "/dev/$n" "/run/.dev/$n"
    done
    mkdir -p /run/.dev/pts /run/.dev/shm /run/.dev/mqueue
    mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts /run/.dev/pts
    ln -s pts/ptmx /run/.dev/ptmx
    mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /run/.dev/shm
    mount -t mqueue mqueue /run/.dev/mqueue
    ln -s /proc/self/fd /run/.dev/fd
    ln -s /proc/self/fd/0 /run/.dev/stdin
    ln -s /proc/self/fd/1 /run/.dev/stdout
    ln -s /proc/self/fd/2 /run/.dev/stderr
    touch /run/.dev/console; mount --bind "$STATE/console.log" /run/.dev/console
    # Drop the host's /dev, /proc and /sys mounts rather than stacking over
    # them: a program that scans /proc/self/mountinfo (for the cgroup2 mount,
    # say) must find the testbed's mounts only.
    umount -R -l /dev
    mount --move /run/.dev /dev
    umount -R -l /proc
    mount -t proc -o nosuid,nodev,noexec proc /proc
    # Last, since $STATE usually lives under /tmp.
    mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
    # /sys: a fresh read-only sysfs (as systemd expects in a container);
    # then our own cgroup2 (rooted at the delegated cgroup thanks to the
    # cgroup namespace), a fresh bpffs, and tracefs for tracepoint and uprobe
    # attachments.
    umount -R -l /sys
    mount -t sysfs -o ro,nosuid,nodev,noexec sysfs /sys
    mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 /sys/fs/cgroup
    if [ "${TESTBED_BPFFS:-1}" = 1 ]; then
        mount -t bpf -o mode=700 bpf /sys/fs/bpf
    fi
    mount -t tracefs -o nosuid,nodev,noexec tracefs /sys/kernel/tracing
    hostname "$NAME"
    echo "$NAME" > /etc/hostname   # systemd sets the hostname from it at boot
    mkdir -p /run/systemd/system.control /run/systemd/system
    for u in $MASK; do ln -sf /dev/null "/run/systemd/system.control/$u"; done
    # A minimal boot target: only what a test asks for starts, never the host's
    # multi-user.target wants.
    cat > "/run/systemd/system/$BOOT_TARGET" <<'EOF'
[Unit]
Description=bpfunit testbed boot target
DefaultDependencies=no
Wants=systemd-journald.service dbus.socket
EOF
    for u in ${TESTBED_WANTS:-}; do
        printf 'Wants=%s\nAfter=%s\n' "$u" "$u" >> "/run/systemd/system/$BOOT_TARGET"
    done
    exec env -i container="$NAME" PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
        /lib/systemd/systemd --system --unit="$BOOT_TARGET" </dev/null
}

running() { [ -f "$STATE/pid" ] && kill -0 "$(cat "$STATE/pid")" 2>/dev/null; }

start() {
    if running; then log "already running: pid $(cat "$STATE/pid")"; exit 1; fi
    mkdir -p "$STATE"
    : > "$STATE/console.log"
    local cg2 self_cg cg upid pid s="" t0 t1
    cg2=$(host_cg2)
    [ -n "$cg2" ] || { log "no cgroup2 mount on the host"; exit 1; }
    self_cg=$cg2$(sed -n 's/^0:://p' /proc/self/cgroup)
    cg=$(mktemp -d "${self_cg%/}/bpfunit-testbed.XXXXXX")
    echo "$cg" > "$STATE/cgroup"
    t0=$(date +%s.%N)
    # The child moves itself into the delegated cgroup, then unshares: the new
    # cgroup namespace is rooted there. --kill-child: if unshare dies, PID 1 dies.
    ( echo "$BASHPID" > "$cg/cgroup.procs"
      exec setsid env TESTBED_STATE="$STATE" TESTBED_NAME="$NAME" \
        TESTBED_STAGE="${TESTBED_STAGE:-}" TESTBED_BPFFS="${TESTBED_BPFFS:-1}" TESTBED_WANTS="${TESTBED_WANTS:-}" \
        unshare --pid --fork --kill-child --mount --uts --ipc --cgroup \
        --propagation private "$SELF" stage2 </dev/null >>"$STATE/console.log" 2>&1 ) &
    upid=$!
    pid=""
    for _ in $(seq 200); do
        pid=$(awk '{print $1}' "/proc/$upid/task/$upid/children" 2>/dev/null || true)
        [ -n "$pid" ] && break
        sleep 0.01
    done
    [ -n "$pid" ] || { log "no PID 1 appeared; see $STATE/console.log"; exit 1; }
    echo "$upid" > "$STATE/unshare.pid"
    echo "$pid" > "$STATE/pid"
    # unshare lives outside the pid namespace: move it out of the delegated
    # cgroup, whose root must hold only the testbed's own processes.
    echo "$upid" > "$self_cg/cgroup.procs"
    for _ in $(seq 1000); do
        kill -0 "$pid" 2>/dev/null || { log "PID 1 died; see $STATE/console.log"; tail -20 "$STATE/console.log" >&2; exit 1; }
        s=$(nsenter -t "$pid" -a systemctl is-system-running 2>/dev/null || true)
        case $s in running|degraded) break ;; esac
        sleep 0.02
    done
    t1=$(date +%s.%N)
    echo "pid=$pid state=$s boot_seconds=$(awk "BEGIN{print $t1 - $t0}")"
    case $s in running|degraded) ;; *) exit 1 ;; esac
}

stop() {
    [ -f "$STATE/cgroup" ] || { log "not running"; return 0; }
    local pid upid cg
    pid=$(cat "$STATE/pid" 2>/dev/null || echo 0); upid=$(cat "$STATE/unshare.pid" 2>/dev/null || echo 0)
    if [ "$upid" -gt 0 ] && kill -0 "$upid" 2>/dev/null; then
        # SIGRTMIN+4 is systemd's "poweroff" signal, for when systemctl can't connect.
        nsenter -t "$pid" -a systemctl poweroff --no-block >/dev/null 2>&1 ||
            kill -s SIGRTMIN+4 "$pid" 2>/dev/null || true
        for _ in $(seq 500); do kill -0 "$upid" 2>/dev/null || break; sleep 0.02; done
        if kill -0 "$upid" 2>/dev/null; then
            log "poweroff timed out after 10s, SIGKILL"
            kill -9 "$pid" 2>/dev/null || true
            for _ in $(seq 500); do kill -0 "$upid" 2>/dev/null || break; sleep 0.02; done
        fi
    fi
    # The delegated cgroup tree is empty now; remove it deepest first. Removal of
    # a cgroup may lag the exit of its last process for a moment.
    cg=$(cat "$STATE/cgroup")
    for _ in $(seq 100); do
        [ -d "$cg" ] || break
        find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null || true
        [ -d "$cg" ] && sleep 0.02
    done
    rm -f "$STATE/pid" "$STATE/unshare.pid" "$STATE/cgroup"
    if [ -d "$cg" ]; then log "cgroup $cg still present"; return 1; fi
}

case "${1:-}" in
stage2) stage2 ;;
start) start ;;
sh)
    shift
    [ $# -gt 0 ] || set -- bash
    running || { log "not running"; exit 1; }
    exec nsenter -t "$(cat "$STATE/pid")" -a "$@" ;;
stop) stop ;;
clean) stop; rm -rf "$STATE" ;;
*) echo "usage: $0 start|sh [CMD...]|stop|clean" >&2; exit 2 ;;
esac
