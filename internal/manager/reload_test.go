package manager_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bpfunit/bpfunit/internal/testenv"
)

func xdpConfig(obj string, p *testenv.Pair, extra string) string {
	return fmt.Sprintf("[Object]\nPath=%s\n%s\n[Attach]\nProgram=xdp_count\nInterface=%s\nNamespace=%s\nMode=generic\n", obj, extra, p.IfB, p.NsB)
}

// TestReloadKeepsMapsAndSwapsAtomically reloads an XDP unit whose config
// now sets drop=1: the link id stays (BPF_LINK_UPDATE), the counter keeps
// its value, and the new program really runs (pings are dropped).
func TestReloadKeepsMapsAndSwapsAtomically(t *testing.T) {
	testenv.CheckLeaks(t)
	env := testenv.NewEnv(t)
	pair := testenv.NetnsPair(t)
	oneshot := testenv.BuildBinary(t, "cmd/bpfunit-oneshot")
	obj := env.Object(t, "xdp_counter")
	for _, pinMaps := range []string{"PinMaps=yes", ""} {
		t.Run(fmt.Sprintf("pinmaps=%v", pinMaps != ""), func(t *testing.T) {
			env.Config(t, "rl", xdpConfig(obj, pair, pinMaps))
			mustStart(t, env, oneshot, "rl")
			defer mustStop(t, env, oneshot, "rl")
			if got := pair.Ping(t, 5); got != 5 {
				t.Fatalf("ping before reload: %d of 5", got)
			}
			before := unitLinks(t, env, "rl")
			stats := attachedProgramMap(t, before[0], "xdp_stats")
			n := counter(t, stats, 0)
			if n < 5 {
				t.Fatalf("xdp_stats[0] = %d before reload, want >= 5", n)
			}

			env.Config(t, "rl", xdpConfig(obj, pair, pinMaps+"\nConstant=drop=1"))
			if out, code := env.Oneshot(t, oneshot, "reload", "rl"); code != 0 {
				t.Fatalf("reload: exit %d: %s", code, out)
			}
			after := unitLinks(t, env, "rl")
			if len(after) != 1 || after[0] != before[0] {
				t.Fatalf("links %v after reload, want the same single link %v (atomic update)", after, before)
			}
			if got := pair.Ping(t, 3); got != 0 {
				t.Fatalf("ping after reload to drop=1: %d of 3 came back", got)
			}
			// The new program counts into the same map.
			stats2 := attachedProgramMap(t, after[0], "xdp_stats")
			if id1, id2 := mapID(t, stats), mapID(t, stats2); id1 != id2 {
				t.Fatalf("the reloaded program uses map %d, the old one used %d: state was not kept", id2, id1)
			}
			if m := counter(t, stats2, 0); m < n+3 {
				t.Fatalf("xdp_stats[0] = %d after reload, want >= %d: the map was not kept", m, n+3)
			}
		})
	}
}

// TestReloadFailureKeepsOldProgram reloads to a config naming a program the
// verifier rejects: the reload fails with the verifier's reason, and the
// old program keeps running on its link.
func TestReloadFailureKeepsOldProgram(t *testing.T) {
	testenv.CheckLeaks(t)
	env := testenv.NewEnv(t)
	pair := testenv.NetnsPair(t)
	oneshot := testenv.BuildBinary(t, "cmd/bpfunit-oneshot")
	obj := env.Object(t, "xdp_counter")
	bad := env.Object(t, "bad")
	env.Config(t, "rf", xdpConfig(obj, pair, "PinMaps=yes"))
	mustStart(t, env, oneshot, "rf")
	defer mustStop(t, env, oneshot, "rf")
	before := unitLinks(t, env, "rf")

	env.Config(t, "rf", fmt.Sprintf("[Object]\nPath=%s\n[Attach]\nProgram=xdp_bad\nInterface=%s\nNamespace=%s\n", bad, pair.IfB, pair.NsB))
	out, code := env.Oneshot(t, oneshot, "reload", "rf")
	if code == 0 {
		t.Fatalf("reload to a rejected program succeeded: %s", out)
	}
	last := out[strings.LastIndex(out, "\n")+1:]
	if !strings.Contains(last, "verifier rejected") {
		t.Fatalf("reload failure does not give the verifier's reason on its last line: %q", last)
	}
	if after := unitLinks(t, env, "rf"); len(after) != 1 || after[0] != before[0] {
		t.Fatalf("links %v after failed reload, want %v untouched", after, before)
	}
	stats := filepath.Join(env.PinRoot, "rf", "maps", "xdp_stats")
	n := testenv.Counter(t, stats, 0)
	if got := pair.Ping(t, 3); got != 3 {
		t.Fatalf("ping after failed reload: %d of 3", got)
	}
	if m := testenv.Counter(t, stats, 0); m < n+3 {
		t.Fatalf("old program stopped counting after a failed reload: %d -> %d", n, m)
	}
	if entries := testenv.MustRun(t, "ls", "-A", filepath.Join(env.PinRoot, "rf")); strings.Contains(entries, "staging") {
		t.Fatal("failed reload left its staging directory")
	}
}

// TestReloadAddsAndRemovesAttachments reloads a tcx unit from ingress only
// to egress only, then back: each reload creates the new link and drops the
// old one in one step.
func TestReloadAddsAndRemovesAttachments(t *testing.T) {
	testenv.NeedTCX(t)
	testenv.CheckLeaks(t)
	env := testenv.NewEnv(t)
	pair := testenv.NetnsPair(t)
	oneshot := testenv.BuildBinary(t, "cmd/bpfunit-oneshot")
	obj := env.Object(t, "tcx_counter")
	conf := func(progs ...string) string {
		s := fmt.Sprintf("[Object]\nPath=%s\nPinMaps=yes\n", obj)
		for _, p := range progs {
			dir := strings.TrimPrefix(p, "tcx_")
			s += fmt.Sprintf("[Attach]\nProgram=%s\nInterface=%s\nNamespace=%s\nDirection=%s\n", p, pair.IfB, pair.NsB, dir)
		}
		return s
	}
	env.Config(t, "ra", conf("tcx_ingress"))
	mustStart(t, env, oneshot, "ra")
	defer mustStop(t, env, oneshot, "ra")
	for _, progs := range [][]string{{"tcx_ingress", "tcx_egress"}, {"tcx_egress"}, {"tcx_ingress"}} {
		env.Config(t, "ra", conf(progs...))
		if out, code := env.Oneshot(t, oneshot, "reload", "ra"); code != 0 {
			t.Fatalf("reload to %v: exit %d: %s", progs, code, out)
		}
		if got := len(unitLinks(t, env, "ra")); got != len(progs) {
			t.Fatalf("reload to %v: %d links, want %d", progs, got, len(progs))
		}
		stats := filepath.Join(env.PinRoot, "ra", "maps", "tcx_stats")
		in, eg := testenv.Counter(t, stats, 0), testenv.Counter(t, stats, 1)
		if got := pair.Ping(t, 3); got != 3 {
			t.Fatalf("ping: %d of 3", got)
		}
		in2, eg2 := testenv.Counter(t, stats, 0), testenv.Counter(t, stats, 1)
		wantIn, wantEg := slices.Contains(progs, "tcx_ingress"), slices.Contains(progs, "tcx_egress")
		if (in2 >= in+3) != wantIn || (eg2 >= eg+3) != wantEg {
			t.Fatalf("after reload to %v: ingress %d->%d, egress %d->%d", progs, in, in2, eg, eg2)
		}
	}
}
