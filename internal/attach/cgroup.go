package attach

import "strings"

// Cgroup is Type=cgroup.
var Cgroup = &Type{
	Name:     "cgroup",
	Rank:     30,
	Keys:     []string{"Cgroup"},
	Required: []string{"Cgroup"},
	Program:  "a cgroup program (cgroup_skb, cgroup/sock, sockops, ...)",
	Needs:    []Feature{{BTF: "BPF_LINK_TYPE_CGROUP", What: "the cgroup bpf_link", Since: "5.7"}},
	// BPF_LINK_UPDATE works on cgroup links.
	Updatable: true,
	Link:      "BPF_LINK_TYPE_CGROUP",
	PinTarget: "CGROUP",
	Deps: func(s *Section, _ DepEnv) Deps {
		owner, ok := cgroupOwner(s.Cgroup)
		if !ok {
			return Deps{}
		}
		d := Deps{Wants: []string{owner}, After: []string{owner}}
		if !strings.HasSuffix(owner, ".slice") {
			// A restart of the owner makes a new cgroup: follow it.
			d.PartOf = []string{owner}
		}
		return d
	},
}

func init() { register(Cgroup) }

// cgroupOwner returns the unit whose cgroup Cgroup= names, if it names a
// unit rather than a cgroup path.
func cgroupOwner(cg string) (string, bool) {
	if cg == "" || strings.Contains(cg, "/") {
		return "", false
	}
	for _, suffix := range []string{".service", ".slice", ".scope"} {
		if strings.HasSuffix(cg, suffix) && len(cg) > len(suffix) {
			return cg, true
		}
	}
	return "", false
}
