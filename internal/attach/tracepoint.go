package attach

import (
	"fmt"
	"strings"
)

// Tracepoint is Type=tracepoint.
var Tracepoint = &Type{
	Name:    "tracepoint",
	Rank:    40,
	Keys:    []string{"Tracepoint"},
	Program: "a tracepoint program",
	Needs:   []Feature{{BTF: "BPF_LINK_TYPE_PERF_EVENT", What: "the perf-event bpf_link (pinnable tracepoint links)", Since: "5.15"}},
	// A perf-event link has no update operation: replace is make-before-break.
	Updatable: false,
	Link:      "BPF_LINK_TYPE_PERF_EVENT",
	PinTarget: "GROUP:NAME",
	Check: func(s *Section, _ func(string) bool) (string, string) {
		if s.Tracepoint != "" && strings.Count(s.Tracepoint, ":")+strings.Count(s.Tracepoint, "/") != 1 {
			return "Tracepoint", fmt.Sprintf("%q: Type=tracepoint expects GROUP:NAME or GROUP/NAME", s.Tracepoint)
		}
		return "", ""
	},
	Deps: func(*Section, DepEnv) Deps { return Deps{Mounts: []string{Tracefs}} },
}

// RawTracepoint is Type=raw_tracepoint.
var RawTracepoint = &Type{
	Name:      "raw_tracepoint",
	Rank:      50,
	Keys:      []string{"Tracepoint"},
	Program:   "a raw tracepoint program",
	Needs:     []Feature{{BTF: "BPF_LINK_TYPE_RAW_TRACEPOINT", What: "the raw tracepoint bpf_link", Since: "5.8"}},
	Updatable: false,
	Link:      "BPF_LINK_TYPE_RAW_TRACEPOINT",
	PinTarget: "NAME",
	Check: func(s *Section, _ func(string) bool) (string, string) {
		if strings.ContainsAny(s.Tracepoint, ":/") {
			return "Tracepoint", fmt.Sprintf("%q: Type=raw_tracepoint expects a bare NAME", s.Tracepoint)
		}
		return "", ""
	},
}

func init() { register(Tracepoint, RawTracepoint) }
