// SPDX-License-Identifier: (MIT OR GPL-2.0-only)
//go:build ignore

/*
 * cgroup_counter: counts packets of a cgroup's sockets.
 *
 * cgroup_stats[0] egress packets, cgroup_stats[1] ingress packets.
 * Both programs return 1 (allow).
 */
#include "common.h"

COUNTER_MAP(cgroup_stats, 2);

SEC("cgroup_skb/egress")
int cgroup_egress(struct __sk_buff *skb)
{
	counter_add(&cgroup_stats, 0, 1);
	return 1;
}

SEC("cgroup_skb/ingress")
int cgroup_ingress(struct __sk_buff *skb)
{
	counter_add(&cgroup_stats, 1, 1);
	return 1;
}

char _license[] SEC("license") = "Dual MIT/GPL";
