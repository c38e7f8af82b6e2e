package reloadbench

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bpfunit/bpfunit/bpf"
	"github.com/bpfunit/bpfunit/internal/manager"
	"github.com/bpfunit/bpfunit/internal/pins"
	"github.com/bpfunit/bpfunit/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// needBench skips tb unless BPFUNIT_BENCH=1 (make bench-reload sets it):
// these run for minutes and are not part of make test.
func needBench(tb testing.TB) {
	tb.Helper()
	if os.Getenv("BPFUNIT_BENCH") != "1" {
		tb.Skip("benchmark: runs with BPFUNIT_BENCH=1 (make bench-reload)")
	}
	testenv.SkipUnlessRoot(tb)
}

// combinedObject links the committed xdp_counter and tcx_counter objects
// into one (bpftool gen object, the static BPF linker), so that one unit
// can attach xdp_count and tcx_ingress, with no new BPF code. It returns the
// object's path in env's object dir.
func combinedObject(tb testing.TB, env *testenv.Env) string {
	tb.Helper()
	bpftool := testenv.NeedCommand(tb, "bpftool")
	dir := tb.TempDir()
	var ins []string
	for _, name := range []string{"xdp_counter", "tcx_counter"} {
		data, err := bpf.Object(name)
		if err != nil {
			tb.Fatal(err)
		}
		p := filepath.Join(dir, name+".o")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			tb.Fatal(err)
		}
		ins = append(ins, p)
	}
	out := filepath.Join(env.ObjectDir, "xdp_tcx_counter.bpf.o")
	testenv.MustRun(tb, bpftool, append([]string{"gen", "object", out}, ins...)...)
	if err := os.Chmod(out, 0o644); err != nil {
		tb.Fatal(err)
	}
	return out
}

// newManager is an in-process manager on env whose debug records (the
// reload timings) go to rec.
func newManager(env *testenv.Env, rec *recorder) *manager.Manager {
	var h slog.Handler = slog.DiscardHandler
	if rec != nil {
		h = rec
	}
	return &manager.Manager{Root: pins.Root(env.PinRoot), RunDir: env.RunDir, ConfigDirs: []string{env.ConfigDir}, Log: slog.New(h)}
}

// recorder is a slog.Handler that keeps the reload timing records
// ("reload: programs loaded", "reload: links swapped", "reload: committed").
type recorder struct {
	mu   sync.Mutex
	recs []timing
}

type timing struct {
	Msg  string
	At   time.Time
	Took time.Duration
	Link string // "reload: link updated": the link's pin
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *recorder) WithGroup(string) slog.Handler            { return r }

func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	if rec.Level != slog.LevelDebug {
		return nil
	}
	t := timing{Msg: rec.Message, At: rec.Time}
	rec.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "took":
			t.Took = a.Value.Duration()
		case "link":
			t.Link = a.Value.String()
		}
		return true
	})
	r.mu.Lock()
	r.recs = append(r.recs, t)
	r.mu.Unlock()
	return nil
}

// take returns the records so far and forgets them.
func (r *recorder) take() []timing {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.recs
	r.recs = nil
	return out
}

// find returns the last record with message msg.
func find(recs []timing, msg string) (timing, bool) {
	for i := len(recs) - 1; i >= 0; i-- {
		if recs[i].Msg == msg {
			return recs[i], true
		}
	}
	return timing{}, false
}

// quietPair is a NetnsPair where nothing but the benchmark's own traffic
// flows: IPv6 off (no ND, MLD, router solicitations) and static neighbour
// entries both ways (no ARP).
func quietPair(tb testing.TB) *testenv.Pair {
	tb.Helper()
	p := testenv.NetnsPair(tb)
	for _, c := range [][2]string{{p.NsA, p.IfA}, {p.NsB, p.IfB}} {
		testenv.MustRun(tb, "ip", "netns", "exec", c[0], "sysctl", "-q", "-w",
			"net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1",
			"net.ipv6.conf."+c[1]+".disable_ipv6=1")
	}
	macA, macB := mac(tb, p.NsA, p.IfA), mac(tb, p.NsB, p.IfB)
	testenv.MustRun(tb, "ip", "-n", p.NsA, "neigh", "replace", p.IPB, "lladdr", macB, "dev", p.IfA, "nud", "permanent")
	testenv.MustRun(tb, "ip", "-n", p.NsB, "neigh", "replace", p.IPA, "lladdr", macA, "dev", p.IfB, "nud", "permanent")
	return p
}

func mac(tb testing.TB, ns, ifname string) string {
	tb.Helper()
	var links []struct {
		Address string `json:"address"`
	}
	if err := json.Unmarshal([]byte(testenv.MustRun(tb, "ip", "-n", ns, "-j", "link", "show", ifname)), &links); err != nil || len(links) != 1 {
		tb.Fatalf("mac of %s in %s: %v", ifname, ns, err)
	}
	return links[0].Address
}

// netns creates a network namespace deleted at cleanup.
func netns(tb testing.TB, name string) {
	tb.Helper()
	testenv.MustRun(tb, "ip", "netns", "add", name)
	tb.Cleanup(func() { testenv.Run("ip", "netns", "del", name) })
}

// fdCount is the number of open file descriptors of this process.
func fdCount(tb testing.TB) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		tb.Fatal(err)
	}
	return len(ents) - 1 // the directory being read
}

// rssKiB is this process's resident set size.
func rssKiB(tb testing.TB) int {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		tb.Fatal(err)
	}
	var kb int
	for _, line := range splitLines(string(data)) {
		if _, err := fmt.Sscanf(line, "VmRSS: %d kB", &kb); err == nil {
			return kb
		}
	}
	tb.Fatal("no VmRSS in /proc/self/status")
	return 0
}

func splitLines(s string) []string {
	var out []string
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != '\n' {
			i++
		}
		out = append(out, s[:i])
		if i < len(s) {
			i++
		}
		s = s[i:]
	}
	return out
}

// leakCheck snapshots the kernel's BPF objects; the returned func reports
// what appeared since and is still alive (after GC, waiting up to two
// seconds for asynchronous frees), as in testenv.CheckLeaks.
func leakCheck(tb testing.TB) func() testenv.Objects {
	tb.Helper()
	before, err := testenv.Snapshot()
	if err != nil {
		tb.Fatal(err)
	}
	return func() testenv.Objects {
		var left testenv.Objects
		for deadline := time.Now().Add(2 * time.Second); ; {
			runtime.GC()
			now, err := testenv.Snapshot()
			if err != nil {
				tb.Fatal(err)
			}
			left = now.Since(before)
			if left.Empty() || time.Now().After(deadline) {
				return left
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// stats of a sample of durations.
type stats struct{ med, p90, min, max time.Duration }

func summarize(ds []time.Duration) stats {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 0 {
		return stats{}
	}
	return stats{med: s[len(s)/2], p90: s[len(s)*9/10], min: s[0], max: s[len(s)-1]}
}

func us(d time.Duration) string { return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond)) }
func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }
