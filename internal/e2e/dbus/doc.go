// Package dbus holds the end-to-end tests of bpfunitd's D-Bus API: a
// testbed (real systemd 252, dbus-daemon, polkitd) with the tree installed
// by `make install`, driven with busctl, gdbus, dbus-send and dbus-monitor
// inside it, as root and as unprivileged users (setpriv), and with godbus
// from the test for what needs a long-lived connection (Subscribe).
//
// Run as root under the machine lock:
//
//	flock /run/bpfunit-tests.lock go test -count=1 ./internal/e2e/dbus/
package dbus
