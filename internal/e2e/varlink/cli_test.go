package varlink_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/bpfunit/bpfunit/internal/testenv"
	"github.com/bpfunit/bpfunit/internal/testenv/testbed"
)

// TestCLIOverDBus: with a system bus, the CLI's change verbs go to
// bpfunitd over D-Bus (bus-activated), replace passes its file as a Unix
// fd, and `bpfunit monitor` prints the changes as UnitChanged signals
// bring them.
func TestCLIOverDBus(t *testing.T) {
	testenv.CheckLeaks(t)
	tb := testbed.BootInstalled(t, "../../..", testbed.Options{})
	if err := tb.WriteFile("/etc/bpfunit/sys.bpfunit", []byte(traceConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	tb.MustRun(t, "systemctl", "daemon-reload")
	// monitor in the background, as an admin would leave it running.
	tb.MustRun(t, "sh", "-c", "nohup bpfunit --json monitor >/tmp/mon.out 2>/tmp/mon.err </dev/null &")
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, _ := tb.ReadFile("/tmp/mon.err")
		if strings.Contains(string(b), "Monitoring unit changes (dbus)") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("monitor did not start: %s", b)
		}
		time.Sleep(50 * time.Millisecond)
	}

	tb.MustRun(t, "bpfunit", "start", "sys")
	if s := tb.UnitState("bpf@sys.service"); s != "active" {
		t.Fatalf("bpf@sys.service is %s after bpfunit start", s)
	}
	st := tb.Status(t, "sys")
	var raw string
	var tpProg uint32
	for _, l := range st.Links {
		if l.Program == "tp_getpid" {
			tpProg = l.ProgID
		} else {
			raw = pinName(l.Pin)
		}
	}
	tb.MustRun(t, "bpfunit", "detach", "sys", raw)
	// From /tmp: the fd goes over the bus, the helper's /tmp is its own.
	tb.MustRun(t, "cp", traceObj, "/tmp/new.bpf.o")
	out := tb.MustRun(t, "bpfunit", "--json", "replace", "sys", "tp_getpid", "/tmp/new.bpf.o")
	var rep struct {
		ProgID uint32 `json:"prog_id"`
	}
	if json.Unmarshal([]byte(out), &rep) != nil || rep.ProgID == 0 || rep.ProgID == tpProg {
		t.Fatalf("replace over D-Bus: %s (old program %d)", out, tpProg)
	}
	// Errors: one line with the bus error's name.
	if out, err := tb.Run("bpfunit", "detach", "sys", "nosuch@x"); err == nil || !strings.Contains(out, "org.bpfunit.Error.NoSuchLink") || strings.Count(strings.TrimSpace(out), "\n") != 0 {
		t.Errorf("detach of a missing link: %v %q", err, out)
	}
	tb.MustRun(t, "bpfunit", "stop", "sys")

	// monitor saw the start, the detach, the replace and the stop.
	deadline = time.Now().Add(20 * time.Second)
	for {
		b, _ := tb.ReadFile("/tmp/mon.out")
		var states []string
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			var c struct{ Unit, State string }
			if json.Unmarshal([]byte(l), &c) == nil && c.Unit == "sys" {
				states = append(states, c.State)
			}
		}
		got := strings.Join(states, " ")
		if strings.Contains(got, "attached") && strings.Contains(got, "partly-attached") && strings.HasSuffix(got, "not-started") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("monitor printed states %q for sys, want attached, partly-attached, ..., not-started", got)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
