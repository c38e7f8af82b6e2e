//go:build (386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64 || wasm) && linux

package bpf_test

// Kernel tests here load programs; run them under the machine-wide test
// lock (another package checks the kernel for leaked BPF objects):
//
//	flock /run/bpfunit-tests.lock go test ./bpf/

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/bpfunit/bpfunit/bpf"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/features"
	"github.com/cilium/ebpf/link"

	"github.com/bpfunit/bpfunit/internal/testenv"
	"golang.org/x/sys/unix"
)

type progWant struct {
	section string
	typ     ebpf.ProgramType
	attach  ebpf.AttachType
	// kfunc: fentry/fexit/lsm, which fail to load with EPERM on some
	// kernels (the development VM's 6.18).
	kfunc bool
	// bad: the verifier must reject it.
	bad bool
}

type mapWant struct {
	typ     ebpf.MapType
	entries uint32
}

type objWant struct {
	progs  map[string]progWant
	maps   map[string]mapWant
	consts []string
}

func counter(entries uint32) mapWant { return mapWant{ebpf.Array, entries} }

var want = map[string]objWant{
	"xdp_counter": {
		progs: map[string]progWant{
			"xdp_count":    {section: "xdp", typ: ebpf.XDP, attach: ebpf.AttachXDP},
			"xdp_count_v2": {section: "xdp", typ: ebpf.XDP, attach: ebpf.AttachXDP},
		},
		maps:   map[string]mapWant{"xdp_stats": counter(2), "xdp_version": counter(3)},
		consts: []string{"drop"},
	},
	"tcx_counter": {
		progs: map[string]progWant{
			"tcx_ingress": {section: "tcx/ingress", typ: ebpf.SchedCLS, attach: ebpf.AttachTCXIngress},
			"tcx_egress":  {section: "tcx/egress", typ: ebpf.SchedCLS, attach: ebpf.AttachTCXEgress},
		},
		maps: map[string]mapWant{"tcx_stats": counter(2)},
	},
	"cgroup_counter": {
		progs: map[string]progWant{
			"cgroup_egress":  {section: "cgroup_skb/egress", typ: ebpf.CGroupSKB, attach: ebpf.AttachCGroupInetEgress},
			"cgroup_ingress": {section: "cgroup_skb/ingress", typ: ebpf.CGroupSKB, attach: ebpf.AttachCGroupInetIngress},
		},
		maps: map[string]mapWant{"cgroup_stats": counter(2)},
	},
	"trace_counter": {
		progs: map[string]progWant{
			"tp_getpid":        {section: "tracepoint/syscalls/sys_enter_getpid", typ: ebpf.TracePoint, attach: ebpf.AttachNone},
			"raw_tp_sys_enter": {section: "raw_tracepoint/sys_enter", typ: ebpf.RawTracepoint, attach: ebpf.AttachNone},
			"tp_btf_sys_enter": {section: "tp_btf/sys_enter", typ: ebpf.Tracing, attach: ebpf.AttachTraceRawTp},
		},
		maps:   map[string]mapWant{"trace_stats": counter(2), "btf_stats": counter(2)},
		consts: []string{"target_tgid"},
	},
	"kfunc_counter": {
		progs: map[string]progWant{
			"fentry_openat": {section: "fentry/do_sys_openat2", typ: ebpf.Tracing, attach: ebpf.AttachTraceFEntry, kfunc: true},
			"fexit_openat":  {section: "fexit/do_sys_openat2", typ: ebpf.Tracing, attach: ebpf.AttachTraceFExit, kfunc: true},
			"lsm_file_open": {section: "lsm/file_open", typ: ebpf.LSM, attach: ebpf.AttachLSMMac, kfunc: true},
		},
		maps:   map[string]mapWant{"kfunc_stats": counter(3)},
		consts: []string{"target_tgid"},
	},
	"kprobe_counter": {
		progs: map[string]progWant{
			"kprobe_openat":    {section: "kprobe/do_sys_openat2", typ: ebpf.Kprobe, attach: ebpf.AttachNone},
			"kretprobe_openat": {section: "kretprobe/do_sys_openat2", typ: ebpf.Kprobe, attach: ebpf.AttachNone},
		},
		maps:   map[string]mapWant{"kprobe_stats": counter(2)},
		consts: []string{"target_tgid"},
	},
	"uprobe_counter": {
		progs: map[string]progWant{
			"uprobe_hit":    {section: "uprobe", typ: ebpf.Kprobe, attach: ebpf.AttachNone},
			"uretprobe_hit": {section: "uretprobe", typ: ebpf.Kprobe, attach: ebpf.AttachNone},
		},
		maps:   map[string]mapWant{"uprobe_stats": counter(2)},
		consts: []string{"target_tgid"},
	},
	"netfilter_counter": {
		progs: map[string]progWant{
			"nf_count": {section: "netfilter", typ: ebpf.Netfilter, attach: ebpf.AttachNetfilter},
		},
		maps: map[string]mapWant{"nf_stats": counter(2)},
	},
	"tailcall": {
		progs: map[string]progWant{
			"xdp_entry": {section: "xdp", typ: ebpf.XDP, attach: ebpf.AttachXDP},
			"xdp_tail":  {section: "xdp", typ: ebpf.XDP, attach: ebpf.AttachXDP},
		},
		maps: map[string]mapWant{"jmp_table": {ebpf.ProgramArray, 4}, "tail_stats": counter(2)},
	},
	"bad": {
		progs: map[string]progWant{
			"xdp_bad": {section: "xdp", typ: ebpf.XDP, attach: ebpf.AttachXDP, bad: true},
			"xdp_ok":  {section: "xdp", typ: ebpf.XDP, attach: ebpf.AttachXDP},
		},
	},
}

