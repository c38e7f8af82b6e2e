package loader

import (
	"bytes"
	"errors"
	"testing"

	"github.com/bpfunit/bpfunit/bpf"
	"github.com/bpfunit/bpfunit/internal/config"
)

func readObject(t *testing.T, name string) *Spec {
	t.Helper()
	data, err := bpf.Object(name)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := ReadSpec(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

// TestPlanMessages: a Type= that does not fit the program says, in words,
// what the type needs and what the program is.
func TestPlanMessages(t *testing.T) {
	for _, tc := range []struct {
		obj  string
		a    config.Attach
		want string
	}{
		{"xdp_counter", config.Attach{Program: "xdp_count", Type: "tcx", Interface: "lo"},
			`u.bpfunit:3: [Attach] Program=xdp_count: Type=tcx needs a tc/tcx program; xdp_count (section "xdp") is an XDP program`},
		{"tcx_counter", config.Attach{Program: "tcx_ingress", Type: "xdp", Interface: "lo"},
			`u.bpfunit:3: [Attach] Program=tcx_ingress: Type=xdp needs an XDP program; tcx_ingress (section "tcx/ingress") is a tc/tcx program`},
		{"kprobe_counter", config.Attach{Program: "kprobe_openat", Type: "uprobe", Binary: "/bin/sh", Symbol: "main"},
			`u.bpfunit:3: [Attach] Program=kprobe_openat: Type=uprobe, but section "kprobe/do_sys_openat2" makes kprobe_openat a kprobe program`},
		{"kprobe_counter", config.Attach{Program: "kretprobe_openat", Type: "kprobe"},
			`u.bpfunit:3: [Attach] Program=kretprobe_openat: Type=kprobe, but section "kretprobe/do_sys_openat2" makes kretprobe_openat a kretprobe program`},
		{"trace_counter", config.Attach{Program: "tp_getpid", Type: "kprobe", Function: "x"},
			`u.bpfunit:3: [Attach] Program=tp_getpid: Type=kprobe needs a kprobe program; tp_getpid (section "tracepoint/syscalls/sys_enter_getpid") is a tracepoint program`},
	} {
		tc.a.File, tc.a.Line = "u.bpfunit", 3
		u := &config.Unit{Name: "u", Attach: []config.Attach{tc.a}}
		_, err := Plan(u, readObject(t, tc.obj))
		if err == nil || err.Error() != tc.want {
			t.Errorf("Plan:\n got %v\nwant %s", err, tc.want)
		}
		if !errors.Is(err, config.ErrInvalidUnit) {
			t.Errorf("%v is not a config error", err)
		}
	}
}

// TestPlanKprobe: Function= or the section names the function, the pin is
// PROGRAM@FUNCTION, and the link cannot be updated.
func TestPlanKprobe(t *testing.T) {
	u := &config.Unit{Name: "u", Attach: []config.Attach{
		{Program: "kprobe_openat", Type: "kprobe", Function: "vfs_open"},
		{Program: "kretprobe_openat"},
	}}
	plan, err := Plan(u, readObject(t, "kprobe_counter"))
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []struct{ typ, pin string }{
		{"kprobe", "kprobe_openat@vfs_open"},
		{"kretprobe", "kretprobe_openat@do_sys_openat2"},
	} {
		if a := plan[i]; string(a.Type) != want.typ || a.PinName != want.pin || a.Updatable() {
			t.Errorf("attachment %d: %s %s updatable=%v, want %s %s not updatable", i, a.Type, a.PinName, a.Updatable(), want.typ, want.pin)
		}
	}
}
