package loader

import (
	"bytes"
	"os"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/bpfunit/bpfunit/bpf"
	"github.com/bpfunit/bpfunit/internal/config"
)

// FuzzLoadObject feeds mutated ELF objects through everything a start does
// before attaching: parse, plan, and (as root) load into the kernel without
// pinning. Nothing may panic, every error must be one line, and whatever
// loads is closed again.
func FuzzLoadObject(f *testing.F) {
	for _, name := range bpf.Names() {
		data, err := bpf.Object(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	root := os.Geteuid() == 0
	f.Fuzz(func(t *testing.T, data []byte) {
		spec, err := ReadSpec(bytes.NewReader(data))
		if err != nil {
			oneLineErr(t, err)
			return
		}
		for name, p := range spec.Programs {
			if p.Type != ebpf.XDP && p.Type != ebpf.SchedCLS {
				continue // keep the fuzzer to types that need no kernel target
			}
			u := &config.Unit{Name: "fuzz", Attach: []config.Attach{{Program: name, Interface: "lo"}}}
			plan, err := Plan(u, spec)
			if err != nil {
				oneLineErr(t, err)
				continue
			}
			if !root {
				continue
			}
			loaded, err := Load(spec, LoadOptions{Programs: []string{name}, NoPin: true, Prepare: Prepare(plan)})
			if err != nil {
				oneLineErr(t, err)
				continue
			}
			loaded.Close()
		}
	})
}

func oneLineErr(t *testing.T, err error) {
	t.Helper()
	if bytes.ContainsAny([]byte(err.Error()), "\n") {
		t.Fatalf("error is not one line: %q", err)
	}
}
