package attach

import (
	"context"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// xdpModes maps Mode= to the link's flags; auto lets the kernel pick
// native where the driver has it, else generic.
var xdpModes = []struct {
	name  string
	flags link.XDPAttachFlags
}{{"native", link.XDPDriverMode}, {"generic", link.XDPGenericMode}, {"auto", 0}}

// XDP is Type=xdp.
var XDP = &Type{
	Name:      "xdp",
	Rank:      10,
	Keys:      []string{"Interface", "Namespace", "Mode"},
	Required:  []string{"Interface"},
	Values:    map[string][]string{"Mode": {"native", "generic", "auto"}},
	Programs:  []ebpf.ProgramType{ebpf.XDP},
	Program:   "an XDP program",
	Needs:     []Feature{{BTF: "BPF_LINK_TYPE_XDP", What: "the XDP bpf_link", Since: "5.9"}},
	Updatable: true,
	Link:      "BPF_LINK_TYPE_XDP",
	PinTarget: "IFACE, NETNS/IFACE",
	Deps: func(s *Section, env DepEnv) Deps {
		return deviceDeps(s.Interface, s.Namespace, env)
	},
	New: func(s *Section, _ *ebpf.ProgramSpec) (Attacher, error) {
		x := &xdpAttacher{iface: s.Interface, netns: s.Namespace}
		for _, m := range xdpModes {
			if m.name == s.Mode {
				x.flags = m.flags
			}
		}
		return x, nil
	},
}

func init() { register(XDP) }

type xdpAttacher struct {
	sealed
	noPrepare
	iface, netns string
	flags        link.XDPAttachFlags
}

var _ Attacher = (*xdpAttacher)(nil)

func (x *xdpAttacher) Target() string { return netnsTarget(x.netns, x.iface) }

func (x *xdpAttacher) Attach(ctx context.Context, prog *ebpf.Program, _ map[string]*ebpf.Program) (l link.Link, err error) {
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
