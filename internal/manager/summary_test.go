package manager_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cilium/ebpf/link"

	"github.com/bpfunit/bpfunit/internal/manager"
	"github.com/bpfunit/bpfunit/internal/testenv"
)

// tcxUnits configures n units of one tcx program each on the pair's IfB
// (tcx takes up to 64 programs per interface and direction: they
// alternate) and returns their names.
func tcxUnits(t testing.TB, env *testenv.Env, pair *testenv.Pair, n int) []string {
	t.Helper()
	obj := env.Object(t, "tcx_counter")
	var names []string
	dir := []string{"ingress", "egress"}
	for i := range n {
		name := fmt.Sprintf("u%03d", i)
		env.Config(t, name, fmt.Sprintf("[Unit]\nDescription=unit %d\n[Object]\nPath=%s\nPinMaps=yes\n[Attach]\nProgram=tcx_%s\nType=tcx\nInterface=%s\nNamespace=%s\nDirection=%s\n",
			i, obj, dir[i%2], pair.IfB, pair.NsB, dir[i%2]))
		names = append(names, name)
	}
	return names
}

// TestSummariesMatchList: the cheap listing says what the full one says
// of every unit (state, reason, error, description, config), whatever the
// unit's state: attached, partly attached (a link detached), not started,
// broken (a corrupt state file), masked, unreadable config, pins without
// a config.
func TestSummariesMatchList(t *testing.T) {
	testenv.CheckLeaks(t)
	testenv.NeedTCX(t)
	env := testenv.NewEnv(t)
	pair := testenv.NetnsPair(t)
	m := fpManager(env)
	names := tcxUnits(t, env, pair, 5)
	for _, n := range append(names[:3:3], names[4]) {
		if _, _, err := m.Start(t.Context(), n); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Stop(t.Context(), n) })
	}
	// u001: partly attached.
	st, err := m.Status(t.Context(), "u001")
	if err != nil || len(st.Links) != 1 {
		t.Fatalf("status of u001: %+v, %v", st, err)
	}
	if err := m.Detach(t.Context(), "u001", filepath.Base(st.Links[0].Pin)); err != nil {
		t.Fatal(err)
	}
	// u004: its link detached behind bpfunit's back (bpftool link
	// detach): pinned, attached to nothing.
	st, err = m.Status(t.Context(), "u004")
	if err != nil || len(st.Links) != 1 {
		t.Fatalf("status of u004: %+v, %v", st, err)
	}
	l, err := link.LoadPinnedLink(st.Links[0].Pin, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = l.Detach()
	l.Close()
	if err != nil {
		t.Fatal(err)
	}
	// u002: its config removed while attached.
	if err := os.Remove(filepath.Join(env.ConfigDir, "u002.bpfunit")); err != nil {
		t.Fatal(err)
	}
	// A masked unit, a bad config, a corrupt state file.
	if err := os.Symlink("/dev/null", filepath.Join(env.ConfigDir, "masked.bpfunit")); err != nil {
		t.Fatal(err)
	}
	env.Config(t, "bad", "[Object]\nNoSuchKey=1\n")
	if err := os.MkdirAll(filepath.Join(env.RunDir, "state"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(env.RunDir, "state", "corrupt.json"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}

	want := map[string]manager.State{"u000": manager.StateAttached, "u001": manager.StatePartial,
		"u002": manager.StateAttached, "u003": manager.StateNotStarted, "u004": manager.StatePartial, "corrupt": manager.StateBroken}
	check := func(round string) {
		t.Helper()
		full, err := m.List(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		sums, err := m.Summaries(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(sums) != len(full) {
			t.Fatalf("%s: %d summaries, %d statuses", round, len(sums), len(full))
		}
		states := map[string]manager.State{}
		for i, st := range full {
			want := manager.Summary{Name: st.Name, State: st.State, Reason: st.Reason, Err: st.Err,
				Description: st.Description, Config: st.Config, Masked: st.Masked}
			if sums[i] != want {
				t.Errorf("%s: summary\n%+v\nwant (from List)\n%+v", round, sums[i], want)
			}
			states[st.Name] = st.State
		}
		for n, w := range want {
			if states[n] != w {
				t.Errorf("%s: %s is %q, want %q", round, n, states[n], w)
			}
		}
	}
	check("fresh files")
	// Files older than the caches' racy window are cached: the second
	// round is answered from the caches, the third sees a change made
	// after them (a pin removed: the links directory changed).
	time.Sleep(2100 * time.Millisecond)
	check("cached")
	check("from the caches")
	st, err = m.Status(t.Context(), "u000")
	if err != nil || len(st.Links) != 1 {
		t.Fatalf("status of u000: %+v, %v", st, err)
	}
	if err := m.Detach(t.Context(), "u000", filepath.Base(st.Links[0].Pin)); err != nil {
		t.Fatal(err)
	}
	want["u000"] = manager.StatePartial
	check("after a detach")
}

// BenchmarkSummaries100 and BenchmarkList100: 100 units of one tcx link
// each, attached (root; run under the test lock).
func BenchmarkSummaries100(b *testing.B) { benchList(b, true) }
func BenchmarkList100(b *testing.B)      { benchList(b, false) }

func benchList(b *testing.B, summaries bool) {
	testenv.CheckLeaks(b)
	testenv.NeedTCX(b)
	env := testenv.NewEnv(b)
	pair := testenv.NetnsPair(b)
	m := fpManager(env)
	for _, n := range tcxUnits(b, env, pair, 100) {
		if _, _, err := m.Start(b.Context(), n); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { m.Stop(b.Context(), n) })
	}
	// Files younger than the timestamp granularity are never cached.
	time.Sleep(2500 * time.Millisecond)
	for b.Loop() {
		var n int
		if summaries {
			s, err := m.Summaries(b.Context())
			if err != nil {
				b.Fatal(err)
			}
			n = len(s)
		} else {
			s, err := m.List(b.Context())
			if err != nil {
				b.Fatal(err)
			}
			n = len(s)
		}
		if n != 100 {
			b.Fatalf("%d units listed", n)
		}
	}
}
