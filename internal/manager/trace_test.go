package manager_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/bpfunit/bpfunit/internal/testenv"
)

// TestTraceLifecycle attaches each tracepoint flavour of trace_counter with
// the oneshot, filtered with Constant=target_tgid= to a helper child
// process, lets the oneshot exit, proves the program counts the child's
// real system calls, then stops the unit and proves it no longer runs and
// nothing is left.
func TestTraceLifecycle(t *testing.T) {
	for _, tc := range []struct {
		typ, program string
		tracefs      bool
		// the counter: map and key
		stats string
		key   uint32
		// exact: the count is exactly the child's getpid calls (the
		// getpid tracepoint); else at least that (every syscall).
		exact bool
	}{
		{typ: "tracepoint", program: "tp_getpid", tracefs: true, stats: "trace_stats", key: 0, exact: true},
		{typ: "raw_tracepoint", program: "raw_tp_sys_enter", stats: "trace_stats", key: 1},
		{typ: "tp_btf", program: "tp_btf_sys_enter", stats: "btf_stats", key: 0},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			testenv.CheckLeaks(t)
			if tc.tracefs {
				testenv.NeedTracefs(t)
			}
			env := testenv.NewEnv(t)
			oneshot := testenv.BuildBinary(t, "cmd/bpfunit-oneshot")
			child := startProbeHelper(t)
			obj := env.Object(t, "trace_counter")
			env.Config(t, "trace", fmt.Sprintf(`[Object]
Path=%s
PinMaps=yes
Constant=target_tgid=%d
[Attach]
Program=%s
Type=%s
`, obj, child.Pid, tc.program, tc.typ))

			mustStart(t, env, oneshot, "trace")
			links := unitLinks(t, env, "trace")
			stats := openMap(t, filepath.Join(env.PinRoot, "trace", "maps", tc.stats))
			// Nothing counts while the child is idle, whatever else runs.
			if before := counter(t, stats, tc.key); before != 0 {
				t.Fatalf("%s[%d] = %d before the child did anything; want 0 (target_tgid filter)", tc.stats, tc.key, before)
			}
			const n = 50
			child.Do(t, n)
			got := counter(t, stats, tc.key)
			t.Logf("%s[%d] = %d for %d getpid calls", tc.stats, tc.key, got, n)
			if tc.exact && got != n || got < n {
				t.Fatalf("%s[%d] counted %d events of the child's %d getpid calls", tc.stats, tc.key, got, n)
			}

			stopAndCheck(t, env, oneshot, "trace", links)
			before := counter(t, stats, tc.key)
			child.Do(t, n)
			if after := counter(t, stats, tc.key); after != before {
				t.Fatalf("%s program still runs after stop: %d -> %d", tc.typ, before, after)
			}
		})
	}
}
