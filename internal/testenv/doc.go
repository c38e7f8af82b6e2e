// Package testenv holds the helpers every kernel-touching test of bpfunit
// uses: skipping with a reason when root or a kernel feature is missing,
// a private bpffs per test, and the leak check that makes a test fail when
// it leaves a BPF program, map or link behind in the kernel.
//
// # Leak check
//
// [CheckLeaks] snapshots the IDs of every program, map and link in the
// kernel and, at cleanup, compares again. Any ID that appeared during the
// test and is still alive is a leak. This is a whole-kernel view, so
// kernel tests must not run in parallel with other BPF users: the Makefile
// runs packages with -p 1 and takes /run/bpfunit-tests.lock.
package testenv
