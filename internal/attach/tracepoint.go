package attach

import (
	"context"
	"fmt"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// Tracepoint is Type=tracepoint.
var Tracepoint = &Type{
	Name:     "tracepoint",
	Rank:     40,
	Keys:     []string{"Tracepoint"},
	Programs: []ebpf.ProgramType{ebpf.TracePoint},
	Program:  "a tracepoint program",
	Needs:    []Feature{{BTF: "BPF_LINK_TYPE_PERF_EVENT", What: "the perf-event bpf_link (pinnable tracepoint links)", Since: "5.15"}},
	// A perf-event link has no update operation: replace is make-before-break.
	Updatable: false,
	Link:      "BPF_LINK_TYPE_PERF_EVENT",
	PinTarget: "GROUP:NAME",
	Check: func(s *Section, _ func(string) bool) (string, string) {
		if s.Tracepoint != "" && strings.Count(s.Tracepoint, ":")+strings.Count(s.Tracepoint, "/") != 1 {
			return "Tracepoint", fmt.Sprintf("%q: Type=tracepoint expects GROUP:NAME or GROUP/NAME", s.Tracepoint)
		}
		return "", ""
	},
	Deps: func(*Section, DepEnv) Deps { return Deps{Mounts: []string{Tracefs}} },
	New: func(s *Section, p *ebpf.ProgramSpec) (Attacher, error) {
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
}

// RawTracepoint is Type=raw_tracepoint.
var RawTracepoint = &Type{
	Name:      "raw_tracepoint",
	Rank:      50,
	Keys:      []string{"Tracepoint"},
	Programs:  []ebpf.ProgramType{ebpf.RawTracepoint, ebpf.RawTracepointWritable},
	Program:   "a raw tracepoint program",
	Needs:     []Feature{{BTF: "BPF_LINK_TYPE_RAW_TRACEPOINT", What: "the raw tracepoint bpf_link", Since: "5.8"}},
	Updatable: false,
	Link:      "BPF_LINK_TYPE_RAW_TRACEPOINT",
	PinTarget: "NAME",
	Check: func(s *Section, _ func(string) bool) (string, string) {
		if strings.ContainsAny(s.Tracepoint, ":/") {
			return "Tracepoint", fmt.Sprintf("%q: Type=raw_tracepoint expects a bare NAME", s.Tracepoint)
		}
		return "", ""
	},
	New: func(s *Section, p *ebpf.ProgramSpec) (Attacher, error) {
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
}

func init() { register(Tracepoint, RawTracepoint) }

type tracepointAttacher struct {
	sealed
	noPrepare
	group, name string
}

var _ Attacher = (*tracepointAttacher)(nil)

func (t *tracepointAttacher) Target() string { return t.group + ":" + t.name }

func (t *tracepointAttacher) Attach(ctx context.Context, prog *ebpf.Program, _ map[string]*ebpf.Program) (link.Link, error) {
	return link.Tracepoint(t.group, t.name, prog, nil)
}

type rawTracepointAttacher struct {
	sealed
	noPrepare
	name string
}

var _ Attacher = (*rawTracepointAttacher)(nil)

func (r *rawTracepointAttacher) Target() string { return r.name }

func (r *rawTracepointAttacher) Attach(ctx context.Context, prog *ebpf.Program, _ map[string]*ebpf.Program) (link.Link, error) {
	return link.AttachRawTracepoint(link.RawTracepointOptions{Name: r.name, Program: prog})
}
