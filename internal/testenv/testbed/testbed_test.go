package testbed_test

import (
	"os"
	"strings"
	"testing"

	"github.com/bpfunit/bpfunit/internal/testenv"
	"github.com/bpfunit/bpfunit/internal/testenv/testbed"
)

// TestBootPoweroff boots plain systemd, checks what a test relies on, and
// proves (through the cleanup Boot registers, and CheckLeaks) that powering
// off leaves no process, cgroup, mount or BPF object behind. systemd's own
// cgroup programs (IPAddressDeny= of journald) exist while it runs.
func TestBootPoweroff(t *testing.T) {
	testenv.CheckLeaks(t)
	tb := testbed.Boot(t, testbed.Options{NoInstall: true})

	state, err := tb.Systemctl("is-system-running")
	if s := strings.TrimSpace(state); s != "running" {
		t.Fatalf("is-system-running = %q (%v); failed units:\n%s", s, err, must(tb.Systemctl("--failed")))
	}
	out, err := tb.Run("findmnt", "-n", "-o", "FSTYPE", "/sys/fs/bpf")
	if err != nil || strings.TrimSpace(out) != "bpf" {
		t.Errorf("/sys/fs/bpf: %q %v", out, err)
	}
	out, err = tb.Run("findmnt", "-n", "-o", "FSTYPE", "/sys/kernel/tracing")
	if err != nil || strings.TrimSpace(out) != "tracefs" {
		t.Errorf("/sys/kernel/tracing: %q %v", out, err)
	}
	if out, err := tb.Run("hostname"); err != nil || strings.TrimSpace(out) != "bpfunit-testbed" {
		t.Errorf("hostname: %q %v", out, err)
	}
	if out, err := tb.Systemctl("is-active", "systemd-journald.service"); err != nil {
		t.Errorf("journald: %s %v", out, err)
	}
}

// TestOverlays: files written in /etc, /usr and /var of a testbed stay out
// of the host's, survive a reboot (the disk), while /run and bpffs don't.
func TestOverlays(t *testing.T) {
	testenv.CheckLeaks(t)
	tb := testbed.Boot(t, testbed.Options{NoInstall: true})

	files := []string{"/etc/bpfunit/probe.bpfunit", "/usr/lib/bpfunit/probe", "/var/lib/bpfunit/probe"}
	for _, f := range files {
		if err := tb.WriteFile(f, []byte("x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Lstat(f); err == nil {
			t.Fatalf("%s written inside the testbed appeared on the host", f)
		}
	}
	if err := tb.WriteFile("/run/bpfunit/volatile", []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := tb.Run("mkdir", "/sys/fs/bpf/probe"); err != nil {
		t.Fatalf("mkdir in bpffs: %s %v", out, err)
	}
	bootID := must(tb.ReadFile("/proc/sys/kernel/random/boot_id"))

	tb.Reboot(t)

	for _, f := range files {
		b, err := tb.ReadFile(f)
		if err != nil || string(b) != "x\n" {
			t.Errorf("%s after reboot: %q %v", f, b, err)
		}
	}
	for _, f := range []string{"/run/bpfunit/volatile", "/sys/fs/bpf/probe"} {
		if out, err := tb.Run("test", "!", "-e", f); err != nil {
			t.Errorf("%s survived the reboot: %s", f, out)
		}
	}
	// The kernel's boot_id is the host's: the testbed has no kernel of its
	// own. It is read here to show that Reboot is not a kernel reboot.
	if b := must(tb.ReadFile("/proc/sys/kernel/random/boot_id")); string(b) != string(bootID) {
		t.Errorf("boot_id changed: %q -> %q", bootID, b)
	}
}

// TestNoBPFFS: with NoBPFFS, nothing is mounted on /sys/fs/bpf.
func TestNoBPFFS(t *testing.T) {
	tb := testbed.Boot(t, testbed.Options{NoInstall: true, NoBPFFS: true})
	if out, err := tb.Run("findmnt", "/sys/fs/bpf"); err == nil {
		t.Errorf("/sys/fs/bpf is mounted: %s", out)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
