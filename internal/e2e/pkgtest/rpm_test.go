package pkgtest_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestRPM builds the RPMs with rpmbuild -bb (Debian's rpm does) and checks
// what rpm would run and ship: scriptlets that stop every bpf@ instance on
// removal only and never restart one, bpf.target preset, and the BPF
// objects byte for byte as committed (not stripped), in a noarch package.
func TestRPM(t *testing.T) {
	skipInVM(t)
	if _, err := exec.LookPath("rpmbuild"); err != nil {
		t.Skipf("needs rpmbuild (the rpm package: make deps): %v", err)
	}
	spec, err := os.ReadFile(filepath.Join(root, "packaging/rpm/bpfunit.spec"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"%systemd_post bpf.target bpfunitd.socket", "%systemd_preun bpf.target bpfunitd.socket", "%systemd_postun bpf.target bpf@.service"} {
		if !strings.Contains(string(spec), "\n"+m+"\n") {
			t.Errorf("bpfunit.spec does not use %q", m)
		}
	}
	for _, line := range strings.Split(string(spec), "\n") {
		units, ok := strings.CutPrefix(line, "%systemd_postun_with_restart ")
		if ok && strings.TrimSpace(units) != "bpfunitd.service" {
			t.Errorf("bpfunit.spec restarts more than bpfunitd on upgrade: %s", line)
		}
	}

	dir := t.TempDir()
	out, err := exec.Command("make", "-C", root, "--no-print-directory", "rpm", "PKG_BUILD="+dir).CombinedOutput()
	if err != nil {
		t.Fatalf("make rpm: %v\n%s", err, out)
	}
	main, _ := filepath.Glob(filepath.Join(dir, "rpm/RPMS/*/bpfunit-0*.rpm"))
	examples, _ := filepath.Glob(filepath.Join(dir, "rpm/RPMS/noarch/bpfunit-examples-*.noarch.rpm"))
	if len(main) != 1 || len(examples) != 1 {
		t.Fatalf("make rpm built %v and %v, want one bpfunit and one noarch bpfunit-examples", main, examples)
	}

	scripts := rpmQuery(t, main[0], "--scripts")
	preun, postun := section(scripts, "preuninstall"), section(scripts, "postuninstall")
	if !strings.Contains(preun, "$1 -eq 0") || !strings.Contains(preun, "systemctl stop 'bpf@*.service'") {
		t.Errorf("preun does not stop every bpf@ instance on removal:\n%s", preun)
	}
	for _, m := range regexp.MustCompile(`systemctl[^\n]*restart[^\n]*`).FindAllString(scripts, -1) {
		if !strings.Contains(m, "restart bpfunitd.service ") {
			t.Errorf("a scriptlet restarts more than bpfunitd: %s", m)
		}
	}
	if !strings.Contains(postun, "daemon-reload") {
		t.Errorf("postun does not reload systemd:\n%s", postun)
	}
	if !strings.Contains(section(scripts, "postinstall"), "preset bpf.target") {
		t.Errorf("post does not enable bpf.target through its preset:\n%s", scripts)
	}
	if files := rpmQuery(t, main[0], "-l"); !strings.Contains(files, "/usr/lib/systemd/system-preset/50-bpfunit.preset") {
		t.Errorf("bpfunit.rpm has no preset for bpf.target:\n%s", files)
	}

	// --dump: path size mtime sha256 mode ...
	objects := 0
	for _, line := range strings.Split(rpmQuery(t, examples[0], "--dump"), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasSuffix(f[0], ".bpf.o") {
			continue
		}
		objects++
		name := strings.TrimSuffix(filepath.Base(f[0]), ".bpf.o")
		data, err := os.ReadFile(filepath.Join(root, "bpf", name+"_bpfel.o"))
		if err != nil {
			t.Errorf("%s: %v", f[0], err)
			continue
		}
		if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != f[3] {
			t.Errorf("%s in the rpm differs from bpf/%s_bpfel.o (stripped?)", f[0], name)
		}
	}
	if objects == 0 {
		t.Error("bpfunit-examples.rpm has no BPF object")
	}
}

func rpmQuery(t *testing.T, pkg string, args ...string) string {
	t.Helper()
	out, err := exec.Command("rpm", append([]string{"-qp"}, append(args, pkg)...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("rpm -qp %v %s: %v\n%s", args, pkg, err, out)
	}
	return string(out)
}

// section returns the body of one scriptlet of `rpm -qp --scripts`.
func section(scripts, name string) string {
	_, body, ok := strings.Cut(scripts, name+" scriptlet")
	if !ok {
		return ""
	}
	if i := strings.Index(body, " scriptlet (using"); i >= 0 {
		body = body[:strings.LastIndex(body[:i], "\n")]
	}
	return body
}
