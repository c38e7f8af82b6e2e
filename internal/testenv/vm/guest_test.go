package vm_test

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/features"
	"github.com/cilium/ebpf/link"

	"github.com/bpfunit/bpfunit/internal/testenv"
	"github.com/bpfunit/bpfunit/internal/testenv/vm"
)

// TestGuest runs inside the VM only (run-in-vm.sh, TestBoot or
// `make test-kernels`): it checks the environment the runner promises and
// probes every attach type bpfunit supports with a program that counts its
// runs, on the kernel at hand. Each attach type is a subtest that passes when
// the program loads, attaches, runs and its link pins, and skips with the
// kernel's reason when the feature is missing, so the kernel-matrix table
// doubles as the feature table of docs/kernels.md.
func TestGuest(t *testing.T) {
	if !vm.InVM() {
		t.Skip("runs only inside the kernel-matrix VM (scripts/vm/run-in-vm.sh)")
	}
	testenv.SkipUnlessRoot(t)
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		t.Fatal(err)
	}
	release := unix.ByteSliceToString(uts.Release[:])
	t.Logf("kernel %s", release)
	if want := os.Getenv("BPFUNIT_VM_EXPECT"); want != "" && release != want {
		t.Fatalf("uname -r = %s, want %s", release, want)
	}

	t.Run("mounts", func(t *testing.T) {
		for _, m := range []struct {
			path  string
			magic int64
		}{
			{"/sys/fs/bpf", unix.BPF_FS_MAGIC},
			{"/sys/kernel/tracing", unix.TRACEFS_MAGIC},
			{"/sys/fs/cgroup", unix.CGROUP2_SUPER_MAGIC},
			{"/run", unix.TMPFS_MAGIC},
		} {
			var st unix.Statfs_t
			if err := unix.Statfs(m.path, &st); err != nil {
				t.Errorf("statfs %s: %v", m.path, err)
			} else if int64(st.Type) != m.magic {
				t.Errorf("%s: filesystem magic %#x, want %#x", m.path, st.Type, m.magic)
			}
		}
		wd, _ := os.Getwd()
		if f, err := os.CreateTemp(wd, "probe"); err == nil {
			t.Logf("working directory %s is writable", wd)
			f.Close()
			os.Remove(f.Name())
		} else {
			t.Logf("working directory %s is read-only (host / is shared read-only)", wd)
		}
	})

	t.Run("netns-ping", func(t *testing.T) {
		a, b := vethPair(t)
		ping(t, a, "10.99.0.2")
		_ = b
	})

	probes := []struct {
		name    string
		spec    ebpf.ProgramSpec
		ret     int32
		attach  func(t *testing.T, prog *ebpf.Program, ns *netns) (link.Link, error)
		trigger func(t *testing.T, ns *netns)
	}{
		{"xdp", ebpf.ProgramSpec{Type: ebpf.XDP}, 2, /* XDP_PASS */
			func(t *testing.T, p *ebpf.Program, ns *netns) (link.Link, error) {
				var l link.Link
				err := ns.b.do(func() error {
					ifi, err := net.InterfaceByName("vb")
					if err != nil {
						return err
					}
					l, err = link.AttachXDP(link.XDPOptions{Program: p, Interface: ifi.Index})
					return err
				})
				return l, err
			}, pingAB},
		{"tcx", ebpf.ProgramSpec{Type: ebpf.SchedCLS}, 0, /* TC_ACT_OK */
			func(t *testing.T, p *ebpf.Program, ns *netns) (link.Link, error) {
				var l link.Link
				err := ns.b.do(func() error {
					ifi, err := net.InterfaceByName("vb")
					if err != nil {
						return err
					}
					l, err = link.AttachTCX(link.TCXOptions{Program: p, Interface: ifi.Index, Attach: ebpf.AttachTCXIngress})
					return err
				})
				return l, err
			}, pingAB},
		{"netfilter", ebpf.ProgramSpec{Type: ebpf.Netfilter, AttachType: ebpf.AttachNetfilter}, 1, /* NF_ACCEPT */
			func(t *testing.T, p *ebpf.Program, ns *netns) (link.Link, error) {
				var l link.Link
				err := ns.b.do(func() (err error) {
					l, err = link.AttachNetfilter(link.NetfilterOptions{Program: p,
						ProtocolFamily: link.NetfilterProtoIPv4, Hook: link.NetfilterInetLocalIn, Priority: -128})
					return err
				})
				return l, err
			}, pingAB},
		{"cgroup", ebpf.ProgramSpec{Type: ebpf.CGroupSKB, AttachType: ebpf.AttachCGroupInetEgress}, 1, /* allow */
			func(t *testing.T, p *ebpf.Program, ns *netns) (link.Link, error) {
				cg := filepath.Join("/sys/fs/cgroup", fmt.Sprintf("bpfunit-vm-%d", os.Getpid()))
				if err := os.Mkdir(cg, 0o755); err != nil {
					return nil, err
				}
				t.Cleanup(func() { os.Remove(cg) })
				ns.cgroup = cg
				return link.AttachCgroup(link.CgroupOptions{Path: cg, Attach: ebpf.AttachCGroupInetEgress, Program: p})
			},
			func(t *testing.T, ns *netns) {
				// ping from a shell moved into the cgroup first
				run(t, "sh", "-c", fmt.Sprintf("echo $$ > %s/cgroup.procs && exec ip netns exec %s ping -q -c 2 -i 0.2 -W 2 10.99.0.2", ns.cgroup, ns.a.name))
			}},
		{"tracepoint", ebpf.ProgramSpec{Type: ebpf.TracePoint}, 0,
			func(t *testing.T, p *ebpf.Program, _ *netns) (link.Link, error) {
				return link.Tracepoint("syscalls", "sys_enter_getppid", p, nil)
			}, func(*testing.T, *netns) { unix.Getppid() }},
		{"raw_tracepoint", ebpf.ProgramSpec{Type: ebpf.RawTracepoint}, 0,
			func(t *testing.T, p *ebpf.Program, _ *netns) (link.Link, error) {
				return link.AttachRawTracepoint(link.RawTracepointOptions{Name: "sys_enter", Program: p})
			}, func(*testing.T, *netns) { unix.Getppid() }},
		{"tp_btf", ebpf.ProgramSpec{Type: ebpf.Tracing, AttachType: ebpf.AttachTraceRawTp, AttachTo: "sys_enter"}, 0,
			func(t *testing.T, p *ebpf.Program, _ *netns) (link.Link, error) {
				return link.AttachTracing(link.TracingOptions{Program: p})
			}, func(*testing.T, *netns) { unix.Getppid() }},
		{"fentry", ebpf.ProgramSpec{Type: ebpf.Tracing, AttachType: ebpf.AttachTraceFEntry, AttachTo: "do_sys_openat2"}, 0,
			func(t *testing.T, p *ebpf.Program, _ *netns) (link.Link, error) {
				return link.AttachTracing(link.TracingOptions{Program: p})
			}, openFile},
		{"fexit", ebpf.ProgramSpec{Type: ebpf.Tracing, AttachType: ebpf.AttachTraceFExit, AttachTo: "do_sys_openat2"}, 0,
			func(t *testing.T, p *ebpf.Program, _ *netns) (link.Link, error) {
				return link.AttachTracing(link.TracingOptions{Program: p})
			}, openFile},
		{"lsm", ebpf.ProgramSpec{Type: ebpf.LSM, AttachType: ebpf.AttachLSMMac, AttachTo: "file_open"}, 0, /* allow */
			func(t *testing.T, p *ebpf.Program, _ *netns) (link.Link, error) {
				return link.AttachLSM(link.LSMOptions{Program: p})
			}, openFile},
		// libc, not a function of this binary: go test strips test binaries.
		{"uprobe", ebpf.ProgramSpec{Type: ebpf.Kprobe}, 0,
			func(t *testing.T, p *ebpf.Program, _ *netns) (link.Link, error) {
				libc, err := filepath.EvalSymlinks("/lib/x86_64-linux-gnu/libc.so.6")
				if err != nil {
					t.Skipf("no glibc: %v", err)
				}
				ex, err := link.OpenExecutable(libc)
				if err != nil {
					return nil, err
				}
				return ex.Uprobe("__libc_start_main", p, nil)
			}, func(t *testing.T, _ *netns) { run(t, "/bin/true") }},
	}
	for _, pr := range probes {
		t.Run(pr.name, func(t *testing.T) {
			testenv.CheckLeaks(t)
			pins := testenv.TempBPFFS(t)
			var ns *netns
			if pr.trigger != nil && (pr.name == "xdp" || pr.name == "tcx" || pr.name == "netfilter" || pr.name == "cgroup") {
				a, b := vethPair(t)
				ns = &netns{a: a, b: b}
			}
			counter, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer counter.Close()
			// Probe the program type first: loading a type the kernel
			// doesn't know fails with a bare EINVAL (netfilter on 6.1).
			skipIfMissing(t, "program type "+pr.spec.Type.String(), features.HaveProgramType(pr.spec.Type))
			spec := pr.spec
			spec.Name = "bpfunit_probe"
			spec.License = "GPL"
			spec.Instructions = countingProgram(counter, pr.ret)
			prog, err := ebpf.NewProgram(&spec)
			skipIfMissing(t, "load", err)
			defer prog.Close()
			l, err := pr.attach(t, prog, ns)
			skipIfMissing(t, "attach", err)
			defer l.Close()
			pin := filepath.Join(pins, "link")
			if err := l.Pin(pin); err != nil {
				t.Errorf("pin link: %v", err)
			} else if err := l.Unpin(); err != nil {
				t.Errorf("unpin link: %v", err)
			}
			pr.trigger(t, ns)
			var n uint64
			if err := counter.Lookup(uint32(0), &n); err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				t.Errorf("%s program attached but never ran", pr.name)
			}
			t.Logf("%s: loaded, attached, pinned, ran %d times", pr.name, n)
		})
	}
}

