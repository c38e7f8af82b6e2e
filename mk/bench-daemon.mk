# bench-daemon.mk — the benchmark of bpfunitd (see internal/bench/daemonbench).
# Included by the top Makefile; part of `make bench`.

.PHONY: bench-daemon
bench: bench-daemon

bench-daemon: ## bpfunitd in a testbed: cold bus activation vs systemd-hostnamed, idle RSS, ListUnits/GetUnit latency with 100 units over D-Bus and Varlink (root)
	flock $(TESTLOCK) env BPFUNIT_BENCH=1 $(GO) test -count=1 -timeout 10m -v -run '^TestDaemonBench$$' ./internal/bench/daemonbench
