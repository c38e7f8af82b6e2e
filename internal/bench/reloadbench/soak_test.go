package reloadbench

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/bpfunit/bpfunit/internal/testenv"
)

// soakN is the number of cycles of each soak phase (BENCH_SOAK_N, default 1000).
func soakN() int {
	if n, err := strconv.Atoi(os.Getenv("BENCH_SOAK_N")); err == nil && n > 0 {
		return n
	}
	return 1000
}

type sample struct {
	phase      string
	cycle      int
	fds, fdsGC int
	maxFDs     int // the most FDs open after any cycle since the last sample
	rss        int // KiB
}

func takeSample(t *testing.T, phase string, cycle int) sample {
	s := sample{phase: phase, cycle: cycle, fds: fdCount(t), rss: rssKiB(t)}
	runtime.GC()
	time.Sleep(10 * time.Millisecond) // cleanups run after the GC, on their own goroutine
	s.fdsGC = fdCount(t)
	return s
}

// TestSoak runs soakN start/stop cycles and soakN reloads of a unit with
// an XDP and a tcx attachment, in process through the manager API, and
// checks that nothing leaks: no BPF object left in the kernel, the
// process's open file descriptors flat (counted as they are, without
// forcing a GC first: an FD only a finalizer would close is a leak for a
// long-running bpfunitd), RSS within a small bound.
func TestSoak(t *testing.T) {
	needBench(t)
	testenv.CheckLeaks(t)
	n := soakN()
	env := testenv.NewEnv(t)
	obj := combinedObject(t, env)
	pair := quietPair(t)
	m := newManager(env, nil)
	ctx := context.Background()
	const unit = "soak"
	env.Config(t, unit, zlUnit(obj, pair, "native", "soak 0", 0))
	leaked := leakCheck(t)

	cycle := func() error {
		if _, _, err := m.Start(ctx, unit); err != nil {
			return err
		}
		return m.Stop(ctx, unit)
	}
	for i := 0; i < 5; i++ { // warm up: caches, the runtime's own FDs
		if err := cycle(); err != nil {
			t.Fatal(err)
		}
	}
	var samples []sample
	maxFDs := 0
	sampleAt := func(phase string, i int) {
		s := takeSample(t, phase, i)
		s.maxFDs = max(maxFDs, s.fds)
		maxFDs = 0
		samples = append(samples, s)
	}
	t0 := time.Now()
	for i := 0; i <= n; i++ {
		if i%100 == 0 || i == n {
			sampleAt("start/stop", i)
		}
		if i < n {
			if err := cycle(); err != nil {
				t.Fatalf("cycle %d: %v", i, err)
			}
			maxFDs = max(maxFDs, fdCount(t))
		}
	}
	cycleTime := time.Since(t0) / time.Duration(n)

	if _, _, err := m.Start(ctx, unit); err != nil {
		t.Fatal(err)
	}
	t0 = time.Now()
	for i := 0; i <= n; i++ {
		if i%100 == 0 || i == n {
			sampleAt("reload", i)
		}
		if i < n {
			env.Config(t, unit, zlUnit(obj, pair, "native", fmt.Sprintf("soak %d", i+1), 0))
			if _, err := m.Reload(ctx, unit); err != nil {
				t.Fatalf("reload %d: %v", i, err)
			}
			maxFDs = max(maxFDs, fdCount(t))
		}
	}
	reloadTime := time.Since(t0) / time.Duration(n)
	if err := m.Stop(ctx, unit); err != nil {
		t.Fatal(err)
	}
	left := leaked()

	fmt.Printf("\nsoak, in process (manager API): %d start/stop cycles, then %d reloads, of a unit with XDP (native) + tcx on a veth\n\n", n, n)
	fmt.Println("| phase | cycle | open FDs | most FDs after a cycle since the last sample | open FDs after GC | RSS |")
	fmt.Println("|---|---|---|---|---|---|")
	for _, s := range samples {
		fmt.Printf("| %s | %d | %d | %d | %d | %.1f MiB |\n", s.phase, s.cycle, s.fds, s.maxFDs, s.fdsGC, float64(s.rss)/1024)
	}
	fmt.Printf("\nmean start+stop cycle %s, mean reload %s; BPF objects left in the kernel: %d progs, %d maps, %d links\n",
		ms(cycleTime), ms(reloadTime), len(left.Progs), len(left.Maps), len(left.Links))

	if !left.Empty() {
		t.Errorf("leaked BPF objects: %s", left)
	}
	for _, phase := range []string{"start/stop", "reload"} {
		var first, last sample
		most := 0
		for _, s := range samples {
			if s.phase == phase {
				if first.phase == "" {
					first = s
				}
				last = s
				most = max(most, s.maxFDs)
			}
		}
		if most > first.fds || last.fdsGC > first.fdsGC {
			t.Errorf("%s: open FDs grew: %d at the start, up to %d after a cycle; %d -> %d after GC", phase, first.fds, most, first.fdsGC, last.fdsGC)
		}
		if grow := last.rss - first.rss; grow > 16<<10 {
			t.Errorf("%s: RSS grew by %d KiB (%d -> %d KiB), bound 16 MiB", phase, grow, first.rss, last.rss)
		}
	}
}

// TestSoakOneshot is the same through the bpfunit-oneshot binary, shorter
// (soakN/10 cycles of each): there FDs die with each process, so what is
// checked is the kernel and the pins.
func TestSoakOneshot(t *testing.T) {
	needBench(t)
	testenv.CheckLeaks(t)
	n := max(soakN()/10, 1)
	env := testenv.NewEnv(t)
	oneshot := testenv.BuildBinary(t, "cmd/bpfunit-oneshot")
	obj := combinedObject(t, env)
	pair := quietPair(t)
	const unit = "soak1"
	env.Config(t, unit, zlUnit(obj, pair, "native", "soak 0", 0))
	leaked := leakCheck(t)
	run := func(args ...string) {
		t.Helper()
		if out, code := env.Oneshot(t, oneshot, args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, out)
		}
	}
	var startStop, reload []time.Duration
	for i := 0; i < n; i++ {
		t0 := time.Now()
		run("start", unit)
		run("stop", unit)
		startStop = append(startStop, time.Since(t0))
	}
	run("start", unit)
	for i := 0; i < n; i++ {
		env.Config(t, unit, zlUnit(obj, pair, "native", fmt.Sprintf("soak %d", i+1), 0))
		t0 := time.Now()
		run("reload", unit)
		reload = append(reload, time.Since(t0))
	}
	run("stop", unit)
	left := leaked()
	ss, rs := summarize(startStop), summarize(reload)
	fmt.Printf("\nsoak through bpfunit-oneshot: %d start+stop cycles (median %s, p90 %s), %d reloads (median %s, p90 %s); left in the kernel: %d progs, %d maps, %d links; pins left: %v\n",
		n, ms(ss.med), ms(ss.p90), n, ms(rs.med), ms(rs.p90), len(left.Progs), len(left.Maps), len(left.Links), !env.UnitDirEmpty(unit))
	if !left.Empty() {
		t.Errorf("leaked BPF objects: %s", left)
	}
	if !env.UnitDirEmpty(unit) {
		t.Errorf("pins of %s left after the last stop", unit)
	}
}
