package loader

import (
	"fmt"
	"strconv"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/bpfunit/bpfunit/internal/config"
)

type netfilterAttacher struct {
	family, hook string
	netns        string
	opts         link.NetfilterOptions
}

var _ attacher = (*netfilterAttacher)(nil)

var (
	nfFamilies = map[string]link.NetfilterProtocolFamily{"ipv4": unix.NFPROTO_IPV4, "ipv6": unix.NFPROTO_IPV6}
	nfHooks    = map[string]link.NetfilterInetHook{
		"prerouting": unix.NF_INET_PRE_ROUTING, "input": unix.NF_INET_LOCAL_IN, "forward": unix.NF_INET_FORWARD,
		"output": unix.NF_INET_LOCAL_OUT, "postrouting": unix.NF_INET_POST_ROUTING,
	}
)

func newNetfilter(a config.Attach) (*netfilterAttacher, error) {
	fam, ok := nfFamilies[a.Family]
	if !ok {
		return nil, fmt.Errorf("Family=%s: accepted values: ipv4, ipv6", a.Family)
	}
	hook, ok := nfHooks[a.Hook]
	if !ok {
		return nil, fmt.Errorf("Hook=%s: accepted values: prerouting, input, forward, output, postrouting", a.Hook)
	}
	return &netfilterAttacher{family: a.Family, hook: a.Hook, netns: a.Namespace,
		opts: link.NetfilterOptions{ProtocolFamily: fam, Hook: hook, Priority: a.Priority}}, nil
}

func (n *netfilterAttacher) target() string {
	return netnsTarget(n.netns, n.family+":"+n.hook+":"+strconv.Itoa(int(n.opts.Priority)))
}

func (n *netfilterAttacher) prepare(p *ebpf.ProgramSpec) error { return nil }

// The kernel's netfilter link has no update operation.
func (n *netfilterAttacher) updatable() bool { return false }

// Netfilter hooks are per network namespace, like interfaces.
func (n *netfilterAttacher) attach(prog *ebpf.Program, _ map[string]*ebpf.Program) (l link.Link, err error) {
	opts := n.opts
	opts.Program = prog
	err = inNetns(n.netns, func() error {
		l, err = link.AttachNetfilter(opts)
		return err
	})
	return l, err
}
