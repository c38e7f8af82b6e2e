package loader

import (
	"fmt"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/bpfunit/bpfunit/internal/config"
)

type tracepointAttacher struct{ group, name string }

var _ attacher = (*tracepointAttacher)(nil)

func newTracepoint(a config.Attach, p *ebpf.ProgramSpec) (*tracepointAttacher, error) {
	tp := a.Tracepoint
	if tp == "" {
		// SEC("tracepoint/GROUP/NAME") or SEC("tp/GROUP/NAME")
		_, tp, _ = strings.Cut(p.SectionName, "/")
	}
	group, name, ok := strings.Cut(strings.Replace(tp, ":", "/", 1), "/")
	if !ok || group == "" || name == "" || strings.Contains(name, "/") {
		return nil, fmt.Errorf("Tracepoint=%s: want GROUP:NAME, e.g. syscalls:sys_enter_openat (section %q names none)", a.Tracepoint, p.SectionName)
	}
	return &tracepointAttacher{group: group, name: name}, nil
}

func (t *tracepointAttacher) target() string { return t.group + ":" + t.name }

func (t *tracepointAttacher) prepare(p *ebpf.ProgramSpec) error { return nil }

// A perf-event link has no update operation: replace is make-before-break.
func (t *tracepointAttacher) updatable() bool { return false }

func (t *tracepointAttacher) attach(prog *ebpf.Program, _ map[string]*ebpf.Program) (link.Link, error) {
	return link.Tracepoint(t.group, t.name, prog, nil)
}

type rawTracepointAttacher struct{ name string }

var _ attacher = (*rawTracepointAttacher)(nil)

func newRawTracepoint(a config.Attach, p *ebpf.ProgramSpec) (*rawTracepointAttacher, error) {
	name := a.Tracepoint
	if name == "" {
		// SEC("raw_tracepoint/NAME") or SEC("raw_tp/NAME")
		_, name, _ = strings.Cut(p.SectionName, "/")
	}
	if name == "" || strings.ContainsAny(name, "/:") {
		return nil, fmt.Errorf("Tracepoint=%s: want the raw tracepoint's name, e.g. sys_enter (section %q names none)", a.Tracepoint, p.SectionName)
	}
	return &rawTracepointAttacher{name: name}, nil
}

func (r *rawTracepointAttacher) target() string { return r.name }

func (r *rawTracepointAttacher) prepare(p *ebpf.ProgramSpec) error { return nil }

func (r *rawTracepointAttacher) updatable() bool { return false }

func (r *rawTracepointAttacher) attach(prog *ebpf.Program, _ map[string]*ebpf.Program) (link.Link, error) {
	return link.AttachRawTracepoint(link.RawTracepointOptions{Name: r.name, Program: prog})
}
