// Package attach is the one place that knows bpfunit's attach types: one
// descriptor per Type= value, each in its own file next to the code that
// creates its bpf_link.
//
// # One descriptor per type
//
// A [Type] holds every fact about one Type= value that the rest of bpfunit
// needs: the [Attach] keys it takes and requires, their accepted values,
// the program types it attaches and how an ELF section selects it, the
// kernel features it needs (with the Linux version or build option that
// brought them), whether BPF_LINK_UPDATE swaps its program in place, how
// its link's pin is named, the systemd dependencies the generator gives
// its unit, and the function that attaches it. Package config validates
// [Attach] sections with it, package loader plans and attaches with it,
// the generator asks it for dependencies, and a test checks
// docs/config.md against it. Adding a type is one file here (a descriptor
// registered from init) plus its tests.
//
// # Sealed
//
// [Attacher] has an unexported method, as cilium/ebpf's link.Link does:
// only this package implements it, so every attachment goes through a
// descriptor.
//
// # Cheap to import
//
// The generator imports this package through config. Descriptors are
// plain values registered from init (a slice append each); nothing here
// probes the kernel or reads a file before it is called.
package attach
