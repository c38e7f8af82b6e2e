package manager_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/bpfunit/bpfunit/internal/fault"
	"github.com/bpfunit/bpfunit/internal/testenv"
)

// fpFaultPoints reads the fault point names from the manager's sources, so
// that a new fault point is covered without touching this test.
func fpFaultPoints(t *testing.T, prefix string) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`m\.fault\("([^"]+)"\)`)
	var steps []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(data), -1) {
			if strings.HasPrefix(m[1], prefix) && !slices.Contains(steps, m[1]) {
				steps = append(steps, m[1])
			}
		}
	}
	slices.Sort(steps)
	if len(steps) == 0 {
		t.Fatalf("no m.fault(%q...) found in the manager's sources", prefix)
	}
	return steps
}

// fpKill runs the oneshot with the fault armed at step and checks that it
// died there by SIGKILL.
func fpKill(t *testing.T, env *testenv.Env, bin, step string, args ...string) {
	t.Helper()
	out, code := fpRun(t, env, bin, []string{fault.Env + "=" + step}, args...)
	if code != -1 {
		t.Fatalf("%s with %s=%s: exit %d, want killed by SIGKILL: %s", strings.Join(args, " "), fault.Env, step, code, out)
	}
}

// fpTwoAttachConfig attaches xdp_count to both ends of pair, each in its
// own namespace: two links, so that a kill can fall between them.
func fpTwoAttachConfig(obj string, pair *testenv.Pair) string {
	return fmt.Sprintf(`[Object]
Path=%s
PinMaps=yes
[Attach]
Program=xdp_count
Interface=%s
Namespace=%s
Mode=generic
[Attach]
Program=xdp_count
Interface=%s
Namespace=%s
Mode=generic
`, obj, pair.IfB, pair.NsB, pair.IfA, pair.NsA)
}

// fpAssertTwoAttached checks that unit name has exactly its two links and
// its one program in the kernel, and that traffic flows through both.
func fpAssertTwoAttached(t *testing.T, env *testenv.Env, pair *testenv.Pair, name string, before testenv.Objects) {
	t.Helper()
	fpAssertAttached(t, env, pair, name, before, 2)
	if progs := fpSnapshot(t).Since(before).Progs; len(progs) != 1 {
		t.Errorf("unit %s: %d programs in the kernel (%v), want 1", name, len(progs), progs)
	}
	if a := fpKernelXDP(t, pair.NsA, pair.IfA); a == 0 {
		t.Errorf("unit %s: no XDP program on %s", name, pair.IfA)
	}
	stats := filepath.Join(env.PinRoot, name, "maps", "xdp_stats")
	n0 := testenv.Counter(t, stats, 0)
	if got := pair.Ping(t, 2); got != 2 {
		t.Errorf("unit %s: ping: %d of 2", name, got)
	}
	// Each echo passes B's veth (request) and A's veth (reply).
	if n := testenv.Counter(t, stats, 0); n < n0+4 {
		t.Errorf("unit %s: xdp_stats[0] went %d -> %d, want +4 (both links counting)", name, n0, n)
	}
}

// fpAssertNothing checks nothing of unit name is left, in bpffs, /run or
// the kernel.
func fpAssertNothing(t *testing.T, env *testenv.Env, pair *testenv.Pair, name string, before testenv.Objects) {
	t.Helper()
	fpAssertGone(t, env, name)
	fpAssertNoXDP(t, pair)
	if a := fpKernelXDP(t, pair.NsA, pair.IfA); a != 0 {
		t.Errorf("unit %s: XDP program %d left on %s", name, a, pair.IfA)
	}
	// Links die at once when detached and unpinned; programs and maps
	// may take an RCU grace period.
	if links := fpNewLinks(t, before); len(links) != 0 {
		t.Errorf("unit %s: links left in the kernel: %v", name, links)
	}
}

