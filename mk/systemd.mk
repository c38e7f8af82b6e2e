# systemd.mk — installing the binaries and units, and the systemd testbed.
# Included by the top Makefile.
#
#   make install DESTDIR=/tmp/stage PREFIX=/usr
#
# Binaries go where systemd and the units expect them (bpf@.service runs
# $(LIBEXECDIR)/bpfunit-oneshot; the generator must be in a
# system-generators directory). Man pages and completions are built by
# mk/packaging.mk.

# Every install path, in one place. Distributions override any of them:
#   make install DESTDIR=/tmp/stage PREFIX=/usr UNITDIR=/lib/systemd/system
# (bpf.mk's BPF_OBJDIR is $(PREFIX)/lib/bpfunit/objects: the config search
# path looks in /usr/lib/bpfunit whatever the distribution's libdir.)
BINDIR            ?= $(PREFIX)/bin
LIBEXECDIR        ?= $(PREFIX)/libexec/bpfunit
SYSTEMDDIR        ?= $(PREFIX)/lib/systemd
UNITDIR           ?= $(SYSTEMDDIR)/system
GENERATORDIR      ?= $(SYSTEMDDIR)/system-generators
DATADIR           ?= $(PREFIX)/share
DBUSPOLICYDIR     ?= $(DATADIR)/dbus-1/system.d
DBUSSVCDIR        ?= $(DATADIR)/dbus-1/system-services
POLKITDIR         ?= $(DATADIR)/polkit-1/actions
MANDIR            ?= $(DATADIR)/man
BASHCOMPDIR       ?= $(DATADIR)/bash-completion/completions
ZSHCOMPDIR        ?= $(DATADIR)/zsh/vendor-completions
FISHCOMPDIR       ?= $(DATADIR)/fish/vendor_completions.d
COCKPITDIR        ?= $(DATADIR)/cockpit/bpfunit

