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

# Packages are built in a copy of the tree (every file git knows or would
# add) under build/, with packaging/debian as debian/. The Go caches are the
# caller's, so the package's `make build` reuses them.
PKG_BUILD    ?= build
DEB_VERSION  ?=
GO_ENV        = GOCACHE=$$($(GO) env GOCACHE) GOMODCACHE=$$($(GO) env GOMODCACHE) GOPATH=$$($(GO) env GOPATH) GOFLAGS=-buildvcs=false GOTOOLCHAIN=$$($(GO) env GOTOOLCHAIN)

.PHONY: deb deb-lintian example-deb rpm pkg-tree

pkg-tree:
	rm -rf $(PKG_BUILD)/src
	mkdir -p $(PKG_BUILD)/src/bpfunit
	{ git ls-files -z -co --exclude-standard 2>/dev/null || \
		find . -path ./.git -prune -o -path ./bin -prune -o -path ./build -prune -o -type f -printf '%P\0'; } | \
		grep -zv '^cockpit/test/node_modules/' | xargs -0 cp --parents -t $(PKG_BUILD)/src/bpfunit

deb: pkg-tree ## build the Debian packages into build/deb/ (dpkg-buildpackage; DEB_VERSION= sets another version)
	@command -v dpkg-buildpackage >/dev/null && command -v dh >/dev/null || { echo "deb: needs dpkg-dev and debhelper (make deps)"; exit 1; }
	cp -r packaging/debian $(PKG_BUILD)/src/bpfunit/debian
	$(if $(DEB_VERSION),cd $(PKG_BUILD)/src/bpfunit && { \
		printf 'bpfunit ($(DEB_VERSION)) unstable; urgency=medium\n\n  * Local build.\n\n -- bpfunit developers <bpfunit@example.org>  %s\n\n' "$$(date -R)"; \
		cat debian/changelog; } >debian/changelog.new && mv debian/changelog.new debian/changelog)
	cd $(PKG_BUILD)/src/bpfunit && $(GO_ENV) PATH=$(dir $(shell command -v $(GO))):$$PATH \
		dpkg-buildpackage -b -us -uc -d --no-sign >../deb.log 2>&1 || { tail -30 ../deb.log; exit 1; }
	rm -rf $(PKG_BUILD)/deb && mkdir -p $(PKG_BUILD)/deb
	mv $(PKG_BUILD)/src/*.deb $(PKG_BUILD)/deb/
	rm -f $(PKG_BUILD)/src/*.buildinfo $(PKG_BUILD)/src/*.changes
	@ls $(PKG_BUILD)/deb/

deb-lintian: deb example-deb ## build the Debian packages (and the example) and run lintian on them: fails on an error
	lintian --fail-on error $(PKG_BUILD)/deb/*.deb

example-deb: ## build the packager's example (packaging/example-package) into build/deb/
	rm -rf $(PKG_BUILD)/example && mkdir -p $(PKG_BUILD)/example $(PKG_BUILD)/deb
	cp -r packaging/example-package $(PKG_BUILD)/example/bpfunit-example-syscount
	cp bpf/trace_counter_bpfel.o $(PKG_BUILD)/example/bpfunit-example-syscount/syscount.bpf.o
	cd $(PKG_BUILD)/example/bpfunit-example-syscount && \
		dpkg-buildpackage -b -us -uc -d --no-sign >../build.log 2>&1 || { tail -30 ../build.log; exit 1; }
	mv $(PKG_BUILD)/example/*.deb $(PKG_BUILD)/deb/

RPM_VERSION ?= 0.1.0

rpm: pkg-tree ## build the RPM packages into build/rpm/ (rpmbuild -bb, in a copy of the tree)
	@command -v rpmbuild >/dev/null || { echo "rpm: needs rpmbuild (the rpm package: make deps)"; exit 1; }
	rm -rf $(PKG_BUILD)/rpm && mkdir -p $(PKG_BUILD)/rpm
	cd $(PKG_BUILD)/src/bpfunit && $(GO_ENV) GO=$(shell command -v $(GO)) \
		rpmbuild -bb --build-in-place --define "_topdir $(abspath $(PKG_BUILD))/rpm" \
		--define "version_override $(RPM_VERSION)" --nodeps packaging/rpm/bpfunit.spec \
		>../rpm.log 2>&1 || { tail -30 ../rpm.log; exit 1; }
	@find $(PKG_BUILD)/rpm/RPMS -name '*.rpm'