func TestNames(t *testing.T) {
	var names []string
	for name := range want {
		names = append(names, name)
	}
	slices.Sort(names)
	if got := bpf.Names(); !slices.Equal(got, names) {
		t.Fatalf("bpf.Names() = %v, want %v", got, names)
	}
	for _, name := range names {
		b, err := bpf.Object(name)
		if err != nil {
			t.Fatal(err)
		}
		// "As committed": the embedded bytes are the .o file in the tree.
		file, err := os.ReadFile(name + "_bpfel.o")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, file) {
			t.Errorf("bpf.Object(%q) differs from %s_bpfel.o", name, name)
		}
	}
	if _, err := bpf.Object("nope"); err == nil {
		t.Error("bpf.Object(nope) succeeded")
	}
}

func loadSpec(t *testing.T, name string) *ebpf.CollectionSpec {
	t.Helper()
	b, err := bpf.Object(name)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return spec
}

func TestSpecs(t *testing.T) {
	for name, w := range want {
		t.Run(name, func(t *testing.T) {
			spec := loadSpec(t, name)
			if len(spec.Programs) != len(w.progs) {
				t.Errorf("%d programs, want %d", len(spec.Programs), len(w.progs))
			}
			for pname, pw := range w.progs {
				ps := spec.Programs[pname]
				if ps == nil {
					t.Errorf("no program %s", pname)
					continue
				}
				if ps.SectionName != pw.section || ps.Type != pw.typ || ps.AttachType != pw.attach {
					t.Errorf("%s: section %q type %v attach %v, want %q %v %v",
						pname, ps.SectionName, ps.Type, ps.AttachType, pw.section, pw.typ, pw.attach)
				}
				if ps.License != "Dual MIT/GPL" {
					t.Errorf("%s: license %q", pname, ps.License)
				}
			}
			// .rodata/.bss/.data are maps too; count only the named ones.
			for mname, mw := range w.maps {
				ms := spec.Maps[mname]
				if ms == nil {
					t.Errorf("no map %s", mname)
					continue
				}
				if ms.Type != mw.typ || ms.MaxEntries != mw.entries || ms.KeySize != 4 {
					t.Errorf("%s: type %v entries %d key size %d, want %v %d 4",
						mname, ms.Type, ms.MaxEntries, ms.KeySize, mw.typ, mw.entries)
				}
				if mw.typ == ebpf.Array && ms.ValueSize != 8 {
					t.Errorf("%s: value size %d, want 8", mname, ms.ValueSize)
				}
			}
			for mname := range spec.Maps {
				if _, ok := w.maps[mname]; !ok && mname != ".rodata" {
					t.Errorf("unexpected map %s", mname)
				}
			}
			for _, c := range w.consts {
				v := spec.Variables[c]
				if v == nil || !v.Constant() || v.Size() != 4 {
					t.Errorf("constant %s: %v", c, v)
				}
			}
			if btf := spec.Types; btf == nil {
				t.Error("no BTF")
			}
		})
	}
}

