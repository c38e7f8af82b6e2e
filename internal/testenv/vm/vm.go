// Package vm is the kernel-matrix test runner of bpfunit: it runs test
// binaries under other kernels than the host's, in a qemu VM that shares the
// host's root filesystem read-only.
//
// The runner itself is scripts/vm/run-in-vm.sh, used as
//
//	go test -exec "$PWD/scripts/vm/run-in-vm.sh" ./...
//
// with VM_KERNEL_DIR pointing at a Debian kernel extracted by
// scripts/vm/fetch-kernel.sh (or VM_KERNEL=PACKAGE); `make test-kernels` runs
// the whole suite under every kernel listed in scripts/vm/kernels and prints
// a table (see docs/kernels.md). This package tells tests whether they run in
// such a VM and holds the runner's own tests, which double as a probe of what
// each kernel supports.
//
// Tests must probe features (try the load or attach, skip on
// ebpf.ErrNotSupported with testenv.SkipIfNotSupported), never compare kernel
// versions: Debian backports features and distributions configure kernels
// differently.
package vm

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// EnvVM is set inside the VM to the guest kernel's release (uname -r).
const EnvVM = "BPFUNIT_VM"

// InVM reports whether the test runs inside the kernel-matrix VM.
func InVM() bool { return os.Getenv(EnvVM) != "" }

// Kernel returns the release of the VM's kernel, or "" outside a VM.
func Kernel() string { return os.Getenv(EnvVM) }

// Emulated reports whether the VM runs under TCG, qemu's CPU emulation
// (no usable KVM): code runs ~3-10x slower than on the host, and booting a
// full systemd takes minutes. Tests with tight timeouts or a systemd boot
// should skip then, with a reason.
func Emulated() bool { return os.Getenv(EnvAccel) == "tcg" }

// EnvAccel is set inside the VM to qemu's accelerator: kvm or tcg.
const EnvAccel = "BPFUNIT_VM_ACCEL"

// CacheDir is where fetch-kernel.sh keeps extracted kernels and run-in-vm.sh
// its initramfs images: $VM_CACHE, by default /var/cache/bpfunit-vm.
func CacheDir() string {
	if d := os.Getenv("VM_CACHE"); d != "" {
		return d
	}
	return "/var/cache/bpfunit-vm"
}

// CachedKernel returns the directory of the kernel that fetch-kernel.sh last
// extracted for a Debian package name (linux-image-amd64, ...), without
// downloading anything. It fails when the kernel isn't cached yet
// (`make vm-kernels` fetches the matrix).
func CachedKernel(pkg string) (string, error) {
	link := filepath.Join(CacheDir(), "by-name", pkg)
	if _, err := os.Stat(filepath.Join(link, ".complete")); err != nil {
		return "", fmt.Errorf("kernel %s not in %s (make vm-kernels): %w", pkg, CacheDir(), err)
	}
	return filepath.EvalSymlinks(link)
}

// KernelRelease returns the release (uname -r) of an extracted kernel.
func KernelRelease(dir string) (string, error) {
	ents, err := os.ReadDir(filepath.Join(dir, "lib", "modules"))
	if err != nil {
		return "", err
	}
	if len(ents) == 0 {
		return "", fmt.Errorf("no kernel under %s/lib/modules", dir)
	}
	return ents[0].Name(), nil
}

// Script returns the path of a script of scripts/vm, found by walking up
// from the working directory (go test runs in the package directory) to the
// module root.
func Script(name string) (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(dir, "scripts", "vm", name)
			if _, err := os.Stat(p); err != nil {
				return "", err
			}
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}
