package loader

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/bpfunit/bpfunit/internal/config"
)

type uprobeAttacher struct {
	ret    bool
	binary string
	symbol string
	offset uint64
	pid    int
}

var _ attacher = (*uprobeAttacher)(nil)

func newUprobe(typ config.AttachType, a config.Attach, p *ebpf.ProgramSpec) (*uprobeAttacher, error) {
	u := &uprobeAttacher{ret: typ == config.TypeUretprobe, binary: a.Binary, symbol: a.Symbol, offset: a.Offset, pid: a.PID}
	if u.binary == "" {
		// libbpf's SEC("uprobe//bin/bash:readline")
		if _, rest, ok := strings.Cut(p.SectionName, "/"); ok {
			if i := strings.LastIndex(rest, ":"); i > 0 {
				u.binary, u.symbol = rest[:i], rest[i+1:]
			}
		}
	}
	if u.binary == "" || !strings.HasPrefix(u.binary, "/") {
		return nil, fmt.Errorf("Type=%s needs Binary= (an absolute path)", typ)
	}
	if u.symbol == "" && u.offset == 0 {
		return nil, fmt.Errorf("Type=%s needs Symbol= or Offset=", typ)
	}
	return u, nil
}

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

func (u *uprobeAttacher) prepare(p *ebpf.ProgramSpec) error { return nil }

func (u *uprobeAttacher) updatable() bool { return false }

func (u *uprobeAttacher) attach(prog *ebpf.Program, _ map[string]*ebpf.Program) (link.Link, error) {
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
