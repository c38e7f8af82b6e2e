package manager_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf/link"

	"github.com/bpfunit/bpfunit/internal/manager"
	"github.com/bpfunit/bpfunit/internal/pins"
	"github.com/bpfunit/bpfunit/internal/state"
	"github.com/bpfunit/bpfunit/internal/testenv"
)

// fpXDPConfig is a config attaching each of progs (from the xdp_counter
// object at obj) to B's veth, or, for a "prog@IFACE" entry, to IFACE in
// B's namespace; extra goes into [Object].
func fpXDPConfig(obj string, pair *testenv.Pair, extra string, progs ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[Object]\nPath=%s\nPinMaps=yes\n%s", obj, extra)
	for _, p := range progs {
		prog, iface, ok := strings.Cut(p, "@")
		if !ok {
			iface = pair.IfB
		}
		fmt.Fprintf(&b, "[Attach]\nProgram=%s\nInterface=%s\nNamespace=%s\nMode=generic\n", prog, iface, pair.NsB)
	}
	return b.String()
}

// fpNewLinks returns the links created since before, as the kernel lists them.
func fpNewLinks(t *testing.T, before testenv.Objects) []link.ID {
	t.Helper()
	now, err := testenv.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	return now.Since(before).Links
}

// fpSnapshot is testenv.Snapshot that fails t on error.
func fpSnapshot(t *testing.T) testenv.Objects {
	t.Helper()
	o, err := testenv.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// fpKernelXDP returns the id of the XDP program the kernel runs on iface in
// netns (0 for none), from iproute2's JSON.
func fpKernelXDP(t *testing.T, netns, iface string) int {
	t.Helper()
	out := testenv.MustRun(t, "ip", "-n", netns, "-j", "-d", "link", "show", "dev", iface)
	var links []struct {
		XDP *struct {
			Prog *struct {
				ID int `json:"id"`
			} `json:"prog"`
			Attached []struct {
				Prog *struct {
					ID int `json:"id"`
				} `json:"prog"`
			} `json:"attached"`
		} `json:"xdp"`
	}
	if err := json.Unmarshal([]byte(out), &links); err != nil || len(links) != 1 {
		t.Fatalf("ip link show %s in %s: %v: %s", iface, netns, err, out)
	}
	x := links[0].XDP
	switch {
	case x == nil:
		return 0
	case x.Prog != nil:
		return x.Prog.ID
	case len(x.Attached) == 1 && x.Attached[0].Prog != nil:
		return x.Attached[0].Prog.ID
	}
	t.Fatalf("ip link show %s in %s: more than one XDP program: %s", iface, netns, out)
	return 0
}

// fpAssertAttached checks that unit name is attached exactly once per
// recorded link: the links created since before are exactly the ones in
// its state file, each alive, and B's veth runs the recorded program.
// It returns the state.
func fpAssertAttached(t *testing.T, env *testenv.Env, pair *testenv.Pair, name string, before testenv.Objects, want int) *state.Unit {
	t.Helper()
	st, err := state.Read(env.RunDir, name)
	if err != nil {
		t.Fatalf("unit %s: %v", name, err)
	}
	if len(st.Links) != want {
		t.Fatalf("unit %s: state has %d links, want %d", name, len(st.Links), want)
	}
	links := fpNewLinks(t, before)
	if len(links) != want {
		t.Fatalf("unit %s: %d links in the kernel (%v), want %d", name, len(links), links, want)
	}
	for _, l := range st.Links {
		found := false
		for _, id := range links {
			found = found || uint32(id) == l.LinkID
		}
		if !found {
			t.Errorf("unit %s: link %d of the state file is not in the kernel (%v)", name, l.LinkID, links)
		}
		if _, err := os.Stat(l.Pin); err != nil {
			t.Errorf("unit %s: %v", name, err)
		}
		if l.Target == pair.NsB+"/"+pair.IfB {
			if got := fpKernelXDP(t, pair.NsB, pair.IfB); got != int(l.ProgID) {
				t.Errorf("unit %s: kernel runs XDP prog %d on %s, state says %d", name, got, pair.IfB, l.ProgID)
			}
		}
	}
	return st
}

// fpAssertNoXDP checks the kernel runs no XDP program on B's veth.
func fpAssertNoXDP(t *testing.T, pair *testenv.Pair) {
	t.Helper()
	if id := fpKernelXDP(t, pair.NsB, pair.IfB); id != 0 {
		t.Errorf("XDP program %d still attached to %s", id, pair.IfB)
	}
}

func fpMustOneshot(t *testing.T, env *testenv.Env, bin string, args ...string) {
	t.Helper()
	if out, code := env.Oneshot(t, bin, args...); code != 0 {
		t.Fatalf("%s: exit %d: %s", strings.Join(args, " "), code, out)
	}
}

// TestStartTwiceAdopts: a second start with the same config adopts the
// attachment: exit 0, no second link, same link and program ids.
func TestStartTwiceAdopts(t *testing.T) {
	testenv.CheckLeaks(t)
	env := testenv.NewEnv(t)
	pair := testenv.NetnsPair(t)
	bin := testenv.BuildBinary(t, "cmd/bpfunit-oneshot")
	env.Config(t, "twice", fpXDPConfig(env.Object(t, "xdp_counter"), pair, "", "xdp_count"))
	before := fpSnapshot(t)

	fpMustOneshot(t, env, bin, "start", "twice")
	first := fpAssertAttached(t, env, pair, "twice", before, 1)
	for range 3 {
		fpMustOneshot(t, env, bin, "start", "twice")
		again := fpAssertAttached(t, env, pair, "twice", before, 1)
		if again.Links[0].LinkID != first.Links[0].LinkID || again.Links[0].ProgID != first.Links[0].ProgID {
			t.Errorf("second start replaced the attachment: %+v, was %+v", again.Links[0], first.Links[0])
		}
	}
	if got := pair.Ping(t, 3); got != 3 {
		t.Errorf("ping: %d of 3", got)
	}
	if n := testenv.Counter(t, filepath.Join(env.PinRoot, "twice", "maps", "xdp_stats"), 0); n < 3 {
		t.Errorf("xdp_stats[0] = %d, want >= 3", n)
	}

	fpMustOneshot(t, env, bin, "stop", "twice")
	fpAssertGone(t, env, "twice")
	fpAssertNoXDP(t, pair)
}

// TestRestart: stop then start (what systemctl restart does) attaches a
// fresh link, exactly one, and the old one is gone.
func TestRestart(t *testing.T) {
	testenv.CheckLeaks(t)
	env := testenv.NewEnv(t)
	pair := testenv.NetnsPair(t)
	bin := testenv.BuildBinary(t, "cmd/bpfunit-oneshot")
	env.Config(t, "restart", fpXDPConfig(env.Object(t, "xdp_counter"), pair, "", "xdp_count"))
	before := fpSnapshot(t)

	fpMustOneshot(t, env, bin, "start", "restart")
	first := fpAssertAttached(t, env, pair, "restart", before, 1)
	for i := range 3 {
		fpMustOneshot(t, env, bin, "stop", "restart")
		fpAssertGone(t, env, "restart")
		fpAssertNoXDP(t, pair)
		fpMustOneshot(t, env, bin, "start", "restart")
		st := fpAssertAttached(t, env, pair, "restart", before, 1)
		if st.Links[0].LinkID == first.Links[0].LinkID {
			t.Errorf("restart %d: link %d survived the stop", i, first.Links[0].LinkID)
		}
		if got := pair.Ping(t, 2); got != 2 {
			t.Errorf("restart %d: ping: %d of 2", i, got)
		}
	}
	fpMustOneshot(t, env, bin, "stop", "restart")
	fpAssertGone(t, env, "restart")
	fpAssertNoXDP(t, pair)
}

// TestStartChangedConfigRefused: a start with a different config (or a
// different object) while attached fails with a reason that points to
// reload, and leaves the running attachment untouched and counting.
func TestStartChangedConfigRefused(t *testing.T) {
	testenv.CheckLeaks(t)
	env := testenv.NewEnv(t)
	pair := testenv.NetnsPair(t)
	bin := testenv.BuildBinary(t, "cmd/bpfunit-oneshot")
	obj := env.Object(t, "xdp_counter")
	env.Config(t, "changed", fpXDPConfig(obj, pair, "", "xdp_count"))
	before := fpSnapshot(t)

	fpMustOneshot(t, env, bin, "start", "changed")
	first := fpAssertAttached(t, env, pair, "changed", before, 1)
	stats := filepath.Join(env.PinRoot, "changed", "maps", "xdp_stats")

	for _, change := range []struct {
		what  string
		apply func()
	}{
		{"other program", func() { env.Config(t, "changed", fpXDPConfig(obj, pair, "", "xdp_count_v2")) }},
		{"constant", func() { env.Config(t, "changed", fpXDPConfig(obj, pair, "Constant=drop=0\n", "xdp_count")) }},
		{"object bytes", func() {
			env.Config(t, "changed", fpXDPConfig(obj, pair, "", "xdp_count"))
			data, err := os.ReadFile(obj)
			if err != nil {
				t.Fatal(err)
			}
			// Same programs, different bytes: an object rebuilt with new content.
			if err := os.WriteFile(obj, append(data, 0), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		change.apply()
		out, code := env.Oneshot(t, bin, "start", "changed")
		if code == 0 {
			t.Fatalf("%s: start with a changed config succeeded: %s", change.what, out)
		}
		fpOneLine(t, out)
		for _, w := range []string{"already started with a different config", "systemctl reload bpf@changed.service"} {
			if !strings.Contains(out, w) {
				t.Errorf("%s: reason %q does not contain %q", change.what, out, w)
			}
		}
		st := fpAssertAttached(t, env, pair, "changed", before, 1)
		if st.Links[0] != first.Links[0] {
			t.Errorf("%s: attachment changed: %+v, was %+v", change.what, st.Links[0], first.Links[0])
		}
		n0 := testenv.Counter(t, stats, 0)
		if got := pair.Ping(t, 3); got != 3 {
			t.Errorf("%s: ping: %d of 3", change.what, got)
		}
		if n := testenv.Counter(t, stats, 0); n < n0+3 {
			t.Errorf("%s: the old program stopped counting: %d -> %d", change.what, n0, n)
		}
	}

	fpMustOneshot(t, env, bin, "stop", "changed")
	fpAssertGone(t, env, "changed")
	fpAssertNoXDP(t, pair)
}

// TestStartFailsOnSecondAttach: when the second [Attach] fails, the first
// attachment, the maps, the staging dir and the state are all undone.
func TestStartFailsOnSecondAttach(t *testing.T) {
	testenv.CheckLeaks(t)
	env := testenv.NewEnv(t)
	pair := testenv.NetnsPair(t)
	bin := testenv.BuildBinary(t, "cmd/bpfunit-oneshot")
	cfg := env.Config(t, "second", fpXDPConfig(env.Object(t, "xdp_counter"), pair, "", "xdp_count", "xdp_count@bfmissing0"))
	before := fpSnapshot(t)

	for range 2 { // the failure leaves nothing that would change the second try
		out, code := env.Oneshot(t, bin, "start", "second")
		if code == 0 {
			t.Fatalf("start succeeded with a missing interface: %s", out)
		}
		fpOneLine(t, out)
		if want := cfg + ":9: [Attach] Program=xdp_count: "; !strings.Contains(out, want) || !strings.Contains(out, "bfmissing0 not found") {
			t.Errorf("reason %q does not name %q and the missing interface", out, want)
		}
		fpAssertGone(t, env, "second")
		fpAssertNoXDP(t, pair)
		if links := fpNewLinks(t, before); len(links) != 0 {
			t.Errorf("links left in the kernel: %v", links)
		}
	}
	// Stopping what never started is fine and finds nothing to do.
	fpMustOneshot(t, env, bin, "stop", "second")
	fpAssertGone(t, env, "second")
}

// TestStopIdempotent: stop twice, and stop of a unit never started, exit 0.
func TestStopIdempotent(t *testing.T) {
	testenv.CheckLeaks(t)
	env := testenv.NewEnv(t)
	pair := testenv.NetnsPair(t)
	bin := testenv.BuildBinary(t, "cmd/bpfunit-oneshot")
	env.Config(t, "stop2", fpXDPConfig(env.Object(t, "xdp_counter"), pair, "", "xdp_count"))

	fpMustOneshot(t, env, bin, "stop", "stop2") // never started
	fpMustOneshot(t, env, bin, "stop", "neverconfigured")
	fpMustOneshot(t, env, bin, "start", "stop2")
	fpMustOneshot(t, env, bin, "stop", "stop2")
	fpMustOneshot(t, env, bin, "stop", "stop2")
	fpAssertGone(t, env, "stop2")
	fpAssertNoXDP(t, pair)
	fpAssertRootEmpty(t, env)
}

// TestStopAfterConfigDeleted: stop works from the pins and the state file,
// so removing the config of a started unit doesn't strand its attachment.
func TestStopAfterConfigDeleted(t *testing.T) {
	testenv.CheckLeaks(t)
	env := testenv.NewEnv(t)
	pair := testenv.NetnsPair(t)
	bin := testenv.BuildBinary(t, "cmd/bpfunit-oneshot")
	obj := env.Object(t, "xdp_counter")
	cfg := env.Config(t, "deleted", fpXDPConfig(obj, pair, "", "xdp_count"))
	before := fpSnapshot(t)

	fpMustOneshot(t, env, bin, "start", "deleted")
	fpAssertAttached(t, env, pair, "deleted", before, 1)
	if err := os.Remove(cfg); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(obj); err != nil { // and the object too
		t.Fatal(err)
	}
	fpMustOneshot(t, env, bin, "stop", "deleted")
	fpAssertGone(t, env, "deleted")
	fpAssertNoXDP(t, pair)
	if links := fpNewLinks(t, before); len(links) != 0 {
		t.Errorf("links left in the kernel: %v", links)
	}
	fpAssertRootEmpty(t, env)
}

// fpManager is a Manager on env, in this process, for reading status.
func fpManager(env *testenv.Env) *manager.Manager {
	return &manager.Manager{Root: pins.Root(env.PinRoot), RunDir: env.RunDir, ConfigDirs: []string{env.ConfigDir}, Log: slog.New(slog.DiscardHandler)}
}

// fpDetachBehindBack detaches the link pinned at pin the way bpftool link
// detach would: the pin stays, attached to nothing.
func fpDetachBehindBack(t *testing.T, pin string) {
	t.Helper()
	l, err := link.LoadPinnedLink(pin, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = l.Detach()
	l.Close()
	if err != nil {
		t.Fatal(err)
	}
}

// TestStartRepairsDetachedLink: a link detached behind bpfunit's back
// (bpftool link detach) stays pinned but attached to nothing. Status must
// call it partly attached and say why, and a start must attach again
// instead of adopting it.
func TestStartRepairsDetachedLink(t *testing.T) {
	testenv.CheckLeaks(t)
	env := testenv.NewEnv(t)
	pair := testenv.NetnsPair(t)
	bin := testenv.BuildBinary(t, "cmd/bpfunit-oneshot")
	env.Config(t, "detached", fpXDPConfig(env.Object(t, "xdp_counter"), pair, "", "xdp_count"))
	before := fpSnapshot(t)

	fpMustOneshot(t, env, bin, "start", "detached")
	first := fpAssertAttached(t, env, pair, "detached", before, 1)
	fpDetachBehindBack(t, first.Links[0].Pin)
	fpAssertNoXDP(t, pair)

	st, err := fpManager(env).Status(t.Context(), "detached")
	if err != nil {
		t.Fatal(err)
	}
	if st.State != manager.StatePartial || !strings.Contains(st.Reason, "behind bpfunit's back") || len(st.Links) != 1 || st.Links[0].Alive {
		t.Errorf("status of a detached link: state %s (%s), links %+v; want partly-attached, not alive", st.State, st.Reason, st.Links)
	}

	fpMustOneshot(t, env, bin, "start", "detached")
	again := fpAssertAttached(t, env, pair, "detached", before, 1)
	if again.Links[0].LinkID == first.Links[0].LinkID {
		t.Errorf("start adopted the detached link %d", first.Links[0].LinkID)
	}
	if got := pair.Ping(t, 2); got != 2 {
		t.Errorf("ping: %d of 2", got)
	}
	if n := testenv.Counter(t, filepath.Join(env.PinRoot, "detached", "maps", "xdp_stats"), 0); n < 2 {
		t.Errorf("xdp_stats[0] = %d after re-attach, want >= 2", n)
	}
	if st, err := fpManager(env).Status(t.Context(), "detached"); err != nil || st.State != manager.StateAttached {
		t.Errorf("status after repair: %+v, %v", st, err)
	}
	fpMustOneshot(t, env, bin, "stop", "detached")
	fpAssertGone(t, env, "detached")
	fpAssertNoXDP(t, pair)
}

// TestStopDetachesHeldLink: another process's FD on the link (a monitor,
// bpftool) must not keep the program attached after stop.
func TestStopDetachesHeldLink(t *testing.T) {
	testenv.CheckLeaks(t)
	env := testenv.NewEnv(t)
	pair := testenv.NetnsPair(t)
	bin := testenv.BuildBinary(t, "cmd/bpfunit-oneshot")
	env.Config(t, "held", fpXDPConfig(env.Object(t, "xdp_counter"), pair, "", "xdp_count"))
	before := fpSnapshot(t)

	fpMustOneshot(t, env, bin, "start", "held")
	st := fpAssertAttached(t, env, pair, "held", before, 1)
	l, err := link.LoadPinnedLink(st.Links[0].Pin, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	fpMustOneshot(t, env, bin, "stop", "held")
	fpAssertGone(t, env, "held")
	fpAssertNoXDP(t, pair)
	if got := pair.Ping(t, 1); got != 1 {
		t.Errorf("ping after stop: %d of 1", got)
	}
	l.Close()
	if links := fpNewLinks(t, before); len(links) != 0 {
		t.Errorf("links left after the last FD closed: %v", links)
	}
}

// TestStartRepairsLostState: pins without a readable state file (deleted,
// or corrupt) are a half-attached unit: the next start replaces them with
// exactly one attachment, and stop leaves nothing.
func TestStartRepairsLostState(t *testing.T) {
	testenv.CheckLeaks(t)
	env := testenv.NewEnv(t)
	pair := testenv.NetnsPair(t)
	bin := testenv.BuildBinary(t, "cmd/bpfunit-oneshot")
	env.Config(t, "lost", fpXDPConfig(env.Object(t, "xdp_counter"), pair, "", "xdp_count"))
	before := fpSnapshot(t)
	stateFile := filepath.Join(env.RunDir, "state", "lost.json")

	fpMustOneshot(t, env, bin, "start", "lost")
	for _, damage := range []struct {
		what string
		do   func() error
	}{
		{"deleted", func() error { return os.Remove(stateFile) }},
		{"corrupt", func() error { return os.WriteFile(stateFile, []byte("{not json"), 0o644) }},
		{"empty", func() error { return os.WriteFile(stateFile, nil, 0o644) }},
	} {
		if err := damage.do(); err != nil {
			t.Fatal(err)
		}
		st, err := fpManager(env).Status(t.Context(), "lost")
		if err != nil || st.State != manager.StateBroken {
			t.Errorf("state %s: status %+v, %v; want broken", damage.what, st, err)
		}
		// A damaged file is named, with what is wrong with it.
		if damage.what != "deleted" && (st == nil || !strings.Contains(st.Reason, stateFile) || !strings.Contains(st.Err, stateFile)) {
			t.Errorf("state %s: status reason %q, error %q; want both to name %s", damage.what, st.Reason, st.Err, stateFile)
		}
		fpMustOneshot(t, env, bin, "start", "lost")
		fpAssertAttached(t, env, pair, "lost", before, 1)
	}
	if err := os.Remove(stateFile); err != nil {
		t.Fatal(err)
	}
	fpMustOneshot(t, env, bin, "stop", "lost") // from the pins alone
	fpAssertGone(t, env, "lost")
	fpAssertNoXDP(t, pair)
	if links := fpNewLinks(t, before); len(links) != 0 {
		t.Errorf("links left in the kernel: %v", links)
	}
}

// TestReloadRepairsDetachedLink: reload brings back a link detached behind
// bpfunit's back (it used to refuse: "not started"), make-before-break,
// with a new link on the same pin.
func TestReloadRepairsDetachedLink(t *testing.T) {
	testenv.CheckLeaks(t)
	env := testenv.NewEnv(t)
	pair := testenv.NetnsPair(t)
	bin := testenv.BuildBinary(t, "cmd/bpfunit-oneshot")
	env.Config(t, "rdet", fpXDPConfig(env.Object(t, "xdp_counter"), pair, "", "xdp_count"))
	before := fpSnapshot(t)

	fpMustOneshot(t, env, bin, "start", "rdet")
	first := fpAssertAttached(t, env, pair, "rdet", before, 1)
	fpDetachBehindBack(t, first.Links[0].Pin)
	fpAssertNoXDP(t, pair)

	fpMustOneshot(t, env, bin, "reload", "rdet")
	again := fpAssertAttached(t, env, pair, "rdet", before, 1)
	if again.Links[0].LinkID == first.Links[0].LinkID || again.Links[0].LastSwap != manager.SwapMakeBeforeBreak {
		t.Errorf("reload of a detached link: link %d (was %d), swap %q; want a new link, make-before-break", again.Links[0].LinkID, first.Links[0].LinkID, again.Links[0].LastSwap)
	}
	if got := pair.Ping(t, 2); got != 2 {
		t.Errorf("ping: %d of 2", got)
	}
	if st, err := fpManager(env).Status(t.Context(), "rdet"); err != nil || st.State != manager.StateAttached {
		t.Errorf("status after reload: %+v, %v", st, err)
	}
	fpMustOneshot(t, env, bin, "stop", "rdet")
	fpAssertGone(t, env, "rdet")
	fpAssertNoXDP(t, pair)
}
