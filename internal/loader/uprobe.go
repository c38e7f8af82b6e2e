package loader

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/bpfunit/bpfunit/internal/attach"
)

func init() { registerKind(uprobeKind(attach.Uprobe, false), uprobeKind(attach.Uretprobe, true)) }

func uprobeKind(t *attach.Type, ret bool) *kind {
	return &kind{
		Type:     t,
		programs: []ebpf.ProgramType{ebpf.Kprobe},
		fromSection: func(p *ebpf.ProgramSpec) bool {
			// uretprobe/ must not count as uprobe; uprobe.multi/ is another link.
			sec, _, _ := strings.Cut(p.SectionName, "/")
			return p.AttachType == ebpf.AttachNone && (sec == string(t.Name) || sec == string(t.Name)+".s")
		},
		new: func(s *attach.Section, p *ebpf.ProgramSpec) (attacher, error) {
			u := &uprobeAttacher{ret: ret, binary: s.Binary, symbol: s.Symbol, offset: s.Offset, pid: s.PID}
			if u.binary == "" {
				// libbpf's SEC("uprobe//bin/bash:readline")
				if _, rest, ok := strings.Cut(p.SectionName, "/"); ok {
					if i := strings.LastIndex(rest, ":"); i > 0 {
						u.binary, u.symbol = rest[:i], rest[i+1:]
					}
				}
			}
			if u.binary == "" || !strings.HasPrefix(u.binary, "/") {
				return nil, fmt.Errorf("Type=%s needs Binary= (an absolute path)", t.Name)
			}
			if u.symbol == "" && u.offset == 0 {
				return nil, fmt.Errorf("Type=%s needs Symbol= or Offset=", t.Name)
			}
			return u, nil
		},
	}
}

type uprobeAttacher struct {
	sealed
	noPrepare
	ret    bool
	binary string
	symbol string
	offset uint64
	pid    int
}

var _ attacher = (*uprobeAttacher)(nil)

func (u *uprobeAttacher) target() string {
	t := u.binary + ":"
	if u.symbol != "" {
		t += u.symbol
		if u.offset != 0 {
			t += "+"
		}
	}
	if u.offset != 0 {
		t += "0x" + strconv.FormatUint(u.offset, 16)
	}
	if u.pid != 0 {
		t += ":" + strconv.Itoa(u.pid)
	}
	return t
}

func (u *uprobeAttacher) attach(ctx context.Context, prog *ebpf.Program, _ map[string]*ebpf.Program) (link.Link, error) {
	ex, err := link.OpenExecutable(u.binary)
	if err != nil {
		return nil, err
	}
	opts := &link.UprobeOptions{PID: u.pid}
	sym := u.symbol
	if sym == "" {
		// An offset alone is an address in the file.
		opts.Address = u.offset
	} else {
		opts.Offset = u.offset
	}
	if u.ret {
		return ex.Uretprobe(sym, prog, opts)
	}
	return ex.Uprobe(sym, prog, opts)
}
