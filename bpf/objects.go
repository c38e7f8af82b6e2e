//go:build (386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64 || wasm) && linux

package bpf

import (
	"fmt"
	"sort"
)

// objects maps each object name to the bytes bpf2go embedded, exactly as
// committed in NAME_bpfel.o.
var objects = map[string][]byte{
	"xdp_counter":       _XdpCounterBytes,
	"tcx_counter":       _TcxCounterBytes,
	"cgroup_counter":    _CgroupCounterBytes,
	"trace_counter":     _TraceCounterBytes,
	"kfunc_counter":     _KfuncCounterBytes,
	"kprobe_counter":    _KprobeCounterBytes,
	"uprobe_counter":    _UprobeCounterBytes,
	"netfilter_counter": _NetfilterCounterBytes,
	"tailcall":          _TailcallBytes,
	"bad":               _BadBytes,
}

// Object returns the bytes of the named compiled object ("xdp_counter",
// "tcx_counter", ...), as committed. The slice is a copy: callers may
// modify it.
func Object(name string) ([]byte, error) {
	b, ok := objects[name]
	if !ok {
		return nil, fmt.Errorf("bpf: no object %q (have %v)", name, Names())
	}
	return append([]byte(nil), b...), nil
}

// Names lists the object names, sorted.
func Names() []string {
	names := make([]string, 0, len(objects))
	for name := range objects {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}
