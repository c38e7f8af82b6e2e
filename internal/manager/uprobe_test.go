package manager_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/bpfunit/bpfunit/internal/testenv"
)

// TestUprobeLifecycle attaches a uprobe and a uretprobe to a function of a
// helper binary built from testdata, lets the oneshot exit, proves both
// count the helper's calls exactly (Constant=target_tgid= keeps other
// processes out), then stops the unit and proves they no longer run and
// nothing is left.
func TestUprobeLifecycle(t *testing.T) {
	testenv.CheckLeaks(t)
	testenv.NeedTracefs(t)
	env := testenv.NewEnv(t)
	oneshot := testenv.BuildBinary(t, "cmd/bpfunit-oneshot")
	child := startProbeHelper(t)
	obj := env.Object(t, "uprobe_counter")
	env.Config(t, "uprobe", fmt.Sprintf(`[Object]
Path=%s
PinMaps=yes
Constant=target_tgid=%d
[Attach]
Program=uprobe_hit
Type=uprobe
Binary=%s
Symbol=%s
[Attach]
Program=uretprobe_hit
Type=uretprobe
Binary=%s
Symbol=%s
`, obj, child.Pid, child.Path, probeHelperSymbol, child.Path, probeHelperSymbol))

	mustStart(t, env, oneshot, "uprobe")
	links := unitLinks(t, env, "uprobe")
	if len(links) != 2 {
		t.Fatalf("%d links pinned, want 2 (uprobe, uretprobe)", len(links))
	}
	stats := openMap(t, filepath.Join(env.PinRoot, "uprobe", "maps", "uprobe_stats"))
	const n = 25
	child.Do(t, n)
	if entries, returns := counter(t, stats, 0), counter(t, stats, 1); entries != n || returns != n {
		t.Fatalf("uprobe_stats = %d entries, %d returns of %s; want %d each", entries, returns, probeHelperSymbol, n)
	}

	stopAndCheck(t, env, oneshot, "uprobe", links)
	child.Do(t, n)
	if entries, returns := counter(t, stats, 0), counter(t, stats, 1); entries != n || returns != n {
		t.Fatalf("uprobes still run after stop: %d entries, %d returns; want %d each as before", entries, returns, n)
	}
}
