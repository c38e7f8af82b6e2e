// SPDX-License-Identifier: (MIT OR GPL-2.0-only)
//go:build ignore

/*
 * netfilter_counter: counts packets at a netfilter hook (kernel >= 6.4).
 *
 * nf_stats[0] packets, nf_stats[1] bytes (skb->len). Returns NF_ACCEPT.
 */
#include "common.h"
#include <linux/netfilter.h>

/*
 * Minimal kernel types, relocated against the running kernel's BTF (CO-RE):
 * the netfilter program context and the one sk_buff field read here.
 */
struct sk_buff {
	unsigned int len;
} __attribute__((preserve_access_index));

struct bpf_nf_ctx {
	const void *state;
	struct sk_buff *skb;
} __attribute__((preserve_access_index));

COUNTER_MAP(nf_stats, 2);

SEC("netfilter")
int nf_count(struct bpf_nf_ctx *ctx)
{
	struct sk_buff *skb = ctx->skb;

	counter_add(&nf_stats, 0, 1);
	counter_add(&nf_stats, 1, skb->len);
	return NF_ACCEPT;
}

char _license[] SEC("license") = "Dual MIT/GPL";
