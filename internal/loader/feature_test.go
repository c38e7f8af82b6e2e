package loader

import (
	"errors"
	"os"
	"testing"

	"github.com/bpfunit/bpfunit/internal/config"
)

func TestKernelHas(t *testing.T) {
	if _, err := os.Stat(vmlinuxBTF); err != nil {
		t.Skip("kernel has no BTF at", vmlinuxBTF)
	}
	found, known := kernelHas([]string{"BPF_LINK_TYPE_XDP", "BPF_LINK_TYPE_NO_SUCH_THING"})
	if !known {
		t.Fatal("kernel BTF present but not readable")
	}
	if !found["BPF_LINK_TYPE_XDP"] {
		t.Error("BPF_LINK_TYPE_XDP not found; every kernel with BTF since 5.9 has it")
	}
	if found["BPF_LINK_TYPE_NO_SUCH_THING"] {
		t.Error("found a name that no kernel has")
	}
}

func TestPreflightNamesFeatureAndVersion(t *testing.T) {
	if _, err := os.Stat(vmlinuxBTF); err != nil {
		t.Skip("kernel has no BTF at", vmlinuxBTF)
	}
	// A made-up feature stands in for one this kernel lacks.
	features["test-type"] = feature{"bpf_link_type", "BPF_LINK_TYPE_NO_SUCH_THING", "the imaginary link", "9.9"}
	defer delete(features, "test-type")
	err := Preflight([]*Attachment{{Type: "test-type"}, {Type: config.TypeXDP}})
	if !errors.Is(err, ErrUnsupported) {
		t.Fatalf("Preflight = %v, want ErrUnsupported", err)
	}
	want := "test-type needs the imaginary link (Linux ≥ 9.9); this kernel is " + kernelRelease() + ": not supported by this kernel"
	if err.Error() != want {
		t.Fatalf("Preflight error\n got %q\nwant %q", err, want)
	}
}
