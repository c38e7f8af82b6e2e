// Package bootscale is the boot-scale benchmark: 100 bpf@NAME.service
// units, each attaching XDP to its own veth in one network namespace
// (Namespace=), pulled in by bpf.target in a testbed running a real
// systemd, against 100 × the start of one unit measured in the same run.
//
// It is a test that runs only when BPFUNIT_BENCH=1, as root, under the
// machine-wide test lock:
//
//	make bench-boot
//
// Besides the ratio it prints where the time goes: the same 100 starts
// with ExecStart=/bin/true (systemd and the sandbox alone), without the
// sandbox's mount namespace options, and the oneshot run directly.
// docs/benchmarks.md has the figures of the last run.
package bootscale
