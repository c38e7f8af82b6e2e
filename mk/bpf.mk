# bpf.mk — the project's own BPF objects (bpf/). Included by the top Makefile.
#
# The generated bpf/*_bpfel.o and bpf/*_bpfel.go are committed, so `make build`
# and `make install-objects` need no clang; only `make generate` does.

BPF_OBJDIR  := $(PREFIX)/lib/bpfunit/objects
BPF_OBJECTS := $(patsubst bpf/%_bpfel.o,%,$(wildcard bpf/*_bpfel.o))

.PHONY: generate generate-check install-objects

generate: ## regenerate bpf/*_bpfel.{o,go} from bpf/*.c (needs clang, llvm, libbpf-dev)
	@command -v clang >/dev/null || { echo "generate: clang not found (apt-get install -y clang llvm libbpf-dev)"; exit 1; }
	$(GO) generate ./bpf/...

generate-check: generate ## fail if the committed BPF objects are not what bpf/*.c compiles to
	@git diff --exit-code --stat -- bpf/ || { echo "bpf/: generated files differ from the committed ones; commit them"; exit 1; }

install-objects: ## install the BPF objects as $(DESTDIR)$(PREFIX)/lib/bpfunit/objects/NAME.bpf.o
	install -d -m 0755 $(DESTDIR)$(BPF_OBJDIR)
	@set -e; for o in $(BPF_OBJECTS); do \
		echo "install -m 0644 bpf/$${o}_bpfel.o $(DESTDIR)$(BPF_OBJDIR)/$$o.bpf.o"; \
		install -m 0644 bpf/$${o}_bpfel.o $(DESTDIR)$(BPF_OBJDIR)/$$o.bpf.o; \
	done