// countingProgram increments counter[0] and returns ret.
func countingProgram(counter *ebpf.Map, ret int32) asm.Instructions {
	return asm.Instructions{
		asm.StoreImm(asm.RFP, -4, 0, asm.Word),
		asm.Mov.Reg(asm.R2, asm.RFP),
		asm.Add.Imm(asm.R2, -4),
		asm.LoadMapPtr(asm.R1, counter.FD()),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, "out"),
		asm.Mov.Imm(asm.R1, 1),
		asm.StoreXAdd(asm.R0, asm.R1, asm.DWord),
		asm.Mov.Imm(asm.R0, ret).WithSymbol("out"),
		asm.Return(),
	}
}

// skipIfMissing skips when the kernel lacks the feature (ErrNotSupported),
// or refuses it outright (EPERM: lockdown, or trampolines unavailable as
// on some cloud kernels), and fails on any other error.
func skipIfMissing(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if errors.Is(err, ebpf.ErrNotSupported) {
		t.Skipf("kernel lacks a feature: %s: %v", what, err)
	}
	if errors.Is(err, unix.EPERM) {
		t.Skipf("kernel refuses: %s: %v", what, err)
	}
	t.Fatalf("%s: %v", what, err)
}

func openFile(t *testing.T, _ *netns) {
	f, err := os.Open("/proc/self/stat")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
}

