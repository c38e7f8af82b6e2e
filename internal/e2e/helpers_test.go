package e2e_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/bpfunit/bpfunit/internal/manager"
	"github.com/bpfunit/bpfunit/internal/testenv"
	"github.com/bpfunit/bpfunit/internal/testenv/testbed"
)

func TestMain(m *testing.M) { testbed.Main(m) }

// boot boots a testbed with the tree installed. Call testenv.CheckLeaks
// before it, so that the leak check runs after poweroff.
func boot(t *testing.T, opts testbed.Options) *testbed.Testbed {
	t.Helper()
	return testbed.BootInstalled(t, "../..", opts)
}

// netnsPair is a testbed.Pair inside tb: namespaces e2e-TAG-a/b on
// 10.197.N.0/24, apart from every other package's.
func netnsPair(t *testing.T, tb *testbed.Testbed, tag string, n int) *testbed.Pair {
	t.Helper()
	return tb.NetnsPair(t, "e2e", tag, fmt.Sprintf("10.197.%d", n))
}

// counter returns values[i] of map name in st.
func counter(t *testing.T, st *manager.Status, name string, i int) uint64 {
	t.Helper()
	for _, m := range st.Maps {
		if m.Name == name && i < len(m.Values) {
			return m.Values[i]
		}
	}
	t.Fatalf("unit %s: no value %d of map %s in %+v", st.Name, i, name, st.Maps)
	return 0
}

// kernelLinks returns the IDs of the links in the kernel whose program has
// one of the given names, by name. Link IDs are global: the test reads them
// from the host. (Programs' kernel names are cut at 15 characters.)
func kernelLinks(t *testing.T, progs ...string) map[string][]link.ID {
	t.Helper()
	snap, err := testenv.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]link.ID{}
	for _, id := range snap.Links {
		l, err := link.NewFromID(id)
		if err != nil {
			continue // gone meanwhile
		}
		info, err := l.Info()
		l.Close()
		if err != nil {
			continue
		}
		p, err := ebpf.NewProgramFromID(info.Program)
		if err != nil {
			continue
		}
		pinfo, err := p.Info()
		p.Close()
		if err == nil && slices.Contains(progs, pinfo.Name) {
			out[pinfo.Name] = append(out[pinfo.Name], id)
		}
	}
	return out
}

// countLinks is the number of links in the kernel running prog.
func countLinks(t *testing.T, prog string) int {
	t.Helper()
	return len(kernelLinks(t, prog)[prog])
}

// waitLinks waits until the kernel has exactly n links running prog (links
// die asynchronously after their last reference goes) and fails otherwise.
func waitLinks(t *testing.T, prog string, n int, what string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		got := countLinks(t, prog)
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d links run %s in the kernel, want %d", what, got, prog, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitLinkGone waits for link id to leave the kernel.
func waitLinkGone(t *testing.T, id uint32, what string) {
	t.Helper()
	testenv.WaitGone(t, fmt.Sprintf("%s: link %d", what, id), 3*time.Second, func() bool { return testenv.LinkAlive(id) })
}

// waitSettled waits until unit is neither activating nor deactivating and
// returns its state.
func waitSettled(t *testing.T, tb *testbed.Testbed, unit string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s := tb.UnitState(unit)
		if s != "activating" && s != "deactivating" && s != "reloading" {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still %s after 20s", unit, s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// lastUnitLine returns the last journal line of `systemctl status` that a
// process of the unit wrote, i.e. not systemd's own "Failed with result",
// "Failed to start" lines, which systemd always logs after the process exits.
func lastUnitLine(status string) string {
	lines := strings.Split(strings.TrimRight(status, "\n"), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := lines[i]
		if l == "" {
			break // the header ends at the blank line before the journal
		}
		if !strings.Contains(l, " systemd[1]: ") {
			return l
		}
	}
	return ""
}

// unitLastLine returns `systemctl status UNIT` and the last line a process
// of the unit wrote in it, once that line holds every string of want, or
// after 3 s: journald gets the process's stderr through a stream that may
// lag behind systemd's own messages about the unit.
func unitLastLine(tb *testbed.Testbed, unit string, want ...string) (status, last string) {
	deadline := time.Now().Add(3 * time.Second)
	for {
		status, _ = tb.Systemctl("status", unit)
		last = lastUnitLine(status)
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(last, w)
		}
		if ok || time.Now().After(deadline) {
			return status, last
		}
		time.Sleep(50 * time.Millisecond)
	}
}

const xdpCounterObj = "/usr/lib/bpfunit/objects/xdp_counter.bpf.o"

// xdpConfig attaches xdp_count to p's B side, with extra lines in [Object].
func xdpConfig(p *testbed.Pair, install bool, extra string) string {
	s := fmt.Sprintf("[Unit]\nDescription=XDP counter on %s\n[Object]\nPath=%s\nPinMaps=yes\n%s[Attach]\nProgram=xdp_count\nInterface=%s\nNamespace=%s\n",
		p.IfB, xdpCounterObj, extra, p.IfB, p.NsB)
	if install {
		s += "[Install]\nWantedBy=bpf.target\n"
	}
	return s
}
