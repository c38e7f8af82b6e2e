package dbus_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/bpfunit/bpfunit/internal/testenv"
	"github.com/bpfunit/bpfunit/internal/testenv/testbed"
)

// TestDetach: Detach removes one link; the other keeps running and the
// unit stays active; systemctl stop then removes everything.
func TestDetach(t *testing.T) {
	tb := boot(t)
	tb.MustWriteFile(t, "/etc/bpfunit/sys.bpfunit", traceConfig)
	tb.MustRun(t, "systemctl", "daemon-reload")
	if r := callString(t, tb, "Start", "s", "sys"); r != "done" {
		t.Fatalf("Start: %s\n%s", r, tb.Journal("bpf@sys.service"))
	}
	before := tb.Status(t, "sys")
	raw, tp := linkOf(t, before, "raw_tp_sys_enter@sys_enter"), linkOf(t, before, "tp_getpid@syscalls:sys_enter_getpid")

	call(t, tb, "Detach", "ss", "sys", "raw_tp_sys_enter@sys_enter")
	waitGone(t, "the detached link", func() bool { return testenv.LinkAlive(raw.LinkID) })
	if !testenv.LinkAlive(tp.LinkID) {
		t.Fatal("Detach of one link took the other with it")
	}
	if s := tb.UnitState("bpf@sys.service"); s != "active" {
		t.Errorf("after Detach bpf@sys.service is %s", s)
	}
	st := tb.Status(t, "sys")
	if string(st.State) != "partly-attached" || !linkOf(t, st, "raw_tp_sys_enter@sys_enter").Detached || !linkOf(t, st, "tp_getpid@syscalls:sys_enter_getpid").Alive {
		t.Errorf("status after Detach: %+v", st)
	}
	props := tb.MustRun(t, "busctl", "get-property", dest, "/org/bpfunit/unit/sys", unitIf, "State", "Links")
	if !strings.Contains(props, `s "partly-attached"`) || !strings.Contains(props, `"detached"`) {
		t.Errorf("properties after Detach: %s", props)
	}
	// Again: nothing to do, no error.
	call(t, tb, "Detach", "ss", "sys", "raw_tp_sys_enter@sys_enter")
	if j := tb.Journal("bpfunitd.service"); !strings.Contains(j, "link detached") || !strings.Contains(j, "caller_uid=0") {
		t.Errorf("Detach not journaled with the caller:\n%s", j)
	}
	stopAndCheck(t, tb, "sys", before)
}