type ns struct{ name string }

type netns struct {
	a, b   *ns
	cgroup string
}

// do runs fn on an OS thread switched into the namespace.
func (n *ns) do(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // not unlocked: the thread dies with the goroutine if restoring fails
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			errc <- err
			return
		}
		defer orig.Close()
		target, err := os.Open("/run/netns/" + n.name)
		if err != nil {
			errc <- err
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns %s: %w", n.name, err)
			return
		}
		err = fn()
		if unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		errc <- err
	}()
	return <-errc
}

// vethPair creates network namespaces a (10.99.0.1 on va) and b (10.99.0.2
// on vb) joined by a veth pair, deleted at cleanup.
func vethPair(t *testing.T) (*ns, *ns) {
	t.Helper()
	testenv.NeedCommand(t, "ip")
	id := fmt.Sprintf("%d-%s", os.Getpid(), strings.ReplaceAll(t.Name(), "/", "-"))
	a, b := &ns{"bpfunit-a-" + id}, &ns{"bpfunit-b-" + id}
	for _, n := range []*ns{a, b} {
		run(t, "ip", "netns", "add", n.name)
		t.Cleanup(func() { exec.Command("ip", "netns", "del", n.name).Run() })
	}
	run(t, "ip", "link", "add", "va", "netns", a.name, "type", "veth", "peer", "name", "vb", "netns", b.name)
	run(t, "ip", "-n", a.name, "addr", "add", "10.99.0.1/24", "dev", "va")
	run(t, "ip", "-n", b.name, "addr", "add", "10.99.0.2/24", "dev", "vb")
	for _, c := range [][]string{{a.name, "va"}, {b.name, "vb"}} {
		run(t, "ip", "-n", c[0], "link", "set", c[1], "up")
		run(t, "ip", "-n", c[0], "link", "set", "lo", "up")
	}
	return a, b
}

func pingAB(t *testing.T, n *netns) { ping(t, n.a, "10.99.0.2") }

func ping(t *testing.T, from *ns, addr string) {
	t.Helper()
	testenv.NeedCommand(t, "ping")
	run(t, "ip", "netns", "exec", from.name, "ping", "-q", "-c", "2", "-i", "0.2", "-W", "2", addr)
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}
