package dbus_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestAPI: bus activation on the first call, every method and property
// through busctl, dbus-send and gdbus, the signals as dbus-monitor sees
// them, full introspection, and named errors.
func TestAPI(t *testing.T) {
	tb := boot(t)
	tb.MustWriteFile(t, "/etc/bpfunit/sys.bpfunit", traceConfig)
	tb.MustWriteFile(t, "/etc/bpfunit/idle-unit.bpfunit", strings.Replace(traceConfig, "syscall counters", "never started", 1))
	tb.MustRun(t, "systemctl", "daemon-reload")

	// Activation: nothing runs until the first call.
	if s := tb.UnitState("bpfunitd.service"); s != "inactive" {
		t.Fatalf("bpfunitd.service is %s before any call", s)
	}
	start := time.Now()
	rows := call(t, tb, "ListUnits", "")
	t.Logf("first ListUnits (activation): %v", time.Since(start).Round(time.Millisecond))
	if s := tb.UnitState("bpfunitd.service"); s != "active" {
		t.Fatalf("bpfunitd.service is %s after the first call", s)
	}
	var units [][]string
	if len(rows) != 1 || json.Unmarshal(rows[0], &units) != nil {
		t.Fatalf("ListUnits: %s", rows)
	}
	want := [][]string{
		{"idle-unit", "not-started", "never started", "/org/bpfunit/unit/idle_2dunit"},
		{"sys", "not-started", "syscall counters", "/org/bpfunit/unit/sys"},
	}
	if fmt.Sprint(units) != fmt.Sprint(want) {
		t.Errorf("ListUnits = %v, want %v", units, want)
	}

	// Introspection names every argument, for busctl and gdbus alike.
	intro := tb.MustRun(t, "busctl", "introspect", dest, mgrPath)
	for _, w := range []string{".Replace", "ssh", ".UnitChanged", "sso", ".Version", ".PinRoot", ".Subscribe", ".Detach"} {
		if !strings.Contains(intro, w) {
			t.Errorf("busctl introspect lacks %q:\n%s", w, intro)
		}
	}
	if _, err := tb.Run("sh", "-c", "command -v gdbus"); err == nil {
		g := tb.MustRun(t, "gdbus", "introspect", "--system", "--dest", dest, "--object-path", mgrPath)
		for _, w := range []string{"Replace(in  s name,", "in  h object,", "out u program_id", "UnitChanged(s name,", "readonly s PinRoot"} {
			if !strings.Contains(g, w) {
				t.Errorf("gdbus introspect lacks %q:\n%s", w, g)
			}
		}
		g = tb.MustRun(t, "gdbus", "introspect", "--system", "--dest", dest, "--object-path", "/org/bpfunit/unit/sys")
		for _, w := range []string{"readonly a(ssssuuss) Links", "readonly a(susbtt) Programs", "readonly a(ssuuuuat) Maps", "readonly t Started", "readonly s StateReason"} {
			if !strings.Contains(g, w) {
				t.Errorf("gdbus introspect of a unit lacks %q:\n%s", w, g)
			}
		}
	} else {
		t.Log("gdbus not installed (apt-get install libglib2.0-bin): introspection checked with busctl only")
	}
	tree := tb.MustRun(t, "busctl", "tree", dest)
	for _, w := range []string{"/org/bpfunit/Manager1", "/org/bpfunit/unit/sys", "/org/bpfunit/unit/idle_2dunit"} {
		if !strings.Contains(tree, w) {
			t.Errorf("busctl tree lacks %s:\n%s", w, tree)
		}
	}

	if x := tb.MustRun(t, "busctl", "introspect", "--xml-interface", dest, "/org/bpfunit/unit/nope"); strings.Contains(x, unitIf) {
		t.Errorf("a unit that does not exist introspects as one:\n%s", x)
	}
	if v := tb.MustRun(t, "busctl", "get-property", dest, mgrPath, mgrIface, "PinRoot"); strings.TrimSpace(v) != `s "/sys/fs/bpf/bpfunit"` {
		t.Errorf("PinRoot = %s", v)
	}
	if v := tb.MustRun(t, "busctl", "get-property", dest, mgrPath, mgrIface, "Version"); !strings.HasPrefix(v, "s ") {
		t.Errorf("Version = %s", v)
	}
	if p := callString(t, tb, "GetUnit", "s", "sys"); p != "/org/bpfunit/unit/sys" {
		t.Errorf("GetUnit sys = %s", p)
	}

	// Signals, whoever makes the change: the helper, or systemctl.
	mon := "/tmp/monitor.txt"
	sh(t, tb, "(timeout 30 dbus-monitor --system sender="+dest+" > "+mon+" 2>&1 &) ; sleep 0.5")
	if r := callString(t, tb, "Start", "s", "sys"); r != "done" {
		t.Fatalf("Start sys = %s\n%s", r, tb.Journal("bpf@sys.service"))
	}
	if s := tb.UnitState("bpf@sys.service"); s != "active" {
		t.Fatalf("bpf@sys.service is %s after Start", s)
	}
	st := tb.Status(t, "sys")
	if string(st.State) != "attached" || len(st.Links) != 2 {
		t.Fatalf("after Start: %+v", st)
	}
	if r := callString(t, tb, "Reload", "s", "sys"); r != "done" {
		t.Errorf("Reload sys = %s", r)
	}
	tb.MustRun(t, "systemctl", "stop", "bpf@sys.service") // not through the helper
	if r := callString(t, tb, "Start", "s", "sys"); r != "done" {
		t.Errorf("second Start sys = %s", r)
	}
	st = tb.Status(t, "sys")
	waitFor(t, "signals", func() bool {
		out, _ := tb.ReadFile(mon)
		return strings.Count(string(out), "member=UnitChanged") >= 4
	})
	out, _ := tb.ReadFile(mon)
	for _, w := range []string{
		"member=UnitChanged\n   string \"sys\"\n   string \"attached\"\n   object path \"/org/bpfunit/unit/sys\"",
		"member=UnitChanged\n   string \"sys\"\n   string \"not-started\"",
		"path=/org/bpfunit/unit/sys; interface=org.freedesktop.DBus.Properties; member=PropertiesChanged\n   string \"org.bpfunit.Unit1\"",
		"string \"State\"",
		"string \"Links\"",
	} {
		if !strings.Contains(string(out), w) {
			t.Errorf("dbus-monitor did not see %q:\n%s", w, out)
		}
	}

	// Unit properties.
	all := tb.MustRun(t, "busctl", "--json=short", "get-property", dest, "/org/bpfunit/unit/sys", unitIf,
		"Name", "State", "StateReason", "Description", "ConfigPath", "ObjectPath", "Started", "Links", "Programs", "Maps")
	var props []struct {
		Type string          `json:"type"`
		Data json.RawMessage `json:"data"`
	}
	dec := json.NewDecoder(strings.NewReader(all))
	for dec.More() {
		var p struct {
			Type string          `json:"type"`
			Data json.RawMessage `json:"data"`
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("busctl get-property: %v\n%s", err, all)
		}
		props = append(props, p)
	}
	if len(props) != 10 {
		t.Fatalf("got %d properties:\n%s", len(props), all)
	}
	for i, w := range []string{`"sys"`, `"attached"`, `""`, `"syscall counters"`, `"/etc/bpfunit/sys.bpfunit"`, `"` + traceObj + `"`} {
		if string(props[i].Data) != w {
			t.Errorf("property %d = %s, want %s", i, props[i].Data, w)
		}
	}
	var started uint64
	json.Unmarshal(props[6].Data, &started)
	if d := time.Since(time.UnixMicro(int64(started))); d < 0 || d > time.Minute {
		t.Errorf("Started = %d (%v ago)", started, d)
	}
	var links [][]any
	json.Unmarshal(props[7].Data, &links)
	raw := linkOf(t, st, "raw_tp_sys_enter@sys_enter")
	if !strings.Contains(fmt.Sprint(links), fmt.Sprintf("raw_tp_sys_enter@sys_enter raw_tp_sys_enter raw_tracepoint sys_enter %d %d %s attached", raw.LinkID, raw.ProgID, raw.ProgTag)) {
		t.Errorf("Links = %s, status has %+v", props[7].Data, raw)
	}
	if !strings.Contains(string(props[8].Data), fmt.Sprint(raw.ProgID)) || props[8].Type != "a(susbtt)" {
		t.Errorf("Programs = %s %s", props[8].Type, props[8].Data)
	}
	if !strings.Contains(string(props[9].Data), `"trace_stats"`) {
		t.Errorf("Maps = %s", props[9].Data)
	}
	if _, err := tb.Run("busctl", "set-property", dest, "/org/bpfunit/unit/sys", unitIf, "Description", "s", "x"); err == nil {
		t.Error("set-property of a read-only property succeeded")
	}

	// A job that fails is a result, not an error: systemd owns the why.
	tb.MustWriteFile(t, "/etc/bpfunit/bad.bpfunit", strings.Replace(traceConfig, "Program=raw_tp_sys_enter", "Program=no_such_prog", 1))
	tb.MustRun(t, "systemctl", "daemon-reload")
	if r := callString(t, tb, "Start", "s", "bad"); r != "failed" {
		t.Errorf("Start of a unit whose program is not in its object = %q, want failed", r)
	}
	if s := tb.UnitState("bpf@bad.service"); s != "failed" {
		t.Errorf("bpf@bad.service is %s", s)
	}
	tb.MustRun(t, "systemctl", "reset-failed", "bpf@bad.service")
	tb.NoUnitLeft(t, "bad")

	// Named errors.
	wantError(t, tb, "org.bpfunit.Error.NoSuchUnit", "GetUnit", "string:nope")
	wantError(t, tb, "org.bpfunit.Error.NoSuchUnit", "Start", "string:nope")
	wantError(t, tb, "org.freedesktop.DBus.Error.InvalidArgs", "GetUnit", "string:../etc")
	wantError(t, tb, "org.freedesktop.DBus.Error.InvalidArgs", "Stop", "string:-x")
	wantError(t, tb, "org.freedesktop.DBus.Error.InvalidArgs", "Detach", "string:sys", "string:a/b")
	wantError(t, tb, "org.bpfunit.Error.NoSuchLink", "Detach", "string:sys", "string:nope@x")
	wantError(t, tb, "org.bpfunit.Error.NotRunning", "Detach", "string:idle-unit", "string:tp_getpid@syscalls:sys_enter_getpid")
	if r := callString(t, tb, "Stop", "s", "sys"); r != "done" {
		t.Errorf("Stop sys = %s", r)
	}
	stopAndCheck(t, tb, "sys", st)
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Errorf("timed out waiting for %s", what)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}