// TestFaultStart kills the oneshot with SIGKILL at every fault point of
// start; whatever it leaves, the next start attaches exactly once and the
// next stop leaves nothing. A stop straight after the kill also leaves
// nothing.
func TestFaultStart(t *testing.T) {
	testenv.CheckLeaks(t)
	env := testenv.NewEnv(t)
	pair := testenv.NetnsPair(t)
	bin := testenv.BuildBinary(t, "cmd/bpfunit-oneshot")
	obj := env.Object(t, "xdp_counter")
	for _, step := range fpFaultPoints(t, "start:") {
		t.Run(step, func(t *testing.T) {
			name := "fault-" + strings.ReplaceAll(step, ":", "-")
			env.Config(t, name, fpTwoAttachConfig(obj, pair))
			before := fpSnapshot(t)

			// Kill, then start and stop.
			fpKill(t, env, bin, step, "start", name)
			fpMustOneshot(t, env, bin, "start", name)
			fpAssertTwoAttached(t, env, pair, name, before)
			fpMustOneshot(t, env, bin, "start", name) // adopts
			fpAssertTwoAttached(t, env, pair, name, before)
			fpMustOneshot(t, env, bin, "stop", name)
			fpAssertNothing(t, env, pair, name, before)

			// Kill, then stop straight away.
			fpKill(t, env, bin, step, "start", name)
			fpMustOneshot(t, env, bin, "stop", name)
			fpAssertNothing(t, env, pair, name, before)
		})
	}
	fpAssertRootEmpty(t, env)
}

// TestFaultStop kills the oneshot at every fault point of stop, on a
// started unit; the next stop leaves nothing, and a start instead attaches
// exactly once.
func TestFaultStop(t *testing.T) {
	testenv.CheckLeaks(t)
	env := testenv.NewEnv(t)
	pair := testenv.NetnsPair(t)
	bin := testenv.BuildBinary(t, "cmd/bpfunit-oneshot")
	obj := env.Object(t, "xdp_counter")
	for _, step := range fpFaultPoints(t, "stop:") {
		t.Run(step, func(t *testing.T) {
			name := "fault-" + strings.ReplaceAll(step, ":", "-")
			env.Config(t, name, fpTwoAttachConfig(obj, pair))
			before := fpSnapshot(t)

			// Start, kill the stop, stop again.
			fpMustOneshot(t, env, bin, "start", name)
			fpKill(t, env, bin, step, "stop", name)
			fpMustOneshot(t, env, bin, "stop", name)
			fpAssertNothing(t, env, pair, name, before)

			// Start, kill the stop, start again, stop.
			fpMustOneshot(t, env, bin, "start", name)
			fpKill(t, env, bin, step, "stop", name)
			fpMustOneshot(t, env, bin, "start", name)
			fpAssertTwoAttached(t, env, pair, name, before)
			fpMustOneshot(t, env, bin, "stop", name)
			fpAssertNothing(t, env, pair, name, before)
		})
	}
	fpAssertRootEmpty(t, env)
}

// TestFaultStopWithoutConfig: a stop killed after the config was deleted
// is finished by the next stop, from the pins and the state file.
func TestFaultStopWithoutConfig(t *testing.T) {
	testenv.CheckLeaks(t)
	env := testenv.NewEnv(t)
	pair := testenv.NetnsPair(t)
	bin := testenv.BuildBinary(t, "cmd/bpfunit-oneshot")
	obj := env.Object(t, "xdp_counter")
	for _, step := range fpFaultPoints(t, "stop:") {
		name := "nocfg-" + strings.ReplaceAll(step, ":", "-")
		cfg := env.Config(t, name, fpTwoAttachConfig(obj, pair))
		before := fpSnapshot(t)
		fpMustOneshot(t, env, bin, "start", name)
		if err := os.Remove(cfg); err != nil {
			t.Fatal(err)
		}
		fpKill(t, env, bin, step, "stop", name)
		fpMustOneshot(t, env, bin, "stop", name)
		fpAssertNothing(t, env, pair, name, before)
	}
	fpAssertRootEmpty(t, env)
}

