package dbus_test

import (
	"strings"
	"testing"
	"time"
)

// TestAuthorization: an unprivileged caller reads everything and is denied
// every change; a polkit rule granting a group lets a member change; root
// is always allowed. Denials are journaled with the caller.
func TestAuthorization(t *testing.T) {
	tb := boot(t)
	tb.MustWriteFile(t, "/etc/bpfunit/sys.bpfunit", traceConfig)
	tb.MustRun(t, "systemctl", "daemon-reload")
	for _, c := range []string{"useradd", "groupadd"} {
		if _, err := tb.Run("sh", "-c", "command -v "+c); err != nil {
			t.Skipf("needs %s in the testbed", c)
		}
	}
	// Users made inside the testbed land in its overlay of /etc.
	tb.MustRun(t, "groupadd", "bpfadm")
	tb.MustRun(t, "useradd", "-M", "-N", "-g", "nogroup", "plain")
	tb.MustRun(t, "useradd", "-M", "-N", "-g", "nogroup", "-G", "bpfadm", "admin")
	as := func(user string) []string {
		return []string{"setpriv", "--reuid=" + user, "--regid=nogroup", "--init-groups"}
	}
	if r := callString(t, tb, "Start", "s", "sys"); r != "done" { // root
		t.Fatalf("Start as root: %s", r)
	}
	st := tb.Status(t, "sys")

	// Reads: anyone.
	plain := as("plain")
	out := tb.MustRun(t, append(plain, "busctl", "call", dest, mgrPath, mgrIface, "ListUnits")...)
	if !strings.Contains(out, `"sys" "attached"`) {
		t.Errorf("ListUnits as plain: %s", out)
	}
	tb.MustRun(t, append(plain, "busctl", "call", dest, mgrPath, mgrIface, "GetUnit", "s", "sys")...)
	out = tb.MustRun(t, append(plain, "busctl", "get-property", dest, "/org/bpfunit/unit/sys", unitIf, "State", "Links")...)
	if !strings.Contains(out, `s "attached"`) {
		t.Errorf("properties as plain: %s", out)
	}

	// Only root may own the name (the bus policy).
	out, err := tb.Run(append(plain, "dbus-send", "--system", "--print-reply", "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus",
		"org.freedesktop.DBus.RequestName", "string:"+dest, "uint32:4")...)
	if err == nil || !strings.Contains(out, "org.freedesktop.DBus.Error.AccessDenied") {
		t.Errorf("RequestName %s as plain: %v %s, want AccessDenied", dest, err, out)
	}

	// Changes: denied, without polkit rule (polkit would ask for the
	// admin password; the caller did not allow interactive auth).
	denied := func(user []string, method string, args ...string) {
		t.Helper()
		name, msg := busError(t, tb, user, method, args...)
		if name != "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired" && name != "org.freedesktop.DBus.Error.AccessDenied" {
			t.Errorf("%s as %v: %s %s, want a denial", method, user, name, msg)
		}
	}
	for _, user := range [][]string{plain, as("admin")} {
		denied(user, "Start", "string:sys")
		denied(user, "Stop", "string:sys")
		denied(user, "Reload", "string:sys")
		denied(user, "Detach", "string:sys", "string:raw_tp_sys_enter@sys_enter")
	}
	// With ALLOW_INTERACTIVE_AUTHORIZATION polkit is asked to
	// authenticate; without an agent (the testbed has none) it says no.
	if _, err := tb.Run("sh", "-c", "command -v gdbus"); err == nil {
		out, err := tb.Run(append(plain, "gdbus", "call", "--system", "-i", "-d", dest, "-o", mgrPath, "-m", mgrIface+".Start", "sys")...)
		if err == nil || !strings.Contains(out, "org.freedesktop.DBus.Error.AccessDenied") {
			t.Errorf("interactive Start as plain: %v %s, want AccessDenied", err, out)
		}
	}
	// Replace with a passed fd.
	if _, name, msg := replace(t, tb, strings.Join(plain, " "), "sys", "raw_tp_sys_enter", "3<"+traceObj); name != "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired" {
		t.Errorf("Replace as plain: %s %s, want a denial", name, msg)
	}
	// Nothing changed.
	if now := tb.Status(t, "sys"); linkOf(t, now, "raw_tp_sys_enter@sys_enter").ProgID != linkOf(t, st, "raw_tp_sys_enter@sys_enter").ProgID || len(now.Links) != 2 || string(now.State) != "attached" {
		t.Fatalf("a denied call changed the unit: %+v", now)
	}
	if s := tb.UnitState("bpf@sys.service"); s != "active" {
		t.Fatalf("a denied Stop stopped the unit: %s", s)
	}
	if j := tb.Journal("bpfunitd.service"); !strings.Contains(j, "deny") || !strings.Contains(j, "caller_uid=") {
		t.Errorf("denials not journaled with the caller:\n%s", j)
	}

	// A rule granting group bpfadm: its member may, others still may not.
	tb.MustWriteFile(t, "/etc/polkit-1/rules.d/50-bpfunit-test.rules", `polkit.addRule(function(action, subject) {
    if (action.id.indexOf("org.bpfunit.") == 0 && subject.isInGroup("bpfadm"))
        return polkit.Result.YES;
});
`)
	admin := as("admin")
	waitFor(t, "polkit to read the rule", func() bool {
		_, err := tb.Run(append(admin, "busctl", "call", dest, mgrPath, mgrIface, "Reload", "s", "sys")...)
		return err == nil
	})
	out = tb.MustRun(t, append(admin, "busctl", "call", dest, mgrPath, mgrIface, "Stop", "s", "sys")...)
	if strings.TrimSpace(out) != `s "done"` || tb.UnitState("bpf@sys.service") != "inactive" {
		t.Errorf("Stop as a member of bpfadm: %s, unit %s", out, tb.UnitState("bpf@sys.service"))
	}
	denied(plain, "Start", "string:sys")
	out = tb.MustRun(t, append(admin, "busctl", "call", dest, mgrPath, mgrIface, "Start", "s", "sys")...)
	if strings.TrimSpace(out) != `s "done"` {
		t.Errorf("Start as a member of bpfadm: %s", out)
	}
	if j := tb.Journal("bpfunitd.service"); !strings.Contains(j, "unit stop") || !strings.Contains(j, "caller_bus_name=") {
		t.Errorf("changes not journaled with the caller:\n%s", j)
	}
	stopAndCheck(t, tb, "sys", tb.Status(t, "sys"))
}

