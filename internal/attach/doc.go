// Package attach describes bpfunit's attach types: one descriptor per
// Type= value, one file per type.
//
// # One descriptor per type
//
// A [Type] holds the facts about one Type= value that config, the
// generator and the docs need: the [Attach] keys it takes and requires,
// their accepted values, the checks a section of the type needs beyond
// them, the kernel features it needs (with the Linux version or build
// option that brought them), whether BPF_LINK_UPDATE swaps its program in
// place, how its link's pin is named, and the systemd dependencies the
// generator gives its unit. Package config validates [Attach] sections
// with it, the generator asks it for dependencies, package loader probes
// its features, and tests check docs/config.md against it.
//
// # Two halves, one per import graph
//
// What needs cilium/ebpf — the program types a type attaches, how an ELF
// section selects it, the attach function — is the type's kernel half, in
// package loader (loader/TYPE.go registers a kind wrapping this package's
// descriptor; a loader test fails when a descriptor has no kind or a kind
// no descriptor). This package imports neither cilium/ebpf nor D-Bus: the
// generator imports it through config, and linking cilium/ebpf into the
// generator cost ~1.5 ms of CPU per run (+0.5 ms of package init, twice
// the binary). Descriptors are plain values registered from init, a
// slice insert each; nothing here probes the kernel or reads a file.
//
// Adding a type is attach/TYPE.go (descriptor), loader/TYPE.go (kernel
// half) and their tests; a new key also needs its field in [Section] and
// its syntax in config.
package attach
