package manager_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/bpfunit/bpfunit/internal/manager"
	"github.com/bpfunit/bpfunit/internal/testenv"
)

// The helpers below are shared by the per-attach-type end-to-end tests.

// mustStart runs `bpfunit-oneshot start name` and fails t unless it exits 0.
func mustStart(t *testing.T, env *testenv.Env, oneshot, name string) {
	t.Helper()
	if out, code := env.Oneshot(t, oneshot, "start", name); code != 0 {
		t.Fatalf("start %s: exit %d: %s", name, code, out)
	}
}

// mustStop runs `bpfunit-oneshot stop name` and fails t unless it exits 0.
func mustStop(t *testing.T, env *testenv.Env, oneshot, name string) {
	t.Helper()
	if out, code := env.Oneshot(t, oneshot, "stop", name); code != 0 {
		t.Fatalf("stop %s: exit %d: %s", name, code, out)
	}
}

// openMap opens the map pinned at pin and keeps it open until the end of
// the test, so that its counters can still be read after the unit is
// stopped and its pins are gone.
func openMap(t *testing.T, pin string) *ebpf.Map {
	t.Helper()
	m, err := ebpf.LoadPinnedMap(pin, nil)
	if err != nil {
		t.Fatalf("open pinned map: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// counter reads the uint64 at key of an array map.
func counter(t *testing.T, m *ebpf.Map, key uint32) uint64 {
	t.Helper()
	var v uint64
	if err := m.Lookup(key, &v); err != nil {
		t.Fatalf("read counter %d: %v", key, err)
	}
	return v
}

// unitLinks returns the ids of the links pinned for unit name.
func unitLinks(t *testing.T, env *testenv.Env, name string) []link.ID {
	t.Helper()
	dir := filepath.Join(env.PinRoot, name, "links")
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("list links of %s: %v", name, err)
	}
	var ids []link.ID
	for _, e := range ents {
		l, err := link.LoadPinnedLink(filepath.Join(dir, e.Name()), nil)
		if err != nil {
			t.Fatalf("open pinned link %s: %v", e.Name(), err)
		}
		info, err := l.Info()
		l.Close()
		if err != nil {
			t.Fatalf("link info %s: %v", e.Name(), err)
		}
		ids = append(ids, info.ID)
	}
	if len(ids) == 0 {
		t.Fatalf("unit %s has no pinned links", name)
	}
	return ids
}

// stopAndCheck stops unit name and checks that nothing of it is left: no
// pin directory, no state file, none of its links in the kernel (what
// `bpftool link show` lists), and that a second stop is a no-op.
func stopAndCheck(t *testing.T, env *testenv.Env, oneshot, name string, links []link.ID) {
	t.Helper()
	mustStop(t, env, oneshot, name)
	if !env.UnitDirEmpty(name) {
		t.Errorf("pins of %s left after stop", name)
	}
	if _, err := os.Stat(filepath.Join(env.RunDir, "state", name+".json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state file of %s left after stop (stat: %v)", name, err)
	}
	for _, id := range links {
		waitLinkGone(t, id)
	}
	mustStop(t, env, oneshot, name)
}

// waitLinkGone fails t if link id is still in the kernel after two
// seconds (links are freed asynchronously after their last reference).
func waitLinkGone(t *testing.T, id link.ID) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); ; {
		runtime.GC()
		l, err := link.NewFromID(id)
		if errors.Is(err, os.ErrNotExist) {
			return
		}
		if err == nil {
			l.Close()
		}
		if time.Now().After(deadline) {
			t.Errorf("link %d is still in the kernel after stop (open: %v)", id, err)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// probeHelper is a running testdata/probe_helper.c: a child process that
// makes getpid syscalls and calls bpfunit_probe_target on request.
type probeHelper struct {
	Path string // the executable, for uprobes
	Pid  int
	in   io.WriteCloser
	out  *bufio.Reader
}

// probeHelperSymbol is the function the helper exports for uprobes.
const probeHelperSymbol = "bpfunit_probe_target"

// startProbeHelper builds testdata/probe_helper.c and starts it. It is
// stopped (stdin closed, waited for) at cleanup.
func startProbeHelper(t *testing.T) *probeHelper {
	t.Helper()
	cc := testenv.NeedCommand(t, "cc")
	src, err := filepath.Abs("testdata/probe_helper.c")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "probe_helper")
	if out, err := exec.Command(cc, "-O1", "-g", "-o", bin, src).CombinedOutput(); err != nil {
		t.Fatalf("build probe helper: %v\n%s", err, out)
	}
	cmd := exec.Command(bin)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start probe helper: %v", err)
	}
	t.Cleanup(func() {
		in.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("probe helper: %v", err)
		}
	})
	p := &probeHelper{Path: bin, Pid: cmd.Process.Pid, in: in, out: bufio.NewReader(out)}
	// Once it has answered, it sits idle in read(2) until the next Do.
	p.Do(t, 0)
	return p
}

// Do makes the helper do n getpid syscalls and n calls of
// bpfunit_probe_target, and waits until it has.
func (p *probeHelper) Do(t *testing.T, n int) {
	t.Helper()
	if _, err := fmt.Fprintf(p.in, "%d\n", n); err != nil {
		t.Fatalf("probe helper: %v", err)
	}
	line, err := p.out.ReadString('\n')
	if err != nil || strings.TrimSpace(line) != fmt.Sprintf("ok %d", n) {
		t.Fatalf("probe helper answered %q, %v", line, err)
	}
}

// attachedProgramMap opens the map called name that the program behind
// link id uses, and keeps it open until the end of the test: for maps a
// unit does not pin.
func attachedProgramMap(t *testing.T, id link.ID, name string) *ebpf.Map {
	t.Helper()
	l, err := link.NewFromID(id)
	if err != nil {
		t.Fatalf("open link %d: %v", id, err)
	}
	info, err := l.Info()
	l.Close()
	if err != nil {
		t.Fatalf("link %d info: %v", id, err)
	}
	prog, err := ebpf.NewProgramFromID(info.Program)
	if err != nil {
		t.Fatalf("open program %d: %v", info.Program, err)
	}
	defer prog.Close()
	pinfo, err := prog.Info()
	if err != nil {
		t.Fatalf("program %d info: %v", info.Program, err)
	}
	ids, _ := pinfo.MapIDs()
	for _, mid := range ids {
		m, err := ebpf.NewMapFromID(mid)
		if err != nil {
			t.Fatalf("open map %d: %v", mid, err)
		}
		if mi, err := m.Info(); err == nil && mi.Name == name {
			t.Cleanup(func() { m.Close() })
			return m
		}
		m.Close()
	}
	t.Fatalf("program %d uses no map %s", info.Program, name)
	return nil
}

// withDiscardLog gives an in-process manager a logger that drops records.
func withDiscardLog(m *manager.Manager) *manager.Manager {
	m.Log = slog.New(slog.DiscardHandler)
	return m
}
