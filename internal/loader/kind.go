package loader

import (
	"context"
	"slices"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/bpfunit/bpfunit/internal/attach"
)

// kind is the kernel half of an attach type: its descriptor (package
// attach: keys, features, dependencies, the facts config and the
// generator read) plus what needs cilium/ebpf, kept out of the generator:
// the program types, how an ELF section selects the type, and the attach
// function. One file per type registers its kind from init.
type kind struct {
	*attach.Type
	// programs are the program types the type attaches.
	programs []ebpf.ProgramType
	// fromSection reports whether a program of one of programs, as its
	// ELF section made it, is of this type when Type= is left out.
	// Optional: nil means every program of programs is.
	fromSection func(p *ebpf.ProgramSpec) bool
	// new resolves a section against its program spec: the target, the
	// load-time adjustments, the attach call.
	new func(s *attach.Section, p *ebpf.ProgramSpec) (attacher, error)
}

// attacher attaches one program for one resolved [Attach] section. It is
// sealed (isAttacher), as cilium/ebpf's link.Link is: only this package
// implements it.
type attacher interface {
	// target names the hook, e.g. "eth0" or "syscalls:sys_enter_getpid";
	// it becomes part of the link's pin name.
	target() string
	// prepare adjusts the program spec before load (attach type, target).
	prepare(p *ebpf.ProgramSpec) error
	// attach creates the bpf_link. progs are the unit's loaded programs,
	// for types that refer to one another (tcx Order=before:PROG).
	attach(ctx context.Context, prog *ebpf.Program, progs map[string]*ebpf.Program) (link.Link, error)

	isAttacher()
}

// sealed makes a type an attacher.
type sealed struct{}

func (sealed) isAttacher() {}

// noPrepare is the prepare of types that load as the ELF section says.
type noPrepare struct{}

func (noPrepare) prepare(*ebpf.ProgramSpec) error { return nil }

// kinds has one entry per attach.Type (TestKinds).
var kinds []*kind

func registerKind(ks ...*kind) { kinds = append(kinds, ks...) }

// kindOf returns the kind of attach type t, or nil.
func kindOf(t attach.TypeName) *kind {
	for _, k := range kinds {
		if k.Name == t {
			return k
		}
	}
	return nil
}

// kindFromSpec returns the type p's ELF section gives it, or nil when no
// type takes it without Type=. Types are tried by rank.
func kindFromSpec(p *ebpf.ProgramSpec) *kind {
	for _, t := range attach.All() {
		if k := kindOf(t.Name); k != nil && k.takes(p) {
			return k
		}
	}
	return nil
}

// takes reports whether p, without Type=, is of kind k.
func (k *kind) takes(p *ebpf.ProgramSpec) bool {
	return slices.Contains(k.programs, p.Type) && (k.fromSection == nil || k.fromSection(p))
}
