package manager_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/bpfunit/bpfunit/internal/manager"
	"github.com/bpfunit/bpfunit/internal/pins"
	"github.com/bpfunit/bpfunit/internal/testenv"
)

// TestReplaceFromOpenFile swaps one program of a started unit from an
// already-open object file, the way the D-Bus helper receives it: the link
// stays, the program changes, status records an atomic swap; a program the
// new object lacks is refused and the running one stays.
func TestReplaceFromOpenFile(t *testing.T) {
	testenv.CheckLeaks(t)
	env := testenv.NewEnv(t)
	pair := testenv.NetnsPair(t)
	obj := env.Object(t, "xdp_counter")
	env.Config(t, "rp", xdpConfig(obj, pair, "PinMaps=yes"))
	m := &manager.Manager{Root: pins.Root(env.PinRoot), RunDir: env.RunDir, ConfigDirs: []string{env.ConfigDir}}
	m = withDiscardLog(m)
	ctx := t.Context()
	st, _, err := m.Start(ctx, "rp")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := m.Stop(ctx, "rp"); err != nil {
			t.Error(err)
		}
	}()
	oldProg := st.Links[0].ProgID

	f, err := os.Open(obj)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err = m.Replace(ctx, "rp", "xdp_count", f)
	if err != nil {
		t.Fatalf("replace: %v", err)
	}
	status, err := m.Status(t.Context(), "rp")
	if err != nil {
		t.Fatal(err)
	}
	l := status.Links[0]
	if l.ProgID == oldProg || l.LinkID != st.Links[0].LinkID || l.LastSwap != manager.SwapAtomic {
		t.Fatalf("after replace: link %d prog %d (was %d) swap %q; want same link, new program, atomic", l.LinkID, l.ProgID, oldProg, l.LastSwap)
	}
	if got := pair.Ping(t, 3); got != 3 {
		t.Fatalf("ping through the replaced program: %d of 3", got)
	}

	bad, err := os.Open(env.Object(t, "bad"))
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	_, err = m.Replace(ctx, "rp", "xdp_count", bad)
	if err == nil || !strings.Contains(err.Error(), "xdp_count") {
		t.Fatalf("replace from an object without the program: %v", err)
	}
	again, _ := m.Status(t.Context(), "rp")
	if again.Links[0].ProgID != l.ProgID {
		t.Fatalf("a failed replace changed the running program: %d -> %d", l.ProgID, again.Links[0].ProgID)
	}
	env.Config(t, "idle", xdpConfig(obj, pair, ""))
	f2, err := os.Open(obj)
	if err != nil {
		t.Fatal(err)
	}
	defer f2.Close()
	if _, err := m.Replace(ctx, "idle", "xdp_count", f2); !errors.Is(err, manager.ErrNotStarted) {
		t.Fatalf("replace in a unit that is not started: %v, want ErrNotStarted", err)
	}
	f3, err := os.Open(obj)
	if err != nil {
		t.Fatal(err)
	}
	defer f3.Close()
	if _, err := m.Replace(ctx, "rp", "xdp_count_v2", f3); manager.KindOf(err) != manager.KindNoSuchProgram {
		t.Fatalf("replace of a program the unit does not attach: %v (%s), want no-such-program", err, manager.KindOf(err))
	}
	if _, err := m.Replace(ctx, "rp", "xdp_count", strings.NewReader("not an ELF")); manager.KindOf(err) != manager.KindInvalidObject {
		t.Fatalf("replace from a non-ELF: %v (%s), want invalid-object", err, manager.KindOf(err))
	}
}
