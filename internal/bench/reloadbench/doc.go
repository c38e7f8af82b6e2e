// Package reloadbench holds the benchmarks of "reload and replace without a
// gap": zero-loss replace under UDP traffic, the soak of start/stop and
// reload cycles, and reload latency by number of attachments.
//
// They are tests (they use internal/testenv: private bpffs, netns pairs,
// the kernel leak check) that run only when BPFUNIT_BENCH=1, as root, under
// the machine-wide test lock:
//
//	make bench-reload
//
// Each prints its figures as markdown tables; docs/benchmarks.md has the
// figures of the last run and the machine they were measured on.
package reloadbench
