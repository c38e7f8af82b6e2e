package manager_test

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/bpfunit/bpfunit/internal/config"
	"github.com/bpfunit/bpfunit/internal/loader"
	"github.com/bpfunit/bpfunit/internal/oneshot"
	"github.com/bpfunit/bpfunit/internal/testenv"
)

// TestUnsupportedTypeFailsFirst starts, on a kernel that lacks them, units
// whose attach type needs a newer kernel (tcx on 6.1, netfilter before
// 6.4): the start fails before anything is loaded, with exit status 3 and
// a message naming the feature and the Linux version that brought it, and
// bpfunit verify says the same. It skips the types this kernel has; the
// kernel matrix (make test-kernels) runs it where they are missing.
func TestUnsupportedTypeFailsFirst(t *testing.T) {
	for _, tc := range []struct {
		typ      config.AttachType
		obj, cfg string
		since    string
	}{
		{config.TypeTCX, "tcx_counter", "Program=tcx_ingress\nInterface=lo\n", "6.6"},
		{config.TypeNetfilter, "netfilter_counter", "Program=nf_count\nFamily=ipv4\nHook=input\n", "6.4"},
	} {
		t.Run(string(tc.typ), func(t *testing.T) {
			if err := loader.Supported(tc.typ); err == nil {
				t.Skipf("this kernel has %s", tc.typ)
			}
			testenv.CheckLeaks(t)
			env := testenv.NewEnv(t)
			bin := testenv.BuildBinary(t, "cmd/bpfunit-oneshot")
			cfg := env.Config(t, "old", fmt.Sprintf("[Object]\nPath=%s\n[Attach]\n%s", env.Object(t, tc.obj), tc.cfg))
			out, code := env.Oneshot(t, bin, "start", "old")
			want := fmt.Sprintf("%s needs ", tc.typ)
			if code != oneshot.ExitUnsupported || !strings.Contains(out, want) || !strings.Contains(out, "(Linux ≥ "+tc.since+"); this kernel is ") {
				t.Fatalf("start: exit %d, %q; want exit %d naming %q and Linux ≥ %s", code, out, oneshot.ExitUnsupported, want, tc.since)
			}
			if !env.UnitDirEmpty("old") {
				t.Fatal("a start refused for a missing feature left pins")
			}
			cli := exec.Command(testenv.BuildBinary(t, "cmd/bpfunit"), "verify", cfg)
			cli.Env = env.Environ()
			vout, err := cli.CombinedOutput()
			if err == nil || !strings.Contains(string(vout), "(Linux ≥ "+tc.since+")") {
				t.Fatalf("verify: %v: %s", err, vout)
			}
		})
	}
}
