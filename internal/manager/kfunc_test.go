package manager_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/bpfunit/bpfunit/internal/testenv"
)

// TestKfuncLifecycle attaches each BTF trampoline type of kfunc_counter
// (fentry and fexit on do_sys_openat2, lsm on file_open) with the oneshot,
// filtered with Constant=target_tgid= to the test process, proves it counts
// the test's own file opens, then stops the unit and proves it no longer
// runs and nothing is left. Kernels that refuse the program type skip
// (a probe loads the program first).
func TestKfuncLifecycle(t *testing.T) {
	for _, tc := range []struct {
		typ, program string
		key          uint32
	}{
		{"fentry", "fentry_openat", 0},
		{"fexit", "fexit_openat", 1},
		{"lsm", "lsm_file_open", 2},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			testenv.CheckLeaks(t)
			env := testenv.NewEnv(t)
			oneshot := testenv.BuildBinary(t, "cmd/bpfunit-oneshot")
			obj := env.Object(t, "kfunc_counter")
			env.Config(t, "kfunc", fmt.Sprintf(`[Object]
Path=%s
PinMaps=yes
Constant=target_tgid=%d
[Attach]
Program=%s
Type=%s
`, obj, os.Getpid(), tc.program, tc.typ))
			file := filepath.Join(t.TempDir(), "opened")
			if err := os.WriteFile(file, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			openN := func(n int) {
				for range n {
					f, err := os.Open(file)
					if err != nil {
						t.Fatal(err)
					}
					f.Close()
				}
			}

			if refused := testenv.ProgramRefused(t, "kfunc_counter", tc.program); refused != nil {
				// Where the kernel refuses the type, start must say so
				// (exit 3, unimplemented) and leave nothing behind.
				out, code := env.Oneshot(t, oneshot, "start", "kfunc")
				if code != 3 {
					t.Errorf("start on a kernel that refuses %s programs: exit %d, want 3: %s", tc.typ, code, out)
				}
				if !env.UnitDirEmpty("kfunc") {
					t.Errorf("a refused start left pins behind")
				}
				t.Skipf("kernel refuses %s programs: %v", tc.typ, refused)
			}
			if tc.typ == "lsm" {
				testenv.NeedBPFLSM(t)
			}
			mustStart(t, env, oneshot, "kfunc")
			links := unitLinks(t, env, "kfunc")
			stats := openMap(t, filepath.Join(env.PinRoot, "kfunc", "maps", "kfunc_stats"))
			before := counter(t, stats, tc.key)
			const n = 20
			openN(n)
			if got := counter(t, stats, tc.key) - before; got < n {
				t.Fatalf("kfunc_stats[%d] counted %d of the test's %d opens", tc.key, got, n)
			}

			stopAndCheck(t, env, oneshot, "kfunc", links)
			before = counter(t, stats, tc.key)
			openN(n)
			if after := counter(t, stats, tc.key); after != before {
				t.Fatalf("%s program still runs after stop: %d -> %d", tc.typ, before, after)
			}
		})
	}
}
