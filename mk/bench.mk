# bench.mk — benchmarks. Figures go to docs/benchmarks.md.
#
# Targets are ratios against peer tools measured in the same run, never
# absolute timings in tests: these machines are noisy.

BENCH_N ?= 30
# BENCH_BASELINE=path/to/an/older/bpfunit-oneshot times it in the same run.
BENCH_BASELINE ?=

.PHONY: bench bench-start bench-go bench-reload

bench: bench-start bench-go bench-reload ## run every benchmark (root; prints ratios against peer tools)

bench-start: build ## oneshot start vs xdp-loader load vs bpftool loadall+attach (root)
	@command -v xdp-loader >/dev/null || { echo "bench-start: needs xdp-tools (apt-get install xdp-tools)"; exit 1; }
	$(GO) build -o $(BIN)/startcmp ./internal/bench/startcmp
	flock $(TESTLOCK) unshare -m --propagation private $(BIN)/startcmp -oneshot $(BIN)/bpfunit-oneshot -n $(BENCH_N) $(if $(BENCH_BASELINE),-baseline $(BENCH_BASELINE))

bench-go: ## Go benchmarks (generator with 1000 configs, ...)
	flock $(TESTLOCK) $(GO) test -run '^$$' -bench . -benchmem ./...

BENCH_SOAK_N ?= 1000

bench-reload: ## reload/replace without a gap: zero-loss swaps under UDP traffic, soak (leaks, FDs, RSS), reload latency by attachments (root, ~2 min)
	flock $(TESTLOCK) env BPFUNIT_BENCH=1 BENCH_SOAK_N=$(BENCH_SOAK_N) $(GO) test -count=1 -timeout 10m -v \
		-run '^Test(ZeroLossReplace|SwapToDrop|Soak|SoakOneshot|ReloadLatency)$$' ./internal/bench/reloadbench

.PHONY: bench-boot
bench: bench-boot

bench-boot: ## boot scale: 100 bpf@ units (XDP on 100 veths) through bpf.target in a systemd testbed vs 100 × one unit; then the generator over 1000 configs (root)
	flock $(TESTLOCK) env BPFUNIT_BENCH=1 $(GO) test -count=1 -timeout 10m -v -run '^TestBootScale$$' ./internal/bench/bootscale
	flock $(TESTLOCK) $(GO) test -run '^$$' -bench 'BenchmarkRun1000' -benchtime 50x ./internal/generator
