package config

// AttachType names a kind of hook, as written in Type= of an [Attach] section.
type AttachType string

// The attach types bpfunit supports. Every one attaches through a bpf_link.
const (
	TypeXDP           AttachType = "xdp"
	TypeTCX           AttachType = "tcx"
	TypeCgroup        AttachType = "cgroup"
	TypeTracepoint    AttachType = "tracepoint"
	TypeRawTracepoint AttachType = "raw_tracepoint"
	TypeTPBTF         AttachType = "tp_btf"
	TypeFentry        AttachType = "fentry"
	TypeFexit         AttachType = "fexit"
	TypeLSM           AttachType = "lsm"
	TypeUprobe        AttachType = "uprobe"
	TypeUretprobe     AttachType = "uretprobe"
	TypeNetfilter     AttachType = "netfilter"
)

// AttachTypes lists every accepted Type= value, in the order error messages show them.
var AttachTypes = []AttachType{
	TypeXDP, TypeTCX, TypeCgroup, TypeTracepoint, TypeRawTracepoint, TypeTPBTF,
	TypeFentry, TypeFexit, TypeLSM, TypeUprobe, TypeUretprobe, TypeNetfilter,
}

// Unit is one NAME.bpfunit file with its drop-ins applied.
type Unit struct {
	// Name is the unit name: the file name without ".bpfunit".
	Name string
	// Path is the file the unit was read from (after following a symlink,
	// the link's own path, since that is what the admin knows).
	Path string
	// DropIns are the NAME.bpfunit.d/*.conf files applied, in order.
	DropIns []string
	// Digest is the hex SHA-256 of the effective configuration (all
	// files, in application order, merged: every field but names, paths
	// and line numbers); equal digests mean equal configs.
	Digest string

	Description   string
	Documentation []string
	Object        Object
	Attach        []Attach
	Install       Install
}

// Object is the [Object] section.
type Object struct {
	// Path of the ELF object. Absolute.
	Path string
	// PinMaps pins every map of the object under the unit's maps dir.
	PinMaps bool
	// KeepMaps keeps pinned maps across stop (they are reused by the next start).
	KeepMaps bool
	// Constants override global data (.rodata/.data) before load, by variable name.
	Constants []Constant
	// ShareMaps reuse (or create and pin) a map at an absolute bpffs path
	// shared between units.
	ShareMaps []ShareMap
}

// Constant is one Constant=NAME=VALUE.
type Constant struct {
	Name  string
	Value string
	Line  int
}

// ShareMap is one ShareMap=MAP:PATH.
type ShareMap struct {
	Map  string
	Path string
	Line int
}

// Attach is one [Attach] section. Only the fields of its Type are set.
type Attach struct {
	// Line is the line of the section header in its file; File is that file.
	File string
	Line int

	// Program is the name of the program (the C function name) in the object.
	Program string
	// Type is empty when the config leaves it to the ELF section name.
	Type AttachType

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

	// Function for fentry/fexit/lsm/tp_btf overrides the ELF section target.
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

// Install is the [Install] section.
type Install struct {
	WantedBy   []string
	RequiredBy []string
	Alias      []string
}
