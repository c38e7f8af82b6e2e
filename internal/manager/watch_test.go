package manager_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/bpfunit/bpfunit/internal/manager"
	"github.com/bpfunit/bpfunit/internal/pins"
	"github.com/bpfunit/bpfunit/internal/state"
)

// TestWatchCoalesces needs no root: it writes state files as another
// process would and checks that Watch reports each unit once per burst,
// and closes its channel when ctx ends.
func TestWatchCoalesces(t *testing.T) {
	runDir, root := t.TempDir(), t.TempDir()
	m := &manager.Manager{RunDir: runDir, Root: pins.Root(root)}
	ctx, cancel := context.WithCancel(t.Context())
	w, err := m.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		if err := state.Write(runDir, &state.Unit{Name: "a"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := state.Write(runDir, &state.Unit{Name: "b"}); err != nil {
		t.Fatal(err)
	}
	if err := state.Remove(runDir, "b"); err != nil {
		t.Fatal(err)
	}
	// A unit directory removed without a state file (the stop of a unit
	// that had pins only) is a change too; dots come unescaped.
	unitDir := pins.Root(root).Unit("c.d").Dir()
	if err := os.Mkdir(unitDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(unitDir); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	deadline := time.After(2 * time.Second)
collect:
	for {
		select {
		case c := <-w:
			got[c.Unit]++
		case <-time.After(300 * time.Millisecond):
			break collect
		case <-deadline:
			break collect
		}
	}
	if got["a"] != 1 || got["b"] != 1 || got["c.d"] != 1 || len(got) != 3 {
		t.Errorf("Watch reported %v, want a, b and c.d once each", got)
	}
	cancel()
	select {
	case _, ok := <-w:
		if ok {
			t.Error("Watch sent a change after ctx ended")
		}
	case <-time.After(time.Second):
		t.Error("Watch did not close its channel after ctx ended")
	}
}
