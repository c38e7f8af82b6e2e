package loader

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/bpfunit/bpfunit/internal/config"
	"github.com/bpfunit/bpfunit/internal/pins"
)

// attacher attaches one program for one [Attach] section. One
// implementation per attach type, each in its own file.
type attacher interface {
	// target names the hook, e.g. "eth0" or "syscalls:sys_enter_getpid";
	// it becomes part of the link's pin name.
	target() string
	// prepare adjusts the program spec before load (attach type, target).
	prepare(p *ebpf.ProgramSpec) error
	// attach creates the bpf_link.
	attach(prog *ebpf.Program, progs map[string]*ebpf.Program) (link.Link, error)
	// updatable reports whether BPF_LINK_UPDATE swaps the program in place.
	updatable() bool
}

// Attachment is one planned [Attach] section.
type Attachment struct {
	Program string
	Type    config.AttachType
	Target  string
	// PinName is the link's pin name: "<program>@<escaped target>".
	PinName string
	Config  config.Attach
	impl    attacher
}

// Updatable reports whether the link can swap programs atomically.
func (a *Attachment) Updatable() bool { return a.impl.updatable() }

// Attach creates the link for a's program, taken from progs.
func (a *Attachment) Attach(progs map[string]*ebpf.Program) (link.Link, error) {
	prog, ok := progs[a.Program]
	if !ok {
		return nil, fmt.Errorf("program %s was not loaded", a.Program)
	}
	l, err := a.impl.attach(prog, progs)
	if err != nil {
		return nil, fmt.Errorf("%s:%d: [Attach] Program=%s: attach %s %s to %s: %w",
			a.Config.File, a.Config.Line, a.Program, a.Type, a.Program, a.Target, unsupported(err))
	}
	return l, nil
}

func (a *Attachment) String() string { return fmt.Sprintf("%s %s to %s", a.Type, a.Program, a.Target) }

// unsupported marks kernel "not supported" answers with ErrUnsupported.
func unsupported(err error) error {
	if errors.Is(err, ebpf.ErrNotSupported) && !errors.Is(err, ErrUnsupported) {
		return fmt.Errorf("%w: %w", ErrUnsupported, err)
	}
	return err
}

// configError is a config that does not fit its object (a program it
// lacks, a type the program can't have): a config error like those of
// package config, matching config.ErrInvalidUnit.
type configError struct{ err error }

func (e configError) Error() string        { return e.err.Error() }
func (e configError) Unwrap() error        { return e.err }
func (e configError) Is(target error) bool { return target == config.ErrInvalidUnit }

// Plan resolves every [Attach] section of u against the object: the attach
// type (from Type= or the ELF section), the target, the pin name. It
// touches nothing in the kernel except reading interface indexes.
func Plan(u *config.Unit, spec *Spec) ([]*Attachment, error) {
	var out []*Attachment
	seen := map[string]string{}
	for _, a := range u.Attach {
		ps, ok := spec.Programs[a.Program]
		if !ok {
			return nil, configError{fmt.Errorf("%s:%d: [Attach] Program=%s: not found in %s (it has: %s)",
				a.File, a.Line, a.Program, u.Object.Path, keyList(spec.Programs))}
		}
		typ, err := resolveType(a, ps)
		if err != nil {
			return nil, configError{fmt.Errorf("%s:%d: [Attach] Program=%s: %w", a.File, a.Line, a.Program, err)}
		}
		impl, err := newAttacher(typ, a, ps)
		if err != nil {
			return nil, configError{fmt.Errorf("%s:%d: [Attach] Program=%s: %w", a.File, a.Line, a.Program, err)}
		}
		att := &Attachment{Program: a.Program, Type: typ, Target: impl.target(), Config: a, impl: impl}
		att.PinName = pins.LinkName(a.Program, att.Target)
		if prev, dup := seen[att.PinName]; dup {
			return nil, configError{fmt.Errorf("%s:%d: [Attach] Program=%s: attached to %s twice (also at %s)", a.File, a.Line, a.Program, att.Target, prev)}
		}
		seen[att.PinName] = fmt.Sprintf("%s:%d", a.File, a.Line)
		out = append(out, att)
	}
	return out, nil
}

// Prepare returns the spec hook for LoadOptions.Prepare: it lets each
// attachment adjust its program, and refuses two attachments that need the
// same program loaded two different ways.
func Prepare(plan []*Attachment) func(*ebpf.ProgramSpec) error {
	return func(p *ebpf.ProgramSpec) error {
		var first *Attachment
		var attachType ebpf.AttachType
		var attachTo string
		for _, a := range plan {
			if a.Program != p.Name {
				continue
			}
			if err := a.impl.prepare(p); err != nil {
				return fmt.Errorf("%s:%d: [Attach] Program=%s: %w", a.Config.File, a.Config.Line, a.Program, err)
			}
			if first != nil && (p.AttachType != attachType || p.AttachTo != attachTo) {
				return fmt.Errorf("%s:%d: [Attach] Program=%s: needs the program loaded for %s %s, but %s:%d needs %s %s; use two programs",
					a.Config.File, a.Config.Line, a.Program, p.AttachType, p.AttachTo, first.Config.File, first.Config.Line, attachType, attachTo)
			}
			first, attachType, attachTo = a, p.AttachType, p.AttachTo
		}
		return nil
	}
}

