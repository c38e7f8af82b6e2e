package manager_test

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/bpfunit/bpfunit/internal/oneshot"
	"github.com/bpfunit/bpfunit/internal/testenv"
)

// TestUnsupportedTypeFailsFirst starts, on a kernel that lacks them, units
// whose attach type needs a newer kernel or a build option (tcx before
// 6.6, netfilter before 6.4, kprobe without CONFIG_KPROBES): the start
// fails before anything is loaded, with exit status 3 and one message
// naming the feature and the Linux version or option, and bpfunit verify
// says the same. Whether the kernel lacks a feature is decided by probes
// of package testenv that try the kernel directly, not by the loader's
// BTF probe under test; the types this kernel has are skipped, and the
// kernel matrix (make test-kernels) runs them where they are missing.
func TestUnsupportedTypeFailsFirst(t *testing.T) {
	for _, tc := range []struct {
		typ, obj, cfg string
		missing       func(testing.TB) string
		want          string
	}{
		{"tcx", "tcx_counter", "Program=tcx_ingress\nInterface=lo\n", testenv.TCXMissing,
			"Type=tcx needs the tcx bpf_link, new in Linux 6.6; this kernel is "},
		{"netfilter", "netfilter_counter", "Program=nf_count\nFamily=ipv4\nHook=input\n", testenv.NetfilterLinkMissing,
			"Type=netfilter needs the netfilter bpf_link, new in Linux 6.4; this kernel is "},
		{"kprobe", "kprobe_counter", "Program=kprobe_openat\nType=kprobe\n", testenv.KprobesMissing,
			"Type=kprobe needs kprobes, and this kernel ("},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			why := tc.missing(t)
			if why == "" {
				t.Skipf("this kernel has what Type=%s needs", tc.typ)
			}
			t.Logf("kernel: %s", why)
			testenv.CheckLeaks(t)
			env := testenv.NewEnv(t)
			bin := testenv.BuildBinary(t, "cmd/bpfunit-oneshot")
			cfg := env.Config(t, "old", fmt.Sprintf("[Object]\nPath=%s\n[Attach]\n%s", env.Object(t, tc.obj), tc.cfg))
			out, code := env.Oneshot(t, bin, "start", "old")
			t.Logf("start: exit %d: %s", code, out)
			if code != oneshot.ExitUnsupported || !strings.Contains(out, tc.want) {
				t.Fatalf("start: exit %d, %q; want exit %d and %q", code, out, oneshot.ExitUnsupported, tc.want)
			}
			// The message says it once, not "...; this kernel is X: not
			// supported by this kernel".
			if strings.Contains(out, "not supported by this kernel") {
				t.Errorf("start: %q says it twice", out)
			}
			if !env.UnitDirEmpty("old") {
				t.Fatal("a start refused for a missing feature left pins")
			}
			cli := exec.Command(testenv.BuildBinary(t, "cmd/bpfunit"), "verify", cfg)
			cli.Env = env.Environ()
			vout, err := cli.CombinedOutput()
			if err == nil || !strings.Contains(string(vout), tc.want) {
				t.Fatalf("verify: %v: %s", err, vout)
			}
		})
	}
}
