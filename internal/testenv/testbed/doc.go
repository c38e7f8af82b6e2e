// Package testbed boots a real systemd as PID 1 in its own pid, mount, uts,
// ipc and cgroup namespaces, for tests that need systemd itself: units,
// generators, D-Bus activation, bpf@.service attaching for real.
//
// The work is done by scripts/testbed/testbed.sh (the same script humans use
// through `make testbed-shell` and `make demo`); this package builds and installs the project into a
// staging tree, drives the script, and checks that nothing is left behind.
//
// # What a testbed is
//
//   - systemd 252 boots a minimal target (DefaultDependencies=no; only
//     journald starts), in about 0.25 s. Units that would change host-wide
//     kernel state (sysctl, modules, binfmt, udev, clock...) are masked in
//     /run/systemd/system.control.
//   - /etc, /usr and /var are overlayfs mounts over the host's: writes land
//     in upper layers under the testbed's state dir (its "disk"), never in
//     the host's files. /run, /tmp and /dev are private tmpfs.
//   - `make install DESTDIR=stage` is copied over / at boot, so the units,
//     the generator and the binaries are where a package would put them.
//   - A fresh bpffs is mounted on /sys/fs/bpf (unless [Options.NoBPFFS]),
//     tracefs on /sys/kernel/tracing, cgroup2 on /sys/fs/cgroup rooted at
//     a cgroup delegated from the host's cgroup2 hierarchy.
//   - The network namespace is the host's. Put traffic into network
//     namespaces the test creates.
//   - udev does not run: /run/udev/control does not exist, there are no
//     .device units for network interfaces.
//
// # Invariants
//
// [Boot] registers a cleanup that powers the testbed off (SIGKILL of its
// PID 1 after 10 s), removes the delegated cgroup and fails the test if any
// process of the testbed's namespaces, its cgroup or a mount of its state
// dir is left. Because bpffs lives in the testbed's mount namespace, every
// pin goes with it; systemd's own cgroup programs (sd_fw_*, sd_devices) go
// with its cgroups. Combine with testenv.CheckLeaks, registered first, to
// prove that no BPF object survives.
//
// Kernel tests take a machine-wide lock: run them as
// `flock /run/bpfunit-tests.lock go test ./...` (the Makefile does).
package testbed
