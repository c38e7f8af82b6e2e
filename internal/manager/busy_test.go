package manager_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/bpfunit/bpfunit/internal/testenv"
)

func busyConfig(obj string, pair *testenv.Pair) string {
	return fmt.Sprintf(`[Object]
Path=%s
[Attach]
Program=xdp_count
Interface=%s
Namespace=%s
Mode=generic
`, obj, pair.IfB, pair.NsB)
}

// TestXDPBusyNamesTheOtherUnit: a second XDP unit on an interface that has
// one fails naming the unit that holds it and what to do, and leaves
// nothing; the first keeps running.
func TestXDPBusyNamesTheOtherUnit(t *testing.T) {
	testenv.CheckLeaks(t)
	env := testenv.NewEnv(t)
	pair := testenv.NetnsPair(t)
	bin := testenv.BuildBinary(t, "cmd/bpfunit-oneshot")
	obj := env.Object(t, "xdp_counter")
	env.Config(t, "holder", busyConfig(obj, pair))
	env.Config(t, "second", busyConfig(obj, pair))
	// In the other mode the kernel says EEXIST instead of EBUSY.
	env.Config(t, "native", strings.Replace(busyConfig(obj, pair), "Mode=generic", "Mode=native", 1))

	fpMustOneshot(t, env, bin, "start", "holder")
	for _, name := range []string{"second", "native"} {
		out, code := env.Oneshot(t, bin, "start", name)
		if code != 1 {
			t.Errorf("start %s: exit %d, want 1: %s", name, code, out)
		}
		fpOneLine(t, out)
		t.Log(out)
		for _, want := range []string{"has an XDP program: bpfunit unit holder", "systemctl stop bpf@holder.service", "Type=tcx"} {
			if !strings.Contains(out, want) {
				t.Errorf("start %s: %q lacks %q", name, out, want)
			}
		}
		fpAssertGone(t, env, name)
	}
	if got := pair.Ping(t, 2); got != 2 {
		t.Errorf("ping through holder: %d of 2", got)
	}
	fpMustOneshot(t, env, bin, "stop", "holder")
	fpAssertNoXDP(t, pair)
}

// TestXDPBusyNamesTheOtherTool: an XDP program attached by ip(8) over
// netlink is named with its program name and id.
func TestXDPBusyNamesTheOtherTool(t *testing.T) {
	testenv.CheckLeaks(t)
	testenv.NeedCommand(t, "ip")
	env := testenv.NewEnv(t)
	pair := testenv.NetnsPair(t)
	bin := testenv.BuildBinary(t, "cmd/bpfunit-oneshot")
	obj := env.Object(t, "xdp_counter")
	env.Config(t, "late", busyConfig(obj, pair))

	testenv.MustRun(t, "ip", "-n", pair.NsB, "link", "set", "dev", pair.IfB, "xdpgeneric", "obj", obj, "program", "xdp_count")
	t.Cleanup(func() { testenv.Run("ip", "-n", pair.NsB, "link", "set", "dev", pair.IfB, "xdpgeneric", "off") })
	show := testenv.MustRun(t, "ip", "-n", pair.NsB, "link", "show", "dev", pair.IfB)
	m := regexp.MustCompile(`prog/xdp id (\d+)`).FindStringSubmatch(show)
	if m == nil {
		t.Fatalf("ip link show: no XDP program after attaching one: %s", show)
	}

	out, code := env.Oneshot(t, bin, "start", "late")
	if code != 1 {
		t.Errorf("start: exit %d, want 1: %s", code, out)
	}
	fpOneLine(t, out)
	t.Log(out)
	for _, want := range []string{"another tool attached XDP program xdp_count (id " + m[1] + ")", "Type=tcx"} {
		if !strings.Contains(out, want) {
			t.Errorf("start: %q lacks %q", out, want)
		}
	}
	fpAssertGone(t, env, "late")
}
