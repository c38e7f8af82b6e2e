package attach

import (
	"bytes"
	"slices"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/bpfunit/bpfunit/bpf"
)

// TestDescriptors checks what every descriptor must have, so a new type
// that forgets a fact fails here rather than in a message.
func TestDescriptors(t *testing.T) {
	seen := map[TypeName]bool{}
	for i, ty := range All() {
		if ty.Name == "" || seen[ty.Name] {
			t.Errorf("type %d: name %q empty or taken", i, ty.Name)
		}
		seen[ty.Name] = true
		if i > 0 && All()[i-1].Rank >= ty.Rank {
			t.Errorf("%s: rank %d not above %s's", ty.Name, ty.Rank, All()[i-1].Name)
		}
		if len(ty.Programs) == 0 || ty.Program == "" || ty.New == nil || ty.Link == "" || ty.PinTarget == "" {
			t.Errorf("%s: Programs, Program, New, Link and PinTarget are required", ty.Name)
		}
		if len(ty.Needs) == 0 {
			t.Errorf("%s: no kernel feature named", ty.Name)
		}
		for _, f := range ty.Needs {
			if f.BTF == "" || f.What == "" || (f.Since == "") == (f.Option == "") {
				t.Errorf("%s: feature %+v needs BTF, What, and one of Since and Option", ty.Name, f)
			}
		}
		for _, k := range ty.Required {
			if !ty.Takes(k) {
				t.Errorf("%s: requires %s= but does not take it", ty.Name, k)
			}
		}
		for k := range ty.Values {
			if !ty.Takes(k) {
				t.Errorf("%s: values for %s= but does not take it", ty.Name, k)
			}
		}
		if Lookup(ty.Name) != ty {
			t.Errorf("Lookup(%s) is not its descriptor", ty.Name)
		}
	}
	if Lookup("no-such-type") != nil {
		t.Error("Lookup of an unknown name found something")
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
		{"Mode", XDP.Values["Mode"], names(len(xdpModes), func(i int) string { return xdpModes[i].name })},
		{"Family", Netfilter.Values["Family"], names(len(nfFamilies), func(i int) string { return nfFamilies[i].name })},
		{"Hook", Netfilter.Values["Hook"], names(len(nfHooks), func(i int) string { return nfHooks[i].name })},
	} {
		if !slices.Equal(tc.got, tc.want) {
			t.Errorf("%s=: descriptor accepts %v, attach translates %v", tc.key, tc.got, tc.want)
		}
	}
}

// TestFromSpec: every program of the committed objects gets the type its
// section means, and no program matches two types.
func TestFromSpec(t *testing.T) {
	want := map[string]TypeName{
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
			var matches []TypeName
			for _, ty := range All() {
				if slices.Contains(ty.Programs, p.Type) && (ty.FromSection == nil || ty.FromSection(p)) {
					matches = append(matches, ty.Name)
				}
			}
			if len(matches) != 1 || matches[0] != want[name] {
				t.Errorf("%s/%s (section %q): types %v, want [%s]", obj, name, p.SectionName, matches, want[name])
			}
			if got := FromSpec(p); got == nil || got.Name != want[name] {
				t.Errorf("FromSpec(%s/%s) = %v, want %s", obj, name, got, want[name])
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
		a, err := Kprobe.New(&Section{Function: tc.fn}, p)
		if err != nil {
			t.Fatal(err)
		}
		if a.Target() != tc.want {
			t.Errorf("Function=%q, section target %q: target %q, want %q", tc.fn, tc.attachTo, a.Target(), tc.want)
		}
	}
	p.AttachTo = ""
	if _, err := Kretprobe.New(&Section{}, p); err == nil || !bytes.Contains([]byte(err.Error()), []byte("Function=")) {
		t.Errorf("no function anywhere: %v, want an error naming Function=", err)
	}
}

// TestDeps: the generator's dependencies per type.
func TestDeps(t *testing.T) {
	udev := DepEnv{Udev: true}
	for _, tc := range []struct {
		ty   *Type
		s    Section
		env  DepEnv
		want Deps
	}{
		{XDP, Section{Interface: "eth0"}, udev, Deps{BindsTo: []string{"sys-subsystem-net-devices-eth0.device"}, After: []string{"sys-subsystem-net-devices-eth0.device"}}},
		{XDP, Section{Interface: "eth0"}, DepEnv{}, Deps{}},
		{TCX, Section{Interface: "eth0", Namespace: "ns"}, udev, Deps{}},
		{Cgroup, Section{Cgroup: "nginx.service"}, udev, Deps{Wants: []string{"nginx.service"}, PartOf: []string{"nginx.service"}, After: []string{"nginx.service"}}},
		{Cgroup, Section{Cgroup: "user.slice"}, udev, Deps{Wants: []string{"user.slice"}, After: []string{"user.slice"}}},
		{Cgroup, Section{Cgroup: "/sys/fs/cgroup/x"}, udev, Deps{}},
		{Tracepoint, Section{}, udev, Deps{Mounts: []string{Tracefs}}},
		{Uprobe, Section{Binary: "/bin/bash"}, udev, Deps{Mounts: []string{Tracefs, "/bin/bash"}}},
		{Kprobe, Section{}, udev, Deps{Mounts: []string{Tracefs}}},
	} {
		var got Deps
		if tc.ty.Deps != nil {
			got = tc.ty.Deps(&tc.s, tc.env)
		}
		if !slices.Equal(got.Mounts, tc.want.Mounts) || !slices.Equal(got.Wants, tc.want.Wants) || !slices.Equal(got.BindsTo, tc.want.BindsTo) ||
			!slices.Equal(got.PartOf, tc.want.PartOf) || !slices.Equal(got.After, tc.want.After) {
			t.Errorf("%s %+v: deps %+v, want %+v", tc.ty.Name, tc.s, got, tc.want)
		}
	}
}
