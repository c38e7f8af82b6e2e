package dbus_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/bpfunit/bpfunit/internal/manager"
	"github.com/bpfunit/bpfunit/internal/testenv"
	"github.com/bpfunit/bpfunit/internal/testenv/testbed"
)

func TestMain(m *testing.M) { testbed.Main(m) }

const (
	dest     = "org.bpfunit.Manager1"
	mgrPath  = "/org/bpfunit/Manager1"
	mgrIface = "org.bpfunit.Manager1"
	unitIf   = "org.bpfunit.Unit1"

	traceObj = testbed.TraceCounterObject
	xdpObj   = "/usr/lib/bpfunit/objects/xdp_counter.bpf.o"
)

// traceConfig has two links (tracepoint and raw tracepoint): enough to
// detach one and see the other stay, without a network.
const traceConfig = "[Unit]\nDescription=syscall counters\n" + testbed.TraceCounterLinks

// boot boots a testbed with the tree installed and a leak check that runs
// after it powered off.
func boot(t *testing.T) *testbed.Testbed {
	t.Helper()
	testenv.CheckLeaks(t)
	tb := testbed.BootInstalled(t, "../../..", testbed.Options{})
	for _, c := range []string{"busctl", "dbus-send", "dbus-monitor", "setpriv"} {
		if _, err := tb.Run("sh", "-c", "command -v "+c); err != nil {
			t.Skipf("needs %s in the testbed", c)
		}
	}
	return tb
}

// sh runs a shell command line inside tb and fails the test if it fails.
func sh(t *testing.T, tb *testbed.Testbed, cmd string) string {
	t.Helper()
	return tb.MustRun(t, "sh", "-c", cmd)
}

// call is `busctl --json=short call` of a Manager1 method; it returns the
// reply's data.
func call(t *testing.T, tb *testbed.Testbed, method, sig string, args ...string) []json.RawMessage {
	t.Helper()
	argv := []string{"busctl", "--json=short", "call", dest, mgrPath, mgrIface, method}
	if sig != "" {
		argv = append(append(argv, sig), args...)
	}
	out := tb.MustRun(t, argv...)
	if strings.TrimSpace(out) == "" {
		return nil // no reply arguments
	}
	var r struct {
		Data []json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	return r.Data
}

// callString is a method that returns one string.
func callString(t *testing.T, tb *testbed.Testbed, method, sig string, args ...string) string {
	t.Helper()
	d := call(t, tb, method, sig, args...)
	var s string
	if len(d) != 1 || json.Unmarshal(d[0], &s) != nil {
		t.Fatalf("%s: reply %s", method, d)
	}
	return s
}

// busError runs a dbus-send method call (prefix: e.g. setpriv ...) that
// must fail and returns the error name (dbus-send prints
// "Error NAME: message").
func busError(t *testing.T, tb *testbed.Testbed, prefix []string, method string, args ...string) (name, msg string) {
	t.Helper()
	argv := append(slices.Clone(prefix), "dbus-send", "--system", "--print-reply", "--dest="+dest, mgrPath, mgrIface+"."+method)
	out, err := tb.Run(append(argv, args...)...)
	if err == nil {
		t.Fatalf("%s %v succeeded:\n%s", method, args, out)
	}
	for _, l := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(l, "Error "); ok {
			name, msg, _ = strings.Cut(rest, ": ")
			return name, msg
		}
	}
	t.Fatalf("%s %v: no error name in:\n%s", method, args, out)
	return "", ""
}

func wantError(t *testing.T, tb *testbed.Testbed, want, method string, args ...string) string {
	t.Helper()
	name, msg := busError(t, tb, nil, method, args...)
	if name != want {
		t.Errorf("%s %v: error %s (%s), want %s", method, args, name, msg, want)
	}
	return msg
}

func linkOf(t *testing.T, st *manager.Status, name string) manager.LinkStatus {
	t.Helper()
	for _, l := range st.Links {
		if strings.HasSuffix(l.Pin, "/"+name) {
			return l
		}
	}
	t.Fatalf("unit %s has no link %s: %+v", st.Name, name, st.Links)
	return manager.LinkStatus{}
}

func mapOf(t *testing.T, st *manager.Status, name string) manager.MapStatus {
	t.Helper()
	for _, m := range st.Maps {
		if m.Name == name {
			return m
		}
	}
	t.Fatalf("unit %s has no map %s: %+v", st.Name, name, st.Maps)
	return manager.MapStatus{}
}

