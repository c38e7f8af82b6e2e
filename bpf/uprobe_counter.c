// SPDX-License-Identifier: (MIT OR GPL-2.0-only)
//go:build ignore

/*
 * uprobe_counter: counts entries and returns of a user-space function
 * (the config names Binary= and Symbol=, e.g. /bin/bash readline).
 *
 * uprobe_stats[0] uprobe_hit hits, uprobe_stats[1] uretprobe_hit hits.
 *
 * target_tgid (.rodata): when nonzero, only that process counts.
 */
#include "common.h"

TGID_FILTER

COUNTER_MAP(uprobe_stats, 2);

SEC("uprobe")
int uprobe_hit(void *ctx)
{
	if (tgid_match())
		counter_add(&uprobe_stats, 0, 1);
	return 0;
}

SEC("uretprobe")
int uretprobe_hit(void *ctx)
{
	if (tgid_match())
		counter_add(&uprobe_stats, 1, 1);
	return 0;
}

char _license[] SEC("license") = "Dual MIT/GPL";
