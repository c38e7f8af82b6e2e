// SPDX-License-Identifier: (MIT OR GPL-2.0-only)
//go:build ignore

/*
 * bad: one program the verifier rejects and one it accepts.
 *
 * xdp_bad reads packet data without checking it against data_end: clang
 * compiles it, the verifier rejects it ("invalid access to packet").
 * xdp_ok is a trivial XDP_PASS program: loading only xdp_ok from this object
 * proves that a loader does not load programs its config doesn't name.
 */
#include "common.h"

SEC("xdp")
int xdp_bad(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;

	/* No bounds check against ctx->data_end. */
	if (*(volatile __u8 *)data == 0xff)
		return XDP_DROP;
	return XDP_PASS;
}

SEC("xdp")
int xdp_ok(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char _license[] SEC("license") = "Dual MIT/GPL";