// TestFaultFiresOnlyWhenArmed guards the test above against a fault hook
// that kills everything: an unknown step is inert.
func TestFaultFiresOnlyWhenArmed(t *testing.T) {
	testenv.CheckLeaks(t)
	env := testenv.NewEnv(t)
	pair := testenv.NetnsPair(t)
	bin := testenv.BuildBinary(t, "cmd/bpfunit-oneshot")
	env.Config(t, "inert", fpTwoAttachConfig(env.Object(t, "xdp_counter"), pair))
	before := fpSnapshot(t)
	for _, verb := range []string{"start", "stop"} {
		cmd := exec.Command(bin, verb, "inert")
		cmd.Env = append(env.Environ(), fault.Env+"=no-such-step")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v: %s", verb, err, out)
		}
		if verb == "start" {
			// A hook that made start a no-op must not pass either.
			fpAssertTwoAttached(t, env, pair, "inert", before)
		}
	}
	fpAssertNothing(t, env, pair, "inert", before)
}

// TestFaultReload kills the oneshot at every fault point of reload: the
// unit stays attached exactly once on each interface, traffic flows, the
// next reload completes, and the next stop leaves nothing.
func TestFaultReload(t *testing.T) {
	testenv.CheckLeaks(t)
	env := testenv.NewEnv(t)
	pair := testenv.NetnsPair(t)
	bin := testenv.BuildBinary(t, "cmd/bpfunit-oneshot")
	obj := env.Object(t, "xdp_counter")
	for _, step := range fpFaultPoints(t, "reload:") {
		t.Run(step, func(t *testing.T) {
			name := "fault-" + strings.ReplaceAll(step, ":", "-")
			env.Config(t, name, fpTwoAttachConfig(obj, pair))
			before := fpSnapshot(t)
			fpMustOneshot(t, env, bin, "start", name)
			// A config change, so that reload has something to do.
			env.Config(t, name, "[Unit]\nDescription=v2\n"+fpTwoAttachConfig(obj, pair))

			fpKill(t, env, bin, step, "reload", name)
			if links := fpNewLinks(t, before); len(links) != 2 {
				t.Fatalf("after a killed reload: %d links in the kernel, want 2", len(links))
			}
			if a, b := fpKernelXDP(t, pair.NsA, pair.IfA), fpKernelXDP(t, pair.NsB, pair.IfB); a == 0 || b == 0 {
				t.Fatalf("after a killed reload: XDP programs %d on %s and %d on %s; want one on each", a, pair.IfA, b, pair.IfB)
			}
			if got := pair.Ping(t, 2); got != 2 {
				t.Fatalf("after a killed reload: ping %d of 2", got)
			}

			fpMustOneshot(t, env, bin, "reload", name)
			fpAssertAttached(t, env, pair, name, before, 2)
			fpMustOneshot(t, env, bin, "stop", name)
			fpAssertNothing(t, env, pair, name, before)

			// Kill a reload, then stop: nothing left.
			fpMustOneshot(t, env, bin, "start", name)
			env.Config(t, name, "[Unit]\nDescription=v3\n"+fpTwoAttachConfig(obj, pair))
			fpKill(t, env, bin, step, "reload", name)
			fpMustOneshot(t, env, bin, "stop", name)
			fpAssertNothing(t, env, pair, name, before)

			// Kill a reload, then start (a boot, or a restart whose stop
			// failed): a half-swapped unit starts afresh; one killed before
			// it swapped anything is still the old config, and start says
			// to reload. Either way one reload later it is attached once.
			fpMustOneshot(t, env, bin, "start", name)
			env.Config(t, name, "[Unit]\nDescription=v4\n"+fpTwoAttachConfig(obj, pair))
			fpKill(t, env, bin, step, "reload", name)
			if out, code := fpRun(t, env, bin, nil, "start", name); code != 0 && !strings.Contains(out, "systemctl reload") {
				t.Fatalf("start after a killed reload: exit %d: %s", code, out)
			}
			fpMustOneshot(t, env, bin, "reload", name)
			fpAssertTwoAttached(t, env, pair, name, before)
			fpMustOneshot(t, env, bin, "stop", name)
			fpAssertNothing(t, env, pair, name, before)
		})
	}
	fpAssertRootEmpty(t, env)
}
