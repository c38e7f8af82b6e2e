package attach

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/features"
	"github.com/cilium/ebpf/link"
)

var (
	// Kprobe is Type=kprobe.
	Kprobe = kprobeType("kprobe", 100, false)
	// Kretprobe is Type=kretprobe.
	Kretprobe = kprobeType("kretprobe", 110, true)
)

func init() { register(Kprobe, Kretprobe) }

// kprobes is the kernel's kprobe support. register_kprobe is only built
// with CONFIG_KPROBES, and without it neither the perf-event nor the
// kprobe_multi link can attach.
var kprobes = Feature{BTF: "register_kprobe", What: "kprobes", Option: "CONFIG_KPROBES"}

func kprobeType(name TypeName, rank int, ret bool) *Type {
	return &Type{
		Name:     name,
		Rank:     rank,
		Keys:     []string{"Function"},
		Programs: []ebpf.ProgramType{ebpf.Kprobe},
		Program:  "a " + string(name) + " program",
		FromSection: func(p *ebpf.ProgramSpec) bool {
			sec, _, _ := strings.Cut(p.SectionName, "/")
			return sec == string(name) || sec == string(name)+".multi"
		},
		Needs: []Feature{kprobes,
			{BTF: "BPF_LINK_TYPE_PERF_EVENT", What: "the perf-event bpf_link (pinnable " + string(name) + " links)", Since: "5.15"}},
		// Neither the kprobe_multi nor the perf-event link can update.
		Updatable: false,
		Link:      "BPF_LINK_TYPE_KPROBE_MULTI, else BPF_LINK_TYPE_PERF_EVENT",
		PinTarget: "FUNCTION",
		// Where the kernel's kprobe PMU is missing, cilium/ebpf creates
		// the probe in tracefs's kprobe_events.
		Deps: func(*Section, DepEnv) Deps { return Deps{Mounts: []string{Tracefs}} },
		New: func(s *Section, p *ebpf.ProgramSpec) (Attacher, error) {
			fn := s.Function
			if fn == "" {
				// SEC("kprobe/do_sys_openat2"): cilium/ebpf puts the
				// function in AttachTo.
				fn = p.AttachTo
			}
			if fn == "" {
				return nil, fmt.Errorf("Type=%s needs Function= or a section naming the function, e.g. SEC(\"%s/do_sys_openat2\")", name, name)
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

var _ Attacher = (*kprobeAttacher)(nil)

func (k *kprobeAttacher) Target() string { return k.function }

// Prepare picks the link: kprobe_multi (Linux ≥ 5.18 with CONFIG_FPROBE)
// attaches through fprobe/ftrace, without a perf event; it needs the
// program loaded with that attach type, so the choice is made before load.
func (k *kprobeAttacher) Prepare(p *ebpf.ProgramSpec) error {
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

func (k *kprobeAttacher) Attach(ctx context.Context, prog *ebpf.Program, _ map[string]*ebpf.Program) (link.Link, error) {
	switch {
	case k.multi && k.ret:
		return link.KretprobeMulti(prog, link.KprobeMultiOptions{Symbols: []string{k.function}})
	case k.multi:
		return link.KprobeMulti(prog, link.KprobeMultiOptions{Symbols: []string{k.function}})
	case k.ret:
		return link.Kretprobe(k.function, prog, nil)
	}
	return link.Kprobe(k.function, prog, nil)
}
