package loader

import (
	"context"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/bpfunit/bpfunit/internal/attach"
)

// xdpModes maps Mode= to the link's flags; auto lets the kernel pick
// native where the driver has it, else generic.
var xdpModes = []struct {
	name  string
	flags link.XDPAttachFlags
}{{"native", link.XDPDriverMode}, {"generic", link.XDPGenericMode}, {"auto", 0}}

func init() {
	registerKind(&kind{
		Type:     attach.XDP,
		programs: []ebpf.ProgramType{ebpf.XDP},
		new: func(s *attach.Section, _ *ebpf.ProgramSpec) (attacher, error) {
			x := &xdpAttacher{iface: s.Interface, netns: s.Namespace}
			for _, m := range xdpModes {
				if m.name == s.Mode {
					x.flags = m.flags
				}
			}
			return x, nil
		},
	})
}

type xdpAttacher struct {
	sealed
	noPrepare
	iface, netns string
	flags        link.XDPAttachFlags
}

var _ attacher = (*xdpAttacher)(nil)

func (x *xdpAttacher) target() string { return netnsTarget(x.netns, x.iface) }

func (x *xdpAttacher) attach(ctx context.Context, prog *ebpf.Program, _ map[string]*ebpf.Program) (l link.Link, err error) {
	err = inNetns(x.netns, func() error {
		idx, err := ifindex(x.iface, x.netns)
		if err != nil {
			return err
		}
		l, err = link.AttachXDP(link.XDPOptions{Program: prog, Interface: idx, Flags: x.flags})
		return err
	})
	return l, err
}
