# packaging.mk — man pages, shell completions, Debian and RPM packages.
# Included by the top Makefile. See packaging/README.md and docs/packaging.md.
#
#   make man man-check     docs/man/*.md -> bin/man/NAME.SECTION, rendered by man(1) without a warning
#   make completions       bin/completions/{bpfunit.bash,_bpfunit,bpfunit.fish}, from the built CLI
#   make deb               ../build/deb/*.deb (dpkg-buildpackage)
#   make rpm               ../build/rpm/RPMS/*/*.rpm (rpmbuild -bb)

# go-md2man turns the Markdown man pages into roff at build time; `go run`
# with a version takes it from the module cache (no go.mod dependency).
MD2MAN_VERSION ?= v2.0.7
MD2MAN         ?= $(GO) run github.com/cpuguy83/go-md2man/v2@$(MD2MAN_VERSION)
MAN_SOURCES    := $(wildcard docs/man/*.md)
MAN_PAGES      := $(patsubst docs/man/%.md,$(BIN)/man/%,$(MAN_SOURCES))

.PHONY: man man-check completions

man: $(MAN_PAGES) ## build the man pages (docs/man/*.md -> bin/man/, with go-md2man)

# bpfunit.bpfunit.5 includes docs/config.md (internal/mangen).
$(BIN)/man/%: docs/man/%.md docs/config.md $(wildcard internal/mangen/*.go)
	@mkdir -p $(BIN)/man
	$(GO) run ./internal/mangen/cmd/mangen $< | $(MD2MAN) >$@.tmp
	@mv $@.tmp $@

man-check: man ## render every man page with `man --warnings`: fails on any warning
	@set -e; for p in $(MAN_PAGES); do \
		w=$$(MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -E UTF-8 -l $$p 2>&1 >/dev/null); \
		if [ -n "$$w" ]; then echo "$$p:"; echo "$$w"; exit 1; fi; \
	done; echo "man-check: $(words $(MAN_PAGES)) pages render without a warning"

completions: build ## generate the shell completions with the built CLI (bpfunit completion SHELL)
	@mkdir -p $(BIN)/completions
	$(BIN)/bpfunit completion bash >$(BIN)/completions/bpfunit.bash
	$(BIN)/bpfunit completion zsh >$(BIN)/completions/_bpfunit
	$(BIN)/bpfunit completion fish >$(BIN)/completions/bpfunit.fish
