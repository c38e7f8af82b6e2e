package loader

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/bpfunit/bpfunit/internal/attach"
	"github.com/bpfunit/bpfunit/internal/config"
	"github.com/bpfunit/bpfunit/internal/pins"
)

// Attachment is one planned [Attach] section.
type Attachment struct {
	Program string
	Type    config.AttachType
	Target  string
	// PinName is the link's pin name: "<program>@<escaped target>".
	PinName string
	Config  config.Attach
	kind    *kind
	impl    attacher
}

// Updatable reports whether the link can swap programs atomically.
func (a *Attachment) Updatable() bool { return a.kind.Updatable }

// Attach creates the link for a's program, taken from progs. ctx bounds
// what the attach waits for besides the kernel (systemd, for the cgroup
// of a unit); a ctx already done attaches nothing.
func (a *Attachment) Attach(ctx context.Context, progs map[string]*ebpf.Program) (link.Link, error) {
	prog, ok := progs[a.Program]
	if !ok {
		return nil, fmt.Errorf("program %s was not loaded", a.Program)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("attach %s: %w", a, err)
	}
	l, err := a.impl.attach(ctx, prog, progs)
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
// touches nothing in the kernel.
func Plan(u *config.Unit, spec *Spec) ([]*Attachment, error) {
	var out []*Attachment
	seen := map[string]string{}
	for _, a := range u.Attach {
		ps, ok := spec.Programs[a.Program]
		if !ok {
			return nil, configError{fmt.Errorf("%s:%d: [Attach] Program=%s: not found in %s (it has: %s)",
				a.File, a.Line, a.Program, u.Object.Path, keyList(spec.Programs))}
		}
		kind, err := resolveType(a, ps)
		if err != nil {
			return nil, configError{fmt.Errorf("%s:%d: [Attach] Program=%s: %w", a.File, a.Line, a.Program, err)}
		}
		impl, err := kind.new(&a, ps)
		if err != nil {
			return nil, configError{fmt.Errorf("%s:%d: [Attach] Program=%s: %w", a.File, a.Line, a.Program, err)}
		}
		att := &Attachment{Program: a.Program, Type: kind.Name, Target: impl.target(), Config: a, kind: kind, impl: impl}
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
// program type and the ELF section), else from the ELF section.
func resolveType(a config.Attach, p *ebpf.ProgramSpec) (*kind, error) {
	fromELF := kindFromSpec(p)
	if a.Type == "" {
		if fromELF == nil {
			return nil, fmt.Errorf("%s (section %q) is %s, which has no attach type bpfunit can link-attach; set Type= to one of %s",
				p.Name, p.SectionName, programKind(p), strings.Join(attach.Names(), ", "))
		}
		return fromELF, nil
	}
	want := kindOf(a.Type)
	if want == nil {
		return nil, fmt.Errorf("Type=%s is not supported", a.Type)
	}
	if !slices.Contains(want.programs, p.Type) {
		return nil, fmt.Errorf("Type=%s needs %s; %s (section %q) is %s", a.Type, want.Program, p.Name, p.SectionName, programKind(p))
	}
	// Types sharing a program type (fentry/fexit/tp_btf, kprobe/uprobe)
	// differ in how the section loads the program: believe the section.
	if fromELF != nil && fromELF != want {
		return nil, fmt.Errorf("Type=%s, but section %q makes %s %s", a.Type, p.SectionName, p.Name, fromELF.Program)
	}
	return want, nil
}

// programKind names p's program type for messages: "an XDP program".
func programKind(p *ebpf.ProgramSpec) string {
	if k := kindFromSpec(p); k != nil {
		return k.Program
	}
	for _, t := range attach.All() {
		if k := kindOf(t.Name); k != nil && slices.Contains(k.programs, p.Type) {
			return k.Program
		}
	}
	return fmt.Sprintf("a %s program", p.Type)
}
