// Package varlink holds the end-to-end tests of bpfunitd's Varlink side: a
// testbed (real systemd 252) with the tree installed, dbus-daemon stopped,
// bpfunitd activated by bpfunitd.socket, driven by a plain socket client
// (JSON and NUL bytes written by the test) and by the bpfunit CLI inside
// it, as root and as an unprivileged user (setpriv). And the CLI's change
// verbs and monitor over D-Bus, where there is a bus.
//
// Run as root under the machine lock:
//
//	flock /run/bpfunit-tests.lock go test -count=1 ./internal/e2e/varlink/
package varlink
