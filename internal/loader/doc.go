// Package loader turns an ELF object and a unit's [Attach] sections into
// programs in the kernel and bpf_links on their hooks.
//
// # Only bpf_link
//
// Every attach type goes through BPF_LINK_CREATE (or a perf-event link for
// tracepoints and uprobes) so that the attachment is owned by a link that
// can be pinned, and removing the pin detaches it. Where cilium/ebpf would
// fall back to a legacy attachment (PROG_ATTACH for cgroups, an ioctl perf
// event for old kernels), the loader either bypasses the fallback or fails
// at pin time with a clear error: a legacy hook would outlive its owner.
//
// # Only the named programs
//
// [Load] deletes every program the unit does not name from the spec, except
// programs that a kept PROG_ARRAY's static contents refer to, and every map
// no kept program uses, so a large object with many programs costs only
// what the unit uses.
//
// # One file per attach type
//
// Each attach type's kernel half (program types, ELF section default, the
// attach function) is a kind in its own file, registered from init next to
// its descriptor in package attach (keys, features, dependencies). The
// attacher interface is sealed, as cilium/ebpf's link.Link is.
//
// # Features first
//
// [Preflight] looks for each type's features in the kernel's BTF before
// anything is loaded; a missing one is an [UnsupportedError] (ErrUnsupported)
// naming the feature and the Linux version or build option.
package loader
