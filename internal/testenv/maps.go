package testenv

import (
	"testing"

	"github.com/cilium/ebpf"
)

// Counter reads the uint64 at key of the array map pinned at pin.
func Counter(tb testing.TB, pin string, key uint32) uint64 {
	tb.Helper()
	m, err := ebpf.LoadPinnedMap(pin, nil)
	if err != nil {
		tb.Fatalf("open pinned map: %v", err)
	}
	defer m.Close()
	var v uint64
	if err := m.Lookup(key, &v); err != nil {
		tb.Fatalf("read %s[%d]: %v", pin, key, err)
	}
	return v
}
