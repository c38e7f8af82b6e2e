// SPDX-License-Identifier: (MIT OR GPL-2.0-only)
//go:build ignore

/*
 * tailcall: an XDP entry program that tail-calls through a PROG_ARRAY.
 *
 * jmp_table (PROG_ARRAY, 4 entries) is initialised in the object with
 * jmp_table[0] = xdp_tail, so loading the collection populates it.
 * tail_stats[0] packets handled by xdp_tail, tail_stats[1] packets where the
 * tail call failed (empty slot) and xdp_entry passed them itself.
 * Both programs return XDP_PASS.
 */
#include "common.h"

COUNTER_MAP(tail_stats, 2);

SEC("xdp")
int xdp_tail(struct xdp_md *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, int(void *));
} jmp_table SEC(".maps") = {
	.values = {
		[0] = (void *)&xdp_tail,
	},
};

SEC("xdp")
int xdp_entry(struct xdp_md *ctx)
{
	bpf_tail_call(ctx, &jmp_table, 0);
	/* Only reached when jmp_table[0] is empty. */
	counter_add(&tail_stats, 1, 1);
	return XDP_PASS;
}

SEC("xdp")
int xdp_tail(struct xdp_md *ctx)
{
	counter_add(&tail_stats, 0, 1);
	return XDP_PASS;
}

char _license[] SEC("license") = "Dual MIT/GPL";
