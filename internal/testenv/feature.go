package testenv

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/features"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/bpfunit/bpfunit/bpf"
)

// enotsupp is the kernel-internal ENOTSUPP (524) that leaks to user space
// from BPF_PROG_LOAD and BPF_LINK_CREATE where a feature is missing (e.g.
// BPF trampolines on an architecture without them).
const enotsupp = unix.Errno(524)

// SkipIfProgramRefused probes, by loading it, whether the kernel runs
// program prog of the committed object obj (see package bpf), and skips tb
// with "kernel refuses KIND programs: ERR" when it refuses it for lack of
// support (see [ProgramRefused]). Like cilium's
// testutils.SkipIfNotSupported, any other error fails tb: a test program
// that the verifier rejects is a bug.
func SkipIfProgramRefused(tb testing.TB, kind, obj, prog string) {
	tb.Helper()
	if err := ProgramRefused(tb, obj, prog); err != nil {
		tb.Skipf("kernel refuses %s programs: %v", kind, err)
	}
}

// ProgramRefused loads program prog of the committed object obj and
// returns why the kernel refuses it for lack of support, nil when it
// loads: EPERM before the verifier ran (as root that is never a permission
// problem; a 6.18 kernel without BPF trampolines answers so for fentry,
// fexit and lsm), ENOTSUPP or EOPNOTSUPP, or cilium/ebpf's
// ErrNotSupported. Any other error fails tb. The probe leaves nothing
// behind in the kernel.
func ProgramRefused(tb testing.TB, obj, prog string) error {
	tb.Helper()
	SkipUnlessRoot(tb)
	data, err := bpf.Object(obj)
	if err != nil {
		tb.Fatal(err)
	}
	spec, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(data))
	if err != nil {
		tb.Fatalf("parse object %s: %v", obj, err)
	}
	ps, ok := spec.Programs[prog]
	if !ok {
		tb.Fatalf("object %s has no program %s", obj, prog)
	}
	spec.Programs = map[string]*ebpf.ProgramSpec{prog: ps}
	coll, err := ebpf.NewCollection(spec)
	if err == nil {
		coll.Close()
		return nil
	}
	var ve *ebpf.VerifierError
	if errors.Is(err, ebpf.ErrNotSupported) || errors.Is(err, enotsupp) || errors.Is(err, unix.EOPNOTSUPP) ||
		(errors.Is(err, unix.EPERM) && !errors.As(err, &ve)) {
		// cilium/ebpf blames MEMLOCK for any EPERM; as root it never is.
		return errors.New(strings.Replace(err.Error(), " (MEMLOCK may be too low, consider rlimit.RemoveMemlock)", "", 1))
	}
	tb.Fatalf("probe: load %s of %s: %v", prog, obj, err)
	return nil
}

// NeedBPFLSM skips tb unless the BPF LSM is active: without "bpf" in the
// kernel's lsm= list, lsm programs load and attach but never run.
func NeedBPFLSM(tb testing.TB) {
	tb.Helper()
	data, err := os.ReadFile("/sys/kernel/security/lsm")
	if err != nil {
		tb.Skipf("can't tell whether the BPF LSM is active: %v", err)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(data)), ",") {
		if l == "bpf" {
			return
		}
	}
	tb.Skipf("the BPF LSM is not active (active LSMs: %s); boot with lsm=...,bpf", strings.TrimSpace(string(data)))
}

// NeedTCX skips tb unless the kernel has tcx links (Linux ≥ 6.6).
func NeedTCX(tb testing.TB) {
	tb.Helper()
	if why := TCXMissing(tb); why != "" {
		tb.Skip(why)
	}
}

// TCXMissing returns why the kernel has no tcx links, "" when it has. The
// probe attaches a trivial program to an interface index that does not
// exist: a kernel with tcx answers ENODEV, one without it "not supported".
func TCXMissing(tb testing.TB) string {
	tb.Helper()
	SkipUnlessRoot(tb)
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Type: ebpf.SchedCLS, License: "MIT",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()},
	})
	if err != nil {
		tb.Fatalf("probe for tcx: load a tc program: %v", err)
	}
	defer prog.Close()
	l, err := link.AttachTCX(link.TCXOptions{Interface: 1<<31 - 1, Program: prog, Attach: ebpf.AttachTCXIngress})
	if err == nil {
		l.Close()
		tb.Fatal("probe for tcx: attached to an interface that does not exist")
	}
	if errors.Is(err, ebpf.ErrNotSupported) {
		return "kernel lacks tcx links (Linux ≥ 6.6): " + err.Error()
	}
	if !errors.Is(err, unix.ENODEV) {
		tb.Fatalf("probe for tcx: %v", err)
	}
	return ""
}

// NeedNetfilterLink skips tb unless the kernel has BPF netfilter programs
// and links (Linux ≥ 6.4).
func NeedNetfilterLink(tb testing.TB) {
	tb.Helper()
	if why := NetfilterLinkMissing(tb); why != "" {
		tb.Skip(why)
	}
}

// NetfilterLinkMissing returns why the kernel has no BPF netfilter
// programs (Linux ≥ 6.4), "" when it has; cilium/ebpf's probe loads one.
func NetfilterLinkMissing(tb testing.TB) string {
	tb.Helper()
	SkipUnlessRoot(tb)
	if err := features.HaveProgramType(ebpf.Netfilter); err != nil {
		if errors.Is(err, ebpf.ErrNotSupported) {
			return "kernel lacks BPF netfilter programs (Linux ≥ 6.4): " + err.Error()
		}
		tb.Fatalf("probe for netfilter programs: %v", err)
	}
	return ""
}

// Where the kernel offers probes to perf_event_open(2): a PMU per probe
// kind, and tracefs's probe_events files on kernels that predate the PMUs.
const pmuDir = "/sys/bus/event_source/devices"

// KprobesMissing returns why the kernel cannot attach kprobes, "" when it
// can: it needs the kprobe PMU or tracefs's kprobe_events, which exist
// exactly when the kernel was built with CONFIG_KPROBE_EVENTS (and so
// CONFIG_KPROBES). It looks at sysfs and tracefs, not at the kernel's BTF
// the loader reads, so it can catch the loader's probe being wrong.
func KprobesMissing(tb testing.TB) string {
	tb.Helper()
	return probesMissing(tb, "kprobe")
}

// NeedUprobes skips tb unless the kernel can attach uprobes (the uprobe
// PMU or tracefs's uprobe_events, CONFIG_UPROBE_EVENTS).
func NeedUprobes(tb testing.TB) {
	tb.Helper()
	if why := probesMissing(tb, "uprobe"); why != "" {
		tb.Skip(why)
	}
}

func probesMissing(tb testing.TB, kind string) string {
	tb.Helper()
	SkipUnlessRoot(tb)
	if _, err := os.Stat(pmuDir + "/" + kind + "/type"); err == nil {
		return ""
	}
	NeedTracefs(tb)
	if _, err := os.Stat(TracefsDir + "/" + kind + "_events"); err == nil {
		return ""
	}
	return "kernel has no " + kind + "s: neither " + pmuDir + "/" + kind + " nor " + TracefsDir + "/" + kind + "_events exists (CONFIG_" + strings.ToUpper(kind) + "_EVENTS off)"
}
