package manager_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/bpfunit/bpfunit/internal/testenv"
)

// TestXDPLifecycle starts an XDP counter with the oneshot, lets the process
// exit, proves the program still counts real traffic through a veth pair,
// then stops it and proves nothing is left.
func TestXDPLifecycle(t *testing.T) {
	testenv.CheckLeaks(t)
	env := testenv.NewEnv(t)
	pair := testenv.NetnsPair(t)
	oneshot := testenv.BuildBinary(t, "cmd/bpfunit-oneshot")
	obj := env.Object(t, "xdp_counter")
	env.Config(t, "xdp", fmt.Sprintf(`[Object]
Path=%s
PinMaps=yes
[Attach]
Program=xdp_count
Interface=%s
Namespace=%s
Mode=generic
`, obj, pair.IfB, pair.NsB))

	if out, code := env.Oneshot(t, oneshot, "start", "xdp"); code != 0 {
		t.Fatalf("start: exit %d: %s", code, out)
	}
	// The oneshot has exited: only the pin keeps the program attached.
	if got := pair.Ping(t, 5); got != 5 {
		t.Fatalf("ping through the XDP program: %d of 5 replies", got)
	}
	stats := filepath.Join(env.PinRoot, "xdp", "maps", "xdp_stats")
	if n := testenv.Counter(t, stats, 0); n < 5 {
		t.Fatalf("xdp_stats[0] = %d packets, want >= 5", n)
	}

	if out, code := env.Oneshot(t, oneshot, "stop", "xdp"); code != 0 {
		t.Fatalf("stop: exit %d: %s", code, out)
	}
	if !env.UnitDirEmpty("xdp") {
		t.Fatal("pins left after stop")
	}
	if out, code := env.Oneshot(t, oneshot, "stop", "xdp"); code != 0 {
		t.Fatalf("second stop: exit %d: %s", code, out)
	}
}
