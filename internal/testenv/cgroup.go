package testenv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bpfunit/bpfunit/internal/loader"
)

// Cgroup2Mount returns where the cgroup2 (unified) hierarchy is mounted:
// /sys/fs/cgroup on unified hosts, /sys/fs/cgroup/unified on hybrid ones.
// It skips tb when there is none.
func Cgroup2Mount(tb testing.TB) string {
	tb.Helper()
	mnt, err := loader.Cgroup2Mount()
	if err != nil {
		tb.Skip(err)
	}
	return mnt
}

// TestCgroup creates a cgroup for the test below the cgroup2 mount and
// removes it at cleanup (the test must have ended the processes it moved
// into it by then). It returns the cgroup's absolute directory.
func TestCgroup(tb testing.TB) string {
	tb.Helper()
	SkipUnlessRoot(tb)
	dir := filepath.Join(Cgroup2Mount(tb), fmt.Sprintf("bpfunit-test-%d-%d", uniq(), pairSeq.Add(1)))
	if err := os.Mkdir(dir, 0o755); err != nil {
		tb.Fatalf("create test cgroup: %v", err)
	}
	tb.Cleanup(func() {
		// A process that just exited may still be counted for a moment.
		for deadline := time.Now().Add(2 * time.Second); ; {
			err := unix.Rmdir(dir)
			if err == nil || errors.Is(err, os.ErrNotExist) {
				return
			}
			if !errors.Is(err, unix.EBUSY) || time.Now().After(deadline) {
				tb.Errorf("remove test cgroup %s: %v", dir, err)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	return dir
}
