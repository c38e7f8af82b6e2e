#!/bin/bash
# demo.sh — the whole bpfunit story, in a testbed, never touching the host:
# a real systemd 252 boots as PID 1 in its own namespaces with bpfunit
# installed; a config attaches the XDP counter to a veth pair in network
# namespaces; systemctl starts it, traffic flows, status shows the live
# counters; systemctl stops it and nothing of it is left in the kernel.
#
# Usage: sudo scripts/demo.sh   (make demo builds and installs first)
set -euo pipefail
cd "$(dirname "$0")/.."
STATE=${TESTBED_STATE:-/tmp/bpfunit-demo}
export TESTBED_STATE=$STATE TESTBED_STAGE=$STATE/stage TESTBED_NAME=bpfunit-demo
TB=scripts/testbed/testbed.sh

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
in_tb() { "$TB" sh "$@"; }
show() { printf '\033[2m# %s\033[0m\n' "$*"; in_tb bash -c "$*"; }

count_bpf() { bpftool prog show 2>/dev/null | grep -c '^[0-9]' || true; }
progs_before=$(count_bpf)

cleanup() {
	in_tb ip netns del demo-a 2>/dev/null || true
	in_tb ip netns del demo-b 2>/dev/null || true
	"$TB" stop >/dev/null 2>&1 || true
	rm -rf "$STATE"
}
trap cleanup EXIT

say "boot a real systemd as PID 1 in its own namespaces, with bpfunit installed"
rm -rf "$STATE/disk"
"$TB" start

say "a veth pair between two network namespaces (inside the testbed)"
in_tb ip netns add demo-a
in_tb ip netns add demo-b
in_tb ip -n demo-a link add veth-a type veth peer name veth-b netns demo-b
in_tb ip -n demo-a addr add 10.198.0.1/24 dev veth-a
in_tb ip -n demo-b addr add 10.198.0.2/24 dev veth-b
in_tb ip -n demo-a link set veth-a up
in_tb ip -n demo-b link set veth-b up

say "a config: count packets arriving on veth-b with XDP"
in_tb mkdir -p /etc/bpfunit
in_tb tee /etc/bpfunit/demo.bpfunit <<'CONF'
[Unit]
Description=Count packets arriving on veth-b (XDP)

[Object]
Path=/usr/lib/bpfunit/objects/xdp_counter.bpf.o
PinMaps=yes

[Attach]
Program=xdp_count
Interface=veth-b
Namespace=demo-b

[Install]
WantedBy=bpf.target
CONF
show systemctl daemon-reload

say "systemctl start bpf@demo — the oneshot attaches, pins and exits"
show systemctl start bpf@demo.service
link_id=$(in_tb bpfunit status --json demo | sed -n 's/.*"link_id": \([0-9]*\).*/\1/p' | head -1)
show ip netns exec demo-a ping -q -c 20 -i 0.05 10.198.0.2 | tail -2
show systemctl status bpf@demo.service --no-pager --lines=3 || true
show bpfunit status demo
show bpftool link show id "$link_id"

say "systemctl reload bpf@demo — swap the program atomically, counters kept"
show systemctl reload bpf@demo.service
show ip netns exec demo-a ping -q -c 10 -i 0.05 10.198.0.2 | tail -1
show bpfunit status demo

say "systemctl stop bpf@demo — detached, unpinned, nothing left"
show systemctl stop bpf@demo.service
show "ls -A /sys/fs/bpf/bpfunit; bpftool link show id $link_id 2>&1 || true"
show bpfunit list

say "power the testbed off; the host has exactly the BPF programs it had before"
"$TB" stop
progs_after=$(count_bpf)
echo "BPF programs in the kernel: before the demo $progs_before, after $progs_after"
[ "$progs_before" = "$progs_after" ] || { echo "LEAK: programs differ"; exit 1; }
echo "nothing left."
