/* SPDX-License-Identifier: (MIT OR GPL-2.0-only) */
/*
 * Shared helpers for bpfunit's own example and test programs.
 *
 * Only uapi and libbpf headers are used (no vmlinux.h): every object builds
 * with Debian's clang, linux-libc-dev and libbpf-dev.
 */
#ifndef BPFUNIT_COMMON_H
#define BPFUNIT_COMMON_H

/* linux/types.h pulls in asm/types.h; -I/usr/include/$(multiarch) in gen.go. */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/*
 * COUNTER_MAP declares a BPF_MAP_TYPE_ARRAY with a __u32 key and a __u64
 * value: the layout every bpfunit test reads from a pinned map.
 */
#define COUNTER_MAP(name, entries)                \
	struct {                                  \
		__uint(type, BPF_MAP_TYPE_ARRAY); \
		__uint(max_entries, entries);     \
		__type(key, __u32);               \
		__type(value, __u64);             \
	} name SEC(".maps")

/* counter_add adds n to map[key] atomically. */
static __always_inline void counter_add(void *map, __u32 key, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(map, &key);

	if (v)
		__sync_fetch_and_add(v, n);
}

/* counter_set stores n in map[key]. */
static __always_inline void counter_set(void *map, __u32 key, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(map, &key);

	if (v)
		*v = n;
}

/*
 * TGID_FILTER declares the target_tgid constant (.rodata) and tgid_match():
 * with target_tgid == 0 every event matches, otherwise only events of that
 * process (thread group) do. Loaders set it with Constant=target_tgid=PID.
 */
#define TGID_FILTER                                                   \
	const volatile __u32 target_tgid = 0;                         \
	static __always_inline int tgid_match(void)                   \
	{                                                             \
		if (!target_tgid)                                     \
			return 1;                                     \
		return (bpf_get_current_pid_tgid() >> 32) == target_tgid; \
	}

#endif /* BPFUNIT_COMMON_H */
