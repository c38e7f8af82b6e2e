package dbus_test

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/bpfunit/bpfunit/internal/testenv"
)

// TestIdleExit: the helper exits after the idle timeout (2 s here, set in
// a drop-in); a subscribed peer keeps it running until the peer leaves the
// bus; the next call activates it again.
func TestIdleExit(t *testing.T) {
	tb := boot(t)
	daemonEnv(t, tb, "Environment=BPFUNITD_IDLE_TIMEOUT=2s")
	call(t, tb, "ListUnits", "")
	tb.WaitState(t, "bpfunitd.service", "active", time.Second)
	start := time.Now()
	tb.WaitState(t, "bpfunitd.service", "inactive", 10*time.Second)
	if d := time.Since(start); d < time.Second {
		t.Errorf("exited %v after the last call, idle timeout is 2s", d)
	}

	// Subscribe from a connection that stays open.
	c := busConn(t, tb)
	if err := c.Object(dest, mgrPath).Call(mgrIface+".Subscribe", 0).Err; err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	time.Sleep(5 * time.Second)
	if s := tb.UnitState("bpfunitd.service"); s != "active" {
		t.Fatalf("with a subscriber the helper is %s after 5s", s)
	}
	// Unsubscribe makes it idle again, as does leaving the bus.
	if err := c.Object(dest, mgrPath).Call(mgrIface+".Unsubscribe", 0).Err; err != nil {
		t.Fatalf("Unsubscribe: %v", err)
	}
	tb.WaitState(t, "bpfunitd.service", "inactive", 10*time.Second)
	if err := c.Object(dest, mgrPath).Call(mgrIface+".Subscribe", 0).Err; err != nil {
		t.Fatalf("Subscribe after reactivation: %v", err)
	}
	time.Sleep(3 * time.Second)
	if s := tb.UnitState("bpfunitd.service"); s != "active" {
		t.Fatalf("with a subscriber the helper is %s after 3s", s)
	}
	c.Close()
	tb.WaitState(t, "bpfunitd.service", "inactive", 10*time.Second)
	if j := tb.Journal("bpfunitd.service"); strings.Contains(j, "Failed with result") {
		t.Errorf("an idle exit counted as a failure:\n%s", j)
	}
}

// TestHelperGoesAway: killing the helper or restarting dbus-daemon
// detaches nothing; the next call activates a new helper.
func TestHelperGoesAway(t *testing.T) {
	tb := boot(t)
	tb.MustWriteFile(t, "/etc/bpfunit/sys.bpfunit", traceConfig)
	tb.MustRun(t, "systemctl", "daemon-reload")
	if r := callString(t, tb, "Start", "s", "sys"); r != "done" {
		t.Fatalf("Start: %s", r)
	}
	st := tb.Status(t, "sys")
	check := func(what string) {
		t.Helper()
		for _, l := range st.Links {
			if !testenv.LinkAlive(l.LinkID) {
				t.Fatalf("%s detached link %d", what, l.LinkID)
			}
		}
		if s := tb.UnitState("bpf@sys.service"); s != "active" {
			t.Fatalf("%s: bpf@sys.service is %s", what, s)
		}
		if now := tb.Status(t, "sys"); string(now.State) != "attached" {
			t.Fatalf("%s: unit is %s", what, now.State)
		}
	}
	tb.MustRun(t, "systemctl", "kill", "--signal=SIGKILL", "bpfunitd.service")
	tb.WaitState(t, "bpfunitd.service", "failed", 5*time.Second)
	check("SIGKILL of the helper")
	tb.MustRun(t, "systemctl", "reset-failed", "bpfunitd.service")
	call(t, tb, "ListUnits", "")
	tb.WaitState(t, "bpfunitd.service", "active", time.Second)

	tb.MustRun(t, "systemctl", "restart", "dbus.service")
	check("restarting dbus-daemon")
	waitFor(t, "a new helper after the bus restart", func() bool {
		_, err := tb.Run("busctl", "call", dest, mgrPath, mgrIface, "ListUnits")
		return err == nil
	})
	if p := callString(t, tb, "GetUnit", "s", "sys"); p != "/org/bpfunit/unit/sys" {
		t.Errorf("GetUnit after the bus restart: %s", p)
	}
	stopAndCheck(t, tb, "sys", st)
}

