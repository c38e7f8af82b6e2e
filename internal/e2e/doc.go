// Package e2e holds end-to-end tests of bpfunit as an administrator uses
// it: a real systemd 252 booted as PID 1 in a testbed
// (internal/testenv/testbed) with the tree installed by `make install`,
// configs in /etc/bpfunit, and nothing but systemctl, bpfunit and bpftool
// inside it. Traffic goes through veth pairs in network namespaces the tests
// create inside the testbed; attachments are counted in the kernel.
//
// What each test covers that internal/generator's testbed tests don't:
// XDP with real traffic through bpf.target, restart and repeated start never
// attaching twice, reload (same link, new program, maps kept; a verifier
// rejection leaves the old program running), reboot of enabled, masked and
// disabled configs, failures isolated to their unit with the reason in
// `systemctl status`, and a oneshot killed in the middle of a start (fault
// hook, `systemctl kill`, TimeoutStartSec=).
//
// Run as root under the machine-wide lock:
//
//	flock /run/bpfunit-tests.lock go test -count=1 ./internal/e2e/
package e2e
