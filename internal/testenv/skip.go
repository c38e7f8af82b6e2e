package testenv

import (
	"errors"
	"os"
	"os/exec"
	"testing"

	"github.com/cilium/ebpf"
)

// SkipUnlessRoot skips tb when not running as root: every BPF and netns
// operation needs it.
func SkipUnlessRoot(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("needs root (BPF, bpffs, netns)")
	}
}

// SkipIfNotSupported skips tb when err says the kernel lacks a feature, and
// fails it on any other error.
func SkipIfNotSupported(tb testing.TB, err error) {
	tb.Helper()
	if err == nil {
		return
	}
	if errors.Is(err, ebpf.ErrNotSupported) {
		tb.Skipf("kernel lacks a feature: %v", err)
	}
	tb.Fatal(err)
}

// NeedCommand skips tb when a command-line tool is missing.
func NeedCommand(tb testing.TB, name string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		tb.Skipf("needs %s in PATH", name)
	}
	return p
}
