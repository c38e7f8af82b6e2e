package manager_test

import (
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bpfunit/bpfunit/internal/manager"
	"github.com/bpfunit/bpfunit/internal/testenv"
)

// TestDetachAndWatch: Detach removes one of two links, status shows it
// detached and the unit partly attached, a start adopts it as it is, a
// reload brings it back; OnChange reports this manager's changes and Watch
// reports those of the oneshot (another process).
func TestDetachAndWatch(t *testing.T) {
	testenv.CheckLeaks(t)
	env := testenv.NewEnv(t)
	pair := testenv.NetnsPair(t)
	bin := testenv.BuildBinary(t, "cmd/bpfunit-oneshot")
	env.Config(t, "det", fpTwoAttachConfig(env.Object(t, "xdp_counter"), pair))
	before := fpSnapshot(t)

	m := fpManager(env)
	var mu sync.Mutex
	var changes []string
	m.OnChange = func(c manager.Change) {
		mu.Lock()
		changes = append(changes, c.Unit)
		mu.Unlock()
	}
	watch, err := m.Watch(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	fpMustOneshot(t, env, bin, "start", "det")
	waitChange(t, watch, "det")

	st, err := m.Status(t.Context(), "det")
	if err != nil || st.State != manager.StateAttached || len(st.Links) != 2 {
		t.Fatalf("status after start: %+v, %v", st, err)
	}
	victim := filepath.Base(st.Links[0].Pin)
	if err := m.Detach(t.Context(), "det", victim); err != nil {
		t.Fatalf("detach %s: %v", victim, err)
	}
	waitChange(t, watch, "det")
	if err := m.Detach(t.Context(), "det", victim); err != nil {
		t.Errorf("second detach of %s: %v, want nil", victim, err)
	}
	for _, c := range []struct {
		link string
		want manager.Kind
	}{{"nope@x", manager.KindNoSuchLink}, {"../x", manager.KindBadArgs}} {
		if err := m.Detach(t.Context(), "det", c.link); manager.KindOf(err) != c.want {
			t.Errorf("detach %s: %v (%s), want %s", c.link, err, manager.KindOf(err), c.want)
		}
	}
	if err := m.Detach(t.Context(), "idle", "x@y"); !errors.Is(err, manager.ErrNotStarted) {
		t.Errorf("detach from a unit not started: %v, want ErrNotStarted", err)
	}

	st, err = m.Status(t.Context(), "det")
	if err != nil || st.State != manager.StatePartial || st.Reason == "" {
		t.Fatalf("status after detach: %+v, %v; want partly-attached with a reason", st, err)
	}
	i := slices.IndexFunc(st.Links, func(l manager.LinkStatus) bool { return filepath.Base(l.Pin) == victim })
	if i < 0 || !st.Links[i].Detached || st.Links[i].Alive {
		t.Errorf("status after detach: links %+v; want %s detached", st.Links, victim)
	}
	if links := fpNewLinks(t, before); len(links) != 1 {
		t.Errorf("after detach: %d links in the kernel (%v), want 1", len(links), links)
	}
	// A start of the started unit adopts it as it is.
	if _, adopted, err := m.Start(t.Context(), "det"); err != nil || !adopted {
		t.Errorf("start after detach: adopted %v, %v; want adopted", adopted, err)
	}
	// Reload brings back what the config says: both links, traffic on both.
	fpMustOneshot(t, env, bin, "reload", "det")
	waitChange(t, watch, "det")
	fpAssertTwoAttached(t, env, pair, "det", before)
	if st, err := m.Status(t.Context(), "det"); err != nil || st.State != manager.StateAttached {
		t.Errorf("status after reload: %+v, %v", st, err)
	}

	fpMustOneshot(t, env, bin, "stop", "det")
	waitChange(t, watch, "det")
	fpAssertNothing(t, env, pair, "det", before)
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(changes, []string{"det"}) {
		t.Errorf("OnChange reported %v, want [det] (one detach; the second was a no-op, the start adopted)", changes)
	}
}

// waitChange waits for a change of unit on w.
func waitChange(t *testing.T, w <-chan manager.Change, unit string) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case c, ok := <-w:
			if !ok {
				t.Fatal("watch channel closed")
			}
			if c.Unit == unit {
				// Drain the rest of the burst.
				for {
					select {
					case <-w:
					case <-time.After(200 * time.Millisecond):
						return
					}
				}
			}
		case <-timeout:
			t.Fatalf("no change of %s reported within 5s", unit)
		}
	}
}

// fpKilled is the panic an in-process fault hook raises to stop an
// operation dead at a step: deferred calls run as a process's exit would
// close its FDs and locks, but no rollback does (the operation's error is
// still nil), as after a SIGKILL.
type fpKilled struct{ step string }

// TestFaultDetach stops Detach at each of its fault points: status never
// says attached while the link may be gone, a second Detach finishes the
// job, reload brings the link back and stop leaves nothing.
func TestFaultDetach(t *testing.T) {
	testenv.CheckLeaks(t)
	env := testenv.NewEnv(t)
	pair := testenv.NetnsPair(t)
	bin := testenv.BuildBinary(t, "cmd/bpfunit-oneshot")
	env.Config(t, "fdet", fpTwoAttachConfig(env.Object(t, "xdp_counter"), pair))
	before := fpSnapshot(t)
	for _, step := range fpFaultPoints(t, "detach:") {
		t.Run(step, func(t *testing.T) {
			fpMustOneshot(t, env, bin, "start", "fdet")
			m := fpManager(env)
			st, err := m.Status(t.Context(), "fdet")
			if err != nil || len(st.Links) != 2 {
				t.Fatalf("status: %+v, %v", st, err)
			}
			victim := filepath.Base(st.Links[1].Pin)
			m.Fault = func(s string) {
				if s == step {
					panic(fpKilled{s})
				}
			}
			func() {
				defer func() {
					if r := recover(); r != (fpKilled{step}) {
						t.Fatalf("detach did not stop at %s: recovered %v", step, r)
					}
				}()
				m.Detach(t.Context(), "fdet", victim)
			}()
			m.Fault = nil
			if st, err := m.Status(t.Context(), "fdet"); err != nil || st.State == manager.StateAttached {
				t.Errorf("status after a detach killed at %s: %+v, %v; want not attached", step, st, err)
			}
			if err := m.Detach(t.Context(), "fdet", victim); err != nil {
				t.Fatalf("detach again: %v", err)
			}
			if st, err := m.Status(t.Context(), "fdet"); err != nil || st.State != manager.StatePartial {
				t.Errorf("status after the second detach: %+v, %v; want partly-attached", st, err)
			}
			if links := fpNewLinks(t, before); len(links) != 1 {
				t.Errorf("after detach: links %v, want 1", links)
			}
			fpMustOneshot(t, env, bin, "reload", "fdet")
			fpAssertTwoAttached(t, env, pair, "fdet", before)
			fpMustOneshot(t, env, bin, "stop", "fdet")
			fpAssertNothing(t, env, pair, "fdet", before)
		})
	}
}
