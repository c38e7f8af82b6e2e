# bpfunit — eBPF programs managed as systemd services.
# `make help` lists the targets. Area-specific targets live in mk/*.mk.

GO        ?= go
PREFIX    ?= /usr
DESTDIR   ?=
BIN       := bin
# Kernel tests look at every BPF object in the kernel (the leak check), so
# test packages run one at a time and take a machine-wide lock.
TESTLOCK  := /run/bpfunit-tests.lock
GOTEST    := flock $(TESTLOCK) $(GO) test -p 1 -count=1

CMDS := $(notdir $(wildcard cmd/*))

.PHONY: all build test vet fmt-check lint help
all: build

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sort | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

# CGO_ENABLED=0: static binaries. With cgo, net and os/user link libc and
# every oneshot start pays the dynamic loader (~0.5-1 ms of a ~20 ms start).
build: ## build every binary into bin/
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/ ./cmd/...

vet: ## go vet + gofmt check
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

test: deps build man-check ## run the whole test suite (needs root: real kernel, bpffs, netns); installs what it needs first (make deps)
	$(GOTEST) -timeout 30m ./...

# `make deps` runs before the targets that need packages (mk/deps.mk); this
# comes before the includes so that deps is the first prerequisite of each.
bench: deps

-include mk/*.mk

DEMO_STATE ?= /tmp/bpfunit-demo

.PHONY: demo
demo: deps ## the whole story in a systemd testbed: config, systemctl start, live counters, reload, stop, nothing left (root)
	rm -rf $(DEMO_STATE)/stage
	$(MAKE) --no-print-directory install DESTDIR=$(abspath $(DEMO_STATE))/stage PREFIX=/usr >/dev/null
	TESTBED_STATE=$(DEMO_STATE) scripts/demo.sh
