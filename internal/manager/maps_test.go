package manager_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/bpfunit/bpfunit/internal/testenv"
)

// xdpUnit is the config of an xdp_counter unit on iface in netns, with
// extra lines for [Object].
func xdpUnit(obj, iface, netns, object string) string {
	return fmt.Sprintf(`[Object]
Path=%s
%s
[Attach]
Program=xdp_count
Interface=%s
Namespace=%s
Mode=generic
`, obj, object, iface, netns)
}

// pinnedNames lists dir, nil when it does not exist.
func pinnedNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// TestPinMaps checks that PinMaps=yes pins every map but global data under
// the unit's maps dir, PinMaps=no pins none (the programs keep their maps
// alive), and stop removes the pins.
func TestPinMaps(t *testing.T) {
	for _, pin := range []bool{true, false} {
		t.Run(fmt.Sprintf("PinMaps=%v", pin), func(t *testing.T) {
			testenv.CheckLeaks(t)
			env := testenv.NewEnv(t)
			pair := testenv.NetnsPair(t)
			oneshot := testenv.BuildBinary(t, "cmd/bpfunit-oneshot")
			obj := env.Object(t, "xdp_counter")
			env.Config(t, "pm", xdpUnit(obj, pair.IfB, pair.NsB, fmt.Sprintf("PinMaps=%v", pin)))

			mustStart(t, env, oneshot, "pm")
			links := unitLinks(t, env, "pm")
			maps := pinnedNames(t, filepath.Join(env.PinRoot, "pm", "maps"))
			var want []string
			if pin {
				want = []string{"xdp_stats", "xdp_version"}
			}
			if !slices.Equal(maps, want) {
				t.Fatalf("pinned maps %v, want %v", maps, want)
			}
			stats := attachedProgramMap(t, links[0], "xdp_stats")
			if got := pair.Ping(t, 5); got != 5 {
				t.Fatalf("ping: %d of 5 replies", got)
			}
			n := counter(t, stats, 0)
			if n < 5 {
				t.Fatalf("xdp_stats[0] = %d, want >= 5", n)
			}
			if pin {
				if p := testenv.Counter(t, filepath.Join(env.PinRoot, "pm", "maps", "xdp_stats"), 0); p < n {
					t.Fatalf("pinned xdp_stats[0] = %d, but the program's map has %d: not the same map", p, n)
				}
			}
			stopAndCheck(t, env, oneshot, "pm", links)
		})
	}
}

// TestConstantOverride sets xdp_counter's .rodata drop=1 with Constant=:
// the program then drops what it counts, so pings fail until stop.
func TestConstantOverride(t *testing.T) {
	testenv.CheckLeaks(t)
	env := testenv.NewEnv(t)
	pair := testenv.NetnsPair(t)
	oneshot := testenv.BuildBinary(t, "cmd/bpfunit-oneshot")
	obj := env.Object(t, "xdp_counter")
	env.Config(t, "drop", xdpUnit(obj, pair.IfB, pair.NsB, "PinMaps=yes\nConstant=drop=1"))

	if got := pair.Ping(t, 3); got != 3 {
		t.Fatalf("ping before start: %d of 3 replies", got)
	}
	mustStart(t, env, oneshot, "drop")
	links := unitLinks(t, env, "drop")
	stats := openMap(t, filepath.Join(env.PinRoot, "drop", "maps", "xdp_stats"))
	if got := pair.Ping(t, 3); got != 0 {
		t.Fatalf("ping with drop=1: %d of 3 replies, want 0", got)
	}
	if n := counter(t, stats, 0); n < 3 {
		t.Fatalf("xdp_stats[0] = %d, want >= 3 (the dropped echo requests)", n)
	}
	stopAndCheck(t, env, oneshot, "drop", links)
	if got := pair.Ping(t, 3); got != 3 {
		t.Fatalf("ping after stop: %d of 3 replies", got)
	}
}

