// SPDX-License-Identifier: (MIT OR GPL-2.0-only)
//go:build ignore

/*
 * tcx_counter: counts packets on the tcx hooks (kernel >= 6.6).
 *
 * tcx_stats[0] ingress packets, tcx_stats[1] egress packets.
 * Both programs return TCX_NEXT: the next program in the chain (or the
 * default action) decides.
 */
#include "common.h"

/* linux-libc-dev 6.1 predates tcx. */
#ifndef TCX_NEXT
#define TCX_NEXT -1
#endif

COUNTER_MAP(tcx_stats, 2);

SEC("tcx/ingress")
int tcx_ingress(struct __sk_buff *skb)
{
	counter_add(&tcx_stats, 0, 1);
	return TCX_NEXT;
}

SEC("tcx/egress")
int tcx_egress(struct __sk_buff *skb)
{
	counter_add(&tcx_stats, 1, 1);
	return TCX_NEXT;
}

char _license[] SEC("license") = "Dual MIT/GPL";