// requireRoot skips t unless root, and checks at cleanup that t left no
// BPF object behind in the kernel.
func requireRoot(t *testing.T) {
	t.Helper()
	testenv.SkipUnlessRoot(t)
	testenv.CheckLeaks(t)
	// ebpf.NewCollection mmaps .rodata for Collection.Variables, and
	// Collection.Close doesn't unmap it (cilium/ebpf v0.22.0): the mapping,
	// which holds the map alive, goes with a GC cleanup. Registered after
	// CheckLeaks, this runs before its check.
	t.Cleanup(func() { runtime.GC(); runtime.GC() })
}

// loadOnly loads only the program pname of spec (and what it references),
// the way bpfunit's loader loads only the programs a config names. Like that
// loader it must also take every PROG_ARRAY with static contents:
// LoadAndAssign refuses to leave one unassigned (the kernel empties it when
// the last user-space reference closes). The caller closes the returned
// maps after the program.
func loadOnly(spec *ebpf.CollectionSpec, pname string) (*ebpf.Program, []*ebpf.Map, error) {
	fields := []reflect.StructField{{
		Name: "P",
		Type: reflect.TypeFor[*ebpf.Program](),
		Tag:  reflect.StructTag(`ebpf:"` + pname + `"`),
	}}
	for mname, ms := range spec.Maps {
		if ms.Type == ebpf.ProgramArray && len(ms.Contents) > 0 {
			fields = append(fields, reflect.StructField{
				Name: fmt.Sprintf("M%d", len(fields)),
				Type: reflect.TypeFor[*ebpf.Map](),
				Tag:  reflect.StructTag(`ebpf:"` + mname + `"`),
			})
		}
	}
	obj := reflect.New(reflect.StructOf(fields))
	if err := spec.LoadAndAssign(obj.Interface(), nil); err != nil {
		return nil, nil, err
	}
	var maps []*ebpf.Map
	for i := 1; i < len(fields); i++ {
		maps = append(maps, obj.Elem().Field(i).Interface().(*ebpf.Map))
	}
	return obj.Elem().Field(0).Interface().(*ebpf.Program), maps, nil
}

func TestLoadPrograms(t *testing.T) {
	requireRoot(t)
	for name, w := range want {
		for pname, pw := range w.progs {
			t.Run(name+"/"+pname, func(t *testing.T) {
				if !pw.bad {
					skipIfTypeMissing(t, pw.typ)
				}
				prog, maps, err := loadOnly(loadSpec(t, name), pname)
				for _, m := range maps {
					defer m.Close()
				}
				if pw.bad {
					if err == nil {
						prog.Close()
						t.Fatal("verifier accepted xdp_bad")
					}
					var ve *ebpf.VerifierError
					if !errors.As(err, &ve) || len(ve.Log) == 0 {
						t.Fatalf("want a VerifierError with a log, got %v", err)
					}
					t.Logf("rejected as expected: %s", ve.Log[len(ve.Log)-1])
					return
				}
				if err != nil && (errors.Is(err, ebpf.ErrNotSupported) || pw.kfunc && errors.Is(err, unix.EPERM)) {
					t.Skipf("this kernel can't load %s: %v", pw.section, err)
				}
				if err != nil {
					t.Fatal(err)
				}
				defer prog.Close()
				if info, err := prog.Info(); err != nil {
					t.Error(err)
				} else if info.Type != pw.typ {
					t.Errorf("loaded type %v, want %v", info.Type, pw.typ)
				}
			})
		}
	}
}

