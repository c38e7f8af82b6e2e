# systemd.mk — installing the binaries and units, and the systemd testbed.
# Included by the top Makefile.
#
#   make install DESTDIR=/tmp/stage PREFIX=/usr
#
# Binaries go where systemd and the units expect them (bpf@.service runs
# $(PREFIX)/libexec/bpfunit/bpfunit-oneshot; the generator must be in a
# system-generators directory).

UNITDIR       := $(PREFIX)/lib/systemd/system
GENERATORDIR  := $(PREFIX)/lib/systemd/system-generators
LIBEXECDIR    := $(PREFIX)/libexec/bpfunit
BINDIR        := $(PREFIX)/bin
DBUSPOLICYDIR := $(PREFIX)/share/dbus-1/system.d
DBUSSVCDIR    := $(PREFIX)/share/dbus-1/system-services
POLKITDIR     := $(PREFIX)/share/polkit-1/actions

# The commands that have sources (an empty cmd/X is work in progress).
INSTALL_CMDS  := $(sort $(notdir $(patsubst %/,%,$(dir $(wildcard cmd/*/*.go)))))
# Where each binary goes; anything not named here is a helper in libexec.
bindir_bpfunit           := $(BINDIR)
bindir_bpfunit-generator := $(GENERATORDIR)

UNIT_FILES    := $(wildcard units/*.service units/*.socket units/*.target units/*.mount)
DBUS_POLICY   := $(wildcard units/*.conf)
DBUS_SERVICES := $(wildcard units/*.dbus-service)
POLKIT_FILES  := $(wildcard units/*.policy)

TESTBED       := scripts/testbed/testbed.sh
TESTBED_STATE ?= /tmp/bpfunit-testbed

.PHONY: install install-bin install-units uninstall testbed-shell testbed-test verify-units

install: build install-bin install-units install-objects ## install binaries, units and BPF objects into $(DESTDIR)$(PREFIX)

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

install-units: ## install the systemd units (and D-Bus/polkit files, when units/ has any)
	install -d -m 0755 $(DESTDIR)$(UNITDIR)
	install -m 0644 $(UNIT_FILES) $(DESTDIR)$(UNITDIR)/
	$(if $(DBUS_POLICY),install -D -m 0644 -t $(DESTDIR)$(DBUSPOLICYDIR) $(DBUS_POLICY))
	@set -e; for f in $(DBUS_SERVICES); do \
		b=$$(basename $$f .dbus-service); \
		echo "install -m 0644 $$f $(DESTDIR)$(DBUSSVCDIR)/$$b.service"; \
		install -D -m 0644 $$f $(DESTDIR)$(DBUSSVCDIR)/$$b.service; \
	done
	$(if $(POLKIT_FILES),install -D -m 0644 -t $(DESTDIR)$(POLKITDIR) $(POLKIT_FILES))

uninstall: ## remove what `make install` installed (not the BPF objects)
	rm -f $(foreach c,$(INSTALL_CMDS),$(DESTDIR)$(or $(bindir_$(c)),$(LIBEXECDIR))/$(c))
	rm -f $(addprefix $(DESTDIR)$(UNITDIR)/,$(notdir $(UNIT_FILES)))

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
