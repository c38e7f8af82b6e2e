package attach

import (
	"fmt"
	"path/filepath"
)

var (
	// Uprobe is Type=uprobe.
	Uprobe = uprobeType("uprobe", 120)
	// Uretprobe is Type=uretprobe.
	Uretprobe = uprobeType("uretprobe", 130)
)

func init() { register(Uprobe, Uretprobe) }

func uprobeType(name TypeName, rank int) *Type {
	return &Type{
		Name:      name,
		Rank:      rank,
		Keys:      []string{"Binary", "Symbol", "Offset", "PID"},
		Required:  []string{"Binary"},
		Program:   "a " + string(name) + " program",
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
	}
}
