package vm_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/bpfunit/bpfunit/internal/testenv"
	"github.com/bpfunit/bpfunit/internal/testenv/vm"
)

// TestBoot boots Debian 12's stock kernel (or $VM_KERNEL) with run-in-vm.sh
// and runs TestGuest of this very test binary inside: the guest checks
// uname -r, the mounts and what the kernel can attach.
func TestBoot(t *testing.T) {
	if vm.InVM() {
		t.Skip("already in the VM: no nested boot")
	}
	if testing.Short() {
		t.Skip("boots a VM (~6 s under TCG): not in -short")
	}
	testenv.SkipUnlessRoot(t)
	testenv.NeedCommand(t, "qemu-system-x86_64")
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skip("needs /bin/busybox (busybox-static, make vm-deps)")
	}
	pkg := os.Getenv("VM_KERNEL")
	if pkg == "" {
		pkg = "linux-image-amd64"
	}
	dir := os.Getenv("VM_KERNEL_DIR")
	if dir == "" {
		var err error
		if dir, err = vm.CachedKernel(pkg); err != nil {
			t.Skip(err)
		}
	}
	release, err := vm.KernelRelease(dir)
	if err != nil {
		t.Fatal(err)
	}
	runner, err := vm.Script("run-in-vm.sh")
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, runner, self, "-test.run=^TestGuest$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "VM_KERNEL_DIR="+dir, "BPFUNIT_VM_EXPECT="+release)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err = cmd.Run()
	t.Logf("%s: boot + TestGuest + poweroff in %v", release, time.Since(start).Round(10*time.Millisecond))
	t.Logf("guest output:\n%s", out.String())
	if err != nil {
		t.Fatalf("run-in-vm.sh: %v", err)
	}
	if !strings.Contains(out.String(), "--- PASS: TestGuest") {
		t.Fatal("TestGuest did not pass in the VM")
	}
}

// TestExitCode checks that the runner returns the command's exit code and
// runs it in the current directory.
func TestExitCode(t *testing.T) {
	if vm.InVM() || testing.Short() {
		t.Skip("boots a VM: not inside one, not in -short")
	}
	testenv.SkipUnlessRoot(t)
	testenv.NeedCommand(t, "qemu-system-x86_64")
	dir, err := vm.CachedKernel("linux-image-amd64")
	if err != nil {
		t.Skip(err)
	}
	runner, err := vm.Script("run-in-vm.sh")
	if err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	cmd := exec.Command(runner, "sh", "-c", `pwd; echo "$BPFUNIT_VM"; exit 7`)
	cmd.Env = append(os.Environ(), "VM_KERNEL_DIR="+dir)
	out, err := cmd.Output()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 7 {
		t.Fatalf("want exit status 7, got %v (output %q)", err, out)
	}
	release, _ := vm.KernelRelease(dir)
	if want := wd + "\n" + release + "\n"; string(out) != want {
		t.Fatalf("output %q, want %q", out, want)
	}
}
