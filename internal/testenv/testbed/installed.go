package testbed

import (
	"os"
	"sync"
	"testing"
	"time"
)

// The project is installed into one staging tree per test binary, shared
// by every testbed the binary boots (make install takes a second or two).
var (
	stageOnce sync.Once
	stageDir  string
	stageErr  error
)

// Main is TestMain for packages that use BootInstalled: it removes the
// staging tree after the tests.
func Main(m *testing.M) {
	code := m.Run()
	if stageDir != "" {
		os.RemoveAll(stageDir)
	}
	os.Exit(code)
}

// BootInstalled boots a testbed with this module installed (make install
// from root, the module's top directory relative to the test's package).
// Register testenv.CheckLeaks before it, so the leak check runs after the
// testbed is powered off.
func BootInstalled(tb testing.TB, root string, opts Options) *Testbed {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("needs root (namespaces, mounts, BPF)")
	}
	skipIfEmulated(tb) // before make install, which Boot would waste
	stageOnce.Do(func() {
		stageDir, stageErr = os.MkdirTemp("", "bpfunit-stage-")
		if stageErr == nil {
			start := time.Now()
			stageErr = Install(root, stageDir)
			tb.Logf("make install: %v", time.Since(start).Round(time.Millisecond))
		}
	})
	if stageErr != nil {
		tb.Fatal(stageErr)
	}
	opts.Stage = stageDir
	return Boot(tb, opts)
}

// MustRun runs a command inside the testbed and fails tb if it fails.
func (t *Testbed) MustRun(tb testing.TB, args ...string) string {
	tb.Helper()
	out, err := t.Run(args...)
	if err != nil {
		tb.Fatalf("%v\n%s", err, out)
	}
	return out
}
