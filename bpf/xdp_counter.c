// SPDX-License-Identifier: (MIT OR GPL-2.0-only)
//go:build ignore

/*
 * xdp_counter: counts packets and bytes seen by XDP.
 *
 * xdp_stats[0] packets, xdp_stats[1] bytes (both programs).
 * xdp_version[0] = version of the program that ran last (1 = xdp_count,
 * 2 = xdp_count_v2), xdp_version[1] = packets seen by xdp_count,
 * xdp_version[2] = packets seen by xdp_count_v2: after a replace, a test
 * can tell which program handles traffic.
 *
 * drop (.rodata): 0 = XDP_PASS (default), nonzero = XDP_DROP.
 */
#include "common.h"

const volatile __u32 drop = 0;

COUNTER_MAP(xdp_stats, 2);
COUNTER_MAP(xdp_version, 3);

static __always_inline int count(struct xdp_md *ctx, __u32 version)
{
	__u64 len = ctx->data_end - ctx->data;

	counter_add(&xdp_stats, 0, 1);
	counter_add(&xdp_stats, 1, len);
	counter_set(&xdp_version, 0, version);
	counter_add(&xdp_version, version, 1);
	return drop ? XDP_DROP : XDP_PASS;
}

SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	return count(ctx, 1);
}

SEC("xdp")
int xdp_count_v2(struct xdp_md *ctx)
{
	return count(ctx, 2);
}

char _license[] SEC("license") = "Dual MIT/GPL";
