package attach

// Section is one [Attach] section of a unit (config.Attach). Only the
// fields of its Type are set.
type Section struct {
	// Line is the line of the section header in its file; File is that file.
	File string
	Line int

	// Program is the name of the program (the C function name) in the object.
	Program string
	// Type is empty when the config leaves it to the ELF section name.
	Type TypeName

	// Interface for xdp and tcx.
	Interface string
	// Namespace is an `ip netns` name the interface (xdp, tcx) or the
	// netfilter hook lives in; empty: the namespace of the caller.
	Namespace string
	// Mode for xdp: "native", "generic" or "auto" (default auto: native
	// where the driver has it, else generic).
	Mode string
	// Direction for tcx: "ingress" (default) or "egress".
	Direction string
	// Order for tcx: "first", "last" (default), "before:PROG" or "after:PROG"
	// (a program name of this unit or a numeric prog id).
	Order string

	// Cgroup: a systemd unit name (nginx.service, user.slice) or an
	// absolute cgroup path (relative paths are relative to the cgroup2 mount).
	Cgroup string

	// Tracepoint for tracepoint ("group:name" or "group/name") and
	// raw_tracepoint ("name"); empty: from the ELF section.
	Tracepoint string

	// Function for fentry/fexit/lsm/tp_btf/kprobe/kretprobe overrides the
	// ELF section's target.
	Function string

	// Binary, Symbol, Offset, PID for uprobe/uretprobe.
	Binary string
	Symbol string
	Offset uint64
	PID    int

	// Netfilter: Family "ipv4"|"ipv6", Hook "prerouting"|"input"|"forward"|
	// "output"|"postrouting", Priority (default 0).
	Family   string
	Hook     string
	Priority int32
}