// TestNoPolkit: with polkit masked, root may, nobody else.
func TestNoPolkit(t *testing.T) {
	tb := boot(t)
	tb.MustWriteFile(t, "/etc/bpfunit/sys.bpfunit", traceConfig)
	tb.MustRun(t, "systemctl", "daemon-reload")
	tb.MustRun(t, "systemctl", "mask", "--runtime", "polkit.service")
	name, msg := busError(t, tb, []string{"setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"}, "Start", "string:sys")
	if name != "org.freedesktop.DBus.Error.AccessDenied" || !strings.Contains(msg, "polkit is not available") {
		t.Errorf("Start as nobody without polkit: %s %s", name, msg)
	}
	if s := tb.UnitState("bpf@sys.service"); s != "inactive" {
		t.Errorf("denied Start started the unit: %s", s)
	}
	if r := callString(t, tb, "Start", "s", "sys"); r != "done" {
		t.Errorf("Start as root without polkit: %s", r)
	}
	stopAndCheck(t, tb, "sys", tb.Status(t, "sys"))
}

// TestPolkitHung: a polkitd that does not answer denies after the check's
// timeout (5 s), root is not held up by it, and the helper does not exit
// idle while the check is pending.
func TestPolkitHung(t *testing.T) {
	tb := boot(t)
	tb.MustWriteFile(t, "/etc/bpfunit/sys.bpfunit", traceConfig)
	tb.MustRun(t, "systemctl", "daemon-reload")
	daemonEnv(t, tb, "Environment=BPFUNITD_IDLE_TIMEOUT=2s")
	nobody := []string{"setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"}
	busError(t, tb, nobody, "Start", "string:sys") // polkitd runs now
	tb.MustRun(t, "systemctl", "kill", "--signal=SIGSTOP", "polkit.service")
	t.Cleanup(func() { tb.Run("systemctl", "kill", "--signal=SIGCONT", "polkit.service") })
	start := time.Now()
	name, msg := busError(t, tb, nobody, "Start", "string:sys")
	d := time.Since(start)
	if name != "org.freedesktop.DBus.Error.AccessDenied" || d < 4*time.Second || d > 15*time.Second {
		t.Errorf("Start as nobody with polkitd stopped: %s %s after %v, want AccessDenied after ~5s", name, msg, d)
	}
	if s := tb.UnitState("bpf@sys.service"); s != "inactive" {
		t.Errorf("a denied Start started the unit: %s", s)
	}
	if j := tb.Journal("bpfunitd.service"); strings.Count(j, "Started bpfunitd.service") != 1 {
		t.Errorf("the helper exited during a pending polkit check:\n%s", j)
	}
	if r := callString(t, tb, "Start", "s", "sys"); r != "done" {
		t.Errorf("Start as root with polkitd stopped: %s", r)
	}
	stopAndCheck(t, tb, "sys", tb.Status(t, "sys"))
}
