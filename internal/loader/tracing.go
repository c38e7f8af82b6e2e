package loader

import (
	"context"
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/bpfunit/bpfunit/internal/attach"
)

// The BTF-based hooks: tp_btf, fentry, fexit (one link call, the attach
// point chosen at load) and lsm. The kernel resolves the function's BTF id
// at load, so the target goes into the program spec.
func init() {
	registerKind(
		tracingKind(attach.TPBTF, ebpf.Tracing, ebpf.AttachTraceRawTp),
		tracingKind(attach.Fentry, ebpf.Tracing, ebpf.AttachTraceFEntry),
		tracingKind(attach.Fexit, ebpf.Tracing, ebpf.AttachTraceFExit),
		tracingKind(attach.LSM, ebpf.LSM, ebpf.AttachLSMMac))
}

func tracingKind(t *attach.Type, prog ebpf.ProgramType, at ebpf.AttachType) *kind {
	k := &kind{
		Type:     t,
		programs: []ebpf.ProgramType{prog},
		new: func(s *attach.Section, p *ebpf.ProgramSpec) (attacher, error) {
			fn := s.Function
			if fn == "" {
				fn = p.AttachTo
			}
			if fn == "" {
				return nil, fmt.Errorf("Type=%s needs Function= or a section naming the function, e.g. SEC(\"%s/do_sys_openat2\")", t.Name, t.Name)
			}
			return &tracingAttacher{lsm: prog == ebpf.LSM, function: fn}, nil
		},
	}
	if prog == ebpf.Tracing {
		// One program type, three hooks: the section's attach type tells.
		k.fromSection = func(p *ebpf.ProgramSpec) bool { return p.AttachType == at }
	}
	return k
}

type tracingAttacher struct {
	sealed
	lsm      bool
	function string
}

var _ attacher = (*tracingAttacher)(nil)

func (t *tracingAttacher) target() string { return t.function }

func (t *tracingAttacher) prepare(p *ebpf.ProgramSpec) error {
	p.AttachTo = t.function
	return nil
}

func (t *tracingAttacher) attach(ctx context.Context, prog *ebpf.Program, _ map[string]*ebpf.Program) (link.Link, error) {
	if t.lsm {
		return link.AttachLSM(link.LSMOptions{Program: prog})
	}
	return link.AttachTracing(link.TracingOptions{Program: prog})
}
