package loader

import (
	"context"
	"fmt"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/bpfunit/bpfunit/internal/attach"
)

func init() {
	registerKind(&kind{
		Type:     attach.Tracepoint,
		programs: []ebpf.ProgramType{ebpf.TracePoint},
		new: func(s *attach.Section, p *ebpf.ProgramSpec) (attacher, error) {
			tp := s.Tracepoint
			if tp == "" {
				// SEC("tracepoint/GROUP/NAME") or SEC("tp/GROUP/NAME")
				_, tp, _ = strings.Cut(p.SectionName, "/")
			}
			group, name, ok := strings.Cut(strings.Replace(tp, ":", "/", 1), "/")
			if !ok || group == "" || name == "" || strings.Contains(name, "/") {
				return nil, fmt.Errorf("Tracepoint=%s: want GROUP:NAME, e.g. syscalls:sys_enter_openat (section %q names none)", s.Tracepoint, p.SectionName)
			}
			return &tracepointAttacher{group: group, name: name}, nil
		},
	}, &kind{
		Type:     attach.RawTracepoint,
		programs: []ebpf.ProgramType{ebpf.RawTracepoint, ebpf.RawTracepointWritable},
		new: func(s *attach.Section, p *ebpf.ProgramSpec) (attacher, error) {
			name := s.Tracepoint
			if name == "" {
				// SEC("raw_tracepoint/NAME") or SEC("raw_tp/NAME")
				_, name, _ = strings.Cut(p.SectionName, "/")
			}
			if name == "" || strings.ContainsAny(name, "/:") {
				return nil, fmt.Errorf("Tracepoint=%s: want the raw tracepoint's name, e.g. sys_enter (section %q names none)", s.Tracepoint, p.SectionName)
			}
			return &rawTracepointAttacher{name: name}, nil
		},
	})
}

type tracepointAttacher struct {
	sealed
	noPrepare
	group, name string
}

var _ attacher = (*tracepointAttacher)(nil)

func (t *tracepointAttacher) target() string { return t.group + ":" + t.name }

func (t *tracepointAttacher) attach(ctx context.Context, prog *ebpf.Program, _ map[string]*ebpf.Program) (link.Link, error) {
	return link.Tracepoint(t.group, t.name, prog, nil)
}

type rawTracepointAttacher struct {
	sealed
	noPrepare
	name string
}

var _ attacher = (*rawTracepointAttacher)(nil)

func (r *rawTracepointAttacher) target() string { return r.name }

func (r *rawTracepointAttacher) attach(ctx context.Context, prog *ebpf.Program, _ map[string]*ebpf.Program) (link.Link, error) {
	return link.AttachRawTracepoint(link.RawTracepointOptions{Name: r.name, Program: prog})
}
