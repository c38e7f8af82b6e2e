package attach

import "slices"

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
	// Program names the program types the type attaches, in messages: "a
	// tc/tcx program". Which program types those are, and how an ELF
	// section selects the type, is the loader's half (loader/TYPE.go).
	Program string
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
