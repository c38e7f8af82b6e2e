package varlink_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/bpfunit/bpfunit/internal/manager"
	"github.com/bpfunit/bpfunit/internal/testenv"
	"github.com/bpfunit/bpfunit/internal/testenv/testbed"
)

func TestMain(m *testing.M) { testbed.Main(m) }

const traceObj = testbed.TraceCounterObject

// traceConfig has two links and needs no network.
const traceConfig = "[Unit]\nDescription=syscall counters\n" + testbed.TraceCounterLinks

// conn is a plain socket client: JSON and a NUL written by hand, replies
// split at NUL bytes, nothing of internal/varlink in between.
type conn struct {
	t   *testing.T
	nc  net.Conn
	buf []byte
}

func dial(t *testing.T, tb *testbed.Testbed) *conn {
	t.Helper()
	// The testbed's /run, reached from the host through its PID 1.
	nc, err := net.Dial("unix", tb.Root()+"/run/bpfunit/io.bpfunit.Manager")
	if err != nil {
		t.Fatalf("connect to the Varlink socket: %v", err)
	}
	t.Cleanup(func() { nc.Close() })
	return &conn{t: t, nc: nc}
}

func (c *conn) send(msg string) {
	c.t.Helper()
	c.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c.nc, msg+"\x00"); err != nil {
		c.t.Fatalf("send %s: %v", msg, err)
	}
}

type reply struct {
	Parameters map[string]json.RawMessage `json:"parameters"`
	Continues  bool                       `json:"continues"`
	Error      string                     `json:"error"`
}

func (c *conn) recv(timeout time.Duration) reply {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(timeout))
	for {
		if i := strings.IndexByte(string(c.buf), 0); i >= 0 {
			msg := c.buf[:i]
			c.buf = c.buf[i+1:]
			var r reply
			if err := json.Unmarshal(msg, &r); err != nil {
				c.t.Fatalf("reply %q: %v", msg, err)
			}
			return r
		}
		var b [4096]byte
		n, err := c.nc.Read(b[:])
		if err != nil {
			c.t.Fatalf("read reply: %v", err)
		}
		c.buf = append(c.buf, b[:n]...)
	}
}

// call sends a method call and returns its one reply.
func (c *conn) call(method, params string) reply {
	c.t.Helper()
	msg := `{"method":"` + method + `"`
	if params != "" {
		msg += `,"parameters":` + params
	}
	c.send(msg + "}")
	return c.recv(60 * time.Second)
}

func (c *conn) mustCall(method, params string) map[string]json.RawMessage {
	c.t.Helper()
	r := c.call(method, params)
	if r.Error != "" {
		c.t.Fatalf("%s %s: %s %s", method, params, r.Error, r.Parameters)
	}
	return r.Parameters
}

func str(raw json.RawMessage) string {
	var s string
	json.Unmarshal(raw, &s)
	return s
}

