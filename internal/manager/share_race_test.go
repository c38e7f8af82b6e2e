package manager_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/bpfunit/bpfunit/internal/testenv"
)

// TestShareMapStartStopRace: unit A starts and opens the shared map while
// B, its only other user, stops. B's stop runs exactly in the window that
// used to be unprotected (A past the share lock, A's state not written),
// through the fault hook of an in-process manager. The map must stay
// pinned, and be the map A's program uses.
func TestShareMapStartStopRace(t *testing.T) {
	testenv.CheckLeaks(t)
	env := testenv.NewEnv(t)
	pair := testenv.NetnsPair(t)
	oneshot := testenv.BuildBinary(t, "cmd/bpfunit-oneshot")
	obj := env.Object(t, "xdp_counter")
	shared := filepath.Join(env.PinRoot, "common", "maps", "xdp_stats")
	share := "PinMaps=yes\nShareMap=xdp_stats:" + shared
	env.Config(t, "race-a", xdpUnit(obj, pair.IfA, pair.NsA, share))
	env.Config(t, "race-b", xdpUnit(obj, pair.IfB, pair.NsB, share))
	mustStart(t, env, oneshot, "race-b")

	m := fpManager(env)
	stopped := false
	m.Fault = func(step string) {
		if step != "start:after-load" || stopped {
			return
		}
		stopped = true
		b := fpManager(env)
		if err := b.Stop(t.Context(), "race-b"); err != nil {
			t.Errorf("stop race-b during race-a's start: %v", err)
		}
	}
	if _, _, err := m.Start(t.Context(), "race-a"); err != nil {
		t.Fatalf("start race-a: %v", err)
	}
	if !stopped {
		t.Fatal("the fault hook never ran at start:after-load")
	}
	pinned := openMap(t, shared) // fails the test if it was unpinned
	links := unitLinks(t, env, "race-a")
	if used := attachedProgramMap(t, links[0], "xdp_stats"); mapID(t, used) != mapID(t, pinned) {
		t.Fatalf("race-a's program uses map %d, the pin holds map %d: no longer shared", mapID(t, used), mapID(t, pinned))
	}
	stopAndCheck(t, env, oneshot, "race-a", links)
	if _, err := os.Stat(shared); !os.IsNotExist(err) {
		t.Fatalf("shared map still pinned after its last user stopped (stat: %v)", err)
	}
}
