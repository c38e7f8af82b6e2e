package testenv

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// TempBPFFS mounts a fresh bpffs on a temporary directory and unmounts it
// at cleanup, so that each test has its own pins and leaves none behind.
func TempBPFFS(tb testing.TB) string {
	tb.Helper()
	SkipUnlessRoot(tb)
	dir, err := os.MkdirTemp("", "bpfunit-bpffs-")
	if err != nil {
		tb.Fatal(err)
	}
	if err := unix.Mount("bpf", dir, "bpf", 0, "mode=0700"); err != nil {
		os.Remove(dir)
		tb.Fatalf("mount bpffs on %s: %v", dir, err)
	}
	tb.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			tb.Errorf("unmount bpffs %s: %v", dir, err)
		}
		os.Remove(dir)
	})
	return dir
}
