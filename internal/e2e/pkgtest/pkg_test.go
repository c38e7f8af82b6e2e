package pkgtest_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/bpfunit/bpfunit/internal/testenv"
	"github.com/bpfunit/bpfunit/internal/testenv/testbed"
	"github.com/bpfunit/bpfunit/internal/testenv/vm"
)

const root = "../../.."

// The packages are built once per test binary: version 0.1.0 (the
// changelog's), a newer 0.1.1~test for the upgrade, and the packager's
// example.
var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

type debs struct{ v1, v2 string }

// deb returns the path of the package NAME_VERSION_*.deb in dir.
func (d debs) file(t *testing.T, dir, name string) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, name+"_*.deb"))
	if len(m) != 1 {
		t.Fatalf("%s: want one %s_*.deb, have %v", dir, name, m)
	}
	return m[0]
}

// skipInVM: the kernel matrix checks kernel behaviour; packages (a Go
// build, dpkg, apt) are built and tested in the host's run only.
func skipInVM(t *testing.T) {
	t.Helper()
	if vm.InVM() {
		t.Skip("in the kernel-matrix VM: the packages are built and tested on the host")
	}
}

func build(t *testing.T) debs {
	t.Helper()
	skipInVM(t)
	testenv.SkipUnlessRoot(t)
	for _, c := range []string{"dpkg-buildpackage", "dh", "dh_installsystemd", "dpkg"} {
		if _, err := exec.LookPath(c); err != nil {
			t.Skipf("needs %s (dpkg-dev, debhelper: make deps): %v", c, err)
		}
	}
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "bpfunit-pkgtest-")
		if buildErr != nil {
			return
		}
		for _, args := range [][]string{
			{"deb", "example-deb", "PKG_BUILD=" + filepath.Join(buildDir, "v1")},
			{"deb", "PKG_BUILD=" + filepath.Join(buildDir, "v2"), "DEB_VERSION=0.1.1~test"},
		} {
			cmd := exec.Command("make", append([]string{"-C", root, "--no-print-directory"}, args...)...)
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("make %s: %w\n%s", strings.Join(args, " "), err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return debs{v1: filepath.Join(buildDir, "v1", "deb"), v2: filepath.Join(buildDir, "v2", "deb")}
}

// push copies host files into the testbed's /tmp and returns their paths there.
func push(t *testing.T, tb *testbed.Testbed, files ...string) []string {
	t.Helper()
	var paths []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		p := "/tmp/" + filepath.Base(f)
		if err := tb.WriteFile(p, data, 0o644); err != nil {
			t.Fatalf("copy %s into the testbed: %v", f, err)
		}
		paths = append(paths, p)
	}
	return paths
}

// linkIDs are the unit's link ids, checked alive in the kernel.
func linkIDs(t *testing.T, tb *testbed.Testbed, name string) []uint32 {
	t.Helper()
	st := tb.Status(t, name)
	var ids []uint32
	for _, l := range st.Links {
		if !l.Alive {
			t.Fatalf("%s: link %s is pinned but not in the kernel", name, l.Pin)
		}
		ids = append(ids, l.LinkID)
	}
	if len(ids) == 0 {
		t.Fatalf("%s: no links: %+v", name, st)
	}
	slices.Sort(ids)
	return ids
}

// activeSince is when systemd last started the unit: a restart changes it.
func activeSince(t *testing.T, tb *testbed.Testbed, unit string) string {
	t.Helper()
	out, err := tb.Systemctl("show", "-P", "ActiveEnterTimestampMonotonic", unit)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return strings.TrimSpace(out)
}

// debFiles lists the regular files and symlinks a .deb ships.
func debFiles(t *testing.T, deb string) []string {
	t.Helper()
	out, err := exec.Command("dpkg-deb", "--fsys-tarfile", deb).Output()
	if err != nil {
		t.Fatalf("dpkg-deb --fsys-tarfile %s: %v", deb, err)
	}
	cmd := exec.Command("tar", "-t")
	cmd.Stdin = strings.NewReader(string(out))
	list, err := cmd.Output()
	if err != nil {
		t.Fatalf("tar -t: %v", err)
	}
	var files []string
	for _, f := range strings.Split(string(list), "\n") {
		f = strings.TrimPrefix(f, ".")
		if f != "" && !strings.HasSuffix(f, "/") {
			files = append(files, f)
		}
	}
	return files
}

