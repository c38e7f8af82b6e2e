// Package daemonbench measures bpfunitd in a testbed (real systemd 252 and
// dbus-daemon), in one run: cold bus activation to the first reply against
// systemd-hostnamed activated the same way (both are stopped, then one
// Properties.Get activates them; alternating rounds, medians), the idle
// RSS of its main process, and ListUnits/GetUnit latency with 100 attached
// units over D-Bus and over Varlink.
//
//	make bench-daemon
//
// The figures go to docs/benchmarks.md. Targets (issue 10): activation
// ≤ 1.2× hostnamed's, idle RSS ≤ 15 MiB, latency ≤ 5 ms.
package daemonbench
