package manager_test

import (
	"context"
	"testing"
	"time"

	"github.com/bpfunit/bpfunit/internal/manager"
	"github.com/bpfunit/bpfunit/internal/state"
)

// TestWatchCoalesces needs no root: it writes state files as another
// process would and checks that Watch reports each unit once per burst,
// and closes its channel when ctx ends.
func TestWatchCoalesces(t *testing.T) {
	runDir := t.TempDir()
	m := &manager.Manager{RunDir: runDir}
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
	if got["a"] != 1 || got["b"] != 1 || len(got) != 2 {
		t.Errorf("Watch reported %v, want a and b once each", got)
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
