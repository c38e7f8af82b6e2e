package testenv

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// TracefsDir is where tracepoint and uprobe attachment look for tracefs.
const TracefsDir = "/sys/kernel/tracing"

// NeedTracefs makes sure tracefs is mounted for tracepoint and uprobe
// tests, mounting it for the test's duration when it isn't (it is not
// mounted by default on these machines), and skips when it can't be.
func NeedTracefs(tb testing.TB) {
	tb.Helper()
	SkipUnlessRoot(tb)
	if _, err := os.Stat(TracefsDir + "/events"); err == nil {
		return
	}
	if err := unix.Mount("tracefs", TracefsDir, "tracefs", 0, ""); err != nil {
		tb.Skipf("tracefs is not mounted at %s and mounting it failed: %v", TracefsDir, err)
	}
	tb.Cleanup(func() {
		if err := unix.Unmount(TracefsDir, unix.MNT_DETACH); err != nil {
			tb.Errorf("unmount tracefs: %v", err)
		}
	})
}
