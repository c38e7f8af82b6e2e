package testenv

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// Kernel objects die asynchronously after their last reference goes, so
// tests poll these. Any error other than "no such object" counts as alive:
// the object may be there, and a test waiting for it to go must not be
// satisfied by, say, EPERM.

// LinkAlive reports whether BPF link id exists in the kernel.
func LinkAlive(id uint32) bool {
	l, err := link.NewFromID(link.ID(id))
	if err != nil {
		return !errors.Is(err, os.ErrNotExist)
	}
	l.Close()
	return true
}

// ProgramAlive reports whether BPF program id exists in the kernel.
func ProgramAlive(id uint32) bool {
	p, err := ebpf.NewProgramFromID(ebpf.ProgramID(id))
	if err != nil {
		return !errors.Is(err, os.ErrNotExist)
	}
	p.Close()
	return true
}

// MapAlive reports whether BPF map id exists in the kernel.
func MapAlive(id uint32) bool {
	m, err := ebpf.NewMapFromID(ebpf.MapID(id))
	if err != nil {
		return !errors.Is(err, os.ErrNotExist)
	}
	m.Close()
	return true
}

// WaitGone waits up to within for alive to turn false, polling, and fails
// tb if it hasn't by then: what names the object in the message ("link 7
// of x").
func WaitGone(tb testing.TB, what string, within time.Duration, alive func() bool) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for alive() {
		if time.Now().After(deadline) {
			tb.Fatalf("%s still in the kernel after %v", what, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