// TestVarlinkWithoutDBus: with dbus-daemon stopped, bpfunitd is activated
// by bpfunitd.socket and serves io.bpfunit.Manager to a plain socket
// client: introspection, reads, start through systemd's private socket,
// Monitor, Detach, Replace by path; the CLI falls back to Varlink; an
// unprivileged caller reads but changes nothing; stop removes everything.
func TestVarlinkWithoutDBus(t *testing.T) {
	testenv.CheckLeaks(t)
	tb := testbed.BootInstalled(t, "../../..", testbed.Options{})
	if err := tb.WriteFile("/etc/bpfunit/sys.bpfunit", []byte(traceConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	tb.MustRun(t, "systemctl", "daemon-reload")
	// No system bus, as in a container without one: stopped and masked,
	// so that nothing can start it again.
	tb.MustRun(t, "systemctl", "stop", "dbus.socket", "dbus.service")
	tb.MustRun(t, "systemctl", "mask", "--runtime", "dbus.socket", "dbus.service")
	if s := tb.UnitState("dbus.service"); s == "active" {
		t.Fatalf("dbus.service still %s", s)
	}
	tb.MustRun(t, "systemctl", "start", "bpfunitd.socket")
	if s := tb.UnitState("bpfunitd.service"); s != "inactive" {
		t.Fatalf("bpfunitd.service is %s before any connection", s)
	}

	c := dial(t, tb)
	start := time.Now()
	info := c.mustCall("org.varlink.service.GetInfo", "")
	t.Logf("first call (socket activation): %v", time.Since(start).Round(time.Millisecond))
	if !strings.Contains(string(info["interfaces"]), `"io.bpfunit.Manager"`) || str(info["product"]) != "bpfunitd" {
		t.Fatalf("GetInfo: %s", info)
	}
	// It answers before systemd has marked it started.
	tb.WaitState(t, "bpfunitd.service", "active", 10*time.Second)
	desc := c.mustCall("org.varlink.service.GetInterfaceDescription", `{"interface":"io.bpfunit.Manager"}`)
	if !strings.HasPrefix(strings.TrimSpace(strings.SplitN(str(desc["description"]), "\ninterface ", 2)[1]), "io.bpfunit.Manager") {
		t.Fatalf("description: %s", desc["description"])
	}

	units := c.mustCall("io.bpfunit.Manager.ListUnits", "")
	if !strings.Contains(string(units["units"]), `"name":"sys","state":"not-started","description":"syscall counters"`) {
		t.Fatalf("ListUnits: %s", units["units"])
	}

	// Monitor on its own connection: every change, whoever makes it.
	mon := dial(t, tb)
	mon.send(`{"method":"io.bpfunit.Manager.Monitor","more":true}`)
	if r := mon.recv(30 * time.Second); r.Error != "" || !r.Continues || r.Parameters["units"] == nil {
		t.Fatalf("Monitor's first reply: %+v", r)
	}
	waitChange := func(what string) {
		t.Helper()
		for {
			r := mon.recv(30 * time.Second)
			if r.Error != "" {
				t.Fatalf("Monitor: %s", r.Error)
			}
			if strings.Contains(string(r.Parameters["changed"]), `"name":"sys"`) {
				return
			}
		}
	}

	// Start goes through systemd (its private socket: no bus).
	if r := c.mustCall("io.bpfunit.Manager.Start", `{"name":"sys"}`); str(r["result"]) != "done" {
		t.Fatalf("Start: %s\n%s", r, tb.Journal("bpf@sys.service"))
	}
	if s := tb.UnitState("bpf@sys.service"); s != "active" {
		t.Fatalf("bpf@sys.service is %s after Start", s)
	}
	waitChange("start")
	st := tb.Status(t, "sys")
	if len(st.Links) != 2 {
		t.Fatalf("links %+v, want 2", st.Links)
	}
	var tp, raw manager.LinkStatus
	for _, l := range st.Links {
		if l.Program == "tp_getpid" {
			tp = l
		} else {
			raw = l
		}
	}

	// GetUnit says what bpfunit status says.
	gu := c.mustCall("io.bpfunit.Manager.GetUnit", `{"name":"sys"}`)
	var viaVarlink manager.Status
	if err := json.Unmarshal(gu["status"], &viaVarlink); err != nil || viaVarlink.State != st.State || len(viaVarlink.Links) != 2 {
		t.Fatalf("GetUnit: %s (%v), status: %+v", gu["status"], err, st)
	}

	// Named errors.
	for _, tc := range []struct{ method, params, want string }{
		{"io.bpfunit.Manager.GetUnit", `{"name":"nosuch"}`, "io.bpfunit.Manager.NoSuchUnit"},
		{"io.bpfunit.Manager.Detach", `{"name":"sys","link":"nosuch@x"}`, "io.bpfunit.Manager.NoSuchLink"},
		{"io.bpfunit.Manager.Replace", `{"name":"sys","program":"nosuch","path":"` + traceObj + `"}`, "io.bpfunit.Manager.NoSuchProgram"},
		{"io.bpfunit.Manager.Replace", `{"name":"sys","program":"tp_getpid","path":"/dev/zero"}`, "io.bpfunit.Manager.InvalidObject"},
		{"io.bpfunit.Manager.GetUnit", `{"name":"../../etc"}`, "org.varlink.service.InvalidParameter"},
		{"io.bpfunit.Manager.Explode", ``, "org.varlink.service.MethodNotFound"},
	} {
		if r := c.call(tc.method, tc.params); r.Error != tc.want {
			t.Errorf("%s %s: error %q %s, want %s", tc.method, tc.params, r.Error, r.Parameters, tc.want)
		}
	}

	// An unprivileged caller (the CLI, which falls back to Varlink with
	// no bus) is denied every change. (Its reads over Varlink are tested
	// with a real uid 65534 peer in internal/varlink.)
	nobody := []string{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"}
	for _, args := range [][]string{{"stop", "sys"}, {"detach", "sys", "x@y"}, {"replace", "sys", "tp_getpid", traceObj}} {
		out, err := tb.Run(append(append(nobody, "bpfunit"), args...)...)
		if err == nil || !strings.Contains(out, "io.bpfunit.Manager.PermissionDenied") {
			t.Errorf("bpfunit %v as nobody: %v\n%s", args, err, out)
		}
	}
	if s := tb.UnitState("bpf@sys.service"); s != "active" {
		t.Fatalf("bpf@sys.service is %s after denied calls", s)
	}

	// Detach one link: the other stays, the unit stays active.
	c.mustCall("io.bpfunit.Manager.Detach", `{"name":"sys","link":"`+pinName(raw.Pin)+`"}`)
	waitChange("detach")
	if !testenv.LinkAlive(tp.LinkID) {
		t.Fatal("Detach removed the other link")
	}
	if s := tb.UnitState("bpf@sys.service"); s != "active" {
		t.Fatalf("bpf@sys.service is %s after Detach", s)
	}

	// Replace by path, through the CLI (auto: no bus, so Varlink), from a
	// copy in /tmp: bpfunitd has its own /tmp (PrivateTmp=), the CLI
	// passes the file it opened.
	tb.MustRun(t, "cp", traceObj, "/tmp/new.bpf.o")
	out := tb.MustRun(t, "bpfunit", "--json", "replace", "sys", "tp_getpid", "/tmp/new.bpf.o")
	var rep struct {
		ProgID uint32 `json:"prog_id"`
	}
	if json.Unmarshal([]byte(out), &rep) != nil || rep.ProgID == 0 || rep.ProgID == tp.ProgID {
		t.Fatalf("replace: %s (old program %d)", out, tp.ProgID)
	}
	waitChange("replace")
	for _, l := range tb.Status(t, "sys").Links {
		if l.LinkID == tp.LinkID && l.ProgID != rep.ProgID {
			t.Fatalf("link %d runs %d after replace, want %d", l.LinkID, l.ProgID, rep.ProgID)
		}
	}

	// Stop through the CLI over Varlink; nothing is left.
	tb.MustRun(t, "bpfunit", "stop", "sys")
	if s := tb.UnitState("bpf@sys.service"); s != "inactive" {
		t.Fatalf("bpf@sys.service is %s after stop", s)
	}
	for _, id := range []uint32{tp.LinkID, raw.LinkID} {
		testenv.WaitGone(t, fmt.Sprintf("link %d of the stopped unit", id), 3*time.Second, func() bool { return testenv.LinkAlive(id) })
	}
	if _, err := tb.Run("test", "!", "-e", "/sys/fs/bpf/bpfunit/sys"); err != nil {
		t.Fatal("pins of sys left after stop")
	}
	if s := tb.UnitState("dbus.service"); s == "active" {
		t.Fatalf("dbus.service is %s: something needed the bus", s)
	}
}

func pinName(pin string) string { return pin[strings.LastIndexByte(pin, '/')+1:] }
