package generator_test

// Tests in a real systemd (internal/testenv/testbed) with the tree
// installed by `make install`: the units verify, the generator runs on
// daemon-reload and at boot, bpf.target attaches and detaches through the
// sandboxed bpf@.service and the real bpfunit-oneshot.

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bpfunit/bpfunit/internal/pins"
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

// TestUnitsVerify: systemd-analyze verify passes on every installed unit.
func TestUnitsVerify(t *testing.T) {
	tb := boot(t, testbed.Options{NoBPFFS: true})
	tb.MustRun(t, "systemd-analyze", "verify",
		"/usr/lib/systemd/system/bpf@.service",
		"/usr/lib/systemd/system/bpf@example.service",
		"/usr/lib/systemd/system/bpf.target",
		"/usr/lib/systemd/system/bpfunit-bpffs.service")
}

const traceConfig = "[Unit]\nDescription=trace counter % test\n" + testbed.TraceCounterLinks + "[Install]\nWantedBy=bpf.target\n"

// waitInactive waits for units to stop: `systemctl stop bpf.target` returns
// once the target is stopped, and its PartOf= units stop after it.
func waitInactive(t *testing.T, tb *testbed.Testbed, units ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, _ := tb.Systemctl(append([]string{"is-active"}, units...)...)
		states := strings.Fields(out)
		if len(states) == len(units) && !slices.ContainsFunc(states, func(s string) bool { return s != "inactive" && s != "failed" }) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("units still active after 10s: %s", out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestTargetStartStop: a config with WantedBy=bpf.target is wired by the
// generator on daemon-reload, `systemctl start bpf.target` attaches it
// (bpffs mounted by bpfunit-bpffs.service), `systemctl stop bpf.target`
// leaves nothing attached or pinned.
func TestTargetStartStop(t *testing.T) {
	testenv.CheckLeaks(t)
	tb := boot(t, testbed.Options{NoBPFFS: true})
	if err := tb.WriteFile("/etc/bpfunit/trace.bpfunit", []byte(traceConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	tb.MustRun(t, "systemctl", "daemon-reload")
	if got := tb.MustRun(t, "readlink", "/run/systemd/generator/bpf.target.wants/bpf@trace.service"); strings.TrimSpace(got) != "/usr/lib/systemd/system/bpf@.service" {
		t.Errorf("wants symlink -> %q", got)
	}
	before, err := testenv.Snapshot()
	if err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	tb.MustRun(t, "systemctl", "start", "bpf.target")
	t.Logf("systemctl start bpf.target: %v", time.Since(start).Round(time.Millisecond))
	if out, err := tb.Systemctl("is-active", "bpf@trace.service", "bpfunit-bpffs.service", "bpf.target"); err != nil {
		t.Fatalf("is-active: %s\n%s", out, tb.Journal("bpf@trace.service"))
	}
	if out := tb.MustRun(t, "findmnt", "-n", "-o", "FSTYPE", "/sys/fs/bpf"); strings.TrimSpace(out) != "bpf" {
		t.Errorf("/sys/fs/bpf: %q", out)
	}
	status, _ := tb.Systemctl("status", "bpf@trace.service")
	for _, want := range []string{"trace counter % test", "/etc/bpfunit/trace.bpfunit", "50-bpfunit.conf"} {
		if !strings.Contains(status, want) {
			t.Errorf("systemctl status lacks %q:\n%s", want, status)
		}
	}
	pins := tb.MustRun(t, "find", "/sys/fs/bpf/bpfunit/trace/links", "-mindepth", "1")
	if strings.Count(pins, "\n") != 2 {
		t.Errorf("link pins:\n%s", pins)
	}
	if progs := testbed.NewPrograms(t, before); len(progs) != 2 {
		t.Errorf("programs attached: %v", progs)
	}

	start = time.Now()
	tb.MustRun(t, "systemctl", "stop", "bpf.target")
	waitInactive(t, tb, "bpf@trace.service")
	t.Logf("systemctl stop bpf.target: %v", time.Since(start).Round(time.Millisecond))
	if out, err := tb.Run("test", "!", "-e", "/sys/fs/bpf/bpfunit/trace"); err != nil {
		t.Errorf("pins left after stop: %s %s", out, tb.MustRun(t, "find", "/sys/fs/bpf/bpfunit"))
	}
	deadline := time.Now().Add(2 * time.Second)
	for progs := testbed.NewPrograms(t, before); len(progs) > 0; progs = testbed.NewPrograms(t, before) {
		if time.Now().After(deadline) {
			t.Errorf("programs left after stop: %v", progs)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestInvalidConfig: a config that doesn't parse makes its unit fail, with
// the error in systemctl status; the rest of bpf.target starts.
func TestInvalidConfig(t *testing.T) {
	testenv.CheckLeaks(t)
	tb := boot(t, testbed.Options{})
	// The first error of this config contains the characters systemd would
	// expand or unquote in an Exec line.
	broken := "[Unit]\nDescription=broken\n[Object]\nPath=/x.o\nPinMaps=%i$HOME\"\\x\n[Attach]\nProgram=p\n[Install]\nWantedBy=bpf.target\n"
	if err := tb.WriteFile("/etc/bpfunit/broken.bpfunit", []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := tb.WriteFile("/etc/bpfunit/trace.bpfunit", []byte(traceConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	tb.MustRun(t, "systemctl", "daemon-reload")
	tb.MustRun(t, "systemctl", "start", "bpf.target")
	if out, _ := tb.Systemctl("is-failed", "bpf@broken.service"); strings.TrimSpace(out) != "failed" {
		t.Errorf("bpf@broken.service is %q", out)
	}
	if out, err := tb.Systemctl("is-active", "bpf@trace.service"); err != nil {
		t.Errorf("bpf@trace.service: %s", out)
	}
	status, _ := tb.Systemctl("status", "bpf@broken.service")
	want := `/etc/bpfunit/broken.bpfunit:5: [Object] PinMaps=: invalid boolean "%i$HOME\"\\x"`
	if !strings.Contains(status, "invalid configuration") || !strings.Contains(status, want) {
		t.Errorf("systemctl status lacks %q:\n%s", want, status)
	}
	// The oneshot, which re-parses, reports the same error.
	out, err := tb.Run("/usr/libexec/bpfunit/bpfunit-oneshot", "start", "broken")
	if err == nil || !strings.Contains(out, want) {
		t.Errorf("bpfunit-oneshot start broken: %v: %s", err, out)
	}
	tb.MustRun(t, "systemctl", "stop", "bpf.target")
	waitInactive(t, tb, "bpf@trace.service")
}

// TestMaskedConfig: a config masked by a /dev/null symlink in /etc masks
// the systemd unit and is not wired into bpf.target.
func TestMaskedConfig(t *testing.T) {
	tb := boot(t, testbed.Options{})
	if err := tb.WriteFile("/usr/lib/bpfunit/trace.bpfunit", []byte(traceConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	tb.MustRun(t, "mkdir", "-p", "/etc/bpfunit")
	tb.MustRun(t, "ln", "-s", "/dev/null", "/etc/bpfunit/trace.bpfunit")
	tb.MustRun(t, "systemctl", "daemon-reload")
	if out, err := tb.Run("test", "-e", "/run/systemd/generator/bpf.target.wants/bpf@trace.service"); err == nil {
		t.Errorf("masked config wired into bpf.target: %s", out)
	}
	out, err := tb.Systemctl("start", "bpf@trace.service")
	if err == nil || !strings.Contains(out, "masked") {
		t.Errorf("start of a masked unit: %v: %s", err, out)
	}
}

// TestBoot: configs on the disk are attached at boot (the boot target wants
// bpf.target, as multi-user.target does once bpf.target is enabled), with the
// generator run by systemd at boot and bpffs mounted by bpfunit-bpffs.service;
// after a reboot they are attached again in the fresh bpffs.
func TestBoot(t *testing.T) {
	testenv.CheckLeaks(t)
	tb := boot(t, testbed.Options{NoBPFFS: true, Want: []string{"bpf.target"}})
	if err := tb.WriteFile("/etc/bpfunit/trace.bpfunit", []byte(traceConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	tb.Reboot(t)
	if out, err := tb.Systemctl("is-active", "bpf@trace.service"); err != nil {
		t.Fatalf("after reboot: %s\n%s\nconsole:\n%s", out, tb.Journal(""), tb.Console(30))
	}
	tb.MustRun(t, "test", "-e", "/sys/fs/bpf/bpfunit/trace/links/tp_getpid@syscalls:sys_enter_getpid")
}

// TestCgroupOwner: a cgroup attachment to a service pulls the service in
// (Wants=, After=) and follows its restarts (PartOf=): the program is
// attached to the new cgroup after `systemctl restart`.
func TestCgroupOwner(t *testing.T) {
	testenv.CheckLeaks(t)
	tb := boot(t, testbed.Options{})
	if err := tb.WriteFile("/etc/systemd/system/probe.service", []byte("[Service]\nExecStart=/bin/sleep infinity\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := "[Object]\nPath=/usr/lib/bpfunit/objects/cgroup_counter.bpf.o\n[Attach]\nProgram=cgroup_egress\nType=cgroup\nCgroup=probe.service\n"
	if err := tb.WriteFile("/etc/bpfunit/cg.bpfunit", []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	tb.MustRun(t, "systemctl", "daemon-reload")
	if out, err := tb.Systemctl("start", "bpf@cg.service"); err != nil {
		t.Fatalf("start: %v %s\n%s", err, out, tb.Journal("bpf@cg.service"))
	}
	// The pin name has the unit name in it, and bpffs refuses dots (the
	// bug this test once skipped on): pins.LinkName escapes them.
	tb.MustRun(t, "test", "-e", "/sys/fs/bpf/bpfunit/cg/links/"+pins.LinkName("cgroup_egress", "probe.service"))
	attached := func() string {
		t.Helper()
		return tb.MustRun(t, "bpftool", "cgroup", "show", "/sys/fs/cgroup/system.slice/probe.service")
	}
	if out, err := tb.Systemctl("is-active", "probe.service"); err != nil {
		t.Errorf("probe.service not pulled in: %s", out)
	}
	if out := attached(); !strings.Contains(out, "cgroup_egress") {
		t.Errorf("not attached to probe.service's cgroup:\n%s", out)
	}
	tb.MustRun(t, "systemctl", "restart", "probe.service")
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(attached(), "cgroup_egress") {
		if time.Now().After(deadline) {
			t.Fatalf("not attached to the new cgroup after restart:\n%s", tb.Journal("bpf@cg.service"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	tb.MustRun(t, "systemctl", "stop", "bpf@cg.service", "probe.service")
}