# The commands that have sources (an empty cmd/X is work in progress).
INSTALL_CMDS  := $(sort $(notdir $(patsubst %/,%,$(dir $(wildcard cmd/*/*.go)))))
# Where each binary goes; anything not named here is a helper in libexec.
bindir_bpfunit           := $(BINDIR)
bindir_bpfunit-generator := $(GENERATORDIR)

UNIT_FILES    := $(wildcard units/*.service units/*.socket units/*.target units/*.mount)
DBUS_POLICY   := $(wildcard units/*.conf)
DBUS_SERVICES := $(wildcard units/*.dbus-service)
POLKIT_FILES  := $(wildcard units/*.policy)
COCKPIT_FILES := $(filter-out %.md,$(wildcard cockpit/bpfunit/*))

TESTBED       := scripts/testbed/testbed.sh
TESTBED_STATE ?= /tmp/bpfunit-testbed

.PHONY: install install-bin install-units install-man install-completions install-cockpit uninstall testbed-shell testbed-test verify-units

install: build install-bin install-units install-objects install-man install-completions install-cockpit ## install binaries, units, D-Bus/polkit files, BPF objects, man pages, completions, the Cockpit page into $(DESTDIR)$(PREFIX)

install-bin: ## install the binaries built by `make build`
	@set -e; for c in $(INSTALL_CMDS); do \
		case $$c in \
		bpfunit) d='$(DESTDIR)$(bindir_bpfunit)' ;; \
		bpfunit-generator) d='$(DESTDIR)$(bindir_bpfunit-generator)' ;; \
		*) d='$(DESTDIR)$(LIBEXECDIR)' ;; \
		esac; \
		echo "install -m 0755 $(BIN)/$$c $$d/$$c"; \
		install -D -m 0755 $(BIN)/$$c "$$d/$$c"; \
	done

# The units and the D-Bus service files name /usr/libexec/bpfunit and
# /usr/bin; installed, they name LIBEXECDIR and BINDIR.
UNIT_SED := sed -e 's|/usr/libexec/bpfunit/|$(LIBEXECDIR)/|g' -e 's|/usr/bin/bpfunit|$(BINDIR)/bpfunit|g'

install-units: ## install the systemd units, D-Bus service and policy files, polkit actions
	install -d -m 0755 $(DESTDIR)$(UNITDIR)
	@set -e; for f in $(UNIT_FILES); do \
		echo "install -m 0644 $$f $(DESTDIR)$(UNITDIR)/"; \
		$(UNIT_SED) $$f >$(DESTDIR)$(UNITDIR)/$$(basename $$f).tmp; \
		chmod 0644 $(DESTDIR)$(UNITDIR)/$$(basename $$f).tmp; \
		mv $(DESTDIR)$(UNITDIR)/$$(basename $$f).tmp $(DESTDIR)$(UNITDIR)/$$(basename $$f); \
	done
	$(if $(DBUS_POLICY),install -D -m 0644 -t $(DESTDIR)$(DBUSPOLICYDIR) $(DBUS_POLICY))
	@set -e; for f in $(DBUS_SERVICES); do \
		b=$$(basename $$f .dbus-service); \
		echo "install -m 0644 $$f $(DESTDIR)$(DBUSSVCDIR)/$$b.service"; \
		install -d -m 0755 $(DESTDIR)$(DBUSSVCDIR); \
		$(UNIT_SED) $$f >$(DESTDIR)$(DBUSSVCDIR)/$$b.service; \
		chmod 0644 $(DESTDIR)$(DBUSSVCDIR)/$$b.service; \
	done
	$(if $(POLKIT_FILES),install -D -m 0644 -t $(DESTDIR)$(POLKITDIR) $(POLKIT_FILES))

install-man: man ## install the man pages built by `make man`
	@set -e; for f in $(MAN_PAGES); do \
		n=$$(basename $$f); s=$${n##*.}; \
		echo "install -m 0644 $$f $(DESTDIR)$(MANDIR)/man$$s/$$n"; \
		install -D -m 0644 $$f $(DESTDIR)$(MANDIR)/man$$s/$$n; \
	done

install-completions: completions ## install the bash, zsh and fish completions
	install -D -m 0644 $(BIN)/completions/bpfunit.bash $(DESTDIR)$(BASHCOMPDIR)/bpfunit
	install -D -m 0644 $(BIN)/completions/_bpfunit $(DESTDIR)$(ZSHCOMPDIR)/_bpfunit
	install -D -m 0644 $(BIN)/completions/bpfunit.fish $(DESTDIR)$(FISHCOMPDIR)/bpfunit.fish

install-cockpit: ## install the Cockpit page (cockpit/bpfunit/), when the tree has it
	$(if $(COCKPIT_FILES),install -D -m 0644 -t $(DESTDIR)$(COCKPITDIR) $(COCKPIT_FILES))

uninstall: ## remove what `make install` installed
	rm -f $(foreach c,$(INSTALL_CMDS),$(DESTDIR)$(or $(bindir_$(c)),$(LIBEXECDIR))/$(c))
	rm -f $(addprefix $(DESTDIR)$(UNITDIR)/,$(notdir $(UNIT_FILES)))
	rm -f $(addprefix $(DESTDIR)$(DBUSPOLICYDIR)/,$(notdir $(DBUS_POLICY)))
	rm -f $(patsubst %.dbus-service,$(DESTDIR)$(DBUSSVCDIR)/%.service,$(notdir $(DBUS_SERVICES)))
	rm -f $(addprefix $(DESTDIR)$(POLKITDIR)/,$(notdir $(POLKIT_FILES)))
	rm -f $(foreach f,$(MAN_PAGES),$(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(f)))/$(notdir $(f)))
	rm -f $(DESTDIR)$(BASHCOMPDIR)/bpfunit $(DESTDIR)$(ZSHCOMPDIR)/_bpfunit $(DESTDIR)$(FISHCOMPDIR)/bpfunit.fish
	rm -rf $(DESTDIR)$(COCKPITDIR)
	rm -f $(addprefix $(DESTDIR)$(BPF_OBJDIR)/,$(addsuffix .bpf.o,$(BPF_OBJECTS)))

verify-units: ## systemd-analyze verify every unit, inside a testbed with the tree installed (root)
	flock $(TESTLOCK) $(GO) test -count=1 -run 'TestUnitsVerify' ./internal/generator/

testbed-test: ## test the testbed itself and the units/generator in it (root)
	$(GOTEST) ./internal/testenv/testbed/ ./internal/generator/

testbed-shell: ## boot a testbed with the tree installed and open a shell in it (root)
	rm -rf $(TESTBED_STATE)/stage
	$(MAKE) --no-print-directory install DESTDIR=$(abspath $(TESTBED_STATE))/stage PREFIX=/usr
	TESTBED_STATE=$(TESTBED_STATE) TESTBED_STAGE=$(abspath $(TESTBED_STATE))/stage $(TESTBED) start
	-TESTBED_STATE=$(TESTBED_STATE) $(TESTBED) sh
	TESTBED_STATE=$(TESTBED_STATE) $(TESTBED) stop
