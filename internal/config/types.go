package config

import "github.com/bpfunit/bpfunit/internal/attach"

// AttachType names a kind of hook, as written in Type= of an [Attach]
// section. Package attach describes each one.
type AttachType = attach.TypeName

// Some of the attach types, for callers that name one; attach.Names lists
// them all.
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

// Attach is one [Attach] section; its fields are described in package
// attach.
type Attach = attach.Section

// Install is the [Install] section.
type Install struct {
	WantedBy   []string
	RequiredBy []string
	Alias      []string
}
