# deps.mk — what the targets need besides Go and make, installed by
# scripts/deps.sh from the list in scripts/deps.list (Debian: apt-get;
# elsewhere it names the missing packages and stops).
#
#   make deps                              everything (base test vm)
#   make deps DEPS_GROUPS=base             what demo and bench need
#   BPFUNIT_DEPS_DRY_RUN=1 make deps       show what apt-get would install
#
# `make test`, `make demo`, `make bench` and `make test-kernels` run it
# first, each with the groups it needs (target-specific DEPS_GROUPS, which
# their `deps` prerequisite inherits).

DEPS_GROUPS ?= base test vm

.PHONY: deps
deps: ## install the missing Debian packages the tests, demo and benchmarks need (root; see scripts/deps.list)
	@scripts/deps.sh $(DEPS_GROUPS)

demo bench: DEPS_GROUPS = base
test-kernels test-vm: DEPS_GROUPS = base vm
test-kernels test-vm: deps
vm-kernels: DEPS_GROUPS = vm
vm-kernels: deps
