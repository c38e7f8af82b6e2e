package manager

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/bpfunit/bpfunit/internal/config"
	"github.com/bpfunit/bpfunit/internal/loader"
	"github.com/bpfunit/bpfunit/internal/state"
)

// busyError is an attachment the kernel refused with EBUSY, with who holds
// the hook and what to do.
type busyError struct {
	err error
	msg string
}

func (e *busyError) Error() string        { return e.err.Error() + "; " + e.msg }
func (e *busyError) Unwrap() error        { return e.err }
func (e *busyError) Is(target error) bool { return target == ErrBusy }

// explainBusy turns the EBUSY of an XDP attach (EEXIST when the holder
// runs in the other mode, native against generic) into who holds the
// interface: another bpfunit unit by name, found in the other units' state
// by program id (or by target when the kernel cannot tell), or another
// tool's program by name and id. Other errors are returned as they are.
func (m *Manager) explainBusy(unit string, a *loader.Attachment, err error) error {
	if a.Type != config.TypeXDP || !(errors.Is(err, unix.EBUSY) || errors.Is(err, unix.EEXIST)) {
		return err
	}
	iface := a.Config.Interface
	ids, qerr := loader.XDPProgramIDs(a.Config.Namespace, iface)
	others, _ := state.List(m.RunDir) // unreadable ones cannot be named anyway
	owner := func(id uint32) *state.Unit {
		for _, o := range others {
			for _, l := range o.Links {
				if o.Name != unit && !l.Detached && l.Type == string(config.TypeXDP) && (l.ProgID == id || (id == 0 && l.Target == a.Target)) {
					return o
				}
			}
		}
		return nil
	}
	var who []string
	for _, id := range ids {
		if o := owner(id); o != nil {
			who = append(who, fmt.Sprintf("bpfunit unit %s holds it (program id %d); stop that unit first (systemctl stop bpf@%s.service), or attach this one with Type=tcx", o.Name, id, o.Name))
			continue
		}
		name := "?"
		if p, err := ebpf.NewProgramFromID(ebpf.ProgramID(id)); err == nil {
			if info, err := p.Info(); err == nil {
				name = info.Name
			}
			p.Close()
		}
		in := "" // the commands, run where the interface is
		if ns := a.Config.Namespace; ns != "" {
			in = "ip netns exec " + ns + " "
		}
		who = append(who, fmt.Sprintf("another tool attached XDP program %s (id %d) to it (see: %sbpftool net show dev %s); detach that one (%sip link set dev %s xdp off, or %sxdp-loader unload %s --all), or attach this one with Type=tcx",
			name, id, in, iface, in, iface, in, iface))
	}
	if len(who) == 0 {
		if o := owner(0); o != nil {
			who = append(who, fmt.Sprintf("bpfunit unit %s holds it; stop that unit first (systemctl stop bpf@%s.service), or attach this one with Type=tcx", o.Name, o.Name))
		} else if qerr != nil {
			who = append(who, fmt.Sprintf("it has an XDP program already (reading which failed: %v); attach this one with Type=tcx", qerr))
		} else {
			who = append(who, "it has an XDP program already; attach this one with Type=tcx")
		}
	}
	return &busyError{err: err, msg: fmt.Sprintf("interface %s has an XDP program: %s", a.Target, strings.Join(who, "; "))}
}
