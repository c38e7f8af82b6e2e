package manager_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/bpfunit/bpfunit/internal/testenv"
)

// fpResult is one oneshot run's outcome.
type fpResult struct {
	args []string
	out  string
	err  error
}

// fpParallel starts one oneshot per args at once and waits for them all.
func fpParallel(t *testing.T, env *testenv.Env, bin string, runs ...[]string) []fpResult {
	t.Helper()
	res := make([]fpResult, len(runs))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, args := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(bin, args...)
			cmd.Env = env.Environ()
			<-start
			out, err := cmd.CombinedOutput()
			res[i] = fpResult{args: args, out: strings.TrimSpace(string(out)), err: err}
		}()
	}
	close(start)
	wg.Wait()
	return res
}

func fpAllOK(t *testing.T, res []fpResult) {
	t.Helper()
	for _, r := range res {
		if r.err != nil {
			t.Errorf("%s: %v: %s", strings.Join(r.args, " "), r.err, r.out)
		}
	}
}

// TestConcurrentStarts: several oneshots starting one unit at once all
// succeed, and the unit is attached exactly once.
func TestConcurrentStarts(t *testing.T) {
	testenv.CheckLeaks(t)
	env := testenv.NewEnv(t)
	pair := testenv.NetnsPair(t)
	bin := testenv.BuildBinary(t, "cmd/bpfunit-oneshot")
	env.Config(t, "race", fpTwoAttachConfig(env.Object(t, "xdp_counter"), pair))
	before := fpSnapshot(t)

	for round := range 3 {
		var runs [][]string
		for range 6 {
			runs = append(runs, []string{"start", "race"})
		}
		fpAllOK(t, fpParallel(t, env, bin, runs...))
		fpAssertTwoAttached(t, env, pair, "race", before)

		// Concurrent stops are just as idempotent.
		fpAllOK(t, fpParallel(t, env, bin, []string{"stop", "race"}, []string{"stop", "race"}, []string{"stop", "race"}))
		fpAssertNothing(t, env, pair, "race", before)
		if t.Failed() {
			t.Fatalf("round %d failed", round)
		}
	}
}

// TestConcurrentStartStop races a start against a stop of one unit: both
// exit 0, and the unit ends either fully attached or fully absent, never
// in between.
func TestConcurrentStartStop(t *testing.T) {
	testenv.CheckLeaks(t)
	env := testenv.NewEnv(t)
	pair := testenv.NetnsPair(t)
	bin := testenv.BuildBinary(t, "cmd/bpfunit-oneshot")
	env.Config(t, "startstop", fpTwoAttachConfig(env.Object(t, "xdp_counter"), pair))
	before := fpSnapshot(t)

	var attached, absent int
	for round := range 10 {
		// Odd rounds race from attached, even rounds from absent.
		if round%2 == 1 {
			fpMustOneshot(t, env, bin, "start", "startstop")
		}
		fpAllOK(t, fpParallel(t, env, bin, []string{"start", "startstop"}, []string{"stop", "startstop"}))
		_, err := os.Stat(filepath.Join(env.RunDir, "state", "startstop.json"))
		switch {
		case err == nil:
			attached++
			fpAssertTwoAttached(t, env, pair, "startstop", before)
			if _, err := os.Stat(filepath.Join(env.PinRoot, "startstop", "staging")); err == nil {
				t.Errorf("round %d: staging dir left while attached", round)
			}
		case os.IsNotExist(err):
			absent++
			fpAssertNothing(t, env, pair, "startstop", before)
		default:
			t.Fatal(err)
		}
		fpMustOneshot(t, env, bin, "stop", "startstop")
		fpAssertNothing(t, env, pair, "startstop", before)
		if t.Failed() {
			t.Fatalf("round %d failed", round)
		}
	}
	t.Logf("start/stop race ended attached %d times, absent %d times", attached, absent)
}

// TestConcurrentUnits: different units start and stop in parallel, each
// attached once, without waiting on each other's lock.
func TestConcurrentUnits(t *testing.T) {
	testenv.CheckLeaks(t)
	env := testenv.NewEnv(t)
	var pairs []*testenv.Pair
	for range 3 {
		pairs = append(pairs, testenv.NetnsPair(t))
	}
	bin := testenv.BuildBinary(t, "cmd/bpfunit-oneshot")
	obj := env.Object(t, "xdp_counter")
	names := []string{"par-0", "par-1", "par-2"}
	before := fpSnapshot(t)
	var starts, stops [][]string
	for i, name := range names {
		env.Config(t, name, fpXDPConfig(obj, pairs[i], "", "xdp_count"))
		starts = append(starts, []string{"start", name}, []string{"start", name})
		stops = append(stops, []string{"stop", name})
	}
	fpAllOK(t, fpParallel(t, env, bin, starts...))
	if links := fpNewLinks(t, before); len(links) != len(names) {
		t.Errorf("%d links in the kernel, want %d", len(links), len(names))
	}
	for i, name := range names {
		if got := pairs[i].Ping(t, 2); got != 2 {
			t.Errorf("%s: ping: %d of 2", name, got)
		}
		if n := testenv.Counter(t, filepath.Join(env.PinRoot, name, "maps", "xdp_stats"), 0); n < 2 {
			t.Errorf("%s: xdp_stats[0] = %d, want >= 2", name, n)
		}
	}
	fpAllOK(t, fpParallel(t, env, bin, stops...))
	for i, name := range names {
		fpAssertGone(t, env, name)
		fpAssertNoXDP(t, pairs[i])
	}
	if links := fpNewLinks(t, before); len(links) != 0 {
		t.Errorf("links left in the kernel: %v", links)
	}
	fpAssertRootEmpty(t, env)
}
