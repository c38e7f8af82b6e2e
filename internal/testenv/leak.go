package testenv

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// Objects is a snapshot of the IDs of all BPF objects in the kernel.
type Objects struct {
	Progs []ebpf.ProgramID
	Maps  []ebpf.MapID
	Links []link.ID
}

// Snapshot walks the kernel's prog, map and link IDs.
func Snapshot() (Objects, error) {
	var o Objects
	var err error
	if o.Progs, err = walk(ebpf.ProgramGetNextID); err != nil {
		return o, fmt.Errorf("walk program ids: %w", err)
	}
	if o.Maps, err = walk(ebpf.MapGetNextID); err != nil {
		return o, fmt.Errorf("walk map ids: %w", err)
	}
	if o.Links, err = walk(linkGetNextID); err != nil {
		return o, fmt.Errorf("walk link ids: %w", err)
	}
	return o, nil
}

func walk[ID ~uint32](next func(ID) (ID, error)) ([]ID, error) {
	var ids []ID
	var id ID
	for {
		n, err := next(id)
		if errors.Is(err, os.ErrNotExist) {
			return ids, nil
		}
		if err != nil {
			return nil, err
		}
		ids = append(ids, n)
		id = n
	}
}

// linkGetNextID is BPF_LINK_GET_NEXT_ID, which cilium/ebpf does not export.
func linkGetNextID(start link.ID) (link.ID, error) {
	attr := struct{ start, next, flags uint32 }{start: uint32(start)}
	_, _, errno := unix.Syscall(unix.SYS_BPF, unix.BPF_LINK_GET_NEXT_ID, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr))
	if errno == unix.ENOENT {
		return 0, os.ErrNotExist
	}
	if errno != 0 {
		return 0, errno
	}
	return link.ID(attr.next), nil
}

// Since lists what is in o but was not in before.
func (o Objects) Since(before Objects) Objects {
	return Objects{
		Progs: newer(o.Progs, before.Progs),
		Maps:  newer(o.Maps, before.Maps),
		Links: newer(o.Links, before.Links),
	}
}

func newer[ID comparable](now, before []ID) []ID {
	var out []ID
	for _, id := range now {
		if !slices.Contains(before, id) {
			out = append(out, id)
		}
	}
	return out
}

// Empty reports whether the snapshot has no objects.
func (o Objects) Empty() bool {
	return len(o.Progs) == 0 && len(o.Maps) == 0 && len(o.Links) == 0
}

// String describes the objects with their kernel names, for a failure message.
func (o Objects) String() string {
	var b strings.Builder
	for _, id := range o.Progs {
		name := "?"
		if p, err := ebpf.NewProgramFromID(id); err == nil {
			if info, err := p.Info(); err == nil {
				name = info.Name
			}
			p.Close()
		}
		fmt.Fprintf(&b, " prog %d (%s)", id, name)
	}
	for _, id := range o.Maps {
		name := "?"
		if m, err := ebpf.NewMapFromID(id); err == nil {
			if info, err := m.Info(); err == nil {
				name = info.Name
			}
			m.Close()
		}
		fmt.Fprintf(&b, " map %d (%s)", id, name)
	}
	for _, id := range o.Links {
		fmt.Fprintf(&b, " link %d", id)
	}
	return strings.TrimSpace(b.String())
}

// CheckLeaks fails tb at cleanup if BPF objects created during the test are
// still alive. Objects die asynchronously (RCU, deferred work), so it waits
// up to two seconds for them to go before calling them leaked.
//
// Register it first in a test, so that it runs after every other cleanup.
func CheckLeaks(tb testing.TB) {
	tb.Helper()
	SkipUnlessRoot(tb)
	before, err := Snapshot()
	if err != nil {
		tb.Fatalf("leak check: %v", err)
	}
	tb.Cleanup(func() {
		var left Objects
		for deadline := time.Now().Add(2 * time.Second); ; {
			// cilium/ebpf mmaps global data; the mapping holds the map
			// until a finalizer runs.
			runtime.GC()
			now, err := Snapshot()
			if err != nil {
				tb.Errorf("leak check: %v", err)
				return
			}
			left = now.Since(before)
			if left.Empty() || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if !left.Empty() {
			tb.Errorf("leaked BPF objects: %s", left)
		}
	})
}
