# vm.mk — the kernel matrix: the test suite under other kernels, in qemu VMs.
# Included by the top Makefile. See docs/kernels.md and scripts/vm/.
#
#   make vm-deps vm-kernels      once (root; kernels go to /var/cache/bpfunit-vm)
#   make test-kernels            the suite under every kernel of scripts/vm/kernels
#   make test-kernels KERNELS=linux-image-amd64 PKGS=./internal/manager/
#   make test-vm VM_KERNEL=linux-image-6.12-amd64 PKGS=./internal/manager/

VM_SCRIPTS := scripts/vm
KERNELS    ?= $(shell sed -e 's/\#.*//' $(VM_SCRIPTS)/kernels)
VM_KERNEL  ?= linux-image-amd64
PKGS       ?= ./...

.PHONY: vm-deps vm-kernels test-kernels test-vm

vm-deps: ## install what the VM runner needs (the vm group of scripts/deps.list: qemu-system-x86, busybox-static, ...)
	@scripts/deps.sh vm

vm-kernels: ## download and extract the matrix's Debian kernels into /var/cache/bpfunit-vm
	@set -e; for k in $(filter-out host,$(KERNELS)); do $(VM_SCRIPTS)/fetch-kernel.sh $$k; done

test-kernels: build ## run the test suite under every kernel of scripts/vm/kernels; prints a table
	KERNELS="$(KERNELS)" GO="$(GO)" $(VM_SCRIPTS)/test-kernels.sh $(PKGS)

test-vm: build ## run the test suite in a VM under one kernel: VM_KERNEL=PACKAGE (linux-image-amd64)
	VM_KERNEL_DIR=$$($(VM_SCRIPTS)/fetch-kernel.sh $(VM_KERNEL)) \
		$(GO) test -p 1 -count=1 -timeout 30m -exec $(CURDIR)/$(VM_SCRIPTS)/run-in-vm.sh $(PKGS)
