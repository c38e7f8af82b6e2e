// SPDX-License-Identifier: (MIT OR GPL-2.0-only)
//go:build ignore

/*
 * kfunc_counter: BTF-attached tracing programs.
 *
 * kfunc_stats[0] fentry_openat hits, kfunc_stats[1] fexit_openat hits,
 * kfunc_stats[2] lsm_file_open hits. lsm_file_open returns 0 (allow).
 *
 * target_tgid (.rodata): when nonzero, only events of that process count.
 *
 * These types load on Debian's 6.1 kernel; on the development VM's 6.18
 * kernel the load fails with EPERM (see DESIGN.md).
 */
#include "common.h"

TGID_FILTER

COUNTER_MAP(kfunc_stats, 3);

/* The argument array is untyped: no vmlinux.h needed. */
SEC("fentry/do_sys_openat2")
int fentry_openat(unsigned long long *ctx)
{
	if (tgid_match())
		counter_add(&kfunc_stats, 0, 1);
	return 0;
}

SEC("fexit/do_sys_openat2")
int fexit_openat(unsigned long long *ctx)
{
	if (tgid_match())
		counter_add(&kfunc_stats, 1, 1);
	return 0;
}

SEC("lsm/file_open")
int lsm_file_open(unsigned long long *ctx)
{
	if (tgid_match())
		counter_add(&kfunc_stats, 2, 1);
	return 0;
}

char _license[] SEC("license") = "Dual MIT/GPL";
