package pkgtest_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bpfunit/bpfunit/internal/testenv"
	"github.com/bpfunit/bpfunit/internal/testenv/testbed"
)

// wouldInstall runs scripts/deps-check.sh with the packages hidden and
// returns the packages make deps (dry run) would install, and its output.
func wouldInstall(t *testing.T, hide ...string) ([]string, string) {
	t.Helper()
	cmd := exec.Command(root+"/scripts/deps-check.sh", hide...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("deps-check.sh %v: %v\n%s", hide, err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(line, "deps: would install "); ok {
			return strings.Fields(rest), string(out)
		}
	}
	return nil, string(out)
}

// TestDepsNamesMissing: on this machine with ping, bpftool and xdp-tools
// hidden (their files covered and dpkg's status without them, in a private
// mount namespace: the host is not changed), `make deps` names exactly those
// packages and apt-get would install them; without apt-get it says so in
// one line and fails.
func TestDepsNamesMissing(t *testing.T) {
	skipInVM(t)
	testenv.SkipUnlessRoot(t)
	for _, c := range []string{"unshare", "dpkg", "apt-get", "awk"} {
		testenv.NeedCommand(t, c)
	}
	if lists, _ := filepath.Glob("/var/lib/apt/lists/*_Packages*"); len(lists) == 0 {
		t.Skip("no apt package lists (apt-get update): apt-get --simulate cannot resolve names")
	}
	base, _ := wouldInstall(t)
	hide := []string{"iputils-ping", "bpftool", "xdp-tools"}
	got, out := wouldInstall(t, hide...)
	want := slices.Concat(hide, base)
	slices.Sort(got)
	slices.Sort(want)
	want = slices.Compact(want)
	if !slices.Equal(got, want) {
		t.Fatalf("make deps with %v hidden would install %v, want %v:\n%s", hide, got, want, out)
	}
	for _, p := range hide {
		if !strings.Contains(out, "Inst "+p+" ") {
			t.Errorf("apt-get --simulate would not install %s:\n%s", p, out)
		}
	}

	cmd := exec.Command(root+"/scripts/deps-check.sh", append(hide, "--", "sh", "-c",
		"mount --bind /dev/null \"$(command -v apt-get)\" && make --no-print-directory deps DEPS_GROUPS=base")...)
	b, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("make deps without apt-get succeeded:\n%s", b)
	}
	if !strings.Contains(string(b), "deps: missing packages (Debian names): iputils-ping bpftool xdp-tools;") {
		t.Errorf("make deps without apt-get did not name the packages:\n%s", b)
	}
}

// TestDepsInstallsMissing is the README's first step on a machine without
// ping, bpftool and xdp-tools, for real: inside a testbed (its /usr, /etc
// and /var are overlays, so the host keeps its packages) the three are
// purged with dpkg, then `make deps` installs them again with apt-get and
// they run.
func TestDepsInstallsMissing(t *testing.T) {
	skipInVM(t)
	testenv.SkipUnlessRoot(t)
	if lists, _ := filepath.Glob("/var/lib/apt/lists/*_Packages*"); len(lists) == 0 {
		t.Skip("no apt package lists (apt-get update): apt-get cannot resolve names")
	}
	tb := testbed.Boot(t, testbed.Options{NoInstall: true})
	// What `make deps` reads, copied into the testbed: the tree itself may
	// be under /tmp (a CI clone), which the testbed replaces by its own.
	const tree = "/tmp/bpfunit-tree"
	files, _ := filepath.Glob(filepath.Join(root, "mk", "*.mk"))
	files = append(files, filepath.Join(root, "Makefile"), filepath.Join(root, "scripts", "deps.sh"),
		filepath.Join(root, "scripts", "deps.list"), filepath.Join(root, "scripts", "vm", "kernels"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, f)
		if err := tb.WriteFile(filepath.Join(tree, rel), data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	abs := tree
	hide := []string{"iputils-ping", "bpftool", "xdp-tools"}
	tb.MustRun(t, append([]string{"dpkg", "--purge", "--force-depends"}, hide...)...)
	for _, c := range []string{"ping", "bpftool", "xdp-loader"} {
		if out, err := tb.Run("sh", "-c", "command -v "+c); err == nil {
			t.Fatalf("after dpkg --purge, %s is still there: %s", c, out)
		}
	}
	out := tb.MustRun(t, "make", "-C", abs, "--no-print-directory", "deps", "DEPS_GROUPS=base")
	if !strings.Contains(out, "deps: installing iputils-ping bpftool xdp-tools\n") {
		t.Errorf("make deps did not say what it installs:\n%s", out)
	}
	tb.MustRun(t, "ping", "-c", "1", "-W", "1", "127.0.0.1")
	tb.MustRun(t, "bpftool", "version")
	tb.MustRun(t, "xdp-loader", "status", "lo")
	// Run again: nothing is missing, nothing is installed.
	if out := tb.MustRun(t, "make", "-C", abs, "--no-print-directory", "deps", "DEPS_GROUPS=base"); strings.Contains(out, "installing") {
		t.Errorf("second make deps installed again:\n%s", out)
	}
}
