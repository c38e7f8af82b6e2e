// SPDX-License-Identifier: (MIT OR GPL-2.0-only)
//go:build ignore

/*
 * trace_counter: counts tracepoint events.
 *
 * trace_stats[0] tp_getpid hits (tracepoint syscalls:sys_enter_getpid),
 * trace_stats[1] raw_tp_sys_enter hits (raw tracepoint sys_enter, every
 * syscall), btf_stats[0] tp_btf_sys_enter hits (BTF tracepoint sys_enter,
 * every syscall), btf_stats[1] unused (0).
 *
 * target_tgid (.rodata): when nonzero, only events of that process count.
 */
#include "common.h"

TGID_FILTER

COUNTER_MAP(trace_stats, 2);
COUNTER_MAP(btf_stats, 2);

SEC("tracepoint/syscalls/sys_enter_getpid")
int tp_getpid(void *ctx)
{
	if (tgid_match())
		counter_add(&trace_stats, 0, 1);
	return 0;
}

SEC("raw_tracepoint/sys_enter")
int raw_tp_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	if (tgid_match())
		counter_add(&trace_stats, 1, 1);
	return 0;
}

/* Untyped ctx (the u64 argument array): no vmlinux.h needed. */
SEC("tp_btf/sys_enter")
int tp_btf_sys_enter(unsigned long long *ctx)
{
	if (tgid_match())
		counter_add(&btf_stats, 0, 1);
	return 0;
}

char _license[] SEC("license") = "Dual MIT/GPL";
