package loader

import (
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/bpfunit/bpfunit/internal/config"
)

// tracingAttacher covers the BTF-based hooks: tp_btf, fentry, fexit (one
// link call, the attach point chosen at load) and lsm.
type tracingAttacher struct {
	typ      config.AttachType
	function string
}

var _ attacher = (*tracingAttacher)(nil)

func newTracing(typ config.AttachType, a config.Attach, p *ebpf.ProgramSpec) (*tracingAttacher, error) {
	fn := a.Function
	if fn == "" {
		fn = p.AttachTo
	}
	if fn == "" {
		return nil, fmt.Errorf("Type=%s needs Function= or a section naming the function, e.g. SEC(\"%s/do_sys_openat2\")", typ, typ)
	}
	return &tracingAttacher{typ: typ, function: fn}, nil
}

func newLSM(a config.Attach, p *ebpf.ProgramSpec) (*tracingAttacher, error) {
	return newTracing(config.TypeLSM, config.Attach{Function: a.Function}, p)
}

func (t *tracingAttacher) target() string { return t.function }

// The kernel resolves the function's BTF id at load, so the target goes
// into the program spec.
func (t *tracingAttacher) prepare(p *ebpf.ProgramSpec) error {
	p.AttachTo = t.function
	return nil
}

func (t *tracingAttacher) updatable() bool { return false }

func (t *tracingAttacher) attach(prog *ebpf.Program, _ map[string]*ebpf.Program) (link.Link, error) {
	if t.typ == config.TypeLSM {
		return link.AttachLSM(link.LSMOptions{Program: prog})
	}
	return link.AttachTracing(link.TracingOptions{Program: prog})
}
