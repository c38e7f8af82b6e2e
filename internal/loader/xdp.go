package loader

import (
	"fmt"
	"net"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/bpfunit/bpfunit/internal/config"
)

type xdpAttacher struct {
	iface, netns string
	flags        link.XDPAttachFlags
}

var _ attacher = (*xdpAttacher)(nil)

func newXDP(a config.Attach) (*xdpAttacher, error) {
	if a.Interface == "" {
		return nil, fmt.Errorf("Type=xdp needs Interface=")
	}
	x := &xdpAttacher{iface: a.Interface, netns: a.Namespace}
	switch a.Mode {
	case "", "auto":
	case "native":
		x.flags = link.XDPDriverMode
	case "generic":
		x.flags = link.XDPGenericMode
	default:
		return nil, fmt.Errorf("Mode=%s: accepted values: native, generic, auto", a.Mode)
	}
	return x, nil
}

func (x *xdpAttacher) target() string { return netnsTarget(x.netns, x.iface) }

func (x *xdpAttacher) prepare(p *ebpf.ProgramSpec) error { return nil }

func (x *xdpAttacher) updatable() bool { return true }

func (x *xdpAttacher) attach(prog *ebpf.Program, _ map[string]*ebpf.Program) (l link.Link, err error) {
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

// netnsTarget is the target of an interface attachment: "eth0", or
// "NETNS/eth0" inside a named network namespace.
func netnsTarget(netns, iface string) string {
	if netns == "" {
		return iface
	}
	return netns + "/" + iface
}

// ifindex must run inside the interface's namespace.
func ifindex(name, netns string) (int, error) {
	ifc, err := net.InterfaceByName(name)
	if err != nil {
		where := "this network namespace"
		if netns != "" {
			where = "network namespace " + netns
		}
		return 0, fmt.Errorf("interface %s not found in %s", name, where)
	}
	return ifc.Index, nil
}
