package attach

import (
	"context"
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// The BTF-based hooks: tp_btf, fentry, fexit (one link call, the attach
// point chosen at load) and lsm. The kernel resolves the function's BTF id
// at load, so the target goes into the program spec.
var (
	tracingLink = Feature{BTF: "BPF_LINK_TYPE_TRACING", What: "the tracing bpf_link", Since: "5.8"}

	// TPBTF is Type=tp_btf.
	TPBTF = tracingType("tp_btf", 60, ebpf.Tracing, ebpf.AttachTraceRawTp, "a tp_btf program", tracingLink)
	// Fentry is Type=fentry.
	Fentry = tracingType("fentry", 70, ebpf.Tracing, ebpf.AttachTraceFEntry, "an fentry program", tracingLink)
	// Fexit is Type=fexit.
	Fexit = tracingType("fexit", 80, ebpf.Tracing, ebpf.AttachTraceFExit, "an fexit program", tracingLink)
	// LSM is Type=lsm.
	LSM = tracingType("lsm", 90, ebpf.LSM, ebpf.AttachLSMMac, "an LSM program",
		Feature{BTF: "BPF_PROG_TYPE_LSM", What: "BPF LSM programs", Since: "5.7"})
)

func init() { register(TPBTF, Fentry, Fexit, LSM) }

func tracingType(name TypeName, rank int, prog ebpf.ProgramType, at ebpf.AttachType, what string, need Feature) *Type {
	t := &Type{
		Name:      name,
		Rank:      rank,
		Keys:      []string{"Function"},
		Programs:  []ebpf.ProgramType{prog},
		Program:   what,
		Needs:     []Feature{need},
		Updatable: false,
		Link:      "BPF_LINK_TYPE_TRACING",
		PinTarget: "FUNCTION",
		New: func(s *Section, p *ebpf.ProgramSpec) (Attacher, error) {
			fn := s.Function
			if fn == "" {
				fn = p.AttachTo
			}
			if fn == "" {
				return nil, fmt.Errorf("Type=%s needs Function= or a section naming the function, e.g. SEC(\"%s/do_sys_openat2\")", name, name)
			}
			return &tracingAttacher{lsm: prog == ebpf.LSM, function: fn}, nil
		},
	}
	if prog == ebpf.Tracing {
		// One program type, three hooks: the section's attach type tells.
		t.FromSection = func(p *ebpf.ProgramSpec) bool { return p.AttachType == at }
	}
	return t
}

type tracingAttacher struct {
	sealed
	lsm      bool
	function string
}

var _ Attacher = (*tracingAttacher)(nil)

func (t *tracingAttacher) Target() string { return t.function }

func (t *tracingAttacher) Prepare(p *ebpf.ProgramSpec) error {
	p.AttachTo = t.function
	return nil
}

func (t *tracingAttacher) Attach(ctx context.Context, prog *ebpf.Program, _ map[string]*ebpf.Program) (link.Link, error) {
	if t.lsm {
		return link.AttachLSM(link.LSMOptions{Program: prog})
	}
	return link.AttachTracing(link.TracingOptions{Program: prog})
}
