package loader

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	sddbus "github.com/coreos/go-systemd/v22/dbus"

	"github.com/bpfunit/bpfunit/internal/attach"
)

func init() {
	registerKind(&kind{
		Type:     attach.Cgroup,
		programs: []ebpf.ProgramType{ebpf.CGroupSKB, ebpf.CGroupSock, ebpf.CGroupSockAddr, ebpf.CGroupSockopt, ebpf.CGroupSysctl, ebpf.CGroupDevice, ebpf.SockOps},
		new: func(s *attach.Section, p *ebpf.ProgramSpec) (attacher, error) {
			// AttachNone and AttachCGroupInetIngress are both 0: only the section
			// name tells a cgroup_skb/ingress program from one that names no hook.
			if p.AttachType == ebpf.AttachNone && p.SectionName != "cgroup_skb/ingress" {
				return nil, fmt.Errorf("section %q does not say where in the cgroup to attach (use e.g. SEC(\"cgroup_skb/egress\"))", p.SectionName)
			}
			return &cgroupAttacher{cgroup: s.Cgroup, attachType: p.AttachType}, nil
		},
	})
}

type cgroupAttacher struct {
	sealed
	noPrepare
	cgroup     string // as configured
	attachType ebpf.AttachType
}

var _ attacher = (*cgroupAttacher)(nil)

func (c *cgroupAttacher) target() string { return c.cgroup }

// Attach uses BPF_LINK_CREATE directly: link.AttachCgroup falls back to
// PROG_ATTACH, a global attachment nobody owns.
func (c *cgroupAttacher) attach(ctx context.Context, prog *ebpf.Program, _ map[string]*ebpf.Program) (link.Link, error) {
	path, err := CgroupPath(ctx, c.cgroup)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open cgroup: %w", err)
	}
	defer f.Close()
	raw, err := link.AttachRawLink(link.RawLinkOptions{Target: int(f.Fd()), Program: prog, Attach: c.attachType})
	if err != nil {
		return nil, err
	}
	return raw, nil
}

// CgroupPath resolves Cgroup= to a directory in the cgroup2 hierarchy: a
// path is taken relative to the cgroup2 mount (or as is, if already below
// it); a unit name is looked up in systemd's ControlGroup property.
func CgroupPath(ctx context.Context, cgroup string) (string, error) {
	root, err := Cgroup2Mount()
	if err != nil {
		return "", err
	}
	var rel string
	if strings.HasPrefix(cgroup, "/") {
		if strings.HasPrefix(cgroup, root+"/") || cgroup == root {
			return cgroup, nil
		}
		rel = cgroup
	} else {
		rel, err = unitCgroup(ctx, cgroup)
		if err != nil {
			return "", err
		}
	}
	path := filepath.Join(root, filepath.Clean("/"+rel))
	if st, err := os.Stat(path); err != nil || !st.IsDir() {
		return "", fmt.Errorf("cgroup %s: %s does not exist", cgroup, path)
	}
	return path, nil
}

// unitCgroupTimeout bounds the question to systemd when ctx has no
// deadline of its own.
const unitCgroupTimeout = 10 * time.Second

func unitCgroup(ctx context.Context, unit string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, unitCgroupTimeout)
	defer cancel()
	conn, err := sddbus.NewSystemConnectionContext(ctx)
	if err != nil {
		return "", fmt.Errorf("cgroup of %s: ask systemd: %w", unit, err)
	}
	defer conn.Close()
	iface := "org.freedesktop.systemd1.Service"
	switch {
	case strings.HasSuffix(unit, ".slice"):
		iface = "org.freedesktop.systemd1.Slice"
	case strings.HasSuffix(unit, ".scope"):
		iface = "org.freedesktop.systemd1.Scope"
	case strings.HasSuffix(unit, ".socket"):
		iface = "org.freedesktop.systemd1.Socket"
	}
	prop, err := conn.GetUnitTypePropertyContext(ctx, unit, strings.TrimPrefix(iface, "org.freedesktop.systemd1."), "ControlGroup")
	if err != nil {
		return "", fmt.Errorf("cgroup of %s: %w", unit, err)
	}
	cg, _ := prop.Value.Value().(string)
	if cg == "" {
		return "", fmt.Errorf("cgroup of %s: the unit has no cgroup (is it running?)", unit)
	}
	return cg, nil
}

// Cgroup2Mount finds where the unified hierarchy is mounted: /sys/fs/cgroup
// on unified systems, /sys/fs/cgroup/unified on hybrid ones.
func Cgroup2Mount() (string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", fmt.Errorf("find cgroup2 mount: %w", err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		// id parent major:minor root mountpoint opts... - fstype source superopts
		pre, post, ok := strings.Cut(s.Text(), " - ")
		if !ok {
			continue
		}
		if fs := strings.Fields(post); len(fs) > 0 && fs[0] == "cgroup2" {
			if f := strings.Fields(pre); len(f) >= 5 {
				return f[4], nil
			}
		}
	}
	return "", fmt.Errorf("find cgroup2 mount: no cgroup2 filesystem mounted")
}