// allowStarts removes a policy-rc.d that forbids maintainer scripts to
// start services (container images have one; this machine's does), inside
// the testbed's /usr overlay only, so that dpkg behaves as on a real
// system.
func allowStarts(t *testing.T, tb *testbed.Testbed) {
	t.Helper()
	tb.MustRun(t, "rm", "-f", "/usr/sbin/policy-rc.d")
}

const adminConfig = `[Unit]
Description=syscalls, counted by a config the admin wrote
[Object]
Path=/usr/lib/bpfunit/objects/trace_counter.bpf.o
PinMaps=yes
[Attach]
Program=raw_tp_sys_enter
Type=raw_tracepoint
Tracepoint=sys_enter
`

// TestDebLifecycle installs the packages, attaches a config the admin
// dropped, upgrades and reinstalls with it attached (same links, unit not
// restarted), removes (nothing attached) and purges (no file of the
// packages left, the admin's config kept).
func TestDebLifecycle(t *testing.T) {
	d := build(t)
	testenv.CheckLeaks(t)
	before, err := testenv.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	tb := testbed.Boot(t, testbed.Options{NoInstall: true})
	allowStarts(t, tb)

	v1 := push(t, tb, d.file(t, d.v1, "bpfunit"), d.file(t, d.v1, "bpfunit-examples"))
	tb.MustRun(t, append([]string{"dpkg", "-i"}, v1...)...)
	if out, _ := tb.Systemctl("is-enabled", "bpf.target"); strings.TrimSpace(out) != "enabled" {
		t.Errorf("after dpkg -i: bpf.target is %q, want enabled", strings.TrimSpace(out))
	}
	if s := tb.UnitState("bpf.target"); s != "active" {
		t.Errorf("after dpkg -i: bpf.target is %s, want active", s)
	}

	// Every unit the package ships passes systemd-analyze verify from where
	// the package put it (the template through an instance, too).
	units := []string{"/lib/systemd/system/bpf@pkgtest.service"}
	for _, f := range debFiles(t, d.file(t, d.v1, "bpfunit")) {
		if strings.HasPrefix(f, "/lib/systemd/system/") {
			units = append(units, f)
		}
	}
	if len(units) < 4 {
		t.Fatalf("the package ships too few units: %v", units)
	}
	tb.MustRun(t, append([]string{"systemd-analyze", "verify"}, units...)...)

	// The examples are there but none is started: they have no [Install].
	if out := tb.MustRun(t, "sh", "-c", "ls /usr/lib/bpfunit/*.bpfunit | wc -l"); strings.TrimSpace(out) == "0" {
		t.Error("bpfunit-examples installed no config")
	}
	if out, err := tb.Run("grep", "-l", `^\[Install\]`, "-r", "/usr/lib/bpfunit"); err == nil {
		t.Errorf("example configs with [Install]:\n%s", out)
	}

	if err := tb.WriteFile("/etc/bpfunit/pkgtest.bpfunit", []byte(adminConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	tb.MustRun(t, "systemctl", "daemon-reload")
	tb.MustRun(t, "systemctl", "start", "bpf@pkgtest.service")
	ids := linkIDs(t, tb, "pkgtest")
	since := activeSince(t, tb, "bpf@pkgtest.service")

	// Upgrade, then reinstall the same version: the links stay.
	v2 := push(t, tb, d.file(t, d.v2, "bpfunit"), d.file(t, d.v2, "bpfunit-examples"))
	for _, step := range []string{"upgrade to 0.1.1~test", "reinstall 0.1.1~test"} {
		tb.MustRun(t, append([]string{"dpkg", "-i"}, v2...)...)
		if got := tb.MustRun(t, "dpkg-query", "-W", "-f", "${Version}", "bpfunit"); got != "0.1.1~test" {
			t.Fatalf("%s: bpfunit is at %q", step, got)
		}
		if got := linkIDs(t, tb, "pkgtest"); !slices.Equal(got, ids) {
			t.Errorf("%s: link ids %v, before %v: the program was detached", step, got, ids)
		}
		if got := activeSince(t, tb, "bpf@pkgtest.service"); got != since {
			t.Errorf("%s: bpf@pkgtest.service was restarted (active since %s, before %s)", step, got, since)
		}
	}

	// Removal detaches everything.
	tb.MustRun(t, "dpkg", "-r", "bpfunit-examples", "bpfunit")
	if s := tb.UnitState("bpf@pkgtest.service"); s == "active" {
		t.Errorf("after dpkg -r: bpf@pkgtest.service is still active")
	}
	if left := testbed.NewPrograms(t, before); len(left) > 0 {
		t.Errorf("after dpkg -r: programs still in the kernel: %v", left)
	}
	if out, _ := tb.Run("find", "/sys/fs/bpf/bpfunit", "-mindepth", "1"); strings.TrimSpace(out) != "" {
		t.Errorf("after dpkg -r: left on bpffs:\n%s", out)
	}

	// Purge: no file of the packages, no state; the admin's config stays.
	tb.MustRun(t, "dpkg", "--purge", "bpfunit-examples", "bpfunit")
	var files []string
	for _, deb := range []string{d.file(t, d.v2, "bpfunit"), d.file(t, d.v2, "bpfunit-examples")} {
		files = append(files, debFiles(t, deb)...)
	}
	files = append(files, "/run/bpfunit", "/etc/systemd/system/multi-user.target.wants/bpf.target")
	for _, f := range files {
		if _, err := tb.Run("test", "-e", f, "-o", "-L", f); err == nil {
			t.Errorf("after purge: %s is still there", f)
		}
	}
	if _, err := tb.Run("test", "-f", "/etc/bpfunit/pkgtest.bpfunit"); err != nil {
		t.Errorf("purge removed the admin's /etc/bpfunit/pkgtest.bpfunit")
	}
}

// TestPackagerExample installs the packager's example package, which drops
// an object and a config with [Install] into /usr/lib/bpfunit: its program
// is attached at the next boot, and removing bpfunit detaches it.
func TestPackagerExample(t *testing.T) {
	d := build(t)
	testenv.CheckLeaks(t)
	before, err := testenv.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	// Want: bpf.target stands in for multi-user.target, which the testbed
	// does not boot into; that the package enabled bpf.target is checked.
	tb := testbed.Boot(t, testbed.Options{NoInstall: true, Want: []string{"bpf.target"}})
	allowStarts(t, tb)
	pkgs := push(t, tb, d.file(t, d.v1, "bpfunit"), d.file(t, d.v1, "bpfunit-example-syscount"))
	tb.MustRun(t, append([]string{"dpkg", "-i"}, pkgs...)...)
	if out, _ := tb.Systemctl("is-enabled", "bpf.target"); strings.TrimSpace(out) != "enabled" {
		t.Errorf("bpf.target is %q, want enabled", strings.TrimSpace(out))
	}
	// bpfunit's trigger ran daemon-reload: the generator wired the config.
	if out, _ := tb.Systemctl("show", "-P", "WantedBy", "bpf@syscount.service"); !strings.Contains(out, "bpf.target") {
		t.Errorf("after dpkg -i: bpf@syscount.service is not wanted by bpf.target (WantedBy=%s)", strings.TrimSpace(out))
	}

	tb.Reboot(t)
	if s := tb.UnitState("bpf@syscount.service"); s != "active" {
		t.Fatalf("after reboot: bpf@syscount.service is %s\n%s", s, tb.Journal("bpf@syscount.service"))
	}
	linkIDs(t, tb, "syscount")

	tb.MustRun(t, "dpkg", "--purge", "bpfunit-example-syscount", "bpfunit")
	if left := testbed.NewPrograms(t, before); len(left) > 0 {
		t.Errorf("after purge: programs still in the kernel: %v", left)
	}
}

// TestLintian: lintian reports no error on any of the packages (warnings
// are printed; the overrides are justified in packaging/README.md).
func TestLintian(t *testing.T) {
	if _, err := exec.LookPath("lintian"); err != nil {
		t.Skipf("needs lintian (make deps): %v", err)
	}
	d := build(t)
	debs, _ := filepath.Glob(filepath.Join(d.v1, "*.deb"))
	if len(debs) < 4 {
		t.Fatalf("want bpfunit, bpfunit-examples, bpfunit-cockpit and the example package, have %v", debs)
	}
	out, err := exec.Command("lintian", append([]string{"--fail-on", "error"}, debs...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("lintian: %v\n%s", err, out)
	}
	t.Logf("lintian:\n%s", out)
}