// Every object without kfunc or bad programs loads as a whole collection.
func TestLoadCollections(t *testing.T) {
	requireRoot(t)
	for name, w := range want {
		t.Run(name, func(t *testing.T) {
			for _, pw := range w.progs {
				if pw.kfunc || pw.bad {
					t.Skip("object has programs this kernel may reject (see TestLoadPrograms)")
				}
				skipIfTypeMissing(t, pw.typ)
			}
			coll, err := ebpf.NewCollection(loadSpec(t, name))
			if errors.Is(err, ebpf.ErrNotSupported) {
				t.Skipf("kernel: %v", err)
			}
			if err != nil {
				t.Fatal(err)
			}
			coll.Close()
		})
	}
}

// packet is a minimal Ethernet frame for BPF_PROG_TEST_RUN.
var packet = make([]byte, 64)

func lookup(t *testing.T, m *ebpf.Map, key uint32) uint64 {
	t.Helper()
	var v uint64
	if err := m.Lookup(key, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestXDPCounter(t *testing.T) {
	requireRoot(t)
	for _, drop := range []uint32{0, 1} {
		spec := loadSpec(t, "xdp_counter")
		if err := spec.Variables["drop"].Set(drop); err != nil {
			t.Fatal(err)
		}
		coll, err := ebpf.NewCollection(spec)
		if err != nil {
			t.Fatal(err)
		}
		defer coll.Close()
		stats, version := coll.Maps["xdp_stats"], coll.Maps["xdp_version"]
		wantRet := uint32(2) // XDP_PASS
		if drop != 0 {
			wantRet = 1 // XDP_DROP
		}
		for i, pname := range []string{"xdp_count", "xdp_count_v2"} {
			ret, _, err := coll.Programs[pname].Test(packet)
			if err != nil {
				t.Fatal(err)
			}
			if ret != wantRet {
				t.Errorf("drop=%d %s returned %d, want %d", drop, pname, ret, wantRet)
			}
			if got := lookup(t, version, 0); got != uint64(i+1) {
				t.Errorf("%s: xdp_version[0] = %d, want %d", pname, got, i+1)
			}
			if got := lookup(t, version, uint32(i+1)); got != 1 {
				t.Errorf("%s: xdp_version[%d] = %d, want 1", pname, i+1, got)
			}
		}
		if p, b := lookup(t, stats, 0), lookup(t, stats, 1); p != 2 || b != 2*uint64(len(packet)) {
			t.Errorf("xdp_stats = %d packets %d bytes, want 2, %d", p, b, 2*len(packet))
		}
	}
}

func TestTailcall(t *testing.T) {
	requireRoot(t)
	coll, err := ebpf.NewCollection(loadSpec(t, "tailcall"))
	if err != nil {
		t.Fatal(err)
	}
	defer coll.Close()
	jmp, stats := coll.Maps["jmp_table"], coll.Maps["tail_stats"]

	// The static initialiser populated jmp_table[0] with xdp_tail.
	var id uint32
	if err := jmp.Lookup(uint32(0), &id); err != nil {
		t.Fatalf("jmp_table[0]: %v", err)
	}
	info, err := coll.Programs["xdp_tail"].Info()
	if err != nil {
		t.Fatal(err)
	}
	if tailID, _ := info.ID(); ebpf.ProgramID(id) != tailID {
		t.Errorf("jmp_table[0] = prog %d, want xdp_tail (%d)", id, tailID)
	}

	entry := coll.Programs["xdp_entry"]
	if ret, _, err := entry.Test(packet); err != nil || ret != 2 {
		t.Fatalf("xdp_entry: %d, %v", ret, err)
	}
	if lookup(t, stats, 0) != 1 || lookup(t, stats, 1) != 0 {
		t.Errorf("after tail call: tail_stats = [%d %d], want [1 0]", lookup(t, stats, 0), lookup(t, stats, 1))
	}
	if err := jmp.Delete(uint32(0)); err != nil {
		t.Fatal(err)
	}
	if ret, _, err := entry.Test(packet); err != nil || ret != 2 {
		t.Fatalf("xdp_entry: %d, %v", ret, err)
	}
	if lookup(t, stats, 0) != 1 || lookup(t, stats, 1) != 1 {
		t.Errorf("after failed tail call: tail_stats = [%d %d], want [1 1]", lookup(t, stats, 0), lookup(t, stats, 1))
	}
}

func TestSKBCounters(t *testing.T) {
	requireRoot(t)
	for _, tc := range []struct {
		obj, prog, m string
		key, ret     uint32
	}{
		{"tcx_counter", "tcx_ingress", "tcx_stats", 0, ^uint32(0)}, // TCX_NEXT
		{"tcx_counter", "tcx_egress", "tcx_stats", 1, ^uint32(0)},
		{"cgroup_counter", "cgroup_egress", "cgroup_stats", 0, 1},
		{"cgroup_counter", "cgroup_ingress", "cgroup_stats", 1, 1},
	} {
		t.Run(tc.prog, func(t *testing.T) {
			coll, err := ebpf.NewCollection(loadSpec(t, tc.obj))
			if errors.Is(err, ebpf.ErrNotSupported) {
				t.Skipf("kernel: %v", err)
			}
			if err != nil {
				t.Fatal(err)
			}
			defer coll.Close()
			ret, _, err := coll.Programs[tc.prog].Test(packet)
			if err != nil {
				t.Fatal(err)
			}
			if ret != tc.ret {
				t.Errorf("returned %d, want %d", int32(ret), int32(tc.ret))
			}
			if got := lookup(t, coll.Maps[tc.m], tc.key); got != 1 {
				t.Errorf("%s[%d] = %d, want 1", tc.m, tc.key, got)
			}
			if got := lookup(t, coll.Maps[tc.m], 1-tc.key); got != 0 {
				t.Errorf("%s[%d] = %d, want 0", tc.m, 1-tc.key, got)
			}
		})
	}
}

// TestTraceCounter attaches the three tracing programs with target_tgid set
// to this process and to a process that doesn't exist, and calls getpid.
func TestTraceCounter(t *testing.T) {
	requireRoot(t)
	const calls = 100
	for _, tgid := range []uint32{uint32(os.Getpid()), 0x7fffffff} {
		spec := loadSpec(t, "trace_counter")
		if err := spec.Variables["target_tgid"].Set(tgid); err != nil {
			t.Fatal(err)
		}
		coll, err := ebpf.NewCollection(spec)
		if err != nil {
			t.Fatal(err)
		}
		defer coll.Close()
		raw, err := link.AttachRawTracepoint(link.RawTracepointOptions{Name: "sys_enter", Program: coll.Programs["raw_tp_sys_enter"]})
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		btf, err := link.AttachTracing(link.TracingOptions{Program: coll.Programs["tp_btf_sys_enter"]})
		if err != nil {
			t.Fatal(err)
		}
		defer btf.Close()
		// A tracepoint (perf event) needs tracefs for the event id.
		tp, err := link.Tracepoint("syscalls", "sys_enter_getpid", coll.Programs["tp_getpid"], nil)
		haveTP := err == nil
		if haveTP {
			defer tp.Close()
		} else {
			t.Logf("tracepoint not checked (tracefs mounted?): %v", err)
		}

		for range calls {
			syscall.Getpid()
		}
		tpHits := lookup(t, coll.Maps["trace_stats"], 0)
		rawHits := lookup(t, coll.Maps["trace_stats"], 1)
		btfHits := lookup(t, coll.Maps["btf_stats"], 0)
		if tgid == uint32(os.Getpid()) {
			if haveTP && tpHits < calls || rawHits < calls || btfHits < calls {
				t.Errorf("own tgid: hits tp %d raw_tp %d tp_btf %d, want >= %d each", tpHits, rawHits, btfHits, calls)
			}
		} else if tpHits != 0 || rawHits != 0 || btfHits != 0 {
			t.Errorf("other tgid: hits tp %d raw_tp %d tp_btf %d, want 0", tpHits, rawHits, btfHits)
		}
	}
}

func TestNetfilterCounter(t *testing.T) {
	requireRoot(t)
	skipIfTypeMissing(t, ebpf.Netfilter)
	coll, err := ebpf.NewCollection(loadSpec(t, "netfilter_counter"))
	if errors.Is(err, ebpf.ErrNotSupported) {
		t.Skipf("kernel: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer coll.Close()
	// Ethernet + minimal IPv4 header: BPF_PROG_TEST_RUN for netfilter
	// programs builds an skb from it (IPv4, LOCAL_IN by default).
	pkt := make([]byte, 14+20+30)
	pkt[12], pkt[13] = 0x08, 0x00
	pkt[14] = 0x45
	pkt[16], pkt[17] = 0, byte(len(pkt)-14)
	pkt[22], pkt[23] = 64, 17
	ret, _, err := coll.Programs["nf_count"].Test(pkt)
	if errors.Is(err, ebpf.ErrNotSupported) {
		t.Skipf("test run: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if ret != 1 {
		t.Errorf("nf_count returned %d, want NF_ACCEPT (1)", ret)
	}
	p, b := lookup(t, coll.Maps["nf_stats"], 0), lookup(t, coll.Maps["nf_stats"], 1)
	if p != 1 || b == 0 {
		t.Errorf("nf_stats = %d packets %d bytes, want 1 and > 0", p, b)
	}
	t.Logf("nf_stats: %d packets, %d bytes", p, b)
}

// TestUprobeCounter probes /bin/bash's readline (the uprobe-bash example)
// and runs an interactive bash that reads one line.
func TestUprobeCounter(t *testing.T) {
	requireRoot(t)
	// The skip is decided by sysfs/tracefs, not by the attach under test:
	// where the kernel has uprobes, any attach error fails.
	testenv.NeedUprobes(t)
	const bash = "/bin/bash"
	testenv.NeedCommand(t, bash)
	exe, err := link.OpenExecutable(bash)
	if err != nil {
		t.Fatalf("%s: %v", bash, err)
	}
	coll, err := ebpf.NewCollection(loadSpec(t, "uprobe_counter"))
	if err != nil {
		t.Fatal(err)
	}
	defer coll.Close()
	up, err := exe.Uprobe("readline", coll.Programs["uprobe_hit"], nil)
	if err != nil {
		t.Fatalf("uprobe %s:readline: %v", bash, err)
	}
	defer up.Close()
	uret, err := exe.Uretprobe("readline", coll.Programs["uretprobe_hit"], nil)
	if err != nil {
		t.Fatal(err)
	}
	defer uret.Close()

	cmd := exec.Command(bash, "--norc", "--noprofile", "-i")
	cmd.Stdin = strings.NewReader("exit\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("bash: %v: %s", err, out)
	}
	in, ret := lookup(t, coll.Maps["uprobe_stats"], 0), lookup(t, coll.Maps["uprobe_stats"], 1)
	if in == 0 || ret == 0 {
		t.Errorf("uprobe_stats = [%d %d], want both > 0", in, ret)
	}
}

// skipIfTypeMissing skips t when the kernel lacks the program type (6.1
// has no netfilter programs and answers a load with a plain EINVAL).
func skipIfTypeMissing(t *testing.T, typ ebpf.ProgramType) {
	t.Helper()
	if err := features.HaveProgramType(typ); errors.Is(err, ebpf.ErrNotSupported) {
		t.Skipf("kernel lacks %s programs: %v", typ, err)
	}
}
