package attach

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

var (
	// Uprobe is Type=uprobe.
	Uprobe = uprobeType("uprobe", 120, false)
	// Uretprobe is Type=uretprobe.
	Uretprobe = uprobeType("uretprobe", 130, true)
)

func init() { register(Uprobe, Uretprobe) }

func uprobeType(name TypeName, rank int, ret bool) *Type {
	return &Type{
		Name:     name,
		Rank:     rank,
		Keys:     []string{"Binary", "Symbol", "Offset", "PID"},
		Required: []string{"Binary"},
		Programs: []ebpf.ProgramType{ebpf.Kprobe},
		Program:  "a " + string(name) + " program",
		FromSection: func(p *ebpf.ProgramSpec) bool {
			// uretprobe/ must not count as uprobe; uprobe.multi/ is another link.
			sec, _, _ := strings.Cut(p.SectionName, "/")
			return p.AttachType == ebpf.AttachNone && (sec == string(name) || sec == string(name)+".s")
		},
		Needs:     []Feature{{BTF: "BPF_LINK_TYPE_PERF_EVENT", What: "the perf-event bpf_link (pinnable " + string(name) + " links)", Since: "5.15"}},
		Updatable: false,
		Link:      "BPF_LINK_TYPE_PERF_EVENT",
		PinTarget: "BINARY:SYMBOL+OFFSET:PID",
		Check: func(s *Section, set func(string) bool) (string, string) {
			if !set("Symbol") && !set("Offset") {
				return "Symbol", fmt.Sprintf("Type=%s needs Symbol= or Offset= (or both)", name)
			}
			return "", ""
		},
		Deps: func(s *Section, _ DepEnv) Deps {
			d := Deps{Mounts: []string{Tracefs}}
			if filepath.IsAbs(s.Binary) {
				d.Mounts = append(d.Mounts, s.Binary)
			}
			return d
		},
		New: func(s *Section, p *ebpf.ProgramSpec) (Attacher, error) {
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
				return nil, fmt.Errorf("Type=%s needs Binary= (an absolute path)", name)
			}
			if u.symbol == "" && u.offset == 0 {
				return nil, fmt.Errorf("Type=%s needs Symbol= or Offset=", name)
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

var _ Attacher = (*uprobeAttacher)(nil)

func (u *uprobeAttacher) Target() string {
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

func (u *uprobeAttacher) Attach(ctx context.Context, prog *ebpf.Program, _ map[string]*ebpf.Program) (link.Link, error) {
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
