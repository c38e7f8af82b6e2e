// SPDX-License-Identifier: (MIT OR GPL-2.0-only)
//go:build ignore

/*
 * kprobe_counter: kprobe and kretprobe on do_sys_openat2.
 *
 * kprobe_stats[0] kprobe_openat hits, kprobe_stats[1] kretprobe_openat hits.
 *
 * target_tgid (.rodata): when nonzero, only events of that process count.
 *
 * The kernel matrix's Debian kernels have kprobes; the development VM's
 * 6.18 kernel is built without them (CONFIG_KPROBES off), where a unit
 * of these fails before loading.
 */
#include "common.h"

TGID_FILTER

COUNTER_MAP(kprobe_stats, 2);

/* struct pt_regs is not needed: the programs read no argument. */
SEC("kprobe/do_sys_openat2")
int kprobe_openat(void *ctx)
{
	if (tgid_match())
		counter_add(&kprobe_stats, 0, 1);
	return 0;
}

SEC("kretprobe/do_sys_openat2")
int kretprobe_openat(void *ctx)
{
	if (tgid_match())
		counter_add(&kprobe_stats, 1, 1);
	return 0;
}

char _license[] SEC("license") = "Dual MIT/GPL";
