package attach

// TCX is Type=tcx.
var TCX = &Type{
	Name:      "tcx",
	Rank:      20,
	Keys:      []string{"Interface", "Namespace", "Direction", "Order"},
	Required:  []string{"Interface"},
	Values:    map[string][]string{"Direction": {"ingress", "egress"}},
	Program:   "a tc/tcx program",
	Needs:     []Feature{{BTF: "BPF_LINK_TYPE_TCX", What: "the tcx bpf_link", Since: "6.6"}},
	Updatable: true,
	Link:      "BPF_LINK_TYPE_TCX",
	PinTarget: "IFACE:DIRECTION, NETNS/IFACE:DIRECTION",
	Deps: func(s *Section, env DepEnv) Deps {
		return deviceDeps(s.Interface, s.Namespace, env)
	},
}

func init() { register(TCX) }
