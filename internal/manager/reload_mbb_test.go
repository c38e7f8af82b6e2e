package manager_test

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/bpfunit/bpfunit/internal/testenv"
)

// TestReloadMakeBeforeBreak reloads a tracepoint unit (a perf-event link
// the kernel can't update) ten times while a child makes getpid calls
// without pause. Every reload attaches the new link before dropping the
// old one, so no call goes uncounted: the counter ends at least at the
// number of calls (a call made while both links are attached counts twice).
func TestReloadMakeBeforeBreak(t *testing.T) {
	testenv.CheckLeaks(t)
	testenv.NeedTracefs(t)
	env := testenv.NewEnv(t)
	oneshot := testenv.BuildBinary(t, "cmd/bpfunit-oneshot")
	child := startProbeHelper(t)
	obj := env.Object(t, "trace_counter")
	env.Config(t, "mbb", fmt.Sprintf("[Object]\nPath=%s\nPinMaps=yes\nConstant=target_tgid=%d\n[Attach]\nProgram=tp_getpid\n", obj, child.Pid))
	mustStart(t, env, oneshot, "mbb")
	defer mustStop(t, env, oneshot, "mbb")
	first := unitLinks(t, env, "mbb")
	stats := filepath.Join(env.PinRoot, "mbb", "maps", "trace_stats")

	const rounds, perRound = 40, 20000
	var wg sync.WaitGroup
	wg.Add(1)
	reloadErrs := make(chan string, 10)
	go func() {
		defer wg.Done()
		for i := range 10 {
			cmd := exec.Command(oneshot, "reload", "mbb")
			cmd.Env = env.Environ()
			if out, err := cmd.CombinedOutput(); err != nil {
				reloadErrs <- fmt.Sprintf("reload %d: %v: %s", i, err, out)
			}
		}
	}()
	// The calls run on this goroutine (the helper's Do may fail the test).
	for range rounds {
		child.Do(t, perRound)
	}
	wg.Wait()
	close(reloadErrs)
	for e := range reloadErrs {
		t.Error(e)
	}

	last := unitLinks(t, env, "mbb")
	if len(last) != 1 || last[0] == first[0] {
		t.Fatalf("links %v after reloads (first %v): want one new link", last, first)
	}
	got := testenv.Counter(t, stats, 0)
	t.Logf("counted %d of %d getpid calls across 10 make-before-break reloads", got, rounds*perRound)
	if got < rounds*perRound {
		t.Fatalf("counted %d of %d calls: %d calls ran with no program attached", got, rounds*perRound, rounds*perRound-got)
	}
}
