package manager_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/bpfunit/bpfunit/internal/testenv"
)

// TestTailCallLifecycle attaches an XDP program that tail-calls through a
// PROG_ARRAY, lets the oneshot exit, and proves the tail call still works:
// the kernel empties a PROG_ARRAY when its last user-space reference goes,
// so bpfunit must have pinned it. Then it stops the unit and proves nothing
// is left.
func TestTailCallLifecycle(t *testing.T) {
	testenv.CheckLeaks(t)
	env := testenv.NewEnv(t)
	pair := testenv.NetnsPair(t)
	oneshot := testenv.BuildBinary(t, "cmd/bpfunit-oneshot")
	obj := env.Object(t, "tailcall")
	// No PinMaps=: the PROG_ARRAY must be pinned regardless.
	env.Config(t, "tail", fmt.Sprintf(`[Object]
Path=%s
[Attach]
Program=xdp_entry
Interface=%s
Namespace=%s
Mode=generic
`, obj, pair.IfB, pair.NsB))

	mustStart(t, env, oneshot, "tail")
	links := unitLinks(t, env, "tail")
	mapsDir := filepath.Join(env.PinRoot, "tail", "maps")
	ents, err := os.ReadDir(mapsDir)
	if err != nil || len(ents) != 1 || ents[0].Name() != "jmp_table" {
		t.Fatalf("pinned maps: %v, %v; want only jmp_table (PinMaps=no)", ents, err)
	}
	jmp := openMap(t, filepath.Join(mapsDir, "jmp_table"))
	if info, err := jmp.Info(); err != nil || info.Type != ebpf.ProgramArray {
		t.Fatalf("jmp_table: %v, %v; want a PROG_ARRAY", info, err)
	}
	var progID ebpf.ProgramID
	if err := jmp.Lookup(uint32(0), &progID); err != nil {
		t.Fatalf("jmp_table[0] is empty after the oneshot exited: %v", err)
	}

	// tail_stats is not pinned: find it through the attached program.
	stats := attachedProgramMap(t, links[0], "tail_stats")
	if got := pair.Ping(t, 5); got != 5 {
		t.Fatalf("ping through the tail-calling XDP program: %d of 5 replies", got)
	}
	tailed, failed := counter(t, stats, 0), counter(t, stats, 1)
	if tailed < 5 || failed != 0 {
		t.Fatalf("tail_stats = %d packets handled by xdp_tail, %d failed tail calls; want >= 5 and 0", tailed, failed)
	}

	stopAndCheck(t, env, oneshot, "tail", links)
	tailed = counter(t, stats, 0)
	if got := pair.Ping(t, 3); got != 3 {
		t.Fatalf("ping after stop: %d of 3 replies", got)
	}
	if now := counter(t, stats, 0); now != tailed {
		t.Fatalf("tail-called program still runs after stop: %d -> %d", tailed, now)
	}
}
