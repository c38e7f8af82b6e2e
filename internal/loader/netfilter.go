package loader

import (
	"context"
	"strconv"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/bpfunit/bpfunit/internal/attach"
)

var (
	nfFamilies = []struct {
		name string
		fam  link.NetfilterProtocolFamily
	}{{"ipv4", unix.NFPROTO_IPV4}, {"ipv6", unix.NFPROTO_IPV6}}
	nfHooks = []struct {
		name string
		hook link.NetfilterInetHook
	}{
		{"prerouting", unix.NF_INET_PRE_ROUTING}, {"input", unix.NF_INET_LOCAL_IN}, {"forward", unix.NF_INET_FORWARD},
		{"output", unix.NF_INET_LOCAL_OUT}, {"postrouting", unix.NF_INET_POST_ROUTING},
	}
)

func init() {
	registerKind(&kind{
		Type:     attach.Netfilter,
		programs: []ebpf.ProgramType{ebpf.Netfilter},
		new: func(s *attach.Section, _ *ebpf.ProgramSpec) (attacher, error) {
			n := &netfilterAttacher{family: s.Family, hook: s.Hook, netns: s.Namespace,
				opts: link.NetfilterOptions{Priority: s.Priority}}
			for _, f := range nfFamilies {
				if f.name == s.Family {
					n.opts.ProtocolFamily = f.fam
				}
			}
			for _, h := range nfHooks {
				if h.name == s.Hook {
					n.opts.Hook = h.hook
				}
			}
			return n, nil
		},
	})
}

type netfilterAttacher struct {
	sealed
	noPrepare
	family, hook string
	netns        string
	opts         link.NetfilterOptions
}

var _ attacher = (*netfilterAttacher)(nil)

func (n *netfilterAttacher) target() string {
	return netnsTarget(n.netns, n.family+":"+n.hook+":"+strconv.Itoa(int(n.opts.Priority)))
}

// Netfilter hooks are per network namespace, like interfaces.
func (n *netfilterAttacher) attach(ctx context.Context, prog *ebpf.Program, _ map[string]*ebpf.Program) (l link.Link, err error) {
	opts := n.opts
	opts.Program = prog
	err = inNetns(n.netns, func() error {
		l, err = link.AttachNetfilter(opts)
		return err
	})
	return l, err
}
