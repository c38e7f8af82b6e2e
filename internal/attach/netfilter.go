package attach

// Netfilter is Type=netfilter.
var Netfilter = &Type{
	Name:     "netfilter",
	Rank:     140,
	Keys:     []string{"Family", "Hook", "Priority", "Namespace"},
	Required: []string{"Family", "Hook"},
	Values: map[string][]string{
		"Family": {"ipv4", "ipv6"},
		"Hook":   {"prerouting", "input", "forward", "output", "postrouting"},
	},
	Program: "a netfilter program",
	Needs:   []Feature{{BTF: "BPF_LINK_TYPE_NETFILTER", What: "the netfilter bpf_link", Since: "6.4"}},
	// The kernel's netfilter link has no update operation.
	Updatable: false,
	Link:      "BPF_LINK_TYPE_NETFILTER",
	PinTarget: "FAMILY:HOOK:PRIORITY, NETNS/FAMILY:HOOK:PRIORITY",
}

func init() { register(Netfilter) }
