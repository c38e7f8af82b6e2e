package loader

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/bpfunit/bpfunit/internal/attach"
)

func init() {
	registerKind(&kind{
		Type:     attach.TCX,
		programs: []ebpf.ProgramType{ebpf.SchedCLS, ebpf.SchedACT},
		new: func(s *attach.Section, _ *ebpf.ProgramSpec) (attacher, error) {
			t := &tcxAttacher{iface: s.Interface, netns: s.Namespace, order: s.Order,
				attachType: ebpf.AttachTCXIngress, direction: "ingress"}
			if s.Direction == "egress" {
				t.attachType, t.direction = ebpf.AttachTCXEgress, "egress"
			}
			// Order=before:PROG names a program only loaded later; the rest
			// of Order= can be checked now.
			if _, err := t.anchor(nil); err != nil && !strings.Contains(err.Error(), "not loaded") {
				return nil, err
			}
			return t, nil
		},
	})
}

type tcxAttacher struct {
	sealed
	iface, netns string
	attachType   ebpf.AttachType
	direction    string
	order        string
}

var _ attacher = (*tcxAttacher)(nil)

func (t *tcxAttacher) target() string { return netnsTarget(t.netns, t.iface) + ":" + t.direction }

func (t *tcxAttacher) prepare(p *ebpf.ProgramSpec) error {
	// A SEC("tc") program has no expected attach type; the link's is ours.
	p.AttachType = t.attachType
	return nil
}

// anchor turns Order= into where the link goes among the interface's other
// tcx programs.
func (t *tcxAttacher) anchor(progs map[string]*ebpf.Program) (link.Anchor, error) {
	kind, ref, _ := strings.Cut(t.order, ":")
	switch kind {
	case "", "last":
		return link.Tail(), nil
	case "first":
		return link.Head(), nil
	case "before", "after":
		if ref == "" {
			return nil, fmt.Errorf("Order=%s: name a program of this unit or a program id, e.g. before:other_prog", t.order)
		}
		if id, err := strconv.ParseUint(ref, 10, 32); err == nil {
			if kind == "before" {
				return link.BeforeProgramByID(ebpf.ProgramID(id)), nil
			}
			return link.AfterProgramByID(ebpf.ProgramID(id)), nil
		}
		p, ok := progs[ref]
		if !ok {
			return nil, fmt.Errorf("Order=%s: program %s is not loaded by this unit", t.order, ref)
		}
		if kind == "before" {
			return link.BeforeProgram(p), nil
		}
		return link.AfterProgram(p), nil
	}
	return nil, fmt.Errorf("Order=%s: accepted values: first, last, before:PROG, after:PROG", t.order)
}

func (t *tcxAttacher) attach(ctx context.Context, prog *ebpf.Program, progs map[string]*ebpf.Program) (l link.Link, err error) {
	anchor, err := t.anchor(progs)
	if err != nil {
		return nil, err
	}
	err = inNetns(t.netns, func() error {
		idx, err := ifindex(t.iface, t.netns)
		if err != nil {
			return err
		}
		l, err = link.AttachTCX(link.TCXOptions{Interface: idx, Program: prog, Attach: t.attachType, Anchor: anchor})
		return err
	})
	return l, err
}
