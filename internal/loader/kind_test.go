package loader

import (
	"bytes"
	"slices"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/bpfunit/bpfunit/bpf"
	"github.com/bpfunit/bpfunit/internal/attach"
)

// TestKinds: every attach type has exactly one kernel half here, and every
// kernel half a descriptor; a type added to package attach without its
// loader file (or the reverse) fails here.
func TestKinds(t *testing.T) {
	for _, ty := range attach.All() {
		n := 0
		for _, k := range kinds {
			if k.Type == ty {
				n++
			}
		}
		if n != 1 {
			t.Errorf("Type=%s: %d kinds registered, want 1", ty.Name, n)
		}
	}
	for _, k := range kinds {
		if attach.Lookup(k.Name) != k.Type {
			t.Errorf("kind %s has no descriptor in package attach", k.Name)
		}
		if len(k.programs) == 0 || k.new == nil {
			t.Errorf("kind %s: programs and new are required", k.Name)
		}
	}
}

// TestValuesMatchAttach: the accepted values config checks are exactly
// the ones the attach functions translate.
func TestValuesMatchAttach(t *testing.T) {
	names := func(n int, name func(int) string) []string {
		s := make([]string, n)
		for i := range s {
			s[i] = name(i)
		}
		return s
	}
	for _, tc := range []struct {
		key       string
		got, want []string
	}{
		{"Mode", attach.XDP.Values["Mode"], names(len(xdpModes), func(i int) string { return xdpModes[i].name })},
		{"Family", attach.Netfilter.Values["Family"], names(len(nfFamilies), func(i int) string { return nfFamilies[i].name })},
		{"Hook", attach.Netfilter.Values["Hook"], names(len(nfHooks), func(i int) string { return nfHooks[i].name })},
	} {
		if !slices.Equal(tc.got, tc.want) {
			t.Errorf("%s=: descriptor accepts %v, attach translates %v", tc.key, tc.got, tc.want)
		}
	}
}

// TestFromSpec: every program of the committed objects gets the type its
// section means, and no program matches two types.
func TestFromSpec(t *testing.T) {
	want := map[string]attach.TypeName{
		"xdp_count": "xdp", "xdp_count_v2": "xdp", "xdp_entry": "xdp", "xdp_tail": "xdp", "xdp_bad": "xdp", "xdp_ok": "xdp",
		"tcx_ingress": "tcx", "tcx_egress": "tcx",
		"cgroup_egress": "cgroup", "cgroup_ingress": "cgroup",
		"tp_getpid": "tracepoint", "raw_tp_sys_enter": "raw_tracepoint", "tp_btf_sys_enter": "tp_btf",
		"fentry_openat": "fentry", "fexit_openat": "fexit", "lsm_file_open": "lsm",
		"kprobe_openat": "kprobe", "kretprobe_openat": "kretprobe",
		"uprobe_hit": "uprobe", "uretprobe_hit": "uretprobe",
		"nf_count": "netfilter",
	}
	for _, obj := range bpf.Names() {
		data, err := bpf.Object(obj)
		if err != nil {
			t.Fatal(err)
		}
		spec, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		for name, p := range spec.Programs {
			var matches []attach.TypeName
			for _, k := range kinds {
				if k.takes(p) {
					matches = append(matches, k.Name)
				}
			}
			if len(matches) != 1 || matches[0] != want[name] {
				t.Errorf("%s/%s (section %q): types %v, want [%s]", obj, name, p.SectionName, matches, want[name])
			}
			if got := kindFromSpec(p); got == nil || got.Name != want[name] {
				t.Errorf("kindFromSpec(%s/%s) = %v, want %s", obj, name, got, want[name])
			}
		}
	}
}

// TestKprobeTarget: Function= wins over the section, the section is the
// default, and neither is an error that names the fix.
func TestKprobeTarget(t *testing.T) {
	p := &ebpf.ProgramSpec{Name: "k", Type: ebpf.Kprobe, SectionName: "kprobe/do_sys_openat2", AttachTo: "do_sys_openat2"}
	for _, tc := range []struct {
		fn, attachTo, want string
	}{
		{"", "do_sys_openat2", "do_sys_openat2"},
		{"vfs_read", "do_sys_openat2", "vfs_read"},
	} {
		p.AttachTo = tc.attachTo
		a, err := kindOf("kprobe").new(&attach.Section{Function: tc.fn}, p)
		if err != nil {
			t.Fatal(err)
		}
		if a.target() != tc.want {
			t.Errorf("Function=%q, section target %q: target %q, want %q", tc.fn, tc.attachTo, a.target(), tc.want)
		}
	}
	p.AttachTo = ""
	if _, err := kindOf("kretprobe").new(&attach.Section{}, p); err == nil || !bytes.Contains([]byte(err.Error()), []byte("Function=")) {
		t.Errorf("no function anywhere: %v, want an error naming Function=", err)
	}
}
