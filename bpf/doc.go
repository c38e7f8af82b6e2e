// Package bpf holds the C sources of bpfunit's own example and test eBPF
// programs and the objects compiled from them, embedded with bpf2go.
//
// The objects are installed as /usr/lib/bpfunit/objects/NAME.bpf.o (make
// install-objects) for the configs in examples/, and tests get their bytes
// with [Object]. Every object is licensed "Dual MIT/GPL" (GPL-compatible, so
// GPL-only helpers work) and carries BTF. Counter maps are
// BPF_MAP_TYPE_ARRAY with a __u32 key and a __u64 value, updated atomically;
// by convention key 0 counts packets/events and key 1 bytes (0 for
// non-packet program types), unless stated otherwise below.
//
//	object             program            section
//	xdp_counter        xdp_count          xdp
//	                   xdp_count_v2       xdp
//	tcx_counter        tcx_ingress        tcx/ingress
//	                   tcx_egress         tcx/egress
//	cgroup_counter     cgroup_egress      cgroup_skb/egress
//	                   cgroup_ingress     cgroup_skb/ingress
//	trace_counter      tp_getpid          tracepoint/syscalls/sys_enter_getpid
//	                   raw_tp_sys_enter   raw_tracepoint/sys_enter
//	                   tp_btf_sys_enter   tp_btf/sys_enter
//	kfunc_counter      fentry_openat      fentry/do_sys_openat2
//	                   fexit_openat       fexit/do_sys_openat2
//	                   lsm_file_open      lsm/file_open
//	kprobe_counter     kprobe_openat      kprobe/do_sys_openat2
//	                   kretprobe_openat   kretprobe/do_sys_openat2
//	uprobe_counter     uprobe_hit         uprobe
//	                   uretprobe_hit      uretprobe
//	netfilter_counter  nf_count           netfilter
//	tailcall           xdp_entry          xdp
//	                   xdp_tail           xdp
//	bad                xdp_bad            xdp (rejected by the verifier)
//	                   xdp_ok             xdp
//
// Maps and constants (.rodata, set with Constant=NAME=VALUE):
//
//   - xdp_counter: xdp_stats[2] (0 packets, 1 bytes); xdp_version[3]
//     (0 = version of the program that ran last: 1 xdp_count, 2 xdp_count_v2;
//     1 = packets seen by xdp_count; 2 = packets seen by xdp_count_v2);
//     drop (u32): nonzero returns XDP_DROP instead of XDP_PASS.
//   - tcx_counter: tcx_stats[2] (0 ingress packets, 1 egress packets);
//     both return TCX_NEXT.
//   - cgroup_counter: cgroup_stats[2] (0 egress packets, 1 ingress
//     packets); both return 1 (allow).
//   - trace_counter: trace_stats[2] (0 tp_getpid hits, 1 raw_tp_sys_enter
//     hits); btf_stats[2] (0 tp_btf_sys_enter hits, 1 unused);
//     target_tgid (u32).
//   - kfunc_counter: kfunc_stats[3] (0 fentry, 1 fexit, 2 lsm hits);
//     lsm_file_open returns 0; target_tgid (u32). These program types fail
//     to load with EPERM on the development VM's kernel; they run on
//     Debian's 6.1.
//   - kprobe_counter: kprobe_stats[2] (0 kprobe, 1 kretprobe hits);
//     target_tgid (u32). The development VM's kernel has no kprobes; they
//     run on Debian's 6.1 and 6.12.
//   - uprobe_counter: uprobe_stats[2] (0 uprobe hits, 1 uretprobe hits);
//     target_tgid (u32).
//   - netfilter_counter: nf_stats[2] (0 packets, 1 bytes); returns
//     NF_ACCEPT.
//   - tailcall: jmp_table PROG_ARRAY[4], initialised in the object with
//     jmp_table[0] = xdp_tail; tail_stats[2] (0 packets handled by
//     xdp_tail, 1 packets where the tail call failed). Both return XDP_PASS.
//   - bad: no maps. xdp_bad reads packet data without a bounds check.
//
// target_tgid: when nonzero, only events of that process (thread group)
// count, so a test counts its own events only.
//
// # Regenerating
//
// The generated NAME_bpfel.go and NAME_bpfel.o files are committed: building
// bpfunit needs no clang. After changing a .c file, run
//
//	make generate   # or: go generate ./bpf/...
//
// which needs clang, llvm-strip and libbpf-dev (apt-get install clang llvm
// libbpf-dev), and commit the results. The objects are little-endian BPF
// (bpfel) only.
package bpf