// TestIdleExitRace: calls that arrive while the helper is exiting idle
// are not lost: it releases its bus name after telling systemd it is
// stopping, so dbus-daemon queues the call for the next instance. The
// calls are spread over the whole window in which the exit happens.
func TestIdleExitRace(t *testing.T) {
	tb := boot(t)
	daemonEnv(t, tb, "Environment=BPFUNITD_IDLE_TIMEOUT=1s")
	call(t, tb, "ListUnits", "")
	restarts := 0
	for i := 0; i < 16; i++ {
		time.Sleep(time.Second + time.Duration(i)*100*time.Millisecond)
		pid := func() string {
			out, _ := tb.Systemctl("show", "-p", "MainPID", "--value", "bpfunitd.service")
			return strings.TrimSpace(out)
		}
		before := pid()
		out, err := tb.Run("busctl", "--timeout=10", "call", dest, mgrPath, mgrIface, "ListUnits")
		if err != nil {
			t.Fatalf("call %d, %v after the previous one: %v\n%s\n%s", i, time.Second+time.Duration(i)*100*time.Millisecond, err, out, tb.Journal("bpfunitd.service"))
		}
		if after := pid(); after != before {
			restarts++ // exited and activated again, or activated from inactive
		}
	}
	t.Logf("16 calls around the idle exit: %d of them were served by another process than the one running just before", restarts)
	if restarts == 0 {
		t.Error("no call met an exit or an activation: the helper never exited idle")
	}
	if j := tb.Journal("bpfunitd.service"); strings.Contains(j, "Failed with result") {
		t.Errorf("an idle exit counted as a failure:\n%s", j)
	}
}

// TestBusAndSocket: with bpfunitd.socket listening, a helper activated
// over D-Bus is handed the Varlink socket too and serves both; an open
// Varlink connection keeps it from exiting idle, as a subscriber does.
func TestBusAndSocket(t *testing.T) {
	tb := boot(t)
	daemonEnv(t, tb, "Environment=BPFUNITD_IDLE_TIMEOUT=2s")
	tb.MustRun(t, "systemctl", "start", "bpfunitd.socket")
	call(t, tb, "ListUnits", "")
	pid := func() string {
		out, _ := tb.Systemctl("show", "-p", "MainPID", "--value", "bpfunitd.service")
		return strings.TrimSpace(out)
	}
	p := pid()
	if p == "0" || p == "" {
		t.Fatalf("no helper after a D-Bus call")
	}
	c, err := net.Dial("unix", tb.Root()+"/run/bpfunit/io.bpfunit.Manager")
	if err != nil {
		t.Fatalf("connect to the Varlink socket: %v", err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(`{"method":"io.bpfunit.Manager.ListUnits"}` + "\x00")); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	reply, err := bufio.NewReader(c).ReadString(0)
	if err != nil || !strings.Contains(reply, `"units"`) {
		t.Fatalf("Varlink ListUnits: %v %q", err, reply)
	}
	if now := pid(); now != p {
		t.Errorf("Varlink was served by pid %s, D-Bus by %s: want one helper for both", now, p)
	}
	time.Sleep(4 * time.Second)
	if s := tb.UnitState("bpfunitd.service"); s != "active" || pid() != p {
		t.Fatalf("with a Varlink connection open the helper is %s (pid %s, was %s) after 4s", s, pid(), p)
	}
	c.Close()
	tb.WaitState(t, "bpfunitd.service", "inactive", 10*time.Second)
	if s := tb.UnitState("bpfunitd.socket"); s != "active" {
		t.Errorf("bpfunitd.socket is %s after the helper exited", s)
	}
	if j := tb.Journal("bpfunitd.service"); strings.Contains(j, "no Varlink server") {
		t.Errorf("the helper closed the socket:\n%s", j)
	}
}