// resolveType picks the attach type: Type= when given (checked against the
// program type), else from the ELF section.
func resolveType(a config.Attach, p *ebpf.ProgramSpec) (config.AttachType, error) {
	fromELF, elfErr := typeFromSpec(p)
	if a.Type == "" {
		if elfErr != nil {
			return "", elfErr
		}
		return fromELF, nil
	}
	want, ok := programTypes[a.Type]
	if !ok {
		return "", fmt.Errorf("Type=%s is not supported", a.Type)
	}
	for _, t := range want {
		if t == p.Type {
			if a.Type == config.TypeUprobe || a.Type == config.TypeUretprobe || a.Type == config.TypeFentry || a.Type == config.TypeFexit || a.Type == config.TypeTPBTF {
				if elfErr == nil && fromELF != a.Type {
					return "", fmt.Errorf("Type=%s, but section %q makes it a %s program", a.Type, p.SectionName, fromELF)
				}
			}
			return a.Type, nil
		}
	}
	return "", fmt.Errorf("Type=%s needs a %v program, but section %q is a %s program", a.Type, want, p.SectionName, p.Type)
}

var programTypes = map[config.AttachType][]ebpf.ProgramType{
	config.TypeXDP:           {ebpf.XDP},
	config.TypeTCX:           {ebpf.SchedCLS, ebpf.SchedACT},
	config.TypeCgroup:        {ebpf.CGroupSKB, ebpf.CGroupSock, ebpf.CGroupSockAddr, ebpf.CGroupSockopt, ebpf.CGroupSysctl, ebpf.CGroupDevice, ebpf.SockOps},
	config.TypeTracepoint:    {ebpf.TracePoint},
	config.TypeRawTracepoint: {ebpf.RawTracepoint, ebpf.RawTracepointWritable},
	config.TypeTPBTF:         {ebpf.Tracing},
	config.TypeFentry:        {ebpf.Tracing},
	config.TypeFexit:         {ebpf.Tracing},
	config.TypeLSM:           {ebpf.LSM},
	config.TypeUprobe:        {ebpf.Kprobe},
	config.TypeUretprobe:     {ebpf.Kprobe},
	config.TypeNetfilter:     {ebpf.Netfilter},
}

func typeFromSpec(p *ebpf.ProgramSpec) (config.AttachType, error) {
	switch p.Type {
	case ebpf.XDP:
		return config.TypeXDP, nil
	case ebpf.SchedCLS, ebpf.SchedACT:
		return config.TypeTCX, nil
	case ebpf.CGroupSKB, ebpf.CGroupSock, ebpf.CGroupSockAddr, ebpf.CGroupSockopt, ebpf.CGroupSysctl, ebpf.CGroupDevice, ebpf.SockOps:
		return config.TypeCgroup, nil
	case ebpf.TracePoint:
		return config.TypeTracepoint, nil
	case ebpf.RawTracepoint, ebpf.RawTracepointWritable:
		return config.TypeRawTracepoint, nil
	case ebpf.Tracing:
		switch p.AttachType {
		case ebpf.AttachTraceRawTp:
			return config.TypeTPBTF, nil
		case ebpf.AttachTraceFEntry:
			return config.TypeFentry, nil
		case ebpf.AttachTraceFExit:
			return config.TypeFexit, nil
		}
	case ebpf.LSM:
		return config.TypeLSM, nil
	case ebpf.Kprobe:
		switch {
		case strings.HasPrefix(p.SectionName, "uretprobe"):
			return config.TypeUretprobe, nil
		case strings.HasPrefix(p.SectionName, "uprobe"):
			return config.TypeUprobe, nil
		}
	case ebpf.Netfilter:
		return config.TypeNetfilter, nil
	}
	return "", fmt.Errorf("section %q (%s program) has no attach type bpfunit can link-attach; set Type= to one of %s",
		p.SectionName, p.Type, typeList())
}

func typeList() string {
	var s []string
	for _, t := range config.AttachTypes {
		s = append(s, string(t))
	}
	return strings.Join(s, ", ")
}

func newAttacher(typ config.AttachType, a config.Attach, p *ebpf.ProgramSpec) (attacher, error) {
	switch typ {
	case config.TypeXDP:
		return newXDP(a)
	case config.TypeTCX:
		return newTCX(a)
	case config.TypeCgroup:
		return newCgroup(a, p)
	case config.TypeTracepoint:
		return newTracepoint(a, p)
	case config.TypeRawTracepoint:
		return newRawTracepoint(a, p)
	case config.TypeTPBTF, config.TypeFentry, config.TypeFexit:
		return newTracing(typ, a, p)
	case config.TypeLSM:
		return newLSM(a, p)
	case config.TypeUprobe, config.TypeUretprobe:
		return newUprobe(typ, a, p)
	case config.TypeNetfilter:
		return newNetfilter(a)
	}
	return nil, fmt.Errorf("Type=%s is not supported", typ)
}