// waitGone waits for kernel objects to go (they die asynchronously after
// the last reference).
func waitGone(t *testing.T, what string, alive func() bool) {
	t.Helper()
	testenv.WaitGone(t, what, 3*time.Second, alive)
}

// stopAll stops every unit and checks that the kernel has none of st's
// links and programs left.
func stopAndCheck(t *testing.T, tb *testbed.Testbed, name string, st *manager.Status) {
	t.Helper()
	tb.MustRun(t, "systemctl", "stop", "bpf@"+name+".service")
	for _, l := range st.Links {
		if l.LinkID != 0 {
			waitGone(t, fmt.Sprintf("link %d of %s", l.LinkID, name), func() bool { return testenv.LinkAlive(l.LinkID) })
		}
		if l.ProgID != 0 {
			waitGone(t, fmt.Sprintf("program %d of %s", l.ProgID, name), func() bool { return testenv.ProgramAlive(l.ProgID) })
		}
	}
	tb.NoUnitLeft(t, name)
}

// busConn connects the test to the testbed's system bus (as root) from
// the host, for what needs a connection that outlives one command.
func busConn(t *testing.T, tb *testbed.Testbed) *dbus.Conn {
	t.Helper()
	c, err := dbus.Connect("unix:path=" + tb.Root() + "/run/dbus/system_bus_socket")
	if err != nil {
		t.Fatalf("connect to the testbed's bus: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// daemonEnv sets environment variables of bpfunitd.service with a drop-in
// and makes the next activation use them.
func daemonEnv(t *testing.T, tb *testbed.Testbed, env string) {
	t.Helper()
	tb.MustWriteFile(t, "/etc/systemd/system/bpfunitd.service.d/test.conf", "[Service]\n"+env+"\n")
	tb.Systemctl("stop", "bpfunitd.service")
	tb.Systemctl("reset-failed", "bpfunitd.service")
	tb.MustRun(t, "systemctl", "daemon-reload")
}

// replace calls Replace with gdbus (busctl and dbus-send can't pass fds),
// passing fd 3 opened by the shell redirection redir (e.g. "3</path"); the
// command runs under prefix (e.g. setpriv). It returns the new program id,
// or the bus error's name and message.
func replace(t *testing.T, tb *testbed.Testbed, prefix, name, prog, redir string) (id uint32, errName, msg string) {
	t.Helper()
	if _, err := tb.Run("sh", "-c", "command -v gdbus"); err != nil {
		t.Skip("needs gdbus in the testbed (apt-get install libglib2.0-bin) to pass a file descriptor")
	}
	cmd := fmt.Sprintf("%s gdbus call --system -d %s -o %s -m %s.Replace %s %s 3 %s", prefix, dest, mgrPath, mgrIface, name, prog, redir)
	out, err := tb.Run("sh", "-c", cmd)
	if err == nil {
		if _, e := fmt.Sscanf(strings.TrimSpace(out), "(uint32 %d,)", &id); e != nil {
			t.Fatalf("%s: reply %q", cmd, out)
		}
		return id, "", ""
	}
	i := strings.Index(out, "GDBus.Error:")
	if i < 0 {
		t.Fatalf("%s: %v\n%s", cmd, err, out)
	}
	errName, msg, _ = strings.Cut(strings.TrimSpace(out[i+len("GDBus.Error:"):]), ": ")
	return 0, errName, msg
}

// netnsPair is a testbed.Pair inside tb: namespaces dbus-TAG-a/b on
// 10.198.N.0/24, apart from every other package's.
func netnsPair(t *testing.T, tb *testbed.Testbed, tag string, n int) *testbed.Pair {
	t.Helper()
	return tb.NetnsPair(t, "dbus", tag, fmt.Sprintf("10.198.%d", n))
}

// xdpConfig attaches xdp_count (counting into xdp_stats) to p's B side.
func xdpConfig(p *testbed.Pair) string {
	return fmt.Sprintf("[Unit]\nDescription=XDP counter on %s\n[Object]\nPath=%s\nPinMaps=yes\n[Attach]\nProgram=xdp_count\nInterface=%s\nNamespace=%s\n",
		p.IfB, xdpObj, p.IfB, p.NsB)
}

func packets(t *testing.T, st *manager.Status) uint64 {
	t.Helper()
	m := mapOf(t, st, "xdp_stats")
	if len(m.Values) == 0 {
		t.Fatalf("xdp_stats has no values: %+v", m)
	}
	return m.Values[0]
}
