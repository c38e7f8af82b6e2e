package manager_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/bpfunit/bpfunit/internal/testenv"
)

// TestKfuncReloadMakeBeforeBreak reloads fentry, fexit and lsm units while
// the test opens a file: tracing links can't be updated, so each reload
// attaches a new link before dropping the old one. The link id changes,
// the map is kept, and every open is counted. Runs where the kernel has
// BPF trampolines (Debian's 6.1 and 6.12 in make test-kernels).
func TestKfuncReloadMakeBeforeBreak(t *testing.T) {
	for _, tc := range []struct {
		typ, program string
		key          uint32
	}{
		{"fentry", "fentry_openat", 0},
		{"fexit", "fexit_openat", 1},
		{"lsm", "lsm_file_open", 2},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			testenv.SkipIfProgramRefused(t, tc.typ, "kfunc_counter", tc.program)
			if tc.typ == "lsm" {
				testenv.NeedBPFLSM(t)
			}
			testenv.CheckLeaks(t)
			env := testenv.NewEnv(t)
			oneshot := testenv.BuildBinary(t, "cmd/bpfunit-oneshot")
			obj := env.Object(t, "kfunc_counter")
			env.Config(t, "kr", fmt.Sprintf("[Object]\nPath=%s\nPinMaps=yes\nConstant=target_tgid=%d\n[Attach]\nProgram=%s\nType=%s\n",
				obj, os.Getpid(), tc.program, tc.typ))
			file := filepath.Join(t.TempDir(), "opened")
			if err := os.WriteFile(file, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			opens := 0
			openN := func(n int) {
				for range n {
					f, err := os.Open(file)
					if err != nil {
						t.Fatal(err)
					}
					f.Close()
				}
				opens += n
			}
			mustStart(t, env, oneshot, "kr")
			defer mustStop(t, env, oneshot, "kr")
			stats := filepath.Join(env.PinRoot, "kr", "maps", "kfunc_stats")
			prev := unitLinks(t, env, "kr")
			for i := range 3 {
				openN(10)
				if out, code := env.Oneshot(t, oneshot, "reload", "kr"); code != 0 {
					t.Fatalf("reload %d: exit %d: %s", i, code, out)
				}
				now := unitLinks(t, env, "kr")
				if len(now) != 1 || now[0] == prev[0] {
					t.Fatalf("reload %d: links %v (before %v), want one new link", i, now, prev)
				}
				prev = now
				openN(10)
			}
			if got := testenv.Counter(t, stats, tc.key); got < uint64(opens) {
				t.Fatalf("kfunc_stats[%d] = %d after %d opens across reloads: the map was not kept or opens went uncounted", tc.key, got, opens)
			}
		})
	}
}
