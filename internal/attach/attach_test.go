package attach

import (
	"slices"
	"testing"
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
		if ty.Program == "" || ty.Link == "" || ty.PinTarget == "" {
			t.Errorf("%s: Program, Link and PinTarget are required", ty.Name)
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
