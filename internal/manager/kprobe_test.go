package manager_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf/link"

	"github.com/bpfunit/bpfunit/internal/oneshot"
	"github.com/bpfunit/bpfunit/internal/testenv"
)

// TestKprobeLifecycle attaches kprobe_counter's kprobe and kretprobe on
// do_sys_openat2 with the oneshot (the kprobe naming its function with
// Function=, the kretprobe taking it from its ELF section), filtered with
// Constant=target_tgid= to the test process, proves each counts the
// test's own file opens, reloads it (make-before-break: a new link that
// counts on, the old one gone), then stops the unit and proves it no
// longer runs and nothing is left. On a kernel without kprobes (found by sysfs and
// tracefs, not by the loader) the start must fail before loading, with
// exit 3 and a message naming kprobes, and leave nothing; then it skips.
func TestKprobeLifecycle(t *testing.T) {
	for _, tc := range []struct {
		typ, program, function string
		key                    uint32
	}{
		{"kprobe", "kprobe_openat", "Function=do_sys_openat2\n", 0},
		{"kretprobe", "kretprobe_openat", "", 1},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			testenv.CheckLeaks(t)
			env := testenv.NewEnv(t)
			bin := testenv.BuildBinary(t, "cmd/bpfunit-oneshot")
			obj := env.Object(t, "kprobe_counter")
			env.Config(t, "kprobe", fmt.Sprintf(`[Object]
Path=%s
PinMaps=yes
Constant=target_tgid=%d
[Attach]
Program=%s
Type=%s
%s`, obj, os.Getpid(), tc.program, tc.typ, tc.function))

			if why := testenv.KprobesMissing(t); why != "" {
				out, code := env.Oneshot(t, bin, "start", "kprobe")
				if code != oneshot.ExitUnsupported || !strings.Contains(out, "Type="+tc.typ+" needs kprobes") {
					t.Errorf("start without kprobes: exit %d, %q; want exit %d naming kprobes", code, out, oneshot.ExitUnsupported)
				}
				if !env.UnitDirEmpty("kprobe") {
					t.Errorf("a refused start left pins behind")
				}
				t.Skip(why)
			}
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

			mustStart(t, env, bin, "kprobe")
			links := unitLinks(t, env, "kprobe")
			if len(links) != 1 {
				t.Fatalf("%d links pinned, want 1", len(links))
			}
			pin := filepath.Join(env.PinRoot, "kprobe", "links", tc.program+"@do_sys_openat2")
			l, err := link.LoadPinnedLink(pin, nil)
			if err != nil {
				t.Fatalf("link pin: %v", err)
			}
			if info, err := l.Info(); err == nil {
				// kprobe_multi where the kernel has it, else perf_event.
				t.Logf("%s link: type %d (kprobe_multi %d, perf_event %d)", tc.typ, info.Type, link.KprobeMultiType, link.PerfEventType)
			}
			l.Close()
			stats := openMap(t, filepath.Join(env.PinRoot, "kprobe", "maps", "kprobe_stats"))
			before := counter(t, stats, tc.key)
			const n = 20
			openN(n)
			if got := counter(t, stats, tc.key) - before; got < n {
				t.Fatalf("kprobe_stats[%d] counted %d of the test's %d opens", tc.key, got, n)
			}

			// Neither link can be updated: reload is make-before-break, a
			// new link that counts on.
			if out, code := env.Oneshot(t, bin, "reload", "kprobe"); code != 0 {
				t.Fatalf("reload: exit %d: %s", code, out)
			}
			reloaded := unitLinks(t, env, "kprobe")
			if len(reloaded) != 1 || reloaded[0] == links[0] {
				t.Fatalf("links %v after reload (before %v): want one new link", reloaded, links)
			}
			waitLinkGone(t, links[0])
			before = counter(t, stats, tc.key)
			openN(n)
			if got := counter(t, stats, tc.key) - before; got < n {
				t.Fatalf("after reload kprobe_stats[%d] counted %d of the test's %d opens", tc.key, got, n)
			}

			stopAndCheck(t, env, bin, "kprobe", reloaded)
			before = counter(t, stats, tc.key)
			openN(n)
			if after := counter(t, stats, tc.key); after != before {
				t.Fatalf("%s program still runs after stop: %d -> %d", tc.typ, before, after)
			}
		})
	}
}
