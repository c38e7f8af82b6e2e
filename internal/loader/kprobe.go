package loader

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/features"
	"github.com/cilium/ebpf/link"

	"github.com/bpfunit/bpfunit/internal/attach"
)

func init() { registerKind(kprobeKind(attach.Kprobe, false), kprobeKind(attach.Kretprobe, true)) }

func kprobeKind(t *attach.Type, ret bool) *kind {
	return &kind{
		Type:     t,
		programs: []ebpf.ProgramType{ebpf.Kprobe},
		fromSection: func(p *ebpf.ProgramSpec) bool {
			sec, _, _ := strings.Cut(p.SectionName, "/")
			return sec == string(t.Name) || sec == string(t.Name)+".multi"
		},
		new: func(s *attach.Section, p *ebpf.ProgramSpec) (attacher, error) {
			fn := s.Function
			if fn == "" {
				// SEC("kprobe/do_sys_openat2"): cilium/ebpf puts the
				// function in AttachTo.
				fn = p.AttachTo
			}
			if fn == "" {
				return nil, fmt.Errorf("Type=%s needs Function= or a section naming the function, e.g. SEC(\"%s/do_sys_openat2\")", t.Name, t.Name)
			}
			return &kprobeAttacher{ret: ret, function: fn}, nil
		},
	}
}

type kprobeAttacher struct {
	sealed
	ret      bool
	function string
	// multi: the program is loaded for a kprobe_multi link (Prepare).
	multi bool
}

var _ attacher = (*kprobeAttacher)(nil)

func (k *kprobeAttacher) target() string { return k.function }

// Prepare picks the link: kprobe_multi (Linux ≥ 5.18 with CONFIG_FPROBE)
// attaches through fprobe/ftrace, without a perf event; it needs the
// program loaded with that attach type, so the choice is made before load.
func (k *kprobeAttacher) prepare(p *ebpf.ProgramSpec) error {
	err := features.HaveBPFLinkKprobeMulti()
	switch {
	case err == nil:
		k.multi = true
		p.AttachType = ebpf.AttachTraceKprobeMulti
	case errors.Is(err, ebpf.ErrNotSupported):
		k.multi = false
		p.AttachType = ebpf.AttachNone
	default:
		return fmt.Errorf("probe for kprobe_multi links: %w", err)
	}
	return nil
}

func (k *kprobeAttacher) attach(ctx context.Context, prog *ebpf.Program, _ map[string]*ebpf.Program) (link.Link, error) {
	var l link.Link
	var err error
	switch {
	case k.multi && k.ret:
		l, err = link.KretprobeMulti(prog, link.KprobeMultiOptions{Symbols: []string{k.function}})
	case k.multi:
		l, err = link.KprobeMulti(prog, link.KprobeMultiOptions{Symbols: []string{k.function}})
	case k.ret:
		l, err = link.Kretprobe(k.function, prog, nil)
	default:
		l, err = link.Kprobe(k.function, prog, nil)
	}
	if err != nil && !k.multi {
		// Preflight cannot tell without kernel BTF; then cilium/ebpf falls
		// back from the missing kprobe PMU to tracefs and reports a missing
		// kprobe_events file, which reads like a missing object.
		if _, statErr := os.Stat(kprobePMU); errors.Is(statErr, os.ErrNotExist) {
			return nil, fmt.Errorf("this kernel has no kprobes (no %s; CONFIG_KPROBES, CONFIG_KPROBE_EVENTS): %w: %w", kprobePMU, ErrUnsupported, err)
		}
	}
	return l, err
}

// kprobePMU is the perf PMU of kprobes (Linux ≥ 4.17 with
// CONFIG_KPROBE_EVENTS).
const kprobePMU = "/sys/bus/event_source/devices/kprobe"
