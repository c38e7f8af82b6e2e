package testenv

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Cgroup2Mount returns where the cgroup2 (unified) hierarchy is mounted:
// /sys/fs/cgroup on unified hosts, /sys/fs/cgroup/unified on hybrid ones.
// It skips tb when there is none.
func Cgroup2Mount(tb testing.TB) string {
	tb.Helper()
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		pre, post, ok := strings.Cut(s.Text(), " - ")
		if !ok {
			continue
		}
		if fs := strings.Fields(post); len(fs) > 0 && fs[0] == "cgroup2" {
			if f := strings.Fields(pre); len(f) >= 5 {
				return f[4]
			}
		}
	}
	tb.Skip("no cgroup2 filesystem mounted")
	return ""
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
