package attach

// XDP is Type=xdp.
var XDP = &Type{
	Name:      "xdp",
	Rank:      10,
	Keys:      []string{"Interface", "Namespace", "Mode"},
	Required:  []string{"Interface"},
	Values:    map[string][]string{"Mode": {"native", "generic", "auto"}},
	Program:   "an XDP program",
	Needs:     []Feature{{BTF: "BPF_LINK_TYPE_XDP", What: "the XDP bpf_link", Since: "5.9"}},
	Updatable: true,
	Link:      "BPF_LINK_TYPE_XDP",
	PinTarget: "IFACE, NETNS/IFACE",
	Deps: func(s *Section, env DepEnv) Deps {
		return deviceDeps(s.Interface, s.Namespace, env)
	},
}

func init() { register(XDP) }
