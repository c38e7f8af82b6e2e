package loader

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"github.com/bpfunit/bpfunit/internal/attach"
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

// TestPreflightAllTypes runs Preflight over every attach type and checks
// its verdict per type against a plain search of the whole BTF file: a
// type fails exactly when one of its features' names is missing, with the
// first missing feature, and every failure matches ErrUnsupported.
func TestPreflightAllTypes(t *testing.T) {
	btf, err := os.ReadFile(vmlinuxBTF)
	if err != nil {
		t.Skip("kernel has no BTF:", err)
	}
	var plan []*Attachment
	want := map[config.AttachType]attach.Feature{}
	for _, k := range attach.All() {
		plan = append(plan, &Attachment{Type: k.Name})
		for _, f := range k.Needs {
			if !bytes.Contains(btf, []byte("\x00"+f.BTF+"\x00")) {
				want[k.Name] = f
				break
			}
		}
	}
	err = Preflight(plan)
	if len(want) == 0 {
		if err != nil {
			t.Fatalf("Preflight = %v; this kernel has every feature", err)
		}
		return
	}
	if !errors.Is(err, ErrUnsupported) {
		t.Fatalf("Preflight = %v, want ErrUnsupported for %v", err, want)
	}
	got := map[config.AttachType]attach.Feature{}
	var errs []error
	if m, ok := err.(multiError); ok {
		errs = m
	} else {
		errs = []error{err}
	}
	for _, e := range errs {
		var ue *UnsupportedError
		if !errors.As(e, &ue) {
			t.Fatalf("Preflight error %v is not an *UnsupportedError", e)
		}
		got[ue.Type] = ue.Feature
	}
	if len(got) != len(want) {
		t.Fatalf("Preflight refused %v, want %v", got, want)
	}
	for typ, f := range want {
		if got[typ] != f {
			t.Errorf("Type=%s: Preflight blames %+v, want %+v", typ, got[typ], f)
		}
	}
	t.Logf("this kernel lacks: %v", err)
}

func TestUnsupportedErrorMessage(t *testing.T) {
	for _, tc := range []struct {
		err  *UnsupportedError
		want string
	}{
		{&UnsupportedError{Type: "tcx", Feature: attach.TCX.Needs[0], Release: "6.1.0-57-amd64"},
			"Type=tcx needs the tcx bpf_link, new in Linux 6.6; this kernel is 6.1.0-57-amd64"},
		{&UnsupportedError{Type: "kprobe", Feature: attach.Kprobe.Needs[0], Release: "6.18.44-fc"},
			"Type=kprobe needs kprobes, and this kernel (6.18.44-fc) was built without them (CONFIG_KPROBES)"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("got  %q\nwant %q", got, tc.want)
		}
		if !errors.Is(tc.err, ErrUnsupported) {
			t.Errorf("%q does not match ErrUnsupported", tc.err)
		}
	}
}
