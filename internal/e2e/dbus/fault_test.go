package dbus_test

import (
	"strings"
	"testing"
	"time"

	"github.com/bpfunit/bpfunit/internal/testenv"
	"github.com/bpfunit/bpfunit/internal/testenv/testbed"
)

// killedCall arms fault step in the helper (BPFUNIT_FAULT in a drop-in),
// runs do, which must fail because the helper died, and checks that
// systemd saw the helper killed. It disarms the fault afterwards.
func killedCall(t *testing.T, tb *testbed.Testbed, step string, do func() (string, error)) {
	t.Helper()
	daemonEnv(t, tb, "Environment=BPFUNIT_FAULT="+step)
	out, err := do()
	if err == nil {
		t.Fatalf("fault %s: the call succeeded: %s", step, out)
	}
	tb.WaitState(t, "bpfunitd.service", "failed", 5*time.Second)
	if s, _ := tb.Systemctl("show", "-p", "Result", "--value", "bpfunitd.service"); strings.TrimSpace(s) != "signal" {
		t.Errorf("fault %s: helper result %s, want signal (SIGKILL)", step, s)
	}
	tb.MustRun(t, "rm", "/etc/systemd/system/bpfunitd.service.d/test.conf")
	daemonEnv(t, tb, "")
}

// TestFaultReplace: SIGKILL of the helper at every step of Replace leaves
// the link attached, running the old or the new program (traffic is still
// counted); the next stop removes everything.
func TestFaultReplace(t *testing.T) {
	tb := boot(t)
	if _, err := tb.Run("sh", "-c", "command -v gdbus"); err != nil {
		t.Skip("needs gdbus in the testbed (apt-get install libglib2.0-bin) to pass a file descriptor")
	}
	p := netnsPair(t, tb, "f", 2)
	tb.MustWriteFile(t, "/etc/bpfunit/x.bpfunit", xdpConfig(p))
	tb.MustRun(t, "systemctl", "daemon-reload")
	for _, step := range []string{"reload:after-load", "reload:after-swap", "reload:before-commit"} {
		t.Run(step, func(t *testing.T) {
			if r := callString(t, tb, "Start", "s", "x"); r != "done" {
				t.Fatalf("Start: %s\n%s", r, tb.Journal("bpf@x.service"))
			}
			before := tb.Status(t, "x")
			l := before.Links[0]
			p.Ping(t, tb, 5)
			c0 := packets(t, tb.Status(t, "x"))
			killedCall(t, tb, step, func() (string, error) {
				return tb.Run("sh", "-c", "gdbus call --system -d "+dest+" -o "+mgrPath+" -m "+mgrIface+".Replace x xdp_count 3 3<"+xdpObj)
			})
			st := tb.Status(t, "x")
			if len(st.Links) != 1 || !st.Links[0].Alive || st.Links[0].LinkID != l.LinkID {
				t.Fatalf("after SIGKILL at %s: link %+v, was %+v", step, st.Links, l)
			}
			if s := tb.UnitState("bpf@x.service"); s != "active" {
				t.Errorf("after SIGKILL at %s: bpf@x.service is %s", step, s)
			}
			if n := p.Ping(t, tb, 5); n != 5 {
				t.Errorf("after SIGKILL at %s: ping %d/5", step, n)
			}
			if c := packets(t, tb.Status(t, "x")); c < c0+5 {
				t.Errorf("after SIGKILL at %s: xdp_stats %d, was %d: no program counts", step, c, c0)
			}
			t.Logf("after SIGKILL at %s: state %s, link %d runs program %d (was %d)", step, st.State, st.Links[0].LinkID, st.Links[0].ProgID, l.ProgID)
			// The link works: the state says what was interrupted, not broken.
			if want := map[string]string{"reload:after-swap": "reload-pending"}[step]; want != "" && (string(st.State) != want || st.Reason == "") {
				t.Errorf("after SIGKILL at %s: state %s (%q), want %s with a reason", step, st.State, st.Reason, want)
			}
			if st.State == "broken" {
				t.Errorf("after SIGKILL at %s: state broken (%s), but the link works", step, st.Reason)
			}
			stopAndCheck(t, tb, "x", st)
			stopAndCheck(t, tb, "x", before)
		})
	}
}

// TestFaultDetach: SIGKILL of the helper at every step of Detach leaves
// the other link attached and the unit active; the next stop removes
// everything.
func TestFaultDetach(t *testing.T) {
	tb := boot(t)
	tb.MustWriteFile(t, "/etc/bpfunit/sys.bpfunit", traceConfig)
	tb.MustRun(t, "systemctl", "daemon-reload")
	for _, step := range []string{"detach:after-state", "detach:after-unpin"} {
		t.Run(step, func(t *testing.T) {
			if r := callString(t, tb, "Start", "s", "sys"); r != "done" {
				t.Fatalf("Start: %s\n%s", r, tb.Journal("bpf@sys.service"))
			}
			before := tb.Status(t, "sys")
			tp := linkOf(t, before, "tp_getpid@syscalls:sys_enter_getpid")
			killedCall(t, tb, step, func() (string, error) {
				return tb.Run("busctl", "call", dest, mgrPath, mgrIface, "Detach", "ss", "sys", "raw_tp_sys_enter@sys_enter")
			})
			if !testenv.LinkAlive(tp.LinkID) {
				t.Fatalf("after SIGKILL at %s the other link is gone", step)
			}
			if s := tb.UnitState("bpf@sys.service"); s != "active" {
				t.Errorf("after SIGKILL at %s: bpf@sys.service is %s", step, s)
			}
			st := tb.Status(t, "sys")
			t.Logf("after SIGKILL at %s: state %s (%s)", step, st.State, st.Reason)
			// The next Detach finishes what the killed one began.
			call(t, tb, "Detach", "ss", "sys", "raw_tp_sys_enter@sys_enter")
			raw := linkOf(t, before, "raw_tp_sys_enter@sys_enter")
			waitGone(t, "the detached link", func() bool { return testenv.LinkAlive(raw.LinkID) })
			if !testenv.LinkAlive(tp.LinkID) {
				t.Fatalf("the second Detach took the other link")
			}
			stopAndCheck(t, tb, "sys", before)
		})
	}
}