// TestShareMap starts two units that share xdp_stats through ShareMap=,
// one on each end of a veth pair: both programs count into one map. The
// shared pin stays while one unit still uses it and goes with the last.
func TestShareMap(t *testing.T) {
	testenv.CheckLeaks(t)
	env := testenv.NewEnv(t)
	pair := testenv.NetnsPair(t)
	oneshot := testenv.BuildBinary(t, "cmd/bpfunit-oneshot")
	obj := env.Object(t, "xdp_counter")
	shared := filepath.Join(env.PinRoot, "common", "maps", "xdp_stats")
	share := "PinMaps=yes\nShareMap=xdp_stats:" + shared
	env.Config(t, "share-a", xdpUnit(obj, pair.IfA, pair.NsA, share))
	env.Config(t, "share-b", xdpUnit(obj, pair.IfB, pair.NsB, share))

	mustStart(t, env, oneshot, "share-a")
	linksA := unitLinks(t, env, "share-a")
	mustStart(t, env, oneshot, "share-b")
	linksB := unitLinks(t, env, "share-b")
	stats := openMap(t, shared)
	sharedID := mapID(t, stats)
	for _, u := range []struct {
		name  string
		links []link.ID
	}{{"share-a", linksA}, {"share-b", linksB}} {
		m := attachedProgramMap(t, u.links[0], "xdp_stats")
		if id := mapID(t, m); id != sharedID {
			t.Fatalf("%s's program uses xdp_stats map %d, the shared pin is map %d", u.name, id, sharedID)
		}
		// The shared map is not pinned again in the unit's own dir.
		if got := pinnedNames(t, filepath.Join(env.PinRoot, u.name, "maps")); !slices.Equal(got, []string{"xdp_version"}) {
			t.Fatalf("%s pinned maps %v, want [xdp_version]", u.name, got)
		}
	}
	if got := pair.Ping(t, 5); got != 5 {
		t.Fatalf("ping: %d of 5 replies", got)
	}
	// 5 requests seen at B and 5 replies at A, in one map.
	n := counter(t, stats, 0)
	if n < 10 {
		t.Fatalf("shared xdp_stats[0] = %d, want >= 10 (both ends)", n)
	}

	stopAndCheck(t, env, oneshot, "share-a", linksA)
	if _, err := os.Stat(shared); err != nil {
		t.Fatalf("shared map unpinned while share-b still uses it: %v", err)
	}
	n = counter(t, stats, 0)
	if got := pair.Ping(t, 5); got != 5 {
		t.Fatalf("ping: %d of 5 replies", got)
	}
	if d := counter(t, stats, 0) - n; d < 5 || d >= 10 {
		t.Fatalf("shared xdp_stats[0] grew by %d with only share-b attached, want 5..9", d)
	}

	stopAndCheck(t, env, oneshot, "share-b", linksB)
	if _, err := os.Stat(shared); !os.IsNotExist(err) {
		t.Fatalf("shared map still pinned after its last user stopped (stat: %v)", err)
	}
	if _, err := os.Stat(filepath.Join(env.PinRoot, "common")); !os.IsNotExist(err) {
		t.Fatalf("the shared map's directories outlived it (stat: %v)", err)
	}
}

func mapID(t *testing.T, m *ebpf.Map) ebpf.MapID {
	t.Helper()
	info, err := m.Info()
	if err != nil {
		t.Fatal(err)
	}
	id, ok := info.ID()
	if !ok {
		t.Fatal("kernel reports no map id")
	}
	return id
}

// TestKeepMaps checks that KeepMaps=yes keeps the pinned maps and their
// contents across stop and start: the restarted program counts on.
// Stopping with KeepMaps= removed from the config removes them.
func TestKeepMaps(t *testing.T) {
	testenv.CheckLeaks(t)
	env := testenv.NewEnv(t)
	pair := testenv.NetnsPair(t)
	oneshot := testenv.BuildBinary(t, "cmd/bpfunit-oneshot")
	obj := env.Object(t, "xdp_counter")
	env.Config(t, "keep", xdpUnit(obj, pair.IfB, pair.NsB, "PinMaps=yes\nKeepMaps=yes"))
	pin := filepath.Join(env.PinRoot, "keep", "maps", "xdp_stats")

	mustStart(t, env, oneshot, "keep")
	links := unitLinks(t, env, "keep")
	if got := pair.Ping(t, 5); got != 5 {
		t.Fatalf("ping: %d of 5 replies", got)
	}
	first := testenv.Counter(t, pin, 0)
	if first < 5 {
		t.Fatalf("xdp_stats[0] = %d, want >= 5", first)
	}
	id := mapID(t, openMap(t, pin))

	mustStop(t, env, oneshot, "keep")
	for _, l := range links {
		waitLinkGone(t, l)
	}
	if _, err := os.Stat(filepath.Join(env.PinRoot, "keep", "links")); !os.IsNotExist(err) {
		t.Fatalf("links dir left after stop (stat: %v)", err)
	}
	kept := testenv.Counter(t, pin, 0)
	if kept < first {
		t.Fatalf("kept xdp_stats[0] = %d after stop, had %d", kept, first)
	}

	mustStart(t, env, oneshot, "keep")
	links = unitLinks(t, env, "keep")
	if got := mapID(t, attachedProgramMap(t, links[0], "xdp_stats")); got != id {
		t.Fatalf("restarted program uses xdp_stats map %d, the kept one is %d", got, id)
	}
	if got := pair.Ping(t, 5); got != 5 {
		t.Fatalf("ping after restart: %d of 5 replies", got)
	}
	if n := testenv.Counter(t, pin, 0); n < kept+5 {
		t.Fatalf("xdp_stats[0] = %d after restart and 5 pings, want >= %d (counting on from %d)", n, kept+5, kept)
	}

	mustStop(t, env, oneshot, "keep")
	if got := pinnedNames(t, filepath.Join(env.PinRoot, "keep", "maps")); len(got) == 0 {
		t.Fatal("maps removed by stop with KeepMaps=yes")
	}
	// Without KeepMaps= in the config, a stop of the stopped unit removes
	// the kept maps.
	env.Config(t, "keep", xdpUnit(obj, pair.IfB, pair.NsB, "PinMaps=yes"))
	stopAndCheck(t, env, oneshot, "keep", links)
}