// TestReplace: Replace with a passed fd swaps the program, keeps the map
// (same id, the count carries on) and the XDP link (same id: updated in
// place); bad files and names are named errors that change nothing.
func TestReplace(t *testing.T) {
	tb := boot(t)
	p := netnsPair(t, tb, "r", 1)
	tb.MustWriteFile(t, "/etc/bpfunit/x.bpfunit", xdpConfig(p))
	tb.MustRun(t, "systemctl", "daemon-reload")
	if r := callString(t, tb, "Start", "s", "x"); r != "done" {
		t.Fatalf("Start: %s\n%s", r, tb.Journal("bpf@x.service"))
	}
	if n := p.Ping(t, tb, 10); n != 10 {
		t.Fatalf("ping through the XDP counter: %d/10", n)
	}
	before := tb.Status(t, "x")
	l, m := before.Links[0], mapOf(t, before, "xdp_stats")
	c0 := packets(t, before)
	if c0 < 10 {
		t.Fatalf("xdp_stats counted %d packets for 10 echo requests", c0)
	}

	id, name, msg := replace(t, tb, "", "x", "xdp_count", "3<"+xdpObj)
	if name != "" {
		t.Fatalf("Replace: %s %s\n%s", name, msg, tb.Journal("bpfunitd.service"))
	}
	st := tb.Status(t, "x")
	nl := st.Links[0]
	if id == l.ProgID || nl.ProgID != id {
		t.Errorf("Replace returned program %d; before %d, the link now runs %d", id, l.ProgID, nl.ProgID)
	}
	if nl.LinkID != l.LinkID || !nl.Alive || nl.LastSwap != "atomic" {
		t.Errorf("link after Replace: %+v, before %+v (want the same link, updated in place)", nl, l)
	}
	if nm := mapOf(t, st, "xdp_stats"); nm.ID != m.ID {
		t.Errorf("map xdp_stats is %d after Replace, was %d", nm.ID, m.ID)
	}
	waitGone(t, "the replaced program", func() bool { return testenv.ProgramAlive(l.ProgID) })
	if n := p.Ping(t, tb, 10); n != 10 {
		t.Fatalf("ping after Replace: %d/10", n)
	}
	after := tb.Status(t, "x")
	if c := packets(t, after); c < c0+10 {
		t.Errorf("xdp_stats = %d after 10 more packets, was %d: the count did not carry on", c, c0)
	}
	programStats(t, tb, p, id)
	if j := tb.Journal("bpfunitd.service"); !strings.Contains(j, "program replaced") || !strings.Contains(j, "before=") {
		t.Errorf("Replace not journaled with before/after:\n%s", j)
	}

	// Bad input: a named error each time, nothing changed.
	tb.MustRun(t, "truncate", "-s", "17M", "/tmp/big.o")
	tb.MustRun(t, "sh", "-c", "echo not an ELF > /tmp/text.o")
	for _, c := range []struct{ what, prog, redir, want string }{
		{"/dev/zero", "xdp_count", "3</dev/zero", "org.bpfunit.Error.InvalidObject"},
		{"a non-ELF file", "xdp_count", "3</tmp/text.o", "org.bpfunit.Error.InvalidObject"},
		{"an oversized file", "xdp_count", "3</tmp/big.o", "org.bpfunit.Error.InvalidObject"},
		{"a directory", "xdp_count", "3</tmp", "org.bpfunit.Error.InvalidObject"},
		{"a missing program", "nope", "3<" + xdpObj, "org.bpfunit.Error.NoSuchProgram"},
		{"an object without the program", "xdp_count", "3<" + traceObj, "org.bpfunit.Error.NoSuchProgram"},
		{"a bad program name", "no-such", "3<" + xdpObj, "org.freedesktop.DBus.Error.InvalidArgs"},
	} {
		_, name, msg := replace(t, tb, "", "x", c.prog, c.redir)
		if name != c.want {
			t.Errorf("Replace with %s: %q %s, want %s", c.what, name, msg, c.want)
		}
	}
	// A pipe: the fd is the read end of `cat obj |`.
	if _, err := tb.Run("sh", "-c", "command -v gdbus"); err == nil {
		out, _ := tb.Run("sh", "-c", "cat "+xdpObj+" | gdbus call --system -d "+dest+" -o "+mgrPath+" -m "+mgrIface+".Replace x xdp_count 3 3<&0")
		if !strings.Contains(out, "org.bpfunit.Error.InvalidObject") || !strings.Contains(out, "pipe") {
			t.Errorf("Replace with a pipe: %s", out)
		}
	}
	if _, name, _ := replace(t, tb, "", "nope", "xdp_count", "3<"+xdpObj); name != "org.bpfunit.Error.NoSuchUnit" {
		t.Errorf("Replace in a missing unit: %s", name)
	}
	now := tb.Status(t, "x")
	if now.Links[0].ProgID != id || now.Links[0].LinkID != l.LinkID || mapOf(t, now, "xdp_stats").ID != m.ID || string(now.State) != "attached" {
		t.Errorf("a failed Replace changed the unit: %+v", now)
	}
	stopAndCheck(t, tb, "x", now)
	waitGone(t, "map xdp_stats", func() bool { return testenv.MapAlive(m.ID) })
}

// programStats: with BPF statistics on (BPF_ENABLE_STATS, held only for
// this check; the kernel turns them off when the fd closes), the Programs
// property counts the runs of program id.
func programStats(t *testing.T, tb *testbed.Testbed, p *testbed.Pair, id uint32) {
	t.Helper()
	stats, err := ebpf.EnableStats(0) // BPF_STATS_RUN_TIME
	if err != nil {
		t.Logf("BPF_ENABLE_STATS: %v; run counts not checked", err)
		return
	}
	defer stats.Close()
	p.Ping(t, tb, 5)
	out := tb.MustRun(t, "busctl", "--json=short", "get-property", dest, "/org/bpfunit/unit/x", unitIf, "Programs")
	var v struct {
		Data [][]any `json:"data"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil || len(v.Data) != 1 || len(v.Data[0]) != 6 {
		t.Fatalf("Programs: %v %s", err, out)
	}
	pr := v.Data[0]
	if pr[0] != "xdp_count" || pr[1] != float64(id) || pr[3] != true || pr[4].(float64) < 5 || pr[5].(float64) <= 0 {
		t.Errorf("Programs with stats on, after 5 pings: %v (want xdp_count, id %d, stats on, >= 5 runs, run time > 0)", pr, id)
	}
}
