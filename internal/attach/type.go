package attach

import (
	"context"
	"slices"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// TypeName is a Type= value of an [Attach] section.
type TypeName string

// Type describes one attach type. Its fields are read-only after init.
type Type struct {
	// Name is the Type= value.
	Name TypeName
	// Rank orders types wherever they are listed for people (messages,
	// docs): lower first.
	Rank int
	// Keys are the [Attach] keys the type takes besides Program= and
	// Type=, in the order messages list them.
	Keys []string
	// Required are the keys of Keys that must be set when Type= is.
	// Optional.
	Required []string
	// Values are the accepted values of the type's enumerated keys, in the
	// order messages list them (empty always means the default). Optional.
	Values map[string][]string
	// Programs are the program types the type can attach.
	Programs []ebpf.ProgramType
	// Program names those program types in messages: "a tc/tcx program".
	Program string
	// FromSection reports whether a program spec of one of Programs, as
	// the ELF section made it, is of this type when Type= is left out.
	// Optional: nil means any program of Programs is.
	FromSection func(p *ebpf.ProgramSpec) bool
	// Needs are the kernel features the type needs, all of them.
	Needs []Feature
	// Updatable says BPF_LINK_UPDATE swaps the link's program in place;
	// otherwise a replace is make-before-break.
	Updatable bool
	// Link names the kernel link, for docs: "BPF_LINK_TYPE_XDP".
	Link string
	// PinTarget shows how the target part of the link's pin name
	// (PROGRAM@TARGET) is formed, for docs: "IFACE" or "NETNS/IFACE".
	PinTarget string
	// Check finds what is wrong with a section of this type beyond
	// missing and misplaced keys, once every drop-in is applied: the key
	// to blame and why; "" when nothing is. set reports whether the
	// config set a key. Optional.
	Check func(s *Section, set func(key string) bool) (key, msg string)
	// Deps are the systemd dependencies of a unit with a section of this
	// type. Optional.
	Deps func(s *Section, env DepEnv) Deps
	// New resolves a section against its program spec: the target, the
	// load-time adjustments, the attach call.
	New func(s *Section, p *ebpf.ProgramSpec) (Attacher, error)
}

// Takes reports whether t accepts key (besides Program= and Type=).
func (t *Type) Takes(key string) bool { return slices.Contains(t.Keys, key) }

// Feature is one kernel capability a type needs. The loader probes for it
// by looking for BTF in the kernel's own BTF: present means the kernel has
// the code, which unlike a version check is right on distribution kernels
// with backports.
type Feature struct {
	// BTF is a name in the kernel's BTF string table that the kernel has
	// exactly when it has the feature: an enum value (BPF_LINK_TYPE_TCX)
	// or a function only built with it (register_kprobe).
	BTF string
	// What names the feature in messages: "the tcx bpf_link".
	What string
	// Since is the Linux version that brought it; empty for a feature a
	// build option decides.
	Since string
	// Option is the kernel build option that decides it, if any:
	// "CONFIG_KPROBES".
	Option string
}

// DepEnv is what the generator knows about the machine its units run on.
type DepEnv struct {
	// Udev says that .device units exist for network interfaces.
	Udev bool
}

// Deps are the systemd dependencies of one attachment.
type Deps struct {
	// Mounts go to RequiresMountsFor=.
	Mounts []string
	// Wants, BindsTo, PartOf and After are unit names.
	Wants, BindsTo, PartOf, After []string
}

// Attacher attaches one program for one resolved [Attach] section.
type Attacher interface {
	// Target names the hook, e.g. "eth0" or "syscalls:sys_enter_getpid";
	// it becomes part of the link's pin name.
	Target() string
	// Prepare adjusts the program spec before load (attach type, target).
	Prepare(p *ebpf.ProgramSpec) error
	// Attach creates the bpf_link. progs are the unit's loaded programs,
	// for types that refer to one another (tcx Order=before:PROG).
	Attach(ctx context.Context, prog *ebpf.Program, progs map[string]*ebpf.Program) (link.Link, error)

	isAttacher()
}

// sealed makes a type an Attacher of this package.
type sealed struct{}

func (sealed) isAttacher() {}

// noPrepare is the Prepare of types that load as the ELF section says.
type noPrepare struct{}

func (noPrepare) Prepare(*ebpf.ProgramSpec) error { return nil }

// Tracefs is where tracing types need tracefs mounted.
const Tracefs = "/sys/kernel/tracing"

var registry []*Type

// register adds t; called from the init of t's file.
func register(ts ...*Type) {
	for _, t := range ts {
		i, _ := slices.BinarySearchFunc(registry, t, func(a, b *Type) int { return a.Rank - b.Rank })
		registry = slices.Insert(registry, i, t)
	}
}

// All returns every type, by Rank. The slice is shared: don't modify it.
func All() []*Type { return registry }

// Lookup returns the type named n, or nil.
func Lookup(n TypeName) *Type {
	for _, t := range registry {
		if t.Name == n {
			return t
		}
	}
	return nil
}

// Names returns every Type= value, by Rank.
func Names() []string {
	s := make([]string, len(registry))
	for i, t := range registry {
		s[i] = string(t.Name)
	}
	return s
}

// FromSpec returns the type the ELF section gives p, or nil when no type
// takes it without Type=.
func FromSpec(p *ebpf.ProgramSpec) *Type {
	for _, t := range registry {
		if slices.Contains(t.Programs, p.Type) && (t.FromSection == nil || t.FromSection(p)) {
			return t
		}
	}
	return nil
}

// Keys returns every key some type takes, in the order messages list
// them: by type, then by each type's own order.
func Keys() []string {
	var keys []string
	for _, t := range registry {
		for _, k := range t.Keys {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// Values returns the accepted values of an enumerated key, over every type
// taking it; nil for a key that isn't enumerated.
func Values(key string) []string {
	var vs []string
	for _, t := range registry {
		for _, v := range t.Values[key] {
			if !slices.Contains(vs, v) {
				vs = append(vs, v)
			}
		}
	}
	return vs
}
