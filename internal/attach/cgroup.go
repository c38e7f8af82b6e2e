package attach

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
)

// cgroupTypes are the program types that attach to a cgroup.
var cgroupTypes = []ebpf.ProgramType{ebpf.CGroupSKB, ebpf.CGroupSock, ebpf.CGroupSockAddr, ebpf.CGroupSockopt, ebpf.CGroupSysctl, ebpf.CGroupDevice, ebpf.SockOps}

// Cgroup is Type=cgroup.
var Cgroup = &Type{
	Name:     "cgroup",
	Rank:     30,
	Keys:     []string{"Cgroup"},
	Required: []string{"Cgroup"},
	Programs: cgroupTypes,
	Program:  "a cgroup program (cgroup_skb, cgroup/sock, sockops, ...)",
	Needs:    []Feature{{BTF: "BPF_LINK_TYPE_CGROUP", What: "the cgroup bpf_link", Since: "5.7"}},
	// BPF_LINK_UPDATE works on cgroup links.
	Updatable: true,
	Link:      "BPF_LINK_TYPE_CGROUP",
	PinTarget: "CGROUP",
	Deps: func(s *Section, _ DepEnv) Deps {
		owner, ok := cgroupOwner(s.Cgroup)
		if !ok {
			return Deps{}
		}
		d := Deps{Wants: []string{owner}, After: []string{owner}}
		if !strings.HasSuffix(owner, ".slice") {
			// A restart of the owner makes a new cgroup: follow it.
			d.PartOf = []string{owner}
		}
		return d
	},
	New: func(s *Section, p *ebpf.ProgramSpec) (Attacher, error) {
		// AttachNone and AttachCGroupInetIngress are both 0: only the section
		// name tells a cgroup_skb/ingress program from one that names no hook.
		if p.AttachType == ebpf.AttachNone && p.SectionName != "cgroup_skb/ingress" {
			return nil, fmt.Errorf("section %q does not say where in the cgroup to attach (use e.g. SEC(\"cgroup_skb/egress\"))", p.SectionName)
		}
		return &cgroupAttacher{cgroup: s.Cgroup, attachType: p.AttachType}, nil
	},
}

func init() { register(Cgroup) }

// cgroupOwner returns the unit whose cgroup Cgroup= names, if it names a
// unit rather than a cgroup path.
func cgroupOwner(cg string) (string, bool) {
	if cg == "" || strings.Contains(cg, "/") {
		return "", false
	}
	for _, suffix := range []string{".service", ".slice", ".scope"} {
		if strings.HasSuffix(cg, suffix) && len(cg) > len(suffix) {
			return cg, true
		}
	}
	return "", false
}

type cgroupAttacher struct {
	sealed
	noPrepare
	cgroup     string // as configured
	attachType ebpf.AttachType
}

var _ Attacher = (*cgroupAttacher)(nil)

func (c *cgroupAttacher) Target() string { return c.cgroup }

// Attach uses BPF_LINK_CREATE directly: link.AttachCgroup falls back to
// PROG_ATTACH, a global attachment nobody owns.
func (c *cgroupAttacher) Attach(ctx context.Context, prog *ebpf.Program, _ map[string]*ebpf.Program) (link.Link, error) {
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
