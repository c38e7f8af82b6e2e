package manager_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/bpfunit/bpfunit/internal/testenv"
)

// TestTCXLifecycle attaches tcx ingress and egress counters to a veth in a
// test netns with the oneshot, lets it exit, proves both count real ping
// traffic, then stops the unit and proves the programs no longer run and
// nothing is left.
func TestTCXLifecycle(t *testing.T) {
	testenv.CheckLeaks(t)
	testenv.NeedTCX(t)
	env := testenv.NewEnv(t)
	pair := testenv.NetnsPair(t)
	oneshot := testenv.BuildBinary(t, "cmd/bpfunit-oneshot")
	obj := env.Object(t, "tcx_counter")
	env.Config(t, "tcx", fmt.Sprintf(`[Object]
Path=%s
PinMaps=yes
[Attach]
Program=tcx_ingress
Type=tcx
Interface=%s
Namespace=%s
Direction=ingress
[Attach]
Program=tcx_egress
Type=tcx
Interface=%s
Namespace=%s
Direction=egress
`, obj, pair.IfB, pair.NsB, pair.IfB, pair.NsB))

	mustStart(t, env, oneshot, "tcx")
	links := unitLinks(t, env, "tcx")
	if len(links) != 2 {
		t.Fatalf("%d links pinned, want 2 (ingress, egress)", len(links))
	}
	// The oneshot has exited: only the pins keep the programs attached.
	stats := openMap(t, filepath.Join(env.PinRoot, "tcx", "maps", "tcx_stats"))
	if got := pair.Ping(t, 5); got != 5 {
		t.Fatalf("ping through the tcx programs: %d of 5 replies", got)
	}
	in, out := counter(t, stats, 0), counter(t, stats, 1)
	// B receives the 5 echo requests and sends the 5 replies.
	if in < 5 || out < 5 {
		t.Fatalf("tcx_stats = ingress %d, egress %d packets; want >= 5 each", in, out)
	}

	stopAndCheck(t, env, oneshot, "tcx", links)
	// Counted from after the stop: stray IPv6 packets (MLD, RS) may have
	// been counted between the check above and the detach.
	in, out = counter(t, stats, 0), counter(t, stats, 1)
	if got := pair.Ping(t, 3); got != 3 {
		t.Fatalf("ping after stop: %d of 3 replies", got)
	}
	if in2, out2 := counter(t, stats, 0), counter(t, stats, 1); in2 != in || out2 != out {
		t.Fatalf("tcx programs still run after stop: ingress %d -> %d, egress %d -> %d", in, in2, out, out2)
	}
}
